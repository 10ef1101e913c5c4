// SPDX-License-Identifier: MIT
/*
 * One translated block: the decode cache's entries for a run of guest
 * instructions (dc_build), each turned into a few host instructions.
 *
 * Host registers: RBX holds the CPU; the guest registers stay in cpu->gpr
 * and host instructions work on them there. R8/R9/R10 carry values, RDI
 * a guest linear address, RCX the host address the soft TLB turns it
 * into; RSI and RDX are the lookup's scratch, AL/AH keep the guest flags
 * while a lookup uses the host's.
 *
 * Flags: the prologue loads the guest's arithmetic flags into the host's
 * RFLAGS, and from then on the guest's ADD is the host's ADD: the flags
 * it leaves are exactly the hardware's, which is what the interpreter
 * computes too (exec_alu.c runs the same host instructions). Where the
 * interpreter defines flags the SDM leaves undefined (shifts: AF clear,
 * OF for counts above one), the block computes those when a later
 * instruction or an exit can see them (a backward liveness pass). Every
 * exit stores them into cpu->rflags.
 *
 * Exceptions: a translated instruction never faults. Its memory operand
 * is looked up in the soft TLB inline; a miss, a page without the needed
 * permission, MMIO, a page-crossing access or a store into the code page
 * leaves the block before the instruction with RIP, registers and flags
 * exactly as they were there, and the interpreter runs it (and raises
 * any fault, fills the TLB, or does the MMIO).
 */
#include <stddef.h>

#include "accel/emu/dcache.h"
#include "accel/emu/jit_cache.h"

#define OFF(f)		((int32_t)offsetof(struct emu_cpu, f))
#define GPR(r)		(OFF(gpr) + 8 * (r))
#define V		HR8	/* the value operand */
#define W		HR9	/* a 32-bit destination being worked on */
#define T		HR10
#define JIT_EXITS	48
#define JIT_MISS_JUMPS	12	/* jumps to one instruction's miss exit */

enum { X_MISS, X_CHAIN };

/* An exit jumped to from the body, emitted after it */
struct jexit {
	uint8_t *rel[JIT_MISS_JUMPS];	/* the jumps' rel32s */
	unsigned nrel;
	uint64_t rip;		/* where the guest goes on */
	unsigned count;		/* instructions done */
	uint8_t kind;
	bool synced;		/* cpu->rflags is already right */
	bool saved;		/* the flags are in AL/AH, not RFLAGS */
};

struct jgen {
	struct jbuf b;
	const struct jit_env *env;
	const struct emu_cpu *cpu;
	const uint8_t *page;	/* the block's host code page */
	uint64_t start;		/* the block's first instruction */
	uint64_t rip, next;	/* this instruction's and the next one's */
	unsigned idx;		/* its index in the block */
	bool user;
	bool synced;		/* cpu->rflags holds the guest flags */
	bool saved;		/* this instruction saved them in AL/AH */
	bool live_in, live_out;	/* flags needed before / after it */
	bool bad;		/* too many exits */
	struct jexit x[JIT_EXITS];
	unsigned nx;
};

static void add_exit(struct jgen *g, uint8_t *rel, uint8_t kind,
		     uint64_t rip, unsigned count)
{
	struct jexit *x = g->nx ? &g->x[g->nx - 1] : NULL;

	/* an instruction's TLB checks share one exit */
	if (x && kind == X_MISS && x->kind == X_MISS && x->rip == rip &&
	    x->count == count && x->synced == g->synced &&
	    x->saved == g->saved && x->nrel < JIT_MISS_JUMPS) {
		x->rel[x->nrel++] = rel;
		return;
	}
	if (g->nx == JIT_EXITS) {
		g->bad = true;
		return;
	}
	g->x[g->nx++] = (struct jexit){ .rel = { rel }, .nrel = 1,
		.rip = rip, .count = count, .kind = kind,
		.synced = g->synced, .saved = g->saved };
}

/* Guest register r as an operand of size bytes, AH..BH included */
static struct jop greg(const struct dc_entry *e, int r, int size)
{
	if (size == 1 && !e->rex && r >= 4 && r < 8)
		return jmem(HRBX, GPR(r - 4) + 1);
	return jmem(HRBX, GPR(r));
}

/* Store the host's arithmetic flags into cpu->rflags (RCX, RDX) */
static void gen_commit(struct jbuf *b)
{
	jb8(b, 0x9c);			/* pushfq */
	jb8(b, 0x5a);			/* pop rdx */
	j_alu_mi(b, 4, 4, jreg(HRDX), FL_ARITH);
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(rflags)));
	j_alu_mi(b, 8, 4, jreg(HRCX), ~(uint64_t)FL_ARITH);
	j_alu_mr(b, 8, 1, jreg(HRCX), HRDX);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rflags)), HRCX);
}

/* cpu->rflags' arithmetic flags into the host's (RAX) */
static void gen_load_flags(struct jbuf *b)
{
	j_mov_rm(b, 4, HRAX, jmem(HRBX, OFF(rflags)));
	j_shift_mi(b, 4, 4, jreg(HRAX), 20);	/* OF to bit 31 */
	jb8(b, 0x05);				/* add eax, 1 << 31: OF */
	jb32(b, 0x80000000u);
	jb8(b, 0x8a);				/* mov ah, [rbx + rflags] */
	jb8(b, 0xa3);
	jb32(b, OFF(rflags));
	jb8(b, 0x9e);				/* sahf */
}

/* The guest flags into AL (OF) and AH (SF ZF AF PF CF), and back */
static void gen_save(struct jbuf *b)
{
	jb8(b, 0x9f);				/* lahf */
	jb8(b, 0x0f);				/* seto al */
	jb8(b, 0x90);
	jb8(b, 0xc0);
}

static void gen_restore(struct jbuf *b)
{
	jb8(b, 0x04);				/* add al, 0x7f: OF */
	jb8(b, 0x7f);
	jb8(b, 0x9e);				/* sahf */
}

static void gen_budget(struct jbuf *b, unsigned count)
{
	if (count)
		j_alu_mi(b, 8, 5, jmem(HRBX, OFF(jit_left)), count);
}

/* RDI = the linear address of e's memory operand (seg: with FS/GS base) */
static void gen_ea(struct jgen *g, const struct dc_entry *e, bool seg)
{
	struct jbuf *b = &g->b;

	if (e->riprel) {
		j_mov_ri64(b, HRDI, g->next + (int64_t)e->disp);
	} else {
		if (e->base >= 0)
			j_mov_rm(b, 8, HRDI, jmem(HRBX, GPR(e->base)));
		else
			j_mov_ri32(b, HRDI, 0);
		if (e->index >= 0) {
			j_mov_rm(b, 8, HRSI, jmem(HRBX, GPR(e->index)));
			j_lea(b, 8, HRDI, jmem_idx(HRDI, HRSI, e->scale,
						   e->disp));
		} else if (e->disp) {
			j_lea(b, 8, HRDI, jmem(HRDI, e->disp));
		}
	}
	if (seg && e->seg != SEG_NONE) {
		j_mov_rm(b, 8, HRSI, jmem(HRBX, OFF(seg) +
			 e->seg * (int32_t)sizeof(struct x86_segment) +
			 (int32_t)offsetof(struct x86_segment, base)));
		j_lea(b, 8, HRDI, jmem_idx(HRDI, HRSI, 0, 0));
	}
}

/* Leave the block before this instruction when the flags jcc cc says */
static void miss_if(struct jgen *g, int cc)
{
	add_exit(g, j_jcc(&g->b, cc), X_MISS, g->rip, g->idx);
}

/*
 * The lookup subroutine: RCX = host address of size bytes at the linear
 * address in RDI, if the soft TLB allows the access from RAM within one
 * page (what mem_read and mem_write do inline), else 0. Clobbers RSI,
 * RDX and the flags.
 */
static const uint8_t *gen_tlb_stub(struct jbuf *b, int size, bool write,
				   bool user)
{
	const uint8_t *start = b->p;
	uint32_t perm = write ? TLB_W : TLB_R;
	int32_t t = OFF(tlb);
	uint8_t *miss[5];
	int nmiss = 0;

	if (user)
		perm <<= 3;
	j_mov_mr(b, 8, jreg(HRSI), HRDI);
	j_shift_mi(b, 8, 5, jreg(HRSI), 12);
	j_mov_mr(b, 4, jreg(HRDX), HRSI);
	j_alu_mi(b, 4, 4, jreg(HRDX), TLB_SIZE - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);
	j_alu_mr(b, 8, 7, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, vpn)), HRSI);
	miss[nmiss++] = j_jcc(b, 5);				/* jne */
	j_test_mi(b, 1, jmem_idx(HRBX, HRDX, 0, t +
		  (int32_t)offsetof(struct tlb_entry, perm)), perm);
	miss[nmiss++] = j_jcc(b, 4);				/* je */
	j_mov_rm(b, 8, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, hva)));
	j_test_mr(b, 8, jreg(HRCX), HRCX);
	miss[nmiss++] = j_jcc(b, 4);
	if (size > 1) {
		j_mov_mr(b, 4, jreg(HRSI), HRDI);
		j_alu_mi(b, 4, 4, jreg(HRSI), 0xfff);
		j_alu_mi(b, 4, 7, jreg(HRSI), 4096 - size);
		miss[nmiss++] = j_jcc(b, 7);			/* ja */
	}
	if (write) {
		/* a store into the code page: the interpreter ends its block */
		j_alu_rm(b, 8, 7, HRCX, jmem(HRBX, OFF(fetch_hva)));
		miss[nmiss++] = j_jcc(b, 4);
	}
	j_mov_mr(b, 4, jreg(HRSI), HRDI);
	j_alu_mi(b, 4, 4, jreg(HRSI), 0xfff);
	j_alu_mr(b, 8, 0, jreg(HRCX), HRSI);
	jb8(b, 0xc3);						/* ret */
	for (int i = 0; i < nmiss; i++)
		j_patch(miss[i], b->p);
	j_alu_mr(b, 4, 6, jreg(HRCX), HRCX);			/* xor ecx, ecx */
	jb8(b, 0xc3);
	return start;
}

_Static_assert(sizeof(struct tlb_entry) == 32, "the lookup's shl edx, 5");

void jit_gen_stubs(struct jbuf *b, struct jit_env *env)
{
	for (int u = 0; u < 2; u++)
		for (int w = 0; w < 2; w++)
			for (int s = 0; s < 4; s++)
				env->tlb[u][w][s] = gen_tlb_stub(b, 1 << s, w,
								 u);
	env->commit = b->p;
	gen_commit(b);
	jb8(b, 0xc3);
}

/* CALL target */
static void j_call(struct jbuf *b, const uint8_t *target)
{
	jb8(b, 0xe8);
	j_patch(jb_rel32(b), target);
}

/*
 * RCX = host address of size bytes at the linear address in RDI, or a
 * miss exit. The first lookup of an instruction saves the guest flags
 * first.
 */
static void gen_tlb(struct jgen *g, int size, bool write)
{
	struct jbuf *b = &g->b;

	if (!g->saved && (g->live_in || !g->synced)) {
		gen_save(b);
		g->saved = true;
	}
	j_call(b, g->env->tlb[g->user][write][DC_SIZE_SLOT(size)]);
	j_test_mr(b, 8, jreg(HRCX), HRCX);
	miss_if(g, 4);						/* je */
}

/* e's memory operand at [RCX] */
static struct jop gen_mem(struct jgen *g, const struct dc_entry *e,
			  int size, bool write)
{
	gen_ea(g, e, true);
	gen_tlb(g, size, write);
	return jmem(HRCX, 0);
}

/* After the lookups: the guest flags back in RFLAGS if anything needs them */
static void gen_mem_done(struct jgen *g)
{
	if (g->saved && g->live_in)
		gen_restore(&g->b);
	g->saved = false;
}

/* RDI = RSP - 8 and RCX its host address, for a push */
static void gen_push_slot(struct jgen *g)
{
	j_mov_rm(&g->b, 8, HRDI, jmem(HRBX, GPR(R_SP)));
	j_lea(&g->b, 8, HRDI, jmem(HRDI, -8));
	gen_tlb(g, 8, true);
}

/* V = the 8 bytes at RSP, RDI = RSP + 8 */
static void gen_pop(struct jgen *g, int base)
{
	j_mov_rm(&g->b, 8, HRDI, jmem(HRBX, GPR(base)));
	gen_tlb(g, 8, false);
	j_mov_rm(&g->b, 8, V, jmem(HRCX, 0));
	j_lea(&g->b, 8, HRDI, jmem(HRDI, 8));
}

/* Guest register d (size bytes) = host register r */
static void gen_set_reg(struct jgen *g, const struct dc_entry *e, int d,
			int size, int r)
{
	/* a 32-bit result zero-extends: r's upper half is already clear */
	j_mov_mr(&g->b, size == 4 ? 8 : size, greg(e, d, size), r);
}

/* The destination to work on: [RCX], or the register (W for 32 bits) */
static struct jop dest_begin(struct jgen *g, const struct dc_entry *e,
			     int d, int size, struct jop m)
{
	if (e->mem)
		return m;
	if (size == 4) {
		j_mov_rm(&g->b, 4, W, greg(e, d, 4));
		return jreg(W);
	}
	return greg(e, d, size);
}

static void dest_end(struct jgen *g, const struct dc_entry *e, int d,
		     int size)
{
	if (!e->mem && size == 4)
		j_mov_mr(&g->b, 8, greg(e, d, 4), W);
}

/* The end of the block towards a fixed guest address */
static void gen_chain(struct jgen *g, uint64_t target, unsigned count)
{
	add_exit(g, j_jmp(&g->b), X_CHAIN, target, count);
}

/* The end of the block towards the address in V */
static void gen_dyn_exit(struct jgen *g)
{
	struct jbuf *b = &g->b;

	if (!g->synced)
		j_call(b, g->env->commit);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), V);
	gen_budget(b, g->idx + 1);
	j_patch(j_jmp(b), g->env->exit);
}

/* SHR by c > 1 with the flags live: OF is the operand's old top bit */
static void gen_shr_flags(struct jgen *g, struct jop x, int size, int c)
{
	struct jbuf *b = &g->b;

	if (size >= 4)
		j_mov_rm(b, size, T, x);
	else
		j_movx(b, 4, false, size, T, x);
	j_shift_mi(b, size, 5, x, c);
	jb8(b, 0x9c);			/* pushfq; pop rdx */
	jb8(b, 0x5a);
	j_alu_mi(b, 8, 4, jreg(HRDX), ~(uint64_t)(FL_AF | FL_OF));
	j_shift_mi(b, 8, 5, jreg(T), size * 8 - 1);
	j_shift_mi(b, 8, 4, jreg(T), 11);
	j_alu_mr(b, 8, 1, jreg(HRDX), T);
	jb8(b, 0x52);			/* push rdx; popfq */
	jb8(b, 0x9d);
}

/*
 * ROL/ROR/SHL/SHR/SAR x by c (non-zero, below the operand's bits). With
 * the flags live, OF and AF become the interpreter's (alu_shift): a
 * count above one runs as c - 1 and then 1, whose OF the SDM defines
 * as the interpreter computes it, and AF is cleared.
 */
static void gen_shift(struct jgen *g, int op, struct jop x, int size, int c)
{
	struct jbuf *b = &g->b;

	if (op == 6)
		op = 4;		/* SAL is SHL */
	if (!g->live_out) {
		j_shift_mi(b, size, op, x, c);
		return;
	}
	if (op == 5 && c > 1) {
		gen_shr_flags(g, x, size, c);
		return;
	}
	if (c > 1)
		j_shift_mi(b, size, op, x, c - 1);
	j_shift_mi(b, size, op, x, 1);
	if (op >= 4) {
		jb8(b, 0x9c);		/* pushfq; and qword [rsp], ~AF; popfq */
		jx(b, 8, 0x83, 1, 4, jmem(HRSP, 0));
		jb8(b, (uint8_t)~FL_AF);
		jb8(b, 0x9d);
	}
}

/* The shift count of a translated DC_SHIFT, or -1 */
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

/* Whether the block translates e */
static bool jit_supported(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_MOV_RM_R: case DC_MOV_R_RM:
	case DC_MOV_RM_IMM: case DC_MOV_R_IMM: case DC_MOVZX: case DC_MOVSX:
	case DC_INC: case DC_DEC: case DC_PUSH: case DC_POP:
	case DC_PUSH_IMM: case DC_PUSH_RM: case DC_CALL: case DC_RET:
	case DC_JMP: case DC_JCC: case DC_JMP_RM: case DC_CALL_RM:
	case DC_NOP: case DC_LEAVE: case DC_CWDE: case DC_CDQ:
	case DC_CMOV: case DC_SETCC:
		return true;
	case DC_LEA:
		return e->size >= 4;
	case DC_MOVSXD:
		return e->size >= 4;
	case DC_SHIFT:
		return shift_count(e) >= 0;
	case DC_GROUP3:
		return e->modrm_reg == 2 || e->modrm_reg == 3;
	}
	return false;
}

/* Whether e changes the guest flags */
static bool writes_flags(const struct dc_entry *e)
{
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
	case DC_TEST: case DC_TEST_IMM: case DC_INC: case DC_DEC:
		return true;
	case DC_SHIFT:
		return shift_count(e) > 0;
	case DC_GROUP3:
		return e->modrm_reg == 3;
	}
	return false;
}

/* How e uses the flags: reads some (or leaves by a side exit), sets all */
static void flag_use(const struct dc_entry *e, bool *reads, bool *sets)
{
	*reads = e->mem;	/* a TLB miss exits before it */
	*sets = false;
	switch (e->kind) {
	case DC_ALU_RM_R: case DC_ALU_R_RM: case DC_ALU_RM_IMM:
		*reads |= e->op == 2 || e->op == 3;
		*sets = true;
		break;
	case DC_TEST: case DC_TEST_IMM:
		*sets = true;
		break;
	case DC_INC: case DC_DEC: case DC_JCC: case DC_CMOV: case DC_SETCC:
	case DC_PUSH: case DC_POP: case DC_PUSH_IMM: case DC_PUSH_RM:
	case DC_CALL: case DC_RET: case DC_LEAVE: case DC_CALL_RM:
		*reads = true;
		break;
	case DC_SHIFT:
		if (e->op < 2)
			*reads = true;
		else if (shift_count(e))
			*sets = true;
		break;
	case DC_GROUP3:
		*sets = e->modrm_reg == 3;
		break;
	}
}

/* ALU op on register d or [RCX] (dmem), with V or the immediate */
static void gen_alu(struct jgen *g, const struct dc_entry *e, bool dmem,
		    int d, bool imm)
{
	struct jop x;

	if (dmem) {
		x = jmem(HRCX, 0);
	} else if (e->size == 4) {
		j_mov_rm(&g->b, 4, W, greg(e, d, 4));
		x = jreg(W);
	} else {
		x = greg(e, d, e->size);
	}
	if (imm)
		j_alu_mi(&g->b, e->size, e->op, x, e->imm);
	else
		j_alu_mr(&g->b, e->size, e->op, x, V);
	if (!dmem && e->size == 4 && e->op != 7)
		j_mov_mr(&g->b, 8, greg(e, d, 4), W);
}

/* The source operand of size bytes from register r or memory into V */
static void gen_src(struct jgen *g, const struct dc_entry *e, int r,
		    int size)
{
	struct jop s = e->mem ? gen_mem(g, e, size, false) : greg(e, r, size);

	j_mov_rm(&g->b, size, V, s);
}

static void gen_insn(struct jgen *g, const struct dc_entry *e)
{
	struct jbuf *b = &g->b;
	struct jop m = jmem(HRCX, 0), x;
	int size = e->size;
	bool w;

	switch (e->kind) {
	case DC_ALU_RM_R:
		j_mov_rm(b, size, V, greg(e, e->reg, size));
		if (e->mem)
			gen_mem(g, e, size, e->op != 7);
		gen_mem_done(g);
		gen_alu(g, e, e->mem, e->rm, false);
		break;
	case DC_ALU_R_RM:
		gen_src(g, e, e->rm, size);
		gen_mem_done(g);
		gen_alu(g, e, false, e->reg, false);
		break;
	case DC_ALU_RM_IMM:
		if (e->mem)
			gen_mem(g, e, size, e->op != 7);
		gen_mem_done(g);
		gen_alu(g, e, e->mem, e->rm, true);
		break;
	case DC_TEST:
	case DC_TEST_IMM:
		if (e->kind == DC_TEST)
			j_mov_rm(b, size, V, greg(e, e->reg, size));
		x = e->mem ? gen_mem(g, e, size, false) : greg(e, e->rm, size);
		gen_mem_done(g);
		if (e->kind == DC_TEST)
			j_test_mr(b, size, x, V);
		else
			j_test_mi(b, size, x, e->imm);
		break;
	case DC_MOV_RM_R:
		j_mov_rm(b, size, V, greg(e, e->reg, size));
		if (e->mem) {
			gen_mem(g, e, size, true);
			gen_mem_done(g);
			j_mov_mr(b, size, m, V);
		} else {
			gen_set_reg(g, e, e->rm, size, V);
		}
		break;
	case DC_MOV_R_RM:
		gen_src(g, e, e->rm, size);
		gen_mem_done(g);
		gen_set_reg(g, e, e->reg, size, V);
		break;
	case DC_MOV_RM_IMM:
		if (e->mem) {
			gen_mem(g, e, size, true);
			gen_mem_done(g);
			j_mov_mi(b, size, m, e->imm);
		} else if (size == 4) {
			j_mov_ri32(b, V, e->imm);
			gen_set_reg(g, e, e->rm, 4, V);
		} else {
			j_mov_mi(b, size, greg(e, e->rm, size), e->imm);
		}
		break;
	case DC_MOV_R_IMM:
		if (size == 8)
			j_mov_ri64(b, V, e->imm);
		else
			j_mov_ri32(b, V, e->imm);
		gen_set_reg(g, e, e->rm, size, V);
		break;
	case DC_LEA:
		gen_ea(g, e, false);
		if (size == 4)
			j_mov_mr(b, 4, jreg(HRDI), HRDI);
		gen_set_reg(g, e, e->reg, size, HRDI);
		break;
	case DC_MOVZX:
	case DC_MOVSX:
		x = e->mem ? gen_mem(g, e, e->size2, false) :
			     greg(e, e->rm, e->size2);
		gen_mem_done(g);
		j_movx(b, size == 8 && e->kind == DC_MOVSX ? 8 : 4,
		       e->kind == DC_MOVSX, e->size2, V, x);
		gen_set_reg(g, e, e->reg, size, V);
		break;
	case DC_MOVSXD:
		x = e->mem ? gen_mem(g, e, 4, false) : greg(e, e->rm, 4);
		gen_mem_done(g);
		if (size == 8)
			jx(b, 8, 0x63, 1, V, x);
		else
			j_mov_rm(b, 4, V, x);
		gen_set_reg(g, e, e->reg, size, V);
		break;
	case DC_INC:
	case DC_DEC:
		if (e->mem)
			gen_mem(g, e, size, true);
		gen_mem_done(g);
		x = dest_begin(g, e, e->rm, size, m);
		j_incdec(b, size, e->kind == DC_DEC, x);
		dest_end(g, e, e->rm, size);
		break;
	case DC_GROUP3:
		if (e->mem)
			gen_mem(g, e, size, true);
		gen_mem_done(g);
		x = dest_begin(g, e, e->rm, size, m);
		j_grp3(b, size, e->modrm_reg, x);
		dest_end(g, e, e->rm, size);
		break;
	case DC_SHIFT: {
		int c = shift_count(e);

		if (e->mem)
			gen_mem(g, e, size, true);
		gen_mem_done(g);
		x = dest_begin(g, e, e->rm, size, m);
		if (c)
			gen_shift(g, e->op, x, size, c);
		dest_end(g, e, e->rm, size);
		break;
	}
	case DC_PUSH:
	case DC_PUSH_IMM:
	case DC_PUSH_RM:
		if (e->kind == DC_PUSH) {
			j_mov_rm(b, 8, V, greg(e, e->rm, 8));
		} else if (e->kind == DC_PUSH_IMM) {
			jx(b, 8, 0xc7, 1, 0, jreg(V));
			jb32(b, e->imm);
		} else {
			gen_src(g, e, e->rm, 8);
		}
		gen_push_slot(g);
		gen_mem_done(g);
		j_mov_mr(b, 8, m, V);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
		break;
	case DC_POP:
		gen_pop(g, R_SP);
		gen_mem_done(g);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
		j_mov_mr(b, 8, greg(e, e->rm, 8), V);
		break;
	case DC_LEAVE:
		gen_pop(g, R_BP);
		gen_mem_done(g);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_BP)), V);
		break;
	case DC_CALL:
	case DC_CALL_RM:
		if (e->kind == DC_CALL_RM)
			gen_src(g, e, e->rm, 8);
		else
			j_mov_ri64(b, V, g->next + e->imm);
		gen_push_slot(g);
		gen_mem_done(g);
		j_mov_ri64(b, W, g->next);
		j_mov_mr(b, 8, m, W);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
		if (e->kind == DC_CALL)
			gen_chain(g, g->next + e->imm, g->idx + 1);
		else
			gen_dyn_exit(g);
		break;
	case DC_RET:
		gen_pop(g, R_SP);
		gen_mem_done(g);
		j_mov_mr(b, 8, jmem(HRBX, GPR(R_SP)), HRDI);
		gen_dyn_exit(g);
		break;
	case DC_JMP:
		gen_chain(g, g->next + e->imm, g->idx + 1);
		break;
	case DC_JMP_RM:
		gen_src(g, e, e->rm, 8);
		gen_mem_done(g);
		gen_dyn_exit(g);
		break;
	case DC_JCC:
		add_exit(g, j_jcc(b, e->op), X_CHAIN, g->next + e->imm,
			 g->idx + 1);
		break;
	case DC_CMOV:
		j_mov_rm(b, size, W, greg(e, e->reg, size));
		gen_src(g, e, e->rm, size);
		gen_mem_done(g);
		j_cmov(b, size == 2 ? 2 : size, e->op, W, jreg(V));
		gen_set_reg(g, e, e->reg, size, W);
		break;
	case DC_SETCC:
		x = e->mem ? gen_mem(g, e, 1, true) : greg(e, e->rm, 1);
		gen_mem_done(g);
		j_setcc(b, e->op, x);
		break;
	case DC_CWDE:
	case DC_CDQ:
		w = e->kind == DC_CDQ;
		j_mov_rm(b, 8, HRAX, jmem(HRBX, GPR(R_AX)));
		if (size == 2)
			jb8(b, 0x66);
		else if (size == 8)
			jb8(b, 0x48);
		jb8(b, w ? 0x99 : 0x98);
		if (w)
			j_mov_mr(b, size == 4 ? 8 : size,
				 jmem(HRBX, GPR(R_DX)), HRDX);
		else
			j_mov_mr(b, size == 4 ? 8 : size,
				 jmem(HRBX, GPR(R_AX)), HRAX);
		break;
	case DC_NOP:
		break;
	}
}

/* The exits after the body */
static void gen_exits(struct jgen *g)
{
	struct jbuf *b = &g->b;

	for (unsigned i = 0; i < g->nx; i++) {
		const struct jexit *x = &g->x[i];
		uint64_t off = x->rip & 0xfff;

		for (unsigned k = 0; k < x->nrel; k++)
			j_patch(x->rel[k], b->p);
		if (x->saved && !x->synced)
			gen_restore(b);
		if (!x->synced)
			j_call(b, g->env->commit);
		j_mov_ri64(b, HRCX, x->rip);
		j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), HRCX);
		gen_budget(b, x->count);
		if (x->kind == X_MISS) {
			j_patch(j_jmp(b), g->env->exit_interp);
			continue;
		}
		/* the budget; then an interrupt the LAPIC may have for us */
		j_patch(j_jcc(b, 14), g->env->exit);		/* jle */
		if (g->cpu->irq_hint) {
			j_mov_ri64(b, HRCX, (uintptr_t)g->cpu->irq_hint);
			j_alu_mi(b, 1, 7, jmem(HRCX, 0), 0);
			j_patch(j_jcc(b, 5), g->env->exit_interp);
			j_mov_ri64(b, HRCX, (uintptr_t)g->cpu->irq_extint);
			j_alu_mi(b, 1, 7, jmem(HRCX, 0), 0);
			j_patch(j_jcc(b, 5), g->env->exit_interp);
		}
		j_alu_mi(b, 1, 7, jmem(HRBX, OFF(nmi_pending)), 0);
		j_patch(j_jcc(b, 5), g->env->exit_interp);
		/*
		 * A target in this page with its 16 bytes in it: a jump that
		 * jit_run points at the target's block once it has one
		 * (until then, to the next instruction, which asks for it).
		 */
		if ((x->rip >> 12) == (g->start >> 12) && off <= 4096 - 16) {
			uint8_t *rel = j_jmp(b);

			j_patch(rel, b->p);
			j_mov_ri64(b, HRCX, (uintptr_t)rel);
			j_mov_mr(b, 8, jmem(HRBX, OFF(jit_link)), HRCX);
		}
		j_patch(j_jmp(b), g->env->exit);
	}
}

/* Compare the bytes at p with their copy now, or leave as stale */
static void gen_check(struct jgen *g, const uint8_t *p, unsigned n,
		      uint8_t **stale)
{
	struct jbuf *b = &g->b;
	unsigned nstale = 0;

	j_mov_ri64(b, HRSI, (uintptr_t)p);
	for (unsigned i = 0; i < n; i += 8) {
		unsigned at = i + 8 <= n ? i : (n >= 8 ? n - 8 : 0);
		uint64_t v;

		memcpy(&v, p + at, 8);
		j_mov_rm(b, 8, HRAX, jmem(HRSI, at));
		if (n < 8) {
			uint64_t mask = (1ULL << (8 * n)) - 1;

			v &= mask;
			j_mov_ri64(b, HRCX, mask);
			j_alu_mr(b, 8, 4, jreg(HRAX), HRCX);
		}
		j_mov_ri64(b, HRCX, v);
		j_alu_mr(b, 8, 7, jreg(HRAX), HRCX);
		stale[nstale++] = j_jcc(b, 5);
	}
}

/* How many of blk's instructions, from the first, the block translates */
static unsigned jit_count(const struct dc_block *blk, unsigned *nbytes)
{
	unsigned n = 0;

	*nbytes = 0;
	while (n < blk->n && blk->e[n].h != H_INTERP &&
	       jit_supported(&blk->e[n]))
		*nbytes += blk->e[n++].len;
	return n;
}

bool jit_gen_worth(const uint8_t *p, const uint8_t *end)
{
	struct dc_block blk;
	unsigned nbytes;

	dc_build(&blk, p, end);
	return jit_count(&blk, &nbytes) > 0;
}

unsigned jit_gen_block(struct jbuf *b, const struct jit_env *env,
		       const struct emu_cpu *cpu, const uint8_t *p,
		       const uint8_t *end, uint64_t rip)
{
	struct dc_block blk;
	struct jgen gen = { .b = *b }, *g = &gen;
	uint8_t *entry = b->p, *stale[DCB_BYTES / 8 + 1];
	bool live[DCB_INSNS + 1];
	unsigned n = 0, nbytes = 0, i;

	dc_build(&blk, p, end);
	n = jit_count(&blk, &nbytes);
	if (!n)
		return 0;
	g->env = env;
	g->cpu = cpu;
	g->page = p - (rip & 0xfff);
	g->user = cpu->cpl == 3;
	/* flags live before each instruction, from the end backwards */
	live[n] = true;
	for (i = n; i-- > 0;) {
		bool reads, sets;

		flag_use(&blk.e[i], &reads, &sets);
		live[i] = reads || (!sets && live[i + 1]);
	}

	gen_check(g, p, nbytes, stale);
	gen_load_flags(&g->b);
	g->synced = true;
	g->rip = g->start = rip;
	for (i = 0; i < n && !g->bad; i++) {
		const struct dc_entry *e = &blk.e[i];

		g->idx = i;
		g->next = g->rip + e->len;
		g->live_in = live[i];
		g->live_out = live[i + 1];
		g->saved = false;
		gen_insn(g, e);
		if (writes_flags(e))
			g->synced = false;
		g->rip = g->next;
		if (e->kind == DC_JMP || e->kind == DC_CALL ||
		    e->kind == DC_RET || e->kind == DC_JMP_RM ||
		    e->kind == DC_CALL_RM)
			break;
	}
	/*
	 * Fell off the end: on to the next block, or to the interpreter for
	 * an instruction the translator leaves to it.
	 */
	if (i == n && n == blk.n && blk.e[n - 1].h != H_INTERP)
		gen_chain(g, g->rip, n);
	else if (i == n)
		add_exit(g, j_jmp(&g->b), X_MISS, g->rip, n);
	gen_exits(g);
	/* a block whose bytes changed: back to jit_run, which retranslates */
	{
		uint8_t *here = g->b.p;

		for (unsigned k = 0; k < (nbytes + 7) / 8; k++)
			j_patch(stale[k], here);
		j_mov_ri64(&g->b, HRCX, (uintptr_t)entry);
		j_mov_mr(&g->b, 8, jmem(HRBX, OFF(jit_stale)), HRCX);
		j_mov_ri64(&g->b, HRCX, rip);
		j_mov_mr(&g->b, 8, jmem(HRBX, OFF(rip)), HRCX);
		j_patch(j_jmp(&g->b), env->exit);
	}
	if (g->bad)
		g->b.full = true;
	*b = g->b;
	return n;
}
