// SPDX-License-Identifier: MIT
/*
 * Translated SSE/SSE2 arithmetic (DC_SSE, dcache_sse.c's forms): each runs
 * as the host's own instruction on copies of the guest's XMM registers
 * (cpu->xmm) in the host's XMM0 (destination) and XMM1 (source), or on
 * the host address of a memory source after its lookup, and the result
 * is stored back. The interpreter (sse.c, sse_float.c) computes these
 * forms with the same host operations, so the results are its own:
 *
 * - packed integer ops, logic, unpacks, shuffles, shifts by an imm8,
 *   PMOVMSKB/MOVMSKPS/PD, and the 8-byte moves of an XMM half (MOVLPD
 *   and the like, done with RDX): exact in any state;
 * - floating point (scalar and packed double arithmetic, scalar single
 *   add/sub/mul/div/sqrt, conversions, (U)COMISS/SD): the interpreter
 *   rounds to nearest with every exception masked, which is the host's
 *   MXCSR in the VMM, so these run only while the guest's MXCSR (status
 *   bits aside) is the default 1F80H and otherwise leave for the
 *   interpreter before the instruction. The status flags they set in
 *   the host's MXCSR go to the guest's after the run (sse_mxcsr.c).
 *
 * A block's first SSE instruction leaves for the interpreter when CR0 or
 * CR4 make SSE raise #UD or #NM (jit_gen_sse_avail). A 16-byte memory
 * source must be 16-byte aligned (the SDM's #GP for
 * legacy SSE operands): a misaligned one leaves for the interpreter, as
 * does one that misses the soft TLB; the interpreter then does what it
 * does (raises the fault). Scalar memory operands (4 or 8 bytes) take the
 * usual lookup. Nothing is written before the lookups and the check.
 */
#include "accel/emu/jit_gen.h"

#define XMM(r)		(OFF(xmm) + 16 * (r))
#define MXCSR_DEFAULT	0x1f80u
#define MXCSR_STATUS	0x3fu

enum sse_class {
	S_NONE,
	S_P128,		/* xmm op= xmm/m128 [, imm8] */
	S_PFP,		/* the same, floating point (MXCSR checked) */
	S_SHIFT,	/* 66 0F 71..73 /n xmm, imm8 */
	S_MOVMSK,	/* r32 = sign bits of xmm */
	S_SCALAR,	/* xmm op= xmm/m32 or m64 (floating point) */
	S_COMIS,	/* flags = compare xmm, xmm/m32 or m64 */
	S_CVTSI,	/* xmm low = (float) r/m32 or r/m64 */
	S_CVT2SI,	/* r32/r64 = (int) xmm/m32 or m64 */
	S_HALF,		/* MOVLPS/MOVHPS/MOVLPD/MOVHPD, MOVHLPS/MOVLHPS */
};

static enum sse_class sse_class(const struct dc_entry *e)
{
	int pfx = e->size2;
	uint8_t op = e->op;
	int ext = e->modrm_reg;

	if (op >= 0x71 && op <= 0x73) {
		if (e->mem)
			return S_NONE;
		if (ext == 2 || ext == 6 || (ext == 4 && op != 0x73) ||
		    (op == 0x73 && (ext == 3 || ext == 7)))
			return S_SHIFT;
		return S_NONE;
	}
	if (op >= 0x12 && op <= 0x17 && op != 0x14 && op != 0x15) {
		/* the stores need memory; MOVHLPS/MOVLHPS have no 66 */
		if (e->mem ? true : !(op & 1) && pfx == DC_PFX_NONE)
			return S_HALF;
		return S_NONE;
	}
	if (op == 0x50 || op == 0xd7)
		return e->mem ? S_NONE : S_MOVMSK;
	if (op == 0x2e || op == 0x2f)
		return S_COMIS;
	if (op == 0x2a)
		return S_CVTSI;
	if (op == 0x2c || op == 0x2d)
		return S_CVT2SI;
	if (pfx == DC_PFX_F3 || pfx == DC_PFX_F2)
		return op == 0x70 ? S_P128 : S_SCALAR;
	if (op == 0x51 || (op >= 0x58 && op <= 0x5f))
		return S_PFP;
	return S_P128;
}

bool jit_sse_supported(const struct dc_entry *e)
{
	return sse_class(e) != S_NONE;
}

/* The floating-point forms: checked against the guest's MXCSR */
static bool sse_fp(enum sse_class c)
{
	return (c >= S_SCALAR && c <= S_CVT2SI) || c == S_PFP;
}

bool jit_sse_writes_flags(const struct dc_entry *e)
{
	return sse_class(e) == S_COMIS;
}

void jit_sse_flag_use(const struct dc_entry *e, bool *reads, bool *sets)
{
	enum sse_class c = sse_class(e);

	/* a lookup, the CR0/CR4 or the MXCSR check leaves before it */
	*reads = true;
	*sets = c == S_COMIS;
}

/* The host instruction: [prefix] [REX] 0F op reg, rm */
static void sse_op(struct jbuf *b, const struct dc_entry *e, int size,
		   int reg, struct jop rm)
{
	if (e->size2 == DC_PFX_F3)
		jb8(b, 0xf3);
	else if (e->size2 == DC_PFX_F2)
		jb8(b, 0xf2);
	jx(b, e->size2 == DC_PFX_66 ? 2 : size, 0x0f | e->op << 8, 2, reg,
	   rm);
}

/* MOVDQU xmm<x>, m (F3 0F 6F) and MOVDQU m, xmm<x> (F3 0F 7F) */
static void movdqu(struct jbuf *b, bool load, int x, struct jop m)
{
	jb8(b, 0xf3);
	jx(b, 4, load ? 0x6f0f : 0x7f0f, 2, x, m);
}

/*
 * Leave before the instruction unless the guest's MXCSR is the default
 * but for its status bits (the flags are saved around the compare); once
 * a block: no translated instruction changes MXCSR
 */
static void gen_mxcsr_check(struct jgen *g)
{
	struct jbuf *b = &g->b;
	uint8_t *done;

	if (g->mxcsr_ok)
		return;
	g->mxcsr_ok = true;
	jit_gen_save(g);
	j_mov_rm(b, 4, T, jmem(HRBX, OFF(mxcsr)));
	j_alu_mi(b, 4, 4, jreg(T), ~MXCSR_STATUS);		/* and */
	j_alu_mi(b, 4, 7, jreg(T), MXCSR_DEFAULT);		/* cmp */
	jit_miss_if(g, 5);					/* jne */
	/*
	 * The run's first: clear the host's flags, which the VMM's own
	 * floating point may have set since, so that those the run loop
	 * takes after the run are the translated code's (sse_mxcsr.c)
	 */
	j_alu_mi(b, 1, 7, jmem(HRBX, OFF(jit_fp)), 0);		/* cmp */
	done = j_jcc(b, 5);					/* jne */
	j_mov_mi(b, 1, jmem(HRBX, OFF(jit_fp)), 1);
	jx(b, 4, 0xae0f, 2, 3, jmem(HRBX, OFF(jit_mxcsr)));	/* stmxcsr */
	j_alu_mi(b, 4, 4, jmem(HRBX, OFF(jit_mxcsr)), ~MXCSR_STATUS);
	jx(b, 4, 0xae0f, 2, 2, jmem(HRBX, OFF(jit_mxcsr)));	/* ldmxcsr */
	j_patch(done, b->p);
}

/*
 * Leave before the instruction when CR0.EM or CR0.TS is set or
 * CR4.OSFXSR clear (the interpreter raises its #UD or #NM); once a block:
 * no translated instruction changes CR0 or CR4. The flags stay saved
 * (when it checks) until jit_gen_mem_done.
 */
void jit_gen_sse_avail(struct jgen *g)
{
	struct jbuf *b = &g->b;

	if (g->sse_ok)
		return;
	g->sse_ok = true;
	jit_gen_save(g);
	j_test_mi(b, 4, jmem(HRBX, OFF(cr0)), CR0_EM | CR0_TS);
	jit_miss_if(g, 5);					/* jne */
	j_test_mi(b, 4, jmem(HRBX, OFF(cr4)), CR4_OSFXSR);
	jit_miss_if(g, 4);					/* je */
}

/* RCX = host address of e's 16 aligned bytes, or a miss exit */
static void gen_mem16(struct jgen *g, const struct dc_entry *e)
{
	jit_gen_ea(g, e, true);
	jit_gen_save(g);
	j_test_mi(&g->b, 4, jreg(HRDI), 15);
	jit_miss_if(g, 5);					/* jne */
	/* within the page: the 8-byte lookup checks it all */
	jit_gen_tlb(g, 8, false);
}

/* The scalar source's size: 4 for single precision, else 8 */
static int scalar_size(const struct dc_entry *e)
{
	if (e->op == 0x2e || e->op == 0x2f)
		return e->size2 == DC_PFX_66 ? 8 : 4;
	return e->size2 == DC_PFX_F3 ? 4 : 8;
}

/* The byte offset of the XMM half that MOVLPS..MOVHPD move: 0 or 8 */
static int32_t op_half(const struct dc_entry *e)
{
	return e->op >= 0x16 ? 8 : 0;
}

void jit_gen_sse(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	enum sse_class c = sse_class(e);
	struct jop src;

	jit_gen_sse_avail(g);
	if (sse_fp(c))
		gen_mxcsr_check(g);
	switch (c) {
	case S_P128:
	case S_PFP:
		if (e->mem)
			gen_mem16(g, e);
		jit_gen_mem_done(g);
		movdqu(b, true, 0, jmem(HRBX, XMM(e->reg)));
		if (e->mem) {
			src = jmem(HRCX, 0);
		} else {
			movdqu(b, true, 1, jmem(HRBX, XMM(e->rm)));
			src = jreg(1);
		}
		sse_op(b, e, 4, 0, src);
		if (dc_sse_form(e->size2, e->op) == DC_SSE_IMM8)
			jb8(b, e->imm);
		movdqu(b, false, 0, jmem(HRBX, XMM(e->reg)));
		break;
	case S_SHIFT:
		jit_gen_mem_done(g);
		movdqu(b, true, 0, jmem(HRBX, XMM(e->rm)));
		sse_op(b, e, 4, e->modrm_reg, jreg(0));
		jb8(b, e->imm);
		movdqu(b, false, 0, jmem(HRBX, XMM(e->rm)));
		break;
	case S_MOVMSK:
		jit_gen_mem_done(g);
		movdqu(b, true, 1, jmem(HRBX, XMM(e->rm)));
		sse_op(b, e, 4, HRDX, jreg(1));
		j_mov_mr(b, 8, jmem(HRBX, GPR(e->reg)), HRDX);
		break;
	case S_SCALAR:
	case S_COMIS:
		src = e->mem ? jit_gen_mem(g, e, scalar_size(e), false) :
			       jmem(HRBX, XMM(e->rm));
		jit_gen_mem_done(g);
		movdqu(b, true, 0, jmem(HRBX, XMM(e->reg)));
		sse_op(b, e, 4, 0, src);
		if (c == S_SCALAR)
			movdqu(b, false, 0, jmem(HRBX, XMM(e->reg)));
		break;
	case S_CVTSI:
		src = e->mem ? jit_gen_mem(g, e, e->size, false) :
			       jit_greg(e, e->rm, e->size);
		jit_gen_mem_done(g);
		movdqu(b, true, 0, jmem(HRBX, XMM(e->reg)));
		sse_op(b, e, e->size, 0, src);
		movdqu(b, false, 0, jmem(HRBX, XMM(e->reg)));
		break;
	case S_CVT2SI:
		src = e->mem ? jit_gen_mem(g, e, scalar_size(e), false) :
			       jmem(HRBX, XMM(e->rm));
		jit_gen_mem_done(g);
		sse_op(b, e, e->size, HRDX, src);
		/* a 32-bit result zero-extends */
		j_mov_mr(b, 8, jmem(HRBX, GPR(e->reg)), HRDX);
		break;
	case S_HALF: {
		int32_t half = op_half(e);

		src = e->mem ? jit_gen_mem(g, e, 8, e->op & 1) :
			       jmem(HRBX, XMM(e->rm) + 8 - half);
		jit_gen_mem_done(g);
		if (e->op & 1) {
			j_mov_rm(b, 8, HRDX, jmem(HRBX, XMM(e->reg) + half));
			j_mov_mr(b, 8, src, HRDX);
		} else {
			j_mov_rm(b, 8, HRDX, src);
			j_mov_mr(b, 8, jmem(HRBX, XMM(e->reg) + half), HRDX);
		}
		break;
	}
	case S_NONE:
		break;
	}
}
