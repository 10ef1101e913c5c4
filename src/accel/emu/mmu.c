// SPDX-License-Identifier: MIT
/*
 * Linear-to-physical translation (4-level paging with 4K/2M/1G pages, NX,
 * U/S, CR0.WP), the software TLB, and guest memory accesses: RAM through
 * host pointers, the LAPIC page to the CPU's LAPIC, everything else to the
 * MMIO bus.
 *
 * A TLB entry grants write permission only once the page's dirty bit is
 * set, so the first write to a clean page walks again and sets D. It
 * writes directly only pages no translated code is made from
 * (code_track.h): stores to those go through write_at or mem_ptr, which
 * give the page a new code generation.
 */
#include <string.h>

#include "accel/emu/code_track.h"
#include "accel/emu/cpu.h"
#include "accel/emu/dirty.h"
#include "accel/emu/pte.h"
#include "accel/emu/read_window.h"
#include "vmm/vm.h"

#define PF_P	(1u << 0)
#define PF_W	(1u << 1)
#define PF_U	(1u << 2)
#define PF_I	(1u << 4)

/* cpu->tlb_large's bucket for the 1 GiB that linear page vpn lies in */
static unsigned tlb_gib(uint64_t vpn)
{
	return (vpn >> 18) % TLB_GIB_HASH;
}

/* e writes its page directly from now on: a TLB_ASK_CODE answer looks */
static void tlb_note_direct(struct emu_cpu *cpu, const struct tlb_entry *e)
{
	cpu->tlb_direct[(e - cpu->tlb) / 64] |= 1ULL << (e - cpu->tlb) % 64;
}

static void tlb_clear(struct emu_cpu *cpu, struct tlb_entry *e)
{
	if (e->perm & TLB_LARGE)
		cpu->tlb_large[tlb_gib(tlb_vpn(e))]--;
	e->tag = ~0ULL;
	e->perm = 0;
}

/*
 * A flush of the non-global pages (MOV to CR3) looks only at the entries
 * that may hold one (tlb_local's bits, set as they are filled): Linux
 * writes CR3 at each context switch, and the kernel's global pages fill
 * most of the TLB.
 */
void tlb_flush(struct emu_cpu *cpu, bool global)
{
	if (global) {
		for (int i = 0; i < TLB_SIZE; i++) {
			cpu->tlb[i].tag = ~0ULL;
			cpu->tlb[i].perm = 0;
		}
		memset(cpu->tlb_large, 0, sizeof(cpu->tlb_large));
	} else {
		for (int w = 0; w < TLB_SIZE / 64; w++) {
			for (uint64_t m = cpu->tlb_local[w]; m; m &= m - 1) {
				struct tlb_entry *e =
					&cpu->tlb[w * 64 + __builtin_ctzll(m)];

				if (!(e->perm & TLB_GLOBAL))
					tlb_clear(cpu, e);
			}
		}
	}
	memset(cpu->tlb_local, 0, sizeof(cpu->tlb_local));
	cpu->fetch_vpn = ~0ULL;
	cpu->ip_end = NULL;
	cpu->tlb_gen++;
	read_window_drop(cpu);
}

/*
 * INVLPG: the page's own entry and any from a large page that may hold
 * lin, i.e. any from a large page in lin's 1 GiB (a 2M, 4M or 1G page
 * holding lin lies within it). Not all large pages' entries: Linux's
 * INVLPGs are of user pages, and clearing its kernel mappings (2M and
 * 1G pages) at each doubled the page walks of a Debian boot. The whole
 * TLB is looked through only when an entry from a large page may be in
 * that GiB: a Debian boot's 70,600 INVLPGs took 0.13-0.22 s of host
 * time looking through 1024 entries each, 0.6 s through 4096.
 */
void tlb_flush_page(struct emu_cpu *cpu, uint64_t lin)
{
	uint64_t vpn = lin >> 12;
	struct tlb_entry *e = &cpu->tlb[vpn % TLB_SIZE];

	if (tlb_vpn(e) == vpn)
		tlb_clear(cpu, e);
	if (cpu->tlb_large[tlb_gib(vpn)]) {
		for (int i = 0; i < TLB_SIZE; i++) {
			e = &cpu->tlb[i];
			if ((e->perm & TLB_LARGE) &&
			    tlb_vpn(e) >> 18 == vpn >> 18)
				tlb_clear(cpu, e);
		}
	}
	cpu->fetch_vpn = ~0ULL;
	cpu->ip_end = NULL;
	cpu->tlb_gen++;
	if (read_window_holds(cpu, lin))
		read_window_drop(cpu);
}

static uint64_t *pte_ptr(struct emu_cpu *cpu, uint64_t gpa)
{
	return gpa_to_hva(&cpu->vm->mem, gpa, 8);
}

static _Noreturn void page_fault(struct emu_cpu *cpu, uint64_t lin,
				 uint32_t err)
{
	cpu->cr2 = lin;
	cpu_raise(cpu, EXC_PF, err);
}

void pte_set_bits(struct emu_cpu *cpu, uint64_t *pte, uint64_t bits)
{
	if ((__atomic_load_n(pte, __ATOMIC_RELAXED) & bits) != bits) {
		__atomic_fetch_or(pte, bits, __ATOMIC_RELAXED);
		dirty_mark(cpu, pte);
		code_written(cpu, pte);
	}
}

static void set_bits32(struct emu_cpu *cpu, uint32_t *pte, uint32_t bits)
{
	if ((__atomic_fetch_or(pte, bits, __ATOMIC_RELAXED) & bits) != bits) {
		dirty_mark(cpu, pte);
		code_written(cpu, pte);
	}
}

/*
 * The canonical check of an access of size bytes at lin as a whole, before
 * any of its pages is walked: one that starts in canonical space and ends
 * outside is #GP(0) or #SS(0), not the #PF of an unmapped first page
 */
static void canonical_range(struct emu_cpu *cpu, uint64_t lin, unsigned size,
			    bool stack)
{
	if (cpu->lma &&
	    (!x86_canonical(lin) || !x86_canonical(lin + size - 1)))
		cpu_raise(cpu, stack ? EXC_SS : EXC_GP, 0);
}

void mem_stack_canonical(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
	canonical_range(cpu, lin, size, true);
}

/*
 * Walk the page tables for lin and fill its TLB entry. probe (64-bit
 * paging only): NULL instead of a fault, and before any A or D bit is
 * set in the page that code runs from (see tlb_refill).
 */
static struct tlb_entry *tlb_fill(struct emu_cpu *cpu, uint64_t lin,
				  enum mem_access acc, bool user, bool probe)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) % TLB_SIZE];
	uint64_t gpa, apic_page;
	uint32_t perm;
	uint8_t *hva;

	if (acc == ACC_R && !user && read_window_holds(cpu, lin)) {
		/* what translated code reads there without the TLB */
		gpa = lin & ~0xfffULL;
		perm = TLB_R | TLB_LARGE;
	} else if (!(cpu->cr0 & X86_CR0_PG)) {
		gpa = lin & ~0xfffULL;
		perm = TLB_R | TLB_W | TLB_X | TLB_UR | TLB_UW | TLB_UX;
	} else if (cpu->cr4 & X86_CR4_PAE) {
		uint64_t table = cpu->cr3 & PTE_ADDR, ent = 0, *p = NULL;
		bool w = true, u = true, nx = false, big = false;
		uint32_t err = (acc == ACC_W ? PF_W : 0) | (user ? PF_U : 0) |
			       (acc == ACC_X && (cpu->efer & X86_EFER_NXE) ?
				PF_I : 0);
		int level, top = cpu->lma ? 3 : 2;
		uint64_t *ptes[4];

		/* a stack reference's is #SS(0) (SDM vol. 1 3.3.7.1) */
		if (probe && (!cpu->lma || !x86_canonical(lin)))
			return NULL;
		if (cpu->lma && !x86_canonical(lin))
			cpu_raise(cpu, acc != ACC_X && cpu->stack_ref ?
				  EXC_SS : EXC_GP, 0);
		if (!cpu->lma) {
			/* PAE without long mode: 4 PDPTEs at CR3 */
			table = cpu->cr3 & 0xffffffe0ULL;
			lin &= 0xffffffffULL;
		}
		for (level = top; level >= 0; level--) {
			uint64_t idx = (lin >> (12 + 9 * level)) & 511;

			if (!cpu->lma && level == 2)
				idx &= 3;
			p = pte_ptr(cpu, table + idx * 8);
			ent = p ? __atomic_load_n(p, __ATOMIC_RELAXED) : 0;
			ptes[level] = p;
			if (!(ent & PTE_P)) {
				if (probe)
					return NULL;
				page_fault(cpu, lin, err);
			}
			if (!cpu->lma && level == 2) {
				table = ent & PTE_ADDR;
				continue;
			}
			w &= !!(ent & PTE_W);
			u &= !!(ent & PTE_U);
			if (cpu->efer & X86_EFER_NXE)
				nx |= !!(ent & PTE_NX);
			if (level <= 2 && level >= 1 && (ent & PTE_PS)) {
				big = true;
				break;
			}
			if (level == 0)
				break;
			table = ent & PTE_ADDR;
		}
		if (big) {
			uint64_t sz = 1ULL << (12 + 9 * level);

			gpa = (ent & PTE_ADDR & ~(sz - 1)) |
			      (lin & (sz - 1) & ~0xfffULL);
		} else {
			gpa = ent & PTE_ADDR;
		}
		perm = TLB_R;
		if (w || !(cpu->cr0 & X86_CR0_WP))
			perm |= TLB_W;
		if (!nx)
			perm |= TLB_X;
		if (u) {
			perm |= TLB_UR;
			if (w)
				perm |= TLB_UW;
			if (!nx)
				perm |= TLB_UX;
		}
		{
			uint32_t need = acc == ACC_R ? TLB_R :
					acc == ACC_W ? TLB_W : TLB_X;

			if (user)
				need <<= 3;
			if (!(perm & need)) {
				if (probe)
					return NULL;
				page_fault(cpu, lin, err | PF_P);
			}
		}
		/*
		 * A/D bits written into the page being run would change
		 * what runs next: the interpreter's walk then, after a miss
		 * exit (the block stops before the instruction)
		 */
		for (int l = top; probe && l >= level; l--)
			if ((((uintptr_t)ptes[l] ^ (uintptr_t)cpu->fetch_hva)
			     >> 12) == 0)
				return NULL;
		for (int l = top; l > level; l--)
			if (ptes[l] && (cpu->lma || l != 2))
				pte_set_bits(cpu, ptes[l], PTE_A);
		if (acc == ACC_W || (ent & PTE_D)) {
			pte_set_bits(cpu, p, PTE_A | PTE_D);
		} else {
			pte_set_bits(cpu, p, PTE_A);
			perm &= ~(TLB_W | TLB_UW);
		}
		if ((ent & PTE_G) && (cpu->cr4 & CR4_PGE))
			perm |= TLB_GLOBAL;
		if (big)
			perm |= TLB_LARGE;
		if (big && acc == ACC_R && !user && cpu->lma &&
		    gpa == (lin & ~0xfffULL))
			read_window_try(cpu, lin);
	} else if (probe) {
		return NULL;
	} else {
		/* 32-bit two-level paging */
		uint32_t err = (acc == ACC_W ? PF_W : 0) | (user ? PF_U : 0);
		uint32_t *pde, *pte, de, te;
		bool w, u;

		lin &= 0xffffffffULL;
		pde = gpa_to_hva(&cpu->vm->mem,
				 (cpu->cr3 & 0xfffff000) + (lin >> 22) * 4, 4);
		if (!pde || !((de = *pde) & PTE_P))
			page_fault(cpu, lin, err);
		if ((de & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
			te = de;
			pte = pde;
			gpa = (de & 0xffc00000) | (lin & 0x3ff000);
		} else {
			pte = gpa_to_hva(&cpu->vm->mem, (de & 0xfffff000) +
					 ((lin >> 12) & 1023) * 4, 4);
			if (!pte || !((te = *pte) & PTE_P))
				page_fault(cpu, lin, err);
			gpa = te & 0xfffff000;
			set_bits32(cpu, pde, PTE_A);
		}
		w = (de & PTE_W) && (te & PTE_W);
		u = (de & PTE_U) && (te & PTE_U);
		perm = TLB_R | TLB_X | (w || !(cpu->cr0 & X86_CR0_WP) ?
					TLB_W : 0);
		if (u)
			perm |= TLB_UR | TLB_UX | (w ? TLB_UW : 0);
		if (!(perm & ((acc == ACC_W ? TLB_W : TLB_R) << (user ? 3 : 0))))
			page_fault(cpu, lin, err | PF_P);
		set_bits32(cpu, pte, PTE_A | (acc == ACC_W ? PTE_D : 0));
		if (acc != ACC_W && !(te & PTE_D))
			perm &= ~(TLB_W | TLB_UW);
		if (pte == pde)
			perm |= TLB_LARGE;
	}

	hva = gpa_to_hva(&cpu->vm->mem, gpa, 4096);
	if (cpu->apic_ops) {
		apic_page = cpu->apic_ops->apic_base(cpu->apic) & PTE_ADDR;
		if (gpa == apic_page)
			hva = NULL;
	}
	perm = dirty_tlb_perm(cpu, hva, acc, perm);
	lin &= ~0xfffULL;
	if (e->perm & TLB_LARGE)
		cpu->tlb_large[tlb_gib(tlb_vpn(e))]--;
	if (perm & TLB_LARGE)
		cpu->tlb_large[tlb_gib(lin >> 12)]++;
	if (!(perm & TLB_GLOBAL))
		cpu->tlb_local[(e - cpu->tlb) / 64] |=
			1ULL << (e - cpu->tlb) % 64;
	e->gpa = gpa;
	e->perm = perm | (hva ? TLB_RAM : 0);
	e->tag = lin | (hva ? ~perm & TLB_ACCESS : TLB_ACCESS);
	/* stores to a code page are written the slow way */
	if (hva && (perm & (TLB_W | TLB_UW)) && code_page(cpu, hva))
		e->tag |= TLB_W | TLB_UW;
	if (tlb_direct_write(e))
		tlb_note_direct(cpu, e);
	e->addend = hva ? (uintptr_t)hva - lin : 0;
	return e;
}

static inline struct tlb_entry *tlb_get(struct emu_cpu *cpu, uint64_t lin,
					enum mem_access acc, bool user)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) % TLB_SIZE];
	uint32_t need = acc == ACC_R ? TLB_R : acc == ACC_W ? TLB_W : TLB_X;

	if (user)
		need <<= 3;
	if (tlb_vpn(e) == lin >> 12 && (e->perm & need))
		return e;
	return tlb_fill(cpu, lin, acc, user, false);
}

/*
 * A translated lookup that missed (jit_tlb.c): the walk the interpreter
 * would make for the access, when it would not fault, and then the host
 * address if the filled entry allows the access as the lookup checks it
 * (tlb_ram; a store not into the page code runs from), else NULL and
 * the block leaves before the instruction as without this. The same A
 * and D bits, dirty logging and code-page rules as the interpreter's
 * fill (tlb_fill), which would walk the same way for the instruction's
 * first access; no walk when the entry already allows it (outside RAM,
 * a store to a code page: the slow path's).
 */
uint8_t *tlb_refill(struct emu_cpu *cpu, uint64_t lin, unsigned size,
		    bool write)
{
	struct tlb_entry *e = &cpu->tlb[(lin >> 12) % TLB_SIZE];
	uint32_t need = write ? TLB_W : TLB_R;
	bool user = cpu->cpl == 3;
	uint8_t *hva;

	if ((lin & 0xfff) + size > 4096 || !(cpu->cr0 & X86_CR0_PG) ||
	    !(cpu->cr4 & X86_CR4_PAE))
		return NULL;
	if (tlb_vpn(e) == lin >> 12 && (e->perm & (need << (user ? 3 : 0))))
		return NULL;
	if (!tlb_fill(cpu, lin, write ? ACC_W : ACC_R, user, true))
		return NULL;
	hva = tlb_ram(cpu, lin, size, need);
	if (hva && write && tlb_hva(e) == cpu->fetch_hva)
		return NULL;
	return hva;
}

static bool is_apic(struct emu_cpu *cpu, uint64_t gpa)
{
	return cpu->apic_ops &&
	       (gpa & PTE_ADDR) ==
	       (cpu->apic_ops->apic_base(cpu->apic) & PTE_ADDR);
}

uint64_t phys_read(struct emu_cpu *cpu, uint64_t gpa, unsigned size)
{
	uint8_t *p;
	uint64_t v = 0;

	assert(MEM_SIZE_OK(size));
	p = gpa_to_hva(&cpu->vm->mem, gpa, size);
	if (p) {
		memcpy(&v, p, size);
		return v;
	}
	cpu->dc_stop = true;	/* a device may change what runs next */
	if (is_apic(cpu, gpa)) {
		v = cpu->apic_ops->mmio_read(cpu->apic, gpa & 0xffc);
		return size >= 4 ? v : (v >> (8 * (gpa & 3))) &
		       ((1ULL << (8 * size)) - 1);
	}
	bus_read(&cpu->vm->mmio, gpa, &v, size);
	return v;
}

void phys_write(struct emu_cpu *cpu, uint64_t gpa, uint64_t val,
		unsigned size)
{
	uint8_t *p;

	assert(MEM_SIZE_OK(size));
	p = gpa_to_hva(&cpu->vm->mem, gpa, size);
	if (p) {
		memcpy(p, &val, size);
		dirty_mark(cpu, p);
		dirty_mark(cpu, p + size - 1);
		code_written(cpu, p);
		code_written(cpu, p + size - 1);
		return;
	}
	cpu->dc_stop = true;
	if (is_apic(cpu, gpa)) {
		cpu->apic_ops->mmio_write(cpu->apic, gpa & 0xffc,
					  (uint32_t)val);
		return;
	}
	bus_write(&cpu->vm->mmio, gpa, val, size);
}

/* Fixed-size copies the compiler turns into one move, not a libc call */
static inline void host_load(uint64_t *v, const uint8_t *p, unsigned size)
{
	switch (size) {
	case 1: memcpy(v, p, 1); break;
	case 2: memcpy(v, p, 2); break;
	case 4: memcpy(v, p, 4); break;
	case 8: memcpy(v, p, 8); break;
	default: memcpy(v, p, size); break;
	}
}

static inline void host_store(uint8_t *p, const uint64_t *v, unsigned size)
{
	switch (size) {
	case 1: memcpy(p, v, 1); break;
	case 2: memcpy(p, v, 2); break;
	case 4: memcpy(p, v, 4); break;
	case 8: memcpy(p, v, 8); break;
	default: memcpy(p, v, size); break;
	}
}

/*
 * A store through e's page other than a direct one (the slow path): a
 * code page's generation ends, and once it is no code page the
 * entry writes it directly again, as its permission says
 */
static void tlb_wrote(struct emu_cpu *cpu, struct tlb_entry *e)
{
	uint8_t *page = tlb_hva(e);

	code_written(cpu, page);
	if (!code_page(cpu, page)) {
		e->tag &= ~(uint64_t)(e->perm & (TLB_W | TLB_UW));
		if (tlb_direct_write(e))
			tlb_note_direct(cpu, e);
	}
}

static uint64_t read_at(struct emu_cpu *cpu, uint64_t lin, unsigned size,
			bool user)
{
	unsigned off = lin & 0xfff;
	struct tlb_entry *e;
	uint64_t v = 0;

	assert(MEM_SIZE_OK(size));
	if (off + size > 4096) {
		canonical_range(cpu, lin, size, cpu->stack_ref);
		for (unsigned i = 0; i < size; i++)
			v |= read_at(cpu, lin + i, 1, user) << (8 * i);
		return v;
	}
	e = tlb_get(cpu, lin, ACC_R, user);
	if (e->perm & TLB_RAM) {
		host_load(&v, tlb_hva(e) + off, size);
		return v;
	}
	return phys_read(cpu, e->gpa + off, size);
}

static void write_at(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		     unsigned size, bool user)
{
	unsigned off = lin & 0xfff;
	struct tlb_entry *e;

	assert(MEM_SIZE_OK(size));
	if (off + size > 4096) {
		/* Check both pages before writing either. */
		canonical_range(cpu, lin, size, cpu->stack_ref);
		tlb_get(cpu, lin, ACC_W, user);
		tlb_get(cpu, lin + size - 1, ACC_W, user);
		for (unsigned i = 0; i < size; i++)
			write_at(cpu, lin + i, val >> (8 * i), 1, user);
		return;
	}
	e = tlb_get(cpu, lin, ACC_W, user);
	/*
	 * A store into the code page, through any alias, may patch the
	 * decoded block's rest (the same host-page test as mem_write's).
	 */
	if (e->perm & TLB_RAM) {
		if (tlb_hva(e) == cpu->fetch_hva)
			cpu->dc_stop = true;
		host_store(tlb_hva(e) + off, &val, size);
		tlb_wrote(cpu, e);
		return;
	}
	phys_write(cpu, e->gpa + off, val, size);
}

uint64_t mem_read_slow(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
	return read_at(cpu, lin, size, cpu->cpl == 3);
}

void mem_write_slow(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		    unsigned size)
{
	write_at(cpu, lin, val, size, cpu->cpl == 3);
}

uint64_t mem_read_sys(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
	return read_at(cpu, lin, size, false);
}

void mem_write_sys(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		   unsigned size)
{
	write_at(cpu, lin, val, size, false);
}

void mem_read_buf(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned n)
{
	uint8_t *b = buf;
	void *p = mem_ptr(cpu, lin, n, ACC_R);

	if (p) {
		memcpy(buf, p, n);
		return;
	}
	for (unsigned i = 0; i < n; i += 8) {
		unsigned k = n - i < 8 ? n - i : 8;
		uint64_t v = mem_read(cpu, lin + i, k);

		memcpy(b + i, &v, k);
	}
}

void mem_write_buf(struct emu_cpu *cpu, uint64_t lin, const void *buf,
		   unsigned n)
{
	const uint8_t *b = buf;
	void *p = mem_ptr(cpu, lin, n, ACC_W);

	if (p) {
		memcpy(p, buf, n);
		return;
	}
	/* Probe both ends so a fault leaves memory untouched. */
	mem_ptr(cpu, lin + n - 1, 1, ACC_W);
	for (unsigned i = 0; i < n; i += 8) {
		unsigned k = n - i < 8 ? n - i : 8;
		uint64_t v = 0;

		memcpy(&v, b + i, k);
		mem_write(cpu, lin + i, v, k);
	}
}

void *mem_ptr(struct emu_cpu *cpu, uint64_t lin, unsigned size,
	      enum mem_access acc)
{
	struct tlb_entry *e;

	if (acc != ACC_X)
		canonical_range(cpu, lin, size, cpu->stack_ref);
	e = tlb_get(cpu, lin, acc, cpu->cpl == 3);
	if (!(e->perm & TLB_RAM) || (lin & 0xfff) + size > 4096)
		return NULL;
	/*
	 * a store into the code page, as in write_at; the page's new code
	 * generation before the caller's store, which lands before this CPU
	 * answers another's ask or makes a block
	 */
	if (acc == ACC_W) {
		if (tlb_hva(e) == cpu->fetch_hva)
			cpu->dc_stop = true;
		tlb_wrote(cpu, e);
	}
	return tlb_hva(e) + (lin & 0xfff);
}

/*
 * The fetch window on lin's page when it is RAM, else none: code outside
 * RAM (a device's range, the LAPIC page, or nothing at all) is fetched a
 * byte at a time by fetch_slow, never decoded ahead or cached.
 */
static struct tlb_entry *fetch_window(struct emu_cpu *cpu, uint64_t lin)
{
	struct tlb_entry *e = tlb_get(cpu, lin, ACC_X, cpu->cpl == 3);
	bool ram = e->perm & TLB_RAM;

	cpu->fetch_vpn = ram ? lin >> 12 : ~0ULL;
	cpu->fetch_hva = ram ? tlb_hva(e) : NULL;
	return e;
}

void fetch_page(struct emu_cpu *cpu, uint64_t lin)
{
	/* RIP beyond CS.limit (outside 64-bit mode) is #GP(0), not a #PF */
	if (!cpu->code64 && cpu->rip > cpu->seg[SEG_CS].limit)
		cpu_raise(cpu, EXC_GP, 0);
	fetch_window(cpu, lin);
}

/*
 * An instruction byte outside RAM is what a data read of it gives, as on
 * hardware: a device's register, or all ones where nothing answers (PCI
 * master abort; the bus gives the same). FF FF is no instruction, so a
 * jump into unassigned space ends in #UD for the guest to handle. (QEMU's
 * TCG reads zeroes there, which run as ADD [RAX], AL.)
 */
uint8_t fetch_slow(struct emu_cpu *cpu, uint64_t lin)
{
	struct tlb_entry *e = fetch_window(cpu, lin);

	if (e->perm & TLB_RAM)
		return tlb_hva(e)[lin & 0xfff];
	return (uint8_t)phys_read(cpu, e->gpa | (lin & 0xfff), 1);
}
