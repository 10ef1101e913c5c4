// SPDX-License-Identifier: MIT
/*
 * Write tracking of the guest pages translated code is made from: a page
 * becomes code, with the ask that makes CPUs drop direct writes to it
 * (see code_track.h).
 */
#include "accel/emu/code_track.h"

/*
 * How many asks before the count asks the ask that gave a page generation
 * g was made, modulo 2^29: never more than the truth, so asks minus that
 * is never earlier than the real ask
 */
static uint64_t code_age(uint64_t asks, uint32_t g)
{
	return (asks - (g >> GUEST_CODE_ASK_SHIFT & GUEST_CODE_ASK_MASK)) &
	       GUEST_CODE_ASK_MASK;
}

uint32_t code_track(struct emu_cpu *cpu, const uint8_t *page)
{
	_Atomic uint32_t *gen = code_gen(cpu, page);
	uint32_t g = atomic_load(gen), next;
	uint64_t n, asks;

	for (;;) {
		if (!(g & GUEST_CODE_SET)) {
			if (!atomic_compare_exchange_weak(gen, &g,
							  g | GUEST_CODE_SET))
				continue;
			g |= GUEST_CODE_SET;
		}
		if ((g & GUEST_CODE_SEEN) &&
		    code_age(atomic_load(&cpu->ask->asks), g) <
		    1ULL << CODE_OLD_SHIFT)
			break;
		/*
		 * Whoever set GUEST_CODE_SET, an ask counted after it was
		 * set: each CPU's answer to it drops direct writes here.
		 * Its number is the page's generation.
		 */
		n = tlb_ask_post(cpu->ask, TLB_ASK_CODE);
		next = (g & GUEST_CODE_MIXED) | GUEST_CODE_SET |
		       GUEST_CODE_SEEN |
		       (uint32_t)(n & GUEST_CODE_ASK_MASK) << GUEST_CODE_ASK_SHIFT;
		if (atomic_compare_exchange_strong(gen, &g, next)) {
			g = next;
			break;
		}
	}
	tlb_ask_check(cpu);
	/*
	 * Every other CPU has answered the page's ask, or runs nothing: none
	 * of them writes the page directly. Its loads of their answers
	 * order the bytes the caller reads next after the stores they made
	 * before answering.
	 */
	asks = atomic_load(&cpu->ask->asks);
	return tlb_ask_answered(cpu->ask, cpu, asks - code_age(asks, g)) ?
	       g : CODE_UNTRUSTED;
}
