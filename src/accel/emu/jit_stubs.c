// SPDX-License-Identifier: MIT
/*
 * The code cache's shared stubs after the soft-TLB subroutines: the
 * lookup of the block for a guest address that a block's end goes to
 * (with the per-exit slots' check), and the exits' shared tails that
 * leave for jit_run (jit_cache.h says what each takes).
 */
#include <stdio.h>

#include "accel/emu/jit_gen.h"
#include "accel/emu/jit_perfmap.h"

/* r = the address of V's entry in env->rips (jit_rip_index); uses t */
static void gen_rip_index(struct jbuf *b, const struct jit_env *env, int r,
			  int t)
{
	j_mov_mr(b, 4, jreg(r), V);
	j_mov_mr(b, 4, jreg(t), V);
	j_shift_mi(b, 4, 5, jreg(t), 8);			/* shr */
	j_alu_mr(b, 4, 6, jreg(r), t);				/* xor */
	j_alu_mi(b, 4, 4, jreg(r), JIT_RIPS - 1);		/* and */
	j_shift_mi(b, 4, 4, jreg(r), 5);			/* shl */
	j_mov_ri64(b, t, (uintptr_t)env->rips);
	j_alu_mr(b, 8, 0, jreg(r), t);				/* add */
}

/*
 * RCX = the host page of a slot's (or RIP entry's) tagged page word at
 * m, else the returned JNE goes (jit_ic_tag). Clobbers RSI.
 */
static uint8_t *gen_tagged_page(struct jbuf *b, struct jop m)
{
	j_mov_rm(b, 8, HRCX, m);
	j_alu_rm(b, 8, 6, HRCX, jmem(HRBX, OFF(jit_tag)));	/* xor */
	j_mov_mr(b, 8, jreg(HRSI), HRCX);
	j_shift_mi(b, 8, 0, jreg(HRSI), JIT_TAG_ROT);		/* rol */
	j_test_mi(b, 4, jreg(HRSI), JIT_TAG_MASK);
	return j_jcc(b, 5);					/* jne */
}

/* The fetch window to V's page, at host page RCX. Clobbers RSI. */
static void gen_fetch_to(struct jbuf *b)
{
	j_mov_mr(b, 8, jreg(HRSI), V);
	j_shift_mi(b, 8, 5, jreg(HRSI), 12);			/* shr */
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_vpn)), HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_hva)), HRCX);
}

/* What the lookup points at the block it finds: nothing, or RDI's slot */
enum ic_fill { IC_NONE, IC_VARIES, IC_FIXED };

/*
 * RCX = the host page of V's page if its TLB entry's tag (cpu.h) lets it
 * run from RAM at the CPL need says (TLB_X or TLB_UX), RSI holding V's
 * page number; else the returned JNE goes. Clobbers RDX and the flags.
 */
static uint8_t *gen_code_page(struct jbuf *b, uint32_t need)
{
	int32_t t = OFF(tlb);
	uint8_t *no;

	j_mov_mr(b, 4, jreg(HRDX), HRSI);
	j_alu_mi(b, 4, 4, jreg(HRDX), TLB_SIZE - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 6, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, tag)));	/* xor */
	j_test_mi(b, 8, jreg(HRCX), (uint64_t)-4096 | need);
	no = j_jcc(b, 5);
	j_mov_mr(b, 8, jreg(HRCX), V);
	j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);		/* and */
	j_alu_rm(b, 8, 0, HRCX, jmem_idx(HRBX, HRDX, 0, t +
		 (int32_t)offsetof(struct tlb_entry, addend)));	/* add */
	return no;
}

/*
 * From a block's end to the block for the guest address in V (the budget
 * left and cpu->rip stored, the guest flags in AX, which it keeps for the
 * block or stores on its way to jit_run) without jit_run: the TLB's entry
 * for V's page must let CPL user run it from RAM (or be the page the
 * fetch window is on), and the front table must hold a block for its
 * host address, V and user, which jit_run put there once published.
 * Else back to jit_run, which makes, finds or publishes it (cpu->rip is
 * set). Moves the fetch window to V's page as jit_run would. A block
 * entered so makes its entry check as always; the budget bounds the run.
 */
static void gen_lookup(struct jbuf *b, const struct jit_env *env, int user,
		       enum ic_fill fill)
{
	uint8_t *miss[8], *page, *have;
	int nmiss = 0;
	uint32_t need = user ? TLB_UX : TLB_X;

	j_mov_mr(b, 8, jreg(HRSI), V);
	j_shift_mi(b, 8, 5, jreg(HRSI), 12);			/* shr */
	j_alu_rm(b, 8, 7, HRSI, jmem(HRBX, OFF(fetch_vpn)));	/* cmp */
	page = j_jcc(b, 5);					/* jne */
	j_mov_rm(b, 8, HRCX, jmem(HRBX, OFF(fetch_hva)));
	have = b->p;
	j_mov_mr(b, 4, jreg(T), V);
	j_alu_mi(b, 4, 4, jreg(T), 0xfff);			/* and */
	j_alu_mr(b, 8, 0, jreg(HRCX), T);			/* add */
	/* RDX = the front entry for host address RCX (jit_front_index) */
	j_mov_mr(b, 8, jreg(HRDX), HRCX);
	j_shift_mi(b, 8, 5, jreg(HRDX), JIT_FRONT_MIX);
	j_alu_mr(b, 4, 6, jreg(HRDX), HRCX);			/* xor */
	j_alu_mi(b, 4, 4, jreg(HRDX), JIT_FRONT - 1);
	j_shift_mi(b, 4, 4, jreg(HRDX), 5);			/* shl */
	j_mov_ri64(b, T, (uintptr_t)env->front);
	j_alu_mr(b, 8, 0, jreg(HRDX), T);
	j_alu_mr(b, 8, 7, jmem(HRDX, offsetof(struct jit_front, key)), HRCX);
	miss[nmiss++] = j_jcc(b, 5);
	j_alu_mr(b, 8, 7, jmem(HRDX, offsetof(struct jit_front, rip)), V);
	miss[nmiss++] = j_jcc(b, 5);
	jx(b, 8, 0x83, 1, 7, jmem(HRDX, offsetof(struct jit_front, user)));
	jb8(b, user);						/* cmp */
	miss[nmiss++] = j_jcc(b, 5);
	if (fill != IC_NONE) {
		uint8_t *high;

		/*
		 * the exit's slot (RDI) at this block: code, host page with
		 * the tag (a page at or above 2^47, where the tag's bits
		 * are, is not kept), RIP
		 */
		j_mov_rm(b, 8, T, jmem(HRDX, offsetof(struct jit_front,
						       code)));
		j_alu_mi(b, 8, 4, jreg(HRCX), (uint64_t)-4096);	/* and */
		j_mov_mr(b, 8, jreg(HRSI), HRCX);
		j_shift_mi(b, 8, 5, jreg(HRSI), 64 - JIT_TAG_ROT);	/* shr */
		high = j_jcc(b, 5);				/* jne */
		j_alu_rm(b, 8, 6, HRCX, jmem(HRBX, OFF(jit_tag)));	/* xor */
		j_mov_mr(b, 8, jmem(HRDI, JIT_IC_PAGE), HRCX);
		j_mov_mr(b, 8, jmem(HRDI, JIT_IC_CODE), T);
		if (fill == IC_VARIES) {
			j_mov_mr(b, 8, jmem(HRDI, JIT_IC_RIP), V);
			/* and the same in the RIP's entry in env->rips */
			gen_rip_index(b, env, HRSI, W);
			j_mov_mr(b, 8, jmem(HRSI, offsetof(struct jit_rip,
							    rip)), V);
			j_mov_mr(b, 8, jmem(HRSI, offsetof(struct jit_rip,
							    code)), T);
			j_mov_mr(b, 8, jmem(HRSI, offsetof(struct jit_rip,
							    page)), HRCX);
			j_mov_mi(b, 8, jmem(HRSI, offsetof(struct jit_rip,
							    user)), user);
		}
		j_patch(high, b->p);
		jb8(b, 0x41);					/* jmp r10 */
		jb8(b, 0xff);
		jb8(b, 0xe2);
	} else {
		jx(b, 4, 0xff, 1, 4, jmem(HRDX, offsetof(struct jit_front,
							 code)));
	}
	/* another page: its TLB entry, as jit_run's tlb_fetch_page */
	j_patch(page, b->p);
	miss[nmiss++] = gen_code_page(b, need);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_vpn)), HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(fetch_hva)), HRCX);
	j_patch(j_jmp(b), have);
	for (int i = 0; i < nmiss; i++)
		j_patch(miss[i], env->exit_ax);
}

/*
 * An exit's slot check, called with RDI = the slot and the flags of the
 * SUB of the budget: returns when the slot holds V's block and that may
 * run now (fixed: V is always the slot's target, else it must be the
 * slot's RIP, or V's entry in env->rips holds it): the TLB has not
 * been flushed since the lookup found V's page executable at CPL user
 * from RAM at the slot's host page (the slot's page XOR cpu->jit_tag is
 * a page), so it still is; the page becomes the fetch window, as in
 * gen_lookup. So the block the slot leads to is the one the front table
 * gave for V's host address (its entry check tells whether that changed
 * since), and a page unmapped, remapped or made non-executable (which
 * the guest makes known by INVLPG or a flush) is not run from it; the
 * slot is cpu->jit_slot, whose page jit_run clears when that block
 * proves stale (the entry in env->rips too), so the slot leads to the
 * block made again. A page whose TLB entry another page took (same index) stays
 * the slot's, as the fetch window stays: a TLB may keep a translation
 * until it is invalidated. Else the check drops its return address and
 * leaves for jit_run (budget spent) or the lookup, which points the
 * slot at the block it finds. The TLB's entry is not read: its tag's
 * load was most of the check's time (with 1024 entries, 32 KiB).
 */
static void gen_ic_check(struct jbuf *b, struct jit_env *env, int user,
			 bool fixed)
{
	uint8_t *no[5], *spent, *other = NULL;
	int n = 0;

	env->ic_check[user][fixed] = b->p;
	spent = j_jcc(b, 14);					/* jle */
	if (!fixed) {
		j_alu_rm(b, 8, 7, V, jmem(HRDI, JIT_IC_RIP));	/* cmp */
		other = j_jcc(b, 5);				/* jne */
	}
	no[n++] = gen_tagged_page(b, jmem(HRDI, JIT_IC_PAGE));
	gen_fetch_to(b);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_slot)), HRDI);
	jb8(b, 0xc3);						/* ret */
	if (other) {
		/*
		 * Another target than the slot's: V's entry in env->rips,
		 * which holds what a slot does (a RET to its callers in
		 * turn), then on to its block without the caller's JMP
		 */
		j_patch(other, b->p);
		gen_rip_index(b, env, HRDX, T);
		j_alu_rm(b, 8, 7, V, jmem(HRDX, offsetof(struct jit_rip,
							  rip)));	/* cmp */
		no[n++] = j_jcc(b, 5);
		jx(b, 8, 0x83, 1, 7, jmem(HRDX, offsetof(struct jit_rip,
							 user)));	/* cmp */
		jb8(b, user);
		no[n++] = j_jcc(b, 5);
		no[n++] = gen_tagged_page(b, jmem(HRDX, offsetof(struct jit_rip,
								  page)));
		gen_fetch_to(b);
		j_alu_mr(b, 4, 6, jreg(HRSI), HRSI);		/* xor esi, esi */
		j_mov_mr(b, 8, jmem(HRBX, OFF(jit_slot)), HRSI);
		j_lea(b, 8, HRSP, jmem(HRSP, 8));
		jx(b, 4, 0xff, 1, 4, jmem(HRDX, offsetof(struct jit_rip,
							 code)));	/* jmp */
	}
	for (int i = 0; i < n; i++)
		j_patch(no[i], b->p);
	j_lea(b, 8, HRSP, jmem(HRSP, 8));
	j_goto(b, env->ic_miss[user][fixed]);
	j_patch(spent, b->p);
	j_lea(b, 8, HRSP, jmem(HRSP, 8));
	j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), V);
	j_goto(b, env->exit_ax);
}

/* The exits' shared tails (jit_cache.h says what each takes) */
static void gen_outs(struct jbuf *b, struct jit_env *env)
{
	struct jop rip = jmem(HRBX, OFF(rip));
	struct jop left = jmem(HRBX, OFF(jit_left));

	for (int u = 0; u < 2; u++) {
		env->far_out[u] = b->p;
		j_mov_mr(b, 8, rip, V);
		j_patch(j_jcc(b, 14), env->exit_ax);		/* jle */
		gen_lookup(b, env, u, IC_NONE);
	}

	env->chain_out = b->p;
	j_mov_rm(b, 8, HRSI, jmem(HRDI, 8));
	j_mov_mr(b, 8, rip, HRSI);
	j_mov_mr(b, 8, jmem(HRBX, OFF(jit_link)), HRDI);
	j_goto(b, env->exit_ax);

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
	j_goto(b, env->exit_ax);

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

	static const char *const kinds[JIT_TLB_KINDS] = {
		[JIT_TLB_LOAD] = "read", [JIT_TLB_STORE_CODE] = "write_code",
		[JIT_TLB_STORE] = "write",
	};
	const uint8_t *refill = b->p;

	jit_gen_refill_stubs(b, env);
	jit_perfmap_stub(refill, b->p - refill, "tlb_refill");
	for (int k = 0; k < JIT_TLB_KINDS; k++)
		for (int s = 0; s < 4; s++) {
			bool w = k != JIT_TLB_LOAD, code = k == JIT_TLB_STORE_CODE;
			char name[32];

			env->tlb[k][s] = jit_gen_tlb_stub(b, env, 1 << s, w,
							  code, false);
			env->tlb_refill[k][s] = jit_gen_tlb_stub(b, env, 1 << s,
								 w, code, true);
			snprintf(name, sizeof(name), "tlb_%s%d", kinds[k],
				 8 << s);
			jit_perfmap_stub(env->tlb[k][s], b->p - env->tlb[k][s],
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
	for (int u = 0; u < 2; u++)
		for (int f = 0; f < 2; f++) {
			/* made in this order: [0][0], [0][1], [1][0], [1][1] */
			const uint8_t *end = !f ? env->ic_miss[u][1] :
					     !u ? env->ic_miss[1][0] : b->p;
			char name[32];

			snprintf(name, sizeof(name), "ic_lookup%s%s",
				 u ? "_user" : "", f ? "_fixed" : "");
			jit_perfmap_stub(env->ic_miss[u][f], env->ic_check[u][f]
					 - env->ic_miss[u][f], name);
			snprintf(name, sizeof(name), "ic_check%s%s",
				 u ? "_user" : "", f ? "_fixed" : "");
			jit_perfmap_stub(env->ic_check[u][f],
					 end - env->ic_check[u][f], name);
		}
}
