/* SPDX-License-Identifier: MIT */
/*
 * A bare software CPU for the emu instruction tests: 32 MiB of guest RAM,
 * no devices and no LAPIC. emu_test_init64() puts the CPU in 64-bit long
 * mode with the first 16 MiB identity-mapped by 2 MiB pages, a GDT (0x08
 * 64-bit code, 0x10 data, 0x18 32-bit code, 0x20 16-bit code) and an IDT
 * whose vector v handler is a HLT at EMU_TEST_STUB(v). Code runs from
 * EMU_TEST_CODE until HLT.
 */
#ifndef CVISOR_TEST_EMU_TEST_H
#define CVISOR_TEST_EMU_TEST_H

#include <stdlib.h>
#include <string.h>

#include "accel/emu/code_track.h"
#include "accel/emu/cpu.h"
#include "vmm/vm.h"

#define EMU_TEST_GDT	0x500ULL
#define EMU_TEST_IDT	0x1000ULL
#define EMU_TEST_PML4	0x10000ULL
#define EMU_TEST_STUBS	0x4000ULL
#define EMU_TEST_STUB(v)	(EMU_TEST_STUBS + (v) * 16ULL)
#define EMU_TEST_STACK	0x80000ULL
#define EMU_TEST_DATA	0x200000ULL
#define EMU_TEST_CODE	0x100000ULL

struct emu_test {
	struct vm vm;
	struct emu_cpu cpu;
	struct tlb_ask ask;	/* with emu_test_ask */
};

static inline void *emu_test_ptr(struct emu_test *t, uint64_t gpa)
{
	return gpa_to_hva(&t->vm.mem, gpa, 1);
}

static inline void emu_test_w64(struct emu_test *t, uint64_t gpa,
				uint64_t v)
{
	memcpy(emu_test_ptr(t, gpa), &v, 8);
}

static inline uint64_t emu_test_r64(struct emu_test *t, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, emu_test_ptr(t, gpa), 8);
	return v;
}

static inline struct emu_test *emu_test_new(void)
{
	struct emu_test *t = calloc(1, sizeof(*t));

	if (!t || guest_mem_init(&t->vm.mem, 32 << 20, NULL))
		abort();
	bus_init(&t->vm.pio, "pio");
	bus_init(&t->vm.mmio, "mmio");
	t->vm.nr_vcpus = 1;
	cpu_reset(&t->cpu, &t->vm, 0);
	/* EMU_TEST_NO_DCACHE=1 runs the tests on the general decoder alone */
	if (!getenv("EMU_TEST_NO_DCACHE"))
		t->cpu.dcache = dcache_create();
	return t;
}

/* The CPU answers the asks of t->ask (tlb_ask.h), as a VM's vCPUs do */
static inline void emu_test_ask(struct emu_test *t)
{
	if (t->cpu.ask)
		return;
	tlb_ask_init(&t->ask);
	tlb_ask_add_cpu(&t->ask, &t->cpu);
}

/*
 * The write tracking of code pages, as the emu accelerator has it
 * (code_track.h): translated blocks check their page's generation. The
 * test's own writes into code it ran must then go through
 * guest_mem_write, as a device's do (a memcpy is not seen).
 */
static inline void emu_test_track(struct emu_test *t)
{
	if (guest_mem_code_start(&t->vm.mem))
		abort();
	emu_test_ask(t);
}

static inline void emu_test_free(struct emu_test *t)
{
	if (t->cpu.ask) {
		tlb_ask_del_cpu(&t->ask, &t->cpu);
		tlb_ask_destroy(&t->ask);
	}
	dcache_destroy(t->cpu.dcache);
	bus_destroy(&t->vm.pio);
	bus_destroy(&t->vm.mmio);
	guest_mem_destroy(&t->vm.mem);
	free(t);
}

static inline struct emu_test *emu_test_init64(void)
{
	struct emu_test *t = emu_test_new();
	struct emu_cpu *c = &t->cpu;

	emu_test_w64(t, EMU_TEST_GDT + 0x08, 0x00af9b000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x10, 0x00cf93000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x18, 0x00cf9b000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x20, 0x00009b000000ffffULL);
	/* PML4 -> PDPT -> PD of 2 MiB pages, user-accessible, writable */
	emu_test_w64(t, EMU_TEST_PML4, (EMU_TEST_PML4 + 0x1000) | 7);
	emu_test_w64(t, EMU_TEST_PML4 + 0x1000, (EMU_TEST_PML4 + 0x2000) | 7);
	for (uint64_t i = 0; i < 8; i++)
		emu_test_w64(t, EMU_TEST_PML4 + 0x2000 + i * 8,
			     (i << 21) | 0x87);
	for (uint64_t v = 0; v < 32; v++) {
		uint64_t h = EMU_TEST_STUB(v);
		uint64_t lo = (h & 0xffff) | (0x08ULL << 16) |
			      (0x8eULL << 40) | ((h >> 16) << 48);

		*(uint8_t *)emu_test_ptr(t, h) = 0xf4;
		emu_test_w64(t, EMU_TEST_IDT + v * 16, lo);
		emu_test_w64(t, EMU_TEST_IDT + v * 16 + 8, h >> 32);
	}
	c->gdt = (struct x86_dtable){ EMU_TEST_GDT, 0x27 };
	c->idt = (struct x86_dtable){ EMU_TEST_IDT, 32 * 16 - 1 };
	c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP | X86_CR0_ET |
		 X86_CR0_NE;
	c->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
	c->cr3 = EMU_TEST_PML4;
	c->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | X86_EFER_SCE;
	c->seg[SEG_CS] = (struct x86_segment){ .selector = 8, .type = 0xb,
		.s = 1, .present = 1, .l = 1, .g = 1, .limit = 0xffffffff };
	for (int s = SEG_ES; s <= SEG_GS; s++) {
		if (s == SEG_CS)
			continue;
		c->seg[s] = (struct x86_segment){ .selector = 0x10, .type = 3,
			.s = 1, .present = 1, .db = 1, .g = 1,
			.limit = 0xffffffff };
	}
	c->gpr[R_SP] = EMU_TEST_STACK;
	cpu_update_mode(c);
	tlb_flush(c, true);
	return t;
}

/* Copy code to EMU_TEST_CODE and run it until HLT (or 100000 insns). */
static inline void emu_test_run_at(struct emu_test *t, uint64_t at,
				   const uint8_t *code, size_t len)
{
	memcpy(emu_test_ptr(t, at), code, len);
	t->cpu.rip = at;
	t->cpu.halted = false;
	for (int i = 0; i < 100 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
}

static inline void emu_test_run(struct emu_test *t, const uint8_t *code,
				size_t len)
{
	emu_test_run_at(t, EMU_TEST_CODE, code, len);
}

/* The vector whose stub the CPU halted in, or -1 (halted in test code) */
static inline int emu_test_vector(struct emu_test *t)
{
	uint64_t r = t->cpu.rip - 1;

	if (r >= EMU_TEST_STUBS && r < EMU_TEST_STUB(32) && !(r & 15))
		return (r - EMU_TEST_STUBS) / 16;
	return -1;
}

#define EMU_FLAGS (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#endif
