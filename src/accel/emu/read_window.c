// SPDX-License-Identifier: MIT
/*
 * The read window. Linux's decompressor runs 64-bit code at CPL 0 where
 * it is identity-mapped by 2 MiB pages, and reads its input, its tables
 * and its dictionary (the output, ~60 MiB) all over: a soft-TLB lookup
 * per read loads an entry of the 256 KiB TLB, which for such reads is
 * mostly not in the host's caches (a Debian boot spent a sixth of the
 * decompressor's hottest loop on that load). So once a CPL 0 read's TLB
 * fill finds a large page mapped to its own physical address, the run of
 * such pages around it in the same RAM region is walked, and translated
 * code of the low half (jit_tlb.c) reads in it with a subtraction, a
 * compare and an add.
 *
 * What the window holds is what the TLB could hold: translations made
 * ahead, which the SDM lets a CPU cache before they are used (vol. 3
 * 4.10.2.3), their accessed flags set as a fill sets them; it goes with
 * the TLB (tlb_flush, and an INVLPG in it), as they would. The
 * interpreter's TLB fills for CPL 0 reads in it take its translation
 * too (mmu.c), so that both read the same memory after the guest
 * changed a page table without flushing (and jit=off makes windows as
 * well). Reads only: stores and fetches walk as before (dirty logging,
 * code pages, D flags). Not the LAPIC's page, which is no RAM.
 */
#include "accel/emu/read_window.h"
#include "accel/emu/pte.h"
#include "vmm/vm.h"

/*
 * Tries to make a window between two flushes of the TLB, and pages each
 * walks at most on either side: a try is made at a TLB fill outside the
 * window (the decompressor's identity map grows a 2 MiB page at a time
 * as its output is written, and the window with it), and costs at most
 * a few microseconds
 */
#define READ_WINDOW_TRIES	64
#define READ_WINDOW_STEPS	512
/* No window smaller than this */
#define READ_WINDOW_MIN		(4ULL << 20)

/*
 * Whether paging maps the large page holding lin (its size in *sz) to
 * the same physical address, present, within region r and not the
 * LAPIC's page at apic; sets the accessed flags of its walk if so. Long
 * mode's 4 levels (read_window_try's caller checks).
 */
static bool page_ok(struct emu_cpu *cpu, const struct guest_region *r,
		    uint64_t lin, uint64_t apic, uint64_t *sz)
{
	uint64_t table = cpu->cr3 & PTE_ADDR, *walk[3];

	for (int level = 3; level >= 1; level--) {
		uint64_t idx = (lin >> (12 + 9 * level)) & 511, ent;
		uint64_t *p = gpa_to_hva(&cpu->vm->mem, table + idx * 8, 8);

		if (!p)
			return false;
		ent = __atomic_load_n(p, __ATOMIC_RELAXED);
		if (!(ent & PTE_P))
			return false;
		walk[3 - level] = p;
		if (level <= 2 && (ent & PTE_PS)) {
			uint64_t size = 1ULL << (12 + 9 * level);
			uint64_t base = lin & ~(size - 1);

			if ((ent & PTE_ADDR & ~(size - 1)) != base ||
			    base < r->gpa || base + size > r->gpa + r->size ||
			    apic - base < size)
				return false;
			/*
			 * no accessed flag into the page being run (a walk
			 * from translated code goes on running it: mmu.c)
			 */
			for (int i = 0; i <= 3 - level; i++)
				if (!(((uintptr_t)walk[i] ^
				       (uintptr_t)cpu->fetch_hva) >> 12))
					return false;
			for (int i = 0; i <= 3 - level; i++)
				pte_set_bits(cpu, walk[i], PTE_A);
			*sz = size;
			return true;
		}
		table = ent & PTE_ADDR;
	}
	return false;
}

void read_window_try(struct emu_cpu *cpu, uint64_t lin)
{
	const struct guest_mem *mem = &cpu->vm->mem;
	const struct guest_region *r = NULL;
	uint64_t apic = ~0ULL, lo, hi, sz;

	if (cpu->win_tries >= READ_WINDOW_TRIES ||
	    read_window_holds(cpu, lin) ||
	    lin - cpu->win_no_lo < cpu->win_no_hi - cpu->win_no_lo)
		return;
	cpu->win_tries++;
	for (int i = 0; i < mem->nr_regions && !r; i++)
		if (lin - mem->regions[i].gpa < mem->regions[i].size)
			r = &mem->regions[i];
	if (!r)
		return;
	if (cpu->apic_ops)
		apic = cpu->apic_ops->apic_base(cpu->apic) & PTE_ADDR;
	if (!page_ok(cpu, r, lin, apic, &sz))
		return;
	lo = lin & ~(sz - 1);
	hi = lo + sz;
	for (int i = 0; i < READ_WINDOW_STEPS && lo > r->gpa &&
			page_ok(cpu, r, lo - 1, apic, &sz); i++)
		lo -= sz;
	for (int i = 0; i < READ_WINDOW_STEPS && hi < r->gpa + r->size &&
			page_ok(cpu, r, hi, apic, &sz); i++)
		hi += sz;
	if (hi - lo < READ_WINDOW_MIN ||
	    hi - lo - READ_WINDOW_SLACK <= cpu->win_size) {
		cpu->win_no_lo = lo;
		cpu->win_no_hi = hi;
		return;
	}
	cpu->win_lo = lo;
	cpu->win_hva = r->hva + (lo - r->gpa);
	cpu->win_size = hi - lo - READ_WINDOW_SLACK;
}
