// SPDX-License-Identifier: MIT
/*
 * Cache of cluster-sized metadata tables (L2 tables, refcount blocks). It
 * only saves reads: callers write changed entries straight to the file, so
 * the on-disk order of metadata updates is the order of the calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2_int.h"

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t size)
{
	c->n = n;
	c->tick = 0;
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		c->e[i].buf = malloc(size);
		if (!c->e[i].buf) {
			qcow2_cache_destroy(c);
			return -ENOMEM;
		}
	}
	return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	if (!c->e)
		return;
	for (unsigned i = 0; i < c->n; i++)
		free(c->e[i].buf);
	free(c->e);
	c->e = NULL;
}

static struct qcow2_cache_entry *lookup(struct qcow2_cache *c, uint64_t off,
					bool *hit)
{
	struct qcow2_cache_entry *victim = &c->e[0];

	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].offset == off) {
			*hit = true;
			c->e[i].lru = ++c->tick;
			return &c->e[i];
		}
		if (c->e[i].lru < victim->lru)
			victim = &c->e[i];
	}
	*hit = false;
	victim->offset = 0;
	victim->lru = ++c->tick;
	return victim;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off,
		    uint8_t **buf)
{
	bool hit;
	struct qcow2_cache_entry *e = lookup(c, off, &hit);
	int ret;

	if (!hit) {
		ret = block_fd_pread(s->fd, e->buf, s->cluster_size, off);
		if (ret)
			return ret;
		e->offset = off;
	}
	*buf = e->buf;
	return 0;
}

uint8_t *qcow2_cache_get_new(struct qcow2 *s, struct qcow2_cache *c,
			     uint64_t off)
{
	bool hit;
	struct qcow2_cache_entry *e = lookup(c, off, &hit);

	memset(e->buf, 0, s->cluster_size);
	e->offset = off;
	return e->buf;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset == off)
			c->e[i].offset = 0;
}
