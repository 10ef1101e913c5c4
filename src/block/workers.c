// SPDX-License-Identifier: MIT
/*
 * A batch of independent items (grains or clusters to deflate or inflate)
 * run on a few threads: compression is the cost of streamOptimized VMDK
 * and of "convert -c", and a convert hands over megabytes at once.
 *
 * The threads live as long as their owner (an extent, a convert): a thread
 * created per batch starts behind every other runnable task of a busy host,
 * and the batch waited for it. Items are claimed one at a time, the caller
 * taking its share too, so a thread the scheduler leaves waiting delays a
 * batch by at most the item it holds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "block/workers.h"

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	unsigned n; /* threads besides the caller */
	pthread_t tid[WORKERS_MAX];
	/* the batch: items [0, k), next to claim, finished so far */
	int (*fn)(void *ctx, unsigned i, unsigned t);
	void *ctx;
	unsigned k, next, finished;
	int ret;
	uint64_t gen; /* batches handed out, so a thread sees a new one */
	bool quit;
};

struct worker_arg {
	struct workers *p;
	unsigned t;
};

/* Runs items of the current batch as thread t until none is left. */
static void run_items(struct workers *p, unsigned t)
{
	while (p->next < p->k) {
		unsigned i = p->next++;
		int ret;

		pthread_mutex_unlock(&p->lock);
		ret = p->fn(p->ctx, i, t);
		pthread_mutex_lock(&p->lock);
		if (ret && !p->ret)
			p->ret = ret;
		if (++p->finished == p->k)
			pthread_cond_signal(&p->done);
	}
}

static void *worker(void *arg)
{
	struct worker_arg a = *(struct worker_arg *)arg;
	struct workers *p = a.p;
	uint64_t seen = 0;

	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->quit)
			break;
		seen = p->gen;
		run_items(p, a.t);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* A pool of up to one thread per CPU (the caller counts as one). */
static struct workers *pool_new(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = cpus < 1 ? 1 : cpus > WORKERS_MAX ?
					    WORKERS_MAX : (unsigned)cpus;
	struct workers *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned t = 1; t < want; t++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			break;
		*a = (struct worker_arg){ .p = p, .t = t };
		if (pthread_create(&p->tid[p->n], NULL, worker, a)) {
			free(a);
			break; /* fewer threads: the caller does more */
		}
		p->n++;
	}
	return p;
}

void workers_free(struct workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned t = 0; t < p->n; t++)
		pthread_join(p->tid[t], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int workers_run(struct workers **pool, unsigned k,
		  int (*fn)(void *ctx, unsigned i, unsigned t), void *ctx)
{
	struct workers *p = *pool;
	int ret;

	if (!p) {
		p = *pool = pool_new();
		if (!p)
			return -ENOMEM;
	}
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->ctx = ctx;
	p->k = k;
	p->next = p->finished = 0;
	p->ret = 0;
	p->gen++;
	if (p->n)
		pthread_cond_broadcast(&p->work);
	run_items(p, 0);
	while (p->finished < p->k)
		pthread_cond_wait(&p->done, &p->lock);
	ret = p->ret;
	pthread_mutex_unlock(&p->lock);
	return ret;
}
