// SPDX-License-Identifier: MIT
/*
 * XCHG, CMPXCHG and XADD r/m, r. On memory they are the host's
 * instructions on the host address, LOCKed when the guest's are (XCHG
 * always is), so that another vCPU thread sees them atomic as on
 * hardware. Registers are written as the interpreter writes them: the
 * r/m operand first (a 32-bit one zero-extended; CMPXCHG writes a
 * register operand only when equal, as hardware does), then the register
 * operand or the accumulator.
 */
#include "accel/emu/jit_gen.h"

/* Zero the upper half of a 32-bit register operand the host wrote */
static void zero_upper(struct jgen *g, const struct dc_entry *e, int r)
{
	if (!e->mem && e->size == 4)
		j_mov_mi(&g->b, 4, jmem(HRBX, GPR(r) + 4), 0);
}

void jit_gen_xchg(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	int size = e->size, w = size != 1;
	struct jop x;

	x = e->mem ? jit_gen_mem(g, e, size, true) : jit_greg(e, e->rm, size);
	jit_gen_mem_done(g);
	j_mov_rm(b, size, V, jit_greg(e, e->reg, size));
	switch (e->kind) {
	case DC_XCHG:
		if (e->mem) {
			jx(b, size, 0x86 + w, 1, V, x);	/* atomic */
		} else {
			j_mov_rm(b, size, HRSI, x);
			jit_set_reg(g, e, e->rm, size, V);
			j_mov_mr(b, 8, jreg(V), HRSI);
		}
		break;
	case DC_CMPXCHG: {
		uint8_t *same;

		j_mov_rm(b, size, HRAX, jit_greg(e, R_AX, size));
		if (e->lock)
			jb8(b, 0xf0);
		jx(b, size, 0xb00f + (w << 8), 2, V, x);
		if (!e->mem && size == 4) {
			uint8_t *ne;

			/* a register written only when equal: zero-extended */
			jb8(b, 0x75);				/* jnz */
			ne = b->p;
			jb8(b, 0);
			zero_upper(g, e, e->rm);
			*ne = (uint8_t)(b->p - ne - 1);
		}
		/* unequal: the accumulator gets what the operand held */
		jb8(b, 0x74);					/* jz */
		same = b->p;
		jb8(b, 0);
		j_mov_mr(b, size == 4 ? 8 : size, jit_greg(e, R_AX, size),
			 HRAX);
		*same = (uint8_t)(b->p - same - 1);
		return;
	}
	default:	/* XADD */
		if (e->lock)
			jb8(b, 0xf0);
		jx(b, size, 0xc00f + (w << 8), 2, V, x);
		zero_upper(g, e, e->rm);
		if (!e->mem && e->rm == e->reg)
			return;	/* XADD r, r: the sum, written last, stays */
		break;
	}
	jit_set_reg(g, e, e->reg, size, V);
}
