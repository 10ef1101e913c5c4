// SPDX-License-Identifier: MIT
/*
 * emu translator (jit.h): random programs run by the interpreter and by
 * the translator must leave the same registers, flags and memory
 * (emu_jit_diff.h); code that rewrites itself must run its new bytes;
 * the code cache must never be writable and executable at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "accel/emu/jit_cache.h"
#include "accel/emu/jit_stats.h"
#include "emu_jit_diff.h"
#include "test.h"

#define PROGRAMS	1500

/*
 * t's CPU with a translator that makes a block at its first ask, with
 * code page write tracking (the tests write code only before it runs,
 * or by the guest's own stores)
 */
static void jit_on(struct emu_test *t)
{
	emu_test_track(t);
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	jit_eager(t->cpu.jit);
}

/*
 * How many random programs (CVISOR_JD_PROGRAMS, default n) and the first
 * seed (CVISOR_JD_SEED, default 1): a longer or another run of the same
 * comparison, as when the translator changes.
 */
static int jd_programs(int n)
{
	const char *s = getenv("CVISOR_JD_PROGRAMS");

	return s && atoi(s) > 0 ? atoi(s) : n;
}

static int jd_first_seed(void)
{
	const char *s = getenv("CVISOR_JD_SEED");

	return s && atoi(s) > 0 ? atoi(s) : 1;
}

static void test_jit_differential(void)
{
	static struct jd_prog pg;
	uint64_t jit_insns = 0;
	int bad = 0, faulted = 0, n = jd_programs(PROGRAMS);
	int first = jd_first_seed();

	for (int seed = first; seed < first + n; seed++) {
		struct jd_rand r = { .seed = 0x9e3779b97f4a7c15ULL * seed };
		char why[200];

		jd_build(&pg, &r);
		if (jd_compare(&pg, &r, why, sizeof(why), &jit_insns,
			       &faulted)) {
			if (bad++ < 5)
				printf("  seed %d: %s\n", seed, why);
		}
	}
	CHECK_EQ(bad, 0);
	/* the translator ran a good share of them, not just the interpreter */
	printf("  %llu instructions ran translated in %d programs, %d ended in an exception\n",
	       (unsigned long long)jit_insns, n, faulted);
	CHECK(jit_insns > n * 20ULL);
	CHECK(faulted > n / 20);
}

/*
 * Loops at the end of random programs: blocks that jump back to their own
 * start with guest registers in host registers, across jit_run's budget
 * and with miss exits in later rounds.
 */
static void test_jit_differential_loops(void)
{
	static struct jd_prog pg;
	uint64_t jit_insns = 0;
	int bad = 0, faulted = 0, n = jd_programs(PROGRAMS / 3);
	int first = jd_first_seed();

	for (int seed = first; seed < first + n; seed++) {
		struct jd_rand r = { .seed = 0x51ed2701ULL * seed + 7 };
		char why[200];

		jd_build_loop(&pg, &r);
		if (jd_compare(&pg, &r, why, sizeof(why), &jit_insns,
			       &faulted)) {
			if (bad++ < 5)
				printf("  seed %d: %s\n", seed, why);
		}
	}
	CHECK_EQ(bad, 0);
	printf("  %llu instructions ran translated in %d loop programs\n",
	       (unsigned long long)jit_insns, n);
	CHECK(jit_insns > n * 60ULL);

	/*
	 * A load that misses in the soft TLB in a later round (its address
	 * moves down into a new page), right at the loop's top: the
	 * interpreter runs it with the flags of the round before (CF from
	 * the ADC, which DEC keeps), which the ADC after it adds.
	 */
	{
		static const uint8_t loop[] = {
			0x4b, 0x8b, 0x84, 0xf7, 0x00, 0x1f, 0x00, 0x00,
			0x48, 0x11, 0xc1,		/* adc rcx, rax */
			0x49, 0xff, 0xce,		/* dec r14 */
			0x79, 0xf0,			/* jns the mov */
			0xf4,
		};

		memcpy(pg.code, loop, sizeof(loop));
		pg.len = sizeof(loop);
		for (int seed = 1; seed <= 64; seed++) {
			struct jd_rand r = { .seed = 0x2545f491ULL * seed };
			char why[200];

			if (jd_compare(&pg, &r, why, sizeof(why), NULL,
				       NULL) && bad++ < 5)
				printf("  fixed loop, seed %d: %s\n", seed,
				       why);
		}
		CHECK_EQ(bad, 0);
	}
}

/*
 * Programs and loops of forms whose code leaves RDX, R9 and R10 alone
 * (pg.lean): their blocks keep guest registers in those too (9 host
 * registers, not 6), which every lookup, exit, miss and chunk check
 * must leave as they are and store back (fails when the soft-TLB lookup
 * uses RDX as it did, or a lean form uses R9 or R10).
 */
static void test_jit_differential_spare(void)
{
	static struct jd_prog pg;
	uint64_t jit_insns = 0;
	int bad = 0, faulted = 0, n = jd_programs(PROGRAMS / 3);
	int first = jd_first_seed();

	pg.lean = true;
	for (int seed = first; seed < first + 2 * n; seed++) {
		struct jd_rand r = { .seed = 0x6a09e667ULL * seed + 3 };
		char why[200];

		if (seed & 1)
			jd_build_loop(&pg, &r);
		else
			jd_build(&pg, &r);
		if (jd_compare(&pg, &r, why, sizeof(why), &jit_insns,
			       &faulted)) {
			if (bad++ < 5)
				printf("  seed %d: %s\n", seed, why);
		}
	}
	CHECK_EQ(bad, 0);
	printf("  %llu instructions ran translated in %d lean programs, %d ended in an exception\n",
	       (unsigned long long)jit_insns, 2 * n, faulted);
	CHECK(jit_insns > n * 60ULL);
}

/*
 * A function whose block keeps 11 guest registers busy (ADD r, r of RAX..
 * R11 and RBP, each used twice), then one instruction and RET, or JMP/CALL
 * through R12 back to the caller's HLT: the block holds 9 of them in host
 * registers (RDX, R9 and R10 too) unless the instruction's code uses those
 * (MUL, DIV, CQO, IMUL, SHLD, BSF, PUSHF/POPF), and the branches' target
 * check and every exit must leave them as they are (fails when the RET's
 * canonical check uses R9, as it did, with R9 holding a guest register).
 */
static void test_jit_spare_exits(void)
{
	static const uint8_t adds[] = {
		0x48, 0x01, 0xc0, 0x48, 0x01, 0xc9, 0x48, 0x01, 0xd2,
		0x48, 0x01, 0xdb, 0x48, 0x01, 0xf6, 0x48, 0x01, 0xff,
		0x4d, 0x01, 0xc0, 0x4d, 0x01, 0xc9, 0x4d, 0x01, 0xd2,
		0x4d, 0x01, 0xdb, 0x48, 0x01, 0xed,
	};
	static const uint8_t tails[][8] = {
		{ 0 },					/* none */
		{ 3, 0x48, 0xf7, 0xe6 },		/* mul rsi */
		{ 3, 0x48, 0xf7, 0xf6 },		/* div rsi */
		{ 3, 0x48, 0xd3, 0xe0 },		/* shl rax, cl */
		{ 2, 0x48, 0x99 },			/* cqo */
		{ 4, 0x48, 0x0f, 0xaf, 0xc1 },		/* imul rax, rcx */
		{ 4, 0x48, 0x0f, 0xa5, 0xc8 },		/* shld rax, rcx, cl */
		{ 4, 0x48, 0x0f, 0xbc, 0xc6 },		/* bsf rax, rsi */
		{ 2, 0x9c, 0x9d },			/* pushfq; popfq */
		{ 3, 0x48, 0xd1, 0xef },		/* shr rdi, 1 */
		{ 4, 0x48, 0xc1, 0xe9, 0x05 },		/* shr rcx, 5 */
	};
	static struct jd_prog pg;
	int bad = 0;

	for (unsigned k = 0; k < sizeof(tails) / sizeof(tails[0]) + 2; k++) {
		uint8_t *c = pg.code;
		unsigned n = 0;
		int32_t d;

		c[n++] = 0xe8;				/* call f */
		d = 1;
		memcpy(c + n, &d, 4);
		n += 4;
		c[n++] = 0xf4;				/* hlt */
		memcpy(c + n, adds, sizeof(adds));
		n += sizeof(adds);
		if (k < sizeof(tails) / sizeof(tails[0])) {
			memcpy(c + n, tails[k] + 1, tails[k][0]);
			n += tails[k][0];
			memcpy(c + n, adds, sizeof(adds));
			n += sizeof(adds);
			c[n++] = 0xc3;			/* ret */
		} else {
			/* lea r12, [rip - to the hlt]; jmp r12 / call r12 */
			c[n++] = 0x4c;
			c[n++] = 0x8d;
			c[n++] = 0x25;
			d = 5 - (int32_t)(n + 4);
			memcpy(c + n, &d, 4);
			n += 4;
			c[n++] = 0x41;
			c[n++] = 0xff;
			c[n++] = k == sizeof(tails) / sizeof(tails[0]) ? 0xe4 :
								       0xd4;
		}
		pg.len = n;
		pg.base = EMU_TEST_CODE;
		for (int seed = 1; seed <= 16; seed++) {
			struct jd_rand r = { .seed = 0x3243f6a8ULL * seed + k };
			char why[200];

			if (jd_compare(&pg, &r, why, sizeof(why), NULL, NULL) &&
			    bad++ < 5)
				printf("  tail %u, seed %d: %s\n", k, seed, why);
		}
	}
	CHECK_EQ(bad, 0);
}

/*
 * A loop that reads RBX, RSI and R8 once each time round: its block
 * keeps them in host registers, with those it changes (fails when a
 * register needed two uses, as it did: each round loaded them from
 * cpu->gpr), and the loop runs as without the translator.
 */
static void test_jit_kept_loop_regs(void)
{
	static const uint8_t code[] = {
		0x48, 0x01, 0xd8,		/* L: add rax, rbx */
		0x48, 0x01, 0xf1,		/* add rcx, rsi */
		0x4d, 0x01, 0xc3,		/* add r11, r8 */
		0xff, 0xcf,			/* dec edi */
		0x75, 0xf3,			/* jnz L */
		0xf4,				/* hlt */
	};
	static uint8_t page[4096] __attribute__((aligned(4096)));
	uint16_t kept, want = 1u << R_AX | 1u << R_BX | 1u << R_CX |
			      1u << R_SI | 1u << 8 | 1u << 11 | 1u << R_DI;
	struct emu_test *t = emu_test_init64();

	memcpy(page, code, sizeof(code));
	kept = jit_gen_kept(page, page + sizeof(page), EMU_TEST_CODE);
	printf("  kept %#x of %#x\n", kept, want);
	CHECK_EQ(kept & want, want);
	jit_on(t);
	t->cpu.gpr[R_AX] = t->cpu.gpr[R_CX] = t->cpu.gpr[11] = 0;
	t->cpu.gpr[R_BX] = 3;
	t->cpu.gpr[R_SI] = 5;
	t->cpu.gpr[8] = 7;
	t->cpu.gpr[R_DI] = 1000;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_AX], 3000);
	CHECK_EQ(t->cpu.gpr[R_CX], 5000);
	CHECK_EQ(t->cpu.gpr[11], 7000);
	CHECK(jit_stat_insns(t->cpu.jit) > 2000);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * Forms that work on cpu->gpr (XCHG, XADD, CMPXCHG of bytes) with AH..BH
 * of registers the block keeps in host ones: each must see the ADDs
 * before it and the ADDs after it its result (fails when the block does
 * not store RAX..RBX around a form naming AH..BH as 4..7).
 */
static void test_jit_cached_high_byte(void)
{
	static const uint8_t progs[][32] = {
		{ 0x48, 0x83, 0xc0, 0x01,		/* add rax, 1 */
		  0x48, 0x83, 0xc0, 0x02,		/* add rax, 2 */
		  0x86, 0xe1,				/* xchg cl, ah */
		  0x48, 0x83, 0xc0, 0x03,		/* add rax, 3 */
		  0x48, 0x01, 0xc8,			/* add rax, rcx */
		  0xf4 },
		{ 0x48, 0x83, 0xc3, 0x05,		/* add rbx, 5 */
		  0x48, 0xff, 0xc3,			/* inc rbx */
		  0x0f, 0xc0, 0xfa,			/* xadd dl, bh */
		  0x48, 0x83, 0xc3, 0x07,		/* add rbx, 7 */
		  0x48, 0x01, 0xd3,			/* add rbx, rdx */
		  0xf4 },
		{ 0x48, 0x83, 0xc1, 0x09,		/* add rcx, 9 */
		  0x48, 0x83, 0xc0, 0x01,		/* add rax, 1 */
		  0x48, 0x01, 0xc1,			/* add rcx, rax */
		  0x0f, 0xb0, 0xea,			/* cmpxchg dl, ch */
		  0x48, 0x83, 0xc1, 0x02,		/* add rcx, 2 */
		  0x48, 0x01, 0xc1,			/* add rcx, rax */
		  0xf4 },
	};
	static struct jd_prog pg;
	int bad = 0;

	for (unsigned p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
		memset(pg.code, 0, sizeof(pg.code));
		memcpy(pg.code, progs[p], sizeof(progs[p]));
		pg.len = sizeof(progs[p]);
		for (int seed = 1; seed <= 16; seed++) {
			struct jd_rand r = { .seed = 0x3c6ef372ULL * seed };
			char why[200];

			if (jd_compare(&pg, &r, why, sizeof(why), NULL,
				       NULL) && bad++ < 5)
				printf("  program %u, seed %d: %s\n", p, seed,
				       why);
		}
	}
	CHECK_EQ(bad, 0);
}

/*
 * The guest flags from block to block (jit_gen.h: in AL/AH, not in
 * cpu->jit_flags): each program sets them in one block and reads them
 * first thing in the next, by each way one block goes on to another.
 * Run by the interpreter and the translator from random registers; the
 * flags read must be the ones set (ADC/SBB/SETO add them up).
 */
struct flags_case {
	const char *what;
	uint64_t base;
	size_t len;
	uint8_t code[0x110];
};

static const struct flags_case flags_cases[] = {
	{ "a chained jump", EMU_TEST_CODE, 29, {
		0xb9, 0x59, 0x02, 0x00, 0x00,		/* mov ecx, 601 */
		0x81, 0xc2, 0xb9, 0x79, 0x37, 0x9e,	/* L: add edx, K */
		0xeb, 0x00,				/* jmp M */
		0x83, 0xd7, 0x00,			/* M: adc edi, 0 */
		0x0f, 0x90, 0xc0,			/* seto al */
		0x0f, 0xb6, 0xc0,			/* movzx eax, al */
		0x01, 0xc6,				/* add esi, eax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe9,				/* jnz L */
		0xf4 } },				/* hlt */
	/*
	 * F's RET to two call sites in turn (the exits' table by RIP), a
	 * CALL through a register, CALLs to another page (and the loop's
	 * blocks near its page's end)
	 */
	{ "calls and returns", EMU_TEST_CODE + 0xf00, 0x10e, {
		0xb9, 0x4d, 0x01, 0x00, 0x00,		/* mov ecx, 333 */
		0x48, 0x8d, 0x1d, 0xfb, 0x00, 0x00, 0x00, /* lea rbx, [G] */
		0xe8, 0xef, 0x00, 0x00, 0x00,		/* L: call F */
		0x83, 0xd7, 0x00,			/* adc edi, 0 */
		0xe8, 0xe7, 0x00, 0x00, 0x00,		/* call F */
		0x83, 0xde, 0x00,			/* sbb esi, 0 */
		0xff, 0xd3,				/* call rbx */
		0x83, 0xd5, 0x00,			/* adc ebp, 0 */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe7,				/* jnz L */
		0xf4,					/* hlt */
		[0x100] = 0x81, 0xc2, 0xb9, 0x79, 0x37, 0x9e, /* F: add edx, K */
		0xc3,					/* ret */
		0x81, 0xea, 0x15, 0x7c, 0x4a, 0x7f,	/* G: sub edx, K2 */
		0xc3 } },				/* ret */
	/* an instruction left to the interpreter, then a block from jit_run */
	{ "the interpreter's RCL", EMU_TEST_CODE, 29, {
		0xb9, 0x59, 0x02, 0x00, 0x00,		/* mov ecx, 601 */
		0x81, 0xc2, 0xb9, 0x79, 0x37, 0x9e,	/* L: add edx, K */
		0xd1, 0xd2,				/* rcl edx, 1 */
		0x83, 0xd7, 0x00,			/* adc edi, 0 */
		0x0f, 0x90, 0xc0,			/* seto al */
		0x0f, 0xb6, 0xc0,			/* movzx eax, al */
		0x01, 0xc6,				/* add esi, eax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe9,				/* jnz L */
		0xf4 } },				/* hlt */
	/*
	 * M is rewritten each round, between ADD (the flags dead at its
	 * entry) and ADC (CF read): the chained jump goes into its old
	 * block, stale (back to jit_run), then into the new one (its slot
	 * pointed there: jit_rechain). CF is 0 at the store (which leaves
	 * for the interpreter) and 1 at the JMP.
	 */
	{ "a rewritten block", EMU_TEST_CODE, 43, {
		0xb9, 0x59, 0x02, 0x00, 0x00,		/* mov ecx, 601 */
		0x31, 0xc0,				/* L: xor eax, eax */
		0x89, 0xca,				/* mov edx, ecx */
		0x83, 0xe2, 0x01,			/* and edx, 1 */
		0xc1, 0xe2, 0x04,			/* shl edx, 4 */
		0x81, 0xc2, 0xc7, 0x00, 0x00, 0x00,	/* add edx, 0xc7 */
		0x88, 0x15, 0x06, 0x00, 0x00, 0x00,	/* mov [M + 1], dl */
		0x83, 0xf8, 0x01,			/* cmp eax, 1 */
		0xeb, 0x00,				/* jmp M */
		0x83, 0xc7, 0x00,			/* M: add/adc edi, 0 */
		0x83, 0xd6, 0x00,			/* adc esi, 0 */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xdb,				/* jnz L */
		0xf4 } },				/* hlt */
	/* a CALL to its own block's start: on without jit_run, or far_out */
	{ "a call to its own start", EMU_TEST_CODE, 24, {
		0xb9, 0x59, 0x02, 0x00, 0x00,		/* mov ecx, 601 */
		0x83, 0xd7, 0x00,			/* L: adc edi, 0 */
		0x81, 0xc2, 0xb9, 0x79, 0x37, 0x9e,	/* add edx, K */
		0xff, 0xc9,				/* dec ecx */
		0x74, 0x05,				/* jz H */
		0xe8, 0xee, 0xff, 0xff, 0xff,		/* call L */
		0xf4 } },				/* H: hlt */
	/* M's first load misses the soft TLB (a new page each round) */
	{ "a miss exit first", EMU_TEST_CODE, 31, {
		0xb9, 0x59, 0x02, 0x00, 0x00,		/* mov ecx, 601 */
		0x41, 0x89, 0xc8,			/* L: mov r8d, ecx */
		0x41, 0xc1, 0xe0, 0x09,			/* shl r8d, 9 */
		0x81, 0xc2, 0xb9, 0x79, 0x37, 0x9e,	/* add edx, K */
		0xeb, 0x00,				/* jmp M */
		0x43, 0x8b, 0x04, 0x07,			/* M: mov eax, [r15 + r8] */
		0x11, 0xc7,				/* adc edi, eax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe7,				/* jnz L */
		0xf4 } },				/* hlt */
};

static void test_jit_flags_handoff(void)
{
	static struct jd_prog pg;
	int bad = 0;

	for (unsigned c = 0; c < sizeof(flags_cases) / sizeof(flags_cases[0]); c++) {
		const struct flags_case *fc = &flags_cases[c];
		uint64_t jit_insns = 0;

		memset(pg.code, 0, sizeof(pg.code));
		memcpy(pg.code, fc->code, fc->len);
		pg.len = fc->len;
		pg.base = fc->base;
		for (int seed = 1; seed <= 32; seed++) {
			struct jd_rand r = { .seed = 0x6a09e667ULL * seed };
			char why[200];

			if (jd_compare(&pg, &r, why, sizeof(why), &jit_insns,
				       NULL) && bad++ < 5)
				printf("  %s, seed %d: %s\n", fc->what, seed,
				       why);
		}
		printf("  %s: %llu instructions translated\n", fc->what,
		       (unsigned long long)jit_insns);
		CHECK(jit_insns > 32 * 1000ULL);
	}
	CHECK_EQ(bad, 0);
}

/* A loop that increments the immediate of its own ADD each time */
static void test_jit_self_modifying(void)
{
	static const uint8_t code[] = {
		0xb9, 0x0a, 0x00, 0x00, 0x00,		/* mov ecx, 10 */
		0x83, 0xc2, 0x01,			/* L: add edx, 1 */
		0xfe, 0x05, 0xf9, 0xff, 0xff, 0xff,	/* inc byte [rip-7] */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf3,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();

	jit_on(t);
	t->cpu.gpr[R_DX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 55);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK(jit_stat_insns(t->cpu.jit) > 0);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * A function of 13 ADDs and a RET, in another page, called 50 times; its
 * last ADD (in the block's second decode-cache chunk, which the block
 * compares with memory only when it gets there) is patched after the
 * 26th call: the calls after it must add 5 there, not 1.
 */
static void test_jit_chunk_stale(void)
{
	static const uint8_t code[] = {
		0xb9, 0x32, 0x00, 0x00, 0x00,		/* mov ecx, 50 */
		0xe8, 0xf6, 0x0f, 0x00, 0x00,		/* L: call F */
		0x83, 0xf9, 0x19,			/* cmp ecx, 25 */
		0x75, 0x07,				/* jne N */
		0xc6, 0x05, 0x1d, 0x10, 0x00, 0x00, 0x05, /* mov byte [F+51], 5 */
		0xff, 0xc9,				/* N: dec ecx */
		0x75, 0xeb,				/* jnz L */
		0xf4,					/* hlt */
	};
	static const uint8_t add1[] = { 0x48, 0x83, 0xc2, 0x01 };
	struct emu_test *t = emu_test_init64();
	uint8_t *f = emu_test_ptr(t, EMU_TEST_CODE + 0x1000);

	for (int i = 0; i < 13; i++)
		memcpy(f + 4 * i, add1, sizeof(add1));	/* add rdx, 1 */
	f[52] = 0xc3;					/* ret */
	jit_on(t);
	t->cpu.gpr[R_DX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 26 * 13 + 24 * 17);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK(jit_stat_insns(t->cpu.jit) > 500);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * The flags at a later chunk's stale exit: F is 11 ADDs and BT ESI, 3
 * (CF = 1), then, in the block's second chunk, CMP EBX, ECX (which sets
 * every flag: the BT's are dead before it) and RET. After the 26th call
 * the CMP becomes two NOPs: the next call's block runs its first chunk,
 * finds the second changed and leaves for the interpreter, whose SETC
 * after the RET must see the BT's carry. The liveness pass did not count
 * the chunk's check as reading the flags, so the BT was left out and
 * the exit stored the ADDs' CF = 0 (23 calls counted instead of 24).
 */
static void test_jit_chunk_stale_flags(void)
{
	static const uint8_t code[] = {
		0xb9, 0x32, 0x00, 0x00, 0x00,		/* mov ecx, 50 */
		0xe8, 0xf6, 0x0f, 0x00, 0x00,		/* L: call F */
		0x0f, 0x92, 0xc0,			/* setc al */
		0x0f, 0xb6, 0xc0,			/* movzx eax, al */
		0x01, 0xc7,				/* add edi, eax */
		0x83, 0xf9, 0x19,			/* cmp ecx, 25 */
		0x75, 0x09,				/* jne N */
		0x66, 0xc7, 0x05, 0x10, 0x10, 0x00, 0x00,
		0x90, 0x90,			/* mov word [F+48], 0x9090 */
		0xff, 0xc9,				/* N: dec ecx */
		0x75, 0xe1,				/* jnz L */
		0xf4,					/* hlt */
	};
	static const uint8_t add1[] = { 0x48, 0x83, 0xc2, 0x01 };
	static const uint8_t tail[] = {
		0x0f, 0xba, 0xe6, 0x03,			/* bt esi, 3 */
		0x39, 0xcb, 0x90, 0x90,			/* cmp ebx, ecx */
		0xc3,					/* ret */
	};
	struct emu_test *t = emu_test_init64();
	uint8_t *f = emu_test_ptr(t, EMU_TEST_CODE + 0x1000);

	for (int i = 0; i < 11; i++)
		memcpy(f + 4 * i, add1, sizeof(add1));	/* add rdx, 1 */
	memcpy(f + 44, tail, sizeof(tail));
	jit_on(t);
	t->cpu.gpr[R_DX] = t->cpu.gpr[R_DI] = 0;
	t->cpu.gpr[R_SI] = 8;
	t->cpu.gpr[R_BX] = 0x7fffffff;		/* the CMP: no borrow */
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], 50 * 11);
	CHECK_EQ(t->cpu.gpr[R_DI], 24);
	CHECK(jit_stat_insns(t->cpu.jit) > 500);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/* n ADD EAX, 1 at code, then DEC ECX and JNZ back to code: its length */
static size_t long_loop(uint8_t *code, int n)
{
	size_t at = 0;
	int32_t rel;

	for (int i = 0; i < n; i++) {
		code[at++] = 0x83;			/* add eax, 1 */
		code[at++] = 0xc0;
		code[at++] = 0x01;
	}
	code[at++] = 0xff;				/* dec ecx */
	code[at++] = 0xc9;
	code[at++] = 0x0f;				/* jnz code (rel32) */
	code[at++] = 0x85;
	rel = -(int32_t)(at + 4);
	memcpy(&code[at], &rel, 4);
	return at + 4;
}

/*
 * A loop of 37 instructions (35 ADDs, DEC, JNZ) is one block that jumps
 * back to its own start, not a block of 36 chained to one of the JNZ and
 * back: three blocks are made (the MOV and the first round's 35 ADDs,
 * DEC and JNZ after them, the loop), not four.
 */
static void test_jit_long_loop(void)
{
	uint8_t code[256];
	struct emu_test *t = emu_test_init64();
	size_t n;

	code[0] = 0xb9;					/* mov ecx, 1000 */
	code[1] = 0xe8;
	code[2] = 0x03;
	code[3] = code[4] = 0;
	n = 5 + long_loop(code + 5, 35);
	code[n++] = 0xf4;				/* hlt */
	jit_on(t);
	t->cpu.gpr[R_AX] = 0;
	emu_test_run(t, code, n);
	CHECK(t->cpu.halted);
	CHECK_EQ(t->cpu.gpr[R_AX], 35 * 1000);
	printf("  %llu blocks made, %llu instructions translated\n",
	       (unsigned long long)jit_stat_made(t->cpu.jit),
	       (unsigned long long)jit_stat_insns(t->cpu.jit));
	CHECK_EQ(jit_stat_made(t->cpu.jit), 3);
	CHECK(jit_stat_insns(t->cpu.jit) > 36000);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * That loop as a function in another page, called twice; between the
 * calls its 31st ADD (in the block's third chunk) becomes ADD EAX, 2.
 * The loop's entry compares every chunk up to its jump back (they have
 * no check of their own), so the second call runs the new code: fails
 * when a loop's later chunks are compared neither at its entry nor
 * where its code gets to them.
 */
static void test_jit_long_loop_stale(void)
{
	static const uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00,		/* mov ecx, 100 */
		0xe8, 0xf6, 0x0f, 0x00, 0x00,		/* call F */
		0xc6, 0x04, 0x25, 0x5c, 0x10, 0x10, 0x00, 0x02,
							/* mov byte [F+92], 2 */
		0xb9, 0x64, 0x00, 0x00, 0x00,		/* mov ecx, 100 */
		0xe8, 0xe4, 0x0f, 0x00, 0x00,		/* call F */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();
	uint8_t *f = emu_test_ptr(t, EMU_TEST_CODE + 0x1000);
	size_t n = long_loop(f, 35);

	f[n] = 0xc3;					/* ret */
	jit_on(t);
	t->cpu.gpr[R_AX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(f[92], 2);
	CHECK_EQ(t->cpu.gpr[R_AX], 35 * 100 + 36 * 100);
	CHECK(jit_stat_insns(t->cpu.jit) > 5000);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * A block chained into from the loop's start is patched once, halfway:
 * it is made again, and the chained jump goes to the new block; it went
 * on to the old one, whose byte check sent it back as stale, on every
 * pass until the cache's next flush.
 */
static void test_jit_stale_rechain(void)
{
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x83, 0xc2, 0x01,			/* L: add edx, 1 */
		0xeb, 0x00,				/* jmp M */
		0x83, 0xc3, 0x01,			/* M: add ebx, 1 */
		0x81, 0xf9, 0xf4, 0x01, 0x00, 0x00,	/* cmp ecx, 500 */
		0x75, 0x07,				/* jne N */
		0xc6, 0x05, 0xf0, 0xff, 0xff, 0xff, 0x02, /* mov byte [M+2], 2 */
		0xff, 0xc9,				/* N: dec ecx */
		0x75, 0xe5,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();

	jit_on(t);
	t->cpu.gpr[R_DX] = t->cpu.gpr[R_BX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 1000);
	CHECK_EQ(t->cpu.gpr[R_BX], 501 + 499 * 2);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK(jit_stat_insns(t->cpu.jit) > 2000);
	printf("  %llu entries into stale blocks\n",
	       (unsigned long long)jit_stat_stale(t->cpu.jit));
	CHECK(jit_stat_stale(t->cpu.jit) <= 4);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * Two blocks chained into from the loop are patched in the same pass,
 * and are made again only on later asks (as outside the tests): the
 * second one found stale is what jit_run remembers when the first one's
 * new block is entered, and the chained jump to the first's old code was
 * then left as it was, back to jit_run as stale on every later pass (490
 * times here; a Debian boot had 190,000 such returns, 45,000 for one
 * block).
 */
static void test_jit_stale_rechain_two(void)
{
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x83, 0xc2, 0x01,			/* L: add edx, 1 */
		0xeb, 0x00,				/* jmp M */
		0x83, 0xc3, 0x01,			/* M: add ebx, 1 */
		0xeb, 0x00,				/* jmp K */
		0x83, 0xc6, 0x01,			/* K: add esi, 1 */
		0x81, 0xf9, 0xf4, 0x01, 0x00, 0x00,	/* cmp ecx, 500 */
		0x75, 0x0e,				/* jne N */
		0xc6, 0x05, 0xeb, 0xff, 0xff, 0xff, 0x02, /* mov byte [M+2], 2 */
		0xc6, 0x05, 0xe9, 0xff, 0xff, 0xff, 0x03, /* mov byte [K+2], 3 */
		0xff, 0xc9,				/* N: dec ecx */
		0x75, 0xd9,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();

	if (!t->cpu.dcache) {
		emu_test_free(t);
		SKIP("EMU_TEST_NO_DCACHE: the later asks are the decode cache's");
		return;
	}
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	t->cpu.gpr[R_DX] = t->cpu.gpr[R_BX] = t->cpu.gpr[R_SI] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 1000);
	CHECK_EQ(t->cpu.gpr[R_BX], 501 + 499 * 2);
	CHECK_EQ(t->cpu.gpr[R_SI], 501 + 499 * 3);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK(jit_stat_insns(t->cpu.jit) > 2000);
	printf("  %llu entries into stale blocks\n",
	       (unsigned long long)jit_stat_stale(t->cpu.jit));
	CHECK(jit_stat_stale(t->cpu.jit) <= 40);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/*
 * A loop whose instructions end at, and cross, a page's end, at each
 * distance from it: the translator takes those that end in the page
 * (decoding a padded copy of its rest) and leaves the crossing one to
 * the interpreter; registers as without it.
 */
static void test_jit_page_end(void)
{
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x01, 0xc8,				/* L: add eax, ecx */
		0x83, 0xc2, 0x03,			/* add edx, 3 */
		0x31, 0xc3,				/* xor ebx, eax */
		0x48, 0x8d, 0x74, 0x06, 0x01,		/* lea rsi, [rsi+rax+1] */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf0,				/* jnz L */
		0xf4,					/* hlt */
	};
	int bad = 0;
	uint64_t ran = 0;

	for (unsigned d = 1; d <= 24; d++) {
		struct emu_test *a = emu_test_init64(), *b = emu_test_init64();
		uint64_t at = EMU_TEST_CODE + 4096 - d;

		b->cpu.jit = jit_create();
		CHECK(b->cpu.jit != NULL);
		jit_eager(b->cpu.jit);
		emu_test_run_at(a, at, code, sizeof(code));
		emu_test_run_at(b, at, code, sizeof(code));
		for (int r = 0; r < 16; r++)
			bad += a->cpu.gpr[r] != b->cpu.gpr[r];
		bad += a->cpu.rip != b->cpu.rip || a->cpu.rflags != b->cpu.rflags;
		bad += !b->cpu.halted;
		ran += jit_stat_insns(b->cpu.jit);
		jit_destroy(b->cpu.jit);
		b->cpu.jit = NULL;
		emu_test_free(a);
		emu_test_free(b);
	}
	CHECK_EQ(bad, 0);
	/* each loop mostly translated: 24 runs of 6000 instructions */
	CHECK(ran > 24 * 4000);
}

/*
 * An instruction across a page's end runs translated while the TLB maps
 * the next page as when the block was made: a loop whose ADD crosses (at
 * each split of its bytes) stays in translated code, and the loop's own
 * store into the ADD's bytes in the next page, halfway, is seen from the
 * next pass on (the interpreter's result). Before, the crossing
 * instruction left every pass for the interpreter, and a block ending
 * at the page's end left for it too (the next page's first instruction).
 */
static void test_jit_page_cross(void)
{
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x48, 0x8d, 0x3d, 0x0f, 0x00, 0x00, 0x00, /* lea rdi, [imm] */
		0x81, 0xf9, 0xf4, 0x01, 0x00, 0x00,	/* L: cmp ecx, 500 */
		0x75, 0x06,				/* jne S */
		0xc7, 0x07, 0x07, 0x00, 0x00, 0x00,	/* mov dword [rdi], 7 */
		0x05, 0x01, 0x01, 0x01, 0x01,		/* S: add eax, imm */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xe9,				/* jnz L */
		0xf4,					/* hlt */
	};
	int bad = 0;

	/* the ADD's first k bytes in the first page (5: all of it) */
	for (unsigned k = 1; k <= 5; k++) {
		struct emu_test *a = emu_test_init64(), *b = emu_test_init64();
		uint64_t at = EMU_TEST_CODE + 4096 - 26 - k;
		uint64_t ran;

		b->cpu.jit = jit_create();
		CHECK(b->cpu.jit != NULL);
		jit_eager(b->cpu.jit);
		emu_test_run_at(a, at, code, sizeof(code));
		emu_test_run_at(b, at, code, sizeof(code));
		for (int r = 0; r < 16; r++)
			bad += a->cpu.gpr[r] != b->cpu.gpr[r];
		bad += a->cpu.rip != b->cpu.rip || a->cpu.rflags != b->cpu.rflags;
		bad += !b->cpu.halted;
		CHECK_EQ((uint32_t)a->cpu.gpr[R_AX],
			 (uint32_t)(500 * 0x01010101u + 500 * 7));
		ran = jit_stat_insns(b->cpu.jit);
		printf("  ADD with %u of 5 bytes in the first page: %llu of "
		       "%u instructions\n", k,
		       (unsigned long long)ran, 2 + 1000 * 5 + 1 + 1);
		/*
		 * All of the first half of the passes at least (3942 before).
		 * With the ADD's bytes changed only in the next page (k 1),
		 * the block keeps its old copy and leaves the ADD to the
		 * interpreter from then on; else it is made again.
		 */
		CHECK(ran > 500 * 5 + 500 * 3);
		jit_destroy(b->cpu.jit);
		b->cpu.jit = NULL;
		emu_test_free(a);
		emu_test_free(b);
	}
	CHECK_EQ(bad, 0);
}

/*
 * The same far from the page's end: a loop block of 3 decode-cache
 * blocks (31 instructions, 155 bytes) whose last, an ADD, crosses it.
 * Made at its first ask, before the interpreter has filled the next
 * page's TLB entry, it must be judged again once the entry is there (as
 * one starting less than a decode-cache block from the end is), or the
 * ADD stays the interpreter's every pass. The loop is entered by a JMP,
 * so its block is asked for before anything ran in the next page.
 */
static void test_jit_page_cross_long(void)
{
	uint8_t code[5 + 2 + 30 * 5 + 5 + 2 + 6 + 1];
	size_t n = 0;
	int32_t back;

	memcpy(code + n, "\xb9\xe8\x03\x00\x00\xeb\x00", 7);	/* mov ecx, 1000 */
	n += 7;						/* jmp L */
	for (int i = 0; i < 30; i++, n += 5)		/* L: mov esi, 1 */
		memcpy(code + n, "\xbe\x01\x00\x00\x00", 5);
	memcpy(code + n, "\x05\x01\x01\x01\x01", 5);	/* add eax, imm */
	n += 5;
	memcpy(code + n, "\xff\xc9\x0f\x85", 4);		/* dec ecx; jnz L */
	n += 4;
	back = 7 - (int32_t)(n + 4);
	memcpy(code + n, &back, 4);
	n += 4;
	code[n++] = 0xf4;				/* hlt */
	CHECK_EQ(n, sizeof(code));
	for (unsigned k = 1; k <= 4; k++) {
		struct emu_test *a = emu_test_init64(), *b = emu_test_init64();
		uint64_t at = EMU_TEST_CODE + 4096 - 7 - 30 * 5 - k;
		uint64_t ran;

		b->cpu.jit = jit_create();
		CHECK(b->cpu.jit != NULL);
		jit_eager(b->cpu.jit);
		emu_test_run_at(a, at, code, sizeof(code));
		emu_test_run_at(b, at, code, sizeof(code));
		for (int r = 0; r < 16; r++)
			CHECK_EQ(a->cpu.gpr[r], b->cpu.gpr[r]);
		CHECK_EQ(a->cpu.rflags, b->cpu.rflags);
		CHECK(b->cpu.halted);
		CHECK_EQ((uint32_t)b->cpu.gpr[R_AX], 1000 * 0x01010101u);
		ran = jit_stat_insns(b->cpu.jit);
		printf("  ADD with %u of 5 bytes in the first page, 155 bytes "
		       "into its block: %llu of %u instructions\n", k,
		       (unsigned long long)ran, 2 + 1000 * 33 + 1);
		CHECK(ran > 1000 * 33 - 100);
		jit_destroy(b->cpu.jit);
		b->cpu.jit = NULL;
		emu_test_free(a);
		emu_test_free(b);
	}
}

/*
 * A function of 10 ADDs and a RET in another page, called n times from a
 * loop: in the kernel its block is made at its 4th ask (each call asks,
 * as jit_run finds it untranslated), so 3 calls make no block at all
 * (code run a few times, as much of a boot is, costs no translation)
 * and 4 make it (fails when blocks are made at the 2nd or 3rd ask, as
 * before); at CPL 3 at its 2nd (2 calls make it: fails with 4 there,
 * which left busybox's shell loop blocks never made). How many blocks
 * were made.
 */
static unsigned long long hot_calls(uint8_t n, bool user)
{
	const uint8_t code[] = {
		0xb9, n, 0x00, 0x00, 0x00,		/* mov ecx, n */
		0xe8, 0xf6, 0x0f, 0x00, 0x00,		/* L: call F */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf7,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();
	uint8_t *f = emu_test_ptr(t, EMU_TEST_CODE + 0x1000);
	unsigned long long made;

	for (int i = 0; i < 10; i++)
		memcpy(f + 4 * i, "\x48\x83\xc2\x01", 4);	/* add rdx, 1 */
	f[40] = 0xc3;					/* ret */
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	t->cpu.gpr[R_DX] = 0;
	if (user) {		/* its HLT then faults: no TSS, a shutdown */
		t->cpu.seg[SEG_CS].selector = 0x08 | 3;
		t->cpu.seg[SEG_CS].dpl = 3;
		t->cpu.seg[SEG_SS].selector = 0x10 | 3;
		t->cpu.seg[SEG_SS].dpl = 3;
		cpu_update_mode(&t->cpu);
		CHECK_EQ(t->cpu.cpl, 3);
	}
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted || user);
	CHECK_EQ(t->cpu.gpr[R_DX], 10ULL * n);
	made = jit_stat_made(t->cpu.jit);
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
	return made;
}

static void test_jit_hot(void)
{
	unsigned long long three = hot_calls(3, false);
	unsigned long long four = hot_calls(4, false);
	unsigned long long one = hot_calls(1, true), two = hot_calls(2, true);

	printf("  blocks made: %llu with 3 calls, %llu with 4; at CPL 3 %llu "
	       "with 1, %llu with 2\n", three, four, one, two);
	CHECK_EQ(three, 0);
	CHECK(four >= 1);
	CHECK_EQ(one, 0);
	CHECK(two >= 1);
}

/*
 * A block is not decoded by the translator: at its first ask it is
 * judged by the decode cache's block, which the interpreter then runs,
 * and made from that block's entries and bytes. 40 blocks (ADD, JMP to
 * the next) run 4 times, each made at its 4th ask: no decodes (40 when
 * a make decoded, 80 when a judge did too).
 */
static void test_jit_judge_decode(void)
{
	enum { BLOCKS = 40 };
	uint8_t code[BLOCKS * 16 + 32];
	struct emu_test *t = emu_test_init64();
	size_t at = 0;
	int32_t rel;

	if (!t->cpu.dcache) {
		emu_test_free(t);
		SKIP("EMU_TEST_NO_DCACHE: blocks are made from the decode cache's");
		return;
	}
	/* mov ecx, 4; L: 40 x (add eax, 1; jmp +9, padded to 16); dec; jnz */
	code[at++] = 0xb9;
	code[at++] = 4;
	for (int i = 0; i < 3; i++)
		code[at++] = 0;
	for (int i = 0; i < BLOCKS; i++) {
		size_t b = at;

		code[at++] = 0x83;			/* add eax, 1 */
		code[at++] = 0xc0;
		code[at++] = 0x01;
		code[at++] = 0xeb;			/* jmp next */
		code[at++] = 16 - 5;
		while (at < b + 16)
			code[at++] = 0xcc;
	}
	code[at++] = 0xff;				/* dec ecx */
	code[at++] = 0xc9;
	code[at++] = 0x0f;				/* jnz L (rel32) */
	code[at++] = 0x85;
	rel = 5 - (int32_t)(at + 4);
	memcpy(&code[at], &rel, 4);
	at += 4;
	code[at++] = 0xf4;				/* hlt */
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	t->cpu.gpr[R_AX] = 0;
	emu_test_run(t, code, at);
	CHECK_EQ(t->cpu.gpr[R_AX], 4 * BLOCKS);
	CHECK(t->cpu.halted);
	printf("  %llu blocks made, %llu decoded by the translator\n",
	       (unsigned long long)jit_stat_made(t->cpu.jit),
	       (unsigned long long)jit_stat_decodes(t->cpu.jit));
	CHECK(jit_stat_made(t->cpu.jit) >= BLOCKS);
	CHECK_EQ(jit_stat_decodes(t->cpu.jit), 0);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
}

/*
 * A crossing instruction whose next page the guest unmaps after its block
 * was made: the block's check leaves it to the interpreter, whose fetch
 * raises the #PF. The flags at that fault are the interpreter's, AF and
 * OF of a SHL by 3 before it included (the host's SHL leaves AF set),
 * though the ADD that crosses sets all flags and so needs none of them.
 * The code page is mapped by a page table of 4 KiB pages for this.
 */
static void test_jit_page_cross_fault(void)
{
	static const uint8_t code[] = {
		0xb8, 0x0f, 0x00, 0x00, 0x00,		/* mov eax, 15 */
		0x83, 0xc0, 0x01,			/* add eax, 1: AF */
		0xc1, 0xe0, 0x03,			/* shl eax, 3 */
		0x81, 0xc3, 0x01, 0x00, 0x00, 0x00,	/* add ebx, 1 */
		0xf4,					/* hlt */
	};
	const uint64_t pt = 0x30000;
	uint64_t at = EMU_TEST_CODE + 4096 - 11 - 3;
	struct emu_test *c[2];

	for (int jit = 0; jit < 2; jit++) {
		struct emu_test *t = emu_test_init64();

		c[jit] = t;
		for (uint64_t i = 0; i < 512; i++)
			emu_test_w64(t, pt + i * 8, i << 12 | 7);
		emu_test_w64(t, EMU_TEST_PML4 + 0x2000, pt | 7);
		tlb_flush(&t->cpu, true);
		if (jit) {
			jit_on(t);
		}
		/* the interpreter fills the next page's entry, then a block */
		for (int r = 0; r < 3; r++) {
			t->cpu.gpr[R_SP] = EMU_TEST_STACK;
			emu_test_run_at(t, at, code, sizeof(code));
			CHECK(t->cpu.halted);
			CHECK_EQ(t->cpu.rip, at + sizeof(code));
		}
		emu_test_w64(t, pt + ((at >> 12) + 1) * 8, 0);
		tlb_flush_page(&t->cpu, at + 4096);
		t->cpu.gpr[R_SP] = EMU_TEST_STACK;
		emu_test_run_at(t, at, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_PF);
		CHECK_EQ(t->cpu.cr2, (at & ~4095ULL) + 4096);
	}
	if (c[1]->cpu.jit)
		CHECK(jit_stat_insns(c[1]->cpu.jit) > 0);
	CHECK_EQ(c[0]->cpu.rflags, c[1]->cpu.rflags);
	/* the RFLAGS the #PF pushed: RIP, CS, RFLAGS after the error code */
	CHECK_EQ(emu_test_r64(c[0], c[0]->cpu.gpr[R_SP] + 24),
		 emu_test_r64(c[1], c[1]->cpu.gpr[R_SP] + 24));
	CHECK_EQ(emu_test_r64(c[1], c[1]->cpu.gpr[R_SP] + 8), at + 11);
	for (int jit = 0; jit < 2; jit++) {
		jit_destroy(c[jit]->cpu.jit);
		c[jit]->cpu.jit = NULL;
		emu_test_free(c[jit]);
	}
}

/*
 * CMPXCHG r32, r32 as this host's CPU does it: when equal the destination
 * is written (its upper half zeroed) and RAX kept; when unequal RAX gets
 * it zero-extended and the destination is not written at all (its upper
 * half stays). Interpreter and translator against the host.
 */
static void test_jit_cmpxchg_reg(void)
{
	static const uint8_t code[] = {
		0x48, 0xb9, 0x01, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* mov rcx, */
		0x48, 0xb8, 0x02, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa, /* mov rax, */
		0x48, 0xba, 0x05, 0, 0, 0, 0xbb, 0xbb, 0xbb, 0xbb, /* mov rdx, */
		0x0f, 0xb1, 0xd1,			/* cmpxchg ecx, edx */
		0x49, 0x89, 0xc8,			/* mov r8, rcx */
		0x49, 0x89, 0xc1,			/* mov r9, rax */
		0x48, 0xb9, 0x01, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* mov rcx, */
		0x48, 0xb8, 0x01, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa, /* mov rax, */
		0x0f, 0xb1, 0xd1,			/* cmpxchg ecx, edx */
		0xf4,					/* hlt */
	};
	uint64_t c1 = 0xffffffff00000001ULL, a1 = 0xaaaaaaaa00000002ULL;
	uint64_t c2 = 0xffffffff00000001ULL, a2 = 0xaaaaaaaa00000001ULL;
	uint64_t d = 0xbbbbbbbb00000005ULL;

	__asm__ volatile("cmpxchg %%edx, %%ecx" : "+c"(c1), "+a"(a1)
			 : "d"(d) : "cc");
	__asm__ volatile("cmpxchg %%edx, %%ecx" : "+c"(c2), "+a"(a2)
			 : "d"(d) : "cc");
	for (int jit = 0; jit < 2; jit++) {
		struct emu_test *t = emu_test_init64();

		if (jit) {
			jit_on(t);
		}
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(t->cpu.gpr[8], c1);
		CHECK_EQ(t->cpu.gpr[9], a1);
		CHECK_EQ(t->cpu.gpr[R_CX], c2);
		CHECK_EQ(t->cpu.gpr[R_AX], a2);
		CHECK(t->cpu.halted);
		if (jit) {
			CHECK(jit_stat_insns(t->cpu.jit) >= 8);
			jit_destroy(t->cpu.jit);
			t->cpu.jit = NULL;
		}
		emu_test_free(t);
	}
}

/*
 * A LOCK ADD across a cache line is left to the interpreter (on the host
 * it would be a split lock); one within a line runs translated. Both
 * count right.
 */
static void test_jit_split_lock(void)
{
	static const uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00,		/* mov ecx, 100 */
		0xf0, 0x83, 0x07, 0x01,			/* L: lock add dword [rdi], 1 */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf8,				/* jnz L */
		0xf4,					/* hlt */
	};
	uint64_t ran[2];

	for (int split = 0; split < 2; split++) {
		struct emu_test *t = emu_test_init64();
		uint64_t at = EMU_TEST_DATA + 64 + (split ? 62 : 60);
		uint32_t v;

		jit_on(t);
		t->cpu.gpr[R_DI] = at;
		emu_test_run(t, code, sizeof(code));
		memcpy(&v, emu_test_ptr(t, at), 4);
		CHECK_EQ(v, 100);
		CHECK(t->cpu.halted);
		ran[split] = jit_stat_insns(t->cpu.jit);
		jit_destroy(t->cpu.jit);
		t->cpu.jit = NULL;
		emu_test_free(t);
	}
	/* the loop's 300 instructions, less a LOCK ADD an iteration */
	CHECK(ran[0] >= 250);
	CHECK(ran[1] <= ran[0] - 90);
}

/*
 * Two blocks 8 MiB apart that jump to each other through a register
 * (each is looked up by jit_run every time): their host addresses fall
 * in the same set of the block table. Both stay translated: made once
 * each, not again on every jump (as when they pushed each other out).
 */
static void test_jit_table_conflict(void)
{
	static const uint8_t code[] = {
		0xb9, 0x10, 0x27, 0x00, 0x00,		/* mov ecx, 10000 */
		0xb8, 0x00, 0x01, 0x10, 0x00,		/* mov eax, A */
		0xff, 0xe0,				/* jmp rax */
	};
	static const uint8_t a[] = {
		0x48, 0xff, 0xc2,			/* A: inc rdx */
		0x48, 0xff, 0xc2,			/* inc rdx */
		0xb8, 0x00, 0x01, 0x90, 0x00,		/* mov eax, B */
		0xff, 0xe0,				/* jmp rax */
	};
	static const uint8_t b[] = {
		0x48, 0xff, 0xc2,			/* B: inc rdx */
		0xff, 0xc9,				/* dec ecx */
		0x74, 0x07,				/* jz H */
		0xb8, 0x00, 0x01, 0x10, 0x00,		/* mov eax, A */
		0xff, 0xe0,				/* jmp rax */
		0xf4,					/* H: hlt */
	};
	struct emu_test *t = emu_test_init64();

	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	memcpy(emu_test_ptr(t, 0x100100), a, sizeof(a));
	memcpy(emu_test_ptr(t, 0x900100), b, sizeof(b));
	t->cpu.gpr[R_DX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 30000);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK(jit_stat_insns(t->cpu.jit) > 50000);
	CHECK(jit_stat_made(t->cpu.jit) < 50);
	printf("  %llu blocks made, %llu instructions translated\n",
	       (unsigned long long)jit_stat_made(t->cpu.jit),
	       (unsigned long long)jit_stat_insns(t->cpu.jit));
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

/* No mapping of the process is writable and executable */
static void test_jit_wx(void)
{
	static const uint8_t code[] = {
		0xb9, 0x00, 0x10, 0x00, 0x00,		/* mov ecx, 4096 */
		0x48, 0x01, 0xc8,			/* L: add rax, rcx */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf9,				/* jnz L */
		0xf4,
	};
	struct emu_test *t = emu_test_init64();
	uintptr_t lo, hi;
	char line[512];
	int wx = 0, x = 0;
	FILE *f;

	t->cpu.jit = jit_create();
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_AX], 4096ULL * 4097 / 2);
	/* published without jit_eager: the loop's block ran translated */
	CHECK(jit_stat_insns(t->cpu.jit) > 4096);
	jit_arena_range(&lo, &hi);
	f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) != 3)
			continue;
		if (perm[1] == 'w' && perm[2] == 'x')
			wx++;
		if (a >= lo && b <= hi && perm[2] == 'x')
			x++;
	}
	if (f)
		fclose(f);
	CHECK_EQ(wx, 0);
	CHECK(x > 0);		/* the code it ran is there, executable */
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

static void *lock_vcpu(void *arg)
{
	struct emu_cpu *c = arg;

	for (int i = 0; i < 100000 && !c->halted && !c->error[0]; i++)
		cpu_run_batch(c, 10000, NULL);
	return NULL;
}

/*
 * Two vCPUs as threads, as the VMM runs them, add to the same counters
 * with LOCK ADD, LOCK INC and LOCK XADD in translated code: no increment
 * may be lost (the host's LOCKed instructions on guest memory).
 */
static void test_jit_lock_atomic(void)
{
	enum { N = 3000000 };
	static const uint8_t code[] = {
		0xb9, N & 0xff, (N >> 8) & 0xff, N >> 16, 0,	/* mov ecx, N */
		0xf0, 0x49, 0x83, 0x07, 0x01,	/* lock add qword [r15], 1 */
		0xf0, 0x49, 0xff, 0x47, 0x08,	/* lock inc qword [r15+8] */
		0xb8, 1, 0, 0, 0,		/* mov eax, 1 */
		0xf0, 0x41, 0x0f, 0xc1, 0x47, 0x10,	/* lock xadd [r15+16], eax */
		0xff, 0xc9,			/* dec ecx */
		0x75, 0xe7,			/* jnz to the lock add */
		0xf4,				/* hlt */
	};
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c2 = malloc(sizeof(*c2));
	pthread_t th;

	CHECK(c2 != NULL);
	memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
	memset(emu_test_ptr(t, EMU_TEST_DATA), 0, 24);
	t->cpu.rip = EMU_TEST_CODE;
	t->cpu.gpr[15] = EMU_TEST_DATA;
	*c2 = t->cpu;
	c2->dcache = dcache_create();
	t->cpu.jit = jit_create();
	c2->jit = jit_create();
	CHECK(t->cpu.jit && c2->jit);
	CHECK_EQ(pthread_create(&th, NULL, lock_vcpu, c2), 0);
	lock_vcpu(&t->cpu);
	pthread_join(th, NULL);
	CHECK(t->cpu.halted && c2->halted);
	CHECK_EQ(emu_test_r64(t, EMU_TEST_DATA), 2ULL * N);
	CHECK_EQ(emu_test_r64(t, EMU_TEST_DATA + 8), 2ULL * N);
	CHECK_EQ(emu_test_r64(t, EMU_TEST_DATA + 16) & 0xffffffff, 2ULL * N);
	/* the loops ran translated, not in the interpreter */
	CHECK(jit_stat_insns(t->cpu.jit) > N && jit_stat_insns(c2->jit) > N);
	jit_destroy(c2->jit);
	dcache_destroy(c2->dcache);
	free(c2);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
}

/*
 * A loop of the SSE that busybox's awk and glibc's string functions run
 * (CVTSI2SD, MULSD, ADDSD, UCOMISD, PUNPCKLBW, PSHUFD, PCMPEQB,
 * PMOVMSKB) gives the interpreter's registers and flags when translated,
 * runs translated with the default MXCSR, and with another rounding
 * mode leaves its floating point to the interpreter (the translator's
 * floating point is only for the default MXCSR).
 */
static void sse_loop(uint32_t mxcsr, bool jit, struct emu_cpu *out,
		     uint64_t *translated)
{
	enum { N = 5000 };	/* emu_test_run stops at 100,000 */
	static const uint8_t code[] = {
		0xb9, N & 0xff, N >> 8, 0, 0,		/* mov ecx, N */
		0xf2, 0x0f, 0x2a, 0xc1,			/* cvtsi2sd xmm0, ecx */
		0xf2, 0x0f, 0x59, 0xc1,			/* mulsd xmm0, xmm1 */
		0xf2, 0x0f, 0x58, 0xd0,			/* addsd xmm2, xmm0 */
		0x66, 0x0f, 0x2e, 0xd1,			/* ucomisd xmm2, xmm1 */
		0x66, 0x0f, 0x60, 0xdb,			/* punpcklbw xmm3, xmm3 */
		0x66, 0x0f, 0x70, 0xdb, 0x1b,		/* pshufd xmm3, xmm3, 1bh */
		0x66, 0x0f, 0x74, 0xe3,			/* pcmpeqb xmm4, xmm3 */
		0x66, 0x0f, 0xd7, 0xc4,			/* pmovmskb eax, xmm4 */
		0x01, 0xc2,				/* add edx, eax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xd9,				/* jnz to the cvtsi2sd */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();

	if (jit) {
		t->cpu.jit = jit_create();
		CHECK(t->cpu.jit != NULL);
	}
	t->cpu.mxcsr = mxcsr;
	t->cpu.xmm[1].q[0] = 0x3fe0000000000000ULL;	/* 0.5 */
	t->cpu.xmm[3].q[0] = 0x8000ff0102037f80ULL;
	t->cpu.xmm[4].q[1] = 0x00ff00ff00ff00ffULL;
	t->cpu.gpr[R_DX] = 0;
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	*out = t->cpu;
	*translated = jit ? jit_stat_insns(t->cpu.jit) : 0;
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
}

/*
 * FNSTCW m16 (D9 /7), which glibc's printf runs for every double (busybox
 * seq): in a loop it runs translated, storing the guest's FCW (2 bytes,
 * the next ones kept) as the interpreter does, also across a page end
 * and with an FCW whose unmasked exception is pending (no wait).
 */
static void fnstcw_loop(bool jit, uint16_t fcw, int32_t at,
			struct emu_test **out)
{
	enum { N = 3000 };
	uint8_t code[] = {
		0xb9, N & 0xff, N >> 8, 0, 0,		/* mov ecx, N */
		0x41, 0xd9, 0x7c, 0x4f, 0x00,		/* fnstcw [r15+rcx*2+0] */
		0x41, 0xd9, 0xbf, 0, 0, 0, 0,		/* fnstcw [r15+at] */
		0xff, 0xc2,				/* inc edx */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xee,				/* jnz to the first fnstcw */
		0xf4,					/* hlt */
	};
	struct emu_test *t = emu_test_init64();

	memcpy(code + 13, &at, 4);
	if (jit) {
		t->cpu.jit = jit_create();
		CHECK(t->cpu.jit != NULL);
	}
	t->cpu.fcw = fcw;
	t->cpu.fsw = 0x0081;	/* IE pending with ES: no #MF (no wait) */
	t->cpu.gpr[15] = EMU_TEST_DATA;
	memset(emu_test_ptr(t, EMU_TEST_DATA), 0xa5, 0x3000);
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_DX], N);
	*out = t;
}

static void test_jit_fnstcw(void)
{
	static const int32_t at[] = { 0x1ffc, 0x1fff, 0x2ffd };

	for (unsigned k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		struct emu_test *ref, *t;
		uint64_t n;

		fnstcw_loop(false, 0x0362, at[k], &ref);
		fnstcw_loop(true, 0x0362, at[k], &t);
		n = jit_stat_insns(t->cpu.jit);
		CHECK(!memcmp(emu_test_ptr(ref, EMU_TEST_DATA),
			      emu_test_ptr(t, EMU_TEST_DATA), 0x3000));
		CHECK_EQ(*(uint16_t *)emu_test_ptr(t, EMU_TEST_DATA + 2), 0x0362);
		CHECK_EQ(*(uint8_t *)emu_test_ptr(t, EMU_TEST_DATA + at[k]), 0x62);
		CHECK_EQ(*(uint8_t *)emu_test_ptr(t, EMU_TEST_DATA + at[k] + 1),
			 0x03);
		CHECK_EQ(*(uint8_t *)emu_test_ptr(t, EMU_TEST_DATA + at[k] + 2),
			 0xa5);
		CHECK_EQ(t->cpu.rip, ref->cpu.rip);
		CHECK_EQ(t->cpu.fsw, 0x0081);
		/*
		 * 5 instructions a round, all translated but for the store
		 * across a page end (+0x1fff), which the interpreter does
		 */
		printf("  %llu instructions translated (store at +%#x)\n",
		       (unsigned long long)n, (unsigned)at[k]);
		CHECK(n > 3000ULL * ((at[k] & 0xfff) == 0xfff ? 3 : 4));
		jit_destroy(t->cpu.jit);
		t->cpu.jit = NULL;
		emu_test_free(t);
		emu_test_free(ref);
	}
}

static void test_jit_sse_loop(void)
{
	static struct emu_cpu ref, on, off;
	uint64_t n_on, n_off, n;

	sse_loop(0x1f80, false, &ref, &n);
	sse_loop(0x1f80, true, &on, &n_on);
	sse_loop(0x3f80, true, &off, &n_off);
	for (int i = 0; i < 5; i++) {
		CHECK(!memcmp(&ref.xmm[i], &on.xmm[i], 16));
		CHECK(!memcmp(&ref.xmm[i], &off.xmm[i], 16));
	}
	CHECK_EQ(ref.gpr[R_DX], on.gpr[R_DX]);
	CHECK_EQ(ref.gpr[R_AX], on.gpr[R_AX]);
	CHECK_EQ(ref.rflags, on.rflags);
	CHECK_EQ(ref.gpr[R_DX], off.gpr[R_DX]);
	CHECK_EQ(ref.rflags, off.rflags);
	printf("  translated: %llu with the default MXCSR, %llu rounding down\n",
	       (unsigned long long)n_on, (unsigned long long)n_off);
	/* 11 instructions a round, 4 of them floating point */
	CHECK(n_on > 5000ULL * 10);
	CHECK(n_off < 5000ULL * 8);
}

/*
 * A 16-byte memory operand of SSE arithmetic must be aligned (#GP(0) at
 * the instruction, the destination kept), by the interpreter and by the
 * translator (which leaves it to the interpreter); an 8-byte scalar one
 * need not be.
 */
static int sse_align_run(bool jit, int disp, bool scalar,
			 struct emu_cpu *out, uint64_t *frame)
{
	uint8_t code[] = {
		0x66, 0x41, 0x0f, 0xfc, 0x47, (uint8_t)disp,	/* paddb xmm0, [r15+d] */
		0xf4,
	};
	struct emu_test *t = emu_test_init64();
	uint8_t *data = emu_test_ptr(t, EMU_TEST_DATA);
	int vec;

	if (scalar) {
		code[0] = 0xf2;		/* addsd xmm0, [r15+d] */
		code[3] = 0x58;
	}
	if (jit) {
		jit_on(t);
	}
	for (int i = 0; i < 64; i++)
		data[i] = 0x10 + i;
	t->cpu.gpr[15] = EMU_TEST_DATA;
	t->cpu.xmm[0].q[0] = 0x3ff0000000000000ULL;
	t->cpu.xmm[0].q[1] = 0x0102030405060708ULL;
	emu_test_run(t, code, sizeof(code));
	*out = t->cpu;
	memcpy(frame, emu_test_ptr(t, t->cpu.gpr[R_SP]), 16);
	vec = emu_test_vector(t);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
	return vec;
}

static void test_jit_sse_align(void)
{
	static struct emu_cpu c[2];
	uint64_t frame[2];

	for (int jit = 0; jit < 2; jit++) {
		CHECK_EQ(sse_align_run(jit, 1, false, &c[jit], frame), EXC_GP);
		CHECK_EQ(frame[0], 0);
		CHECK_EQ(frame[1], EMU_TEST_CODE);
		CHECK_EQ(c[jit].xmm[0].q[1], 0x0102030405060708ULL);
		CHECK_EQ(sse_align_run(jit, 16, false, &c[jit], frame), -1);
		CHECK_EQ(c[jit].xmm[0].q[1], 0x0102030405060708ULL +
					     0x2f2e2d2c2b2a2928ULL);
		CHECK_EQ(sse_align_run(jit, 1, true, &c[jit], frame), -1);
		CHECK_EQ(c[jit].xmm[0].q[1], 0x0102030405060708ULL);
	}
	CHECK(!memcmp(&c[0].xmm[0], &c[1].xmm[0], 16));
}

/*
 * SSE with CR0.TS set raises #NM, with CR0.EM set or CR4.OSFXSR clear
 * #UD, at the instruction and before its memory operand, by the
 * interpreter (also through the decode cache's move handlers) and by
 * the translator (which leaves it to the interpreter); the instructions
 * before it run. FXSAVE raises #NM for EM or TS, EMMS (MMX) #UD for EM
 * and #NM for TS; MOVNTI, the fences, PREFETCH, CLFLUSH and PAUSE never
 * (SDM vol. 3, 13.1.4 and the instructions' exception lists).
 */
enum { SU_SSE, SU_FXSAVE, SU_MMX, SU_NEVER };

static int sse_unusable_vector(int kind, uint64_t cr0, bool osfxsr)
{
	bool em = cr0 & CR0_EM, ts = cr0 & CR0_TS;

	switch (kind) {
	case SU_SSE:
		return em || !osfxsr ? EXC_UD : ts ? EXC_NM : -1;
	case SU_FXSAVE:
		return em || ts ? EXC_NM : -1;
	case SU_MMX:
		return em ? EXC_UD : ts ? EXC_NM : -1;
	}
	return -1;
}

static void test_jit_sse_unusable(void)
{
	static const struct { int kind; uint8_t len, b[6]; } insns[] = {
		{ SU_SSE, 5, { 0x66, 0x41, 0x0f, 0xfc, 0x07 } },	/* paddb xmm0, [r15] */
		{ SU_SSE, 5, { 0xf3, 0x41, 0x0f, 0x6f, 0x07 } },	/* movdqu xmm0, [r15] */
		{ SU_SSE, 5, { 0x66, 0x41, 0x0f, 0x7f, 0x07 } },	/* movdqa [r15], xmm0 */
		{ SU_SSE, 4, { 0x66, 0x0f, 0xef, 0xc1 } },		/* pxor xmm0, xmm1 */
		{ SU_SSE, 3, { 0x0f, 0x28, 0xc1 } },			/* movaps xmm0, xmm1 */
		{ SU_SSE, 5, { 0xf2, 0x41, 0x0f, 0x58, 0x07 } },	/* addsd xmm0, [r15] */
		{ SU_SSE, 5, { 0xf2, 0x41, 0x0f, 0x10, 0x07 } },	/* movsd xmm0, [r15] */
		{ SU_SSE, 5, { 0x66, 0x48, 0x0f, 0x6e, 0xc0 } },	/* movq xmm0, rax */
		{ SU_SSE, 5, { 0x41, 0x0f, 0xae, 0x5f, 0x08 } },	/* stmxcsr [r15+8] */
		{ SU_SSE, 5, { 0x41, 0x0f, 0xae, 0x57, 0x08 } },	/* ldmxcsr [r15+8] */
		{ SU_FXSAVE, 4, { 0x41, 0x0f, 0xae, 0x07 } },		/* fxsave [r15] */
		{ SU_FXSAVE, 4, { 0x41, 0xd9, 0x7f, 0x08 } },		/* fnstcw [r15+8] */
		{ SU_MMX, 2, { 0x0f, 0x77 } },				/* emms */
		{ SU_NEVER, 4, { 0x41, 0x0f, 0xc3, 0x07 } },		/* movnti [r15], eax */
		{ SU_NEVER, 3, { 0x0f, 0xae, 0xf8 } },			/* sfence */
		{ SU_NEVER, 4, { 0x41, 0x0f, 0x18, 0x0f } },		/* prefetcht0 [r15] */
		{ SU_NEVER, 4, { 0x41, 0x0f, 0xae, 0x3f } },		/* clflush [r15] */
		{ SU_NEVER, 2, { 0xf3, 0x90 } },			/* pause */
	};
	static const struct { uint64_t cr0; bool osfxsr; } how[] = {
		{ CR0_TS, true }, { CR0_EM, true }, { 0, false },
		{ CR0_TS | CR0_EM, true }, { CR0_TS, false }, { 0, true },
	};

	for (unsigned k = 0; k < sizeof(insns) / sizeof(insns[0]); k++)
		for (unsigned h = 0; h < sizeof(how) / sizeof(how[0]); h++)
			for (int jit = 0; jit < 2; jit++) {
				uint8_t code[16] = { 0xff, 0xc2 };	/* inc edx */
				struct emu_test *t = emu_test_init64();
				int vec = sse_unusable_vector(insns[k].kind,
							      how[h].cr0,
							      how[h].osfxsr);
				uint64_t *frame;

				memcpy(code + 2, insns[k].b, insns[k].len);
				code[2 + insns[k].len] = 0xf4;
				if (jit) {
					t->cpu.jit = jit_create();
					jit_eager(t->cpu.jit);
				}
				t->cpu.gpr[15] = EMU_TEST_DATA;
				t->cpu.gpr[R_DX] = 0;
				t->cpu.xmm[0].q[0] = 7;
				t->cpu.cr0 |= how[h].cr0;
				if (!how[h].osfxsr)
					t->cpu.cr4 &= ~CR4_OSFXSR;
				emu_test_run(t, code, 3 + insns[k].len);
				frame = emu_test_ptr(t, t->cpu.gpr[R_SP]);
				CHECK_EQ(emu_test_vector(t), vec);
				if (vec >= 0)
					CHECK_EQ(frame[0], EMU_TEST_CODE + 2);
				else
					CHECK_EQ(t->cpu.rip,
						 EMU_TEST_CODE + 3 + insns[k].len);
				CHECK_EQ(t->cpu.gpr[R_DX], 1);
				if (vec >= 0)	/* before its operands */
					CHECK_EQ(t->cpu.xmm[0].q[0], 7);
				jit_destroy(t->cpu.jit);
				t->cpu.jit = NULL;
				emu_test_free(t);
			}
}

/*
 * MXCSR's status flags as hardware sets them, and an unmasked exception's
 * #XM (#UD with CR4.OSXMMEXCPT clear) with the destination kept, by the
 * interpreter and by the translator (its forms run translated with the
 * default MXCSR; the others and the unmasked ones are the interpreter's).
 * xmm0 and xmm1 are the operands; an unmasked invalid, denormal or
 * divide-by-zero sets only those (found before the computation).
 */
static void test_jit_sse_mxcsr(void)
{
#define ONE	0x3ff0000000000000ULL
#define THREE	0x4008000000000000ULL
#define DMAX	0x7fefffffffffffffULL
#define DMIN	0x0010000000000000ULL
#define DENORM	0x0000000000000001ULL
#define QNAN	0x7ff8000000000000ULL
#define SNAN	0x7ff4000000000000ULL
#define MONE	0xbff0000000000000ULL
#define FMAX	0x7f7fffffULL
	static const struct {
		uint8_t len, b[5];
		uint64_t x0, x1;
		uint32_t mxcsr, want;	/* before, after */
		int vec;		/* -1, or that with OSXMMEXCPT */
	} c[] = {
		{ 4, { 0xf2, 0x0f, 0x58, 0xc1 }, ONE, SNAN, 0x1f80, 0x1f81, -1 },
		{ 4, { 0xf2, 0x0f, 0x58, 0xc1 }, ONE, DENORM, 0x1f80, 0x1fa2, -1 },
		{ 4, { 0xf2, 0x0f, 0x58, 0xc1 }, ONE, ONE, 0x1fa0, 0x1fa0, -1 },
		{ 4, { 0xf2, 0x0f, 0x5e, 0xc1 }, ONE, 0, 0x1f80, 0x1f84, -1 },
		{ 4, { 0xf2, 0x0f, 0x59, 0xc1 }, DMAX, DMAX, 0x1f80, 0x1fa8, -1 },
		{ 4, { 0xf2, 0x0f, 0x59, 0xc1 }, DMIN, DMIN, 0x1f80, 0x1fb0, -1 },
		{ 4, { 0xf2, 0x0f, 0x5e, 0xc1 }, ONE, THREE, 0x1f80, 0x1fa0, -1 },
		{ 4, { 0xf2, 0x0f, 0x51, 0xc1 }, 0, MONE, 0x1f80, 0x1f81, -1 },
		{ 4, { 0x66, 0x0f, 0x2f, 0xc1 }, ONE, QNAN, 0x1f80, 0x1f81, -1 },
		{ 4, { 0x66, 0x0f, 0x2e, 0xc1 }, ONE, QNAN, 0x1f80, 0x1f80, -1 },
		{ 5, { 0xf2, 0x0f, 0xc2, 0xc1, 1 }, ONE, QNAN, 0x1f80, 0x1f81, -1 },
		{ 5, { 0xf2, 0x0f, 0xc2, 0xc1, 0 }, ONE, QNAN, 0x1f80, 0x1f80, -1 },
		{ 4, { 0xf2, 0x0f, 0x2d, 0xc0 }, QNAN, 0, 0x1f80, 0x1f81, -1 },
		{ 4, { 0xf2, 0x0f, 0x5a, 0xc1 }, 0, DMAX, 0x1f80, 0x1fa8, -1 },
		{ 4, { 0xf3, 0x0f, 0x59, 0xc1 }, FMAX, FMAX, 0x1f80, 0x1fa8, -1 },
		{ 4, { 0xf2, 0x0f, 0x5e, 0xc1 }, ONE, 0, 0x1d80, 0x1d84, EXC_XM },
		{ 4, { 0xf2, 0x0f, 0x5e, 0xc1 }, ONE, THREE, 0x0f80, 0x0fa0, EXC_XM },
		{ 4, { 0xf2, 0x0f, 0x58, 0xc1 }, ONE, DENORM, 0x1e80, 0x1e82, EXC_XM },
		{ 4, { 0xf2, 0x0f, 0x59, 0xc1 }, DMAX, DMAX, 0x1b80, 0x1ba8, EXC_XM },
	};

	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (int h = 0; h < 4; h++) {
			uint8_t code[16] = { 0xff, 0xc2 };	/* inc edx */
			struct emu_test *t = emu_test_init64();
			bool jit = h & 1, osxmm = h & 2;
			int vec = c[k].vec >= 0 && !osxmm ? EXC_UD : c[k].vec;

			memcpy(code + 2, c[k].b, c[k].len);
			code[2 + c[k].len] = 0xf4;
			if (jit) {
				t->cpu.jit = jit_create();
				jit_eager(t->cpu.jit);
			}
			if (osxmm)
				t->cpu.cr4 |= CR4_OSXMMEXCPT;
			t->cpu.gpr[R_DX] = 0;
			t->cpu.gpr[R_AX] = 5;
			t->cpu.xmm[0].q[0] = c[k].x0;
			t->cpu.xmm[1].q[0] = c[k].x1;
			t->cpu.mxcsr = c[k].mxcsr;
			emu_test_run(t, code, 3 + c[k].len);
			if (t->cpu.mxcsr != c[k].want || emu_test_vector(t) != vec)
				fprintf(stderr, "  case %u (%s, OSXMMEXCPT %d): "
					"MXCSR %#x vector %d\n", k,
					jit ? "jit" : "interpreter", osxmm,
					t->cpu.mxcsr, emu_test_vector(t));
			CHECK_EQ(t->cpu.mxcsr, c[k].want);
			CHECK_EQ(emu_test_vector(t), vec);
			CHECK_EQ(t->cpu.gpr[R_DX], 1);
			if (vec >= 0) {	/* the destination kept */
				uint64_t *frame = emu_test_ptr(t,
							t->cpu.gpr[R_SP]);

				CHECK_EQ(frame[0], EMU_TEST_CODE + 2);
				CHECK_EQ(t->cpu.xmm[0].q[0], c[k].x0);
			}
			jit_destroy(t->cpu.jit);
			t->cpu.jit = NULL;
			emu_test_free(t);
		}
#undef ONE
#undef THREE
#undef DMAX
#undef DMIN
#undef DENORM
#undef QNAN
#undef SNAN
#undef MONE
#undef FMAX
}

/*
 * MXCSR flags the VMM's own floating point left in the host's MXCSR are
 * not the guest's: ADDSD of 1 + 1 (exact) translated, with every flag
 * set in the host's MXCSR before the run, leaves the guest's clear (the
 * run's first translated floating point clears the host's; the run loop
 * takes what they hold after the run). An inexact 1/3 after it in the
 * same run still sets PE.
 */
static void test_jit_sse_host_flags(void)
{
	static const uint8_t code[] = {
		0xf2, 0x0f, 0x58, 0xc1,		/* addsd xmm0, xmm1 */
		0xf2, 0x0f, 0x5e, 0xd3,		/* divsd xmm2, xmm3 */
		0xf4,				/* hlt */
	};

	for (int third = 0; third < 2; third++) {
		struct emu_test *t = emu_test_init64();
		uint32_t host = 0x1fbf, want = third ? 0x1fa0 : 0x1f80;

		t->cpu.jit = jit_create();
		jit_eager(t->cpu.jit);
		t->cpu.xmm[0].q[0] = 0x3ff0000000000000ULL;	/* 1 */
		t->cpu.xmm[1].q[0] = 0x3ff0000000000000ULL;
		t->cpu.xmm[2].q[0] = 0x3ff0000000000000ULL;
		t->cpu.xmm[3].q[0] = third ? 0x4008000000000000ULL /* 3 */ :
					     0x3ff0000000000000ULL;
		t->cpu.mxcsr = 0x1f80;
		__asm__ volatile("ldmxcsr %0" : : "m"(host) : "memory");
		emu_test_run(t, code, sizeof(code));
		__asm__ volatile("stmxcsr %0" : "=m"(host) : : "memory");
		CHECK(t->cpu.halted);
		CHECK(jit_stat_insns(t->cpu.jit) >= 2);
		CHECK_EQ(t->cpu.xmm[0].q[0], 0x4000000000000000ULL);
		CHECK_EQ(t->cpu.mxcsr, want);
		CHECK_EQ(host & 0xffff, 0x1f80);
		jit_destroy(t->cpu.jit);
		t->cpu.jit = NULL;
		emu_test_free(t);
	}
}

/*
 * SSE floating point rounds as MXCSR.RC says, flushes a tiny result to
 * zero with FZ and reads a denormal as zero with DAZ, in the interpreter
 * (the translator leaves a non-default MXCSR to it): DIVSD 1/3 and -1/3,
 * CVTSD2SI of 2.5, MULSD of the smallest normal by one half, ADDSD of a
 * denormal to zero. The host's own MXCSR is the default again afterwards.
 */
static void test_jit_sse_rounding(void)
{
#define R_ONE	0x3ff0000000000000ULL
#define R_MONE	0xbff0000000000000ULL
#define R_THREE	0x4008000000000000ULL
#define R_HALF	0x3fe0000000000000ULL
#define R_2P5	0x4004000000000000ULL
#define R_DMIN	0x0010000000000000ULL
#define R_THIRD	0x3fd5555555555555ULL
	static const struct {
		uint8_t b[4];
		uint64_t x0, x1;
		uint32_t mxcsr;
		uint64_t want;		/* xmm0 or, for CVTSD2SI, RAX */
	} c[] = {
		{ { 0xf2, 0x0f, 0x5e, 0xc1 }, R_ONE, R_THREE, 0x1f80, R_THIRD },
		{ { 0xf2, 0x0f, 0x5e, 0xc1 }, R_ONE, R_THREE, 0x3f80, R_THIRD },
		{ { 0xf2, 0x0f, 0x5e, 0xc1 }, R_ONE, R_THREE, 0x5f80, R_THIRD + 1 },
		{ { 0xf2, 0x0f, 0x5e, 0xc1 }, R_ONE, R_THREE, 0x7f80, R_THIRD },
		{ { 0xf2, 0x0f, 0x5e, 0xc1 }, R_MONE, R_THREE, 0x3f80,
		  (R_THIRD + 1) | 1ULL << 63 },
		{ { 0xf2, 0x0f, 0x2d, 0xc0 }, R_2P5, 0, 0x1f80, 2 },
		{ { 0xf2, 0x0f, 0x2d, 0xc0 }, R_2P5, 0, 0x5f80, 3 },
		{ { 0xf2, 0x0f, 0x2d, 0xc0 }, R_2P5, 0, 0x3f80, 2 },
		{ { 0xf2, 0x0f, 0x59, 0xc1 }, R_DMIN, R_HALF, 0x1f80, R_DMIN / 2 },
		{ { 0xf2, 0x0f, 0x59, 0xc1 }, R_DMIN, R_HALF, 0x9f80, 0 },
		{ { 0xf2, 0x0f, 0x58, 0xc1 }, 0, 1, 0x1f80, 1 },
		{ { 0xf2, 0x0f, 0x58, 0xc1 }, 0, 1, 0x1fc0, 0 },
	};

	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++)
		for (int jit = 0; jit < 2; jit++) {
			uint8_t code[8] = { 0 };
			struct emu_test *t = emu_test_init64();
			bool cvt = c[k].b[2] == 0x2d;
			uint64_t got;
			uint32_t host;

			memcpy(code, c[k].b, 4);
			code[4] = 0xf4;
			if (jit) {
				t->cpu.jit = jit_create();
				jit_eager(t->cpu.jit);
			}
			t->cpu.gpr[R_AX] = 5;
			t->cpu.xmm[0].q[0] = c[k].x0;
			t->cpu.xmm[1].q[0] = c[k].x1;
			t->cpu.mxcsr = c[k].mxcsr;
			emu_test_run(t, code, 5);
			got = cvt ? t->cpu.gpr[R_AX] : t->cpu.xmm[0].q[0];
			__asm__ volatile("stmxcsr %0" : "=m"(host));
			if (got != c[k].want)
				fprintf(stderr, "  case %u (%s): %#llx\n", k,
					jit ? "jit" : "interpreter",
					(unsigned long long)got);
			CHECK_EQ(got, c[k].want);
			CHECK_EQ(host & 0xffc0, 0x1f80);
			jit_destroy(t->cpu.jit);
			t->cpu.jit = NULL;
			emu_test_free(t);
		}
}

/*
 * CVISOR_JIT_STATS names the instruction a run ended at by its opcode
 * without reading past its page: 14 prefixes, a REX and 0F in the
 * page's last 16 bytes, with no readable page after it.
 */
static void test_jit_stats_page_end(void)
{
	uint8_t *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static struct emu_cpu cpu;

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	CHECK_EQ(mprotect(m + 4096, 4096, PROT_NONE), 0);
	memset(m + 4080, 0x66, 14);
	m[4094] = 0x48;
	m[4095] = 0x0f;
	setenv("CVISOR_JIT_STATS", "1", 1);
	jit_stats_init();
	unsetenv("CVISOR_JIT_STATS");
	CHECK(jit_stats_on);
	cpu.rip = 0x7000ff0;
	cpu.fetch_vpn = cpu.rip >> 12;
	cpu.fetch_hva = m;
	jit_stats_note(&cpu, 0, 100);
	jit_stats_on = false;
	munmap(m, 8192);
}

int main(void)
{
	RUN(test_jit_self_modifying);
	RUN(test_jit_wx);
	RUN(test_jit_table_conflict);
	RUN(test_jit_stale_rechain);
	RUN(test_jit_stale_rechain_two);
	RUN(test_jit_chunk_stale);
	RUN(test_jit_chunk_stale_flags);
	RUN(test_jit_long_loop);
	RUN(test_jit_long_loop_stale);
	RUN(test_jit_page_end);
	RUN(test_jit_page_cross);
	RUN(test_jit_page_cross_long);
	RUN(test_jit_hot);
	RUN(test_jit_judge_decode);
	RUN(test_jit_page_cross_fault);
	RUN(test_jit_cmpxchg_reg);
	RUN(test_jit_differential);
	RUN(test_jit_differential_loops);
	RUN(test_jit_differential_spare);
	RUN(test_jit_spare_exits);
	RUN(test_jit_cached_high_byte);
	RUN(test_jit_kept_loop_regs);
	RUN(test_jit_flags_handoff);
	RUN(test_jit_sse_loop);
	RUN(test_jit_fnstcw);
	RUN(test_jit_sse_align);
	RUN(test_jit_sse_unusable);
	RUN(test_jit_sse_mxcsr);
	RUN(test_jit_sse_host_flags);
	RUN(test_jit_sse_rounding);
	RUN(test_jit_lock_atomic);
	RUN(test_jit_split_lock);
	RUN(test_jit_stats_page_end);
	return test_summary();
}
