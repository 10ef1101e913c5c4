// SPDX-License-Identifier: MIT
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_debug_on;
static char log_ctx[256];

void log_set_context(const char *ctx)
{
	snprintf(log_ctx, sizeof(log_ctx), "%s", ctx ? ctx : "");
}

void log_set_debug(int on)
{
	log_debug_on = on;
}

/*
 * Format into one buffer and emit with a single write so lines from
 * different threads do not interleave. "\r\n" because the terminal may be
 * in raw mode while the VM runs.
 */
static void log_emit(const char *level, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "cvisor: %s%s", level, log_ctx);
	if (n < 0 || n >= (int)sizeof(buf))
		return;
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n > (int)sizeof(buf) - 3)
		n = sizeof(buf) - 3;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	memcpy(buf + n, "\r\n", 2);
	if (write(STDERR_FILENO, buf, n + 2) < 0)
		return;
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit("debug: ", fmt, ap);
	va_end(ap);
}
