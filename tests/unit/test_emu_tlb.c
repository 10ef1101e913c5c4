// SPDX-License-Identifier: MIT
/*
 * The emu CPU's soft TLB (mmu.c): TLB_SIZE direct-mapped entries, a MOV
 * to CR3 that clears only the entries its bitmap says may be non-global,
 * and an INVLPG that looks through the whole TLB only when its 1 GiB may
 * have an entry from a large page (cpu->tlb_large's counts). The tests
 * fill entries through page tables with mem_read_sys, as a walk does,
 * and check the bookkeeping against the entries after each step.
 */
#include <stdio.h>

#include "emu_test.h"
#include "test.h"

#define PTE_G		(1ULL << 8)
#define REGION		0x40000000ULL	/* 4K pages, the second GiB */
#define PAGES		(2 * TLB_SIZE)	/* two pages at every index */
#define PD_4K		0x1000000ULL	/* its page directory */
#define PT_4K		(PD_4K + 0x1000)	/* and its tables */
#define DATA		0x1800000ULL	/* 16 data pages the pages map to */

_Static_assert(PAGES / 512 + 1 <= (DATA - PD_4K) / 4096,
	       "the region's tables fit below DATA");

static uint64_t page_lin(unsigned i)
{
	return REGION + (uint64_t)i * 4096;
}

static uint64_t page_data(unsigned i)
{
	return DATA + (i % 16) * 4096ULL;
}

/* the region's page i global or not (PTE G, with CR4.PGE) */
static void set_global(struct emu_test *t, unsigned i, bool g)
{
	uint64_t pte = page_data(i) | 3 | (g ? PTE_G : 0);

	emu_test_w64(t, PT_4K + i * 8ULL, pte);
}

/*
 * emu_test_init64's CPU with CR4.PGE, and the region's PAGES pages
 * mapped by 4K pages to the data pages, which hold their index (a page
 * is global when global(i) says)
 */
static struct emu_test *tlb_init(bool (*global)(unsigned))
{
	struct emu_test *t = emu_test_init64();

	t->cpu.cr4 |= CR4_PGE;
	emu_test_w64(t, EMU_TEST_PML4 + 0x1000 + 8, PD_4K | 3);
	for (unsigned p = 0; p < PAGES / 512; p++)
		emu_test_w64(t, PD_4K + p * 8ULL, (PT_4K + p * 4096ULL) | 3);
	for (unsigned i = 0; i < PAGES; i++) {
		set_global(t, i, global(i));
		emu_test_w64(t, page_data(i), i % 16);
	}
	tlb_flush(&t->cpu, true);
	return t;
}

static bool hits(struct emu_cpu *c, uint64_t lin)
{
	return tlb_ram(c, lin, 8, TLB_R) != NULL;
}

/*
 * The bookkeeping matches the entries: every entry that holds a
 * non-global page has its bit in tlb_local, and tlb_large counts the
 * entries from large pages in each GiB's bucket
 */
static void check_books(struct emu_cpu *c)
{
	uint32_t large[TLB_GIB_HASH] = { 0 };
	bool bits = true;

	for (unsigned i = 0; i < TLB_SIZE; i++) {
		const struct tlb_entry *e = &c->tlb[i];

		if (e->perm & TLB_LARGE)
			large[(tlb_vpn(e) >> 18) % TLB_GIB_HASH]++;
		if (e->tag != ~0ULL && !(e->perm & TLB_GLOBAL) &&
		    !(c->tlb_local[i / 64] >> (i % 64) & 1))
			bits = false;
	}
	CHECK(bits);
	CHECK(memcmp(large, c->tlb_large, sizeof(large)) == 0);
}

static bool none_global(unsigned i)
{
	(void)i;
	return false;
}

/*
 * Pages TLB_SIZE apart share an entry; 1024 pages apart (the TLB's
 * size until 2026-12-07) they do not any more, nor do any TLB_SIZE
 * pages in a row
 */
static void test_tlb_capacity(void)
{
	struct emu_test *t = tlb_init(none_global);
	struct emu_cpu *c = &t->cpu;
	unsigned missing = 0;

	for (unsigned i = 0; i < TLB_SIZE; i++)
		CHECK_EQ(mem_read_sys(c, page_lin(i), 8), i % 16);
	for (unsigned i = 0; i < TLB_SIZE; i++)
		missing += !hits(c, page_lin(i));
	CHECK_EQ(missing, 0);
	CHECK(hits(c, page_lin(0)) && hits(c, page_lin(1024)));
	mem_read_sys(c, page_lin(TLB_SIZE), 8);
	CHECK(!hits(c, page_lin(0)));
	CHECK(hits(c, page_lin(TLB_SIZE)));
	check_books(c);
	emu_test_free(t);
}

/* a pattern in which an index's two pages differ in being global */
static bool mixed_global(unsigned i)
{
	return i < TLB_SIZE ? i % 3 == 0 : i % 5 == 0;
}

/*
 * Every index filled twice (a global page over a non-global one and the
 * other way round), then a MOV to CR3: the entries of non-global pages
 * go, in every word of the bitmap, and those of global ones stay; CR4's
 * PGE toggled clears them all
 */
static void test_tlb_cr3_flush(void)
{
	struct emu_test *t = tlb_init(mixed_global);
	struct emu_cpu *c = &t->cpu;
	unsigned wrong = 0, kept = 0;

	for (unsigned i = 0; i < PAGES; i++)
		CHECK_EQ(mem_read_sys(c, page_lin(i), 8), i % 16);
	check_books(c);
	cpu_write_cr(c, 3, c->cr3);
	for (unsigned i = TLB_SIZE; i < PAGES; i++) {
		wrong += hits(c, page_lin(i)) != mixed_global(i);
		kept += hits(c, page_lin(i));
	}
	CHECK_EQ(wrong, 0);
	CHECK(kept > 0);
	check_books(c);
	/* filled again (the bitmap was emptied), then flushed again */
	for (unsigned i = 0; i < TLB_SIZE; i++)
		mem_read_sys(c, page_lin(i), 8);
	check_books(c);
	cpu_write_cr(c, 3, c->cr3);
	wrong = 0;
	for (unsigned i = 0; i < TLB_SIZE; i++)
		wrong += hits(c, page_lin(i)) != mixed_global(i);
	CHECK_EQ(wrong, 0);
	check_books(c);
	cpu_write_cr(c, 4, c->cr4 & ~CR4_PGE);
	kept = 0;
	for (unsigned i = 0; i < PAGES; i++)
		kept += hits(c, page_lin(i));
	CHECK_EQ(kept, 0);
	check_books(c);
	emu_test_free(t);
}

/*
 * A 2M page's entry taken by a 4K page of another GiB, another 2M page
 * of the first GiB filled, its PD entry pointed elsewhere and INVLPG of
 * another 4K of it: the read after it sees the new page (the GiB's
 * count said an entry from a large page may be there)
 */
static void test_tlb_invlpg_large(void)
{
	struct emu_test *t = tlb_init(none_global);
	struct emu_cpu *c = &t->cpu;
	uint64_t pd2 = EMU_TEST_PML4 + 0x2000 + 2 * 8;

	emu_test_w64(t, 0x400000, 0x4444);
	emu_test_w64(t, 0x600000, 0x6666);
	CHECK_EQ(mem_read_sys(c, 0x200000, 8), emu_test_r64(t, 0x200000));
	check_books(c);
	/* the region's page at 0x200000's index (REGION is 1 GiB) */
	mem_read_sys(c, page_lin(0x200), 8);
	CHECK(!hits(c, 0x200000));
	check_books(c);
	CHECK_EQ(mem_read_sys(c, 0x400000, 8), 0x4444);
	check_books(c);
	emu_test_w64(t, pd2, 0x600000 | 0x87);
	tlb_flush_page(c, 0x5ff000);
	CHECK_EQ(mem_read_sys(c, 0x400000, 8), 0x6666);
	check_books(c);
	/* an INVLPG in the region's GiB keeps the other GiB's entries */
	tlb_flush_page(c, page_lin(5));
	CHECK(hits(c, 0x400000));
	CHECK(hits(c, page_lin(0x200)));
	check_books(c);
	emu_test_free(t);
}

/* xorshift64 */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random fills (4K pages, global or not, and the 2M pages of the first
 * 16 MiB), MOVs to CR3, INVLPGs and full flushes: after each the
 * bookkeeping matches the entries, a MOV to CR3 leaves only global
 * pages, and an INVLPG leaves neither its page nor a large page's entry
 * in its GiB
 */
static void test_tlb_random(void)
{
	struct emu_test *t = tlb_init(mixed_global);
	struct emu_cpu *c = &t->cpu;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	unsigned bad = 0;

	for (int n = 0; n < 3000; n++) {
		uint64_t r = rnd(&s), lin;
		unsigned op = r % 100;

		lin = r >> 8 & 1 ? page_lin((r >> 9) % PAGES) :
		      ((r >> 9) % (16 << 20)) & ~7ULL;
		if (op < 85) {
			mem_read_sys(c, lin, 8);
		} else if (op < 93) {
			cpu_write_cr(c, 3, c->cr3);
			for (unsigned i = 0; i < TLB_SIZE; i++)
				bad += c->tlb[i].tag != ~0ULL &&
				       !(c->tlb[i].perm & TLB_GLOBAL);
		} else if (op < 99) {
			tlb_flush_page(c, lin);
			for (unsigned i = 0; i < TLB_SIZE; i++) {
				const struct tlb_entry *e = &c->tlb[i];

				bad += tlb_vpn(e) == lin >> 12;
				bad += (e->perm & TLB_LARGE) &&
				       tlb_vpn(e) >> 18 == lin >> 30;
			}
		} else {
			tlb_flush(c, true);
		}
		if (n % 8 == 0)
			check_books(c);
	}
	CHECK_EQ(bad, 0);
	check_books(c);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_tlb_capacity);
	RUN(test_tlb_cr3_flush);
	RUN(test_tlb_invlpg_large);
	RUN(test_tlb_random);
	return test_summary();
}
