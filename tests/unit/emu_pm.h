/* SPDX-License-Identifier: MIT */
/*
 * Protected-mode set-ups for the emu tests, on emu_test.h's machine: a
 * GDT with user (DPL 3) code, data and stack segments beside its own,
 * 32-bit interrupt gates, a TSS at TSS with the ring-0 stack 0x10:0x90000.
 */
#ifndef CVISOR_TEST_EMU_PM_H
#define CVISOR_TEST_EMU_PM_H

#include "emu_test.h"

#define GP	13
#define SS	12
#define NP	11
#define TS	10

/* A code or data segment descriptor; fl: its bits 52-55 (DB 4, G 8) */
#define DESC(base, limit, type, dpl, fl)                                   \
	(((limit) & 0xffffULL) | ((uint64_t)(base) & 0xffffff) << 16 |     \
	 (uint64_t)(type) << 40 | 1ULL << 44 | (uint64_t)(dpl) << 45 |     \
	 1ULL << 47 | (((uint64_t)(limit) >> 16) & 0xf) << 48 |            \
	 (uint64_t)(fl) << 52 | ((uint64_t)(base) >> 24) << 56)
#define NOT_PRESENT	(~(1ULL << 47))
#define DB	4
#define G	8
#define RO	0x1	/* read-only data, accessed */
#define RW	0x3
#define RW_DOWN	0x7	/* expand-down */
#define XO	0x9	/* execute-only code */
#define XR	0xb

#define SEL_TEST	0x28	/* the case's segment */
#define SEL_TEST2	0x30
#define SEL_UCODE	0x3b	/* 32-bit code, DPL 3 */
#define SEL_UDATA	0x43	/* flat data, DPL 3 */
#define SEL_USTACK	0x4b	/* data up to 0x7ffff, DPL 3 */
#define TSS		0x3000ULL
#define DATA		0x200000ULL

static inline void gdt_set(struct emu_test *t, unsigned sel, uint64_t desc)
{
	emu_test_w64(t, EMU_TEST_GDT + (sel & ~7u), desc);
}

/* A 32-bit interrupt gate to vector v's HLT stub through code sel */
static inline void gate32(struct emu_test *t, int v, uint16_t sel)
{
	uint64_t h = EMU_TEST_STUB(v);

	emu_test_w64(t, EMU_TEST_IDT + v * 8,
		     (h & 0xffff) | (uint64_t)sel << 16 | 0x8eULL << 40 |
		     (h >> 16) << 48);
}

/*
 * 32-bit protected mode, no paging, at CPL 0: CS 0x18 and the data
 * segments 0x10 flat, interrupt gates to the HLT stubs through 0x18, a
 * TSS whose ring-0 stack is 0x10:0x90000
 */
static inline struct emu_test *pm32(void)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;

	for (int v = 0; v < 32; v++)
		gate32(t, v, 0x18);
	gdt_set(t, SEL_UCODE, DESC(0, 0xfffff, XR, 3, DB | G));
	gdt_set(t, SEL_UDATA, DESC(0, 0xfffff, RW, 3, DB | G));
	gdt_set(t, SEL_USTACK, DESC(0, 0x7ffff, RW, 3, DB));
	c->gdt.limit = 0x4f;
	c->idt = (struct x86_dtable){ EMU_TEST_IDT, 32 * 8 - 1 };
	c->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	c->cr4 = 0;
	c->efer = 0;
	c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x18, .type = XR,
		.s = 1, .present = 1, .db = 1, .g = 1, .limit = 0xffffffff };
	c->tr = (struct x86_segment){ .selector = 0x50, .base = TSS,
		.limit = 0x67, .type = 0xb, .present = 1 };
	emu_test_w64(t, TSS + 4, 0x90000);	/* ESP0 */
	emu_test_w64(t, TSS + 8, 0x10);		/* SS0 */
	cpu_update_mode(c);
	tlb_flush(c, true);
	return t;
}

/* The dword at offset off of the stack (SS base 0 in these tests) */
static inline uint32_t stack32(struct emu_test *t, uint64_t off)
{
	uint32_t v;

	memcpy(&v, emu_test_ptr(t, t->cpu.gpr[R_SP] + off), 4);
	return v;
}

/* CPL 3 with the flat user segments, ESP 0x70000 */
static inline void to_ring3(struct emu_test *t)
{
	struct emu_cpu *c = &t->cpu;
	struct x86_segment d = { .selector = SEL_UDATA, .type = RW, .s = 1,
		.dpl = 3, .present = 1, .db = 1, .g = 1, .limit = 0xffffffff };

	for (int s = SEG_ES; s <= SEG_GS; s++)
		c->seg[s] = d;
	c->seg[SEG_CS] = d;
	c->seg[SEG_CS].selector = SEL_UCODE;
	c->seg[SEG_CS].type = XR;
	c->gpr[R_SP] = 0x70000;
	cpu_update_mode(c);
}

/* The vector whose stub the CPU is about to run, or -1 */
static inline int stub_vector(struct emu_test *t)
{
	uint64_t r = t->cpu.rip;

	if (r >= EMU_TEST_STUBS && r < EMU_TEST_STUB(32) && !(r & 15))
		return (r - EMU_TEST_STUBS) / 16;
	return -1;
}

#endif
