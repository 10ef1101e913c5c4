// SPDX-License-Identifier: MIT
/*
 * The emu dirty page log: code storing in every way the interpreter has
 * (plain and immediate moves, rep stos, push/call, lock cmpxchg, SSE and
 * x87 stores, kvmclock's MSR, page walks setting A/D bits) marks exactly
 * the pages it wrote; a sync takes the record and the next store to a
 * page marks it again; a CPU thread storing while another thread syncs
 * loses nothing.
 */
#include <pthread.h>
#include <time.h>

#include "accel/emu/dirty.h"
#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define MEM_PAGES	((32ull << 20) >> 12)
#define WORDS		(MEM_PAGES / 64)
#define PDPT		(EMU_TEST_PML4 + 0x1000)
#define PD		(EMU_TEST_PML4 + 0x2000)
#define PT		(EMU_TEST_PML4 + 0x3000)	/* maps 16..18 MiB */

struct fixture {
	struct emu_test *t;
	struct emu_dirty d;
};

static void fixture_init(struct fixture *f)
{
	f->t = emu_test_init64();
	emu_test_ask(f->t);
	emu_dirty_init(&f->d, &f->t->ask, f->t->vm.mem.mapping,
		       f->t->vm.mem.mapping_size);
}

/*
 * With the translator and the write tracking of code pages: the CPU's
 * asks and the log's share its TLB's answers (tlb_ask.h)
 */
static void fixture_init_jit(struct fixture *f)
{
	f->t = emu_test_init64();
	emu_test_track(f->t);
	f->t->cpu.jit = jit_create();
	CHECK(f->t->cpu.jit != NULL);
	jit_eager(f->t->cpu.jit);
	emu_dirty_init(&f->d, &f->t->ask, f->t->vm.mem.mapping,
		       f->t->vm.mem.mapping_size);
}

static void fixture_free(struct fixture *f)
{
	jit_destroy(f->t->cpu.jit);
	f->t->cpu.jit = NULL;
	emu_dirty_destroy(&f->d);
	emu_test_free(f->t);
}

static void run(struct fixture *f, const uint8_t *code, size_t len)
{
	f->t->cpu.gpr[R_SP] = EMU_TEST_STACK;
	emu_test_run(f->t, code, len);
	CHECK(f->t->cpu.halted);
}

/* A sync reports exactly the pages of want[] (guest physical = index). */
static void expect_dirty(struct fixture *f, const uint64_t *want, int n)
{
	uint64_t bm[WORDS] = { 0 };

	CHECK_EQ(emu_dirty_sync(&f->d, bm), 0);
	for (uint64_t pg = 0; pg < MEM_PAGES; pg++) {
		bool set = bm[pg / 64] >> (pg % 64) & 1, wanted = false;

		for (int i = 0; i < n; i++)
			wanted |= want[i] >> 12 == pg;
		if (set != wanted) {
			printf("  page 0x%llx: dirty %d, expected %d\n",
			       (unsigned long long)pg << 12, set, wanted);
			CHECK(0);
		}
	}
}

/*
 * mov $0x200000,%rbx; movq $1,(%rbx); mov %rax,0x300ff8;
 * mov $0x400000,%rdi; mov $0x3000,%ecx; xor %eax,%eax; rep stosb;
 * mov $0x600008,%rsp; push %rax; call 1f;
 * 1: mov $0x700000,%rbx; xor %eax,%eax; mov $5,%ecx;
 * lock cmpxchg %rcx,(%rbx); movups %xmm0,0x800000;
 * fninit; fldz; fstpl 0x900010;
 * wrmsr(MSR_KVM_SYSTEM_TIME, 0xa00041); hlt
 */
static const uint8_t stores[] = {
	0x48, 0xc7, 0xc3, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0x03, 0x01,
	0x00, 0x00, 0x00, 0x48, 0x89, 0x04, 0x25, 0xf8, 0x0f, 0x30, 0x00,
	0x48, 0xc7, 0xc7, 0x00, 0x00, 0x40, 0x00, 0xb9, 0x00, 0x30, 0x00,
	0x00, 0x31, 0xc0, 0xf3, 0xaa, 0x48, 0xc7, 0xc4, 0x08, 0x00, 0x60,
	0x00, 0x50, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc3, 0x00,
	0x00, 0x70, 0x00, 0x31, 0xc0, 0xb9, 0x05, 0x00, 0x00, 0x00, 0xf0,
	0x48, 0x0f, 0xb1, 0x0b, 0x0f, 0x11, 0x04, 0x25, 0x00, 0x00, 0x80,
	0x00, 0xdb, 0xe3, 0xd9, 0xee, 0xdd, 0x1c, 0x25, 0x10, 0x00, 0x90,
	0x00, 0xb9, 0x01, 0x4d, 0x56, 0x4b, 0xb8, 0x41, 0x00, 0xa0, 0x00,
	0x31, 0xd2, 0x0f, 0x30, 0xf4,
};
static const uint64_t stores_dirty[] = {
	0x200000, 0x300000, 0x400000, 0x401000, 0x402000, 0x5ff000,
	0x600000, 0x700000, 0x800000, 0x900000, 0xa00000,
};

/* movb $1,0x200000; hlt */
static const uint8_t store_one[] = {
	0xc6, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x01, 0xf4,
};

/*
 * Through 4K pages: movl $7,0x1001000; then rep stosb of 8 KiB from
 * 0x1004000, whose second page is not present: #PF half-way.
 */
static const uint8_t stores_4k[] = {
	0x48, 0xc7, 0xc3, 0x00, 0x10, 0x00, 0x01, 0xc7, 0x03, 0x07, 0x00,
	0x00, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x40, 0x00, 0x01, 0xb9, 0x00,
	0x20, 0x00, 0x00, 0xf3, 0xaa, 0xf4,
};

static void test_emu_dirty_stores(void)
{
	/* The first walks set A (and D) bits in every level's table. */
	uint64_t first[16] = { EMU_TEST_PML4, PDPT, PD };
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	memcpy(first + 3, stores_dirty, sizeof(stores_dirty));
	run(&f, stores, sizeof(stores));
	expect_dirty(&f, first, 3 + 11);
	/* Nothing written since the sync. */
	expect_dirty(&f, NULL, 0);
	/* The TLB still maps 0x200000 writable: the sync took that away. */
	run(&f, store_one, sizeof(store_one));
	expect_dirty(&f, (const uint64_t[]){ 0x200000 }, 1);
	run(&f, store_one, sizeof(store_one));
	run(&f, stores, sizeof(stores));
	expect_dirty(&f, stores_dirty, 11);
	emu_dirty_stop(&f.d);
	fixture_free(&f);
}

static void test_emu_dirty_4k_fault(void)
{
	struct fixture f;

	fixture_init(&f);
	emu_test_w64(f.t, PD + 8 * 8, PT | 7);
	for (uint64_t i = 0; i < 512; i++)
		emu_test_w64(f.t, PT + i * 8,
			     i == 5 ? 0 : (0x1000000 + (i << 12)) | 7);
	run(&f, store_one, sizeof(store_one));	/* A bits of the 2M path */
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	run(&f, stores_4k, sizeof(stores_4k));
	CHECK_EQ(emu_test_vector(f.t), EXC_PF);
	CHECK_EQ(f.t->cpu.cr2, 0x1005000);
	/*
	 * The two stores' pages, the page table (A/D of 0x1001000 and
	 * 0x1004000), the PD (A of its entry for the PT) and the stack page
	 * the #PF frame went to; not the page that faulted.
	 */
	expect_dirty(&f, (const uint64_t[]){ 0x1001000, 0x1004000, PT, PD,
					      EMU_TEST_STACK - 8 }, 5);
	emu_dirty_stop(&f.d);
	fixture_free(&f);
}

/* Without logging: no bitmap, and a page stays writable in the TLB. */
static void test_emu_dirty_off(void)
{
	struct fixture f;
	const struct tlb_entry *e;
	uint64_t bm[WORDS];

	fixture_init(&f);
	e = &f.t->cpu.tlb[(0x200000 >> 12) % TLB_SIZE];
	run(&f, store_one, sizeof(store_one));
	CHECK(!f.d.bits);
	CHECK(e->perm & TLB_W);
	CHECK(emu_dirty_sync(&f.d, bm) < 0);
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	run(&f, store_one, sizeof(store_one));
	CHECK(e->perm & TLB_W);		/* granted by marking the page */
	emu_dirty_stop(&f.d);
	run(&f, store_one, sizeof(store_one));
	CHECK(e->perm & TLB_W);
	/* A restart forgets what was marked before. */
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	expect_dirty(&f, NULL, 0);
	emu_dirty_stop(&f.d);
	fixture_free(&f);
}

/*
 * for (k = 0; k < 300000 (at SPRAY_STEPS_AT); k++)
 *	((uint64_t *)(0x200000 + (k % 256) * 4096))[(k >> 8) % 512] = k;
 * hlt
 */
static const uint8_t spray[] = {
	0x31, 0xc9, 0x89, 0xc8, 0x25, 0xff, 0x00, 0x00, 0x00, 0xc1, 0xe0,
	0x0c, 0x89, 0xca, 0xc1, 0xea, 0x08, 0x81, 0xe2, 0xff, 0x01, 0x00,
	0x00, 0x48, 0x8d, 0x84, 0xd0, 0x00, 0x00, 0x20, 0x00, 0x48, 0x89,
	0x08, 0xff, 0xc1, 0x81, 0xf9, 0xe0, 0x93, 0x04, 0x00, 0x75, 0xd6,
	0xf4,
};
#define SPRAY_STEPS_AT	38
#define SPRAY_BASE	0x200000
#define SPRAY_PAGES	256

static void *spray_thread(void *opaque)
{
	struct emu_cpu *c = opaque;

	while (!c->halted && !c->shutdown && !c->error[0])
		cpu_run_batch(c, 500, NULL);
	return NULL;
}

/* Copy every page sync reports into shadow, as migration would. */
static void copy_dirty(struct fixture *f, uint8_t *shadow)
{
	uint64_t bm[WORDS] = { 0 };
	const uint8_t *ram = f->t->vm.mem.mapping;

	CHECK_EQ(emu_dirty_sync(&f->d, bm), 0);
	for (uint64_t pg = 0; pg < MEM_PAGES; pg++)
		if (bm[pg / 64] >> (pg % 64) & 1)
			memcpy(shadow + (pg << 12), ram + (pg << 12), 4096);
}

/* Syncs racing a storing CPU: the copy made from them ends up exact. */
static void race(bool jit, uint32_t steps)
{
	uint8_t *shadow = calloc(MEM_PAGES, 4096);
	struct emu_cpu *c;
	struct fixture f;
	pthread_t th;
	int syncs = 0;

	if (jit)
		fixture_init_jit(&f);
	else
		fixture_init(&f);
	c = &f.t->cpu;
	memcpy(emu_test_ptr(f.t, EMU_TEST_CODE), spray, sizeof(spray));
	memcpy(emu_test_ptr(f.t, EMU_TEST_CODE + SPRAY_STEPS_AT), &steps, 4);
	c->rip = EMU_TEST_CODE;
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	memcpy(shadow, f.t->vm.mem.mapping, MEM_PAGES << 12);
	pthread_create(&th, NULL, spray_thread, c);
	while (!__atomic_load_n(&c->halted, __ATOMIC_RELAXED)) {
		copy_dirty(&f, shadow);
		syncs++;
	}
	pthread_join(th, NULL);
	copy_dirty(&f, shadow);
	CHECK(c->halted);
	CHECK_EQ(c->gpr[R_CX], steps);
	CHECK(!memcmp(shadow, f.t->vm.mem.mapping, MEM_PAGES << 12));
	printf("  %d syncs while the CPU stored\n", syncs);
	emu_dirty_stop(&f.d);
	fixture_free(&f);
	free(shadow);
}

static void test_emu_dirty_race(void)
{
	race(false, 300000);
}

/*
 * The same with translated code, whose stores go through the TLB inline;
 * the blocks made while a sync waits for the CPU's answer ask themselves
 * (code_track) and look at the CPUs' answers meanwhile.
 */
static void test_emu_dirty_race_jit(void)
{
	race(true, 3000000);
}

struct acker {
	struct emu_cpu *cpu;
	atomic_bool acked;
};

/* What a CPU inside a batch does at its next instruction boundary. */
static void *late_ack(void *opaque)
{
	struct acker *a = opaque;

	nanosleep(&(struct timespec){ 0, 20 * 1000000 }, NULL);
	atomic_store(&a->acked, true);
	tlb_ask_check(a->cpu);
	return NULL;
}

/*
 * A sync returns only once a CPU inside cpu_run_batch has given up its
 * write permissions; a CPU outside one is not waited for.
 */
static void test_emu_dirty_sync_waits(void)
{
	struct acker a = { 0 };
	uint64_t bm[WORDS] = { 0 };
	struct fixture f;
	pthread_t th;
	bool writable = false;

	fixture_init(&f);
	a.cpu = &f.t->cpu;
	CHECK_EQ(emu_dirty_start(&f.d), 0);
	run(&f, stores, sizeof(stores));
	atomic_store(&a.cpu->ask_running, true);
	pthread_create(&th, NULL, late_ack, &a);
	CHECK_EQ(emu_dirty_sync(&f.d, bm), 0);
	CHECK(atomic_load(&a.acked));
	CHECK_EQ(atomic_load(&a.cpu->ask_ack), atomic_load(&f.t->ask.asks));
	for (int i = 0; i < TLB_SIZE; i++)
		writable |= a.cpu->tlb[i].perm & (TLB_W | TLB_UW);
	CHECK(!writable);
	pthread_join(th, NULL);
	atomic_store(&a.cpu->ask_running, false);
	CHECK_EQ(emu_dirty_sync(&f.d, bm), 0);
	emu_dirty_stop(&f.d);
	fixture_free(&f);
}

int main(void)
{
	RUN(test_emu_dirty_stores);
	RUN(test_emu_dirty_4k_fault);
	RUN(test_emu_dirty_off);
	RUN(test_emu_dirty_sync_waits);
	RUN(test_emu_dirty_race);
	RUN(test_emu_dirty_race_jit);
	return test_summary();
}
