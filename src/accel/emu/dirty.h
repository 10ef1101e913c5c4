/* SPDX-License-Identifier: MIT */
/*
 * The emu accelerator's dirty page log (dirty.c), one bit per 4 KiB page
 * of the guest RAM mapping.
 *
 * Every guest store goes through a TLB entry with write permission
 * (mmu.c), or through phys_write or the page walker's A/D updates, which
 * mark their page themselves. While logging, tlb_fill grants write
 * permission only for a page whose bit is set (a write fill sets it
 * first), so a store to a clean page always takes the slow path once.
 *
 * A sync takes the bits and then makes every CPU drop the write
 * permissions of its TLB before its next store: a TLB_ASK_WRITES ask
 * (tlb_ask.h), which each CPU inside cpu_run_batch answers at its next
 * instruction boundary; the sync waits for the answers. A CPU outside a
 * batch (halted, paused, in the VMM) is not waited for: it answers
 * before it runs anything. A store through a permission granted before
 * the sync took the bits went to a page whose bit was set then, so the
 * sync reports it, and it lands before the sync returns.
 *
 * So a sync waits for each running CPU's next instruction boundary: its
 * caller must not hold a lock that a device access of a vCPU may wait for.
 * A store that fills its first page's TLB entry and then faults on the
 * second page leaves the first page marked though unchanged; reporting a
 * page too many costs a resend, never correctness.
 */
#ifndef CVISOR_ACCEL_EMU_DIRTY_H
#define CVISOR_ACCEL_EMU_DIRTY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/emu/cpu.h"
#include "accel/emu/tlb_ask.h"
#include "arch/x86/layout.h"

struct emu_dirty {
	atomic_bool on;
	struct tlb_ask *ask;	/* the CPUs whose TLBs the log controls */
	const uint8_t *base;	/* the RAM mapping */
	uint64_t size;
	uint64_t *bits;		/* from the first start on; __atomic ops */
	size_t words;
	pthread_mutex_t lock;	/* start, sync, stop */
};

/* The log of ask's CPUs (ask->dirty points at d until destroy) */
void emu_dirty_init(struct emu_dirty *d, struct tlb_ask *ask,
		    const uint8_t *mapping, uint64_t size);
void emu_dirty_destroy(struct emu_dirty *d);

/* accel_ops dirty_log_* (accel.h) */
int emu_dirty_start(struct emu_dirty *d);
int emu_dirty_sync(struct emu_dirty *d, uint64_t *bitmap);
void emu_dirty_stop(struct emu_dirty *d);

/* Out of line halves of the helpers below */
void emu_dirty_mark(struct emu_dirty *d, const void *hva);
bool emu_dirty_marked(struct emu_dirty *d, const void *hva);

/* The CPU's dirty log while it logs, else NULL */
static inline struct emu_dirty *dirty_logging(const struct emu_cpu *cpu)
{
	struct emu_dirty *d = cpu->ask ? cpu->ask->dirty : NULL;

	return d && atomic_load_explicit(&d->on, memory_order_acquire) ?
	       d : NULL;
}

/* A store to RAM at hva made without a TLB write permission. */
static inline void dirty_mark(struct emu_cpu *cpu, const void *hva)
{
	struct emu_dirty *d = dirty_logging(cpu);

	if (d)
		emu_dirty_mark(d, hva);
}

/*
 * The write permissions a TLB entry for the RAM page hva may have: all of
 * perm without logging; while logging, a write fill marks the page and a
 * read fill keeps them only for a page already marked.
 */
static inline uint32_t dirty_tlb_perm(struct emu_cpu *cpu, const void *hva,
				      enum mem_access acc, uint32_t perm)
{
	struct emu_dirty *d;

	if (!hva || !(perm & (TLB_W | TLB_UW)) || !(d = dirty_logging(cpu)))
		return perm;
	if (acc == ACC_W)
		emu_dirty_mark(d, hva);
	else if (!emu_dirty_marked(d, hva))
		perm &= ~(TLB_W | TLB_UW);
	return perm;
}

#endif
