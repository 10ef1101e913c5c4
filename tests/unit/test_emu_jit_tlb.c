// SPDX-License-Identifier: MIT
/*
 * emu translator (jit.h): a memory operand whose soft-TLB entry is not
 * its page's (or lacks the permission) is filled from translated code
 * when the interpreter's page walk would not fault (tlb_refill), and the
 * block goes on instead of leaving the instruction to the interpreter;
 * the page tables' A and D bits, CR2 and the fault at the first page
 * not present are the interpreter's.
 */
#include <stdio.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define PD9	(EMU_TEST_PML4 + 0x2000 + 9 * 8)
#define PT	0x40000ULL		/* 4K pages for 0x1200000.. */
#define DATA	0x800000ULL		/* ... mapped here, page i at i * 4K */
#define HIGH	0xffffff8000000000ULL	/* PML4[511]: the low GiB again */

/*
 * Reads a qword from each of pages 0..255 of PT's range, writes one to
 * each of pages 256..510, then reads page 511, which is not present
 * (#PF). Straight loops (blocks that jump back to their start: the
 * lookup in the block), or (calls) each access in a function called
 * from the loop (kernel code in the high half: the shared lookups).
 */
static const uint8_t loops[] = {
	0xbe, 0x00, 0x00, 0x20, 0x01,		/* mov esi, 0x1200000 */
	0xb9, 0x00, 0x01, 0x00, 0x00,		/* mov ecx, 256 */
	0x48, 0x8b, 0x06,			/* L1: mov rax, [rsi] */
	0x48, 0x01, 0xc2,			/* add rdx, rax */
	0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add rsi, 0x1000 */
	0xff, 0xc9,				/* dec ecx */
	0x75, 0xef,				/* jnz L1 */
	0xb9, 0xff, 0x00, 0x00, 0x00,		/* mov ecx, 255 */
	0x48, 0x89, 0x16,			/* L2: mov [rsi], rdx */
	0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add rsi, 0x1000 */
	0xff, 0xc9,				/* dec ecx */
	0x75, 0xf2,				/* jnz L2 */
	0x48, 0x8b, 0x06,			/* mov rax, [rsi] */
	0xf4,					/* hlt */
};

static const uint8_t calls[] = {
	0xbe, 0x00, 0x00, 0x20, 0x01,		/* mov esi, 0x1200000 */
	0xb9, 0x00, 0x01, 0x00, 0x00,		/* mov ecx, 256 */
	0xe8, 0x16, 0x00, 0x00, 0x00,		/* L1: call RD */
	0xff, 0xc9,				/* dec ecx */
	0x75, 0xf7,				/* jnz L1 */
	0xb9, 0xff, 0x00, 0x00, 0x00,		/* mov ecx, 255 */
	0xe8, 0x16, 0x00, 0x00, 0x00,		/* L2: call WR */
	0xff, 0xc9,				/* dec ecx */
	0x75, 0xf7,				/* jnz L2 */
	0x48, 0x8b, 0x06,			/* mov rax, [rsi] */
	0xf4,					/* hlt */
	0x48, 0x8b, 0x06,			/* RD: mov rax, [rsi] */
	0x48, 0x01, 0xc2,			/* add rdx, rax */
	0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add rsi, 0x1000 */
	0xc3,					/* ret */
	0x48, 0x89, 0x16,			/* WR: mov [rsi], rdx */
	0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add rsi, 0x1000 */
	0xc3,					/* ret */
};

struct outcome {
	uint64_t rdx, rsi, cr2, pd9, pt[512];
	int vector;
	uint64_t enters, refills;
};

/* code at rip (its bytes at EMU_TEST_CODE), translated or interpreted */
static struct outcome run(const uint8_t *code, size_t len, uint64_t rip,
			  bool jit)
{
	struct emu_test *t = emu_test_init64();
	struct outcome o = { 0 };

	emu_test_track(t);
	emu_test_w64(t, EMU_TEST_PML4 + 511 * 8, (EMU_TEST_PML4 + 0x1000) | 7);
	emu_test_w64(t, PD9, PT | 3);
	for (uint64_t i = 0; i < 511; i++) {
		emu_test_w64(t, PT + i * 8, (DATA + i * 4096) | 3);
		emu_test_w64(t, DATA + i * 4096, i * 3 + 1);
	}
	if (jit) {
		t->cpu.jit = jit_create();
		CHECK(t->cpu.jit != NULL);
		jit_eager(t->cpu.jit);
	}
	memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, len);
	t->cpu.rip = rip;
	for (int i = 0; i < 100 && !t->cpu.halted && !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
	CHECK(t->cpu.halted);
	o.rdx = t->cpu.gpr[R_DX];
	o.rsi = t->cpu.gpr[R_SI];
	o.cr2 = t->cpu.cr2;
	o.pd9 = emu_test_r64(t, PD9);
	o.vector = emu_test_vector(t);
	for (int i = 0; i < 512; i++)
		o.pt[i] = emu_test_r64(t, PT + i * 8);
	o.enters = jit_stat_enters(t->cpu.jit);
	o.refills = jit_stat_refills(t->cpu.jit);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
	return o;
}

static void check_refills(const uint8_t *code, size_t len, uint64_t rip)
{
	struct outcome in = run(code, len, rip, false);
	struct outcome jt = run(code, len, rip, true);

	CHECK_EQ(in.vector, 14);
	CHECK_EQ(in.cr2, 0x1200000ULL + 511 * 4096);
	CHECK_EQ(in.rdx, 256 * 255 / 2 * 3 + 256);
	CHECK_EQ(in.pt[0], (DATA | 3 | 0x20));		/* A */
	CHECK_EQ(in.pt[300], (DATA + 300 * 4096) | 3 | 0x60);	/* A, D */
	CHECK_EQ(jt.vector, in.vector);
	CHECK_EQ(jt.cr2, in.cr2);
	CHECK_EQ(jt.rdx, in.rdx);
	CHECK_EQ(jt.rsi, in.rsi);
	CHECK_EQ(jt.pd9, in.pd9);
	CHECK(!memcmp(jt.pt, in.pt, sizeof(in.pt)));
	printf("  %llu lookups filled in translated code, %llu entries\n",
	       (unsigned long long)jt.refills,
	       (unsigned long long)jt.enters);
	/* each page's miss a return to jit_run and back without them */
	CHECK(jt.refills >= 500);
	CHECK(jt.enters < 100);
}

static void test_jit_refill_loops(void)
{
	check_refills(loops, sizeof(loops), EMU_TEST_CODE);
}

static void test_jit_refill_shared(void)
{
	check_refills(calls, sizeof(calls), HIGH + EMU_TEST_CODE);
}

int main(void)
{
	RUN(test_jit_refill_loops);
	RUN(test_jit_refill_shared);
	return test_summary();
}
