/* SPDX-License-Identifier: MIT */
/*
 * Asks to every running vCPU of a VM to act on its soft TLB at its next
 * instruction boundary, and knowing when all have answered (tlb_ask.c).
 * Two clients: the dirty page log (dirty.h: every CPU gives up its write
 * permissions after a start or sync) and the write tracking of code pages
 * (code_track.h: every CPU gives up direct writes to pages translated
 * code was made from).
 *
 * An ask counts one in asks, and that count is its number. A CPU inside
 * cpu_run_batch answers every ask counted so far at its next instruction
 * boundary (tlb_ask_check, every 256 instructions at most) and says how
 * far it has answered in ask_ack. A CPU outside a batch (halted, paused,
 * in the VMM) is not waited for: tlb_ask_enter answers the asks made
 * meanwhile before it runs anything. An answer does what the asks since
 * the last one want:
 *  - TLB_ASK_WRITES (the dirty log): every entry loses its write
 *    permissions (perm, and TLB_W/TLB_UW in its tag), so that its next
 *    store fills it again;
 *  - TLB_ASK_CODE: every entry that writes a page with GUEST_CODE_SET
 *    directly loses that (TLB_W/TLB_UW in its tag, perm keeps them), so
 *    that its stores take the slow path, which ends the page's code
 *    generation.
 * The first covers the second. Whoever asks either waits for the answers
 * (tlb_ask_wait: a dirty log sync returns only once no CPU can store
 * through a permission granted before it) or only looks whether they are
 * in (tlb_ask_answered: a block made from a page trusts the page's code
 * generation only then).
 *
 * Ordering: a CPU announces its batch (ask_running, sequentially
 * consistent) before it reads asks, and an asker counts its ask before it
 * reads ask_running: either the asker waits for the CPU or the CPU sees
 * the ask before it runs. An answer is published with release, and the
 * asker's loads of ask_ack are sequentially consistent (acquire): what it
 * reads next of guest memory comes after the CPU's stores before it
 * answered.
 *
 * The list of the VM's CPUs changes under lock; readers (the waits and
 * tlb_ask_answered, on vCPU threads inside code_track) do not take it, so
 * that no CPU waited for can be waiting for the lock: they count
 * themselves in readers, and tlb_ask_del_cpu waits for them to be gone.
 */
#ifndef CVISOR_ACCEL_EMU_TLB_ASK_H
#define CVISOR_ACCEL_EMU_TLB_ASK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/cpu.h"
#include "arch/x86/layout.h"

enum tlb_ask_what {
	TLB_ASK_CODE,		/* drop direct writes to code pages */
	TLB_ASK_WRITES,		/* drop every write permission */
};

struct tlb_ask {
	_Atomic uint64_t asks;
	/* the TLB_ASK_WRITES among them, each counted before its ask */
	_Atomic uint64_t writes;
	struct emu_dirty *dirty;	/* the dirty page log, or NULL */
	pthread_mutex_t lock;		/* add and del of cpus[] */
	_Atomic unsigned readers;	/* looking through cpus[] */
	struct emu_cpu *_Atomic cpus[MAX_VCPUS];
};

void tlb_ask_init(struct tlb_ask *a);
void tlb_ask_destroy(struct tlb_ask *a);
/* A CPU that answers a's asks; cpu->ask points at a from then on */
void tlb_ask_add_cpu(struct tlb_ask *a, struct emu_cpu *cpu);
/* Not while cpu runs; once it returns, no reader looks at cpu */
void tlb_ask_del_cpu(struct tlb_ask *a, struct emu_cpu *cpu);

/* Count an ask; returns its number */
uint64_t tlb_ask_post(struct tlb_ask *a, enum tlb_ask_what what);
/* Whether every CPU but self inside a batch has answered ask n */
bool tlb_ask_answered(struct tlb_ask *a, const struct emu_cpu *self,
		      uint64_t n);
/*
 * Wait until every CPU inside a batch has answered ask n: within a few
 * hundred of its instructions, so the caller must not hold a lock that
 * a device access of a vCPU may wait for.
 */
void tlb_ask_wait(struct tlb_ask *a, uint64_t n);

/* Answer every ask counted so far (see the top) */
void tlb_ask_answer(struct emu_cpu *cpu);
void tlb_ask_enter(struct emu_cpu *cpu);

/* cpu_run_batch's instruction boundaries, and its exit */
static inline void tlb_ask_check(struct emu_cpu *cpu)
{
	if (cpu->ask && atomic_load_explicit(&cpu->ask->asks,
					     memory_order_acquire) !=
			cpu->ask_seen)
		tlb_ask_answer(cpu);
}

static inline void tlb_ask_leave(struct emu_cpu *cpu)
{
	if (cpu->ask)
		atomic_store_explicit(&cpu->ask_running, false,
				      memory_order_release);
}

#endif
