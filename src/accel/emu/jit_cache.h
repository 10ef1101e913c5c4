/* SPDX-License-Identifier: MIT */
/*
 * The translator's code cache (jit_mem.c) and what the block generator
 * (jit_gen.c and its jit_tlb.c, jit_exit.c, jit_stubs.c) needs from the
 * rest of the translator (jit.c).
 *
 * Each vCPU's cache is one slice of an address range reserved, PROT_NONE,
 * before the seccomp filter goes on; the filter lets mprotect add
 * PROT_EXEC inside that range only, and never with PROT_WRITE. No page is
 * ever writable and executable at once: code is written into a window of
 * RW pages above the published (RX) ones and published many blocks at a
 * time; chained jumps go through slots in a data area after the code
 * (RW, never executable), so pointing one at its target changes no page's
 * protection. The cache fills from the start and is flushed whole when a
 * block or its slots do not fit.
 */
#ifndef CVISOR_ACCEL_EMU_JIT_CACHE_H
#define CVISOR_ACCEL_EMU_JIT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/emu/cpu.h"
#include "accel/emu/jit.h"
#include "accel/emu/jit_emit.h"

#define JIT_CACHE_BYTES	JIT_ARENA_SLICE	/* per vCPU */
#define JIT_CACHE_SLOTS	64		/* vCPUs with a cache at once */
#define JIT_BLOCK_MAX	8192		/* one block's code at most */
/*
 * What of the slice is used: code, then the chain slots after it (only
 * the pages written are memory). The emu VMM is to stay within 16 MiB
 * beyond guest RAM for a vCPU (bench/emu.sh's vmm row), which bounds the
 * code: a Debian boot flushes 2 MiB ~130 times, 3 MiB ~65, 6 MiB ~20
 * (docs/emu-jit.md); with VNC's and iSCSI's libraries loaded only when
 * used, such a VMM holds 14.5 MiB with 6 MiB of code.
 */
#define JIT_CODE_BYTES	(6UL << 20)
#define JIT_SLOT_BYTES	(512UL << 10)	/* 32768 chained exits */
_Static_assert(JIT_CODE_BYTES + JIT_SLOT_BYTES <= JIT_CACHE_BYTES,
	       "code and slots in a slice");
#define JIT_WINDOW	(64UL << 10)	/* made writable at a time */

/*
 * Offsets into the slice: code below pub is published (RX), [pub, rw_end)
 * is the RW window blocks are written into (page-aligned both), used is
 * where the next block goes.
 */
struct jit_cache {
	uint8_t *base;
	size_t used, pub, rw_end;
	int slot;
};

/*
 * An exit's own slot (gen_ic_exit): the block it went to last, and the
 * host page that block was found at XORed with cpu->jit_tag then (the
 * TLB's flush count, jit_ic_tag); for a target that varies (RET, JMP/CALL
 * through a register or memory) then a word unused (0) and that block's
 * RIP: two words or four, so that slots stay in the two-word steps of
 * chain slots (where the jump goes first; jit_rechain walks them and
 * rewrites the first word of each step, so the guest's RIP is in a
 * second word, where no value a guest chose is taken for a block's
 * address). A slot with no block has page 0, which is no page at any
 * count (a tag is never 0).
 */
#define JIT_IC_CODE	0
#define JIT_IC_PAGE	8
#define JIT_IC_RIP	24

/*
 * The TLB's flush count n as the slots keep it: a host page (4 KiB
 * aligned, below 2^47) XORed with it is that page only at the same
 * count. n modulo JIT_TAG_PERIOD, plus 1, goes in the page's 29 bits
 * that are 0 (bits 17..28 to 0..11, bits 0..16 to 47..63: rotated right
 * by 17); jit_run flushes the cache whenever n / JIT_TAG_PERIOD changes,
 * so no slot outlives the tag it was made at coming round again.
 */
#define JIT_TAG_BITS	29
#define JIT_TAG_PERIOD	((1ULL << JIT_TAG_BITS) - 1)
#define JIT_TAG_ROT	17
#define JIT_TAG_MASK	((1U << JIT_TAG_BITS) - 1)	/* once rotated back */
static inline uint64_t jit_ic_tag(uint64_t n)
{
	uint64_t v = n % JIT_TAG_PERIOD + 1;

	return v >> JIT_TAG_ROT | v << (64 - JIT_TAG_ROT);
}

/*
 * Blocks by guest RIP, for the exits whose target varies (RET, JMP/CALL
 * through a register or memory) when it is not the one in the exit's
 * slot (a function returning to its callers in turn): filled by the
 * lookup beside the slot, read by the slot check (jit_stubs.c), an entry
 * holds what a slot does and the same way (the page tagged, jit_ic_tag).
 * jit_run empties the entry of a block found stale; a flush, all.
 */
#define JIT_RIPS	256
struct jit_rip {
	uint64_t rip;
	const uint8_t *code;
	uint64_t page;		/* host page ^ cpu->jit_tag when found */
	uint64_t user;		/* the block runs at CPL 3 (1) or not (0) */
};
_Static_assert(sizeof(struct jit_rip) == 32, "the stubs' shl, 5");

static inline unsigned jit_rip_index(uint64_t rip)
{
	return (unsigned)(rip ^ (rip >> 8)) & (JIT_RIPS - 1);
}

/* The chain slots still free: each holds where a chained jump goes */
struct jit_slots {
	const uint8_t **next, **end;
};

int jit_cache_open(struct jit_cache *c);
void jit_cache_close(struct jit_cache *c);
/* [p, p + len) writable and not executable (rw) or the reverse (!rw) */
int jit_cache_protect(struct jit_cache *c, uint8_t *p, size_t len, bool rw);

/*
 * A published block as jit_run last entered it: a small direct-mapped
 * table in front of the large one (jit.c), which the exits to a guest
 * address known only at run time (RET, indirect JMP/CALL) and the
 * jumps to another guest page also look in, from translated code
 * (jit_stubs.c's lookup): so its layout is the stub's.
 */
#define JIT_FRONT	1024
#define JIT_FRONT_MIX	10	/* index: (h ^ h >> this) & (JIT_FRONT - 1) */
struct jit_front {
	const uint8_t *key;	/* host address of the first byte */
	uint64_t rip;
	const uint8_t *code;
	uint64_t user;		/* runs at CPL 3 (1) or not (0) */
};
_Static_assert(sizeof(struct jit_front) == 32, "the lookup's shl edx, 5");

static inline unsigned jit_front_index(const uint8_t *p)
{
	uintptr_t h = (uintptr_t)p;

	return (h ^ (h >> JIT_FRONT_MIX)) & (JIT_FRONT - 1);
}

/*
 * Where a block's exits go (code at the start of the cache, jit.c). The
 * guest flags are in AX (as LAHF and SETO leave them, jit_gen.h) when a
 * block is entered and at exit_ax, far_out, ic_check, ic_miss, chain_out
 * and stale_out, which keep them there for the next block or store them
 * to cpu->jit_flags for jit_run. miss_out[0] expects cpu->jit_flags
 * right, [1] stores the host's flags there first. Those by [CPL 3] look
 * the target up in front (the TLB's entry for its page, then the table)
 * and go on to its block while the budget lasts; else they return to
 * jit_run with cpu->rip set.
 */
/* The soft-TLB lookups' kinds: a store with or without the code-page test */
enum { JIT_TLB_LOAD, JIT_TLB_STORE_CODE, JIT_TLB_STORE, JIT_TLB_KINDS };

struct jit_env {
	const uint8_t *exit;		/* back to jit_run */
	const uint8_t *exit_ax;		/* the same, the flags in AL/AH */
	const uint8_t *exit_interp;	/* the same, the interpreter next */
	struct jit_front *front;	/* the table the lookups look in */
	struct jit_rip *rips;		/* blocks by RIP (the slot checks) */
	/*
	 * soft-TLB lookups at CPL 0-2 by [JIT_TLB_*][size slot]
	 * (jit_gen_tlb), and the same that on a miss fill the entry when
	 * the interpreter's walk would not fault (refill below)
	 */
	const uint8_t *tlb[JIT_TLB_KINDS][4];
	const uint8_t *tlb_refill[JIT_TLB_KINDS][4];
	/*
	 * By [write][size slot], called with the linear address in RDI
	 * after a lookup missed: tlb_refill's host address in RCX, ZF set
	 * when it is 0; every other register but RSI kept
	 */
	const uint8_t *refill[2][4];
	/* the interpreter runs RSI + (EDI >> 8) next, EDI & 255 were done */
	const uint8_t *miss_out[2];
	/* by [CPL 3]: to V, after a SUB of the budget whose flags are live */
	const uint8_t *far_out[2];
	/*
	 * An exit's own slot (RDI, jit_exit.c) by [CPL 3][fixed target, a
	 * slot of two words]: ic_check, called after a SUB of the budget
	 * whose flags are live, returns when the slot's block is V's and may
	 * run (RCX, RDX, RSI), or goes on to V's block in rips itself (R10
	 * too), else goes to jit_run or to ic_miss, the lookup, which
	 * points the slot at V's block when the front table has it.
	 */
	const uint8_t *ic_check[2][2];
	const uint8_t *ic_miss[2][2];
	const uint8_t *chain_out;	/* RDI: the slot to point, RIP in it */
	const uint8_t *stale_out;	/* RDI: the stale entry, RSI its RIP */
};

/*
 * A block made from a page whose writes are tracked (code_track.h)
 * checks at its entry that the page's code generation is the one it
 * expects, the word at expect (a slot, so jit_run can change it), else
 * returns as stale with cpu->jit_recheck pointing at this record after
 * its code: jit_run compares its bytes with their copy, and when they
 * are the same enters it after its check (with the generation expected
 * from then on when code_track trusts it).
 */
struct jit_recheck {
	const uint8_t *after;	/* the block's code after its check */
	const uint8_t *bytes;	/* the guest bytes it was made from */
	uint32_t *expect;	/* in a slot of two words (the second: 0) */
	uint32_t len;
	uint8_t copy[];
};

/* A block that checks its page's code generation (else its bytes) */
struct jit_track {
	const _Atomic uint32_t *gen;	/* the page's (guest_mem.h) */
	uint32_t expect;	/* when the bytes were read (code_track) */
};

/* The shared subroutines of jit_env into b (jit_stubs.c) */
void jit_gen_stubs(struct jbuf *b, struct jit_env *env);
/*
 * What env->refill calls (jit.c): tlb_refill of lin for how's size (low
 * byte) and write (how >> 8), counted
 */
uint8_t *jit_refill(struct emu_cpu *cpu, uint64_t lin, unsigned how);
/*
 * jit_run's entry and exit: the guest's arithmetic flags as blocks take
 * them (AX, and cpu->jit_flags) from cpu->rflags, and back from
 * cpu->jit_flags (RAX, RCX, RDX)
 */
void jit_gen_flags_in(struct jbuf *b);
void jit_gen_flags_out(struct jbuf *b);

/*
 * Translate the instructions at host address p (guest RIP rip; end is its
 * page's end, which only a block's last instruction crosses, when the
 * TLB has the next page executable) into b, as a block
 * entered at b's start, which checks its page's code generation with
 * track, else its bytes; returns how many guest instructions it holds, 0
 * when the first one is not translated (b is then unused). b->full when
 * the code or its chain slots (taken from slots) did not fit.
 */
unsigned jit_gen_block(struct jbuf *b, struct jit_slots *slots,
		       const struct jit_env *env, struct emu_cpu *cpu,
		       const uint8_t *p, const uint8_t *end, uint64_t rip,
		       const struct jit_track *track);

/*
 * A block is up to JIT_CHUNKS decode-cache blocks (dc_build) in a row,
 * and one more (JIT_CHUNKS_MAX) when that one jumps back to the block's
 * start: a loop of up to 48 instructions is then one block that loops
 */
#define JIT_CHUNKS	3
#define JIT_CHUNKS_MAX	4

/*
 * How many instructions jit_gen_block would translate at p (0: none),
 * with next the host address of the next page (jit_gen_next_page)
 */
unsigned jit_gen_worth(const uint8_t *p, const uint8_t *end,
		       const uint8_t *next);
/*
 * What jit_gen_worth says, from the decode cache's blocks at p (decoded
 * there for the interpreter, which then runs them: dcache_get), or -1
 * without a decode cache or near the page's end
 */
int jit_gen_count(struct emu_cpu *cpu, const uint8_t *p, const uint8_t *end);
/*
 * Whether jit_gen_block takes p's instructions from the decode cache's
 * blocks (far from the page's end, with a decode cache) rather than
 * decoding them itself
 */
bool jit_gen_reuses(const struct emu_cpu *cpu, const uint8_t *p);
/*
 * Whether a block at p may reach an instruction across its page's end,
 * which it translates only if the TLB has the next page when it is made
 */
bool jit_gen_near_end(const uint8_t *p);
/*
 * The guest registers (a bit each) a block made at p (RIP rip, in a page
 * ending at end) keeps in host registers: for the tests
 */
uint16_t jit_gen_kept(const uint8_t *p, const uint8_t *end, uint64_t rip);
/* The page after rip's if the TLB lets the CPU run it from RAM, or NULL */
const uint8_t *jit_gen_next_page(const struct emu_cpu *cpu, uint64_t rip);

#endif
