// SPDX-License-Identifier: MIT
/*
 * The translated instructions whose flags need care (jit_ops.c picks
 * them): shifts and rotates, whose undefined flags must be the
 * interpreter's (alu_shift), MUL/IMUL (SF ZF PF of the low result, AF
 * kept), DIV/IDIV (flags kept; left to the interpreter's #DE unless the
 * quotient is sure to fit) and BT (CF alone).
 */
#include "accel/emu/jit_gen.h"

/* Group 2 (ROL .. SAR) of x by c, or by CL when c < 0 */
static void shift_by(struct jbuf *b, int size, int op, struct jop x, int c)
{
	if (c < 0)
		jx(b, size, 0xd2 + (size != 1), 1, op, x);
	else
		j_shift_mi(b, size, op, x, c);
}

/*
 * SHR by c > 1 (or CL) with the flags live: OF is the old top bit, which
 * a SHR by 1 of the old value sets; SF ZF PF CF come from the shift
 * through AH (SAHF leaves OF alone), with AF cleared. No POPFQ, which
 * costs tens of cycles. Clobbers RAX and RSI (x is a register, [RCX] or
 * [RDI]).
 */
static void gen_shr_flags(struct jgen *g, struct jop x, int size, int c)
{
	struct jbuf *b = &g->b;

	j_mov_rm(b, size, HRSI, x);
	shift_by(b, size, 5, x, c);
	jb8(b, 0x9f);				/* lahf */
	jb8(b, 0x80);				/* and ah, ~AF */
	jb8(b, 0xe4);
	jb8(b, (uint8_t)~FL_AF);
	j_shift_mi(b, size, 5, jreg(HRSI), 1);	/* OF: the old top bit */
	jb8(b, 0x9e);				/* sahf */
}

/* Clear AF in the host's flags, the others kept (clobbers RAX) */
static void gen_clear_af(struct jbuf *b)
{
	jb8(b, 0x9f);				/* lahf */
	jb8(b, 0x0f);				/* seto al */
	jb8(b, 0x90);
	jb8(b, 0xc0);
	jb8(b, 0x80);				/* and ah, ~AF */
	jb8(b, 0xe4);
	jb8(b, (uint8_t)~FL_AF);
	jb8(b, 0x04);				/* add al, 0x7f: OF */
	jb8(b, 0x7f);
	jb8(b, 0x9e);				/* sahf */
}

/*
 * ROL/ROR/SHL/SHR/SAR x by c (non-zero, below the operand's bits), or by
 * CL when c < 0 (non-zero, masked; below the bits for SHL/SHR/SAR). With
 * the flags live, OF and AF become the interpreter's (alu_shift): a
 * count above one runs as c - 1 and then 1, whose OF the SDM defines
 * as the interpreter computes it, and AF is cleared.
 */
void jit_gen_shift(struct jgen *g, int op, struct jop x, int size, int c)
{
	struct jbuf *b = &g->b;

	if (op == 6)
		op = 4;		/* SAL is SHL */
	if (!g->live_out) {
		shift_by(b, size, op, x, c);
		return;
	}
	if (op == 5 && (c > 1 || c < 0)) {
		gen_shr_flags(g, x, size, c);
		return;
	}
	if (c < 0) {
		j_lea(b, 4, HRCX, jmem(HRCX, -1));	/* keeps the flags */
		shift_by(b, size, op, x, -1);
	} else if (c > 1) {
		j_shift_mi(b, size, op, x, c - 1);
	}
	j_shift_mi(b, size, op, x, 1);
	if (op >= 4)
		gen_clear_af(b);
}

/*
 * ROL/ROR/SHL/SHR/SAR by CL. The count is masked as the hardware masks
 * it, and 0 changes nothing, flags included. SHL/SHR/SAR of 8 or 16 bits
 * by their width or more are the interpreter's (its flags for them).
 */
void jit_gen_shift_cl(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	struct jop x = jmem(HRDI, 0);
	uint8_t *skip = NULL;

	if (e->mem) {
		jit_gen_mem(g, e, size, true);
		j_mov_mr(b, 8, jreg(HRDI), HRCX);	/* CL is the count */
	}
	jit_gen_save(g);
	j_movx(b, 4, false, 1, HRCX, jit_gr(g, e, R_CX, 1));
	j_alu_mi(b, 4, 4, jreg(HRCX), size == 8 ? 63 : 31);
	if (e->op >= 4 && size < 4) {
		j_alu_mi(b, 4, 7, jreg(HRCX), size * 8);
		jit_miss_if(g, 3);				/* jae */
	}
	jit_gen_mem_done(g);
	if (!e->mem)
		x = jit_dest_begin(g, e, e->rm, size, x);
	/* a count of 0 still zero-extends a 32-bit register */
	if (!x.mem && size == 4)
		j_mov_mr(b, 4, x, x.reg);
	if (g->live_out) {
		jb8(b, 0xe3);			/* jrcxz: keeps the flags */
		skip = b->p;
		jb8(b, 0);
	}
	jit_gen_shift(g, e->op, x, size, -1);
	if (skip)
		*skip = (uint8_t)(b->p - skip - 1);
	jit_dest_end(g, e, e->rm, size);
}

/*
 * After a multiply with the flags live (the guest's before it in RDX):
 * CF and OF from the host's multiply, SF ZF PF from the low result in r
 * (size bytes), AF the guest's, as the interpreter computes them.
 * Clobbers RCX and RSI.
 */
static void gen_mul_flags(struct jgen *g, int r, int size)
{
	struct jbuf *b = &g->b;

	j_alu_mr(b, 4, 3, jreg(HRSI), HRSI);		/* sbb esi, esi */
	j_alu_mi(b, 4, 4, jreg(HRSI), FL_CF | FL_OF);
	j_test_mr(b, size, jreg(r), r);
	jb8(b, 0x9c);					/* pushfq; pop rcx */
	jb8(b, 0x59);
	j_alu_mi(b, 4, 4, jreg(HRCX), FL_SF | FL_ZF | FL_PF);
	j_alu_mi(b, 8, 4, jreg(HRDX),
		 ~(uint64_t)(FL_SF | FL_ZF | FL_PF | FL_CF | FL_OF));
	j_alu_mr(b, 8, 1, jreg(HRDX), HRCX);
	j_alu_mr(b, 8, 1, jreg(HRDX), HRSI);
	jb8(b, 0x52);					/* push rdx; popfq */
	jb8(b, 0x9d);
}

/* The guest flags into RDX, when a multiply's must be merged into them */
static void gen_flags_to_rdx(struct jgen *g)
{
	if (!g->live_out)
		return;
	jb8(&g->b, 0x9c);				/* pushfq; pop rdx */
	jb8(&g->b, 0x5a);
}

/* IMUL r, r/m and IMUL r, r/m, imm (32 and 64 bits) */
void jit_gen_imul(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	struct jop x;

	x = e->mem ? jit_gen_mem(g, e, size, false) :
		     jit_gr(g, e, e->rm, size);
	jit_gen_mem_done(g);
	gen_flags_to_rdx(g);
	if (e->kind == DC_IMUL) {
		j_mov_rm(b, size, HRDI, jit_gr(g, e, e->reg, size));
		jx(b, size, 0xaf0f, 2, HRDI, x);
	} else {
		jx(b, size, 0x69, 1, HRDI, x);
		jb32(b, (uint32_t)e->imm);
	}
	if (g->live_out)
		gen_mul_flags(g, HRDI, size);
	jit_set_reg(g, e, e->reg, size, HRDI);
}

/*
 * Before a DIV/IDIV of size bytes by T: leave for the interpreter (which
 * raises the #DE) unless the quotient fits. DIV: the divisor is above
 * the dividend's high half. IDIV: the dividend is its low half sign-
 * extended and the divisor is not -1, so |quotient| <= |low half|.
 * Changes the host flags (the guest's are in AL/AH when needed).
 */
static void gen_div_check(struct jgen *g, const struct dc_entry *e,
			  int size, bool sign)
{
	struct jbuf *b = &g->b;
	struct jop hi = size == 1 ? jmem(HRBX, GPR(R_AX) + 1) :
			jit_gr(g, e, R_DX, size);

	j_test_mr(b, size, jreg(T), T);
	jit_miss_if(g, 4);					/* je */
	if (!sign) {
		j_alu_mr(b, size, 7, hi, T);			/* cmp hi, t */
		jit_miss_if(g, 3);				/* jae */
		return;
	}
	j_alu_mi(b, size, 7, jreg(T), size == 1 ? 0xff : (uint64_t)-1);
	jit_miss_if(g, 4);
	/* the low half's sign in every bit of RDX (DL for bytes) */
	if (size < 4)
		j_movx(b, 4, true, size, HRDX, jit_gr(g, e, R_AX, size));
	else
		j_mov_rm(b, size, HRDX, jit_gr(g, e, R_AX, size));
	j_shift_mi(b, size == 8 ? 8 : 4, 7, jreg(HRDX), size * 8 - 1);
	j_alu_mr(b, size, 7, hi, HRDX);
	jit_miss_if(g, 5);					/* jne */
}

/*
 * MUL, IMUL, DIV, IDIV (F6/F7 /4../7) of AL/AX/EAX/RAX with RDX or AH by
 * e's operand, on the host's RAX and RDX. The byte forms (AH) work on
 * cpu->gpr alone (jit_op_regs leaves them out).
 */
void jit_gen_muldiv(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size, ext = e->modrm_reg;
	bool div = ext >= 6;
	struct jop x;

	x = e->mem ? jit_gen_mem(g, e, size, false) :
		     jit_gr(g, e, e->rm, size);
	if (div) {
		jit_gen_save(g);
		if (size >= 4)
			j_mov_rm(b, size, T, x);
		else
			j_movx(b, 4, false, size, T, x);
		gen_div_check(g, e, size, ext == 7);
		x = jreg(T);
	}
	jit_gen_mem_done(g);
	if (div && g->live_out)
		jb8(b, 0x9c);		/* pushfq: DIV leaves the guest's */
	else if (!div)
		gen_flags_to_rdx(g);
	if (size == 1) {
		j_movx(b, 4, false, div ? 2 : 1, HRAX,
		       jmem(HRBX, GPR(R_AX)));
	} else {
		j_mov_rm(b, size, HRAX, jit_gr(g, e, R_AX, size));
		if (div)
			j_mov_rm(b, size, HRDX, jit_gr(g, e, R_DX, size));
		else if (g->live_out)
			j_mov_mr(b, 8, jreg(T), HRDX);	/* the flags */
	}
	jx(b, size, 0xf6 + (size != 1), 1, ext, x);
	if (!div && g->live_out) {
		if (size == 1) {
			gen_mul_flags(g, HRAX, 1);
		} else {
			j_mov_mr(b, 8, jreg(W), HRDX);
			j_mov_mr(b, 8, jreg(HRDX), T);
			gen_mul_flags(g, HRAX, size);
			j_mov_mr(b, 8, jreg(HRDX), W);
		}
	}
	if (div && g->live_out)
		jb8(b, 0x9d);		/* popfq */
	if (size == 1) {
		j_mov_mr(b, 2, jmem(HRBX, GPR(R_AX)), HRAX);
		return;
	}
	/* (32 bits: the host's upper halves are clear) */
	jit_set_reg(g, e, R_AX, size, HRAX);
	jit_set_reg(g, e, R_DX, size, HRDX);
}

/*
 * BT r/m, imm8: CF alone. Without the flags live it does nothing but its
 * lookup (which may leave for the interpreter's fault).
 */
void jit_gen_bt(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	struct jop x;

	x = e->mem ? jit_gen_mem(g, e, size, false) : jit_greg(e, e->rm, size);
	jit_gen_mem_done(g);
	if (!g->live_out)
		return;
	jb8(b, 0x9c);					/* pushfq */
	jx(b, size, 0xba0f, 2, 4, x);			/* bt x, imm8 */
	jb8(b, e->imm & (size * 8 - 1));
	j_setcc(b, 2, jreg(HRSI));			/* setc sil */
	jx(b, 8, 0x83, 1, 4, jmem(HRSP, 0));		/* and [rsp], ~CF */
	jb8(b, (uint8_t)~FL_CF);
	jx(b, 1, 0x08, 1, HRSI, jmem(HRSP, 0));		/* or [rsp], sil */
	jb8(b, 0x9d);					/* popfq */
}

/* A short forward jump (Jcc rel8, or JMP rel8 for cc < 0) to patch */
static uint8_t *jmp8(struct jbuf *b, int cc)
{
	jb8(b, cc < 0 ? 0xeb : 0x70 + cc);
	jb8(b, 0);
	return b->p - 1;
}

static void patch8(struct jbuf *b, uint8_t *rel)
{
	*rel = (uint8_t)(b->p - rel - 1);
}

/*
 * BSF/BSR r, r/m (32 and 64 bits): ZF alone, set for a source of 0, which
 * leaves the destination as it was (the interpreter's exec_bitscan).
 */
void jit_gen_bitscan(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	struct jop x;
	uint8_t *zero, *done = NULL;

	x = e->mem ? jit_gen_mem(g, e, size, false) : jit_greg(e, e->rm, size);
	jit_gen_mem_done(g);
	j_mov_rm(b, size, T, x);
	if (g->live_out)
		jb8(b, 0x9c);					/* pushfq */
	j_test_mr(b, size, jreg(T), T);
	zero = jmp8(b, 4);					/* jz */
	jx(b, size, 0xbc0f + (e->op << 8), 2, W, jreg(T));
	jit_set_reg(g, e, e->reg, size, W);
	if (g->live_out) {
		jx(b, 8, 0x83, 1, 4, jmem(HRSP, 0));	/* and [rsp], ~ZF */
		jb8(b, (uint8_t)~FL_ZF);
		done = jmp8(b, -1);
		patch8(b, zero);
		jx(b, 8, 0x83, 1, 1, jmem(HRSP, 0));	/* or [rsp], ZF */
		jb8(b, FL_ZF);
		patch8(b, done);
		jb8(b, 0x9d);					/* popfq */
	} else {
		patch8(b, zero);
	}
}

/*
 * SHLD/SHRD r/m, r by an imm8 or CL (32 and 64 bits). A masked count of
 * 0 changes nothing but the zero-extension of a 32-bit register; with the
 * flags live, OF is the sign change and AF clear (alu_shld).
 */
void jit_gen_shld(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size, mask = size == 8 ? 63 : 31;
	bool cl = e->imm == DC_COUNT_CL;
	int c = cl ? -1 : (int)(e->imm & mask);
	struct jop x = jmem(HRCX, 0), res;
	uint8_t *skip = NULL;

	if (e->mem) {
		jit_gen_mem(g, e, size, true);
		if (cl) {
			j_mov_mr(b, 8, jreg(HRDI), HRCX);	/* CL is the count */
			x = jmem(HRDI, 0);
		}
	}
	if (cl) {
		jit_gen_save(g);
		j_movx(b, 4, false, 1, HRCX, jmem(HRBX, GPR(R_CX)));
		j_alu_mi(b, 4, 4, jreg(HRCX), mask);
	}
	jit_gen_mem_done(g);
	x = jit_dest_begin(g, e, e->rm, size, x);
	if (c) {
		j_mov_rm(b, size, V, jit_greg(e, e->reg, size));
		if (g->live_out) {
			j_mov_rm(b, size, T, x);
			if (cl) {
				jb8(b, 0xe3);		/* jrcxz: keeps the flags */
				skip = b->p;
				jb8(b, 0);
			}
		}
		jx(b, size, (cl ? 0xa50f : 0xa40f) + (e->op << 11), 2, V, x);
		if (!cl)
			jb8(b, c);
		if (g->live_out) {
			res = x;
			jb8(b, 0x9c);			/* pushfq; pop rdx */
			jb8(b, 0x5a);
			j_alu_mi(b, 8, 4, jreg(HRDX),
				 ~(uint64_t)(FL_AF | FL_OF));
			j_mov_rm(b, size, HRSI, res);
			j_alu_mr(b, 8, 6, jreg(HRSI), T);	/* xor */
			j_shift_mi(b, 8, 5, jreg(HRSI), size * 8 - 1);
			j_shift_mi(b, 8, 4, jreg(HRSI), 11);
			j_alu_mr(b, 8, 1, jreg(HRDX), HRSI);
			jb8(b, 0x52);			/* push rdx; popfq */
			jb8(b, 0x9d);
			if (skip)
				*skip = (uint8_t)(b->p - skip - 1);
		}
	}
	jit_dest_end(g, e, e->rm, size);
}
