// SPDX-License-Identifier: MIT
/*
 * Whole grains deflated (stream-optimized writing) and inflated (reading)
 * on several threads: zlib is the cost of streamOptimized images, and a
 * convert hands over megabytes at once. Each thread takes every n-th grain
 * of a batch; the caller places the results in order.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "block/vmdk_int.h"

struct par {
	int (*fn)(void *ctx, unsigned i, unsigned t);
	void *ctx;
	unsigned k, n, t;
	int ret;
	pthread_t tid;
	bool started;
};

static void *worker(void *arg)
{
	struct par *p = arg;

	for (unsigned i = p->t; i < p->k; i += p->n) {
		int ret = p->fn(p->ctx, i, p->t);

		if (ret && !p->ret)
			p->ret = ret;
	}
	return NULL;
}

int vmdk_parallel(unsigned k, int (*fn)(void *ctx, unsigned i, unsigned t),
		  void *ctx)
{
	struct par p[VMDK_PAR_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus < 1 ? 1 : cpus > VMDK_PAR_THREADS ?
					 VMDK_PAR_THREADS : (unsigned)cpus;
	int ret = 0;

	if (n > k)
		n = k;
	for (unsigned t = 0; t < n; t++)
		p[t] = (struct par){ .fn = fn, .ctx = ctx, .k = k, .n = n, .t = t };
	for (unsigned t = 1; t < n; t++)
		p[t].started = !pthread_create(&p[t].tid, NULL, worker, &p[t]);
	worker(&p[0]);
	for (unsigned t = 1; t < n; t++) {
		if (p[t].started)
			pthread_join(p[t].tid, NULL);
		else
			worker(&p[t]); /* no thread: do its share here */
	}
	for (unsigned t = 0; t < n && !ret; t++)
		ret = p[t].ret;
	return ret;
}
