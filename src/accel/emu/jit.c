// SPDX-License-Identifier: MIT
/*
 * The translator's run time: the table of translated blocks, entering
 * them, pointing block exits at the blocks they lead to (chaining), and
 * the cache flush.
 *
 * A block is found by the host address of its first byte (so by guest
 * physical address), its guest RIP (its code has RIP-relative addresses
 * and branch targets built in) and whether it runs at CPL 3 (its TLB
 * lookups check the user permissions). Its code starts by checking that
 * its guest page's code generation is the one it was made at (every
 * write to a page code was made from changes it, code_track.h), or,
 * without that tracking, by comparing the guest bytes it was made from
 * with memory; when the generation changed, jit_run compares the bytes
 * (jit_recheck); when they differ (the guest wrote its code: module
 * loading, alternatives, a new process in the same page frame) it is
 * stale and is made again, as the decode cache does with its blocks.
 * Chained jumps only go to blocks in the same guest page, so the same
 * linear-to-physical mapping holds for both; they jump through a slot
 * (jit_cache.h) that jit_run points at the target's block.
 *
 * W^X at few protection changes: blocks are written into an RW window
 * and a block made there runs only once its pages are published (RX).
 * That happens when a block is asked for whose pages are full (one
 * mprotect then publishes all the blocks in them), or when a block of
 * the last, partly filled page has been asked for JIT_PUBLISH_WAIT times
 * (JIT_PUBLISH_LONG while the page is less than half full): then that
 * page is published too, its rest unused, and filling goes on at the
 * next one.
 * Until then the interpreter runs the block's instructions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/code_track.h"
#include "accel/emu/jit.h"
#include "accel/emu/jit_cache.h"
#include "accel/emu/jit_perfmap.h"
#include "accel/emu/jit_stats.h"

#define JIT_BLOCKS	4096	/* table entries */
#define JIT_WAYS	4	/* ... in sets of this many */
#define JIT_RUN_MIN	16	/* fewer: the interpreter runs them */
#define JIT_INTERP_RUN	16	/* ... and then the interpreter's, without */
/* asks for a block of the last code page before it is published */
#define JIT_PUBLISH_WAIT 4	/* ... when the page is half full */
#define JIT_PUBLISH_LONG 32	/* ... when it is not */
/*
 * Asks for a block before it is made at CPL 0-2 (at CPL 3: 2, jit_hot):
 * a Debian boot made 199,000 blocks when they were made at the second,
 * half of them for kernel code run only two or three times (110,000 at
 * the third, 80,000 at the fourth), and made one in ~4.6 us (perf)
 * against ~10 ns an instruction interpreted. busybox's shell loop with
 * 4 at CPL 3 too interpreted 18M more instructions: blocks asked once a
 * round lost their count when jit_victim took their entries (it takes
 * one never made before one that was) and never got made.
 */
#define JIT_HOT		4
/* a block found unchanged after so many writes to its page: mixed page */
#define JIT_MIXED	8

struct jit_block {
	const uint8_t *key;	/* host address of the first byte, or NULL */
	uint64_t rip;
	/* NULL: the interpreter runs n instructions (0: the first, never made) */
	uint8_t *code;
	uint32_t end;		/* where its code ends (cache offset) */
	uint8_t n;		/* guest instructions */
	uint8_t waits;		/* asked for before it was published */
	uint8_t asks;		/* without code: asked for so far */
	bool user;
	bool cross;		/* judged with the next page in the TLB */
	/* without code: the bytes it was judged by (up to the page's end) */
	uint8_t nhead;
	uint8_t head[16];
	uint32_t used;		/* jit's clock when last found */
};

struct jit {
	struct jit_cache cache;
	/*
	 * Published blocks as jit_run last entered them (jit_cache.h), in
	 * front of tab, whose entries are mostly out of the host's caches
	 * when jit_run comes back after an instruction left to the
	 * interpreter; translated code looks in it too.
	 */
	struct jit_front front[JIT_FRONT];
	struct jit_rip rips[JIT_RIPS];
	void (*enter)(struct emu_cpu *cpu, const uint8_t *code);
	struct jit_env env;
	size_t start;		/* where blocks begin, after the stubs */
	struct jit_slots slots;
	unsigned publish_wait;	/* JIT_PUBLISH_WAIT, 1 when eager */
	unsigned publish_long;	/* JIT_PUBLISH_LONG, 1 when eager */
	unsigned hot;		/* JIT_HOT, 1 when eager */
	unsigned flushes;
	unsigned long makes, stale;	/* blocks made, found stale */
	unsigned long rechecks;	/* blocks whose page's generation changed */
	unsigned long untrusted;	/* made or rechecked so */
	unsigned long made_untrusted;	/* ... made so */
	unsigned long mixed;	/* pages found GUEST_CODE_MIXED */
	unsigned long decodes;	/* blocks the translator decoded itself */
	/* lookups that missed and were filled from translated code, hits */
	unsigned long refills, refilled;
	/* the last block found stale: chain slots may still lead to it */
	struct jit_front old;
	/* cpu->tlb_gen when cpu->jit_tag was set, and its / JIT_TAG_PERIOD */
	uint64_t tag_gen, tag_epoch;
	uint64_t code_epoch;	/* code_epoch() the blocks were made in */
	uint32_t clock;		/* counts jit_find calls */
	uint64_t insns;
	uint64_t enters;	/* jit_run's entries into translated code */
	struct jit_block tab[JIT_BLOCKS];
};

/*
 * enter(cpu, code): RBX = cpu for the blocks, which return through exit
 * (RBX, and RBP and R12..R15 that blocks keep guest registers in,
 * restored); exit_interp also sets cpu->jit_exit. The guest's arithmetic
 * flags go into every block in AL/AH (jit_gen.h), from cpu->rflags here,
 * and come back in cpu->jit_flags (exit_ax stores them there first).
 */
static int jit_stubs(struct jit *j)
{
	struct jbuf b = { j->cache.base, j->cache.base + 4096, false };
	uint8_t *p = j->cache.base, *to_exit;

	if (jit_cache_protect(&j->cache, p, 4096, true))
		return -errno;
	j->enter = (void (*)(struct emu_cpu *, const uint8_t *))(void *)b.p;
	jb8(&b, 0x53);					/* push rbx */
	jb8(&b, 0x55);					/* push rbp */
	for (int r = HR12; r <= HR15; r++) {		/* push r12..r15 */
		jb8(&b, 0x41);
		jb8(&b, 0x50 + (r & 7));
	}
	j_mov_mr(&b, 8, jreg(HRBX), HRDI);		/* mov rbx, rdi */
	jit_gen_flags_in(&b);
	jb8(&b, 0xff);					/* jmp rsi */
	jb8(&b, 0xe6);
	j->env.exit_interp = b.p;
	j_mov_mi(&b, 1, jmem(HRBX, offsetof(struct emu_cpu, jit_exit)), 1);
	to_exit = j_jmp(&b);
	j->env.exit_ax = b.p;
	j_mov_mr(&b, 2, jmem(HRBX, offsetof(struct emu_cpu, jit_flags)),
		 HRAX);
	j->env.exit = b.p;
	j_patch(to_exit, b.p);
	jit_gen_flags_out(&b);
	for (int r = HR15; r >= HR12; r--) {		/* pop r15..r12 */
		jb8(&b, 0x41);
		jb8(&b, 0x58 + (r & 7));
	}
	jb8(&b, 0x5d);					/* pop rbp */
	jb8(&b, 0x5b);					/* pop rbx */
	jb8(&b, 0xc3);					/* ret */
	jit_perfmap_stub(p, j->env.exit_interp - p, "enter");
	jit_perfmap_stub(j->env.exit_interp, b.p - j->env.exit_interp, "exit");
	j->env.front = j->front;
	j->env.rips = j->rips;
	jit_gen_stubs(&b, &j->env);
	if (b.full)
		return -ENOSPC;
	j->start = 4096;
	j->cache.used = j->cache.pub = j->cache.rw_end = j->start;
	j->slots.next = (const uint8_t **)(j->cache.base + JIT_CODE_BYTES);
	j->slots.end = j->slots.next + JIT_SLOT_BYTES / sizeof(*j->slots.next);
	return jit_cache_protect(&j->cache, p, 4096, false);
}

struct jit *jit_create(void)
{
	struct jit *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	if (jit_cache_open(&j->cache)) {
		free(j);
		return NULL;
	}
	if (jit_stubs(j)) {
		jit_cache_close(&j->cache);
		free(j);
		return NULL;
	}
	j->publish_wait = JIT_PUBLISH_WAIT;
	j->publish_long = JIT_PUBLISH_LONG;
	j->hot = JIT_HOT;
	j->tag_gen = ~0ULL;
	return j;
}

void jit_eager(struct jit *j)
{
	j->publish_wait = j->publish_long = 1;
	j->hot = 1;
}

void jit_destroy(struct jit *j)
{
	if (!j)
		return;
	if (jit_stats_on)
		fprintf(stderr, "jit stats: %u flushes, %lu blocks made, "
			"%lu found stale, %lu rechecked, %lu untrusted "
			"(%lu when made), %lu mixed pages, %lu of %lu lookups "
			"filled\n", j->flushes, j->makes, j->stale, j->rechecks,
			j->untrusted, j->made_untrusted, j->mixed, j->refilled,
			j->refills);
	jit_perfmap_flush();
	jit_cache_close(&j->cache);
	free(j);
}

/*
 * Everything goes; the pages written again are made RW again as the
 * window grows over them.
 */
static void jit_flush(struct jit *j, struct emu_cpu *cpu)
{
	memset(j->tab, 0, sizeof(j->tab));
	memset(j->front, 0, sizeof(j->front));
	memset(j->rips, 0, sizeof(j->rips));
	j->cache.used = j->cache.pub = j->cache.rw_end = j->start;
	j->slots.next = (const uint8_t **)(j->cache.base + JIT_CODE_BYTES);
	j->old.code = NULL;
	j->flushes++;
	cpu->jit_link = NULL;
	cpu->jit_slot = NULL;
	jit_perfmap_flush();
}

/* The RW window up to at least offset need */
static bool jit_window(struct jit *j, size_t need)
{
	struct jit_cache *c = &j->cache;
	size_t end = (need + JIT_WINDOW - 1) & ~(JIT_WINDOW - 1);

	if (need <= c->rw_end)
		return true;
	if (end > JIT_CODE_BYTES)
		end = JIT_CODE_BYTES;
	if (jit_cache_protect(c, c->base + c->rw_end, end - c->rw_end, true))
		return false;
	c->rw_end = end;
	return true;
}

/* Make t's code runnable (see the top); false: not yet */
static bool jit_publish(struct jit *j, struct jit_block *t)
{
	struct jit_cache *c = &j->cache;
	size_t pub = c->used & ~4095UL;

	if (t->end > pub) {
		unsigned fill = c->used & 4095;

		if (t->waits < 255)
			t->waits++;
		if (t->waits < (fill >= 2048 ? j->publish_wait :
						j->publish_long))
			return false;
		pub = (c->used + 4095) & ~4095UL;
	}
	if (jit_cache_protect(c, c->base + c->pub, pub - c->pub, false))
		return false;
	c->pub = pub;
	if (c->used < pub)
		c->used = pub;
	return true;
}

/* The set of table entries a block at host address p can be in */
static struct jit_block *jit_set(struct jit *j, const uint8_t *p)
{
	uintptr_t h = (uintptr_t)p;

	return &j->tab[((h ^ (h >> 13)) & (JIT_BLOCKS / JIT_WAYS - 1)) *
		       JIT_WAYS];
}

/*
 * The entry to reuse in set s: an empty one, else one never made with
 * the fewest asks, else the one found longest ago. A block asked for
 * once does not push out one that runs (each would be made again and
 * again, and every copy left in the cache until it flushes).
 */
static struct jit_block *jit_victim(struct jit *j, struct jit_block *s)
{
	struct jit_block *v = NULL;

	for (int i = 0; i < JIT_WAYS; i++) {
		struct jit_block *t = &s[i];

		if (!t->key)
			return t;
		if (!t->code && (!v || v->code || t->asks < v->asks))
			v = t;
	}
	if (v)
		return v;
	v = s;
	for (int i = 1; i < JIT_WAYS; i++)
		if (j->clock - s[i].used > j->clock - v->used)
			v = &s[i];
	return v;
}

/* The asks before a block is made: JIT_HOT in the kernel, else 2 */
static unsigned jit_hot(const struct jit *j, const struct emu_cpu *cpu)
{
	return cpu->cpl == 3 && j->hot > 2 ? 2 : j->hot;
}

static struct jit_front *jit_front(struct jit *j, const uint8_t *p)
{
	return &j->front[jit_front_index(p)];
}

/*
 * t without code for (p, rip): how many instructions a block there would
 * translate, and the bytes that says so.
 */
static void jit_judge(struct jit *j, struct jit_block *t,
		      struct emu_cpu *cpu, const uint8_t *p, uint64_t rip)
{
	const uint8_t *end = cpu->fetch_hva + 4096;
	const uint8_t *next = jit_gen_next_page(cpu, rip);
	int n = jit_gen_count(cpu, p, end);

	if (n < 0) {
		n = jit_gen_worth(p, end, next);
		j->decodes++;
	}
	*t = (struct jit_block){ .key = p, .rip = rip, .user = cpu->cpl == 3,
				 .n = n, .cross = next != NULL, .asks = 1 };
	t->nhead = end - p < 16 ? end - p : 16;
	memcpy(t->head, p, t->nhead);
}

/*
 * A block from the page at host address page checks its code generation
 * (code_track.h) when its writes are tracked and it is no mixed page:
 * into *t, before the block's bytes are read. NULL: the block compares
 * its bytes.
 */
static const struct jit_track *jit_track(struct jit *j, struct emu_cpu *cpu,
					 const uint8_t *page,
					 struct jit_track *t)
{
	if (!cpu->ask || !cpu->vm->mem.code ||
	    (atomic_load(code_gen(cpu, page)) & GUEST_CODE_MIXED))
		return NULL;
	t->gen = code_gen(cpu, page);
	t->expect = code_track(cpu, page);
	if (t->expect == CODE_UNTRUSTED) {
		j->untrusted++;
		j->made_untrusted++;
	}
	return t;
}

/* Make the block for (p, rip) into t; false when the cache is unusable */
static bool jit_make(struct jit *j, struct emu_cpu *cpu,
		     struct jit_block *t, const uint8_t *p, uint64_t rip)
{
	const uint8_t *end = cpu->fetch_hva + 4096;
	struct jit_track tr;
	const struct jit_track *track = jit_track(j, cpu, cpu->fetch_hva, &tr);

	for (int tries = 0; tries < 2; tries++) {
		uint8_t *at = j->cache.base + j->cache.used;
		size_t room = JIT_CODE_BYTES - j->cache.used;
		struct jbuf b = { at, at + (room < JIT_BLOCK_MAX ? room :
					     JIT_BLOCK_MAX), false };
		unsigned n;

		if (room < 512 || !jit_window(j, b.end - j->cache.base)) {
			jit_flush(j, cpu);
			continue;
		}
		j->makes++;
		j->decodes += !jit_gen_reuses(cpu, p);
		n = jit_gen_block(&b, &j->slots, &j->env, cpu, p, end, rip,
				  track);
		if (b.full) {
			jit_flush(j, cpu);
			continue;
		}
		if (!n)
			return false;
		*t = (struct jit_block){ .key = p, .rip = rip,
					 .user = cpu->cpl == 3, .code = at,
					 .end = b.p - j->cache.base, .n = n,
					 .used = j->clock };
		j->cache.used = (b.p - j->cache.base + 15) & ~15UL;
		jit_perfmap_block(at, b.p - at, rip, cpu->cpl == 3);
		return true;
	}
	return false;
}

/*
 * The block last found stale is (p, rip): made again at its first ask,
 * not the j->hot-th. Chain slots lead to the old one until the new one
 * is entered from jit_run (jit_rechain), each jump through them a
 * return to jit_run and the interpreter: a Debian boot had a loop's
 * block in a page that turned mixed go stale 8,700 times so, its
 * judged entry pushed out before it was asked for enough.
 */
static bool jit_remade(const struct jit *j, const struct emu_cpu *cpu,
		       const uint8_t *p, uint64_t rip)
{
	return j->old.code && j->old.key == p && j->old.rip == rip &&
	       j->old.user == (cpu->cpl == 3);
}

/*
 * The block for RIP, whose host address is p: made the j->hot-th time it
 * is asked for (code run once, as much of a boot is, stays the
 * interpreter's), or NULL when the cache is unusable. Near its page's
 * end, it is judged again once the TLB has the next page (the
 * interpreter running it fills that entry), and not made at its first
 * ask without it: else an instruction across the page's end would stay
 * the interpreter's for as long as the block lives.
 */
static struct jit_block *jit_find(struct jit *j, struct emu_cpu *cpu,
				  const uint8_t *p, uint64_t rip)
{
	struct jit_block *s = jit_set(j, p), *t;

	j->clock++;
	for (int i = 0; i < JIT_WAYS; i++) {
		t = &s[i];
		if (t->key != p || t->rip != rip || t->user != (cpu->cpl == 3))
			continue;
		t->used = j->clock;
		if (t->code)
			return t;
		if (memcmp(t->head, p, t->nhead))
			break;
		if (!t->cross && jit_gen_near_end(p) &&
		    jit_gen_next_page(cpu, rip)) {
			uint8_t asks = t->asks;

			jit_judge(j, t, cpu, p, rip);
			t->asks = asks;
			t->used = j->clock;
		}
		if (!t->n || (++t->asks < jit_hot(j, cpu) &&
			      !jit_remade(j, cpu, p, rip)))
			return t;
		return jit_make(j, cpu, t, p, rip) ? t : NULL;
	}
	if (t->key != p || t->rip != rip || t->user != (cpu->cpl == 3))
		t = jit_victim(j, s);
	jit_judge(j, t, cpu, p, rip);
	t->used = j->clock;
	if (t->n && (j->hot <= 1 || jit_remade(j, cpu, p, rip)) &&
	    (t->cross || !jit_gen_near_end(p)))
		return jit_make(j, cpu, t, p, rip) ? t : NULL;
	return t;
}

/*
 * A block found its bytes changed: out of the table, so that it is made
 * again. Chained jumps into the old code still lead there (and from there
 * back to jit_run) until jit_rechain points them at the new block, which
 * the old one becomes j->old for each time it is found stale: also when
 * it is no longer in the table (judged again, or made again already), as
 * when another block was found stale between its first return and its
 * new block's first entry.
 */
static void jit_restale(struct jit *j, struct emu_cpu *cpu)
{
	uint64_t rip = cpu->jit_stale_rip;
	const uint8_t *p = cpu->fetch_hva + (rip & 0xfff);
	struct jit_block *s = jit_set(j, p);

	for (int i = 0; i < JIT_WAYS; i++)
		if (s[i].key == p && s[i].code == cpu->jit_stale)
			s[i].key = NULL;
	/* a block runs at the CPL it was made for (its TLB checks) */
	j->old = (struct jit_front){ .key = p, .rip = rip,
				     .code = cpu->jit_stale,
				     .user = cpu->cpl == 3 };
	jit_front(j, p)->key = NULL;
	cpu->jit_stale = NULL;
}

/*
 * f is the published block made again for j->old: the chain slots that
 * led to the old one lead to it. Else every chained jump there would come
 * back to jit_run through the old block's failing check, until the next
 * flush (Debian's boot: 190,000 such returns when only the last block
 * found stale was remembered, 12,000 now).
 */
static void jit_rechain(struct jit *j, const struct jit_front *f)
{
	const uint8_t **s = (const uint8_t **)(j->cache.base + JIT_CODE_BYTES);

	/* a slot is two words: where the jump goes, the target's RIP */
	for (; s < j->slots.next; s += 2)
		if (s[0] == j->old.code)
			s[0] = f->code;
	j->old.code = NULL;
}

/*
 * A block's entry found its page's code generation changed: its bytes
 * compared with its copy (after code_track, so any write from then on
 * changes the generation again). The same: where to enter it, after its
 * check, and the generation it expects from now on (when trusted).
 * Else NULL: it is stale, and made again. So is a block found the same
 * after JIT_MIXED writes to its page (counted in the slot's second
 * word; not while untrusted): code and data written in one page cost a
 * recheck in C for each write, more than the byte check, which the
 * page's blocks make from then on (GUEST_CODE_MIXED).
 */
static const uint8_t *jit_recheck(struct jit *j, struct emu_cpu *cpu)
{
	const struct jit_recheck *r = cpu->jit_recheck;
	const uint8_t *page = r->bytes - ((uintptr_t)r->bytes & 4095);
	_Atomic uint32_t *gen = code_gen(cpu, page);
	uint32_t expect, *writes = r->expect + 2;

	cpu->jit_recheck = NULL;
	if (atomic_load(gen) & GUEST_CODE_MIXED)
		return NULL;
	if (*r->expect != CODE_UNTRUSTED && ++*writes >= JIT_MIXED) {
		atomic_fetch_or(gen, GUEST_CODE_MIXED);
		j->mixed++;
		return NULL;
	}
	expect = code_track(cpu, page);
	if (expect == CODE_UNTRUSTED)
		j->untrusted++;
	if (memcmp(r->bytes, r->copy, r->len))
		return NULL;
	*r->expect = expect;
	j->rechecks++;
	return r->after;
}

/*
 * The TLB was flushed since the last run: the exits' slots (jit_cache.h)
 * found before are no longer used; when the tag comes round again (after
 * JIT_TAG_PERIOD flushes) they are dropped, with everything else.
 */
static void jit_tag(struct jit *j, struct emu_cpu *cpu)
{
	uint64_t n = cpu->tlb_gen;

	if (n / JIT_TAG_PERIOD != j->tag_epoch) {
		jit_flush(j, cpu);
		j->tag_epoch = n / JIT_TAG_PERIOD;
	}
	cpu->jit_tag = jit_ic_tag(n);
	j->tag_gen = n;
}

long jit_run(struct emu_cpu *cpu, long max, long *interp)
{
	struct jit *j = cpu->jit;
	long budget = max < JIT_RUN_MAX ? max : JIT_RUN_MAX, counted = 0;
	int stale = 0;
	bool hinted;

	*interp = 1;
	/* a single step (the HLT poll, tests) is the interpreter's */
	if (max < JIT_RUN_MIN) {
		*interp = max;
		return 0;
	}

	hinted = cpu->apic_ops && cpu_irq_maybe(cpu);
	cpu->jit_left = budget;
	if (cpu->tlb_gen != j->tag_gen)
		jit_tag(j, cpu);
	/* no page's code generation comes round while a block lives */
	if (code_epoch(cpu) != j->code_epoch) {
		jit_flush(j, cpu);
		j->code_epoch = code_epoch(cpu);
	}
	cpu->jit_link = NULL;
	cpu->jit_stale = NULL;
	for (;;) {
		uint64_t lin = cpu->rip;
		struct jit_block *t;
		struct jit_front *f;
		const uint8_t *p;

		/*
		 * A page the TLB does not have (a jump to another page,
		 * the entry taken by another page of the same index): the
		 * fetch of its first byte fills it, as it would before the
		 * interpreter ran the instruction, and faults the same way
		 * (at RIP, which is that instruction's).
		 */
		if (lin >> 12 != cpu->fetch_vpn && !tlb_fetch_page(cpu, lin)) {
			cpu->insn_rip = lin;
			cpu->insn_rsp = cpu->gpr[R_SP];
			/* its fault (a longjmp) skips the count at the end */
			j->insns += budget - cpu->jit_left - counted;
			counted = budget - cpu->jit_left;
			fetch_page(cpu, lin);
			/* code outside RAM: the interpreter's, byte by byte */
			if (!cpu->fetch_hva)
				break;
		}
		p = cpu->fetch_hva + (lin & 0xfff);
		f = jit_front(j, p);
		if (f->key != p || f->rip != lin ||
		    f->user != (cpu->cpl == 3)) {
			t = jit_find(j, cpu, p, lin);
			if (!t || !t->code) {
				/*
				 * Not (yet) translated: the interpreter runs
				 * what the block would, or a stretch
				 */
				*interp = t && t->n ? t->n : JIT_INTERP_RUN;
				break;
			}
			if (t->end > j->cache.pub && !jit_publish(j, t)) {
				*interp = t->n;
				break;
			}
			*f = (struct jit_front){ .key = p, .rip = lin,
						 .code = t->code,
						 .user = t->user };
			if (j->old.code && j->old.key == p &&
			    j->old.rip == lin && j->old.user == f->user)
				jit_rechain(j, f);
		}
		if (cpu->jit_link)
			*(const uint8_t **)(void *)cpu->jit_link = f->code;
		cpu->jit_link = NULL;
		cpu->jit_exit = 0;
		j->enters++;
		j->enter(cpu, f->code);
		while (cpu->jit_stale && cpu->jit_recheck) {
			const uint8_t *after = jit_recheck(j, cpu);

			if (!after)
				break;
			cpu->jit_stale = NULL;
			j->enter(cpu, after);
		}
		if (cpu->jit_stale) {
			/*
			 * An exit's slot that led there (jit_exit.c) would
			 * lead there again: it goes to the lookup next time
			 */
			struct jit_rip *r =
				&j->rips[jit_rip_index(cpu->jit_stale_rip)];

			if (cpu->jit_slot &&
			    cpu->jit_slot[JIT_IC_CODE / 8] == cpu->jit_stale)
				cpu->jit_slot[JIT_IC_PAGE / 8] = NULL;
			if (r->code == cpu->jit_stale)
				r->page = 0;
			/* a chained block perhaps: in this page, at RIP */
			jit_restale(j, cpu);
			j->stale++;
			if (++stale > 4)
				break;
			continue;
		}
		if (cpu->jit_exit || cpu->jit_left <= 0)
			break;
		/*
		 * An interrupt the run loop could take now. Blocks do not look
		 * (with IF clear, the LAPIC's hint may stay set for long): the
		 * budget brings them back here. A hint already set when the
		 * run began is one the run loop found nothing to deliver for
		 * (a vector below the TPR or in service): the budget again.
		 */
		if ((cpu->rflags & FL_IF) && cpu->apic_ops && !hinted &&
		    cpu_irq_maybe(cpu))
			break;
	}
	cpu->jit_link = NULL;
	/* the budget spent: back to the run loop, nothing for the interpreter */
	if (cpu->jit_left <= 0 && !cpu->jit_exit)
		*interp = 0;
	j->insns += budget - cpu->jit_left - counted;
	return budget - cpu->jit_left;
}

uint8_t *jit_refill(struct emu_cpu *cpu, uint64_t lin, unsigned how)
{
	uint8_t *p = tlb_refill(cpu, lin, how & 15, how >> 8);

	cpu->jit->refills++;
	cpu->jit->refilled += p != NULL;
	return p;
}

uint64_t jit_stat_refills(const struct jit *j)
{
	return j ? j->refilled : 0;
}

uint64_t jit_stat_insns(const struct jit *j)
{
	return j ? j->insns : 0;
}

uint64_t jit_stat_made(const struct jit *j)
{
	return j ? j->makes : 0;
}

uint64_t jit_stat_enters(const struct jit *j)
{
	return j ? j->enters : 0;
}

uint64_t jit_stat_stale(const struct jit *j)
{
	return j ? j->stale : 0;
}

uint64_t jit_stat_decodes(const struct jit *j)
{
	return j ? j->decodes : 0;
}

uint64_t jit_stat_flushes(const struct jit *j)
{
	return j ? j->flushes : 0;
}
