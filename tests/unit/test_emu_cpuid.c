// SPDX-License-Identifier: MIT
/*
 * emu CPUID: what the guest's timekeeping depends on. Leaf 6 must say
 * ARAT (the LAPIC timer keeps running in deep C-states): without it Linux
 * marks the LAPIC timer C3STOP, finds no HPET to broadcast from, and stays
 * in periodic mode with a 250 Hz tick even when idle (no NOHZ, no
 * high-resolution timers), which the software CPU pays for in host CPU.
 */
#include "emu_test.h"
#include "test.h"

static void test_arat(void)
{
	struct emu_test *t = emu_test_new();
	uint32_t out[4];

	cpu_cpuid(&t->cpu, 0, 0, out);
	CHECK(out[0] >= 6);
	cpu_cpuid(&t->cpu, 6, 0, out);
	CHECK(out[0] & (1u << 2));
	/* TSC deadline and invariant TSC, which the guest's clock uses too */
	cpu_cpuid(&t->cpu, 1, 0, out);
	CHECK(out[2] & (1u << 24));
	cpu_cpuid(&t->cpu, 0x80000007, 0, out);
	CHECK(out[3] & (1u << 8));
	emu_test_free(t);
}

int main(void)
{
	RUN(test_arat);
	return test_summary();
}
