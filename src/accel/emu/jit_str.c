// SPDX-License-Identifier: MIT
/*
 * REP STOS and REP MOVS (64-bit addresses, no segment override) whose
 * strings lie within one page each, done by the host's REP STOS/MOVS on
 * the host addresses: what the interpreter's rep_fast (exec_str.c) does
 * with memset and memmove. Anything else leaves for the interpreter: a
 * count of 0 or more than a page, DF set, a string across a page end, a
 * TLB miss, and a MOVS whose destination starts inside its source above
 * it (where memmove and a forward copy differ). The flags stay as they
 * were.
 */
#include "accel/emu/jit_gen.h"

/* RCX = host address of the count elements of size at guest register r */
static void gen_range(struct jgen *g, int r, int size, bool write)
{
	struct jbuf *b = &g->b;

	j_mov_rm(b, 8, HRDX, jmem(HRBX, GPR(R_CX)));
	j_mov_rm(b, 8, HRDI, jmem(HRBX, GPR(r)));
	j_mov_mr(b, 4, jreg(HRSI), HRDI);
	j_alu_mi(b, 4, 4, jreg(HRSI), 0xfff);
	j_lea(b, 8, HRSI, jmem_idx(HRSI, HRDX, DC_SIZE_SLOT(size), 0));
	j_alu_mi(b, 8, 7, jreg(HRSI), 4096);
	jit_miss_if(g, 7);					/* ja */
	jit_gen_tlb(g, size, write);
}

/* Guest register r += RDX * size (no flags changed) */
static void gen_advance(struct jbuf *b, int r, int size)
{
	j_mov_rm(b, 8, HRSI, jmem(HRBX, GPR(r)));
	j_lea(b, 8, HRSI, jmem_idx(HRSI, HRDX, DC_SIZE_SLOT(size), 0));
	j_mov_mr(b, 8, jmem(HRBX, GPR(r)), HRSI);
}

void jit_gen_rep_str(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	bool movs = e->op;

	jit_gen_save(g);
	/* 1 <= count <= a page of elements, DF clear */
	j_mov_rm(b, 8, HRDX, jmem(HRBX, GPR(R_CX)));
	j_lea(b, 8, HRSI, jmem(HRDX, -1));
	j_alu_mi(b, 8, 7, jreg(HRSI), 4096 / size - 1);
	jit_miss_if(g, 7);					/* ja */
	j_test_mi(b, 1, jmem(HRBX, OFF(rflags) + 1), FL_DF >> 8);
	jit_miss_if(g, 5);					/* jne */
	gen_range(g, R_DI, size, true);
	if (movs) {
		j_mov_mr(b, 8, jreg(T), HRCX);
		gen_range(g, R_SI, size, false);
		/* destination - source below the length: a memmove */
		j_mov_mr(b, 8, jreg(HRSI), T);
		j_alu_mr(b, 8, 5, jreg(HRSI), HRCX);		/* sub */
		j_mov_rm(b, 8, HRDX, jmem(HRBX, GPR(R_CX)));
		j_shift_mi(b, 8, 4, jreg(HRDX), DC_SIZE_SLOT(size));
		j_alu_mr(b, 8, 7, jreg(HRSI), HRDX);
		jit_miss_if(g, 2);				/* jb */
	}
	jit_gen_mem_done(g);
	j_mov_rm(b, 8, HRDX, jmem(HRBX, GPR(R_CX)));
	gen_advance(b, R_DI, size);
	if (movs) {
		gen_advance(b, R_SI, size);
		j_mov_mr(b, 8, jreg(HRSI), HRCX);
		j_mov_mr(b, 8, jreg(HRDI), T);
	} else {
		j_mov_mr(b, 8, jreg(HRDI), HRCX);
		j_mov_rm(b, 8, HRAX, jmem(HRBX, GPR(R_AX)));
	}
	j_mov_mi(b, 8, jmem(HRBX, GPR(R_CX)), 0);
	j_mov_mr(b, 8, jreg(HRCX), HRDX);
	jb8(b, 0xf3);
	if (size == 2)
		jb8(b, 0x66);
	else if (size == 8)
		jb8(b, 0x48);
	jb8(b, (movs ? 0xa4 : 0xaa) + (size != 1));
}
