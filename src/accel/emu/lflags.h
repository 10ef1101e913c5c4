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

/* cpu->lf_op: 1 + the ALU op number (exec_alu.c), or INC/DEC */
enum {
	LF_NONE = 0,
	LF_ADD = 1, LF_OR = 2, LF_AND = 5, LF_SUB = 6, LF_XOR = 7, LF_CMP = 8,
	LF_INC = 9,	/* lf_b holds the CF before the INC/DEC (kept) */
	LF_DEC = 10,
};

/* Compute the recorded flags into cpu->rflags and drop the lazy state. */
static inline void lf_sync(struct emu_cpu *cpu)
{
	uint64_t cf;

	switch (cpu->lf_op) {
	case LF_NONE:
		return;
	case LF_INC:
	case LF_DEC:
		cf = cpu->lf_b;
		alu_op(cpu, cpu->lf_op == LF_INC ? 0 : 5, cpu->lf_a, 1,
		       cpu->lf_size);
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | cf;
		break;
	default:
		alu_op(cpu, cpu->lf_op - 1, cpu->lf_a, cpu->lf_b, cpu->lf_size);
		break;
	}
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
	default:	/* logic ops clear CF */
		return 0;
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
