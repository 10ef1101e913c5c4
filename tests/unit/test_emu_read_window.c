// SPDX-License-Identifier: MIT
/*
 * The emu CPU's read window (read_window.c): once a CPL 0 read fills the
 * TLB from a large page mapped to its own physical address, the run of
 * such pages around it is walked (accessed flags set), and translated
 * code reads there without the TLB. It is what the TLB could hold, so it
 * must go as the TLB goes, and the interpreter must read what translated
 * code reads: each case runs with the translator and without, and the
 * two must agree with what the page tables said at the last flush.
 */
#include <stdio.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define PD		(EMU_TEST_PML4 + 0x2000)	/* 8 PDEs: 16 MiB */
#define LIN		0x400008ULL	/* in PDE 2's page */
#define LIN2		0x500008ULL	/* the same page's, read later */
#define OTHER		0x200000ULL	/* what PDE 2 maps to later, + */

/* mov ecx, 100; L: mov rax, [rsi]; dec ecx; jnz L; hlt */
static const uint8_t reads[] = {
	0xb9, 0x64, 0x00, 0x00, 0x00,
	0x48, 0x8b, 0x06,
	0xff, 0xc9,
	0x75, 0xf9,
	0xf4,
};

/* The reads of lin after a prefix (INVLPG, MOV to CR3), at code page at */
static uint64_t run_after(struct emu_test *t, uint64_t at, const uint8_t *pre,
			  size_t n, uint64_t lin)
{
	uint8_t code[64];

	if (n)
		memcpy(code, pre, n);
	memcpy(code + n, reads, sizeof(reads));
	t->cpu.gpr[R_SI] = lin;
	emu_test_run_at(t, at, code, n + sizeof(reads));
	return t->cpu.gpr[R_AX];
}

/* The values the reads got at each step, with or without the translator */
static void steps(bool jit, uint64_t got[5], uint64_t *win)
{
	static const uint8_t invlpg[] = { 0x0f, 0x01, 0x3c, 0x25, 0x00,
					  0x00, 0x40, 0x00 };
	static const uint8_t cr3[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8 };
	struct emu_test *t = emu_test_init64();

	if (jit) {
		emu_test_track(t);
		t->cpu.jit = jit_create();
		CHECK(t->cpu.jit != NULL);
		jit_eager(t->cpu.jit);
	}
	emu_test_w64(t, LIN, 0x1111);
	emu_test_w64(t, LIN2, 0x5555);
	emu_test_w64(t, LIN + OTHER, 0x2222);
	emu_test_w64(t, LIN2 + OTHER, 0x7777);
	got[0] = run_after(t, 0x100000, NULL, 0, LIN);
	*win = t->cpu.win_size;
	for (int i = 0; i < 8; i++)
		CHECK(emu_test_r64(t, PD + i * 8) & 0x20);	/* accessed */
	/*
	 * PDE 2 to other memory, no flush: a page of it not read before
	 * is read through the translation the window made (the
	 * interpreter's TLB fill too)
	 */
	emu_test_w64(t, PD + 2 * 8, (0x400000 + OTHER) | 0x87);
	got[1] = run_after(t, 0x100000, NULL, 0, LIN2);
	/* INVLPG in the window: the new one */
	got[2] = run_after(t, 0x101000, invlpg, sizeof(invlpg), LIN);
	/* back to itself, no flush: the TLB keeps the other */
	emu_test_w64(t, PD + 2 * 8, 0x400000 | 0x87);
	got[3] = run_after(t, 0x100000, NULL, 0, LIN);
	/* a MOV to CR3: all again */
	got[4] = run_after(t, 0x102000, cr3, sizeof(cr3), LIN);
	CHECK_EQ(emu_test_vector(t), -1);
	if (t->cpu.jit) {
		CHECK(jit_stat_insns(t->cpu.jit) > 200);
		jit_destroy(t->cpu.jit);
	}
	emu_test_free(t);
}

/*
 * The guest changes a PDE in the window without a flush, then flushes
 * with INVLPG and with a MOV to CR3 (fails when INVLPG or CR3 leave the
 * window, or when the interpreter's TLB fill walks where translated code
 * used the window)
 */
static void test_window_flush(void)
{
	static const uint64_t want[5] = { 0x1111, 0x5555, 0x2222, 0x2222,
					  0x1111 };
	uint64_t got[2][5], win[2];

	for (int jit = 0; jit < 2; jit++) {
		steps(jit, got[jit], &win[jit]);
		for (int i = 0; i < 5; i++)
			CHECK_EQ(got[jit][i], want[i]);
	}
	/* the window: the 16 MiB the PDEs map, from the first read */
	printf("  window %#llx bytes\n", (unsigned long long)win[1]);
	CHECK_EQ(win[0], win[1]);
	CHECK(win[1] >= (16ULL << 20) - 64);
}

/*
 * No window where a page is not mapped to its own address, or is 4K:
 * the PDEs map 16 MiB one 2 MiB page up
 */
static void test_window_not_identity(void)
{
	struct emu_test *t = emu_test_init64();

	for (uint64_t i = 0; i < 8; i++)
		emu_test_w64(t, PD + i * 8, ((i + 1) << 21) | 0x87);
	/* the code and stack pages' PDE stays: mov rax, [LIN]; hlt */
	emu_test_w64(t, PD, 0x87);
	tlb_flush(&t->cpu, true);
	emu_test_w64(t, LIN + 0x200000, 0x3333);
	emu_test_run(t, (const uint8_t[]){ 0x48, 0x8b, 0x04, 0x25, 0x08,
					   0x00, 0x40, 0x00, 0xf4 }, 9);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x3333);
	CHECK(t->cpu.win_size < (2ULL << 20));
	emu_test_free(t);
}

int main(void)
{
	RUN(test_window_flush);
	RUN(test_window_not_identity);
	return test_summary();
}
