// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 floating point, each operation as the host's own instruction
 * of the same width in the guest's rounding mode, all exceptions masked
 * (sse_mxcsr.c around it takes the MXCSR status flags they set):
 * scalar and packed add/sub/mul/div/min/max/sqrt, conversions to and
 * from integers, and (U)COMISS/SD. The asm statements are volatile so
 * that none is moved out from between sse_fp_begin and sse_fp_end or
 * computed for an operation not asked for.
 */
#include <math.h>
#include <string.h>

#include "accel/emu/exec.h"

#define MXCSR_OE	0x08u
#define MXCSR_UE	0x10u
#define MXCSR_PE	0x20u

void exec_sse_float(struct emu_cpu *cpu, struct insn *in, uint8_t op);

static double arith_d(uint8_t op, double a, double b)
{
	switch (op) {
	case 0x51: __asm__ volatile("sqrtsd %1, %0" : "=x"(a) : "x"(b)); break;
	case 0x58: __asm__ volatile("addsd %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x59: __asm__ volatile("mulsd %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5c: __asm__ volatile("subsd %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5d: __asm__ volatile("minsd %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5e: __asm__ volatile("divsd %1, %0" : "+x"(a) : "x"(b)); break;
	default: __asm__ volatile("maxsd %1, %0" : "+x"(a) : "x"(b)); break;
	}
	return a;
}

static float arith_s(uint8_t op, float a, float b)
{
	switch (op) {
	case 0x51: __asm__ volatile("sqrtss %1, %0" : "=x"(a) : "x"(b)); break;
	case 0x58: __asm__ volatile("addss %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x59: __asm__ volatile("mulss %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5c: __asm__ volatile("subss %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5d: __asm__ volatile("minss %1, %0" : "+x"(a) : "x"(b)); break;
	case 0x5e: __asm__ volatile("divss %1, %0" : "+x"(a) : "x"(b)); break;
	default: __asm__ volatile("maxss %1, %0" : "+x"(a) : "x"(b)); break;
	}
	return a;
}

/*
 * With overflow or underflow unmasked, PE says whether the result
 * rounded to the destination's precision with an unbounded exponent is
 * inexact (SDM vol. 1, 11.5.2.4 and 11.5.3.2), which the masked result
 * (an infinity, a denormal) does not show: op (58 add, 59 mul, 5C sub,
 * 5E div, 5A double to single) again on operands scaled exactly by
 * powers of two into range. A sum that underflows is exact.
 */
static bool inexact_unbounded(uint8_t op, bool dbl, double a, double b,
			      bool over)
{
	int e;

	if (op == 0x58 || op == 0x5c) {
		if (!over)
			return false;
		a = ldexp(a, -2);	/* an overflowing sum is below 2^1025 */
		b = ldexp(b, -2);
	} else {
		a = frexp(a, &e);	/* significands alike, in [0.5, 1) */
		b = frexp(b, &e);
	}
	sse_host_flags_take();
	if (op == 0x5a) {
		float f;

		__asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(a));
	} else if (dbl) {
		arith_d(op, a, b);
	} else {
		arith_s(op, (float)a, (float)b);
	}
	return sse_host_flags_take() & MXCSR_PE;
}

void sse_fp_lane_pe(const struct emu_cpu *cpu, uint32_t acc, uint8_t op,
		    bool dbl, double a, double b)
{
	uint32_t f = sse_host_flags_take();
	uint32_t unmasked = ~(cpu->mxcsr >> 7) & 0x3f;

	if (f & unmasked & (MXCSR_OE | MXCSR_UE)) {
		f &= ~MXCSR_PE;
		if (inexact_unbounded(op, dbl, a, b, f & MXCSR_OE))
			f |= MXCSR_PE;
	}
	sse_host_flags_or(acc | f);
}

bool sse_fp_ou_unmasked(const struct emu_cpu *cpu)
{
	return (cpu->mxcsr & 0xc00) != 0xc00;
}

/*
 * CVT(T)SD2SI / CVT(T)SS2SI of the low bits of v: the host's own
 * conversion, with its "integer indefinite" for NaN and out-of-range
 * inputs and its flags (a single's is not widened first: that would
 * signal a denormal operand).
 */
static int64_t to_int(uint64_t v, bool dbl, int size, bool truncate)
{
	double d;
	float f;
	int64_t q;
	int32_t w;

	memcpy(&d, &v, 8);
	memcpy(&f, &v, 4);
	switch ((dbl ? 4 : 0) | (size == 8 ? 2 : 0) | truncate) {
	case 0: __asm__ volatile("cvtss2si %1, %0" : "=r"(w) : "x"(f)); break;
	case 1: __asm__ volatile("cvttss2si %1, %0" : "=r"(w) : "x"(f)); break;
	case 2: __asm__ volatile("cvtss2si %1, %0" : "=r"(q) : "x"(f)); return q;
	case 3: __asm__ volatile("cvttss2si %1, %0" : "=r"(q) : "x"(f)); return q;
	case 4: __asm__ volatile("cvtsd2si %1, %0" : "=r"(w) : "x"(d)); break;
	case 5: __asm__ volatile("cvttsd2si %1, %0" : "=r"(w) : "x"(d)); break;
	case 6: __asm__ volatile("cvtsd2si %1, %0" : "=r"(q) : "x"(d)); return q;
	default: __asm__ volatile("cvttsd2si %1, %0" : "=r"(q) : "x"(d)); return q;
	}
	return w;
}

/* (U)COMISS/SD of a with b: ZF, PF and CF as the host's sets them */
static uint64_t comis(bool dbl, bool quiet, uint64_t a, uint64_t b)
{
	uint8_t z, p, c;
	double da, db;
	float fa, fb;

	memcpy(&da, &a, 8);
	memcpy(&db, &b, 8);
	memcpy(&fa, &a, 4);
	memcpy(&fb, &b, 4);
#define COMIS(insn, x, y)						\
	__asm__ volatile(insn " %4, %3; setz %0; setp %1; setc %2"	\
			 : "=q"(z), "=q"(p), "=q"(c) : "x"(x), "x"(y) : "cc")
	if (dbl && quiet)
		COMIS("ucomisd", da, db);
	else if (dbl)
		COMIS("comisd", da, db);
	else if (quiet)
		COMIS("ucomiss", fa, fb);
	else
		COMIS("comiss", fa, fb);
#undef COMIS
	return (z ? FL_ZF : 0) | (p ? FL_PF : 0) | (c ? FL_CF : 0);
}

void exec_sse_float(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	uint8_t pfx = in->last_pfx;
	bool dbl = pfx == 0xf2 || pfx == 0x66;
	bool scalar = pfx == 0xf2 || pfx == 0xf3;
	union xmm *d, s;
	int isz = in->rex & 8 ? 8 : 4;

	decode_modrm(cpu, in, 0);
	d = &cpu->xmm[in->reg];
	switch (op) {
	case 0x2a:	/* CVTSI2SS/SD */
		if (!scalar)
			break;
		{
			int64_t v = sext(rm_read(cpu, in, isz), isz);

			if (dbl) {
				double f;

				__asm__ volatile("cvtsi2sdq %1, %0"
						 : "=x"(f) : "r"(v));
				memcpy(&d->q[0], &f, 8);
			} else {
				float f;

				__asm__ volatile("cvtsi2ssq %1, %0"
						 : "=x"(f) : "r"(v));
				memcpy(&d->d[0], &f, 4);
			}
		}
		return;
	case 0x2c:
	case 0x2d: {	/* CVT(T)SS/SD2SI */
		uint64_t v;

		if (!scalar)
			break;
		if (in->mem)
			v = ea_read(cpu, in, 0, dbl ? 8 : 4);
		else
			v = cpu->xmm[in->rm].q[0];
		reg_write(cpu, in, in->reg, isz,
			  to_int(v, dbl, isz, op == 0x2c));
		return;
	}
	case 0x2e:
	case 0x2f: {	/* UCOMISS/SD, COMISS/SD */
		uint64_t v, f;

		if (scalar)
			break;
		if (in->mem)
			v = ea_read(cpu, in, 0, dbl ? 8 : 4);
		else
			v = cpu->xmm[in->rm].q[0];
		f = comis(dbl, op == 0x2e, d->q[0], v);
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | f;
		return;
	}
	case 0x5a:	/* CVTSS2SD / CVTSD2SS (scalar only) */
		if (!scalar)
			break;
		if (dbl) {
			uint64_t q = in->mem ? ea_read(cpu, in, 0, 8) :
				     cpu->xmm[in->rm].q[0];
			double v;
			float f;

			uint32_t acc = sse_fp_ou_unmasked(cpu) ?
				       sse_host_flags_take() : 0;

			memcpy(&v, &q, 8);
			__asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(v));
			sse_fp_tiny(cpu, &f, false);
			if (sse_fp_ou_unmasked(cpu))
				sse_fp_lane_pe(cpu, acc, 0x5a, true, v, 0);
			memcpy(&d->d[0], &f, 4);
		} else {
			uint32_t w = in->mem ? ea_read(cpu, in, 0, 4) :
				     cpu->xmm[in->rm].d[0];
			float f;
			double v;

			memcpy(&f, &w, 4);
			__asm__ volatile("cvtss2sd %1, %0" : "=x"(v) : "x"(f));
			memcpy(&d->q[0], &v, 8);
		}
		return;
	case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e:
	case 0x5f: {
		int n = scalar ? 1 : dbl ? 2 : 4;
		/* MIN, MAX and SQRT never underflow nor overflow */
		bool under = op != 0x5d && op != 0x5f && op != 0x51;
		bool pe = under && sse_fp_ou_unmasked(cpu);
		uint32_t acc;

		if (scalar && in->mem) {
			s = (union xmm){ 0 };
			s.q[0] = ea_read(cpu, in, 0, dbl ? 8 : 4);
		} else if (in->mem) {
			if (in->addr & 15)	/* a legacy SSE m128 */
				cpu_raise(cpu, EXC_GP, 0);
			ea_read_buf(cpu, in, &s, 16);
		} else {
			s = cpu->xmm[in->rm];
		}
		for (int i = 0; i < n; i++) {
			acc = pe ? sse_host_flags_take() : 0;
			if (dbl) {
				double a, b, r;

				memcpy(&a, &d->q[i], 8);
				memcpy(&b, &s.q[i], 8);
				r = arith_d(op, a, b);
				if (under)
					sse_fp_tiny(cpu, &r, true);
				if (pe)
					sse_fp_lane_pe(cpu, acc, op, true, a, b);
				memcpy(&d->q[i], &r, 8);
			} else {
				float a, b, r;

				memcpy(&a, &d->d[i], 4);
				memcpy(&b, &s.d[i], 4);
				r = arith_s(op, a, b);
				if (under)
					sse_fp_tiny(cpu, &r, false);
				if (pe)
					sse_fp_lane_pe(cpu, acc, op, false, a, b);
				memcpy(&d->d[i], &r, 4);
			}
		}
		return;
	}
	}
	insn_ud(cpu, in);
}
