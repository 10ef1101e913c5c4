/* SPDX-License-Identifier: MIT */
/*
 * Lazy arithmetic flags for the decode cache (dcache.c). A cached ADD, OR,
 * AND, SUB, XOR, CMP, TEST, INC or DEC records its operation, operands and
 * result instead of computing CF/PF/AF/ZF/SF/OF; a following Jcc, SETcc or
 * CMOVcc mostly decides from those directly (CMP + Jcc is two compares).
 *
 * The state lives only inside dcache_run: while cpu->lf_op is not LF_NONE
 * the arithmetic bits of cpu->rflags are stale, and every way out of
 * dcache_run (return, or a fault's siglongjmp to cpu_run_batch) calls
 * lf_sync first, which computes them with the same host ALU code the
 * eager path uses (alu_op). So nothing outside the decode cache ever sees
 * lazy state, and the flags it sees are bit for bit those of the eager
 * path.
 */
#ifndef CVISOR_ACCEL_EMU_LFLAGS_H
#define CVISOR_ACCEL_EMU_LFLAGS_H

#include "accel/emu/exec.h"

/* Inlined into dc_exec's cases, whatever the compiler thinks of the size */
#define LF_INLINE static inline __attribute__((always_inline))

/*
 * cpu->lf_op: 1 + the ALU op number (exec_alu.c), INC/DEC, or a shift by a
 * count whose masked value is not 0 (lf_a the operand, lf_b that count).
 * LF_ROT on top of any of them but LF_NONE: a rotate came after it, which
 * set CF and OF (kept in lf_rot) and left the other flags as they were.
 */
enum {
	LF_NONE = 0,
	LF_ADD = 1, LF_OR = 2, LF_AND = 5, LF_SUB = 6, LF_XOR = 7, LF_CMP = 8,
	LF_INC = 9,	/* lf_b holds the CF before the INC/DEC (kept) */
	LF_DEC = 10,
	LF_SHL = 11, LF_SHR = 12, LF_SAR = 13,
	LF_ROT = 0x80,
};

/* The flags of the recorded operation (not LF_NONE, no LF_ROT) into rflags */
static inline void lf_sync_op(struct emu_cpu *cpu, unsigned op)
{
	uint64_t cf;

	switch (op) {
	case LF_INC:
	case LF_DEC:
		cf = cpu->lf_b;
		alu_op(cpu, op == LF_INC ? 0 : 5, cpu->lf_a, 1, cpu->lf_size);
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | cf;
		break;
	case LF_SHL:
	case LF_SHR:
	case LF_SAR:
		/* all six flags, from the operand and the count */
		alu_shift(cpu, op - LF_SHL + 4 + (op == LF_SAR), cpu->lf_a,
			  cpu->lf_b, cpu->lf_size);
		break;
	default:
		alu_op(cpu, op - 1, cpu->lf_a, cpu->lf_b, cpu->lf_size);
		break;
	}
}

/* Compute the recorded flags into cpu->rflags and drop the lazy state. */
static inline void lf_sync(struct emu_cpu *cpu)
{
	unsigned op = cpu->lf_op;

	if (op == LF_NONE)
		return;
	lf_sync_op(cpu, op & ~LF_ROT);
	if (op & LF_ROT)
		cpu->rflags = (cpu->rflags & ~(uint64_t)(FL_CF | FL_OF)) |
			      cpu->lf_rot;
	cpu->lf_op = LF_NONE;
}

/*
 * ALU op (0 ADD .. 7 CMP) on a and b; the flags are left lazy except for
 * ADC and SBB, which need the carry in and are computed at once.
 */
LF_INLINE uint64_t lf_alu(struct emu_cpu *cpu, int op, uint64_t a,
			 uint64_t b, int size)
{
	uint64_t m = size_mask(size), r;

	switch (op) {
	case 0: r = a + b; break;
	case 1: r = a | b; break;
	case 4: r = a & b; break;
	case 6: r = a ^ b; break;
	case 5:
	case 7: r = a - b; break;
	default:
		lf_sync(cpu);
		return alu_op(cpu, op, a, b, size);
	}
	cpu->lf_op = op + 1;
	cpu->lf_size = size;
	cpu->lf_a = a & m;
	cpu->lf_b = b & m;
	cpu->lf_r = r & m;
	return r & m;
}

/* CF as the pending operation leaves it */
LF_INLINE uint64_t lf_carry(struct emu_cpu *cpu)
{
	switch (cpu->lf_op) {
	case LF_NONE:
		return cpu->rflags & FL_CF;
	case LF_SUB:
	case LF_CMP:
		return cpu->lf_a < cpu->lf_b;
	case LF_ADD:
		return cpu->lf_r < cpu->lf_a;
	case LF_INC:
	case LF_DEC:
		return cpu->lf_b;
	case LF_OR:
	case LF_AND:
	case LF_XOR:
		return 0;	/* logic ops clear CF */
	default:
		if (cpu->lf_op & LF_ROT)
			return cpu->lf_rot & FL_CF;
		lf_sync(cpu);	/* a shift */
		return cpu->rflags & FL_CF;
	}
}

/* INC (dec false) or DEC of a; CF stays as it was */
LF_INLINE uint64_t lf_incdec(struct emu_cpu *cpu, uint64_t a, int size,
			    bool dec)
{
	uint64_t m = size_mask(size), cf = lf_carry(cpu);

	cpu->lf_op = dec ? LF_DEC : LF_INC;
	cpu->lf_size = size;
	cpu->lf_a = a & m;
	cpu->lf_b = cf;
	cpu->lf_r = (dec ? a - 1 : a + 1) & m;
	return cpu->lf_r;
}

/*
 * SHL/SAL (op 4, 6), SHR (5) or SAR (7) of a by count, the flags left
 * lazy; alu_shift's result for every count, and its flags on the way out
 * (lf_sync). A count that masks to 0 changes no flag.
 */
LF_INLINE uint64_t lf_shift(struct emu_cpu *cpu, int op, uint64_t a,
			    unsigned count, int size)
{
	unsigned bits = size * 8, cnt = count & (size == 8 ? 63 : 31);
	uint64_t m = size_mask(size), r;

	a &= m;
	if (!cnt)
		return a;
	if (op == 7)
		r = (uint64_t)(sext(a, size) >> (cnt < bits ? cnt : bits - 1)) & m;
	else if (op == 5)
		r = cnt < bits ? a >> cnt : 0;
	else
		r = cnt < bits ? (a << cnt) & m : 0;
	cpu->lf_op = op == 7 ? LF_SAR : op == 5 ? LF_SHR : LF_SHL;
	cpu->lf_size = size;
	cpu->lf_a = a;
	cpu->lf_b = cnt;
	cpu->lf_r = r;
	return r;
}

/*
 * ROL (right false) or ROR of a by count: CF and OF as alu_shift sets
 * them, the other flags untouched, so a pending lazy operation stays
 * pending under LF_ROT. A count that masks to 0 changes no flag.
 */
LF_INLINE uint64_t lf_rotate(struct emu_cpu *cpu, bool right, uint64_t a,
			     unsigned count, int size)
{
	unsigned bits = size * 8, top = bits - 1;
	unsigned cnt = count & (size == 8 ? 63 : 31), c = cnt % bits;
	uint64_t m = size_mask(size), r, f;
	bool cf, of;

	a &= m;
	if (!cnt)
		return a;
	if (!right) {
		r = ((a << c) | (c ? a >> (bits - c) : 0)) & m;
		cf = r & 1;
		of = ((r >> top) & 1) ^ cf;
	} else {
		r = ((a >> c) | (c ? a << (bits - c) : 0)) & m;
		cf = (r >> top) & 1;
		of = cf ^ ((r >> (top - 1)) & 1);
	}
	f = (cf ? FL_CF : 0) | (of ? FL_OF : 0);
	if (cpu->lf_op == LF_NONE) {
		cpu->rflags = (cpu->rflags & ~(uint64_t)(FL_CF | FL_OF)) | f;
	} else {
		cpu->lf_op |= LF_ROT;
		cpu->lf_rot = f;
	}
	return r;
}

/* Condition code cc (low nibble of Jcc/SETcc/CMOVcc), lazy state or not */
LF_INLINE bool lf_cond(struct emu_cpu *cpu, int cc)
{
	unsigned top = cpu->lf_size * 8 - 1;
	uint64_t a = cpu->lf_a, b = cpu->lf_b, r = cpu->lf_r;
	bool v, sub, logic;

	if (cpu->lf_op == LF_NONE)
		return cond_true(cpu, cc);
	sub = cpu->lf_op == LF_SUB || cpu->lf_op == LF_CMP;
	logic = cpu->lf_op == LF_AND || cpu->lf_op == LF_OR ||
		cpu->lf_op == LF_XOR;
	switch (cc >> 1) {
	case 2:		/* ZF, from the result for every lazy op */
		v = !r;
		break;
	case 4:		/* SF */
		v = (r >> top) & 1;
		break;
	case 1:		/* CF */
		if (!sub && !logic)
			goto slow;
		v = sub && a < b;
		break;
	case 3:		/* CF or ZF */
		if (!sub && !logic)
			goto slow;
		v = sub ? a <= b : !r;
		break;
	case 6:		/* SF != OF */
		if (sub)
			v = sext(a, cpu->lf_size) < sext(b, cpu->lf_size);
		else if (logic)
			v = (r >> top) & 1;
		else
			goto slow;
		break;
	case 7:		/* ZF or SF != OF */
		if (sub)
			v = sext(a, cpu->lf_size) <= sext(b, cpu->lf_size);
		else if (logic)
			v = !r || ((r >> top) & 1);
		else
			goto slow;
		break;
	default:
		goto slow;
	}
	return (cc & 1) ? !v : v;
slow:
	lf_sync(cpu);
	return cond_true(cpu, cc);
}

#endif
