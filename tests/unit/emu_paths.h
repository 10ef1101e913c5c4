/* SPDX-License-Identifier: MIT */
/*
 * The three ways the emu runs code, for tests that compare them: the
 * general decoder alone, with the decode cache, with the translator
 * (eager: a block is made the first time it is asked for). A CPU for
 * each in 64-bit mode or flat 32-bit protected mode, at CPL 0 or 3.
 */
#ifndef CVISOR_TEST_EMU_PATHS_H
#define CVISOR_TEST_EMU_PATHS_H

#include "accel/emu/jit.h"
#include "emu_test.h"

#define EMU_PATH_TSS	0x3000ULL
#define EMU_PATH_IDT32	0x2000ULL
#define EMU_SEL_UDATA	0x33
#define EMU_SEL_UCODE	0x3b

enum { EMU_GENERAL, EMU_DCACHE, EMU_JIT, EMU_PATHS };

static inline const char *emu_path_name(int path)
{
	static const char *const name[] = { "general decoder",
					    "decode cache", "translator" };

	return name[path];
}

/*
 * A CPU for path in 64-bit mode (code64) or flat 32-bit protected mode
 * without paging, with DPL 3 code and data at EMU_SEL_UCODE and
 * EMU_SEL_UDATA, a TSS whose RSP0 exceptions from CPL 3 take, the GPRs
 * pointing at EMU_TEST_DATA but for RCX (1) and RSP
 */
static inline struct emu_test *emu_path_cpu(int path, bool code64)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;

	if (path == EMU_GENERAL) {
		dcache_destroy(c->dcache);
		c->dcache = NULL;
	} else if (path == EMU_JIT) {
		c->jit = jit_create();
		if (!c->jit)
			abort();
		jit_eager(c->jit);
	}
	emu_test_w64(t, EMU_TEST_GDT + 0x30, 0x00cff3000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x38, 0x00affb000000ffffULL);
	c->gdt.limit = 0x3f;
	emu_test_w64(t, EMU_PATH_TSS + 4, EMU_TEST_STACK);
	c->tr = (struct x86_segment){ .selector = 0x40, .base = EMU_PATH_TSS,
		.limit = 0x67, .type = 0xb, .present = 1 };
	for (int r = 0; r < 16; r++)
		c->gpr[r] = EMU_TEST_DATA;
	c->gpr[R_CX] = 1;
	c->gpr[R_SP] = EMU_TEST_STACK;
	if (!code64) {
		for (uint64_t v = 0; v < 32; v++) {
			uint64_t h = EMU_TEST_STUB(v);

			emu_test_w64(t, EMU_PATH_IDT32 + v * 8, (h & 0xffff) |
				     (0x18ULL << 16) | (0x8eULL << 40) |
				     ((h >> 16) << 48));
		}
		c->idt = (struct x86_dtable){ EMU_PATH_IDT32, 32 * 8 - 1 };
		c->cr0 &= ~(uint64_t)X86_CR0_PG;
		c->cr4 = CR4_OSFXSR;
		c->efer = 0;
		c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x18,
			.type = 0xb, .s = 1, .present = 1, .db = 1, .g = 1,
			.limit = 0xffffffff };
		cpu_update_mode(c);
		tlb_flush(c, true);
	}
	return t;
}

/* To CPL 3 in 64-bit mode */
static inline void emu_path_cpl3(struct emu_cpu *c)
{
	c->seg[SEG_CS] = (struct x86_segment){ .selector = EMU_SEL_UCODE,
		.type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1, .dpl = 3,
		.limit = 0xffffffff };
	c->seg[SEG_SS] = (struct x86_segment){ .selector = EMU_SEL_UDATA,
		.type = 3, .s = 1, .present = 1, .db = 1, .g = 1, .dpl = 3,
		.limit = 0xffffffff };
	cpu_update_mode(c);
}

static inline void emu_path_free(struct emu_test *t)
{
	if (t->cpu.jit)
		jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

#endif
