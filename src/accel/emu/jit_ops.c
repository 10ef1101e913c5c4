// SPDX-License-Identifier: MIT
/*
 * One guest instruction of a translated block (jit_gen.c builds the
 * block): which decode-cache forms are translated, how each uses the
 * flags, and the host code for each. Guest registers are operands in
 * cpu->gpr (RBX) or, for the forms jit_op_regs() accepts, the host
 * registers the block keeps them in (jit_gr); V carries values (RDX, W
 * and T too in the forms jit_op_scratch names, elsewhere they may hold
 * guest registers), a memory operand is at [RCX] after its lookup, RSI
 * and RDI are scratch after it; a lookup that misses
 * leaves before the instruction, so all guest state changes come after
 * the lookups.
 */
#include "accel/emu/jit_gen.h"
/* RDI = RSP - 8 and RCX its host address, for a push */
static void gen_push_slot(struct jgen *g)
{
	struct jop sp = jit_gr64(g, R_SP);

	if (sp.mem) {
		j_mov_rm(&g->b, 8, HRDI, sp);
		sp = jreg(HRDI);
	}
	j_lea(&g->b, 8, HRDI, jmem(sp.reg, -8));
	jit_gen_tlb(g, 8, true);
}

/* V = the 8 bytes at RSP, RDI = RSP + 8 */
static void gen_pop(struct jgen *g, int base)
{
	j_mov_rm(&g->b, 8, HRDI, jit_gr64(g, base));
	jit_gen_tlb(g, 8, false);
	j_mov_rm(&g->b, 8, V, jmem(HRCX, 0));
	j_lea(&g->b, 8, HRDI, jmem(HRDI, 8));
}

/*
 * Leave before a branch whose target (V) is not canonical: the
 * interpreter raises its #GP at the branch (branch_check). RSI and the
 * host flags are clobbered (the guest's saved first).
 */
static void gen_target_check(struct jgen *g)
{
	struct jbuf *b = &g->b;

	jit_gen_save(g);
	j_mov_rm(b, 8, HRSI, jreg(V));
	j_shift_mi(b, 8, 7, jreg(HRSI), 47);	/* sar: 0 or -1 when canonical */
	j_incdec(b, 8, false, jreg(HRSI));	/* inc: 1 or 0 */
	j_alu_mi(b, 8, 7, jreg(HRSI), 1);	/* cmp */
	jit_miss_if(g, 7);			/* ja */
}

/* Guest register r (64 bits) = host register v */
static void gen_set64(struct jgen *g, int r, int v)
{
	j_mov_mr(&g->b, 8, jit_gr64(g, r), v);
	jit_gr_dirty(g, r);
}

/* Guest register d (size bytes) = host register r */
void jit_set_reg(struct jgen *g, const struct dc_entry *e, int d, int size,
		 int r)
{
	struct jop x = jit_gr(g, e, d, size);

	/* a 32-bit result zero-extends: in cpu->gpr, r's upper half is clear */
	j_mov_mr(&g->b, size == 4 && x.mem ? 8 : size, x, r);
	jit_gr_dirty(g, d);
}

/*
 * Guest register d (size bytes) = s (a register or memory): straight into
 * the host register holding d, or from one into cpu->gpr (but 32 bits,
 * whose upper half must be cleared there), else through V
 */
static void gen_move(struct jgen *g, const struct dc_entry *e, int d,
		     int size, struct jop s)
{
	struct jop x = jit_gr(g, e, d, size);

	if (!x.mem) {
		j_mov_rm(&g->b, size, x.reg, s);
		jit_gr_dirty(g, d);
	} else if (!s.mem && size != 4) {
		j_mov_mr(&g->b, size, x, s.reg);
	} else {
		j_mov_rm(&g->b, size, V, s);
		jit_set_reg(g, e, d, size, V);
	}
}

/*
 * The destination to work on: [RCX], the host register holding it (a
 * 32-bit operation on it zero-extends as the guest's does), or cpu->gpr
 * (through RDI for 32 bits: a register destination has no address there).
 */
struct jop jit_dest_begin(struct jgen *g, const struct dc_entry *e, int d,
			  int size, struct jop m)
{
	struct jop x;

	if (e->mem)
		return m;
	x = jit_gr(g, e, d, size);
	if (!x.mem) {
		jit_gr_dirty(g, d);
		return x;
	}
	if (size == 4) {
		j_mov_rm(&g->b, 4, HRDI, x);
		return jreg(HRDI);
	}
	return x;
}

void jit_dest_end(struct jgen *g, const struct dc_entry *e, int d, int size)
{
	struct jop x;

	if (e->mem || size != 4)
		return;
	x = jit_gr(g, e, d, 4);
	if (x.mem)
		j_mov_mr(&g->b, 8, x, HRDI);
}

/* A host register with guest register r (size bytes): its own, or V */
static int gen_val(struct jgen *g, const struct dc_entry *e, int r, int size)
{
	struct jop x = jit_gr(g, e, r, size);

	if (!x.mem)
		return x.reg;
	j_mov_rm(&g->b, size, V, x);
	return V;
}

/* The shift count of a translated DC_SHIFT by an immediate, or -1 */
static int shift_count(const struct dc_entry *e)
{
	int c;

	if (e->imm == DC_COUNT_CL || e->op == 2 || e->op == 3)
		return -1;
	c = e->imm & (e->size == 8 ? 63 : 31);
	if (c >= e->size * 8 || (c == 0 && e->mem))
		return -1;
	return c;
}

/* Whether e's code works with guest registers in host ones (jit_gr) */
bool jit_op_regs(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_MOV_RM_R: case DC_MOV_R_RM:
	case DC_MOV_RM_IMM: case DC_MOV_R_IMM: case DC_MOVZX: case DC_MOVSX:
	case DC_MOVSXD: case DC_LEA: case DC_INC: case DC_DEC:
	case DC_PUSH: case DC_POP: case DC_PUSH_IMM: case DC_PUSH_RM:
	case DC_CALL: case DC_RET: case DC_JMP: case DC_JCC: case DC_JMP_RM:
	case DC_CALL_RM: case DC_NOP: case DC_LEAVE: case DC_CWDE:
	case DC_CDQ: case DC_CMOV: case DC_SETCC: case DC_IMUL:
	case DC_IMUL_IMM: case DC_BSWAP: case DC_SHIFT:
		return true;
	case DC_GROUP3:		/* NOT, NEG; MUL, IMUL, DIV, IDIV but of AH */
		return e->modrm_reg == 2 || e->modrm_reg == 3 || e->size > 1;
	}
	return false;
}

/*
 * Whether e's code neither reads nor writes the guest flags nor needs
 * them in the host's, and leaves RAX alone: the moves, LEA, PUSH/POP,
 * and the jumps that end a block (its exits hand the flags on in AL/AH).
 * The block keeps the guest flags in AL/AH across such instructions
 * (jit_tlb.c), instead of putting them back into RFLAGS after each
 * lookup and taking them out again for the next.
 */
bool jit_op_keeps_saved(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_MOV_RM_R: case DC_MOV_R_RM: case DC_MOV_RM_IMM:
	case DC_MOV_R_IMM: case DC_MOVZX: case DC_MOVSX: case DC_MOVSXD:
	case DC_LEA: case DC_PUSH: case DC_PUSH_IMM: case DC_PUSH_RM:
	case DC_POP: case DC_LEAVE:
		return !e->lock;
	/* the block's end: its exit takes them from AL/AH */
	case DC_CALL: case DC_RET: case DC_JMP: case DC_JMP_RM:
	case DC_CALL_RM:
		return true;
	}
	return false;
}

/*
 * Whether e's code puts the guest flags back into RFLAGS itself
 * (jit_gen_mem_done, when it needs them) before anything else that uses
 * RFLAGS or RAX, so that it may start with them in AL/AH: the ALU forms,
 * TEST, INC/DEC, NOT/NEG and shifts by an immediate.
 */
bool jit_op_restores(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_INC: case DC_DEC:
		return true;
	case DC_GROUP3:
		return e->modrm_reg < 4;
	case DC_SHIFT:
		return e->imm != DC_COUNT_CL;
	}
	return false;
}

/*
 * The guest registers (a mask) that e's code may read or write in
 * cpu->gpr, for a form that does not work with the host registers
 * (!jit_op_regs): its operands' (a memory operand's base and index, a
 * register in r/m or reg; with AH..BH their byte 1's) and those it uses
 * by its kind. The block stores and loads only those around it. All of
 * them for a kind not listed.
 */
uint16_t jit_op_gprs(const struct dc_entry *e)
{
	uint16_t m = 0;

	switch (e->kind) {
	case DC_CMPXCHG:
		m = 1u << R_AX;
		break;
	case DC_SHLD:
		m = e->imm == DC_COUNT_CL ? 1u << R_CX : 0;
		break;
	case DC_REP_STR:
		m = 1u << R_AX | 1u << R_CX | 1u << R_SI | 1u << R_DI;
		break;
	case DC_PUSHF: case DC_POPF:
		m = 1u << R_SP;
		break;
	case DC_GROUP3:
		m = 1u << R_AX | 1u << R_DX;
		break;
	case DC_BT: case DC_BTX: case DC_BITSCAN: case DC_XCHG:
	case DC_XADD: case DC_MOV_SREG: case DC_CLI: case DC_STI:
	case DC_SSE: case DC_XMM_LOAD: case DC_XMM_STORE: case DC_PXOR:
	case DC_XMM_SCALAR: case DC_MOVQ: case DC_FNSTCW:
		break;
	default:
		return 0xffff;
	}
	if (e->mem) {
		if (e->base >= 0)
			m |= 1u << (e->base & 15);
		if (e->index >= 0)
			m |= 1u << (e->index & 15);
	} else {
		m |= 1u << (e->rm & 15);
	}
	m |= 1u << (e->reg & 15);
	if (!e->rex)
		m |= (m >> 4) & 0xf;
	return m;
}

/*
 * The host registers of JIT_SPARE (RDX, W, T) that e's code may use: a
 * block none of whose instructions uses one keeps a guest register there
 * (gen_pick_regs). Every other form works with RAX (the flags), RCX,
 * RSI, RDI (its memory lookups, its scratch) and V alone. All three for
 * a kind not listed.
 */
uint16_t jit_op_scratch(const struct dc_entry *e)
{
	const uint16_t dx = 1u << HRDX, w = 1u << W, t = 1u << T;

	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_MOV_RM_R: case DC_MOV_R_RM:
	case DC_MOV_RM_IMM: case DC_MOV_R_IMM: case DC_MOVZX: case DC_MOVSX:
	case DC_MOVSXD: case DC_LEA: case DC_INC: case DC_DEC:
	case DC_PUSH: case DC_POP: case DC_PUSH_IMM: case DC_PUSH_RM:
	case DC_CALL: case DC_RET: case DC_JMP: case DC_JCC: case DC_JMP_RM:
	case DC_CALL_RM: case DC_NOP: case DC_LEAVE: case DC_CWDE:
	case DC_CMOV: case DC_SETCC: case DC_BSWAP: case DC_SHIFT:
	case DC_BT: case DC_XCHG: case DC_CMPXCHG: case DC_XADD:
	case DC_CLI: case DC_STI: case DC_MOV_SREG:
		return 0;
	case DC_GROUP3:		/* NOT, NEG; MUL, IMUL, DIV, IDIV */
		return e->modrm_reg < 4 ? 0 : dx | w | t;
	case DC_CDQ: case DC_IMUL: case DC_IMUL_IMM: case DC_BTX:
	case DC_FNSTCW: case DC_PUSHF: case DC_POPF: case DC_XMM_LOAD:
	case DC_XMM_STORE: case DC_PXOR: case DC_XMM_SCALAR: case DC_MOVQ:
		return dx;
	case DC_BITSCAN:
		return w | t;
	case DC_SHLD: case DC_REP_STR: case DC_SSE:
		return dx | t;
	}
	return dx | w | t;
}

/* Count the guest registers e uses, for the choice of those to cache */
void jit_op_reg_uses(const struct dc_entry *e, unsigned uses[16])
{
	bool rm = true, reg = false;

	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_TEST: case DC_MOV_RM_R:
	case DC_MOV_R_RM: case DC_MOVZX: case DC_MOVSX: case DC_MOVSXD:
	case DC_LEA: case DC_CMOV: case DC_IMUL: case DC_IMUL_IMM:
		reg = true;
		break;
	case DC_PUSH: case DC_POP: case DC_PUSH_RM: case DC_CALL_RM:
	case DC_PUSH_IMM: case DC_CALL: case DC_RET:
		uses[R_SP] += 2;
		rm = e->kind != DC_PUSH_IMM && e->kind != DC_CALL &&
		     e->kind != DC_RET;
		break;
	case DC_LEAVE:
		uses[R_SP] += 2;
		uses[R_BP] += 2;
		rm = false;
		break;
	case DC_CWDE: case DC_CDQ:
		uses[R_AX]++;
		uses[R_DX] += e->kind == DC_CDQ;
		rm = false;
		break;
	case DC_GROUP3:
		if (e->modrm_reg >= 4) {
			uses[R_AX] += 2;
			uses[R_DX] += 2;
		}
		break;
	case DC_SHIFT:
		uses[R_CX] += e->imm == DC_COUNT_CL;
		break;
	case DC_JMP: case DC_JCC: case DC_NOP:
		rm = false;
		break;
	}
	if (e->mem) {
		if (e->base >= 0)
			uses[e->base & 15]++;
		if (e->index >= 0)
			uses[e->index & 15]++;
	} else if (rm) {
		uses[e->rm & 15]++;
	}
	if (reg)
		uses[e->reg & 15]++;
}

/* Whether the block translates e */
bool jit_op_supported(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_MOV_RM_R: case DC_MOV_R_RM:
	case DC_MOV_RM_IMM: case DC_MOV_R_IMM: case DC_MOVZX: case DC_MOVSX:
	case DC_INC: case DC_DEC: case DC_PUSH: case DC_POP:
	case DC_PUSH_IMM: case DC_PUSH_RM: case DC_CALL: case DC_RET:
	case DC_JMP: case DC_JCC: case DC_JMP_RM: case DC_CALL_RM:
	case DC_NOP: case DC_LEAVE: case DC_CWDE: case DC_CDQ:
	case DC_CMOV: case DC_SETCC: case DC_IMUL: case DC_IMUL_IMM:
	case DC_BT: case DC_BSWAP: case DC_XMM_LOAD: case DC_XMM_STORE:
	case DC_PXOR: case DC_XMM_SCALAR: case DC_MOVQ: case DC_FNSTCW:
		return true;
	case DC_REP_STR:
		return e->seg == SEG_NONE;
	case DC_BITSCAN: case DC_SHLD:
		return e->size >= 4;
	case DC_XCHG: case DC_CMPXCHG: case DC_XADD: case DC_BTX:
		return true;
	case DC_PUSHF: case DC_POPF: case DC_CLI: case DC_STI:
	case DC_MOV_SREG:
		return jit_sys_supported(e);
	case DC_SSE:
		return jit_sse_supported(e);
	case DC_LEA:
		return e->size >= 4;
	case DC_MOVSXD:
		return e->size >= 4;
	case DC_SHIFT:
		return shift_count(e) >= 0 ||
		       (e->imm == DC_COUNT_CL && e->op != 2 && e->op != 3);
	case DC_GROUP3:
		return e->modrm_reg >= 2;
	}
	return false;
}

/* Whether e changes the guest flags */
bool jit_op_writes_flags(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_INC: case DC_DEC:
	case DC_IMUL: case DC_IMUL_IMM: case DC_BT: case DC_BITSCAN:
	case DC_CMPXCHG: case DC_XADD: case DC_BTX: case DC_POPF:
		return true;
	case DC_SSE:
		return jit_sse_writes_flags(e);
	case DC_SHLD:
		return e->imm == DC_COUNT_CL ||
		       (e->imm & (e->size == 8 ? 63 : 31));
	case DC_SHIFT:
		return e->imm == DC_COUNT_CL || shift_count(e) > 0;
	case DC_GROUP3:	/* NEG, MUL, IMUL; DIV keeps them */
		return e->modrm_reg == 3 || e->modrm_reg == 4 ||
		       e->modrm_reg == 5;
	}
	return false;
}

/* How e uses the flags: reads some (or leaves by a side exit), sets all */
void jit_op_flag_use(const struct dc_entry *e, bool *reads, bool *sets)
{
	*reads = e->mem;	/* a TLB miss exits before it */
	*sets = false;
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
		*reads |= e->op == 2 || e->op == 3;
		*sets = true;
		break;
	case DC_TEST: case DC_TEST_IMM: case DC_CMPXCHG: case DC_XADD:
		*sets = true;
		break;
	case DC_INC: case DC_DEC: case DC_JCC: case DC_CMOV: case DC_SETCC:
	case DC_REP_STR:
	case DC_PUSH: case DC_POP: case DC_PUSH_IMM: case DC_PUSH_RM:
	case DC_CALL: case DC_RET: case DC_LEAVE: case DC_CALL_RM:
	case DC_PUSHF: case DC_CLI: case DC_STI:	/* or their exits */
		*reads = true;
		break;
	case DC_POPF:
		*reads = true;
		*sets = true;
		break;
	case DC_SHIFT:
		/* by CL: a count of 0 keeps them all */
		if (e->op < 2)
			*reads = true;
		else if (e->imm != DC_COUNT_CL && shift_count(e))
			*sets = true;
		break;
	case DC_SHLD:
		*sets = e->imm != DC_COUNT_CL &&
			(e->imm & (e->size == 8 ? 63 : 31));
		break;
	case DC_SSE:
		jit_sse_flag_use(e, reads, sets);
		break;
	case DC_XMM_LOAD: case DC_XMM_STORE: case DC_PXOR:
	case DC_XMM_SCALAR: case DC_MOVQ: case DC_FNSTCW:
		*reads = true;	/* jit_gen_sse_avail's or the #NM exit */
		break;
	case DC_GROUP3:
		/* MUL and IMUL keep AF; DIV keeps all, or leaves for a #DE */
		*sets = e->modrm_reg == 3;
		*reads |= e->modrm_reg >= 6;
		break;
	}
}

/* ALU op on register d or [RCX] (dmem), with host register v or the imm */
static void gen_alu(struct jgen *g, const struct dc_entry *e, bool dmem,
		    int d, int v, bool imm)
{
	struct jop x;
	bool w = false;

	if (dmem) {
		x = jmem(HRCX, 0);
	} else {
		x = jit_gr(g, e, d, e->size);
		if (x.mem && e->size == 4) {
			/* (RDI: the source, if in memory, is in V by now) */
			j_mov_rm(&g->b, 4, HRDI, x);
			x = jreg(HRDI);
			w = true;
		} else if (!x.mem && e->op != 7) {
			jit_gr_dirty(g, d);
		}
	}
	if (e->lock)
		jb8(&g->b, 0xf0);	/* atomic, as on the guest's hardware */
	if (imm)
		j_alu_mi(&g->b, e->size, e->op, x, e->imm);
	else
		j_alu_mr(&g->b, e->size, e->op, x, v);
	if (w && e->op != 7)
		j_mov_mr(&g->b, 8, jit_greg(e, d, 4), HRDI);
}

/* The source operand of size bytes from register r or memory into V */
static void gen_src(struct jgen *g, const struct dc_entry *e, int r,
		    int size)
{
	struct jop s = e->mem ? jit_gen_mem(g, e, size, false) :
				jit_gr(g, e, r, size);

	j_mov_rm(&g->b, size, V, s);
}

void jit_gen_insn(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	struct jop m = jmem(HRCX, 0), x;
	int size = e->size, v = V;
	bool w;

	switch (e->kind) {
	case DC_ALU_RM_R:
		v = gen_val(g, e, e->reg, size);
		if (e->mem)
			jit_gen_mem(g, e, size, e->op != 7);
		jit_gen_mem_done(g);
		gen_alu(g, e, e->mem, e->rm, v, false);
		break;
	case DC_ALU_R_RM:
		if (e->mem)
			gen_src(g, e, e->rm, size);
		else
			v = gen_val(g, e, e->rm, size);
		jit_gen_mem_done(g);
		gen_alu(g, e, false, e->reg, v, false);
		break;
	case DC_ALU_RM_IMM:
		if (e->mem)
			jit_gen_mem(g, e, size, e->op != 7);
		jit_gen_mem_done(g);
		gen_alu(g, e, e->mem, e->rm, V, true);
		break;
	case DC_TEST:
	case DC_TEST_IMM:
		if (e->kind == DC_TEST)
			v = gen_val(g, e, e->reg, size);
		x = e->mem ? jit_gen_mem(g, e, size, false) :
			     jit_gr(g, e, e->rm, size);
		jit_gen_mem_done(g);
		if (e->kind == DC_TEST)
			j_test_mr(b, size, x, v);
		else
			j_test_mi(b, size, x, e->imm);
		break;
	case DC_MOV_RM_R:
		x = jit_gr(g, e, e->reg, size);
		if (e->mem) {
			/* (the lookup leaves guest registers alone) */
			v = gen_val(g, e, e->reg, size);
			jit_gen_mem(g, e, size, true);
			jit_gen_mem_done(g);
			j_mov_mr(b, size, m, v);
		} else {
			gen_move(g, e, e->rm, size, x);
		}
		break;
	case DC_MOV_R_RM:
		x = e->mem ? jit_gen_mem(g, e, size, false) :
			     jit_gr(g, e, e->rm, size);
		jit_gen_mem_done(g);
		gen_move(g, e, e->reg, size, x);
		break;
	case DC_MOV_RM_IMM:
		if (e->mem) {
			jit_gen_mem(g, e, size, true);
			jit_gen_mem_done(g);
			j_mov_mi(b, size, m, e->imm);
		} else if (size == 4) {
			j_mov_ri32(b, V, e->imm);
			jit_set_reg(g, e, e->rm, 4, V);
		} else {
			j_mov_mi(b, size, jit_gr(g, e, e->rm, size), e->imm);
			jit_gr_dirty(g, e->rm);
		}
		break;
	case DC_MOV_R_IMM:
		/* into the host register holding it, else through V */
		x = jit_gr(g, e, e->rm, size);
		v = x.mem ? V : x.reg;
		if (size == 8)
			j_mov_rimm(b, v, e->imm);
		else if (size == 4 || x.mem)
			j_mov_ri32(b, v, e->imm);
		else
			j_mov_mi(b, size, x, e->imm);
		if (x.mem)
			jit_set_reg(g, e, e->rm, size, V);
		jit_gr_dirty(g, e->rm);
		break;
	case DC_LEA:
		/* size 4: the address's low half, zero-extended */
		x = jit_gr(g, e, e->reg, size);
		if (!x.mem && !e->riprel) {
			jit_gen_addr(g, e, x.reg, size);
			jit_gr_dirty(g, e->reg);
			break;
		}
		jit_gen_ea(g, e, false);
		if (size == 4)
			j_mov_mr(b, 4, jreg(HRDI), HRDI);
		jit_set_reg(g, e, e->reg, size, HRDI);
		break;
	case DC_MOVZX:
	case DC_MOVSX:
		x = e->mem ? jit_gen_mem(g, e, e->size2, false) :
			     jit_gr(g, e, e->rm, e->size2);
		jit_gen_mem_done(g);
		/* a 16-bit destination keeps its upper bits: through V */
		v = jit_gr(g, e, e->reg, size).mem || size == 2 ? V :
			jit_gr(g, e, e->reg, size).reg;
		j_movx(b, size == 8 && e->kind == DC_MOVSX ? 8 : 4,
		       e->kind == DC_MOVSX, e->size2, v, x);
		if (v == V)
			jit_set_reg(g, e, e->reg, size, V);
		jit_gr_dirty(g, e->reg);
		break;
	case DC_MOVSXD:
		x = e->mem ? jit_gen_mem(g, e, 4, false) :
			     jit_gr(g, e, e->rm, 4);
		jit_gen_mem_done(g);
		if (size != 8) {
			gen_move(g, e, e->reg, 4, x);
			break;
		}
		v = jit_gr(g, e, e->reg, 8).mem ? V : jit_gr(g, e, e->reg, 8).reg;
		jx(b, 8, 0x63, 1, v, x);
		if (v == V)
			jit_set_reg(g, e, e->reg, 8, V);
		jit_gr_dirty(g, e->reg);
		break;
	case DC_INC:
	case DC_DEC:
		if (e->mem)
			jit_gen_mem(g, e, size, true);
		jit_gen_mem_done(g);
		x = jit_dest_begin(g, e, e->rm, size, m);
		if (e->lock)
			jb8(b, 0xf0);
		j_incdec(b, size, e->kind == DC_DEC, x);
		jit_dest_end(g, e, e->rm, size);
		break;
	case DC_GROUP3:
		if (e->modrm_reg >= 4) {
			jit_gen_muldiv(g, e);
			break;
		}
		if (e->mem)
			jit_gen_mem(g, e, size, true);
		jit_gen_mem_done(g);
		x = jit_dest_begin(g, e, e->rm, size, m);
		if (e->lock)
			jb8(b, 0xf0);
		j_grp3(b, size, e->modrm_reg, x);
		jit_dest_end(g, e, e->rm, size);
		break;
	case DC_SHIFT: {
		int c = shift_count(e);

		if (e->imm == DC_COUNT_CL) {
			jit_gen_shift_cl(g, e);
			break;
		}
		if (e->mem)
			jit_gen_mem(g, e, size, true);
		jit_gen_mem_done(g);
		x = jit_dest_begin(g, e, e->rm, size, m);
		if (c)
			jit_gen_shift(g, e->op, x, size, c);
		else if (!x.mem && size == 4)
			j_mov_mr(b, 4, x, x.reg);	/* zero-extends */
		jit_dest_end(g, e, e->rm, size);
		break;
	}
	case DC_PUSH:
	case DC_PUSH_IMM:
	case DC_PUSH_RM:
		if (e->kind == DC_PUSH) {
			v = gen_val(g, e, e->rm, 8);
		} else if (e->kind == DC_PUSH_IMM) {
			jx(b, 8, 0xc7, 1, 0, jreg(V));
			jb32(b, e->imm);
		} else {
			gen_src(g, e, e->rm, 8);
		}
		gen_push_slot(g);
		jit_gen_mem_done(g);
		j_mov_mr(b, 8, m, v);
		gen_set64(g, R_SP, HRDI);
		break;
	case DC_POP:
		gen_pop(g, R_SP);
		jit_gen_mem_done(g);
		gen_set64(g, R_SP, HRDI);
		gen_set64(g, e->rm, V);
		break;
	case DC_LEAVE:
		gen_pop(g, R_BP);
		jit_gen_mem_done(g);
		gen_set64(g, R_SP, HRDI);
		gen_set64(g, R_BP, V);
		break;
	case DC_CALL:
	case DC_CALL_RM:
		if (e->kind == DC_CALL && !x86_canonical(g->next + e->imm)) {
			jit_add_exit(g, j_jmp(b), X_MISS, g->rip, g->idx);
			break;
		}
		if (e->kind == DC_CALL_RM) {
			gen_src(g, e, e->rm, 8);
			gen_target_check(g);
		} else {
			j_mov_ri64(b, V, g->next + e->imm);
		}
		gen_push_slot(g);
		jit_gen_mem_done(g);
		j_mov_ri64(b, HRSI, g->next);
		j_mov_mr(b, 8, m, HRSI);
		gen_set64(g, R_SP, HRDI);
		if (e->kind == DC_CALL)
			jit_gen_chain(g, g->next + e->imm, g->idx + 1);
		else
			jit_gen_dyn_exit(g);
		break;
	case DC_RET:
		gen_pop(g, R_SP);
		gen_target_check(g);
		jit_gen_mem_done(g);
		gen_set64(g, R_SP, HRDI);
		jit_gen_dyn_exit(g);
		break;
	case DC_JMP:
		if (!x86_canonical(g->next + e->imm))
			jit_add_exit(g, j_jmp(b), X_MISS, g->rip, g->idx);
		else
			jit_gen_chain(g, g->next + e->imm, g->idx + 1);
		break;
	case DC_JMP_RM:
		gen_src(g, e, e->rm, 8);
		gen_target_check(g);
		jit_gen_mem_done(g);
		jit_gen_dyn_exit(g);
		break;
	case DC_JCC:
		/* taken towards a non-canonical target: the interpreter's */
		if (!x86_canonical(g->next + e->imm))
			jit_miss_if(g, e->op);
		else
			jit_add_exit(g, j_jcc(b, e->op), X_CHAIN,
				     g->next + e->imm, g->idx + 1);
		break;
	case DC_CMOV:
		gen_src(g, e, e->rm, size);
		jit_gen_mem_done(g);
		j_mov_rm(b, size, HRDI, jit_gr(g, e, e->reg, size));
		j_cmov(b, size == 2 ? 2 : size, e->op, HRDI, jreg(V));
		jit_set_reg(g, e, e->reg, size, HRDI);
		break;
	case DC_SETCC:
		x = e->mem ? jit_gen_mem(g, e, 1, true) :
			     jit_gr(g, e, e->rm, 1);
		jit_gen_mem_done(g);
		j_setcc(b, e->op, x);
		if (!e->mem)
			jit_gr_dirty(g, e->rm);
		break;
	case DC_CWDE:
	case DC_CDQ:
		w = e->kind == DC_CDQ;
		j_mov_rm(b, 8, HRAX, jit_gr64(g, R_AX));
		if (size == 2)
			jb8(b, 0x66);
		else if (size == 8)
			jb8(b, 0x48);
		jb8(b, w ? 0x99 : 0x98);
		/* the result's upper half is clear for 32 bits */
		jit_set_reg(g, e, w ? R_DX : R_AX, size, w ? HRDX : HRAX);
		break;
	case DC_IMUL:
	case DC_IMUL_IMM:
		jit_gen_imul(g, e);
		break;
	case DC_XMM_LOAD:
	case DC_XMM_STORE:
	case DC_PXOR:
	case DC_XMM_SCALAR:
	case DC_MOVQ:
		jit_gen_xmm(g, e);
		break;
	case DC_SSE:
		jit_gen_sse(g, e);
		break;
	case DC_FNSTCW:
		/* CR0.EM or TS: the interpreter's #NM (no translated
		 * instruction changes CR0); no pending-exception check, no
		 * FIP/FDP (a control instruction) */
		jit_gen_save(g);
		j_test_mi(b, 4, jmem(HRBX, OFF(cr0)), CR0_EM | CR0_TS);
		jit_miss_if(g, 5);				/* jne */
		x = jit_gen_mem(g, e, 2, true);
		jit_gen_mem_done(g);
		j_mov_rm(b, 2, HRDX, jmem(HRBX, OFF(fcw)));
		j_mov_mr(b, 2, x, HRDX);
		break;
	case DC_REP_STR:
		jit_gen_rep_str(g, e);
		break;
	case DC_BITSCAN:
		jit_gen_bitscan(g, e);
		break;
	case DC_XCHG:
	case DC_CMPXCHG:
	case DC_XADD:
		jit_gen_xchg(g, e);
		break;
	case DC_SHLD:
		jit_gen_shld(g, e);
		break;
	case DC_BT:
		jit_gen_bt(g, e);
		break;
	case DC_BTX:
		jit_gen_btx(g, e);
		break;
	case DC_PUSHF: case DC_POPF: case DC_CLI: case DC_STI:
	case DC_MOV_SREG:
		jit_gen_sys(g, e);
		break;
	case DC_BSWAP:
		j_mov_rm(b, size, HRDI, jit_gr(g, e, e->rm, size));
		if (size == 8)
			jb8(b, 0x48);
		jb8(b, 0x0f);				/* bswap rdi */
		jb8(b, 0xc8 + HRDI);
		jit_set_reg(g, e, e->rm, size, HRDI);
		break;
	case DC_NOP:
		break;
	}
}