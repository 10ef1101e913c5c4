// SPDX-License-Identifier: MIT
/*
 * The emu dirty page log: the bitmap guest stores mark, and the handshake
 * that makes CPUs give up write permissions after a sync (see dirty.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/emu/dirty.h"

#define PAGE_SHIFT	12

void emu_dirty_init(struct emu_dirty *d, const uint8_t *mapping,
		    uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->base = mapping;
	d->size = size;
	d->words = ((size >> PAGE_SHIFT) + 63) / 64;
	atomic_init(&d->gen, 1);
	pthread_mutex_init(&d->lock, NULL);
}

void emu_dirty_destroy(struct emu_dirty *d)
{
	free(d->bits);
	d->bits = NULL;
	pthread_mutex_destroy(&d->lock);
}

void emu_dirty_add_cpu(struct emu_dirty *d, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < MAX_VCPUS; i++) {
		if (!d->cpus[i]) {
			d->cpus[i] = cpu;
			break;
		}
	}
	cpu->dirty = d;
	pthread_mutex_unlock(&d->lock);
}

void emu_dirty_del_cpu(struct emu_dirty *d, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < MAX_VCPUS; i++)
		if (d->cpus[i] == cpu)
			d->cpus[i] = NULL;
	pthread_mutex_unlock(&d->lock);
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

void emu_dirty_enter(struct emu_cpu *cpu)
{
	/*
	 * Announce the batch, then read gen (both sequentially consistent,
	 * against the sync's bump of gen and read of dirty_running): either
	 * the sync waits for this CPU or this CPU sees the new gen.
	 */
	atomic_store(&cpu->dirty_running, true);
	if (atomic_load(&cpu->dirty->gen) != cpu->dirty_gen)
		emu_dirty_ack(cpu);
}

void emu_dirty_ack(struct emu_cpu *cpu)
{
	uint32_t gen = atomic_load(&cpu->dirty->gen);

	for (int i = 0; i < TLB_SIZE; i++) {
		cpu->tlb[i].perm &= ~(TLB_W | TLB_UW);
		cpu->tlb[i].tag |= TLB_W | TLB_UW;
	}
	cpu->dirty_gen = gen;
	atomic_store_explicit(&cpu->dirty_ack, gen, memory_order_release);
}

/* Wait until no CPU can store through a permission granted before now. */
static void revoke_writes(struct emu_dirty *d)
{
	uint32_t gen = atomic_fetch_add(&d->gen, 1) + 1;

	for (int i = 0; i < MAX_VCPUS; i++) {
		struct emu_cpu *c = d->cpus[i];

		for (unsigned n = 0; c && atomic_load(&c->dirty_running) &&
		     atomic_load(&c->dirty_ack) != gen; n++) {
			/* A CPU acknowledges within a few hundred insns. */
			if (n < 100)
				sched_yield();
			else
				nanosleep(&(struct timespec){ 0, 20000 },
					  NULL);
		}
	}
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
