/* SPDX-License-Identifier: MIT */
/* A few threads that run a batch of independent items (workers.c). */
#ifndef CVISOR_BLOCK_WORKERS_H
#define CVISOR_BLOCK_WORKERS_H

#define WORKERS_MAX 8u /* threads, the caller's included */

struct workers;

/*
 * fn(ctx, i, t) for every i in [0, k), on thread t (t < WORKERS_MAX, each t
 * on one thread at a time: per-thread state can be indexed by it), using
 * *w, made at the first call with a thread per CPU. Returns when all are
 * done: 0 or the first error. Not for two callers at once on one *w.
 */
int workers_run(struct workers **w, unsigned k,
		int (*fn)(void *ctx, unsigned i, unsigned t), void *ctx);
void workers_free(struct workers *w);

#endif
