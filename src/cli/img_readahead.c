// SPDX-License-Identifier: MIT
/*
 * Reading an image ahead of its consumer: one thread reads chunks in order
 * into a ring of DEPTH buffers; the consumer takes and releases them in the
 * same order. The device is the reader's alone until readahead_stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "block/block.h"
#include "cli/img_readahead.h"

#define DEPTH 4

struct readahead {
	struct block_dev *dev;
	size_t chunk;
	uint64_t align;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct ra_chunk slot[DEPTH];
	/* slots rel.. are the caller's (used - filled), then read (filled) */
	unsigned rel, used, filled;
	bool done, stop;
	int err; /* the reader's, once done */
};

/* The chunk at off: a run of zeroes (nothing read) or data read into ch. */
static int read_one(struct readahead *r, uint64_t off, struct ra_chunk *ch)
{
	uint64_t len = r->dev->length, pnum, host;
	size_t n = len - off < r->chunk ? (size_t)(len - off) : r->chunk;
	int st = block_status(r->dev, off, n, &pnum, &host);

	if (st < 0)
		return st;
	ch->off = off;
	if (st & BLOCK_STATUS_ZERO) {
		/* the next chunk stays aligned */
		if (off + pnum != len)
			pnum -= (off + pnum) % r->align;
		if (pnum) {
			ch->len = pnum;
			ch->zero = true;
			return 0;
		}
	}
	ch->len = n;
	ch->zero = false;
	return block_pread(r->dev, ch->buf, n, off);
}

static void *reader(void *arg)
{
	struct readahead *r = arg;
	uint64_t off = 0;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	while (off < r->dev->length) {
		struct ra_chunk *ch;

		while (r->used == DEPTH && !r->stop)
			pthread_cond_wait(&r->cv, &r->lock);
		if (r->stop)
			break;
		/* past the slots in use: no one else touches it */
		ch = &r->slot[(r->rel + r->used) % DEPTH];
		pthread_mutex_unlock(&r->lock);
		ret = read_one(r, off, ch);
		pthread_mutex_lock(&r->lock);
		if (ret)
			break;
		off += ch->len;
		r->used++;
		r->filled++;
		pthread_cond_broadcast(&r->cv);
	}
	r->err = ret;
	r->done = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void free_ring(struct readahead *r)
{
	for (unsigned i = 0; i < DEPTH; i++)
		free(r->slot[i].buf);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int readahead_start(struct readahead **out, struct block_dev *dev,
		    size_t chunk, uint64_t align, size_t bufsize)
{
	struct readahead *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	r->dev = dev;
	r->chunk = chunk;
	r->align = align;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (unsigned i = 0; i < DEPTH; i++) {
		r->slot[i].buf = malloc(bufsize);
		if (!r->slot[i].buf) {
			free_ring(r);
			return -ENOMEM;
		}
	}
	ret = pthread_create(&r->tid, NULL, reader, r);
	if (ret) {
		free_ring(r);
		return -ret;
	}
	*out = r;
	return 0;
}

int readahead_next(struct readahead *r, struct ra_chunk **ch)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	while (!r->filled && !r->done)
		pthread_cond_wait(&r->cv, &r->lock);
	if (r->filled) {
		/* the oldest read chunk: after the ones the caller holds */
		*ch = &r->slot[(r->rel + r->used - r->filled) % DEPTH];
		r->filled--;
		ret = 1;
	} else {
		ret = r->err;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void readahead_release(struct readahead *r)
{
	pthread_mutex_lock(&r->lock);
	r->rel = (r->rel + 1) % DEPTH;
	r->used--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
}

void readahead_stop(struct readahead *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->tid, NULL);
	free_ring(r);
}
