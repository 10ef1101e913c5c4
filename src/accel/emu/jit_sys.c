// SPDX-License-Identifier: MIT
/*
 * System forms a kernel runs often enough to keep its translated runs
 * going: PUSHF and POPF (64-bit), CLI, STI and MOV r/m, Sreg, each as the
 * interpreter does it (exec.c, exec_ctl.c).
 *
 * What depends on the privilege level is checked at run time, since a
 * block is made for CPL 3 or not: CLI and STI leave for the interpreter
 * (and its #GP) when CPL > IOPL, POPF unless CPL is 0 (then IF and IOPL
 * are among what it loads). An instruction that lets interrupts in ends
 * the run with RIP after it: STI that sets IF leaves its interrupt shadow
 * in cpu->shadow (the run loop runs the one instruction in it, then looks
 * for interrupts, as after the interpreter's STI), POPF that changes IF
 * or TF goes back to the run loop.
 */
#include "accel/emu/jit_gen.h"

#define POPF_MASK	(FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID | \
			 FL_IOPL | FL_IF)

bool jit_sys_supported(const struct dc_entry *e)
{
	/* MOV from ES..GS; 6 and 7 are the interpreter's #UD */
	return e->kind != DC_MOV_SREG || e->modrm_reg <= SEG_GS;
}

/* Leave for the interpreter's #GP when CPL > IOPL (host flags saved) */
static void gen_iopl_check(struct jgen *g)
{
	struct jbuf *b = &g->b;

	jit_gen_save(g);
	j_mov_rm(b, 4, HRCX, jmem(HRBX, OFF(rflags)));
	j_shift_mi(b, 4, 5, jreg(HRCX), 12);			/* shr */
	j_alu_mi(b, 4, 4, jreg(HRCX), 3);			/* and */
	j_alu_rm(b, 4, 7, HRCX, jmem(HRBX, OFF(cpl)));		/* cmp */
	jit_miss_if(g, 2);					/* jb */
}

/*
 * V = the guest's RFLAGS as PUSHF stores them (VM and RF clear): from
 * cpu->rflags, with the arithmetic flags from AL/AH (PUSHF reads the
 * flags, so the host's are the guest's and jit_gen_save keeps them
 * there; cpu->rflags' own are stale while translated code runs).
 */
static void gen_flags_value(struct jgen *g)
{
	struct jbuf *b = &g->b;

	jit_gen_save(g);
	j_mov_rm(b, 8, V, jmem(HRBX, OFF(rflags)));
	j_alu_mi(b, 8, 4, jreg(V), ~(uint64_t)(FL_ARITH | FL_VM | FL_RF));
	jb8(b, 0x0f);						/* movzx edx, ah */
	jb8(b, 0xb6);
	jb8(b, 0xd4);
	j_alu_mi(b, 4, 4, jreg(HRDX), FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF);
	j_alu_mr(b, 8, 1, jreg(V), HRDX);
	j_movx(b, 4, false, 1, HRDX, jreg(HRAX));		/* OF from AL */
	j_shift_mi(b, 4, 4, jreg(HRDX), 11);
	j_alu_mr(b, 8, 1, jreg(V), HRDX);
	j_alu_mi(b, 8, 1, jreg(V), 2);
}

static void gen_pushf(struct jgen *g)
{
	struct jbuf *b = &g->b;

	gen_flags_value(g);
	j_mov_rm(b, 8, HRDI, jmem(HRBX, GPR(R_SP)));
	j_lea(b, 8, HRDI, jmem(HRDI, -8));
	jit_gen_tlb(g, 8, true);
	jit_gen_mem_done(g);
	j_mov_mr(b, 8, jmem(HRCX, 0), V);
	j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
}

static void gen_popf(struct jgen *g)
{
	struct jbuf *b = &g->b;

	jit_gen_save(g);
	j_alu_mi(b, 4, 7, jmem(HRBX, OFF(cpl)), 0);		/* cmp */
	jit_miss_if(g, 5);					/* jne */
	j_mov_rm(b, 8, HRDI, jmem(HRBX, GPR(R_SP)));
	jit_gen_tlb(g, 8, false);
	j_mov_rm(b, 8, V, jmem(HRCX, 0));
	j_lea(b, 8, HRDI, jmem(HRDI, 8));
	jit_gen_mem_done(g);
	j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
	/* RSI = (old & ~mask) | (popped & mask) | 2, with RCX = old */
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(rflags)));
	j_alu_mi(b, 8, 4, jreg(V), POPF_MASK);
	j_mov_mr(b, 8, jreg(HRSI), HRCX);
	j_alu_mi(b, 8, 4, jreg(HRSI), ~(uint64_t)POPF_MASK);
	j_alu_mr(b, 8, 1, jreg(HRSI), V);
	j_alu_mi(b, 8, 1, jreg(HRSI), 2);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rflags)), HRSI);
	/* and cpu->jit_flags: an exit need not store the host's */
	jit_gen_flags_from(b, HRSI);
	g->synced = true;
	j_alu_mr(b, 4, 6, jreg(HRCX), HRSI);			/* xor */
	j_test_mi(b, 4, jreg(HRCX), FL_IF | FL_TF);
	jit_add_exit(g, j_jcc(b, 5), X_MISS, g->next, g->idx + 1);
	jit_gen_load_flags(g);
}

static void gen_sti(struct jgen *g)
{
	struct jbuf *b = &g->b;
	uint8_t *set;

	gen_iopl_check(g);
	j_test_mi(b, 4, jmem(HRBX, OFF(rflags)), FL_IF);
	jb8(b, 0x75);						/* jnz */
	jb8(b, 0);
	set = b->p - 1;
	j_alu_mi(b, 4, 1, jmem(HRBX, OFF(rflags)), FL_IF);	/* or */
	j_mov_mi(b, 1, jmem(HRBX, OFF(shadow)), 1);
	jit_add_exit(g, j_jmp(b), X_MISS, g->next, g->idx + 1);
	*set = (uint8_t)(b->p - set - 1);
	jit_gen_mem_done(g);
}

static void gen_mov_sreg(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	struct jop sel = jmem(HRBX, OFF(seg) + e->modrm_reg *
			      (int32_t)sizeof(struct x86_segment) +
			      (int32_t)offsetof(struct x86_segment, selector));

	if (e->mem) {
		/* a 16-bit store whatever the operand size */
		jit_gen_mem(g, e, 2, true);
		jit_gen_mem_done(g);
		j_movx(b, 4, false, 2, V, sel);
		j_mov_mr(b, 2, jmem(HRCX, 0), V);
		return;
	}
	j_movx(b, 4, false, 2, V, sel);
	jit_set_reg(g, e, e->rm, e->size, V);
}

void jit_gen_sys(struct jgen *g, const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_PUSHF:
		gen_pushf(g);
		break;
	case DC_POPF:
		gen_popf(g);
		break;
	case DC_CLI:
		gen_iopl_check(g);
		j_alu_mi(&g->b, 4, 4, jmem(HRBX, OFF(rflags)),
			 ~(uint32_t)FL_IF);				/* and */
		jit_gen_mem_done(g);
		break;
	case DC_STI:
		gen_sti(g);
		break;
	case DC_MOV_SREG:
		gen_mov_sreg(g, e);
		break;
	}
}
