/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VMM_LOG_H
#define CVISOR_VMM_LOG_H

#include <stdatomic.h>
#include <stdint.h>

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

/*
 * Log only the first time this call site fires in the process. For facts
 * about the host that do not change while it runs (a missing kernel
 * feature); anything a guest can trigger goes through a struct log_limit.
 */
#define log_once(...)                                                     \
	do {                                                              \
		static atomic_flag log_once_flag_ = ATOMIC_FLAG_INIT;     \
		if (!atomic_flag_test_and_set(&log_once_flag_))          \
			log_warn(__VA_ARGS__);                            \
	} while (0)

#define LOG_LIMIT_BURST		10
#define LOG_LIMIT_INTERVAL_MS	5000

/*
 * Warnings a guest can trigger, limited per device: at most burst lines in
 * each interval, and the first line after a suppressed run says how many
 * were dropped. Each device keeps its own, so one misbehaving queue does
 * not silence another device. Zeroed memory is a limit with the defaults
 * above; any thread may log through it.
 */
struct log_limit {
	atomic_flag busy;
	unsigned burst;
	unsigned interval_ms;
	uint64_t start_ns;	/* current interval, CLOCK_MONOTONIC */
	unsigned printed;	/* lines in the current interval */
	unsigned suppressed;	/* dropped since the last printed line */
};

void log_limit_init(struct log_limit *l, unsigned burst,
		    unsigned interval_ms);
/*
 * log_warn under the limit l. NULL shares one process-wide limit: for code
 * run without its device (unit tests, fuzzers) or host errors no device
 * owns.
 */
void log_limited(struct log_limit *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
