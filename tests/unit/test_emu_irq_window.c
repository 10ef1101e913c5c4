// SPDX-License-Identifier: MIT
/*
 * emu interpreter: a maskable interrupt pending while IF=0 is taken at the
 * first instruction boundary after STI's shadow (SDM vol. 3, 6.8.3), so
 * STI; NOP; CLI takes it after the NOP, and a STI; NOP; CLI; JMP loop
 * cannot keep it out forever. Each case runs with the decoded-block cache
 * and with the general decoder alone; both must agree with hardware.
 */
#include "emu_test.h"
#include "test.h"

#define VEC	31		/* its IDT stub halts: emu_test_vector() */

static bool pending;

static bool fake_maybe(void *apic)
{
	(void)apic;
	return pending;
}

static int fake_vector(void *apic)
{
	(void)apic;
	return pending ? VEC : -1;
}

static void fake_accept(void *apic, int vector)
{
	(void)apic;
	(void)vector;
	pending = false;
}

static unsigned fake_events(void *apic, uint8_t *sipi)
{
	(void)apic;
	(void)sipi;
	return 0;
}

static uint64_t fake_base(void *apic)
{
	(void)apic;
	return 0xfee00000;
}

static const struct emu_apic_ops fake_lapic = {
	.apic_base = fake_base,
	.maybe_pending = fake_maybe,
	.pending_vector = fake_vector,
	.accept = fake_accept,
	.take_events = fake_events,
};

/* Run code with IF=0 and VEC pending; returns the vector halted in. */
static int run_pending(const uint8_t *code, size_t len, bool dcache,
		       uint64_t *rax)
{
	struct emu_test *t = emu_test_init64();
	int v;

	if (!dcache) {
		dcache_destroy(t->cpu.dcache);
		t->cpu.dcache = NULL;
	}
	t->cpu.apic = t;
	t->cpu.apic_ops = &fake_lapic;
	t->cpu.rflags &= ~(uint64_t)FL_IF;
	pending = true;
	emu_test_run(t, code, len);
	v = emu_test_vector(t);
	*rax = t->cpu.gpr[R_AX];
	emu_test_free(t);
	return v;
}

/* sti; nop; cli; hlt */
static const uint8_t sti_nop_cli[] = { 0xfb, 0x90, 0xfa, 0xf4 };
/* sti; mov eax, 1; add eax, 2; cli; hlt */
static const uint8_t sti_alu_cli[] = { 0xfb, 0xb8, 0x01, 0x00, 0x00, 0x00,
				       0x83, 0xc0, 0x02, 0xfa, 0xf4 };
/* 1: sti; nop; cli; jmp 1b */
static const uint8_t sti_cli_loop[] = { 0xfb, 0x90, 0xfa, 0xeb, 0xfb };

static void test_window_after_sti_shadow(void)
{
	uint64_t rax;

	for (int dc = 0; dc < 2; dc++) {
		CHECK_EQ(run_pending(sti_nop_cli, sizeof(sti_nop_cli), dc,
				     &rax), VEC);
		CHECK_EQ(run_pending(sti_alu_cli, sizeof(sti_alu_cli), dc,
				     &rax), VEC);
		/* taken after the MOV, before the ADD could run */
		CHECK_EQ(rax, 1);
	}
}

static void test_window_loop_not_starved(void)
{
	uint64_t rax;

	for (int dc = 0; dc < 2; dc++)
		CHECK_EQ(run_pending(sti_cli_loop, sizeof(sti_cli_loop), dc,
				     &rax), VEC);
}

int main(void)
{
	RUN(test_window_after_sti_shadow);
	RUN(test_window_loop_not_starved);
	return test_summary();
}
