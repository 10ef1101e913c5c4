// SPDX-License-Identifier: MIT
/*
 * emu translator with code page write tracking (code_track.h): a block
 * checks its page's code generation, not its bytes, so every write into
 * a page code was made from must end the page's generation. Each
 * test writes a function's code after its block was made, by one
 * writer, and the calls after it must run the new code: a store of the
 * guest through another page's block and through an alias mapping,
 * another vCPU's store (whose TLB could write the page directly from
 * before it was code), a device's write (DMA) and a page freed and
 * reused for new code.
 */
#include <stdio.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define FN	0x300000ULL	/* mov eax, imm32; ret */
#define HIGH	0xffffff8000000000ULL	/* PML4 entry 511: the low 16 MiB */
#define PATCH	0x102000ULL	/* the patching program */
#define CALLS	20
#define V4K	0x1000000ULL	/* mapped by a 4K page (PT below) */
#define PT	0x30000ULL
#define PD8	(EMU_TEST_PML4 + 0x2000 + 8 * 8)
#define P1	0x500000ULL
#define P2	0x501000ULL
/* FN by a 4K page: its TLB entry is not the one FN's own mapping takes */
#define ALIAS	(V4K + 0x5000)

/* eager: blocks made and published at their first ask (jit_eager) */
static struct emu_test *smc_new(bool eager)
{
	struct emu_test *t = emu_test_init64();

	emu_test_track(t);
	/* the alias of the low 16 MiB, and 16 MiB up a 4K page table */
	emu_test_w64(t, EMU_TEST_PML4 + 511 * 8, (EMU_TEST_PML4 + 0x1000) | 7);
	emu_test_w64(t, PD8, PT | 7);
	emu_test_w64(t, PT + 5 * 8, FN | 7);
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	if (eager)
		jit_eager(t->cpu.jit);
	return t;
}

static struct emu_test *smc_init(void)
{
	return smc_new(true);
}

static void smc_free(struct emu_test *t)
{
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);
}

/* A second CPU that answers t's asks (it runs only what a test says) */
static struct emu_cpu *smc_cpu_b(struct emu_test *t)
{
	struct emu_cpu *b = calloc(1, sizeof(*b));

	CHECK(b != NULL);
	*b = t->cpu;
	b->id = 1;
	b->jit = NULL;
	b->dcache = NULL;
	b->ask_seen = 0;
	atomic_store(&b->ask_ack, 0);
	atomic_store(&b->ask_running, false);
	tlb_flush(b, true);
	tlb_ask_add_cpu(&t->ask, b);
	return b;
}

static void smc_cpu_b_free(struct emu_test *t, struct emu_cpu *b)
{
	tlb_ask_del_cpu(&t->ask, b);
	free(b);
}

/* mov eax, v; ret at gpa, written as a device would */
static void smc_fn(struct emu_test *t, uint64_t gpa, uint32_t v)
{
	uint8_t f[6] = { 0xb8, 0, 0, 0, 0, 0xc3 };

	memcpy(f + 1, &v, 4);
	CHECK_EQ(guest_mem_write(&t->vm.mem, gpa, f, sizeof(f)), 0);
}

static void smc_run(struct emu_test *t, struct emu_cpu *c, uint64_t at,
		    const uint8_t *code, size_t len)
{
	CHECK_EQ(guest_mem_write(&t->vm.mem, at, code, len), 0);
	c->rip = at;
	c->halted = false;
	for (int i = 0; i < 100 && !c->halted && !c->shutdown &&
	     !c->error[0]; i++)
		cpu_run_batch(c, 1000, NULL);
	CHECK(c->halted);
}

/* CALLS calls of the function at lin: EDX = the sum of what they return */
static uint64_t smc_calls(struct emu_test *t, uint64_t lin)
{
	uint8_t code[] = {
		0xb9, CALLS, 0x00, 0x00, 0x00,		/* mov ecx, CALLS */
		0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rsi, lin */
		0xff, 0xd6,				/* L: call rsi */
		0x01, 0xc2,				/* add edx, eax */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf8,				/* jnz L */
		0xf4,					/* hlt */
	};

	memcpy(code + 7, &lin, 8);
	t->cpu.gpr[R_DX] = 0;
	smc_run(t, &t->cpu, EMU_TEST_CODE, code, sizeof(code));
	return t->cpu.gpr[R_DX];
}

/*
 * The guest stores v at lin (a function's immediate) on CPU c, after a
 * load from it (which fills a TLB entry the store may use)
 */
static void smc_store(struct emu_test *t, struct emu_cpu *c, uint64_t lin,
		      uint32_t v)
{
	uint8_t code[] = {
		0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rdi, lin */
		0x8b, 0x07,				/* mov eax, [rdi] */
		0xc7, 0x07, 0, 0, 0, 0,			/* mov dword [rdi], v */
		0xf4,					/* hlt */
	};

	memcpy(code + 2, &lin, 8);
	memcpy(code + 14, &v, 4);
	smc_run(t, c, PATCH, code, sizeof(code));
}

/*
 * The guest patches the function from a block in another page, through
 * its own mapping and through an alias whose TLB entry was filled (with
 * a direct write) before the page held code
 */
static void test_smc_store(void)
{
	struct emu_test *t = smc_init();

	smc_fn(t, FN, 0);
	smc_store(t, &t->cpu, ALIAS + 1, 1);
	CHECK_EQ(smc_calls(t, FN), CALLS * 1);
	smc_store(t, &t->cpu, FN + 1, 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	smc_store(t, &t->cpu, ALIAS + 1, 3);
	CHECK_EQ(smc_calls(t, FN), CALLS * 3);
	/* a TLB entry filled (by a load) while the page is code */
	tlb_flush(&t->cpu, true);
	smc_store(t, &t->cpu, FN + 1, 4);
	CHECK_EQ(smc_calls(t, FN), CALLS * 4);
	/* through the alias of all the low 16 MiB */
	smc_store(t, &t->cpu, HIGH + FN + 1, 5);
	CHECK_EQ(smc_calls(t, FN), CALLS * 5);
	CHECK(jit_stat_insns(t->cpu.jit) > 5 * CALLS);
	smc_free(t);
}

/*
 * The same within one run of the CPU: the alias's entry, filled with a
 * direct write just before the function's block is made, loses it then
 * (not only when the CPU next starts a batch)
 */
static void test_smc_store_same_run(void)
{
	uint64_t alias = ALIAS + 1, fn = FN;
	uint8_t code[] = {
		0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rdi, alias */
		0xc7, 0x07, 0x01, 0x00, 0x00, 0x00,	/* mov dword [rdi], 1 */
		0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rsi, fn */
		0xff, 0xd6,				/* call rsi */
		0x89, 0xc2,				/* mov edx, eax */
		0xc7, 0x07, 0x02, 0x00, 0x00, 0x00,	/* mov dword [rdi], 2 */
		0xff, 0xd6,				/* call rsi */
		0x01, 0xc2,				/* add edx, eax */
		0xf4,					/* hlt */
	};
	struct emu_test *t = smc_init();

	memcpy(code + 2, &alias, 8);
	memcpy(code + 18, &fn, 8);
	smc_fn(t, FN, 0);
	smc_run(t, &t->cpu, EMU_TEST_CODE, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 3);
	smc_free(t);
}

/*
 * The alias's entry is filled by a load, with a direct write since its
 * PTE is dirty already, before the function's block is made: it loses
 * that at the answer to the block's ask too (not only entries that
 * stored)
 */
static void test_smc_load_filled(void)
{
	uint64_t alias = ALIAS + 1, fn = FN;
	uint8_t code[] = {
		0x48, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rdi, alias */
		0x8b, 0x07,				/* mov eax, [rdi] */
		0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rsi, fn */
		0xff, 0xd6,				/* call rsi */
		0x89, 0xc2,				/* mov edx, eax */
		0xc7, 0x07, 0x01, 0x00, 0x00, 0x00,	/* mov dword [rdi], 1 */
		0xff, 0xd6,				/* call rsi */
		0x01, 0xc2,				/* add edx, eax */
		0xf4,					/* hlt */
	};
	struct emu_test *t = smc_init();

	memcpy(code + 2, &alias, 8);
	memcpy(code + 14, &fn, 8);
	emu_test_w64(t, PT + 5 * 8, FN | 0x67);	/* P, W, U, A, D */
	smc_fn(t, FN, 0);
	smc_run(t, &t->cpu, EMU_TEST_CODE, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 1);
	smc_free(t);
}

/* A loop that increments the immediate of its own ADD, in its page */
static void test_smc_same_page(void)
{
	static const uint8_t code[] = {
		0xb9, 0x0a, 0x00, 0x00, 0x00,		/* mov ecx, 10 */
		0x83, 0xc2, 0x01,			/* L: add edx, 1 */
		0xfe, 0x05, 0xf9, 0xff, 0xff, 0xff,	/* inc byte [rip-7] */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf3,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = smc_init();

	for (int round = 0; round < 2; round++) {
		t->cpu.gpr[R_DX] = 0;
		smc_run(t, &t->cpu, EMU_TEST_CODE, code, sizeof(code));
		CHECK_EQ(t->cpu.gpr[R_DX], 55);
	}
	smc_free(t);
}

/* A device writes the function (guest_mem_write, as DMA is marked) */
static void test_smc_dma(void)
{
	struct emu_test *t = smc_init();
	uint8_t *f = emu_test_ptr(t, FN);

	smc_fn(t, FN, 4);
	CHECK_EQ(smc_calls(t, FN), CALLS * 4);
	smc_fn(t, FN, 5);
	CHECK_EQ(smc_calls(t, FN), CALLS * 5);
	/* a device's own copy, then what virtq_push says of it */
	f[1] = 6;
	guest_mem_code_written(&t->vm.mem, f, 6);
	CHECK_EQ(smc_calls(t, FN), CALLS * 6);
	smc_free(t);
}

/*
 * Another vCPU stores into the function. Its TLB writes the page
 * directly from before it held code: the CPU answers the ask of the one
 * that made the block (tlb_ask_answer) when it next runs. While it runs and
 * has not answered, the block made meanwhile is untrusted: its bytes are
 * compared at each entry.
 */
static void test_smc_other_cpu(void)
{
	struct emu_test *t = smc_init();
	struct emu_cpu *b = smc_cpu_b(t);

	smc_fn(t, FN, 0);
	smc_store(t, b, FN + 1, 1);		/* B: a direct write entry */
	CHECK_EQ(smc_calls(t, FN), CALLS * 1);
	smc_store(t, b, FN + 1, 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);

	/*
	 * B "runs" without having answered the ask of the page's block made
	 * again just now, and its entry for the page writes it directly
	 * again (its last store found the page no code): the block made
	 * or checked while so is not trusted
	 */
	atomic_store(&b->ask_running, true);
	smc_fn(t, FN, 2);			/* a new generation, same bytes */
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	mem_write(b, FN + 1, 7, 4);		/* B's direct store */
	CHECK_EQ(smc_calls(t, FN), CALLS * 7);
	atomic_store(&b->ask_running, false);
	smc_cpu_b_free(t, b);
	smc_free(t);
}

/*
 * A block is trusted once every running CPU has answered its page's ask
 * (the page's generation says which), whatever asks for other pages
 * came since. A page whose ask is 2^CODE_OLD_SHIFT asks old gets a new
 * one when a block is made from it.
 */
static void test_smc_page_ask(void)
{
	struct emu_test *t = smc_init();
	struct emu_cpu *b = smc_cpu_b(t);
	const uint8_t *p1 = emu_test_ptr(t, P1), *p2 = emu_test_ptr(t, P2);
	uint32_t g;

	atomic_store(&b->ask_running, true);
	CHECK_EQ(code_track(&t->cpu, p1), CODE_UNTRUSTED);
	tlb_ask_check(b);			/* B's instruction boundary */
	g = code_track(&t->cpu, p1);
	CHECK(g != CODE_UNTRUSTED);
	CHECK_EQ(code_track(&t->cpu, p2), CODE_UNTRUSTED);
	CHECK_EQ(code_track(&t->cpu, p1), g);

	atomic_fetch_add(&t->ask.asks, 1ULL << CODE_OLD_SHIFT);
	CHECK_EQ(code_track(&t->cpu, p1), CODE_UNTRUSTED);
	CHECK(atomic_load(code_gen(&t->cpu, p1)) != g);
	tlb_ask_check(b);
	CHECK(code_track(&t->cpu, p1) != CODE_UNTRUSTED);
	atomic_store(&b->ask_running, false);
	smc_cpu_b_free(t, b);
	smc_free(t);
}

/*
 * A 4K page of code is freed (its PTE points elsewhere, INVLPG), gets
 * new code through the kernel's own mapping of it (the identity map,
 * whose TLB entry wrote it directly before it held code), and is mapped
 * at the same address again
 */
static void test_smc_page_reuse(void)
{
	struct emu_test *t = smc_init();

	smc_fn(t, P1, 0);
	smc_fn(t, P2, 8);
	smc_store(t, &t->cpu, P1 + 1, 1);
	emu_test_w64(t, PT, P1 | 7);
	CHECK_EQ(smc_calls(t, V4K), CALLS * 1);
	emu_test_w64(t, PT, P2 | 7);
	tlb_flush_page(&t->cpu, V4K);
	CHECK_EQ(smc_calls(t, V4K), CALLS * 8);
	smc_store(t, &t->cpu, P1 + 1, 9);
	emu_test_w64(t, PT, P1 | 7);
	tlb_flush_page(&t->cpu, V4K);
	CHECK_EQ(smc_calls(t, V4K), CALLS * 9);
	smc_free(t);
}

/*
 * A loop calls the function and writes a variable in the function's
 * page each time: each write makes the page's blocks recheck in C, so
 * after JIT_MIXED of those the page is mixed (GUEST_CODE_MIXED) and its
 * blocks compare their bytes, as without the tracking; a change of the
 * function's code is still seen then.
 */
static void test_smc_mixed_page(void)
{
	uint64_t fn = FN;
	uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x48, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0,	/* mov rsi, fn */
		0xff, 0xd6,				/* L: call rsi */
		0x01, 0xc2,				/* add edx, eax */
		0x89, 0x0c, 0x25, 0x00, 0x08, 0x30, 0x00, /* mov [FN+0x800], ecx */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf1,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t = smc_init();

	memcpy(code + 7, &fn, 8);
	smc_fn(t, FN, 2);
	t->cpu.gpr[R_DX] = 0;
	smc_run(t, &t->cpu, EMU_TEST_CODE, code, sizeof(code));
	CHECK_EQ(t->cpu.gpr[R_DX], 2000);
	CHECK(t->vm.mem.code[FN >> 12] & GUEST_CODE_MIXED);
	smc_store(t, &t->cpu, FN + 1, 3);
	CHECK_EQ(smc_calls(t, FN), CALLS * 3);
	smc_free(t);
}

/*
 * A block found stale is made again at its first ask, not at the
 * JIT_HOT-th like a new one: until then the chain slots that led to it
 * lead to the old code, and each jump through them returns to jit_run.
 * G (add edx, 1; jmp H) chains to H (mov eax, imm32; ret) in the same
 * page; after 100 calls H's value is changed, and one more call finds
 * H stale and makes it again at once.
 */
static void test_smc_remade(void)
{
	static const uint8_t g[] = { 0x83, 0xc2, 0x01, 0xeb, 0x0b };
	static const uint8_t one[] = {
		0xbe, 0x00, 0x00, 0x30, 0x00,		/* mov esi, FN */
		0xff, 0xd6,				/* call rsi */
		0x01, 0xc2,				/* add edx, eax */
		0xf4,					/* hlt */
	};
	struct emu_test *t = smc_new(false);
	uint64_t made;

	CHECK_EQ(guest_mem_write(&t->vm.mem, FN, g, sizeof(g)), 0);
	smc_fn(t, FN + 16, 1);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	CHECK_EQ(smc_calls(t, FN), CALLS * 2);
	smc_store(t, &t->cpu, FN + 17, 5);
	made = jit_stat_made(t->cpu.jit);
	t->cpu.gpr[R_DX] = 0;
	smc_run(t, &t->cpu, EMU_TEST_CODE, one, sizeof(one));
	CHECK_EQ(t->cpu.gpr[R_DX], 6);
	printf("  %llu blocks made after the change, %llu found stale\n",
	       (unsigned long long)(jit_stat_made(t->cpu.jit) - made),
	       (unsigned long long)jit_stat_stale(t->cpu.jit));
	CHECK(jit_stat_made(t->cpu.jit) > made);
	smc_free(t);
}

/* A page written by nobody keeps its blocks: they check only a word */
static void test_smc_unwritten(void)
{
	struct emu_test *t = smc_init();

	smc_fn(t, FN, 3);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(smc_calls(t, FN), CALLS * 3);
	CHECK_EQ(jit_stat_stale(t->cpu.jit), 0);
	smc_free(t);
}

int main(void)
{
	RUN(test_smc_store);
	RUN(test_smc_store_same_run);
	RUN(test_smc_load_filled);
	RUN(test_smc_same_page);
	RUN(test_smc_dma);
	RUN(test_smc_other_cpu);
	RUN(test_smc_page_ask);
	RUN(test_smc_page_reuse);
	RUN(test_smc_mixed_page);
	RUN(test_smc_remade);
	RUN(test_smc_unwritten);
	return test_summary();
}
