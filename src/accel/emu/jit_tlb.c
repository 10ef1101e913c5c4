// SPDX-License-Identifier: MIT
/*
 * A translated memory operand: its soft-TLB lookup, in the block or as
 * one of the shared subroutines in the code cache's first page, and the
 * guest flags kept aside while it runs (jit_gen.c's header says how a
 * block treats registers, flags and misses).
 */
#include "accel/emu/jit_gen.h"

/*
 * RCX = host address of size bytes at the linear address in RDI, if the
 * soft TLB allows the access from RAM within one page (what mem_read and
 * mem_write do inline), and (with code) a store is not into the code
 * page; else a jump at one of the rel32s put in miss[] (returns how
 * many). One test of the entry's tag decides the entry's page, the
 * permission, RAM and the page's end (cpu.h). Clobbers RSI and the
 * flags, nothing else: RDX is left to the blocks that keep a guest
 * register there (gen_pick_regs).
 *
 * A block made from a page whose writes are tracked (code_track.h) needs
 * no code-page test: no TLB entry lets a store into such a page go
 * direct (tlb_fill), so one into its own page misses anyway.
 */
static int gen_tlb_lookup(struct jbuf *b, int size, bool write, bool code,
			  bool user, uint8_t *miss[2])
{
	uint32_t deny = (write ? TLB_W : TLB_R) << (user ? 3 : 0);
	int32_t t = OFF(tlb);
	int n = 0;

	/* RSI = the entry's offset in cpu->tlb (from the low half) */
	j_mov_mr(b, 4, jreg(HRSI), HRDI);
	j_shift_mi(b, 4, 5, jreg(HRSI), 12 - 5);		/* shr */
	j_alu_mi(b, 4, 4, jreg(HRSI), (TLB_SIZE - 1) << 5);	/* and */
	/* the page of the access's last byte against the tag (in RCX) */
	if (size > 1)
		j_lea(b, 8, HRCX, jmem(HRDI, size - 1));
	else
		j_mov_mr(b, 8, jreg(HRCX), HRDI);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 6, HRCX, jmem_idx(HRBX, HRSI, 0, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRCX), (uint64_t)-4096 | deny);
	miss[n++] = j_jcc(b, 5);				/* jne */
	j_mov_rm(b, 8, HRCX, jmem_idx(HRBX, HRSI, 0, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));
	j_alu_mr(b, 8, 0, jreg(HRCX), HRDI);			/* add */
	if (write && code) {
		/* a store into the code page: the interpreter ends its block */
		j_mov_mr(b, 8, jreg(HRSI), HRCX);
		j_alu_rm(b, 8, 6, HRSI, jmem(HRBX, OFF(fetch_hva)));	/* xor */
		j_shift_mi(b, 8, 5, jreg(HRSI), 12);			/* shr */
		miss[n++] = j_jcc(b, 4);				/* je */
	}
	return n;
}

/*
 * The lookup as a subroutine: RCX as gen_tlb_lookup says, else 0, with
 * ZF set exactly when it is 0 (a host address is never). refill: an
 * entry that is not the page's or lacks the permission goes to
 * env->refill (a store into the code page does not).
 */
const uint8_t *jit_gen_tlb_stub(struct jbuf *b, const struct jit_env *env,
				int size, bool write, bool code, bool refill)
{
	const uint8_t *start = b->p;
	uint8_t *miss[2];
	int nmiss = gen_tlb_lookup(b, size, write, code, false, miss);

	jb8(b, 0xc3);						/* ret */
	if (refill)
		j_patch(miss[0], env->refill[write][DC_SIZE_SLOT(size)]);
	for (int i = refill; i < nmiss; i++)
		j_patch(miss[i], b->p);
	j_alu_mr(b, 4, 6, jreg(HRCX), HRCX);			/* xor ecx, ecx */
	jb8(b, 0xc3);
	return start;
}

/*
 * env->refill[write][size slot]: jit_refill(cpu, RDI, size | write << 8)
 * into RCX, ZF set when 0. A block's registers are kept but RSI: guest
 * ones (RAX's flags, RDX, R8..R11 and the callee-saved ones C keeps),
 * RDI, and XMM0 and XMM1, which SSE forms load around their lookups.
 * Entered by a call from a block (or a tail jump from a shared lookup
 * that was), with RSP 8 below a 16-byte boundary before that call.
 */
void jit_gen_refill_stubs(struct jbuf *b, struct jit_env *env)
{
	static const int8_t keep[] = { HRAX, HRDX, HRDI, HR8, HR9, HR10,
				       HR11 };
	const uint8_t *common = NULL;
	uint8_t *to_common[8];
	int n = 0;

	for (int w = 0; w < 2; w++)
		for (int s = 0; s < 4; s++) {
			env->refill[w][s] = b->p;
			j_mov_ri32(b, HRSI, (1u << s) | (unsigned)w << 8);
			to_common[n++] = j_jmp(b);
		}
	common = b->p;
	for (int i = 0; i < 7; i++) {
		if (keep[i] & 8)
			jb8(b, 0x41);
		jb8(b, 0x50 + (keep[i] & 7));			/* push */
	}
	/* 7 pushes and 40 bytes: RSP on a 16-byte boundary for the call */
	j_alu_mi(b, 8, 5, jreg(HRSP), 40);			/* sub */
	for (int x = 0; x < 2; x++) {
		jb8(b, 0xf3);					/* movdqu */
		jx(b, 4, 0x7f0f, 2, x, jmem(HRSP, 16 * x));
	}
	j_mov_mr(b, 4, jreg(HRDX), HRSI);
	j_mov_mr(b, 8, jreg(HRSI), HRDI);
	j_mov_mr(b, 8, jreg(HRDI), HRBX);
	j_mov_ri64(b, HRAX, (uintptr_t)jit_refill);
	jb8(b, 0xff);						/* call rax */
	jb8(b, 0xd0);
	j_mov_mr(b, 8, jreg(HRCX), HRAX);
	for (int x = 0; x < 2; x++) {
		jb8(b, 0xf3);
		jx(b, 4, 0x6f0f, 2, x, jmem(HRSP, 16 * x));
	}
	j_alu_mi(b, 8, 0, jreg(HRSP), 40);			/* add */
	for (int i = 6; i >= 0; i--) {
		if (keep[i] & 8)
			jb8(b, 0x41);
		jb8(b, 0x58 + (keep[i] & 7));			/* pop */
	}
	j_test_mr(b, 8, jreg(HRCX), HRCX);
	jb8(b, 0xc3);						/* ret */
	for (int i = 0; i < n; i++)
		j_patch(to_common[i], common);
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
 * straight to the miss exit) at CPL 3, in a block that jumps back to
 * its start and in kernel code in the low half of the address space;
 * elsewhere a call to the shared one keeps the block ~45 bytes an
 * operand smaller: the kernel's code is mostly run a few times (a Debian
 * boot made 231 flushes of the code cache with every lookup in the
 * block, 126 so), its hot loops loop. Kernel code in the low half is
 * boot code run where it is identity-mapped (Linux's decompressor: a few
 * hundred blocks; the shared lookups had 14% of the VMM's time before
 * the kernel's first line).
 *
 * An instruction's first lookup that misses because the entry is not
 * the page's or lacks the permission (not one outside RAM, across the
 * page's end or into the code page) calls env->refill, which makes the
 * interpreter's page walk for the access unless it would fault, and
 * goes on in the block when the entry then allows it; else, and for
 * the instruction's later lookups, it leaves before the instruction.
 * The first one only: the interpreter then runs the instruction, whose
 * first access hits the entry filled, and whose later ones walk (or
 * fault) as they would have, so the A and D bits set are the same.
 */
void jit_gen_tlb(struct jgen *g, int size, bool write)
{
	bool refill = g->refill;
	uint8_t *miss[2], *tlb, *done = NULL;
	int kind = write ? (g->tracked ? JIT_TLB_STORE : JIT_TLB_STORE_CODE) :
			   JIT_TLB_LOAD;
	int n;

	jit_gen_save(g);
	g->refill = false;
	if (!g->user && !g->loops && (g->start >> 47)) {	/* high half */
		j_call(&g->b, refill ?
		       g->env->tlb_refill[kind][DC_SIZE_SLOT(size)] :
		       g->env->tlb[kind][DC_SIZE_SLOT(size)]);
		jit_miss_if(g, 4);					/* je */
		return;
	}
	/* a read of boot code: the read window first (read_window.c) */
	if (!write && !g->user && !(g->start >> 47)) {
		struct jbuf *b = &g->b;

		j_mov_mr(b, 8, jreg(HRCX), HRDI);
		j_alu_rm(b, 8, 5, HRCX, jmem(HRBX, OFF(win_lo)));	/* sub */
		j_alu_rm(b, 8, 7, HRCX, jmem(HRBX, OFF(win_size)));	/* cmp */
		tlb = j_jcc(b, 3);					/* jae */
		j_alu_rm(b, 8, 0, HRCX, jmem(HRBX, OFF(win_hva)));	/* add */
		done = j_jmp(b);
		j_patch(tlb, b->p);
	}
	n = gen_tlb_lookup(&g->b, size, write, !g->tracked, g->user, miss);
	if (refill) {
		jit_add_refill(g, miss[0], g->b.p,
			       g->env->refill[write][DC_SIZE_SLOT(size)]);
		if (n > 1)
			jit_add_exit(g, miss[1], X_MISS, g->rip, g->idx);
	} else {
		for (int i = 0; i < n; i++)
			jit_add_exit(g, miss[i], X_MISS, g->rip, g->idx);
	}
	if (done)
		j_patch(done, g->b.p);
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

_Static_assert(sizeof(struct tlb_entry) == 32, "the lookup's shr 7, and");
