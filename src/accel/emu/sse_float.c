// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 floating point, computed with the host's IEEE arithmetic in
 * round-to-nearest: scalar and packed add/sub/mul/div/min/max/sqrt,
 * conversions to and from integers, and (U)COMISS/SD. MXCSR exception
 * flags are not tracked; all exceptions stay masked.
 */
#include <string.h>

#include "accel/emu/exec.h"

void exec_sse_float(struct emu_cpu *cpu, struct insn *in, uint8_t op);

static double arith(uint8_t op, double a, double b)
{
	switch (op) {
	case 0x51:
		__asm__("sqrtsd %1, %0" : "=x"(b) : "x"(b));
		return b;
	case 0x58: return a + b;
	case 0x59: return a * b;
	case 0x5c: return a - b;
	case 0x5d: return a < b ? a : b;
	case 0x5e: return a / b;
	default: return a > b ? a : b;
	}
}

/*
 * The host's own conversion gives the guest's results, including the
 * "integer indefinite" value for NaN and out-of-range inputs. The host
 * rounding mode is round-to-nearest, the guest's MXCSR default.
 */
static int64_t to_int(double v, int size, bool truncate)
{
	int64_t q;
	int32_t d;

	if (size == 8) {
		if (truncate)
			__asm__("cvttsd2si %1, %0" : "=r"(q) : "x"(v));
		else
			__asm__("cvtsd2si %1, %0" : "=r"(q) : "x"(v));
		return q;
	}
	if (truncate)
		__asm__("cvttsd2si %1, %0" : "=r"(d) : "x"(v));
	else
		__asm__("cvtsd2si %1, %0" : "=r"(d) : "x"(v));
	return d;
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
				double f = (double)v;

				memcpy(&d->q[0], &f, 8);
			} else {
				float f = (float)v;

				memcpy(&d->d[0], &f, 4);
			}
		}
		return;
	case 0x2c:
	case 0x2d: {	/* CVT(T)SS/SD2SI */
		double v;

		if (!scalar)
			break;
		if (dbl) {
			uint64_t q = in->mem ? mem_read(cpu, in->addr, 8) :
				     cpu->xmm[in->rm].q[0];

			memcpy(&v, &q, 8);
		} else {
			uint32_t w = in->mem ? mem_read(cpu, in->addr, 4) :
				     cpu->xmm[in->rm].d[0];
			float f;

			memcpy(&f, &w, 4);
			v = f;
		}
		reg_write(cpu, in, in->reg, isz, to_int(v, isz, op == 0x2c));
		return;
	}
	case 0x2e:
	case 0x2f: {
		double a, b;

		if (scalar)
			break;
		if (dbl) {
			uint64_t q = in->mem ? mem_read(cpu, in->addr, 8) :
				     cpu->xmm[in->rm].q[0];

			memcpy(&a, &d->q[0], 8);
			memcpy(&b, &q, 8);
		} else {
			uint32_t w = in->mem ? mem_read(cpu, in->addr, 4) :
				     cpu->xmm[in->rm].d[0];
			float fa, fb;

			memcpy(&fa, &d->d[0], 4);
			memcpy(&fb, &w, 4);
			a = fa;
			b = fb;
		}
		cpu->rflags &= ~(uint64_t)FL_ARITH;
		if (a != a || b != b)
			cpu->rflags |= FL_ZF | FL_PF | FL_CF;
		else if (a < b)
			cpu->rflags |= FL_CF;
		else if (a == b)
			cpu->rflags |= FL_ZF;
		return;
	}
	case 0x5a:	/* CVTSS2SD / CVTSD2SS (scalar only) */
		if (!scalar)
			break;
		if (dbl) {
			uint64_t q = in->mem ? mem_read(cpu, in->addr, 8) :
				     cpu->xmm[in->rm].q[0];
			double v;
			float f;

			memcpy(&v, &q, 8);
			f = (float)v;
			memcpy(&d->d[0], &f, 4);
		} else {
			uint32_t w = in->mem ? mem_read(cpu, in->addr, 4) :
				     cpu->xmm[in->rm].d[0];
			float f;
			double v;

			memcpy(&f, &w, 4);
			v = f;
			memcpy(&d->q[0], &v, 8);
		}
		return;
	case 0x51: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e:
	case 0x5f: {
		int n = scalar ? 1 : dbl ? 2 : 4;

		if (scalar && in->mem) {
			s = (union xmm){ 0 };
			s.q[0] = mem_read(cpu, in->addr, dbl ? 8 : 4);
		} else if (in->mem) {
			if (in->addr & 15)	/* a legacy SSE m128 */
				cpu_raise(cpu, EXC_GP, 0);
			mem_read_buf(cpu, in->addr, &s, 16);
		} else {
			s = cpu->xmm[in->rm];
		}
		for (int i = 0; i < n; i++) {
			if (dbl) {
				double a, b, r;

				memcpy(&a, &d->q[i], 8);
				memcpy(&b, &s.q[i], 8);
				r = arith(op, a, b);
				memcpy(&d->q[i], &r, 8);
			} else {
				float a, b, r;

				memcpy(&a, &d->d[i], 4);
				memcpy(&b, &s.d[i], 4);
				r = (float)arith(op, a, b);
				memcpy(&d->d[i], &r, 4);
			}
		}
		return;
	}
	}
	insn_ud(cpu, in);
}
