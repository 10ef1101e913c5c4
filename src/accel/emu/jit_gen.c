// SPDX-License-Identifier: MIT
/*
 * One translated block: the decode cache's entries for a run of guest
 * instructions (dc_build), each turned into a few host instructions.
 *
 * Host registers: RBX holds the CPU; the guest registers a block uses
 * most are in host ones (gen_pick_regs), the others stay in cpu->gpr and
 * host instructions work on them there. R8 (V) carries values, RDI a
 * guest linear address (or a 32-bit result on its way to cpu->gpr), RCX
 * the host address the soft TLB turns it into, RSI the lookup's scratch;
 * AL/AH keep the guest flags while a lookup uses the host's. RDX, R9 (W)
 * and R10 (T) are for the few forms that need more (MUL/DIV, CQO, IMUL,
 * SHLD, SSE, ...: jit_op_scratch), and hold guest registers elsewhere.
 *
 * Flags: the prologue loads the guest's arithmetic flags into the host's
 * RFLAGS, and from then on the guest's ADD is the host's ADD: the flags
 * it leaves are exactly the hardware's, which is what the interpreter
 * computes too (exec_alu.c runs the same host instructions). Where the
 * interpreter defines flags the SDM leaves undefined (shifts: AF clear,
 * OF for counts above one), the block computes those when a later
 * instruction or an exit can see them (a backward liveness pass). They
 * come into a block and go on to the next in AX (see gen_store_ax).
 *
 * Exceptions: a translated instruction never faults. Its memory operand
 * is looked up in the soft TLB inline; a miss, a page without the needed
 * permission, MMIO, a page-crossing access or a store into the code page
 * leaves the block before the instruction with RIP, registers and flags
 * exactly as they were there, and the interpreter runs it (and raises
 * any fault, fills the TLB, or does the MMIO).
 *
 * The block's memory lookups are in jit_tlb.c, its exits in jit_exit.c,
 * the shared stubs they go to in jit_stubs.c.
 */
#include <string.h>

#include "accel/emu/jit_gen.h"

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

/*
 * Host register to (size 8, or 4: the low half, zero-extended) = the
 * address of e's memory operand without RIP or a segment base (LEA);
 * uses RDI and RSI for a base and index in cpu->gpr
 */
void jit_gen_addr(struct jgen *g, const struct dc_entry *e, int to, int size)
{
	struct jbuf *b = &g->b;
	int base = HRDI;

	if (e->base >= 0)
		base = gen_gpr_in(g, e->base, HRDI);
	else
		j_mov_ri32(b, HRDI, 0);
	if (e->index >= 0)
		j_lea(b, size, to, jmem_idx(base,
			gen_gpr_in(g, e->index, HRSI), e->scale, e->disp));
	else if (e->disp || base != to || size == 4)
		j_lea(b, size, to, jmem(base, e->disp));
}

void jit_gen_ea(struct jgen *g, const struct dc_entry *e, bool seg)
{
	struct jbuf *b = &g->b;

	if (e->riprel)
		j_mov_ri64(b, HRDI, g->next + (int64_t)e->disp);
	else
		jit_gen_addr(g, e, HRDI, 8);
	if (seg && e->seg != SEG_NONE) {
		j_mov_rm(b, 8, HRSI, jmem(HRBX, OFF(seg) +
			 e->seg * (int32_t)sizeof(struct x86_segment) +
			 (int32_t)offsetof(struct x86_segment, base)));
		j_lea(b, 8, HRDI, jmem_idx(HRDI, HRSI, 0, 0));
	}
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
	gen_check_cmp(g, p, n, copy, ncopy, HRDX);	/* AX: the flags */
	return j_jcc(&g->b, 5);					/* jne */
}

/*
 * The entry's check of a block whose page's writes are tracked: the
 * page's code generation (EDX; AX holds the flags) must be the one in
 * the slot it gets, else a jump at the rel32 returned (to the recheck,
 * see gen_recheck)
 */
static uint8_t *gen_track_check(struct jgen *g, const struct jit_track *t,
				uint32_t **expect)
{
	struct jbuf *b = &g->b;

	if (g->slots->end - g->slots->next < 2) {
		g->bad = true;
		return NULL;
	}
	*expect = (uint32_t *)(void *)g->slots->next;
	g->slots->next[0] = NULL;
	g->slots->next[1] = NULL;
	**expect = t->expect;
	g->slots->next += 2;
	j_mov_ri64(b, HRDX, (uintptr_t)t->gen);
	j_mov_rm(b, 4, HRDX, jmem(HRDX, 0));
	j_patch(j_riprel(b, 0, 0x3b, HRDX), (const uint8_t *)*expect); /* cmp */
	return j_jcc(b, 5);				/* jne */
}

/*
 * After the block: the stale exit of gen_track_check's block tells jit_run
 * where its jit_recheck record is (emitted by gen_recheck_data)
 */
static uint8_t *gen_recheck(struct jgen *g)
{
	uint8_t *rel = j_riprel(&g->b, 0x48, 0x8d, HRDX);	/* lea */

	j_mov_mr(&g->b, 8, jmem(HRBX, OFF(jit_recheck)), HRDX);
	return rel;
}

static void gen_recheck_data(struct jgen *g, uint8_t *rel, uint32_t *expect,
			     const uint8_t *p, const uint8_t *bytes,
			     unsigned n)
{
	struct jbuf *b = &g->b;

	while (((uintptr_t)b->p & 7) && !b->full)
		jb8(b, 0xcc);					/* int3 */
	j_patch(rel, b->p);
	jb64(b, (uintptr_t)g->checked);
	jb64(b, (uintptr_t)p);
	jb64(b, (uintptr_t)expect);
	jb32(b, n);
	for (unsigned i = 0; i < n; i++)
		jb8(b, bytes[i]);
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
 * and loads, byte checks and register loads. One more chunk, up to its
 * first jump back to the block's start, when it has one (loop_close):
 * the kernel's multi-precision multiply loops (mpihelp_addmul_1 and
 * _submul_1, 37 and 38 instructions, most of the Debian kernel's crypto
 * self-tests) were two blocks chained to each other.
 */
#define JIT_BYTES	(JIT_CHUNKS_MAX * DCB_BYTES)

struct jinsns {
	unsigned n;
	bool ends;	/* the last one ends the run (JMP, CALL, RET, H_INTERP) */
	unsigned nchunks;
	/* each chunk's first instruction, and its bytes' offset from p */
	unsigned first[JIT_CHUNKS_MAX], off[JIT_CHUNKS_MAX];
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

static void jinsns_init(struct jinsns *in)
{
	in->n = in->nchunks = 0;
	in->ends = false;
}

/*
 * How many of chunk b's instructions a block takes after JIT_CHUNKS of
 * them, b being off bytes on from the block's start: up to its first JMP
 * or Jcc back to that start, or none
 */
static unsigned loop_close(const struct dc_block *b, size_t off)
{
	for (unsigned i = 0; i < b->n; i++) {
		const struct dc_entry *e = &b->e[i];

		off += e->len;
		if ((e->kind == DC_JCC || e->kind == DC_JMP) &&
		    (int64_t)off + (int64_t)e->imm == 0)
			return i + 1;
	}
	return 0;
}

/*
 * Chunk b, off bytes on from the block's start, after in's, or as much
 * of it as loop_close says for one beyond JIT_CHUNKS; false when none
 */
static bool jinsns_add(struct jinsns *in, const struct dc_block *b,
		       size_t off)
{
	unsigned n = in->nchunks < JIT_CHUNKS ? b->n : loop_close(b, off);

	if (!n)
		return false;
	in->first[in->nchunks] = in->n;
	in->off[in->nchunks++] = off;
	memcpy(&in->e[in->n], b->e, n * sizeof(b->e[0]));
	in->n += n;
	in->ends = ends_run(&b->e[n - 1]);
	return true;
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
	jinsns_init(in);
	while (in->nchunks < JIT_CHUNKS_MAX && !in->ends) {
		if ((size_t)(q - (snap + 8)) >= room)
			break;
		dc_build(&blk, q, snap + JIT_SNAP);
		if (!blk.n || !jinsns_add(in, &blk, q - (snap + 8)))
			break;
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

bool jit_gen_reuses(const struct emu_cpu *cpu, const uint8_t *p)
{
	return cpu->dcache && !jit_gen_near_end(p);
}

/*
 * What jit_decode takes at p (far from its page's end: jit_gen_reuses),
 * from the decode cache's blocks there: dcache_get finds or makes them
 * from a copy of their bytes, which memory was found the same as (so
 * after code_track, when the block is made). With snap, their bytes go
 * into it as jit_decode's copy: the block's code and check are made
 * from the bytes its entries were decoded from.
 */
static void jit_reuse(struct jinsns *in, struct emu_cpu *cpu,
		      const uint8_t *p, const uint8_t *end, uint8_t *snap)
{
	size_t off = (uintptr_t)p & 4095, pre = off < 8 ? off : 8;
	const uint8_t *q = p;

	if (snap) {
		memset(snap, 0x90, JIT_SNAP);
		memcpy(snap + 8 - pre, p - pre, pre);
	}
	jinsns_init(in);
	while (in->nchunks < JIT_CHUNKS_MAX && !in->ends) {
		const struct dc_block *b = dcache_get(cpu, q, end);

		if (!b->n || !jinsns_add(in, b, q - p))
			break;
		if (snap)
			memcpy(snap + 8 + (q - p), b->bytes, b->nbytes);
		q += b->nbytes;
	}
}

int jit_gen_count(struct emu_cpu *cpu, const uint8_t *p, const uint8_t *end)
{
	struct jinsns in;
	unsigned nbytes, tail;

	if (!jit_gen_reuses(cpu, p))
		return -1;
	jit_reuse(&in, cpu, p, end, NULL);
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
	gen_check_cmp(g, p, n, copy, ncopy, HRDI);
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
		j_mov_rm(b, 8, HRDI, jmem(HRSI, (int32_t)i));
		j_mov_ri64(b, HRCX, mask);
		j_alu_mr(b, 8, 4, jreg(HRDI), HRCX);		/* and */
		j_mov_ri64(b, HRCX, v);
		j_alu_mr(b, 8, 7, jreg(HRDI), HRCX);		/* cmp */
		jit_miss_if(g, 5);
	}
	jit_gen_mem_done(g);
}

/*
 * The last of the first n instructions that jumps back to the start, or
 * -1 when none does
 */
static int gen_loop_end(const struct jinsns *blk, unsigned n,
			uint64_t start)
{
	uint64_t rip = start;
	int last = -1;

	for (unsigned i = 0; i < n; i++) {
		const struct dc_entry *e = &blk->e[i];

		rip += e->len;
		if ((e->kind == DC_JCC || e->kind == DC_JMP) &&
		    rip + e->imm == start)
			last = i;
	}
	return last;
}

/*
 * The guest registers the block keeps in host ones: the most used (twice
 * or more, or once in the body of a loop back to the block's start) by
 * its first n instructions that work with them, but none that one of
 * them uses as AH..BH (whose byte 1 stays in cpu->gpr; a byte operand
 * AL..BL leaves its register free to keep). A use in the loop's body
 * outweighs any after it; elsewhere a use counts half as much after
 * each conditional branch before it (up to three), which may leave the
 * block: a loop that goes round through its first few instructions
 * keeps their registers, not those of the rest of its 36. loop_end is
 * the loop's last instruction (gen_loop_end). Up to six go into RBP
 * and R11..R15, three more into RDX, R9 and R10 when none of the
 * block's instructions uses them
 * (jit_op_scratch): the xz decompressor's LZMA and CRC32 loops keep 8 to
 * 11 registers busy.
 */
static void gen_pick_regs(struct jgen *g, const struct jinsns *blk,
			  unsigned n, int loop_end)
{
	static const int8_t spare[JIT_SPARE] = { HRDX, W, T };
	int8_t pool[JIT_HREGS + JIT_SPARE] = { HR12, HR13, HR14, HR15,
					       HRBP, HR11 };
	unsigned uses[16] = { 0 }, weight[16] = { 0 };
	unsigned k = 0, npool = JIT_HREGS, high = 0, jccs = 0;
	uint16_t busy = 0;

	memset(g->host, -1, sizeof(g->host));
	g->cached = g->dirty = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct dc_entry *e = &blk->e[i];
		unsigned mine[16] = { 0 };

		busy |= jit_op_scratch(e);
		if (e->kind == DC_JCC && jccs < 3)
			jccs++;
		if (!jit_op_regs(e))
			continue;
		jit_op_reg_uses(e, mine);
		/*
		 * A use in a loop's body is made every time round, its load
		 * at the block's entry once: one is reason enough, and it
		 * outweighs the uses after the loop
		 */
		for (int r = 0; r < 16; r++) {
			bool body = (int)i <= loop_end;

			uses[r] += mine[r] << body;
			weight[r] += mine[r] << (body ? 8 : 3 - jccs);
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
	/* the scratch registers no instruction of the block uses */
	for (int i = 0; i < JIT_SPARE; i++)
		if (!(busy & (1u << spare[i])))
			pool[npool++] = spare[i];
	while (k < npool) {
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

/* The chunk of the loop's last instruction (gen_loop_end), or -1 */
static int gen_loop_chunk(const struct jinsns *blk, int last)
{
	int c = 0;

	if (last < 0)
		return -1;
	while ((unsigned)c + 1 < blk->nchunks &&
	       blk->first[c + 1] <= (unsigned)last)
		c++;
	return c;
}

uint16_t jit_gen_kept(const uint8_t *p, const uint8_t *end, uint64_t rip)
{
	struct jinsns blk;
	struct jgen g;
	uint8_t snap[JIT_SNAP];
	unsigned nbytes, tail, n;

	jit_decode(&blk, p, end, NULL, snap);
	n = jit_count(&blk, end - p, false, &nbytes, &tail);
	memset(&g, 0, sizeof(g));
	gen_pick_regs(&g, &blk, n, gen_loop_end(&blk, n, rip));
	return g.cached;
}

unsigned jit_gen_block(struct jbuf *b, struct jit_slots *slots,
		       const struct jit_env *env, struct emu_cpu *cpu,
		       const uint8_t *p, const uint8_t *end, uint64_t rip,
		       const struct jit_track *track)
{
	struct jinsns blk;
	struct jgen gen, *g = &gen;
	uint8_t *entry = b->p, *copy[JIT_CHUNKS_MAX][JIT_BYTES / 8 + 2];
	unsigned ncopy[JIT_CHUNKS_MAX] = { 0 }, lo[JIT_CHUNKS_MAX];
	unsigned hi[JIT_CHUNKS_MAX];
	uint8_t *stale;
	int back, loop_end;
	bool live[JIT_INSNS + 1];
	unsigned n = 0, nbytes = 0, i;
	uint8_t snap[JIT_SNAP];
	const uint8_t *next = jit_gen_next_page(cpu, rip);
	unsigned tail;
	uint32_t *expect = NULL;
	uint8_t *recheck = NULL;

	if (jit_gen_reuses(cpu, p))
		jit_reuse(&blk, cpu, p, end, snap);
	else
		jit_decode(&blk, p, end, next, snap);
	n = jit_count(&blk, end - p, next, &nbytes, &tail);
	if (!n)
		return 0;
	/* not the exits (~19 KiB): jit_add_exit writes each one it takes */
	memset(g, 0, offsetof(struct jgen, x));
	g->nx = 0;
	g->b = *b;
	g->slots = slots;
	g->env = env;
	g->cpu = cpu;
	g->page = p - (rip & 0xfff);
	g->user = cpu->cpl == 3;
	g->tracked = track != NULL;
	/*
	 * Flags live before each instruction, from the end backwards; a
	 * memory operand's miss exit reads them (the block is entered with
	 * them in AL/AH, and cpu->jit_flags may be stale: see jit_gen.h).
	 */
	/* the bytes of each chunk to compare: the first's at the entry */
	for (unsigned c = 0; c < blk.nchunks; c++) {
		lo[c] = blk.off[c];
		hi[c] = c + 1 < blk.nchunks ? blk.off[c + 1] : nbytes - tail;
		if (hi[c] > nbytes - tail)
			hi[c] = nbytes - tail;
		if (lo[c] > hi[c] || (c && blk.first[c] >= n))
			lo[c] = hi[c];
	}
	/*
	 * With the page's writes tracked, its code generation covers every
	 * chunk: only the entry checks. Else a loop's entry compares the
	 * chunks up to its last jump back to the start, and those chunks
	 * have no check of their own: each time round would compare again
	 * what nothing has changed since the entry (a store into the page
	 * leaves the block), and the flags would have to be the guest's at
	 * each check
	 */
	loop_end = gen_loop_end(&blk, n, rip);
	back = gen_loop_chunk(&blk, loop_end);
	g->loops = back >= 0;
	for (int c = 1; c < (int)blk.nchunks; c++) {
		if (!track && c > back)
			break;
		if (!track && hi[c] > hi[0])
			hi[0] = hi[c];
		lo[c] = hi[c];
	}
	live[n] = true;
	for (i = n; i-- > 0;) {
		bool reads, sets;

		jit_op_flag_use(&blk.e[i], &reads, &sets);
		/*
		 * The next page's check before an instruction across the
		 * page's end leaves for the interpreter, which may fault
		 * fetching it: the flags must be the guest's there
		 */
		if (tail && i == n - 1)
			reads = true;
		/* so does a later chunk's check before its first (stale) */
		for (unsigned c = 1; c < blk.nchunks; c++)
			if (blk.first[c] == i && hi[c] > lo[c])
				reads = true;
		live[i] = reads || (!sets && live[i + 1]);
	}

	g->entry = entry;
	if (track)
		stale = gen_track_check(g, track, &expect);
	else
		stale = gen_check(g, p, hi[0] - lo[0], copy[0], &ncopy[0]);
	g->checked = g->b.p;
	gen_pick_regs(g, &blk, n, loop_end);
	gen_reload(g, 0xffff);
	g->body = g->b.p;
	/*
	 * The guest flags come in AL/AH (as a loop's jump back to its top
	 * leaves them too), and go into RFLAGS before the first instruction
	 * that needs them there; cpu->jit_flags may be stale (jit_gen.h).
	 */
	g->saved = true;
	g->synced = false;
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
		/*
		 * Its first lookup may fill the TLB without leaving: the
		 * interpreter's first access, which it would walk for first
		 * (REP MOVS's two strings: not sure which)
		 */
		g->refill = e->kind != DC_REP_STR;
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
	jit_gen_exits(g);
	/* a block whose bytes changed: back to jit_run, which retranslates */
	j_patch(stale, g->b.p);
	if (track)
		recheck = gen_recheck(g);
	j_mov_rimm(&g->b, HRSI, rip);
	j_patch(j_riprel(&g->b, 0x48, 0x8d, HRDI), entry);	/* lea */
	j_goto(&g->b, env->stale_out);
	if (track)
		gen_recheck_data(g, recheck, expect, p, snap + 8,
				 nbytes - tail);
	for (unsigned c = 0; c < blk.nchunks && !track; c++)
		if (ncopy[c])
			gen_check_data(g, p + lo[c], snap + 8 + lo[c],
				       hi[c] - lo[c], copy[c], ncopy[c]);
	if (g->bad)
		g->b.full = true;
	*b = g->b;
	return n;
}
