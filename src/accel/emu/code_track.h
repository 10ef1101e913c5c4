/* SPDX-License-Identifier: MIT */
/*
 * Write tracking of the guest pages translated code is made from
 * (code_track.c), so that a translated block checks one word at its
 * entry, its page's code generation (guest_mem.h GUEST_CODE_*), instead
 * of comparing its bytes with memory.
 *
 * A page gets GUEST_CODE_SET when a block is made from it. From then on
 * no soft TLB writes it directly: tlb_fill withholds direct writes to it
 * (TLB_W/TLB_UW stay in the entry's tag, the permission in perm), and
 * the slow path that every such store then takes (write_at, mem_ptr)
 * ends the page's generation. So do phys_write and the page walk's A/D
 * updates, and every write by the VMM (guest_mem_code_written).
 *
 * Entries filled before the page became code, in this CPU's TLB or
 * another's, are made to drop direct writes by a TLB_ASK_CODE ask
 * (tlb_ask.h): the CPU that sets GUEST_CODE_SET counts the ask, then
 * sets GUEST_CODE_SEEN, with the ask's number as the page's generation;
 * every CPU answers it at its next instruction boundary (its entries
 * with direct writes to pages with GUEST_CODE_SET lose them), or before
 * it runs anything. Nobody waits: a block whose bytes were read while
 * another CPU may still have written the page directly (it had not
 * answered the page's ask) is made untrusted, and its entry check then
 * always fails; jit_run compares its bytes in C (jit_recheck) until a
 * comparison finds every CPU has answered. Asks made since for other
 * pages do not matter: on SMP they are made all the time, and a CPU's
 * answer to the latest one lags (a 2-vCPU Debian boot made 2,900-4,400
 * blocks a CPU untrusted when every ask so far had to be answered,
 * 600-1,200 with the page's alone).
 *
 * A page written again and again while its blocks stay the same (code
 * and data in one page) becomes GUEST_CODE_MIXED (jit_recheck): blocks
 * made from it compare their bytes, and it is not made code again.
 *
 * A page's generation is the number of its last ask modulo 2^29: jit_run
 * flushes its blocks every 2^CODE_EPOCH_SHIFT asks, and a page whose
 * generation is 2^CODE_OLD_SHIFT asks old gets a new ask when a block
 * is made from it (or compared), so no block lives to see its page's
 * generation come round (2^27 + 2^28 < 2^29).
 */
#ifndef CVISOR_ACCEL_EMU_CODE_TRACK_H
#define CVISOR_ACCEL_EMU_CODE_TRACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/cpu.h"
#include "accel/emu/tlb_ask.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

#define CODE_EPOCH_SHIFT 28
#define CODE_OLD_SHIFT	27

/* never a page's generation: the expectation of an untrusted block */
#define CODE_UNTRUSTED	GUEST_CODE_SEEN

/* The code generation of the RAM page at hva, or NULL without tracking */
static inline _Atomic uint32_t *code_gen(const struct emu_cpu *cpu,
					 const void *hva)
{
	const struct guest_mem *mem = &cpu->vm->mem;

	if (!mem->code)
		return NULL;
	return &mem->code[(uint64_t)((const uint8_t *)hva - mem->mapping) >>
			  12];
}

/* Whether stores to the RAM page at hva must take the slow path */
static inline bool code_page(const struct emu_cpu *cpu, const void *hva)
{
	_Atomic uint32_t *gen = code_gen(cpu, hva);

	return gen && (atomic_load_explicit(gen, memory_order_relaxed) &
		       GUEST_CODE_SET);
}

/*
 * The CPU wrote the RAM page at hva other than through a direct TLB
 * write: a page that is code is no more. (No fence as in
 * guest_mem_code_written: a CPU that makes a block from the page
 * meanwhile trusts it only once this CPU has answered the page's ask,
 * after this store.)
 */
static inline void code_written(const struct emu_cpu *cpu, const void *hva)
{
	_Atomic uint32_t *gen = code_gen(cpu, hva);

	if (gen && (atomic_load_explicit(gen, memory_order_relaxed) &
		    GUEST_CODE_SET))
		guest_mem_code_end(gen);
}

/*
 * Before a block's bytes at the RAM page are read (made, or compared
 * again): the page is code and this CPU's TLB writes it no more
 * directly. Returns the page's generation then, or CODE_UNTRUSTED while
 * another CPU may still write it directly.
 */
uint32_t code_track(struct emu_cpu *cpu, const uint8_t *page);

/* The epoch jit_run flushes its blocks at when it changes */
static inline uint64_t code_epoch(const struct emu_cpu *cpu)
{
	return cpu->ask ? atomic_load_explicit(&cpu->ask->asks,
					       memory_order_relaxed) >>
			  CODE_EPOCH_SHIFT : 0;
}

#endif
