// SPDX-License-Identifier: MIT
/*
 * The translator's code cache when it is full (jit.c's jit_flush): a
 * program several times the cache's size, run twice over, must flush it
 * (code full, or its chain slots), keep running translated from the
 * emptied cache and leave what the interpreter leaves; and no page is
 * writable and executable after the flushes.
 */
#include <stdio.h>
#include <string.h>

#include "accel/emu/jit.h"
#include "accel/emu/jit_cache.h"
#include "emu_test.h"
#include "test.h"

#define AT	0x400000ULL		/* 4 MiB: the program, up to 12 MiB */
#define ROUNDS	2
#define FN	(AT - 0x1000)
#define CALL_EVERY 64

/*
 * mov ecx, ROUNDS; then n times ADD RAX, imm32 (each a different
 * immediate), with a JNZ to the next instruction after each when jcc (a
 * chained exit, a chain slot, each) and a CALL of FN (INC RBX; RET) after
 * every CALL_EVERY; DEC ECX; JNZ back; HLT. Returns its length; *sum is
 * what one round adds to RAX. FN's block, entered all along, is in the
 * table at each flush: it must be made again, not run from where its
 * code was.
 */
static size_t big_program(struct emu_test *t, size_t n, bool jcc,
			  uint64_t *sum)
{
	uint8_t *p = emu_test_ptr(t, AT), *q = p;
	uint32_t x = 0x12345678;
	int32_t back;

	*q++ = 0xb9;				/* mov ecx, ROUNDS */
	*q++ = ROUNDS;
	memset(q, 0, 3);
	q += 3;
	memcpy(emu_test_ptr(t, FN), "\x48\xff\xc3\xc3", 4); /* inc rbx; ret */
	*sum = 0;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		*q++ = 0x48;			/* add rax, imm32 */
		*q++ = 0x05;
		memcpy(q, &x, 4);
		q += 4;
		*sum += (uint64_t)(int64_t)(int32_t)x;
		if (jcc) {
			*q++ = 0x75;		/* jnz +0 */
			*q++ = 0x00;
		}
		if (i % CALL_EVERY == CALL_EVERY - 1) {
			int32_t rel = (int32_t)(FN - (AT + (q - p) + 5));

			*q++ = 0xe8;		/* call FN */
			memcpy(q, &rel, 4);
			q += 4;
		}
	}
	*q++ = 0xff;				/* dec ecx */
	*q++ = 0xc9;
	back = (int32_t)((p + 5) - (q + 6));
	*q++ = 0x0f;				/* jnz to the first add */
	*q++ = 0x85;
	memcpy(q, &back, 4);
	q += 4;
	*q++ = 0xf4;				/* hlt */
	return q - p;
}

/* Run from AT until HLT (or far too long) */
static void run_big(struct emu_test *t)
{
	t->cpu.rip = AT;
	t->cpu.halted = false;
	for (int i = 0; i < 2000 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 100000, NULL);
}

/* Pages of the code cache's range mapped writable and executable */
static int wx_pages(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t lo, hi;
	char line[512];
	int wx = 0;

	jit_arena_range(&lo, &hi);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) == 3 &&
		    perm[1] == 'w' && perm[2] == 'x')
			wx++;
	}
	if (f)
		fclose(f);
	return wx;
}

static void flush_case(bool jcc)
{
	/*
	 * Eager, each block is published at once with the rest of its page
	 * unused: the ADDs take 4 KiB a block of 36, 24 times the cache a
	 * round. With JNZs, each is a block's start (the JNZ before it goes
	 * there) and a chain slot in up to 18 blocks: 4.5 times the slots.
	 */
	size_t n = jcc ? JIT_SLOT_BYTES / 64 : JIT_CODE_BYTES / 6;
	struct emu_test *ref = emu_test_init64(), *t = emu_test_init64();
	uint64_t sum, insns = ROUNDS * (n * (jcc ? 2 : 1) + n / CALL_EVERY * 3);
	size_t len = big_program(ref, n, jcc, &sum);

	CHECK(AT + len <= 12ULL << 20);
	big_program(t, n, jcc, &sum);
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	/* each block made and published at its first ask: the program runs once */
	jit_eager(t->cpu.jit);
	run_big(ref);
	run_big(t);
	CHECK(ref->cpu.halted && t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_AX], ROUNDS * sum);
	CHECK_EQ(t->cpu.gpr[R_AX], ref->cpu.gpr[R_AX]);
	CHECK_EQ(t->cpu.gpr[R_BX], ROUNDS * (n / CALL_EVERY));
	CHECK_EQ(t->cpu.rflags, ref->cpu.rflags);
	CHECK_EQ(t->cpu.rip, ref->cpu.rip);
	printf("  %s: %llu flushes, %llu blocks made, %llu of %llu "
	       "instructions translated\n", jcc ? "with JNZs" : "ADDs",
	       (unsigned long long)jit_stat_flushes(t->cpu.jit),
	       (unsigned long long)jit_stat_made(t->cpu.jit),
	       (unsigned long long)jit_stat_insns(t->cpu.jit),
	       (unsigned long long)insns);
	CHECK(jit_stat_flushes(t->cpu.jit) >= 2);
	/* the second round ran translated too, from the refilled cache */
	CHECK(jit_stat_insns(t->cpu.jit) > insns * 3 / 4);
	CHECK_EQ(wx_pages(), 0);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
	emu_test_free(ref);
}

static void test_jit_cache_flush(void)
{
	flush_case(false);
}

static void test_jit_cache_flush_slots(void)
{
	flush_case(true);
}

int main(void)
{
	RUN(test_jit_cache_flush);
	RUN(test_jit_cache_flush_slots);
	return test_summary();
}
