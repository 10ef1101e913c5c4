/* SPDX-License-Identifier: MIT */
/*
 * What a translated block's generator (jit_gen.c: the block; jit_tlb.c
 * its memory lookups, jit_exit.c its exits and chaining, jit_stubs.c the
 * shared stubs) and the per-instruction translation (jit_ops.c and the
 * jit_*.c it calls) share. Private to those files.
 */
#ifndef CVISOR_ACCEL_EMU_JIT_GEN_H
#define CVISOR_ACCEL_EMU_JIT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/emu/dcache.h"
#include "accel/emu/jit_cache.h"

#define OFF(f)		((int32_t)offsetof(struct emu_cpu, f))
#define GPR(r)		(OFF(gpr) + 8 * (r))
#define V		HR8	/* the value operand */
#define W		HR9	/* a 32-bit destination being worked on */
#define T		HR10
#define JIT_INSNS	(JIT_CHUNKS_MAX * DCB_INSNS)
#define JIT_EXITS	128
#define JIT_MISS_JUMPS	12	/* jumps to one instruction's miss exit */

/* X_STALE: a miss exit that also finds the block stale (gen_chunk_check) */
enum { X_MISS, X_CHAIN, X_STALE };

/* An exit jumped to from the body, emitted after it */
struct jexit {
	uint8_t *rel[JIT_MISS_JUMPS];	/* the jumps' rel32s */
	unsigned nrel;
	uint64_t rip;		/* where the guest goes on */
	unsigned count;		/* instructions done */
	uint8_t kind;
	bool synced;		/* cpu->jit_flags is already right */
	bool saved;		/* the flags are in AL/AH, not RFLAGS */
	uint16_t dirty;		/* guest registers to store back first */
	/*
	 * A lookup's miss that first calls env->refill (stub) and goes
	 * back to the block at back when that finds the host address
	 */
	uint8_t *refill;
	const uint8_t *back, *stub;
};

/*
 * Guest registers a block keeps in host registers (gen_pick_regs): RBP and
 * R11..R15, which nothing else in a block's code may use (the entry stub
 * saves the callee-saved ones), and those of RDX, W and T (JIT_SPARE)
 * that none of the block's instructions uses (jit_op_scratch). Only
 * instructions jit_op_regs() accepts see them (jit_gr); around any other
 * the block stores the dirty ones it may use to cpu->gpr before it and
 * loads them again after it, so code that works on cpu->gpr (jit_greg)
 * stays right. Exits store them before they use any scratch register.
 */
#define JIT_HREGS	6
#define JIT_SPARE	3

struct jgen {
	struct jbuf b;
	const struct jit_env *env;
	struct jit_slots *slots;
	const struct emu_cpu *cpu;
	const uint8_t *page;	/* the block's host code page */
	uint64_t start;		/* the block's first instruction */
	const uint8_t *checked;	/* its code after the entry's check */
	const uint8_t *body;	/* after that its register loads */
	const uint8_t *entry;	/* the block's first byte of code */
	bool loops;		/* it jumps back to its start (gen_loop_exit) */
	bool tracked;		/* its page's writes are tracked (code_track.h) */
	uint64_t rip, next;	/* this instruction's and the next one's */
	unsigned idx;		/* its index in the block */
	bool user;
	bool synced;		/* cpu->jit_flags holds the guest flags too */
	bool saved;		/* they are in AL/AH (RFLAGS is not theirs) */
	bool keep;		/* and stay there after this instruction */
	bool sets_all;		/* it sets them all after its lookups */
	bool live_in, live_out;	/* flags needed before / after it */
	bool bad;		/* too many exits */
	bool mxcsr_ok;		/* jit_sse.c checked the guest's MXCSR */
	bool sse_ok;		/* and CR0/CR4 for SSE's #UD and #NM */
	bool regs;		/* this instruction may use the host registers */
	bool refill;		/* its next lookup may fill the TLB (jit_tlb.c) */
	int8_t host[16];	/* the host register holding a guest one, or -1 */
	uint16_t cached;	/* guest registers in host ones */
	uint16_t dirty;		/* those changed since stored to cpu->gpr */
	/* last: jit_gen_block clears what is before them */
	struct jexit x[JIT_EXITS];
	unsigned nx;
};

/* Guest register r as an operand of size bytes, AH..BH included */
static inline struct jop jit_greg(const struct dc_entry *e, int r, int size)
{
	if (size == 1 && !e->rex && r >= 4 && r < 8)
		return jmem(HRBX, GPR(r - 4) + 1);
	return jmem(HRBX, GPR(r));
}

/* Whether guest register r of size bytes is AH..BH (byte 1 of r - 4) */
static inline bool jit_high_byte(const struct dc_entry *e, int r, int size)
{
	return size == 1 && !e->rex && r >= 4 && r < 8;
}

/*
 * Guest register r as an operand of size bytes for an instruction that
 * works on host registers: the host register holding it, else cpu->gpr.
 * A block caches no register whose AH..BH form it uses, so a byte 1 in
 * cpu->gpr is always current.
 */
static inline struct jop jit_gr(const struct jgen *g,
				const struct dc_entry *e, int r, int size)
{
	if (g->regs && !jit_high_byte(e, r, size) && g->host[r] >= 0)
		return jreg(g->host[r]);
	return jit_greg(e, r, size);
}

/* The same, 64 bits */
static inline struct jop jit_gr64(const struct jgen *g, int r)
{
	if (g->regs && g->host[r] >= 0)
		return jreg(g->host[r]);
	return jmem(HRBX, GPR(r));
}

/* Guest register r is about to be written (by the host code that follows) */
static inline void jit_gr_dirty(struct jgen *g, int r)
{
	if (g->regs && g->host[r] >= 0)
		g->dirty |= (uint16_t)(1u << r);
}

/* jit_gen.c: exits, memory operands, the block's ends */
void jit_add_exit(struct jgen *g, uint8_t *rel, uint8_t kind, uint64_t rip,
		  unsigned count);
/* Leave the block before this instruction when the flags jcc cc says */
void jit_miss_if(struct jgen *g, int cc);
/*
 * A lookup's miss at rel that calls stub (env->refill) first, and goes
 * back to the block at back when that finds the host address
 */
void jit_add_refill(struct jgen *g, uint8_t *rel, const uint8_t *back,
		    const uint8_t *stub);
/* RDI = the linear address of e's memory operand (seg: with FS/GS base) */
void jit_gen_ea(struct jgen *g, const struct dc_entry *e, bool seg);
/* Host register to = e's address (not RIP-relative) of size 8 or 4 (LEA) */
void jit_gen_addr(struct jgen *g, const struct dc_entry *e, int to, int size);
/*
 * Before host instructions that change the flags and then perhaps leave
 * by a miss exit (a lookup, a check): the guest flags into AL/AH when
 * something needs them; jit_gen_mem_done puts them back.
 */
void jit_gen_save(struct jgen *g);
/* RCX = host address of size bytes at the linear address in RDI, or exit */
void jit_gen_tlb(struct jgen *g, int size, bool write);
/* e's memory operand at [RCX] */
struct jop jit_gen_mem(struct jgen *g, const struct dc_entry *e, int size,
		       bool write);
/* After the lookups: the guest flags back in RFLAGS if anything needs them */
void jit_gen_mem_done(struct jgen *g);
/* The host's arithmetic flags from cpu->jit_flags (RAX) */
void jit_gen_load_flags(struct jgen *g);
/* cpu->jit_flags from the arithmetic flags in host register r (RAX, RDX) */
void jit_gen_flags_from(struct jbuf *b, int r);
/* The end of the block towards a fixed guest address */
void jit_gen_chain(struct jgen *g, uint64_t target, unsigned count);
/* The end of the block towards the address in V */
void jit_gen_dyn_exit(struct jgen *g);

/* jit_ops.c: one instruction */
/* Whether e's code works with guest registers in host ones (jit_gr) */
bool jit_op_regs(const struct dc_entry *e);
/* Whether the guest flags may stay in AL/AH across e (jit_gen.c) */
bool jit_op_keeps_saved(const struct dc_entry *e);
/* Whether e's code may start with the guest flags in AL/AH (jit_gen.c) */
bool jit_op_restores(const struct dc_entry *e);
/* The guest registers e's code may use in cpu->gpr (!jit_op_regs) */
uint16_t jit_op_gprs(const struct dc_entry *e);
/* Which of RDX, W and T e's code may use (jit_op_scratch's mask) */
uint16_t jit_op_scratch(const struct dc_entry *e);
/* Count the guest registers e uses, for the choice of those to cache */
void jit_op_reg_uses(const struct dc_entry *e, unsigned uses[16]);
/* Whether the block translates e */
bool jit_op_supported(const struct dc_entry *e);
/* Whether e changes the guest flags */
bool jit_op_writes_flags(const struct dc_entry *e);
/* How e uses the flags: reads some (or leaves by a side exit), sets all */
void jit_op_flag_use(const struct dc_entry *e, bool *reads, bool *sets);
/* e's host code, after its exits' state (g->rip, next, live_in/out) */
void jit_gen_insn(struct jgen *g, const struct dc_entry *e);
/* Guest register d (size bytes) = host register r */
void jit_set_reg(struct jgen *g, const struct dc_entry *e, int d, int size,
		 int r);
/* The destination to work on: m, or the register (W for 32 bits) */
struct jop jit_dest_begin(struct jgen *g, const struct dc_entry *e, int d,
			  int size, struct jop m);
void jit_dest_end(struct jgen *g, const struct dc_entry *e, int d, int size);

/* jit_arith.c: shifts, multiplies, divides, BT */
/* ROL/ROR/SHL/SHR/SAR x by c, non-zero and below the operand's bits */
void jit_gen_shift(struct jgen *g, int op, struct jop x, int size, int c);
/* ROL/ROR/SHL/SHR/SAR by CL */
void jit_gen_shift_cl(struct jgen *g, const struct dc_entry *e);
/* IMUL r, r/m and IMUL r, r/m, imm */
void jit_gen_imul(struct jgen *g, const struct dc_entry *e);
/* MUL, IMUL, DIV, IDIV of RDX:RAX (AX) by e's operand */
void jit_gen_muldiv(struct jgen *g, const struct dc_entry *e);
/* BT r/m, imm8 */
void jit_gen_bt(struct jgen *g, const struct dc_entry *e);
/* BSF/BSR r, r/m */
void jit_gen_bitscan(struct jgen *g, const struct dc_entry *e);
/* SHLD/SHRD r/m, r, imm8 or CL */
void jit_gen_shld(struct jgen *g, const struct dc_entry *e);

/* jit_sys.c: PUSHF, POPF, CLI, STI, MOV r/m, Sreg */
bool jit_sys_supported(const struct dc_entry *e);
void jit_gen_sys(struct jgen *g, const struct dc_entry *e);

/* jit_bit.c: BT, BTS, BTR, BTC r/m by an imm8 or a register */
void jit_gen_btx(struct jgen *g, const struct dc_entry *e);

/* jit_xchg.c: XCHG, CMPXCHG, XADD r/m, r (LOCKed on memory as the guest's) */
void jit_gen_xchg(struct jgen *g, const struct dc_entry *e);

/* jit_str.c: REP STOS, REP MOVS within a page */
void jit_gen_rep_str(struct jgen *g, const struct dc_entry *e);

/* jit_xmm.c: SSE moves (DC_XMM_LOAD/STORE, DC_PXOR, DC_XMM_SCALAR, DC_MOVQ) */
void jit_gen_xmm(struct jgen *g, const struct dc_entry *e);

/* jit_sse.c: SSE/SSE2 arithmetic, logic, compares, conversions (DC_SSE) */
bool jit_sse_supported(const struct dc_entry *e);
bool jit_sse_writes_flags(const struct dc_entry *e);
void jit_sse_flag_use(const struct dc_entry *e, bool *reads, bool *sets);
void jit_gen_sse(struct jgen *g, const struct dc_entry *e);
/* Leave before an SSE instruction that would raise #UD or #NM (flags saved) */
void jit_gen_sse_avail(struct jgen *g);

/*
 * The guest's arithmetic flags as blocks and their exits move them, and
 * the guest registers a block keeps in host ones (jit_gen.c's header)
 */
/*
 * The guest's arithmetic flags go from block to block in AX, as LAHF and
 * SETO leave them (AH: SF ZF AF PF CF; AL: OF): every way into a block
 * (jit_run's entry stub, a chain slot, an exit's slot check, the lookup,
 * a loop's jump back) has them there, so a chained exit takes them out
 * of RFLAGS (unless they are in AX already) and the next block puts them
 * back with ADD and SAHF before its first instruction that reads them,
 * with no store and load between. Where translated code goes back to
 * jit_run they are stored into cpu->jit_flags (exit_ax, a miss exit),
 * and jit_run's entry and exit (jit_gen_flags_in/out) convert from and
 * to cpu->rflags once a run.
 */
static inline void gen_store_ax(struct jbuf *b)
{
	jb8(b, 0x66);				/* mov [rbx + jit_flags], ax */
	jb8(b, 0x89);
	jb8(b, 0x83);
	jb32(b, OFF(jit_flags));
}

/* The guest flags into AL (OF) and AH (SF ZF AF PF CF), and back */
static inline void gen_save(struct jbuf *b)
{
	jb8(b, 0x9f);				/* lahf */
	jb8(b, 0x0f);				/* seto al */
	jb8(b, 0x90);
	jb8(b, 0xc0);
}

static inline void gen_restore(struct jbuf *b)
{
	jb8(b, 0x04);				/* add al, 0x7f: OF */
	jb8(b, 0x7f);
	jb8(b, 0x9e);				/* sahf */
}

/* Store the host's arithmetic flags into cpu->jit_flags (RAX) */
static inline void gen_commit(struct jbuf *b)
{
	gen_save(b);
	gen_store_ax(b);
}

/* cpu->jit_flags into the host's arithmetic flags (RAX) */
static inline void gen_load_flags(struct jbuf *b)
{
	jb8(b, 0x66);				/* mov ax, [rbx + jit_flags] */
	jb8(b, 0x8b);
	jb8(b, 0x83);
	jb32(b, OFF(jit_flags));
	gen_restore(b);
}

/* Store the guest registers in mask from their host ones to cpu->gpr */
static inline void gen_writeback(struct jgen *g, uint16_t mask)
{
	for (int r = 0; r < 16; r++)
		if (mask & (1u << r))
			j_mov_mr(&g->b, 8, jmem(HRBX, GPR(r)), g->host[r]);
}

/* Load the cached guest registers in mask into their host ones */
static inline void gen_reload(struct jgen *g, uint16_t mask)
{
	for (int r = 0; r < 16; r++)
		if (g->cached & mask & (1u << r))
			j_mov_rm(&g->b, 8, g->host[r], jmem(HRBX, GPR(r)));
}

/* Parts of a block: memory lookups (jit_tlb.c), exits (jit_exit.c) */
const uint8_t *jit_gen_tlb_stub(struct jbuf *b, const struct jit_env *env,
				int size, bool write, bool code, bool refill);
void jit_gen_refill_stubs(struct jbuf *b, struct jit_env *env);
void jit_gen_exits(struct jgen *g);

#endif
