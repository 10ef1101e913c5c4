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
 * exit stores them into cpu->jit_flags (see gen_store_ax).
 *
 * Exceptions: a translated instruction never faults. Its memory operand
 * is looked up in the soft TLB inline; a miss, a page without the needed
 * permission, MMIO, a page-crossing access or a store into the code page
 * leaves the block before the instruction with RIP, registers and flags
 * exactly as they were there, and the interpreter runs it (and raises
 * any fault, fills the TLB, or does the MMIO).
 */
#include <stdio.h>

#include "accel/emu/jit_gen.h"
#include "accel/emu/jit_perfmap.h"

void jit_add_exit(struct jgen *g, uint8_t *rel, uint8_t kind, uint64_t rip,
		  unsigned count)
{
	struct jexit *x = g->nx ? &g->x[g->nx - 1] : NULL;

	/* an instruction's TLB checks share one exit */
	if (x && kind == X_MISS && x->kind == X_MISS && x->rip == rip &&
	    x->count == count && x->synced == g->synced &&
	    x->saved == g->saved && x->dirty == g->dirty &&
	    x->nrel < JIT_MISS_JUMPS) {
		x->rel[x->nrel++] = rel;
		return;
	}
	if (g->nx == JIT_EXITS) {
		g->bad = true;
		return;
	}
	g->x[g->nx++] = (struct jexit){ .rel = { rel }, .nrel = 1,
		.rip = rip, .count = count, .kind = kind,
		.synced = g->synced, .saved = g->saved, .dirty = g->dirty };
}

/*
 * The guest's arithmetic flags between blocks are in cpu->jit_flags, as
 * LAHF and SETO leave them (AH, AL): an exit stores three bytes and the
 * next block loads them back with ADD and SAHF, instead of merging them
 * into cpu->rflags and taking them apart again. jit_run's entry and exit
 * (jit_gen_flags_in/out) convert from and to cpu->rflags once a run.
 */
static void gen_store_ax(struct jbuf *b)
{
	jb8(b, 0x66);				/* mov [rbx + jit_flags], ax */
	jb8(b, 0x89);
	jb8(b, 0x83);
	jb32(b, OFF(jit_flags));
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

/* Store the host's arithmetic flags into cpu->jit_flags (RAX) */
static void gen_commit(struct jbuf *b)
{
	gen_save(b);
	gen_store_ax(b);
}

/* cpu->jit_flags into the host's arithmetic flags (RAX) */
static void gen_load_flags(struct jbuf *b)
{
	jb8(b, 0x66);				/* mov ax, [rbx + jit_flags] */
	jb8(b, 0x8b);
	jb8(b, 0x83);
	jb32(b, OFF(jit_flags));
	gen_restore(b);
}

/* cpu->jit_flags from the arithmetic flags in register r (RAX, RDX) */
void jit_gen_flags_from(struct jbuf *b, int r)
{
	j_mov_mr(b, 4, jreg(HRDX), r);
	j_shift_mi(b, 4, 5, jreg(HRDX), 11);		/* shr: OF */
	j_alu_mi(b, 4, 4, jreg(HRDX), 1);
	j_movx(b, 4, false, 1, HRAX, jreg(r));
	j_shift_mi(b, 4, 4, jreg(HRAX), 8);		/* shl: to AH */
	j_alu_mr(b, 4, 1, jreg(HRAX), HRDX);		/* or */
	gen_store_ax(b);
}

void jit_gen_flags_in(struct jbuf *b)
{
	j_mov_rm(b, 4, HRCX, jmem(HRBX, OFF(rflags)));
	jit_gen_flags_from(b, HRCX);
}

void jit_gen_flags_out(struct jbuf *b)
{
	j_movx(b, 4, false, 1, HRDX, jmem(HRBX, OFF(jit_flags) + 1));
	j_alu_mi(b, 4, 4, jreg(HRDX), FL_ARITH & 0xff);
	j_movx(b, 4, false, 1, HRAX, jmem(HRBX, OFF(jit_flags)));
	j_shift_mi(b, 4, 4, jreg(HRAX), 11);		/* OF */
	j_alu_mr(b, 4, 1, jreg(HRDX), HRAX);		/* or */
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(rflags)));
	j_alu_mi(b, 8, 4, jreg(HRCX), ~(uint64_t)FL_ARITH);
	j_alu_mr(b, 8, 1, jreg(HRCX), HRDX);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rflags)), HRCX);
}

void jit_gen_load_flags(struct jgen *g)
{
	gen_load_flags(&g->b);
}

/* RDI = the linear address of e's memory operand (seg: with FS/GS base) */
/* A host register holding guest register r: its own, or tmp loaded */
static int gen_gpr_in(struct jgen *g, int r, int tmp)
{
	struct jop x = jit_gr64(g, r);

	if (!x.mem)
		return x.reg;
	j_mov_rm(&g->b, 8, tmp, x);
	return tmp;
}

void jit_gen_ea(struct jgen *g, const struct dc_entry *e, bool seg)
{
	struct jbuf *b = &g->b;

	if (e->riprel) {
		j_mov_ri64(b, HRDI, g->next + (int64_t)e->disp);
	} else {
		int base = HRDI;

		if (e->base >= 0)
			base = gen_gpr_in(g, e->base, HRDI);
		else
			j_mov_ri32(b, HRDI, 0);
		if (e->index >= 0)
			j_lea(b, 8, HRDI, jmem_idx(base,
				gen_gpr_in(g, e->index, HRSI), e->scale,
				e->disp));
		else if (e->disp || base != HRDI)
			j_lea(b, 8, HRDI, jmem(base, e->disp));
	}
	if (seg && e->seg != SEG_NONE) {
		j_mov_rm(b, 8, HRSI, jmem(HRBX, OFF(seg) +
			 e->seg * (int32_t)sizeof(struct x86_segment) +
			 (int32_t)offsetof(struct x86_segment, base)));
		j_lea(b, 8, HRDI, jmem_idx(HRDI, HRSI, 0, 0));
	}
}

/* Leave the block before this instruction when the flags jcc cc says */
void jit_miss_if(struct jgen *g, int cc)
{
	jit_add_exit(g, j_jcc(&g->b, cc), X_MISS, g->rip, g->idx);
}

/*
 * RCX = host address of size bytes at the linear address in RDI, if the
 * soft TLB allows the access from RAM within one page (what mem_read and
 * mem_write do inline), and a store is not into the code page; else a
 * jump at one of the rel32s put in miss[] (returns how many). One test
 * of the entry's tag decides the entry's page, the permission, RAM and
 * the page's end (cpu.h). Clobbers RSI, RDX and the flags.
 */
static int gen_tlb_lookup(struct jbuf *b, int size, bool write, bool user,
			  uint8_t *miss[2])
{
	uint32_t deny = (write ? TLB_W : TLB_R) << (user ? 3 : 0);
	int32_t t = OFF(tlb);
	int n = 0;

	/* RSI = the entry's offset in cpu->tlb (from the low half) */
	j_mov_mr(b, 4, jreg(HRSI), HRDI);
	j_shift_mi(b, 4, 5, jreg(HRSI), 12 - 5);		/* shr */
	j_alu_mi(b, 4, 4, jreg(HRSI), (TLB_SIZE - 1) << 5);	/* and */
	/* the page of the access's last byte against the tag */
	if (size > 1)
		j_lea(b, 8, HRDX, jmem(HRDI, size - 1));
	else
		j_mov_mr(b, 8, jreg(HRDX), HRDI);
	j_alu_mi(b, 8, 4, jreg(HRDX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 6, HRDX, jmem_idx(HRBX, HRSI, 0, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRDX), (uint64_t)-4096 | deny);
	miss[n++] = j_jcc(b, 5);				/* jne */
	j_mov_rm(b, 8, HRCX, jmem_idx(HRBX, HRSI, 0, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));
	j_alu_mr(b, 8, 0, jreg(HRCX), HRDI);			/* add */
	if (write) {
		/* a store into the code page: the interpreter ends its block */
		j_mov_mr(b, 8, jreg(HRDX), HRCX);
		j_alu_rm(b, 8, 6, HRDX, jmem(HRBX, OFF(fetch_hva)));	/* xor */
		j_shift_mi(b, 8, 5, jreg(HRDX), 12);			/* shr */
		miss[n++] = j_jcc(b, 4);				/* je */
	}
	return n;
}

_Static_assert(sizeof(struct tlb_entry) == 32, "the lookup's shr 7, and");

/*
 * The lookup as a subroutine: RCX as gen_tlb_lookup says, else 0, with
 * ZF set exactly when it is 0 (a host address is never).
 */
static const uint8_t *gen_tlb_stub(struct jbuf *b, int size, bool write)
{
	const uint8_t *start = b->p;
	uint8_t *miss[2];
	int nmiss = gen_tlb_lookup(b, size, write, false, miss);

	jb8(b, 0xc3);						/* ret */
	for (int i = 0; i < nmiss; i++)
		j_patch(miss[i], b->p);
	j_alu_mr(b, 4, 6, jreg(HRCX), HRCX);			/* xor ecx, ecx */
	jb8(b, 0xc3);
	return start;
}

/* CALL target */
static void j_call(struct jbuf *b, const uint8_t *target)
{
	jb8(b, 0xe8);
	j_patch(jb_rel32(b), target);
}

/* JMP target */
static void j_goto(struct jbuf *b, const uint8_t *target)
{
	j_patch(j_jmp(b), target);
}

/* MOV r64, imm in the shortest form */
static void j_mov_rimm(struct jbuf *b, int r, uint64_t imm)
{
	if (imm <= UINT32_MAX)
		j_mov_ri32(b, r, imm);
	else if ((uint64_t)(int64_t)(int32_t)imm == imm) {
		jx(b, 8, 0xc7, 1, 0, jreg(r));
		jb32(b, imm);
	} else
		j_mov_ri64(b, r, imm);
}

/* An instruction ending in [RIP + disp32]; returns the disp32 to point */
static uint8_t *j_riprel(struct jbuf *b, uint8_t rex, uint8_t opc, int reg)
{
	if (rex)
		jb8(b, rex);
	jb8(b, opc);
	jb8(b, (reg & 7) << 3 | 5);
	return jb_rel32(b);
}

/* What the lookup points at the block it finds: nothing, or RDI's slot */
enum ic_fill { IC_NONE, IC_VARIES, IC_FIXED };

/*
 * From a block's end to the block for the guest address in V (the budget
 * left, cpu->rip and cpu->jit_flags stored) without jit_run: the TLB's entry
 * for V's page must let CPL user run it from RAM (or be the page the
 * fetch window is on), and the front table must hold a block for its
 * host address, V and user, which jit_run put there once published.
 * Else back to jit_run, which makes, finds or publishes it (cpu->rip is
 * set). Moves the fetch window to V's page as jit_run would. A block
 * entered so checks its bytes as always; the budget bounds the run.
 */
static void gen_lookup(struct jbuf *b, const struct jit_env *env, int user,
		       enum ic_fill fill)
{
	int32_t t = OFF(tlb);
	uint8_t *miss[8], *page, *have;
	int nmiss = 0;
	uint32_t need = user ? TLB_UX : TLB_X;

	j_mov_mr(b, 8, jreg(HRSI), V);
	j_shift_mi(b, 8, 5, jreg(HRSI), 12);			/* shr */
	j_alu_rm(b, 8, 7, HRSI, jmem(HRBX, OFF(fetch_vpn)));	/* cmp */
	page = j_jcc(b, 5);					/* jne */
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(fetch_hva)));
	have = b->p;
	j_mov_mr(b, 4, jreg(HRAX), V);
	j_alu_mi(b, 4, 4, jreg(HRAX), 0xfff);			/* and */
	j_alu_mr(b, 8, 0, jreg(HRCX), HRAX);			/* add */
	/* RDX = the front entry for host address RCX (jit_front_index) */
	j_mov_mr(b, 8, jreg(HRDX), HRCX);
	j_shift_mi(b, 8, 5, jreg(HRDX), JIT_FRONT_MIX);
	j_alu_mr(b, 4, 6, jreg(HRDX), HRCX);			/* xor */
	j_alu_mi(b, 4, 4, jreg(HRDX), JIT_FRONT - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);			/* shl */
	j_mov_ri64(b, HRAX, (uintptr_t)env->front);
	j_alu_mr(b, 8, 0, jreg(HRDX), HRAX);
	j_alu_mr(b, 8, 7, jmem(HRDX, offsetof(struct jit_front, key)), HRCX);
	miss[nmiss++] = j_jcc(b, 5);
	j_alu_mr(b, 8, 7, jmem(HRDX, offsetof(struct jit_front, rip)), V);
	miss[nmiss++] = j_jcc(b, 5);
	jx(b, 8, 0x83, 1, 7, jmem(HRDX, offsetof(struct jit_front, user)));
	jb8(b, user);						/* cmp */
	miss[nmiss++] = j_jcc(b, 5);
	if (fill != IC_NONE) {
		/* the exit's slot (RDI) at this block: code, host page, RIP */
		j_mov_rm(b, 8, HRAX, jmem(HRDX, offsetof(struct jit_front,
							  code)));
		j_mov_mr(b, 8, jmem(HRDI, JIT_IC_CODE), HRAX);
		if (fill == IC_VARIES)
			j_mov_mr(b, 8, jmem(HRDI, JIT_IC_RIP), V);
		j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);	/* and */
		j_mov_mr(b, 8, jmem(HRDI, JIT_IC_PAGE), HRCX);
		jb8(b, 0xff);					/* jmp rax */
		jb8(b, 0xe0);
	} else {
		jx(b, 4, 0xff, 1, 4, jmem(HRDX, offsetof(struct jit_front,
							 code)));
	}
	/* another page: its TLB entry, as jit_run's jit_fetch_page */
	j_patch(page, b->p);
	j_mov_mr(b, 4, jreg(HRDX), HRSI);
	j_alu_mi(b, 4, 4, jreg(HRDX), TLB_SIZE - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);
	/* the tag (cpu.h) lets CPL user run V's page from RAM */
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 6, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRCX), (uint64_t)-4096 | need);
	miss[nmiss++] = j_jcc(b, 5);
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 0, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));	/* add */
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_vpn)), HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_hva)), HRCX);
	j_patch(j_jmp(b), have);
	for (int i = 0; i < nmiss; i++)
		j_patch(miss[i], env->exit);
}

/*
 * An exit's slot check, called with RDI = the slot and the flags of the
 * SUB of the budget: returns when the slot holds V's block and that may
 * run now (fixed: V is always the slot's target, else it must be the
 * slot's RIP): V's page is the fetch window's, or the TLB lets CPL user
 * run it from RAM (it becomes the fetch window, as in gen_lookup), at
 * the host page the slot's block was found for. So the block the slot
 * leads to is the one the front table gave for V's host address (its
 * byte check tells whether that changed since), and a page unmapped,
 * remapped or made non-executable is not run from it (and the slot is
 * cpu->jit_slot, which jit_run clears when that block proves stale, so
 * the slot leads to the block made again). Else it drops
 * its return address and leaves for jit_run (budget spent) or the
 * lookup, which points the slot at the block it finds.
 */
static void gen_ic_check(struct jbuf *b, struct jit_env *env, int user,
			 bool fixed)
{
	int32_t t = OFF(tlb);
	uint8_t *no[4], *other, *spent;
	uint32_t need = user ? TLB_UX : TLB_X;
	int n = 0;

	env->ic_check[user][fixed] = b->p;
	spent = j_jcc(b, 14);					/* jle */
	if (!fixed) {
		j_alu_rm(b, 8, 7, V, jmem(HRDI, JIT_IC_RIP));	/* cmp */
		no[n++] = j_jcc(b, 5);				/* jne */
	}
	j_mov_mr(b, 8, jreg(HRSI), V);
	j_shift_mi(b, 8, 5, jreg(HRSI), 12);			/* shr */
	j_alu_rm(b, 8, 7, HRSI, jmem(HRBX, OFF(fetch_vpn)));	/* cmp */
	other = j_jcc(b, 5);					/* jne */
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(fetch_hva)));
	j_alu_rm(b, 8, 7, HRCX, jmem(HRDI, JIT_IC_PAGE));	/* cmp */
	no[n++] = j_jcc(b, 5);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_slot)), HRDI);
	jb8(b, 0xc3);						/* ret */
	j_patch(other, b->p);
	j_mov_mr(b, 4, jreg(HRDX), HRSI);
	j_alu_mi(b, 4, 4, jreg(HRDX), TLB_SIZE - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 6, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRCX), (uint64_t)-4096 | need);
	no[n++] = j_jcc(b, 5);
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 0, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));	/* add */
	j_alu_rm(b, 8, 7, HRCX, jmem(HRDI, JIT_IC_PAGE));	/* cmp */
	no[n++] = j_jcc(b, 5);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_vpn)), HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_hva)), HRCX);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_slot)), HRDI);
	jb8(b, 0xc3);						/* ret */
	for (int i = 0; i < n; i++)
		j_patch(no[i], b->p);
	j_lea(b, 8, HRSP, jmem(HRSP, 8));
	j_goto(b, env->ic_miss[user][fixed]);
	j_patch(spent, b->p);
	j_lea(b, 8, HRSP, jmem(HRSP, 8));
	j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), V);
	j_goto(b, env->exit);
}

/* The exits' shared tails (jit_cache.h says what each takes) */
static void gen_outs(struct jbuf *b, struct jit_env *env)
{
	struct jop rip = jmem(HRBX, OFF(rip));
	struct jop left = jmem(HRBX, OFF(jit_left));

	for (int u = 0; u < 2; u++) {
		env->far_out[u] = b->p;
		j_mov_mr(b, 8, rip, V);
		j_patch(j_jcc(b, 14), env->exit);		/* jle */
		gen_lookup(b, env, u, IC_NONE);
	}

	env->chain_out = b->p;
	j_mov_rm(b, 8, HRSI, jmem(HRDI, 8));
	j_mov_mr(b, 8, rip, HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_link)), HRDI);
	j_goto(b, env->exit);

	env->miss_out[1] = b->p;
	gen_commit(b);
	env->miss_out[0] = b->p;
	j_mov_rm(b, 4, HRAX, jreg(HRDI));
	j_shift_mi(b, 4, 5, jreg(HRDI), 8);
	j_alu_mr(b, 8, 0, jreg(HRSI), HRDI);
	j_mov_mr(b, 8, rip, HRSI);
	j_movx(b, 4, false, 1, HRDI, jreg(HRAX));
	j_alu_mr(b, 8, 5, left, HRDI);
	j_goto(b, env->exit_interp);

	env->stale_out = b->p;
	j_mov_mr(b, 8, rip, HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_stale_rip)), HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_stale)), HRDI);
	j_goto(b, env->exit);

	for (int u = 0; u < 2; u++) {
		for (int f = 0; f < 2; f++) {
			env->ic_miss[u][f] = b->p;
			j_mov_mr(b, 8, rip, V);
			gen_lookup(b, env, u, f ? IC_FIXED : IC_VARIES);
			gen_ic_check(b, env, u, f);
		}
	}
}

void jit_gen_stubs(struct jbuf *b, struct jit_env *env)
{
	const uint8_t *outs;

	for (int w = 0; w < 2; w++)
		for (int s = 0; s < 4; s++) {
			char name[32];

			env->tlb[w][s] = gen_tlb_stub(b, 1 << s, w);
			snprintf(name, sizeof(name), "tlb_%s%d",
				 w ? "write" : "read", 8 << s);
			jit_perfmap_stub(env->tlb[w][s], b->p - env->tlb[w][s],
					 name);
		}
	outs = b->p;

	gen_outs(b, env);
	jit_perfmap_stub(outs, env->far_out[1] - outs, "dyn_lookup");
	jit_perfmap_stub(env->far_out[1], env->chain_out - env->far_out[1],
			 "dyn_lookup_user");
	jit_perfmap_stub(env->chain_out, env->miss_out[1] - env->chain_out,
			 "chain_out");
	jit_perfmap_stub(env->miss_out[1], env->stale_out - env->miss_out[1],
			 "miss_out");
	jit_perfmap_stub(env->stale_out, env->ic_miss[0][0] - env->stale_out,
			 "stale_out");
	jit_perfmap_stub(env->ic_miss[0][0], env->ic_miss[1][0] -
			 env->ic_miss[0][0], "ic_lookup");
	jit_perfmap_stub(env->ic_miss[1][0], b->p - env->ic_miss[1][0],
			 "ic_lookup_user");
}

/* The guest flags into AL/AH before what changes the host's (jit_gen.h) */
void jit_gen_save(struct jgen *g)
{
	if (!g->saved && (g->live_in || !g->synced)) {
		gen_save(&g->b);
		g->saved = true;
	}
}

/*
 * RCX = host address of size bytes at the linear address in RDI, or a
 * miss exit. The first lookup of an instruction saves the guest flags
 * first. The lookup is in the block (no call and return, its jumps
 * straight to the miss exit) at CPL 3 and in a block that jumps back to
 * its start; elsewhere a call to the shared one keeps the block ~45
 * bytes an operand smaller: the kernel's code is mostly run a few times
 * (a Debian boot made 231 flushes of the code cache with every lookup
 * in the block, 126 so), its hot loops loop.
 */
void jit_gen_tlb(struct jgen *g, int size, bool write)
{
	uint8_t *miss[2];
	int n;

	jit_gen_save(g);
	if (!g->user && !g->loops) {
		j_call(&g->b, g->env->tlb[write][DC_SIZE_SLOT(size)]);
		jit_miss_if(g, 4);					/* je */
		return;
	}
	n = gen_tlb_lookup(&g->b, size, write, g->user, miss);
	for (int i = 0; i < n; i++)
		jit_add_exit(g, miss[i], X_MISS, g->rip, g->idx);
}

/*
 * e's memory operand at [RCX]. A locked one (LOCK, or XCHG) across a
 * cache line is the interpreter's: the host's locked instruction there
 * would be a split lock, which locks the bus for every core of the host
 * (or is fatal to the process where the kernel is told so).
 */
struct jop jit_gen_mem(struct jgen *g, const struct dc_entry *e,
		       int size, bool write)
{
	struct jbuf *b = &g->b;

	jit_gen_ea(g, e, true);
	jit_gen_tlb(g, size, write);
	if ((e->lock || e->kind == DC_XCHG) && size > 1) {
		j_mov_mr(b, 4, jreg(HRSI), HRCX);
		j_alu_mi(b, 4, 4, jreg(HRSI), 63);		/* and */
		j_alu_mi(b, 4, 7, jreg(HRSI), 64 - size);	/* cmp */
		jit_miss_if(g, 7);				/* ja */
	}
	return jmem(HRCX, 0);
}

/* After the lookups: the guest flags back in RFLAGS if anything needs them */
void jit_gen_mem_done(struct jgen *g)
{
	/* kept in AL/AH, or the instruction sets them all next anyway */
	if (g->keep || (g->saved && g->sets_all))
		return;
	if (g->saved && g->live_in)
		gen_restore(&g->b);
	g->saved = false;
}

/* The end of the block towards a fixed guest address */
void jit_gen_chain(struct jgen *g, uint64_t target, unsigned count)
{
	jit_add_exit(g, j_jmp(&g->b), X_CHAIN, target, count);
}

/* Store the guest registers in mask from their host ones to cpu->gpr */
static void gen_writeback(struct jgen *g, uint16_t mask)
{
	for (int r = 0; r < 16; r++)
		if (mask & (1u << r))
			j_mov_mr(&g->b, 8, jmem(HRBX, GPR(r)), g->host[r]);
}

/* Load the cached guest registers in mask into their host ones */
static void gen_reload(struct jgen *g, uint16_t mask)
{
	for (int r = 0; r < 16; r++)
		if (g->cached & mask & (1u << r))
			j_mov_rm(&g->b, 8, g->host[r], jmem(HRBX, GPR(r)));
}

/*
 * On to the block for the address in V through the exit's own slot (RDI,
 * see jit_gen_dyn_exit), after a SUB of the budget whose flags are live;
 * fixed: V is always the same
 */
static void gen_ic_exit(struct jgen *g, bool fixed)
{
	struct jbuf *b = &g->b;
	const uint8_t **slot;
	long words = fixed ? 2 : 4;

	if (g->slots->end - g->slots->next < words) {
		g->bad = true;
		return;
	}
	slot = g->slots->next;
	g->slots->next += words;
	memset(slot, 0, words * sizeof(*slot));
	j_patch(j_riprel(b, 0x48, 0x8d, HRDI), (const uint8_t *)slot);
	j_call(b, g->env->ic_check[g->user][fixed]);
	jb8(b, 0xff);						/* jmp [rdi] */
	jb8(b, 0x27);
}

/*
 * The end of the block towards the address in V (RET, JMP and CALL
 * through a register or memory). The exit has its own slot (jit_cache.h)
 * with the last block it went on to: while V is that block's RIP and its
 * page may run at the same host page (ic_check), it jumps there itself,
 * through an indirect jump of its own that the host predicts by this
 * exit alone, else through the lookup stub, which points the slot at
 * the block it finds.
 */
void jit_gen_dyn_exit(struct jgen *g)
{
	struct jbuf *b = &g->b;

	gen_writeback(g, g->dirty);
	if (!g->synced)
		gen_commit(b);
	jx(b, 8, 0x83, 1, 5, jmem(HRBX, OFF(jit_left)));	/* sub imm8 */
	jb8(b, g->idx + 1);
	gen_ic_exit(g, false);
}


/*
 * A chained exit: the budget, then on through its slot, which points at
 * the target's block once jit_run has seen it (until then, and when the
 * budget is spent, at the cold half after it, which asks for that). A
 * slot is two words: where the jump goes, and the target's RIP.
 */
static void gen_chain_exit(struct jgen *g, const struct jexit *x)
{
	struct jbuf *b = &g->b;
	const uint8_t **slot;
	uint8_t *cold;

	jx(b, 8, 0x83, 1, 5, jmem(HRBX, OFF(jit_left)));	/* sub imm8 */
	jb8(b, x->count);
	/*
	 * Back to its own start: on without the byte check, which its entry
	 * made (its code is not stored to while it runs, and another CPU's
	 * store need not be seen before this one serializes).
	 */
	if (x->rip == g->start) {
		int32_t d = (int32_t)(g->body - (b->p + 2));

		if (d >= -128) {
			jb8(b, 0x7f);				/* jg rel8 */
			jb8(b, (uint8_t)d);
		} else {
			j_patch(j_jcc(b, 15), g->body);		/* jg */
		}
	}
	/* out of budget: far_out leaves for jit_run (the SUB's flags) */
	if (x->rip == g->start) {
		j_mov_rimm(b, V, x->rip);
		j_goto(b, g->env->far_out[g->user]);
		return;
	}
	/*
	 * A target in another page (its TLB entry is looked at on every
	 * jump): through a slot of its own, as a dynamic exit
	 */
	if ((x->rip >> 12) != (g->start >> 12)) {
		j_mov_rimm(b, V, x->rip);
		gen_ic_exit(g, true);
		return;
	}
	if (g->slots->end - g->slots->next < 2) {
		g->bad = true;
		return;
	}
	slot = g->slots->next;
	g->slots->next += 2;
	cold = j_jcc(b, 14);					/* jle */
	j_patch(j_riprel(b, 0, 0xff, 4), (const uint8_t *)slot);
	j_patch(cold, b->p);
	slot[0] = b->p;
	memcpy(&slot[1], &x->rip, 8);
	j_patch(j_riprel(b, 0x48, 0x8d, HRDI), (const uint8_t *)slot);
	j_goto(b, g->env->chain_out);
}

/*
 * Which miss tail an exit takes: 1 to store the host's flags, 0 when
 * cpu->jit_flags is right or the exit stores AL/AH there itself.
 */
static int miss_tail(const struct jexit *x)
{
	return !x->synced && !x->saved;
}

/*
 * A block's miss exits say where and how far they got in EDI (the RIP's
 * distance from the block's start << 8, and the instructions done) and
 * jump to one of two tails (by whether the flags are to be stored) that
 * add the block's start.
 */
static void gen_miss_exits(struct jgen *g)
{
	struct jbuf *b = &g->b;
	const uint8_t *tail[2] = { NULL, NULL };

	for (unsigned i = 0; i < g->nx; i++) {
		const struct jexit *x = &g->x[i];
		int c = miss_tail(x);

		if ((x->kind != X_MISS && x->kind != X_STALE) || tail[c])
			continue;
		tail[c] = b->p;
		j_mov_rimm(b, HRSI, g->start);
		j_goto(b, g->env->miss_out[c]);
	}
	for (unsigned i = 0; i < g->nx; i++) {
		const struct jexit *x = &g->x[i];
		int c = miss_tail(x);
		int32_t d;

		if (x->kind != X_MISS && x->kind != X_STALE)
			continue;
		for (unsigned k = 0; k < x->nrel; k++)
			j_patch(x->rel[k], b->p);
		if (x->saved && !x->synced)
			gen_store_ax(b);	/* the flags are in AL/AH */
		gen_writeback(g, x->dirty);
		if (x->kind == X_STALE) {
			/* for jit_run's jit_restale: which block, its RIP */
			j_patch(j_riprel(b, 0x48, 0x8d, HRSI), g->entry);
			j_mov_mr(b, 8, jmem(HRBX, OFF(jit_stale)), HRSI);
			j_mov_rimm(b, HRSI, g->start);
			j_mov_mr(b, 8, jmem(HRBX, OFF(jit_stale_rip)), HRSI);
		}
		j_mov_ri32(b, HRDI, (uint32_t)(x->rip - g->start) << 8 |
				    x->count);
		d = (int32_t)(tail[c] - (b->p + 2));
		if (d >= -128) {
			jb8(b, 0xeb);				/* jmp rel8 */
			jb8(b, (uint8_t)d);
		} else {
			j_goto(b, tail[c]);
		}
	}
}

/*
 * A jump back to the block's own start (in a block that gen_loops found
 * one in): the guest flags stay in AL/AH across the budget's SUB and go
 * back into RFLAGS at the top of the body, instead of a store to
 * cpu->jit_flags and a load from it each time round (the top takes them
 * in AL/AH, as the entry leaves them). cpu->jit_flags is
 * then stale inside the body, so such a block's exits all store the
 * flags (it is never "synced"), and it loads them at its entry. So too
 * the guest registers it keeps in host ones: they count as changed from
 * the top of the body (every exit stores them all), so the jump back
 * stores none of them (only its way out, when the budget is spent).
 */
static void gen_loop_exit(struct jgen *g, const struct jexit *x)
{
	struct jbuf *b = &g->b;
	uint8_t *out;

	if (!x->saved)
		gen_save(b);
	jx(b, 8, 0x83, 1, 5, jmem(HRBX, OFF(jit_left)));	/* sub imm8 */
	jb8(b, x->count);
	out = j_jcc(b, 14);					/* jle */
	j_patch(j_jmp(b), g->top);
	j_patch(out, b->p);
	gen_writeback(g, x->dirty);
	gen_store_ax(b);
	j_mov_rimm(b, V, x->rip);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), V);
	j_goto(b, g->env->exit);
}

/* The exits after the body */
static void gen_exits(struct jgen *g)
{
	struct jbuf *b = &g->b;

	for (unsigned i = 0; i < g->nx && !g->bad; i++) {
		const struct jexit *x = &g->x[i];

		if (x->kind == X_MISS || x->kind == X_STALE)
			continue;
		for (unsigned k = 0; k < x->nrel; k++)
			j_patch(x->rel[k], b->p);
		if (x->rip == g->start && g->loops) {
			gen_loop_exit(g, x);
			continue;
		}
		if (x->saved && !x->synced)
			gen_store_ax(b);	/* the flags are in AL/AH */
		else if (!x->synced)
			gen_commit(b);
		gen_writeback(g, x->dirty);
		gen_chain_exit(g, x);
	}
	gen_miss_exits(g);
}

/*
 * Compare the n bytes at p with their copy now, or leave as stale: the
 * words at p XORed with their copies (emitted later, after the exits, at
 * the rel32s put in copy[]) ORed together must be zero. copy[] holds the
 * words, the last ending at n (overlapping the one before it), or one
 * word and a mask below 8 bytes: the word at p, or the one ending at
 * p + n when p is less than 8 bytes from its page's end.
 */
static int check_at(const uint8_t *p, unsigned n, unsigned i)
{
	if (i + 8 <= n)
		return i;
	if (n >= 8 || ((uintptr_t)p & 4095) + 8 > 4096)
		return (int)n - 8;
	return 0;
}

static uint64_t check_mask(const uint8_t *p, unsigned n)
{
	if (((uintptr_t)p & 4095) + 8 > 4096)
		return ~0ULL << (8 * (8 - n));
	return (1ULL << (8 * n)) - 1;
}

static void gen_check_cmp(struct jgen *g, const uint8_t *p, unsigned n,
			  uint8_t **copy, unsigned *ncopy, int acc)
{
	struct jbuf *b = &g->b;
	unsigned k = 0;

	j_mov_ri64(b, HRSI, (uintptr_t)p);
	for (unsigned i = 0; i < n; i += 8) {
		int at = check_at(p, n, i);
		int r = i ? HRCX : acc;

		j_mov_rm(b, 8, r, jmem(HRSI, at));
		copy[k++] = j_riprel(b, 0x48, 0x33, r);		/* xor */
		if (i)
			j_alu_mr(b, 8, 1, jreg(acc), HRCX);
	}
	if (n < 8)
		copy[k++] = j_riprel(b, acc & 8 ? 0x4c : 0x48, 0x23,
				     acc);				/* and */
	*ncopy = k;
}

static uint8_t *gen_check(struct jgen *g, const uint8_t *p, unsigned n,
			  uint8_t **copy, unsigned *ncopy)
{
	gen_check_cmp(g, p, n, copy, ncopy, HRAX);
	return j_jcc(&g->b, 5);					/* jne */
}

/* The words gen_check compares with, from bytes: p's copy */
static void gen_check_data(struct jgen *g, const uint8_t *p,
			   const uint8_t *bytes, unsigned n, uint8_t **copy,
			   unsigned ncopy)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i += 8) {
		uint64_t v;

		memcpy(&v, bytes + check_at(p, n, i), 8);
		j_patch(copy[k++], g->b.p);
		jb64(&g->b, v);
	}
	if (n < 8 && k < ncopy) {
		j_patch(copy[k], g->b.p);
		jb64(&g->b, check_mask(p, n));
	}
}

/*
 * A block is up to JIT_CHUNKS of the decode cache's blocks (dc_build)
 * one after the other, so that a loop body longer than DCB_INSNS with
 * conditional branches inside is one block: fewer exits, flag stores
 * and loads, byte checks and register loads.
 */
#define JIT_BYTES	(JIT_CHUNKS * DCB_BYTES)

struct jinsns {
	unsigned n;
	bool ends;	/* the last one ends the run (JMP, CALL, RET, H_INTERP) */
	unsigned nchunks;
	/* each chunk's first instruction, and its bytes' offset from p */
	unsigned first[JIT_CHUNKS], off[JIT_CHUNKS];
	struct dc_entry e[JIT_INSNS];
};

/*
 * The bytes a block is made from: the 8 before p in its page (the byte
 * check may read a word ending at p + n), then from p to its page's end
 * or JIT_BYTES + 32 on, then NOPs.
 */
#define JIT_SNAP	(8 + JIT_BYTES + 32)
#define JIT_CROSS	15	/* bytes of the next page: an instruction's most */

static bool ends_run(const struct dc_entry *e)
{
	return e->h == H_INTERP || e->kind == DC_JMP || e->kind == DC_CALL ||
	       e->kind == DC_RET || e->kind == DC_JMP_RM ||
	       e->kind == DC_CALL_RM;
}

/*
 * dc_build at p, whose page ends at end, from a copy of its bytes in
 * snap: the block's code and its byte check are both made from the copy,
 * so that another CPU writing the code meanwhile makes the check fail
 * (not pass on new bytes with code from the old). The decoder may look
 * at 16 bytes from each instruction; near the page's end it decodes the
 * padding, and jit_count keeps the instructions that end in the page.
 * Each chunk after the first starts where the one before it stopped, if
 * that did not end the run.
 */
static void jit_decode(struct jinsns *in, const uint8_t *p,
		       const uint8_t *end, const uint8_t *next, uint8_t *snap)
{
	size_t room = end - p, off = (uintptr_t)p & 4095;
	size_t pre = off < 8 ? off : 8;
	size_t len = room < JIT_SNAP - 8 ? room : JIT_SNAP - 8;
	const uint8_t *q = snap + 8;
	struct dc_block blk;

	memset(snap, 0x90, JIT_SNAP);
	memcpy(snap + 8 - pre, p - pre, pre + len);
	/* the next page's first bytes, for an instruction across its start */
	if (next && len == room)
		memcpy(snap + 8 + len, next, JIT_SNAP - 8 - len < JIT_CROSS ?
					      JIT_SNAP - 8 - len : JIT_CROSS);
	in->n = 0;
	in->ends = false;
	in->nchunks = 0;
	for (int c = 0; c < JIT_CHUNKS && !in->ends; c++) {
		if ((size_t)(q - (snap + 8)) >= room)
			break;
		dc_build(&blk, q, snap + JIT_SNAP);
		if (!blk.n)
			break;
		in->first[c] = in->n;
		in->off[c] = q - (snap + 8);
		in->nchunks = c + 1;
		memcpy(&in->e[in->n], blk.e, blk.n * sizeof(blk.e[0]));
		in->n += blk.n;
		in->ends = ends_run(&blk.e[blk.n - 1]);
		q += blk.nbytes;
	}
}

/*
 * How many of in's instructions, from the first, the block translates:
 * those that end in the page (room bytes on from the first), and with
 * cross one that starts there and ends in the next page (then the last;
 * *tail says how many of its bytes are in that page).
 */
static unsigned jit_count(const struct jinsns *in, size_t room,
			  bool cross, unsigned *nbytes, unsigned *tail)
{
	unsigned n = 0;

	*nbytes = *tail = 0;
	while (n < in->n && in->e[n].h != H_INTERP &&
	       jit_op_supported(&in->e[n])) {
		if (*nbytes + in->e[n].len > room) {
			if (!cross || *nbytes >= room)
				break;
			*tail = *nbytes + in->e[n].len - room;
			*nbytes += in->e[n++].len;
			break;
		}
		*nbytes += in->e[n++].len;
	}
	return n;
}

bool jit_gen_near_end(const uint8_t *p)
{
	return ((uintptr_t)p & 4095) >= 4096 - JIT_BYTES;
}

int jit_gen_count(struct emu_cpu *cpu, const uint8_t *p, const uint8_t *end)
{
	struct jinsns in;
	const uint8_t *q = p;
	unsigned nbytes, tail;

	if (!cpu->dcache || jit_gen_near_end(p))
		return -1;
	in.n = 0;
	in.ends = false;
	/* the chunks jit_decode would take, far from the page's end */
	for (int c = 0; c < JIT_CHUNKS && !in.ends; c++) {
		const struct dc_block *b = dcache_get(cpu, q, end);

		if (!b->n)
			break;
		memcpy(&in.e[in.n], b->e, b->n * sizeof(b->e[0]));
		in.n += b->n;
		in.ends = ends_run(&b->e[b->n - 1]);
		q += b->nbytes;
	}
	return (int)jit_count(&in, end - p, false, &nbytes, &tail);
}

const uint8_t *jit_gen_next_page(const struct emu_cpu *cpu, uint64_t rip)
{
	return tlb_code_page(cpu, ((rip >> 12) + 1) << 12);
}

unsigned jit_gen_worth(const uint8_t *p, const uint8_t *end,
		       const uint8_t *next)
{
	struct jinsns blk;
	uint8_t snap[JIT_SNAP];
	unsigned nbytes, tail;

	jit_decode(&blk, p, end, next, snap);
	return jit_count(&blk, end - p, next, &nbytes, &tail);
}

/*
 * Before the first instruction of a block's chunk after its first (the
 * n bytes at p, its part to check): compare them with their copy, as the
 * entry does the first chunk's, else leave as stale there. So a block
 * left early (a loop round through its first few instructions, a branch
 * out) compares only the bytes it ran, not all up to 336: chunk by chunk
 * what it runs was compared since it was entered, and no store into the
 * page it runs from happens in between (that leaves the block).
 */
static void gen_chunk_check(struct jgen *g, const uint8_t *p, unsigned n,
			    uint8_t **copy, unsigned *ncopy)
{
	jit_gen_save(g);
	gen_check_cmp(g, p, n, copy, ncopy, HRDX);
	jit_add_exit(g, j_jcc(&g->b, 5), X_STALE, g->rip, g->idx);
	jit_gen_mem_done(g);
}

/*
 * Before an instruction whose last tail bytes are in the next page (at
 * host address next, from the copy in bytes): the TLB must still map
 * that page there, executable at the block's CPL, and the bytes must be
 * the same (an instruction before it may have written them), else a miss
 * exit leaves the instruction to the interpreter, which fetches it as it
 * is. The block's own check covers only its first page.
 */
static void gen_next_check(struct jgen *g, const uint8_t *next,
			   const uint8_t *bytes, unsigned tail)
{
	struct jbuf *b = &g->b;
	uint64_t vpn = (g->rip >> 12) + 1;
	int32_t t = OFF(tlb) + (int32_t)(vpn % TLB_SIZE *
					  sizeof(struct tlb_entry));

	jit_gen_save(g);
	j_mov_ri64(b, HRSI, vpn << 12);
	j_alu_rm(b, 8, 6, HRSI, jmem(HRBX, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRSI), (uint64_t)-4096 |
		  (g->user ? TLB_UX : TLB_X));
	jit_miss_if(g, 5);						/* jne */
	j_mov_ri64(b, HRSI, (uintptr_t)next - (vpn << 12));
	j_alu_rm(b, 8, 7, HRSI, jmem(HRBX, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));	/* cmp */
	jit_miss_if(g, 5);
	j_mov_ri64(b, HRSI, (uintptr_t)next);
	for (unsigned i = 0; i < tail; i += 8) {
		unsigned k = tail - i < 8 ? tail - i : 8;
		uint64_t v = 0, mask = k == 8 ? ~0ULL : (1ULL << (8 * k)) - 1;

		memcpy(&v, bytes + i, k);
		j_mov_rm(b, 8, HRDX, jmem(HRSI, (int32_t)i));
		j_mov_ri64(b, HRCX, mask);
		j_alu_mr(b, 8, 4, jreg(HRDX), HRCX);		/* and */
		j_mov_ri64(b, HRCX, v);
		j_alu_mr(b, 8, 7, jreg(HRDX), HRCX);		/* cmp */
		jit_miss_if(g, 5);
	}
	jit_gen_mem_done(g);
}

/*
 * The guest registers the block keeps in host ones: the most used (twice
 * or more) by its first n instructions that work with them, but none
 * that one of them uses as AH..BH (whose byte 1 stays in cpu->gpr; a
 * byte operand AL..BL leaves its register free to keep). A
 * use counts half as much after each conditional branch before it (up
 * to three), which may leave the block: a loop that goes round through
 * its first few instructions keeps their registers, not those of the
 * rest of its 36.
 */
static void gen_pick_regs(struct jgen *g, const struct jinsns *blk,
			  unsigned n)
{
	static const int8_t pool[JIT_HREGS] = { HR12, HR13, HR14, HR15,
						HRBP, HR11 };
	unsigned uses[16] = { 0 }, weight[16] = { 0 };
	unsigned k = 0, high = 0, jccs = 0;

	memset(g->host, -1, sizeof(g->host));
	g->cached = g->dirty = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct dc_entry *e = &blk->e[i];
		unsigned mine[16] = { 0 };

		if (e->kind == DC_JCC && jccs < 3)
			jccs++;
		if (!jit_op_regs(e))
			continue;
		jit_op_reg_uses(e, mine);
		for (int r = 0; r < 16; r++) {
			uses[r] += mine[r];
			weight[r] += mine[r] << (3 - jccs);
		}
		/*
		 * A byte operand 4..7 without REX is AH..BH (jit_gr): in
		 * ModRM.rm, or in ModRM.reg of the forms with a register
		 * there (in the others it is part of the opcode)
		 */
		if (!e->rex && (e->size == 1 || e->size2 == 1 ||
				e->kind == DC_SETCC)) {
			bool reg = e->size == 1 &&
				(e->kind == DC_ALU_RM_R ||
				 e->kind == DC_ALU_R_RM || e->kind == DC_TEST ||
				 e->kind == DC_MOV_RM_R ||
				 e->kind == DC_MOV_R_RM);

			if (reg && e->reg >= 4 && e->reg < 8)
				high |= 1u << (e->reg - 4);
			if (!e->mem && e->rm >= 4 && e->rm < 8)
				high |= 1u << (e->rm - 4);
		}
	}
	for (int r = 0; r < 16; r++)
		if (high & (1u << r))
			uses[r] = 0;
	while (k < JIT_HREGS) {
		int best = -1;

		for (int r = 0; r < 16; r++)
			if (uses[r] >= 2 &&
			    (best < 0 || weight[r] > weight[best]))
				best = r;
		if (best < 0)
			break;
		uses[best] = 0;
		g->host[best] = pool[k++];
		g->cached |= (uint16_t)(1u << best);
	}
}

/* Whether one of the first n instructions jumps back to the start */
static bool gen_loops(const struct jinsns *blk, unsigned n, uint64_t start)
{
	uint64_t rip = start;

	for (unsigned i = 0; i < n; i++) {
		const struct dc_entry *e = &blk->e[i];

		rip += e->len;
		if ((e->kind == DC_JCC || e->kind == DC_JMP) &&
		    rip + e->imm == start)
			return true;
	}
	return false;
}

unsigned jit_gen_block(struct jbuf *b, struct jit_slots *slots,
		       const struct jit_env *env, const struct emu_cpu *cpu,
		       const uint8_t *p, const uint8_t *end, uint64_t rip)
{
	struct jinsns blk;
	struct jgen gen, *g = &gen;
	uint8_t *entry = b->p, *copy[JIT_CHUNKS][JIT_BYTES / 8 + 2], *stale;
	unsigned ncopy[JIT_CHUNKS] = { 0 }, lo[JIT_CHUNKS], hi[JIT_CHUNKS];
	bool live[JIT_INSNS + 1];
	unsigned n = 0, nbytes = 0, i;
	uint8_t snap[JIT_SNAP];
	const uint8_t *next = jit_gen_next_page(cpu, rip);
	unsigned tail;

	jit_decode(&blk, p, end, next, snap);
	n = jit_count(&blk, end - p, next, &nbytes, &tail);
	if (!n)
		return 0;
	memset(g, 0, sizeof(*g));
	g->b = *b;
	g->slots = slots;
	g->env = env;
	g->cpu = cpu;
	g->page = p - (rip & 0xfff);
	g->user = cpu->cpl == 3;
	/*
	 * Flags live before each instruction, from the end backwards. A
	 * memory operand's miss exit reads them only once an instruction
	 * before it has changed the host's: until then cpu->jit_flags is right
	 * and the exit does not store them (not in a loop, see gen_loop_exit).
	 */
	g->loops = gen_loops(&blk, n, rip);
	live[n] = true;
	for (i = n; i-- > 0;) {
		struct dc_entry e = blk.e[i];
		bool reads, sets, changed = false;

		for (unsigned k = 0; k < i && !changed; k++)
			changed = jit_op_writes_flags(&blk.e[k]);
		if (!changed && !g->loops)
			e.mem = false;		/* only the exit's reading */
		jit_op_flag_use(&e, &reads, &sets);
		/*
		 * The next page's check before an instruction across the
		 * page's end leaves for the interpreter, which may fault
		 * fetching it: the flags must be the guest's there
		 */
		if (tail && i == n - 1)
			reads = true;
		live[i] = reads || (!sets && live[i + 1]);
	}

	/* the bytes of each chunk to compare: the first's at the entry */
	for (unsigned c = 0; c < blk.nchunks; c++) {
		lo[c] = blk.off[c];
		hi[c] = c + 1 < blk.nchunks ? blk.off[c + 1] : nbytes - tail;
		if (hi[c] > nbytes - tail)
			hi[c] = nbytes - tail;
		if (lo[c] > hi[c] || (c && blk.first[c] >= n))
			lo[c] = hi[c];
	}
	g->entry = entry;
	stale = gen_check(g, p, hi[0] - lo[0], copy[0], &ncopy[0]);
	gen_pick_regs(g, &blk, n);
	gen_reload(g, 0xffff);
	g->body = g->b.p;
	/*
	 * (cpu->jit_flags is right until an instruction sets the host's.) A
	 * loop's top has them in AL/AH, where its jump back leaves them.
	 */
	if (g->loops) {
		jb8(&g->b, 0x66);		/* mov ax, [rbx + jit_flags] */
		jb8(&g->b, 0x8b);
		jb8(&g->b, 0x83);
		jb32(&g->b, OFF(jit_flags));
	} else if (live[0]) {
		gen_load_flags(&g->b);
	}
	g->top = g->b.p;
	g->saved = g->loops;
	g->synced = !g->loops;
	/* a loop's registers are changed at its top (see gen_loop_exit) */
	if (g->loops)
		g->dirty = g->cached;
	g->rip = g->start = rip;
	for (i = 0; i < n && !g->bad; i++) {
		const struct dc_entry *e = &blk.e[i];
		uint16_t touch;

		g->idx = i;
		g->next = g->rip + e->len;
		g->live_in = live[i];
		g->live_out = live[i + 1];
		/*
		 * The guest flags stay in AL/AH across the moves (a lookup
		 * after a lookup takes them out of RFLAGS only once), and go
		 * back into RFLAGS before any other instruction that needs
		 * them there: after its lookups (jit_gen_mem_done) for those
		 * that do that themselves, else before it
		 */
		g->keep = jit_op_keeps_saved(e);
		g->sets_all = ((e->kind == DC_ALU_RM_R ||
				e->kind == DC_ALU_R_RM ||
				e->kind == DC_ALU_RM_IMM) &&
			       e->op != 2 && e->op != 3) ||
			      e->kind == DC_TEST || e->kind == DC_TEST_IMM;
		if (g->saved && !g->keep && !jit_op_restores(e)) {
			if (g->live_in)
				gen_restore(&g->b);
			g->saved = false;
		}
		for (unsigned c = 1; c < blk.nchunks; c++)
			if (blk.first[c] == i && hi[c] > lo[c])
				gen_chunk_check(g, p + lo[c], hi[c] - lo[c],
						copy[c], &ncopy[c]);
		if (tail && i == n - 1)
			gen_next_check(g, next, snap + 8 + nbytes - tail,
				       tail);
		/*
		 * A form that works on cpu->gpr: the registers it may use
		 * stored there before it, and loaded again after it
		 */
		g->regs = jit_op_regs(e);
		touch = g->regs ? 0 : jit_op_gprs(e);
		gen_writeback(g, g->dirty & touch);
		g->dirty &= ~touch;
		jit_gen_insn(g, e);
		if (g->sets_all)
			g->saved = false;
		gen_reload(g, touch);
		g->regs = true;
		if (jit_op_writes_flags(e))
			g->synced = false;
		g->rip = g->next;
		if (e->kind == DC_JMP || e->kind == DC_CALL ||
		    e->kind == DC_RET || e->kind == DC_JMP_RM ||
		    e->kind == DC_CALL_RM)
			break;
	}
	/*
	 * Fell off the end: on to the next block (also across the page's
	 * end, through the lookup), or to the interpreter for an
	 * instruction the translator leaves to it.
	 */
	if (i == n && ((n == blk.n && !blk.ends) ||
		       g->rip >> 12 != rip >> 12))
		jit_gen_chain(g, g->rip, n);
	else if (i == n)
		jit_add_exit(g, j_jmp(&g->b), X_MISS, g->rip, n);
	gen_exits(g);
	/* a block whose bytes changed: back to jit_run, which retranslates */
	j_patch(stale, g->b.p);
	j_mov_rimm(&g->b, HRSI, rip);
	j_patch(j_riprel(&g->b, 0x48, 0x8d, HRDI), entry);	/* lea */
	j_goto(&g->b, env->stale_out);
	for (unsigned c = 0; c < blk.nchunks; c++)
		if (ncopy[c])
			gen_check_data(g, p + lo[c], snap + 8 + lo[c],
				       hi[c] - lo[c], copy[c], ncopy[c]);
	if (g->bad)
		g->b.full = true;
	*b = g->b;
	return n;
}
