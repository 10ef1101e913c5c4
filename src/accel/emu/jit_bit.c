// SPDX-License-Identifier: MIT
/*
 * BT, BTS, BTR and BTC of a register or memory (32 and 64 bits) by an
 * imm8 or a register, as the interpreter's exec_bt does them.
 *
 * A register's bit offset on memory is signed and reaches beyond the
 * operand: the operand is the one at the effective address plus
 * (offset >> 3) rounded down to the operand size, and the bit within it
 * the offset's low bits. The block computes that address itself and hands
 * the host's instruction only the bit within the operand (the host would
 * do the same addressing on a host address otherwise).
 *
 * Flags: CF is the bit's old value; the interpreter keeps the others,
 * which the host leaves undefined, so CF alone goes into the saved guest
 * flags (AH) and the rest come back from there.
 */
#include "accel/emu/jit_gen.h"

/* RDI += (sign-extended register reg >> 3) rounded down to size bytes */
static void gen_bit_offset(struct jgen *g, const struct dc_entry *e,
			   int size)
{
	struct jbuf *b = &g->b;

	if (size == 8)
		j_mov_rm(b, 8, HRSI, jit_greg(e, e->reg, 8));
	else
		jx(b, 8, 0x63, 1, HRSI, jit_greg(e, e->reg, 4)); /* movsxd */
	j_shift_mi(b, 8, 7, jreg(HRSI), 3);			/* sar */
	j_alu_mi(b, 8, 4, jreg(HRSI), (uint64_t)-size);	/* and */
	j_alu_mr(b, 8, 0, jreg(HRDI), HRSI);			/* add */
}

/* The operand of a register-offset form on memory, at [RCX] */
static struct jop gen_bit_mem(struct jgen *g, const struct dc_entry *e,
			      int size)
{
	struct jbuf *b = &g->b;

	jit_gen_ea(g, e, true);
	gen_bit_offset(g, e, size);
	jit_gen_tlb(g, size, e->op != 0);
	if (e->lock) {
		/* across a cache line: the interpreter's (no split lock) */
		j_mov_mr(b, 4, jreg(HRSI), HRCX);
		j_alu_mi(b, 4, 4, jreg(HRSI), 63);		/* and */
		j_alu_mi(b, 4, 7, jreg(HRSI), 64 - size);	/* cmp */
		jit_miss_if(g, 7);				/* ja */
	}
	return jmem(HRCX, 0);
}

void jit_gen_btx(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size;
	bool from_reg = e->imm == DC_BIT_REG, write = e->op != 0;
	struct jop x;

	/* the host's BT changes flags the guest keeps */
	jit_gen_save(g);
	if (e->mem && from_reg)
		x = gen_bit_mem(g, e, size);
	else if (e->mem)
		x = jit_gen_mem(g, e, size, write);
	else if (write)
		x = jit_dest_begin(g, e, e->rm, size, jmem(HRCX, 0));
	else
		x = jit_greg(e, e->rm, size);
	if (from_reg) {
		j_mov_rm(b, 4, HRDX, jit_greg(e, e->reg, 4));
		j_alu_mi(b, 4, 4, jreg(HRDX), size * 8 - 1);	/* and */
		if (e->lock)
			jb8(b, 0xf0);
		/* BT, BTS, BTR, BTC x, edx */
		jx(b, size, 0x0f | (0xa3 + 8 * e->op) << 8, 2, HRDX, x);
	} else {
		if (e->lock)
			jb8(b, 0xf0);
		jx(b, size, 0xba0f, 2, 4 + e->op, x);
		jb8(b, e->imm & (size * 8 - 1));
	}
	if (g->live_out && g->saved) {
		j_setcc(b, 2, jreg(HRDX));			/* setc dl */
		jb8(b, 0x80);					/* and ah, ~CF */
		jb8(b, 0xe4);
		jb8(b, (uint8_t)~FL_CF);
		jb8(b, 0x08);					/* or ah, dl */
		jb8(b, 0xd4);
	}
	if (write && !e->mem)
		jit_dest_end(g, e, e->rm, size);
	jit_gen_mem_done(g);
}
