// SPDX-License-Identifier: MIT
/*
 * emu translator (jit.h): what happens between translated blocks. A RET,
 * an indirect CALL/JMP and a jump to another guest page find their
 * target's block from translated code (the front table, through the
 * TLB's entry for the target's page) without a return to jit_run, and
 * must still notice what jit_run would: a page mapped elsewhere, code
 * whose bytes changed, a spent budget.
 */
#include <stdio.h>

#include "accel/emu/jit.h"
#include "accel/emu/jit_cache.h"
#include "emu_test.h"
#include "test.h"

#define FN_LIN	0x1000000ULL	/* a 2 MiB page the test maps by PD[8] */
#define FN_A	0x1400000ULL	/* ... to one of these */
#define FN_B	0x1600000ULL
#define PD8	(EMU_TEST_PML4 + 0x2000 + 8 * 8)
#define CR3_B	0x20000ULL	/* a second set of page tables */

static struct emu_test *dispatch_init(void)
{
	static const uint8_t add1[] = { 0x48, 0x83, 0xc2, 0x01, 0xc3 };
	static const uint8_t add100[] = { 0x48, 0x83, 0xc2, 0x64, 0xc3 };
	struct emu_test *t = emu_test_init64();

	memcpy(emu_test_ptr(t, FN_A), add1, sizeof(add1));	/* add rdx, 1; ret */
	memcpy(emu_test_ptr(t, FN_B), add100, sizeof(add100));	/* add rdx, 100; ret */
	emu_test_w64(t, PD8, FN_A | 0x87);
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	jit_eager(t->cpu.jit);
	return t;
}

static void dispatch_free(struct emu_test *t)
{
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
}

/*
 * A loop calling a function in another page, directly and through a
 * register, 2000 times; then the page is mapped to other code (PD entry
 * written, INVLPG) and the loop runs again: the second loop must run the
 * new code, though the old one's block stays in the cache and the
 * front table. The calls and returns stay in translated code: jit_run
 * enters it about once per budget, not once per call.
 */
static void test_jit_far_remap(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xe8, 0xf1, 0xff, 0xef, 0x00,		/* L1: call FN_LIN */
		0xff, 0xd0,				/* call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf5,				/* jnz L1 */
		0x48, 0xc7, 0x06, 0x87, 0x00, 0x60, 0x01, /* mov qword [rsi], FN_B|0x87 */
		0x0f, 0x01, 0x38,			/* invlpg [rax] */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xe8, 0xd7, 0xff, 0xef, 0x00,		/* L2: call FN_LIN */
		0xff, 0xd0,				/* call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf5,				/* jnz L2 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	t->cpu.gpr[R_SI] = PD8;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2000 * 2 + 2000 * 200);
	CHECK(jit_stat_insns(t->cpu.jit) > 4 * 6000);
	printf("  %llu translated runs entered for %llu instructions\n",
	       (unsigned long long)jit_stat_enters(t->cpu.jit),
	       (unsigned long long)jit_stat_insns(t->cpu.jit));
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * The function's bytes are rewritten (by a store from another page)
 * between two loops that call it: the block entered from the call and
 * the RET's lookup must run the new bytes.
 */
static void test_jit_far_rewrite(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L1: call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xfa,				/* jnz L1 */
		0xc6, 0x40, 0x03, 0x64,			/* mov byte [rax+3], 100 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L2: call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xfa,				/* jnz L2 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2000 + 2000 * 100);
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * Calls through a register to a page the TLB lets the CPU read but not
 * run (NX): the lookup must not enter a block made for it when it was
 * executable; the CALL's target fetch raises #PF.
 */
static void test_jit_far_nx(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L1: call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xfa,				/* jnz L1 */
		0x48, 0x0f, 0xba, 0x2e, 0x3f,		/* bts qword [rsi], 63: NX */
		0x0f, 0x01, 0x38,			/* invlpg [rax] */
		0x8b, 0x18,				/* mov ebx, [rax]: fills the TLB */
		0xff, 0xd0,				/* call rax */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	t->cpu.gpr[R_SI] = PD8;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.gpr[R_DX], 2000);
	CHECK_EQ(t->cpu.cr2, FN_LIN);
	dispatch_free(t);
}

/*
 * The same CALL through a register (the block at L1) before and after
 * its target's page is mapped elsewhere: the exit's own slot holds the
 * block it went to for FN_LIN, whose bytes (at FN_A) are unchanged, so
 * the slot may be used only while FN_LIN still maps to that host page.
 */
static void test_jit_far_remap_site(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xbf, 0x02, 0x00, 0x00, 0x00,		/* mov edi, 2 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L1: call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xfa,				/* jnz L1 */
		0x48, 0xc7, 0x06, 0x87, 0x00, 0x60, 0x01, /* mov qword [rsi], FN_B|0x87 */
		0x0f, 0x01, 0x38,			/* invlpg [rax] */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xcf,				/* dec edi */
		0x75, 0xe7,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	t->cpu.gpr[R_SI] = PD8;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2000 + 2000 * 100);
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * The same CALL site before and after its target's page is made NX; a
 * loop between them (L2) has translated code reach the CALL again, rather
 * than the interpreter that ran the INVLPG and the MOV, and its PUSH
 * fills the stack's TLB entry (INVLPG dropped it with the other large
 * pages' entries), so that the CALL's push does not leave the block.
 */
static void test_jit_far_nx_site(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xbf, 0x02, 0x00, 0x00, 0x00,		/* mov edi, 2 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L1: call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xfa,				/* jnz L1 */
		0x80, 0x4e, 0x07, 0x80,			/* or byte [rsi+7], 0x80: NX */
		0x0f, 0x01, 0x38,			/* invlpg [rax] */
		0x8b, 0x18,				/* mov ebx, [rax]: fills the TLB */
		0x41, 0xb9, 0x64, 0x00, 0x00, 0x00,	/* mov r9d, 100 */
		0x41, 0x51,				/* L2: push r9 */
		0x41, 0x59,				/* pop r9 */
		0x41, 0xff, 0xc9,			/* dec r9d */
		0x75, 0xf7,				/* jnz L2 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xcf,				/* dec edi */
		0x75, 0xd9,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	t->cpu.gpr[R_SI] = PD8;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.gpr[R_DX], 2000);
	CHECK_EQ(t->cpu.gpr[R_DI], 1);
	CHECK_EQ(t->cpu.cr2, FN_LIN);
	dispatch_free(t);
}

/*
 * The loop of test_jit_far_remap (a direct call and one through a
 * register to FN_LIN) before and after a MOV to CR3 that switches to
 * page tables mapping FN_LIN to the other code: the exits' slots hold
 * blocks found before the switch (the TLB's flush count they were found
 * at), and must not be used after it.
 */
static void test_jit_far_cr3_site(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xbf, 0x02, 0x00, 0x00, 0x00,		/* mov edi, 2 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xe8, 0xec, 0xff, 0xef, 0x00,		/* L1: call FN_LIN */
		0xff, 0xd0,				/* call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf5,				/* jnz L1 */
		0x0f, 0x22, 0xde,			/* mov cr3, rsi */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xcf,				/* dec edi */
		0x75, 0xe9,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	/* the same tables at CR3_B, but for FN_LIN's PD entry */
	memcpy(emu_test_ptr(t, CR3_B), emu_test_ptr(t, EMU_TEST_PML4),
	       0x3000);
	emu_test_w64(t, CR3_B, (CR3_B + 0x1000) | 7);
	emu_test_w64(t, CR3_B + 0x1000, (CR3_B + 0x2000) | 7);
	emu_test_w64(t, CR3_B + 0x2000 + 8 * 8, FN_B | 0x87);
	t->cpu.gpr[R_SI] = CR3_B;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2 * 2000 + 2 * 2000 * 100);
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * As test_jit_far_cr3_site with FN_LIN a global page (CR4.PGE), which a
 * MOV to CR3 keeps: its PD entry is pointed at the other code and CR4.PGE
 * cleared and set again, which flushes global pages too.
 */
static void test_jit_far_global_site(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xbf, 0x02, 0x00, 0x00, 0x00,		/* mov edi, 2 */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xe8, 0xec, 0xff, 0xef, 0x00,		/* L1: call FN_LIN */
		0xff, 0xd0,				/* call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf5,				/* jnz L1 */
		0x48, 0xc7, 0x06, 0x87, 0x01, 0x60, 0x01, /* mov qword [rsi], FN_B|0x187 */
		0x0f, 0x20, 0xe3,			/* mov rbx, cr4 */
		0x48, 0x0f, 0xba, 0xf3, 0x07,		/* btr rbx, 7: PGE */
		0x0f, 0x22, 0xe3,			/* mov cr4, rbx */
		0x48, 0x0f, 0xba, 0xeb, 0x07,		/* bts rbx, 7 */
		0x0f, 0x22, 0xe3,			/* mov cr4, rbx */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xcf,				/* dec edi */
		0x75, 0xd2,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();

	emu_test_w64(t, PD8, FN_A | 0x187);
	t->cpu.cr4 |= CR4_PGE;
	tlb_flush(&t->cpu, true);
	t->cpu.gpr[R_SI] = PD8;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2 * 2000 + 2 * 2000 * 100);
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * The slots keep the TLB's flush count modulo JIT_TAG_PERIOD: after that
 * many flushes the count they were filled at comes round again, and
 * jit_run drops them. The loop runs, FN_LIN is mapped elsewhere and the
 * TLB flushed, the count set to the loop's plus the period, and the loop
 * runs again: it must run the new code.
 */
static void test_jit_far_tag_period(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xe8, 0xf1, 0xff, 0xef, 0x00,		/* L1: call FN_LIN */
		0xff, 0xd0,				/* call rax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf5,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();
	uint64_t n;

	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(t->cpu.gpr[R_DX], 2 * 2000);
	n = t->cpu.tlb_gen;
	emu_test_w64(t, PD8, FN_B | 0x87);
	tlb_flush(&t->cpu, true);
	t->cpu.tlb_gen = n + JIT_TAG_PERIOD;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 2 * 2000 + 2 * 2000 * 100);
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

/*
 * A CALL through a register whose target changes every time (FN_LIN and
 * FN_LIN + 16 in turn): its slot holds one, the blocks by RIP (jit_cache.h)
 * give the other. Two loops of 2000 calls; between them, how = 0: FN_LIN
 * is mapped to other code (PD entry, INVLPG); 1: the second function's
 * ADD is rewritten; 2: the TLB's flush count is set to come round, with
 * FN_LIN remapped and the TLB flushed. Each loop must run the code there
 * is, staying in translated code.
 */
static void rips_case(int how)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x01,		/* mov eax, FN_LIN */
		0xb9, 0xd0, 0x07, 0x00, 0x00,		/* mov ecx, 2000 */
		0xff, 0xd0,				/* L1: call rax */
		0x83, 0xf0, 0x10,			/* xor eax, 16 */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf7,				/* jnz L1 */
		0xf4,					/* hlt */
	};
	static const uint8_t add2[] = { 0x48, 0x83, 0xc2, 0x02, 0xc3 };
	static const uint8_t add200[] = { 0x48, 0x81, 0xc2, 0xc8, 0x00,
					   0x00, 0x00, 0xc3 };
	struct emu_test *t = dispatch_init();
	uint64_t n, second = 2;

	memcpy(emu_test_ptr(t, FN_A + 16), add2, sizeof(add2));
	memcpy(emu_test_ptr(t, FN_B + 16), add200, sizeof(add200));
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(t->cpu.gpr[R_DX], 1000 * 3);
	n = t->cpu.tlb_gen;
	if (how == 0) {
		emu_test_w64(t, PD8, FN_B | 0x87);
		tlb_flush_page(&t->cpu, FN_LIN);
		second = 300;
	} else if (how == 1) {
		*(uint8_t *)emu_test_ptr(t, FN_A + 16 + 3) = 7;
		second = 8;
	} else {
		emu_test_w64(t, PD8, FN_B | 0x87);
		tlb_flush(&t->cpu, true);
		t->cpu.tlb_gen = n + JIT_TAG_PERIOD;
		second = 300;
	}
	t->cpu.gpr[R_DX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 1000 * second);
	printf("  %llu translated runs entered\n",
	       (unsigned long long)jit_stat_enters(t->cpu.jit));
	CHECK(jit_stat_enters(t->cpu.jit) < 400);
	dispatch_free(t);
}

static void test_jit_rips_remap(void)
{
	rips_case(0);
}

static void test_jit_rips_rewrite(void)
{
	rips_case(1);
}

static void test_jit_rips_tag_period(void)
{
	rips_case(2);
}

/*
 * Two blocks whose pages share the TLB's entry (TLB_SIZE pages apart:
 * B's linear page is mapped by a 2M page to 0x900000) jump to each other
 * through a register: each jump finds the entry taken by the other page.
 * jit_run fills it as the fetch would and runs the block translated;
 * it used to leave each block's first instruction to the interpreter to
 * fill it, a quarter of this loop's instructions.
 */
#define CONFLICT_A	0x100100ULL
#define CONFLICT_B	(CONFLICT_A + TLB_SIZE * 4096ULL)

_Static_assert(CONFLICT_B >= (16 << 20) && CONFLICT_B < (1ULL << 30),
	       "B's 2M page is in the PD, above the identity-mapped 16 MiB");

static void test_jit_tlb_conflict(void)
{
	static const uint8_t code[] = {
		0xb9, 0x10, 0x27, 0x00, 0x00,		/* mov ecx, 10000 */
		0xb8, 0x00, 0x01, 0x10, 0x00,		/* mov eax, A */
		0xff, 0xe0,				/* jmp rax */
	};
	uint8_t a[] = {
		0x48, 0xff, 0xc2,			/* A: inc rdx */
		0xb8, 0, 0, 0, 0,			/* mov eax, B */
		0xff, 0xe0,				/* jmp rax */
	};
	static const uint8_t b[] = {
		0xff, 0xc9,				/* B: dec ecx */
		0x74, 0x07,				/* jz H */
		0xb8, 0x00, 0x01, 0x10, 0x00,		/* mov eax, A */
		0xff, 0xe0,				/* jmp rax */
		0xf4,					/* H: hlt */
	};
	struct emu_test *t = dispatch_init();
	uint32_t lin_b = CONFLICT_B;
	uint64_t ran;

	memcpy(a + 4, &lin_b, 4);
	emu_test_w64(t, EMU_TEST_PML4 + 0x2000 + (CONFLICT_B >> 21) * 8,
		     (0x900100 & ~0x1fffffULL) | 0x87);
	CHECK_EQ((CONFLICT_A >> 12) % TLB_SIZE, (CONFLICT_B >> 12) % TLB_SIZE);
	CHECK_EQ(CONFLICT_B & 0x1fffff, 0x900100 & 0x1fffff);
	memcpy(emu_test_ptr(t, CONFLICT_A), a, sizeof(a));
	memcpy(emu_test_ptr(t, 0x900100), b, sizeof(b));
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 10000);
	ran = jit_stat_insns(t->cpu.jit);
	printf("  %llu of 70000 instructions translated\n",
	       (unsigned long long)ran);
	CHECK(ran > 69000);
	dispatch_free(t);
}

/*
 * A call from translated code into a page that is not mapped: the #PF
 * comes at the target (RIP and CR2), after the CALL pushed its return
 * address, as when the interpreter fetches it.
 */
static void test_jit_far_fault(void)
{
	static const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x80, 0x01,		/* mov eax, 0x1800000 */
		0xb9, 0x64, 0x00, 0x00, 0x00,		/* mov ecx, 100 */
		0x48, 0xff, 0xc2,			/* L: inc rdx */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf9,				/* jnz L */
		0xff, 0xd0,				/* call rax */
		0xf4,					/* hlt */
	};
	struct emu_test *t = dispatch_init();
	uint64_t sp;

	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0x1800000);
	CHECK_EQ(t->cpu.gpr[R_DX], 100);
	sp = t->cpu.gpr[R_SP];
	CHECK_EQ(emu_test_r64(t, sp) & 1, 0);		/* not present */
	CHECK_EQ(emu_test_r64(t, sp + 8), 0x1800000);	/* RIP */
	CHECK_EQ(emu_test_r64(t, sp + 32), EMU_TEST_STACK - 8);	/* RSP */
	CHECK_EQ(emu_test_r64(t, EMU_TEST_STACK - 8), EMU_TEST_CODE + 19);
	CHECK(jit_stat_insns(t->cpu.jit) >= 200);
	dispatch_free(t);
}

int main(void)
{
	RUN(test_jit_tlb_conflict);
	RUN(test_jit_far_fault);
	RUN(test_jit_far_remap);
	RUN(test_jit_far_rewrite);
	RUN(test_jit_far_nx);
	RUN(test_jit_far_remap_site);
	RUN(test_jit_far_nx_site);
	RUN(test_jit_far_cr3_site);
	RUN(test_jit_far_global_site);
	RUN(test_jit_far_tag_period);
	RUN(test_jit_rips_remap);
	RUN(test_jit_rips_rewrite);
	RUN(test_jit_rips_tag_period);
	return test_summary();
}
