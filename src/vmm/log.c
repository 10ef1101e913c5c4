// SPDX-License-Identifier: MIT
#include "vmm/log.h"

#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

static struct log_limit log_limit_shared;

void log_limit_init(struct log_limit *l, unsigned burst,
		    unsigned interval_ms)
{
	*l = (struct log_limit){ .busy = ATOMIC_FLAG_INIT, .burst = burst,
				 .interval_ms = interval_ms };
}

/* May this line go out? *dropped: lines suppressed before it. */
static bool log_limit_take(struct log_limit *l, unsigned *dropped)
{
	unsigned burst = l->burst ? l->burst : LOG_LIMIT_BURST;
	uint64_t interval = (uint64_t)(l->interval_ms ? l->interval_ms :
				       LOG_LIMIT_INTERVAL_MS) * 1000000;
	struct timespec ts;
	uint64_t now;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	/* Held for a few instructions; logging happens after. */
	while (atomic_flag_test_and_set_explicit(&l->busy,
						 memory_order_acquire))
		sched_yield();
	if (l->printed == 0 || now - l->start_ns >= interval) {
		l->start_ns = now;
		l->printed = 0;
	}
	ok = l->printed < burst;
	*dropped = 0;
	if (ok) {
		l->printed++;
		*dropped = l->suppressed;
		l->suppressed = 0;
	} else {
		l->suppressed++;
	}
	atomic_flag_clear_explicit(&l->busy, memory_order_release);
	return ok;
}

void log_limited(struct log_limit *l, const char *fmt, ...)
{
	unsigned dropped;
	char buf[900];
	va_list ap;

	if (!log_limit_take(l ? l : &log_limit_shared, &dropped))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (dropped)
		log_warn("%s (%u earlier messages suppressed)", buf, dropped);
	else
		log_warn("%s", buf);
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
