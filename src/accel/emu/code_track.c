// SPDX-License-Identifier: MIT
/*
 * Write tracking of the guest pages translated code is made from: a page
 * becomes code, with the ask that makes CPUs drop direct writes to it
 * (see code_track.h).
 */
#include "accel/emu/code_track.h"

uint32_t code_track(struct emu_cpu *cpu, const uint8_t *page)
{
	_Atomic uint32_t *gen = code_gen(cpu, page);
	uint32_t g = atomic_load(gen);

	for (;;) {
		if (!(g & GUEST_CODE_SET)) {
			if (!atomic_compare_exchange_weak(gen, &g,
							  g | GUEST_CODE_SET))
				continue;
			g |= GUEST_CODE_SET;
		}
		if (g & GUEST_CODE_SEEN)
			break;
		/*
		 * Whoever set GUEST_CODE_SET, an ask counted after it was
		 * set: each CPU's answer to it drops direct writes here
		 */
		tlb_ask_post(cpu->ask, TLB_ASK_CODE);
		if (atomic_compare_exchange_strong(gen, &g,
						   g | GUEST_CODE_SEEN)) {
			g |= GUEST_CODE_SEEN;
			break;
		}
	}
	tlb_ask_check(cpu);
	/*
	 * Every other CPU has answered the asks up to now, or runs nothing:
	 * none of them writes a page with GUEST_CODE_SET directly. Its
	 * loads of their answers order the bytes the caller reads next
	 * after the stores they made before answering.
	 */
	return tlb_ask_answered(cpu->ask, cpu, atomic_load(&cpu->ask->asks)) ?
	       g : CODE_UNTRUSTED;
}
