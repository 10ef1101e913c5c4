// SPDX-License-Identifier: MIT
/*
 * Decoded-block cache for 64-bit code. The most frequent instruction forms
 * (MOV, LEA, the ALU ops, TEST, PUSH/POP, Jcc/JMP/CALL/RET, MOVZX/MOVSX,
 * CMOVcc, SETcc, BT) are decoded once into entries with their operands
 * spelled out; later executions skip prefix, opcode and ModRM decoding.
 * Runs of such instructions, up to a JMP, CALL or RET (a Jcc leaves only
 * when taken) or an instruction of another form (which the general
 * decoder then runs in place), form a block that is looked up and
 * checked once and then executed entry after entry. Everything else takes
 * the general path in exec.c.
 *
 * Blocks are keyed by the host address of their first byte (so by guest
 * physical address) and carry a copy of their bytes: a hit requires the
 * bytes in memory to still match. Code that is patched or overwritten
 * (alternatives, text_poke, module loading, a new process in the same page
 * frame) thus never runs a stale decode, without tracking writes to code
 * pages. A store into the page being executed, or an MMIO access, ends
 * the block after that instruction (cpu->dc_stop), so code that patches
 * the instructions right after it also sees its own writes.
 *
 * This file runs blocks; dcache_decode.c builds them and picks each
 * entry's handler, dcache_generic.c runs the entries without their own.
 */
#include <string.h>
#include <sys/mman.h>

#include "accel/emu/dcache.h"
#include "accel/emu/lflags.h"

#define DC_CHAIN_MAX	1024	/* instructions per dcache_run at most */

/* The blocks, then the count of spans in which they were checked */
#define DCACHE_BYTES	(DCACHE_BLOCKS * sizeof(struct dc_block) + \
			 sizeof(uint64_t))

#define DC_HUGE		(2UL << 20)
#define DCACHE_MAP	((DCACHE_BYTES + 4095) & ~4095UL)

/*
 * Anonymous memory, zeroed, aligned to a huge page and backed by huge
 * pages where the host gives them: every block lookup lands somewhere in
 * these 2.6 MB, and with 4 KiB pages that costs a host TLB miss as often
 * as a cache miss. Only the whole huge pages are asked for: the rest
 * (0.6 MB) is in 4 KiB pages, as a huge page there would make 2 MiB
 * resident for it and put the emu VMM over its memory budget
 * (bench/emu.sh's vmm row).
 */
struct dc_block *dcache_create(void)
{
	uint8_t *p = mmap(NULL, DCACHE_MAP + DC_HUGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = -(uintptr_t)p & (DC_HUGE - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + DCACHE_MAP, DC_HUGE - head);
	p += head;
	madvise(p, DCACHE_MAP & ~(DC_HUGE - 1), MADV_HUGEPAGE);
	return (struct dc_block *)p;
}

void dcache_destroy(struct dc_block *dc)
{
	if (dc)
		munmap(dc, DCACHE_MAP);
}

/*
 * A span of dcache_run in which a block whose bytes were checked runs
 * again without checking them (see dcache_run). The count lives beside
 * the blocks, so that a CPU reset which keeps them keeps it too.
 */
static inline uint64_t *dc_span(struct dc_block *dc)
{
	return (uint64_t *)(dc + DCACHE_BLOCKS);
}

static inline struct dc_block *dc_slot(struct emu_cpu *cpu,
				       const uint8_t *p)
{
	return &cpu->dcache[((uintptr_t)p ^ ((uintptr_t)p >> 12)) &
			    (DCACHE_BLOCKS - 1)];
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * memcmp(p, copy, n) == 0 for the n (1..DCB_BYTES) bytes of a block, a
 * word at a time: the last word is the one ending at n, overlapping the
 * one before it, so no byte past the block is compared. Below 8 bytes the
 * word at p is masked when it is in p's page (the next page may not be
 * there), and copy is DCB_BYTES long.
 */
static inline bool dc_same_bytes(const uint8_t *p, const uint8_t *copy,
				 unsigned n)
{
	uint64_t diff = 0;
	unsigned i;

	if (n < 8) {
		if (((uintptr_t)p & 0xfff) > 4096 - 8) {
			for (i = 0; i < n; i++)
				diff |= p[i] ^ copy[i];
			return !diff;
		}
		return !((load64(p) ^ load64(copy)) & ((1ULL << (8 * n)) - 1));
	}
	for (i = 0; i + 8 < n; i += 8)
		diff |= load64(p + i) ^ load64(copy + i);
	return !(diff | (load64(p + n - 8) ^ load64(copy + n - 8)));
}

const struct dc_block *dcache_get(struct emu_cpu *cpu, const uint8_t *p,
				  const uint8_t *end)
{
	struct dc_block *b;

	if (!cpu->dcache)
		return NULL;
	b = dc_slot(cpu, p);
	if (b->key != p || !dc_same_bytes(p, b->bytes, b->nbytes)) {
		dc_build(b, p, end);
		b->seen = ~0ULL;	/* (checked again when it runs) */
	}
	return b;
}

/*
 * tlb_fetch_page, and the interpreter's end of the window with it;
 * false when run_loop has to move it (fetch_slow).
 */
static inline bool dc_fetch_page(struct emu_cpu *cpu, uint64_t lin)
{
	const uint8_t *page = tlb_fetch_page(cpu, lin);

	if (!page)
		return false;
	cpu->ip_end = page + 4096;
	return true;
}

/*
 * Where the block that ran leaves RIP: the next block's first byte when it
 * is in the fetch page (or in one the TLB has, which becomes the fetch
 * page) and no interrupt may be waiting (run_loop
 * takes those between calls), else NULL. With IF clear
 * only NMI and INIT/SIPI could be, and run_loop looks for them after each
 * call, which is at most DC_CHAIN_MAX instructions.
 */
static inline const uint8_t *dc_next(struct emu_cpu *cpu)
{
	uint64_t lin = cpu->rip;	/* 64-bit code: no CS base */

	if (lin >> 12 != cpu->fetch_vpn && !dc_fetch_page(cpu, lin))
		return NULL;
	if ((cpu->rflags & FL_IF) && cpu->apic_ops && cpu_irq_maybe(cpu) &&
	    cpu->apic_ops->maybe_pending(cpu->apic))
		return NULL;
	return cpu->fetch_hva + (lin & 0xfff);
}

/*
 * The handlers of dcache_run, one label each, reached by computed goto from
 * the end of the previous one (so each has its own indirect branch for the
 * host to predict). Inside a block, rip (the current instruction's address)
 * and e live in locals; cpu->rip, insn_rip and insn_rsp are written only
 * before something can fault or look at them: a memory access (M_BEGIN),
 * a generic entry, the end of the block.
 */
#define G(r)		cpu->gpr[r]
#define RD(off)		(*(const uint64_t *)((const char *)cpu + (off)))
#define NEXT_RIP	(rip + e->len)
/* The offset of e's memory operand: base + index + RIP-relative + disp */
#define EA		((uint64_t)(int64_t)e->disp + RD(e->boff) + \
			 (RD(e->ioff) << e->scale) + \
			 (NEXT_RIP & -(uint64_t)e->riprel))
/* Its linear address: plus the FS or GS base of a segment override */
#define ADDR		(EA + RD(e->soff))
#define M_BEGIN		(cpu->rip = NEXT_RIP, cpu->insn_rip = rip, \
			 cpu->insn_rsp = G(R_SP), cpu->stack_ref = e->stack)
#define DISPATCH	goto *labels[e->h]
#define NEXT		do { rip += e->len; if (++i == n) goto block_done; \
			     e++; DISPATCH; } while (0)
/* After a memory access: an MMIO access or a store into the code page */
#define NEXT_M		do { rip += e->len; \
			     if (++i == n || cpu->dc_stop) goto block_done; \
			     e++; DISPATCH; } while (0)
#define BRANCH(t)	do { rip = (t); i++; goto block_done; } while (0)
/*
 * A branch to a non-canonical target: the general decoder runs it again
 * and raises the #GP at it, with nothing changed (branch_check)
 */
#define NONCANON(t)	(!x86_canonical(t))

#define ALU(op, a, b)	((op) == 0 ? (a) + (b) : (op) == 1 ? (a) | (b) : \
			 (op) == 4 ? (a) & (b) : (op) == 6 ? (a) ^ (b) : \
			 (a) - (b))
#define LF_SET(op, sz, a, b, r) (cpu->lf_op = (op) + 1, cpu->lf_size = (sz), \
				 cpu->lf_a = (a), cpu->lf_b = (b), \
				 cpu->lf_r = (r))
/* Register d's low sz bytes become v; 32-bit writes zero the rest */
#define SET_D(sz, v)	(G(e->d) = (sz) >= 4 ? (v) : \
			 (G(e->d) & ~size_mask(sz)) | (v))
/* d op= b on a = d's value, all masked to sz; CMP writes nothing */
#define ALU_TO_D(op, sz, a, b) do { \
	uint64_t r_ = ALU(op, a, b) & size_mask(sz); \
	LF_SET(op, sz, a, b, r_); \
	if ((op) != 7) \
		SET_D(sz, r_); \
} while (0)

#define FOR_OPS(X, F, sz) X(F, 0, sz) X(F, 1, sz) X(F, 4, sz) X(F, 5, sz) \
	X(F, 6, sz) X(F, 7, sz)
#define FOR_ALU(X, F) FOR_OPS(X, F, 1) FOR_OPS(X, F, 2) FOR_OPS(X, F, 4) \
	FOR_OPS(X, F, 8)
#define ALU_LABEL(F, op, sz) [H_##F + DC_ALU_SLOT(op, sz)] = &&F##_##op##_##sz,
/* The same for the families with one handler per size */
#define FOR_SIZES(X, F)	X(F, 1) X(F, 2) X(F, 4) X(F, 8)
#define SIZE_LABEL(F, sz) [H_##F + DC_SIZE_SLOT(sz)] = &&F##_##sz,

#define ALU_RR(F, op, sz) F##_##op##_##sz: { \
	uint64_t a = G(e->d) & size_mask(sz), b = G(e->s) & size_mask(sz); \
	ALU_TO_D(op, sz, a, b); \
	NEXT; }
#define ALU_RI(F, op, sz) F##_##op##_##sz: { \
	uint64_t a = G(e->d) & size_mask(sz), b = e->imm & size_mask(sz); \
	ALU_TO_D(op, sz, a, b); \
	NEXT; }
#define ALU_RM(F, op, sz) F##_##op##_##sz: { \
	uint64_t a, b; \
	M_BEGIN; \
	b = mem_read(cpu, ADDR, sz); \
	a = G(e->d) & size_mask(sz); \
	ALU_TO_D(op, sz, a, b); \
	NEXT_M; }

/*
 * [mem] op= b (ADD, OR, AND, SUB or XOR, from e->op: one handler per size
 * keeps dcache_run's size down): the store before the flags, so that a
 * fault on it leaves them as they were
 */
#define ALU_M(F, sz, src) F##_##sz: { \
	uint64_t a_, b_ = (src) & size_mask(sz), r_; \
	M_BEGIN; \
	a_ = mem_read(cpu, ADDR, sz); \
	r_ = ALU(e->op, a_, b_) & size_mask(sz); \
	mem_write(cpu, ADDR, r_, sz); \
	LF_SET(e->op, sz, a_, b_, r_); \
	NEXT_M; }
#define ALU_MR(F, sz)	ALU_M(F, sz, G(e->s))
#define ALU_MI(F, sz)	ALU_M(F, sz, e->imm)

#define CMP_MR(F, sz) F##_##sz: { \
	uint64_t a, b = G(e->s) & size_mask(sz); \
	M_BEGIN; \
	a = mem_read(cpu, ADDR, sz); \
	LF_SET(7, sz, a, b, (a - b) & size_mask(sz)); \
	NEXT_M; }
#define CMP_MI(F, sz) F##_##sz: { \
	uint64_t a, b = e->imm & size_mask(sz); \
	M_BEGIN; \
	a = mem_read(cpu, ADDR, sz); \
	LF_SET(7, sz, a, b, (a - b) & size_mask(sz)); \
	NEXT_M; }
#define TEST_RR(F, sz) F##_##sz: { \
	uint64_t a = G(e->d) & size_mask(sz), b = G(e->s) & size_mask(sz); \
	LF_SET(4, sz, a, b, a & b); \
	NEXT; }
#define TEST_RI(F, sz) F##_##sz: { \
	uint64_t a = G(e->d) & size_mask(sz), b = e->imm & size_mask(sz); \
	LF_SET(4, sz, a, b, a & b); \
	NEXT; }

#define FOR_CC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) \
	X(10) X(11) X(12) X(13) X(14) X(15)
#define JCC_LABEL(cc)	[H_JCC + (cc)] = &&JCC_##cc,
/* A Jcc that is not taken goes on in its block (a side exit) */
#define JCC(cc) JCC_##cc: \
	if (lf_cond(cpu, cc)) { \
		if (NONCANON(NEXT_RIP + e->imm)) \
			goto INTERP; \
		BRANCH(NEXT_RIP + e->imm); \
	} \
	NEXT;

/*
 * Shifts and rotates of a register, one handler per operation and size:
 * SHL, SHR and SAR leave their flags lazy, ROL and ROR set CF and OF over
 * a pending lazy operation (lflags.h); RCL and RCR need the carry in.
 */
#define SHIFT_OPS(X, sz) X(0, sz) X(1, sz) X(2, sz) X(3, sz) X(4, sz) \
	X(5, sz) X(6, sz) X(7, sz)
#define FOR_SHIFT(X)	SHIFT_OPS(X, 1) SHIFT_OPS(X, 2) SHIFT_OPS(X, 4) \
	SHIFT_OPS(X, 8)
#define SHIFT_LABEL(op, sz) \
	[H_SHIFT_R + DC_SHIFT_SLOT(op, sz)] = &&SHIFT_##op##_##sz,
#define SHIFT_COUNT	(e->imm == DC_COUNT_CL ? (unsigned)G(R_CX) & 0xff : \
			 (unsigned)e->imm)
#define SHIFT(op, sz) SHIFT_##op##_##sz: { \
	uint64_t a_ = G(e->d); \
	unsigned c_ = SHIFT_COUNT; \
	if ((op) < 2) { \
		v = lf_rotate(cpu, (op) == 1, a_, c_, sz); \
	} else if ((op) < 4) { \
		lf_sync(cpu); \
		v = alu_shift(cpu, op, a_, c_, sz); \
	} else { \
		v = lf_shift(cpu, op, a_, c_, sz); \
	} \
	SET_D(sz, v); \
	NEXT; }
/* NOT changes no flag; NEG's are those of SUB 0, d */
#define NOT_R(F, sz) F##_##sz: \
	SET_D(sz, ~G(e->d) & size_mask(sz)); \
	NEXT;
#define NEG_R(F, sz) F##_##sz: { \
	uint64_t a_ = G(e->d) & size_mask(sz), r_ = -a_ & size_mask(sz); \
	LF_SET(5, sz, 0, a_, r_); \
	SET_D(sz, r_); \
	NEXT; }

/*
 * IMUL's low half of a * b at 32 or 64 bits, with its flags as alu_imul
 * sets them (CF and OF on a signed overflow, SF, ZF and PF from the
 * result) over synced ones, since it keeps AF as it was.
 */
static inline __attribute__((always_inline)) uint64_t
dc_imul(struct emu_cpu *cpu, uint64_t a, uint64_t b, int size)
{
	uint64_t r, f;
	bool ov;

	lf_sync(cpu);
	if (size == 4) {
		int64_t p = (int64_t)(int32_t)a * (int32_t)b;

		r = (uint32_t)p;
		ov = p != (int32_t)p;
	} else {
		int64_t p;

		ov = __builtin_mul_overflow((int64_t)a, (int64_t)b, &p);
		r = p;
	}
	f = cpu->rflags & ~(uint64_t)(FL_CF | FL_OF | FL_SF | FL_ZF | FL_PF);
	if (ov)
		f |= FL_CF | FL_OF;
	if (!r)
		f |= FL_ZF;
	if (r >> (size * 8 - 1))
		f |= FL_SF;
	if (!__builtin_parity(r & 0xff))
		f |= FL_PF;
	cpu->rflags = f;
	return r;
}
#define IMUL(name, sz, a, b) name##_##sz: \
	v = dc_imul(cpu, a, b, sz); \
	G(e->d) = v; \
	NEXT;
#define IMUL_M(name, sz, b) name##_##sz: \
	M_BEGIN; \
	v = mem_read(cpu, ADDR, sz); \
	v = dc_imul(cpu, v, b, sz); \
	G(e->d) = v; \
	NEXT_M;
/* CMOVcc's destination is written (zero-extended at 32 bits) either way */
#define CMOV(name, sz, src) name##_##sz: \
	v = src; \
	if (!lf_cond(cpu, e->op)) \
		v = G(e->d); \
	G(e->d) = (sz) == 4 ? (uint32_t)v : v; \
	NEXT_M;

/*
 * Runs blocks back to back while the next one's page is at hand (dc_next),
 * up to DC_CHAIN_MAX instructions, so that run_loop's checks (interrupts,
 * the stop flag) still come often.
 */
unsigned dcache_run(struct emu_cpu *cpu, long max)
{
	static const void *const labels[H_COUNT] = {
		[H_GENERIC] = &&GENERIC,
		FOR_ALU(ALU_LABEL, ALU_RR)
		FOR_ALU(ALU_LABEL, ALU_RI)
		FOR_ALU(ALU_LABEL, ALU_RM)
		FOR_SIZES(SIZE_LABEL, CMP_MR)
		FOR_SIZES(SIZE_LABEL, CMP_MI)
		FOR_SIZES(SIZE_LABEL, TEST_RR)
		FOR_SIZES(SIZE_LABEL, TEST_RI)
		[H_MOV_RR] = &&MOV_RR_4, [H_MOV_RR + 1] = &&MOV_RR_8,
		[H_MOV_RI] = &&MOV_RI,
		[H_LOAD] = &&LOAD_1, [H_LOAD + 1] = &&LOAD_2,
		[H_LOAD + 2] = &&LOAD_4, [H_LOAD + 3] = &&LOAD_8,
		[H_STORE] = &&STORE_1, [H_STORE + 1] = &&STORE_2,
		[H_STORE + 2] = &&STORE_4, [H_STORE + 3] = &&STORE_8,
		[H_STORE_IMM] = &&STORE_IMM_1, [H_STORE_IMM + 1] = &&STORE_IMM_2,
		[H_STORE_IMM + 2] = &&STORE_IMM_4,
		[H_STORE_IMM + 3] = &&STORE_IMM_8,
		[H_LEA] = &&LEA_4, [H_LEA + 1] = &&LEA_8,
		[H_MOVZX_M] = &&MOVZX_M_1, [H_MOVZX_M + 1] = &&MOVZX_M_2,
		[H_MOVZX_R] = &&MOVZX_R_1, [H_MOVZX_R + 1] = &&MOVZX_R_2,
		[H_MOVSX_M] = &&MOVSX_M_1_4, [H_MOVSX_M + 1] = &&MOVSX_M_2_4,
		[H_MOVSX_M + 2] = &&MOVSX_M_1_8, [H_MOVSX_M + 3] = &&MOVSX_M_2_8,
		[H_MOVSX_R] = &&MOVSX_R_1_4, [H_MOVSX_R + 1] = &&MOVSX_R_2_4,
		[H_MOVSX_R + 2] = &&MOVSX_R_1_8, [H_MOVSX_R + 3] = &&MOVSX_R_2_8,
		[H_MOVSXD_M] = &&MOVSXD_M, [H_MOVSXD_R] = &&MOVSXD_R,
		[H_INC] = &&INC_4, [H_INC + 1] = &&INC_8,
		[H_INC + 2] = &&DEC_4, [H_INC + 3] = &&DEC_8,
		[H_PUSH] = &&PUSH, [H_POP] = &&POP, [H_CALL] = &&CALL,
		[H_RET] = &&RET, [H_JMP] = &&JMP,
		FOR_CC(JCC_LABEL)
		FOR_SHIFT(SHIFT_LABEL)
		FOR_SIZES(SIZE_LABEL, NOT_R)
		FOR_SIZES(SIZE_LABEL, NEG_R)
		[H_BSWAP] = &&BSWAP_4, [H_BSWAP + 1] = &&BSWAP_8,
		[H_XMM_RR] = &&XMM_RR,
		[H_XMM_LD] = &&XMM_LD, [H_XMM_LD + 1] = &&XMM_LDA,
		[H_XMM_ST] = &&XMM_ST, [H_XMM_ST + 1] = &&XMM_STA,
		[H_PXOR_RR] = &&PXOR_RR,
		[H_NOP] = &&NOP,
		[H_INTERP] = &&INTERP,
		[H_DECODE] = &&INTERP,
		[H_JMP_RM] = &&JMP_R, [H_JMP_RM + 1] = &&JMP_M,
		[H_CALL_RM] = &&CALL_R, [H_CALL_RM + 1] = &&CALL_M,
		[H_BT_R] = &&BT_R_4, [H_BT_R + 1] = &&BT_R_8,
		[H_BT_M] = &&BT_M_4, [H_BT_M + 1] = &&BT_M_8,
		FOR_SIZES(SIZE_LABEL, ALU_MR)
		FOR_SIZES(SIZE_LABEL, ALU_MI)
		[H_IMUL_R] = &&IMUL_R_4, [H_IMUL_R + 1] = &&IMUL_R_8,
		[H_IMUL_M] = &&IMUL_M_4, [H_IMUL_M + 1] = &&IMUL_M_8,
		[H_IMUL_RI] = &&IMUL_RI_4, [H_IMUL_RI + 1] = &&IMUL_RI_8,
		[H_IMUL_MI] = &&IMUL_MI_4, [H_IMUL_MI + 1] = &&IMUL_MI_8,
		[H_CMOV_R] = &&CMOV_R_4, [H_CMOV_R + 1] = &&CMOV_R_8,
		[H_CMOV_M] = &&CMOV_M_4, [H_CMOV_M + 1] = &&CMOV_M_8,
		[H_SETCC_R] = &&SETCC_R, [H_SETCC_M] = &&SETCC_M,
	};
	const uint8_t *p = cpu->ip, *seen_page = cpu->fetch_hva;
	const struct dc_entry *e;
	struct dc_block *b;
	unsigned n, i, done = 0;
	uint64_t rip = cpu->rip, v, *spans, span;

	if (!cpu->dcache)
		return 0;
	if (max > DC_CHAIN_MAX)
		max = DC_CHAIN_MAX;
	cpu->dc_stop = false;
	spans = dc_span(cpu->dcache);
	span = ++*spans;
next_block:
	/*
	 * A block whose bytes this run has checked, in the code page it is
	 * in, runs again without checking them: until the run leaves that
	 * page, this CPU's stores into the page end it (dc_stop), and another
	 * CPU's or a device's need not be seen before this one serializes
	 * (SDM vol. 3A 8.1.3, cross-modifying code), which a block of cached
	 * forms never does; after an instruction of another form (H_INTERP)
	 * every block is checked again. Each such span has a new number
	 * (dc_span), and a block records the one it was checked in.
	 */
	b = dc_slot(cpu, p);
	if (b->key != p || b->seen != span) {
		if (b->key != p || !dc_same_bytes(p, b->bytes, b->nbytes))
			dc_build(b, p, cpu->ip_end);
		b->seen = span;
	}
	if (!b->n)
		goto out;
	n = b->n < max - done ? b->n : max - done;
	i = 0;
	e = b->e;
	DISPATCH;

GENERIC:
	cpu->insn_rip = rip;
	cpu->insn_rsp = G(R_SP);
	cpu->stack_ref = e->stack;
	dc_exec_generic(cpu, e);
	rip = cpu->rip;
	if (++i == n || cpu->dc_stop)
		goto block_done;
	e++;
	DISPATCH;

	FOR_ALU(ALU_RR, ALU_RR)
	FOR_ALU(ALU_RI, ALU_RI)
	FOR_ALU(ALU_RM, ALU_RM)

	FOR_SIZES(CMP_MR, CMP_MR)
	FOR_SIZES(CMP_MI, CMP_MI)
	FOR_SIZES(TEST_RR, TEST_RR)
	FOR_SIZES(TEST_RI, TEST_RI)
MOV_RR_4:
	G(e->d) = (uint32_t)G(e->s);
	NEXT;
MOV_RR_8:
	G(e->d) = G(e->s);
	NEXT;
MOV_RI:
	G(e->d) = e->imm;
	NEXT;
LOAD_1:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 1);
	G(e->d) = (G(e->d) & ~0xffULL) | v;
	NEXT_M;
LOAD_2:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 2);
	G(e->d) = (G(e->d) & ~0xffffULL) | v;
	NEXT_M;
LOAD_4:
	M_BEGIN;
	G(e->d) = mem_read(cpu, ADDR, 4);
	NEXT_M;
LOAD_8:
	M_BEGIN;
	G(e->d) = mem_read(cpu, ADDR, 8);
	NEXT_M;
STORE_1:
	M_BEGIN;
	mem_write(cpu, ADDR, G(e->s), 1);
	NEXT_M;
STORE_2:
	M_BEGIN;
	mem_write(cpu, ADDR, G(e->s), 2);
	NEXT_M;
STORE_4:
	M_BEGIN;
	mem_write(cpu, ADDR, G(e->s), 4);
	NEXT_M;
STORE_8:
	M_BEGIN;
	mem_write(cpu, ADDR, G(e->s), 8);
	NEXT_M;
STORE_IMM_1:
	M_BEGIN;
	mem_write(cpu, ADDR, e->imm, 1);
	NEXT_M;
STORE_IMM_2:
	M_BEGIN;
	mem_write(cpu, ADDR, e->imm, 2);
	NEXT_M;
STORE_IMM_4:
	M_BEGIN;
	mem_write(cpu, ADDR, e->imm, 4);
	NEXT_M;
STORE_IMM_8:
	M_BEGIN;
	mem_write(cpu, ADDR, e->imm, 8);
	NEXT_M;
LEA_4:
	G(e->d) = (uint32_t)EA;
	NEXT;
LEA_8:
	G(e->d) = EA;
	NEXT;
MOVZX_M_1:
	M_BEGIN;
	G(e->d) = mem_read(cpu, ADDR, 1);
	NEXT_M;
MOVZX_M_2:
	M_BEGIN;
	G(e->d) = mem_read(cpu, ADDR, 2);
	NEXT_M;
MOVZX_R_1:
	G(e->d) = G(e->s) & 0xff;
	NEXT;
MOVZX_R_2:
	G(e->d) = G(e->s) & 0xffff;
	NEXT;
MOVSX_M_1_4:
	M_BEGIN;
	G(e->d) = (uint32_t)(int8_t)mem_read(cpu, ADDR, 1);
	NEXT_M;
MOVSX_M_2_4:
	M_BEGIN;
	G(e->d) = (uint32_t)(int16_t)mem_read(cpu, ADDR, 2);
	NEXT_M;
MOVSX_M_1_8:
	M_BEGIN;
	G(e->d) = (uint64_t)(int8_t)mem_read(cpu, ADDR, 1);
	NEXT_M;
MOVSX_M_2_8:
	M_BEGIN;
	G(e->d) = (uint64_t)(int16_t)mem_read(cpu, ADDR, 2);
	NEXT_M;
MOVSX_R_1_4:
	G(e->d) = (uint32_t)(int8_t)G(e->s);
	NEXT;
MOVSX_R_2_4:
	G(e->d) = (uint32_t)(int16_t)G(e->s);
	NEXT;
MOVSX_R_1_8:
	G(e->d) = (uint64_t)(int8_t)G(e->s);
	NEXT;
MOVSX_R_2_8:
	G(e->d) = (uint64_t)(int16_t)G(e->s);
	NEXT;
MOVSXD_M:
	M_BEGIN;
	G(e->d) = (uint64_t)(int32_t)mem_read(cpu, ADDR, 4);
	NEXT_M;
MOVSXD_R:
	G(e->d) = (uint64_t)(int32_t)G(e->s);
	NEXT;
INC_4:
	G(e->d) = lf_incdec(cpu, G(e->d), 4, false);
	NEXT;
INC_8:
	G(e->d) = lf_incdec(cpu, G(e->d), 8, false);
	NEXT;
DEC_4:
	G(e->d) = lf_incdec(cpu, G(e->d), 4, true);
	NEXT;
DEC_8:
	G(e->d) = lf_incdec(cpu, G(e->d), 8, true);
	NEXT;
PUSH:
	M_BEGIN;
	v = G(e->s);
	mem_write_stack(cpu, G(R_SP) - 8, v, 8);
	G(R_SP) -= 8;
	NEXT_M;
POP:
	M_BEGIN;
	v = mem_read_stack(cpu, G(R_SP), 8);
	G(R_SP) += 8;
	G(e->d) = v;
	NEXT_M;
CALL:
	if (NONCANON(NEXT_RIP + e->imm))
		goto INTERP;
	M_BEGIN;
	mem_write_stack(cpu, G(R_SP) - 8, NEXT_RIP, 8);
	G(R_SP) -= 8;
	BRANCH(NEXT_RIP + e->imm);
RET:
	M_BEGIN;
	v = mem_read_stack(cpu, G(R_SP), 8);
	if (NONCANON(v))
		goto INTERP;
	G(R_SP) += 8;
	BRANCH(v);
JMP:
	if (NONCANON(NEXT_RIP + e->imm))
		goto INTERP;
	BRANCH(NEXT_RIP + e->imm);
	FOR_CC(JCC)
	FOR_SHIFT(SHIFT)
	FOR_SIZES(NOT_R, NOT_R)
	FOR_SIZES(NEG_R, NEG_R)
BSWAP_4:
	G(e->d) = __builtin_bswap32((uint32_t)G(e->d));
	NEXT;
BSWAP_8:
	G(e->d) = __builtin_bswap64(G(e->d));
	NEXT;
XMM_RR:
	/* the general decoder raises SSE's #UD or #NM */
	if (sse_unusable(cpu))
		goto INTERP;
	cpu->xmm[e->d] = cpu->xmm[e->s];
	NEXT;
XMM_LDA:
	/* a misaligned address: the general decoder raises the #GP */
	if (ADDR & 15)
		goto INTERP;
	/* fall through */
XMM_LD: {
	union xmm x;

	if (sse_unusable(cpu))
		goto INTERP;
	M_BEGIN;
	mem_read_buf(cpu, ADDR, &x, 16);
	cpu->xmm[e->s] = x;
	NEXT_M; }
XMM_STA:
	if (ADDR & 15)
		goto INTERP;
	/* fall through */
XMM_ST:
	if (sse_unusable(cpu))
		goto INTERP;
	M_BEGIN;
	mem_write_buf(cpu, ADDR, &cpu->xmm[e->s], 16);
	NEXT_M;
PXOR_RR:
	if (sse_unusable(cpu))
		goto INTERP;
	cpu->xmm[e->d].q[0] ^= cpu->xmm[e->s].q[0];
	cpu->xmm[e->d].q[1] ^= cpu->xmm[e->s].q[1];
	NEXT;
NOP:
	NEXT;
JMP_R:
	if (NONCANON(G(e->s)))
		goto INTERP;
	BRANCH(G(e->s));
JMP_M:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 8);
	if (NONCANON(v))
		goto INTERP;
	BRANCH(v);
CALL_R:
	v = G(e->s);
	if (NONCANON(v))
		goto INTERP;
	M_BEGIN;
	mem_write_stack(cpu, G(R_SP) - 8, NEXT_RIP, 8);
	G(R_SP) -= 8;
	BRANCH(v);
CALL_M:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 8);
	if (NONCANON(v))
		goto INTERP;
	mem_write_stack(cpu, G(R_SP) - 8, NEXT_RIP, 8);
	G(R_SP) -= 8;
	BRANCH(v);
BT_R_4:
	v = G(e->d) >> (e->imm & 31);
	goto bt_cf;
BT_R_8:
	v = G(e->d) >> (e->imm & 63);
	goto bt_cf;
BT_M_4:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 4) >> (e->imm & 31);
	goto bt_cf;
BT_M_8:
	M_BEGIN;
	v = mem_read(cpu, ADDR, 8) >> (e->imm & 63);
bt_cf:
	/* BT sets CF alone: the others must be there to keep */
	lf_sync(cpu);
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | (v & 1);
	NEXT_M;
	FOR_SIZES(ALU_MR, ALU_MR)
	FOR_SIZES(ALU_MI, ALU_MI)
	IMUL(IMUL_R, 4, G(e->d), G(e->s))
	IMUL(IMUL_R, 8, G(e->d), G(e->s))
	IMUL_M(IMUL_M, 4, G(e->d))
	IMUL_M(IMUL_M, 8, G(e->d))
	IMUL(IMUL_RI, 4, G(e->s), e->imm)
	IMUL(IMUL_RI, 8, G(e->s), e->imm)
	IMUL_M(IMUL_MI, 4, e->imm)
	IMUL_M(IMUL_MI, 8, e->imm)
	CMOV(CMOV_R, 4, G(e->s))
	CMOV(CMOV_R, 8, G(e->s))
	CMOV(CMOV_M, 4, (M_BEGIN, mem_read(cpu, ADDR, 4)))
	CMOV(CMOV_M, 8, (M_BEGIN, mem_read(cpu, ADDR, 8)))
SETCC_R:
	G(e->d) = (G(e->d) & ~0xffULL) | lf_cond(cpu, e->op);
	NEXT;
SETCC_M:
	M_BEGIN;
	mem_write(cpu, ADDR, lf_cond(cpu, e->op), 1);
	NEXT_M;
INTERP:
	/* the general decoder sees eager flags and its own bytes */
	lf_sync(cpu);
	cpu->rip = cpu->insn_rip = rip;
	cpu->insn_rsp = G(R_SP);
	cpu->ip = cpu->fetch_hva + (rip & 0xfff);
	exec_insn_decode(cpu);
	rip = cpu->rip;
	i++;
	/*
	 * Back to run_loop for what it has to see first: a HLT, an STI's
	 * interrupt shadow, a switch out of 64-bit code, a latched NMI that
	 * an IRET may just have unblocked.
	 */
	if (cpu->halted || cpu->shadow || !cpu->code64 || cpu->nmi_pending) {
		done += i;
		goto out;
	}
	span = ++*spans;	/* it may have been a serializing instruction */
	goto block_done;

block_done:
	done += i;
	cpu->rip = rip;
	if (done >= max || cpu->dc_stop || !(p = dc_next(cpu)))
		goto out;
	if (cpu->fetch_hva != seen_page) {
		seen_page = cpu->fetch_hva;
		span = ++*spans;
	}
	cpu->ip = p;
	goto next_block;
out:
	cpu->rip = rip;
	lf_sync(cpu);
	return done;
}
