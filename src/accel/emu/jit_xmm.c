// SPDX-License-Identifier: MIT
/*
 * The translated SSE moves: MOVUPS/MOVAPS/MOVDQU/MOVDQA and their stores,
 * PXOR of registers, MOVSS/MOVSD, MOVD/MOVQ (after jit_gen_sse_avail's
 * check of CR0 and CR4). Guest XMM registers live in
 * cpu->xmm; the host's XMM0 and XMM1 (caller-saved) carry 16 bytes, RDX
 * 8 or fewer. None changes the flags. An aligned form on a misaligned
 * address, and a 16-byte access across a page end, leave for the
 * interpreter (its #GP, its two pages).
 */
#include "accel/emu/jit_gen.h"

#define XMM(r)		(OFF(xmm) + 16 * (r))

/* MOVDQU xmm<x>, m (F3 0F 6F) and MOVDQU m, xmm<x> (F3 0F 7F) */
static void j_movdqu(struct jbuf *b, bool load, int x, struct jop m)
{
	jb8(b, 0xf3);
	jx(b, 4, load ? 0x6f0f : 0x7f0f, 2, x, m);
}

/* RCX = host address of e's 16 bytes, or a miss exit */
static void gen_mem16(struct jgen *g, const struct dc_entry *e, bool write,
		      bool aligned)
{
	struct jbuf *b = &g->b;

	jit_gen_ea(g, e, true);
	jit_gen_save(g);
	if (aligned) {
		j_test_mi(b, 4, jreg(HRDI), 15);
		jit_miss_if(g, 5);				/* jne */
	} else {
		j_mov_mr(b, 4, jreg(HRSI), HRDI);
		j_alu_mi(b, 4, 4, jreg(HRSI), 0xfff);
		j_alu_mi(b, 4, 7, jreg(HRSI), 4096 - 16);
		jit_miss_if(g, 7);				/* ja */
	}
	/* within the page: the 8-byte lookup checks it all */
	jit_gen_tlb(g, 8, write);
	jit_gen_mem_done(g);
}

/* XMM register d's low 8 bytes = RDX, its high 8 bytes 0 */
static void set_low(struct jbuf *b, int d)
{
	j_mov_mr(b, 8, jmem(HRBX, XMM(d)), HRDX);
	j_mov_mi(b, 8, jmem(HRBX, XMM(d) + 8), 0);
}

void jit_gen_xmm(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	struct jop x;
	int w = e->op;

	jit_gen_sse_avail(g);
	jit_gen_mem_done(g);
	switch (e->kind) {
	case DC_XMM_LOAD:
		if (e->mem)
			gen_mem16(g, e, false, e->op);
		j_movdqu(b, true, 0, e->mem ? jmem(HRCX, 0) :
			 jmem(HRBX, XMM(e->rm)));
		j_movdqu(b, false, 0, jmem(HRBX, XMM(e->reg)));
		break;
	case DC_XMM_STORE:
		if (e->mem)
			gen_mem16(g, e, true, e->op);
		j_movdqu(b, true, 0, jmem(HRBX, XMM(e->reg)));
		j_movdqu(b, false, 0, e->mem ? jmem(HRCX, 0) :
			 jmem(HRBX, XMM(e->rm)));
		break;
	case DC_PXOR:
		j_movdqu(b, true, 0, jmem(HRBX, XMM(e->reg)));
		j_movdqu(b, true, 1, jmem(HRBX, XMM(e->rm)));
		jx(b, 2, 0xef0f, 2, 0, jreg(1));		/* pxor xmm0, xmm1 */
		j_movdqu(b, false, 0, jmem(HRBX, XMM(e->reg)));
		break;
	case DC_XMM_SCALAR:	/* MOVSS/MOVSD: w bytes */
		if (e->size2) {
			x = e->mem ? jit_gen_mem(g, e, w, false) :
				     jmem(HRBX, XMM(e->rm));
			jit_gen_mem_done(g);
			j_mov_rm(b, w, HRDX, x);
			if (e->mem)
				set_low(b, e->reg);
			else
				j_mov_mr(b, w, jmem(HRBX, XMM(e->reg)), HRDX);
		} else {
			x = e->mem ? jit_gen_mem(g, e, w, true) :
				     jmem(HRBX, XMM(e->rm));
			jit_gen_mem_done(g);
			j_mov_rm(b, w, HRDX, jmem(HRBX, XMM(e->reg)));
			j_mov_mr(b, w, x, HRDX);
		}
		break;
	case DC_MOVQ:
		switch (e->op) {
		case 0:		/* MOVD/MOVQ xmm, r/m */
			x = e->mem ? jit_gen_mem(g, e, e->size, false) :
				     jit_greg(e, e->rm, e->size);
			jit_gen_mem_done(g);
			j_mov_rm(b, e->size, HRDX, x);
			set_low(b, e->reg);
			break;
		case 1:		/* MOVD/MOVQ r/m, xmm */
			x = e->mem ? jit_gen_mem(g, e, e->size, true) :
				     jit_greg(e, e->rm, e->size);
			jit_gen_mem_done(g);
			j_mov_rm(b, e->size, HRDX, jmem(HRBX, XMM(e->reg)));
			j_mov_mr(b, e->mem || e->size == 8 ? e->size : 8, x,
				 HRDX);
			break;
		case 2:		/* MOVQ xmm, xmm/m64 */
			x = e->mem ? jit_gen_mem(g, e, 8, false) :
				     jmem(HRBX, XMM(e->rm));
			jit_gen_mem_done(g);
			j_mov_rm(b, 8, HRDX, x);
			set_low(b, e->reg);
			break;
		default:	/* MOVQ xmm/m64, xmm */
			x = e->mem ? jit_gen_mem(g, e, 8, true) :
				     jmem(HRBX, XMM(e->rm));
			jit_gen_mem_done(g);
			j_mov_rm(b, 8, HRDX, jmem(HRBX, XMM(e->reg)));
			if (e->mem)
				j_mov_mr(b, 8, x, HRDX);
			else
				set_low(b, e->rm);
			break;
		}
		break;
	}
}
