// SPDX-License-Identifier: MIT
/*
 * A block's exits: chained (through a slot towards a fixed address),
 * dynamic (RET, indirect JMP and CALL, each through a slot of its own),
 * back to the block's start, and the miss exits that leave for the
 * interpreter before an instruction with its state exact.
 */
#include <string.h>

#include "accel/emu/jit_gen.h"

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

void jit_add_refill(struct jgen *g, uint8_t *rel, const uint8_t *back,
		    const uint8_t *stub)
{
	if (g->nx == JIT_EXITS) {
		g->bad = true;
		return;
	}
	g->x[g->nx++] = (struct jexit){ .rip = g->rip, .count = g->idx,
		.kind = X_MISS, .synced = g->synced, .saved = g->saved,
		.dirty = g->dirty, .refill = rel, .back = back,
		.stub = stub };
}

/* Leave the block before this instruction when the flags jcc cc says */
void jit_miss_if(struct jgen *g, int cc)
{
	jit_add_exit(g, j_jcc(&g->b, cc), X_MISS, g->rip, g->idx);
}

/* The end of the block towards a fixed guest address */
void jit_gen_chain(struct jgen *g, uint64_t target, unsigned count)
{
	jit_add_exit(g, j_jmp(&g->b), X_CHAIN, target, count);
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
	if (!g->saved)
		gen_save(b);
	jx(b, 8, 0x83, 1, 5, jmem(HRBX, OFF(jit_left)));	/* sub imm8 */
	jb8(b, g->idx + 1);
	gen_ic_exit(g, false);
}

/*
 * A chained exit, the guest flags in AL/AH: the budget, then on through
 * its slot, which points at the target's block once jit_run has seen it
 * (until then, and when the budget is spent, at the cold half after it,
 * which asks for that, chain_out storing the flags). A slot is two
 * words: where the jump goes, and the target's RIP.
 */
static void gen_chain_exit(struct jgen *g, const struct jexit *x)
{
	struct jbuf *b = &g->b;
	const uint8_t **slot;
	uint8_t *cold;

	jx(b, 8, 0x83, 1, 5, jmem(HRBX, OFF(jit_left)));	/* sub imm8 */
	jb8(b, x->count);
	/*
	 * Back to its own start: on without the entry's check, which it
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
		if (x->refill) {
			j_patch(x->refill, b->p);
			j_call(b, x->stub);
			j_patch(j_jcc(b, 5), x->back);		/* jne */
		}
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
 * on to the top of the body there, as every chained exit hands them on
 * (jit_gen.h). The guest registers it keeps in host ones count as
 * changed from the top of the body (every exit stores them all), so the
 * jump back stores none of them (only its way out, when the budget is
 * spent).
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
	j_patch(j_jmp(b), g->body);
	j_patch(out, b->p);
	gen_writeback(g, x->dirty);
	gen_store_ax(b);
	j_mov_rimm(b, V, x->rip);
	j_mov_mr(b, 8, jmem(HRBX, OFF(rip)), V);
	j_goto(b, g->env->exit);
}

/* The exits after the body */
void jit_gen_exits(struct jgen *g)
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
		if (!x->saved)
			gen_save(b);
		gen_writeback(g, x->dirty);
		gen_chain_exit(g, x);
	}
	gen_miss_exits(g);
}
