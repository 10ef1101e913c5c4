// SPDX-License-Identifier: MIT
/*
 * The emu dirty page log: the bitmap guest stores mark, and its start,
 * sync and stop, which make CPUs give up write permissions (see dirty.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/dirty.h"

#define PAGE_SHIFT	12

void emu_dirty_init(struct emu_dirty *d, struct tlb_ask *ask,
		    const uint8_t *mapping, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->ask = ask;
	d->base = mapping;
	d->size = size;
	d->words = ((size >> PAGE_SHIFT) + 63) / 64;
	pthread_mutex_init(&d->lock, NULL);
	ask->dirty = d;
}

void emu_dirty_destroy(struct emu_dirty *d)
{
	d->ask->dirty = NULL;
	free(d->bits);
	d->bits = NULL;
	pthread_mutex_destroy(&d->lock);
}

static uint64_t page_of(const struct emu_dirty *d, const void *hva)
{
	return (uint64_t)((const uint8_t *)hva - d->base) >> PAGE_SHIFT;
}

void emu_dirty_mark(struct emu_dirty *d, const void *hva)
{
	uint64_t pg = page_of(d, hva), bit = 1ULL << (pg % 64);
	uint64_t *w = &d->bits[pg / 64];

	/* The load keeps stores to a marked page off the cache line. */
	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

bool emu_dirty_marked(struct emu_dirty *d, const void *hva)
{
	uint64_t pg = page_of(d, hva);

	return __atomic_load_n(&d->bits[pg / 64], __ATOMIC_RELAXED) >>
	       (pg % 64) & 1;
}

/* Wait until no CPU can store through a permission granted before now. */
static void revoke_writes(struct emu_dirty *d)
{
	tlb_ask_wait(d->ask, tlb_ask_post(d->ask, TLB_ASK_WRITES));
}

int emu_dirty_start(struct emu_dirty *d)
{
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (atomic_load(&d->on))
		goto out;
	if (!d->bits) {
		d->bits = calloc(d->words ? d->words : 1, sizeof(uint64_t));
		if (!d->bits) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < d->words; i++)
		__atomic_store_n(&d->bits[i], 0, __ATOMIC_RELAXED);
	atomic_store(&d->on, true);
	revoke_writes(d);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int emu_dirty_sync(struct emu_dirty *d, uint64_t *bitmap)
{
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (!atomic_load(&d->on)) {
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < d->words; i++)
		if (__atomic_load_n(&d->bits[i], __ATOMIC_RELAXED))
			bitmap[i] |= __atomic_exchange_n(&d->bits[i], 0,
							 __ATOMIC_ACQ_REL);
	revoke_writes(d);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void emu_dirty_stop(struct emu_dirty *d)
{
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->on, false);
	pthread_mutex_unlock(&d->lock);
}
