/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VMM_LOG_H
#define CVISOR_VMM_LOG_H

#include <stdatomic.h>

/* One line to stderr, prefixed "cvisor: ". Safe with the raw-mode console. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line the user asked for (where a VM waits, what it did). */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_debug(int on);
/*
 * Put ctx (copied; NULL clears) after the prefix of every line, e.g. the
 * file and key of a definition while its values go through the parsers
 * of the flags. Not for threads: set and cleared around parsing.
 */
void log_set_context(const char *ctx);

/* Log only the first time this call site fires (guest-triggered errors). */
#define log_once(...)                                                     \
	do {                                                              \
		static atomic_flag log_once_flag_ = ATOMIC_FLAG_INIT;     \
		if (!atomic_flag_test_and_set(&log_once_flag_))          \
			log_warn(__VA_ARGS__);                            \
	} while (0)

#endif
