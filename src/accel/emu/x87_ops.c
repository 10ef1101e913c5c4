// SPDX-License-Identifier: MIT
/*
 * The x87 register stack and its arithmetic (Intel SDM vol. 1 ch. 8,
 * vol. 2 "FADD" ... "FYL2XP1"). Registers hold the 80-bit extended format,
 * which is the host's long double, so loads, stores and the basic
 * operations are the host's own with the default precision (64 bits) and
 * round-to-nearest; FIST and FRNDINT honour FCW.RC. Exceptions are
 * treated as masked (the Linux default FCW 0x37f) and not reported:
 * invalid operations give the indefinite NaN, stack underflow goes
 * unseen. A stack overflow (a push onto a register in use) sets IE, SF
 * and C1 and honours IM (x87_push).
 */
#include <math.h>
#include <string.h>

#include "accel/emu/exec.h"
#include "accel/emu/x87.h"

#define FSW_C0	0x0100u
#define FSW_C1	0x0200u
#define FSW_C2	0x0400u
#define FSW_C3	0x4000u
#define FSW_CC	(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FSW_IE	0x0001u
#define FSW_SF	0x0040u

static unsigned top(struct emu_cpu *cpu)
{
	return (cpu->fsw >> 11) & 7;
}

static void set_top(struct emu_cpu *cpu, unsigned t)
{
	cpu->fsw = (cpu->fsw & ~0x3800u) | ((t & 7) << 11);
}

long double x87_get(struct emu_cpu *cpu, int i)
{
	long double v = 0;

	memcpy(&v, cpu->fpr[(top(cpu) + i) & 7], 10);
	return v;
}

void x87_set(struct emu_cpu *cpu, int i, long double v)
{
	unsigned p = (top(cpu) + i) & 7;

	memcpy(cpu->fpr[p], &v, 10);
	cpu->ftw &= ~(3u << (2 * p));
}

/*
 * A push onto a register in use (after MMX code without EMMS, or a
 * ninth push) is a stack overflow (SDM vol. 1 8.5.1.1): IE, SF and C1
 * set; masked, the indefinite NaN is pushed, unmasked nothing is and the
 * exception is pending (#MF at the next waiting instruction)
 */
void x87_push(struct emu_cpu *cpu, long double v)
{
	static const uint8_t indefinite[10] = { [7] = 0xc0, 0xff, 0xff };
	unsigned t = (top(cpu) - 1) & 7;

	if (((cpu->ftw >> (2 * t)) & 3) != 3) {
		cpu->fsw |= FSW_IE | FSW_SF | FSW_C1;
		if (!(cpu->fcw & FSW_IE)) {
			x87_sync_es(cpu);
			return;
		}
		memcpy(&v, indefinite, 10);
	}
	set_top(cpu, t);
	x87_set(cpu, 0, v);
}

void x87_pop(struct emu_cpu *cpu)
{
	cpu->ftw |= 3u << (2 * top(cpu));
	set_top(cpu, top(cpu) + 1);
}

static bool st_empty(struct emu_cpu *cpu, int i)
{
	return ((cpu->ftw >> (2 * ((top(cpu) + i) & 7))) & 3) == 3;
}

static void set_cc(struct emu_cpu *cpu, unsigned cc)
{
	cpu->fsw = (cpu->fsw & ~FSW_CC) | cc;
}

/* FCOM family: C3 C2 C0 = 000 greater, 001 less, 100 equal, 111 unordered */
static void fcom(struct emu_cpu *cpu, long double a, long double b)
{
	if (isnan(a) || isnan(b))
		set_cc(cpu, FSW_C0 | FSW_C2 | FSW_C3);
	else if (a < b)
		set_cc(cpu, FSW_C0);
	else if (a == b)
		set_cc(cpu, FSW_C3);
	else
		set_cc(cpu, 0);
}

/* FCOMI family: ZF PF CF as C3 C2 C0; OF, SF, AF cleared */
static void fcomi(struct emu_cpu *cpu, long double a, long double b)
{
	uint64_t f = 0;

	if (isnan(a) || isnan(b))
		f = FL_ZF | FL_PF | FL_CF;
	else if (a < b)
		f = FL_CF;
	else if (a == b)
		f = FL_ZF;
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | f;
	cpu->fsw &= ~FSW_C1;
}

/* op: 0 ADD, 1 MUL, 4 SUB (a - b), 5 SUBR (b - a), 6 DIV, 7 DIVR */
static long double arith(int op, long double a, long double b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a * b;
	case 4: return a - b;
	case 5: return b - a;
	case 6: return a / b;
	default: return b / a;
	}
}

static long double round_rc(struct emu_cpu *cpu, long double v)
{
	switch ((cpu->fcw >> 10) & 3) {
	case 0: return rintl(v);	/* the host rounds to nearest */
	case 1: return floorl(v);
	case 2: return ceill(v);
	default: return truncl(v);
	}
}

/* Integer of size bytes; out of range or NaN gives the integer indefinite */
static uint64_t to_int(long double v, int size)
{
	long double lim = size == 2 ? 32768.0L : size == 4 ? 2147483648.0L :
			  9223372036854775808.0L;

	if (isnan(v) || v >= lim || v < -lim)
		return 1ULL << (size * 8 - 1);
	return (uint64_t)(int64_t)v;
}

long double x87_load_mem(struct emu_cpu *cpu, struct insn *in, int kind)
{
	uint64_t q;
	uint32_t d;
	long double v = 0;
	float f;
	double g;
	uint8_t b[10];

	switch (kind) {
	case X87_M32F:
		d = mem_read(cpu, in->addr, 4);
		memcpy(&f, &d, 4);
		return f;
	case X87_M64F:
		q = mem_read(cpu, in->addr, 8);
		memcpy(&g, &q, 8);
		return g;
	case X87_M80F:
		mem_read_buf(cpu, in->addr, b, 10);
		memcpy(&v, b, 10);
		return v;
	case X87_M16I:
		return (int16_t)mem_read(cpu, in->addr, 2);
	case X87_M32I:
		return (int32_t)mem_read(cpu, in->addr, 4);
	default:
		return (int64_t)mem_read(cpu, in->addr, 8);
	}
}

static void store_mem(struct emu_cpu *cpu, struct insn *in, int kind,
		      long double v, bool trunc)
{
	float f;
	double g;
	uint64_t q = 0;
	uint8_t b[10];

	switch (kind) {
	case X87_M32F:
		f = (float)v;
		memcpy(&q, &f, 4);
		mem_write(cpu, in->addr, q, 4);
		return;
	case X87_M64F:
		g = (double)v;
		memcpy(&q, &g, 8);
		mem_write(cpu, in->addr, q, 8);
		return;
	case X87_M80F:
		memcpy(b, &v, 10);
		mem_write_buf(cpu, in->addr, b, 10);
		return;
	default: {
		int size = kind == X87_M16I ? 2 : kind == X87_M32I ? 4 : 8;

		v = trunc ? truncl(v) : round_rc(cpu, v);
		mem_write(cpu, in->addr, to_int(v, size), size);
	}
	}
}

/* D8/DC/DA/DE with a memory operand: arithmetic with ST(0) */
static void mem_arith(struct emu_cpu *cpu, struct insn *in, int kind)
{
	int op = in->reg & 7;
	long double a = x87_get(cpu, 0), b = x87_load_mem(cpu, in, kind);

	if (op == 2 || op == 3) {
		fcom(cpu, a, b);
		if (op == 3)
			x87_pop(cpu);
		return;
	}
	x87_set(cpu, 0, arith(op, a, b));
}

static void fxam(struct emu_cpu *cpu)
{
	long double v = x87_get(cpu, 0);
	unsigned c1 = signbit(v) ? FSW_C1 : 0;

	if (st_empty(cpu, 0))
		set_cc(cpu, c1 | FSW_C3 | FSW_C0);
	else if (isnan(v))
		set_cc(cpu, c1 | FSW_C0);
	else if (isinf(v))
		set_cc(cpu, c1 | FSW_C2 | FSW_C0);
	else if (v == 0)
		set_cc(cpu, c1 | FSW_C3);
	else if (fpclassify(v) == FP_SUBNORMAL)
		set_cc(cpu, c1 | FSW_C3 | FSW_C2);
	else
		set_cc(cpu, c1 | FSW_C2);
}

/* D9 E0..FF: constants and the host's own transcendental instructions */
static bool d9_misc(struct emu_cpu *cpu, uint8_t m)
{
	long double a = x87_get(cpu, 0), b = x87_get(cpu, 1), r;
	uint16_t sw;

	switch (m) {
	case 0xe0: x87_set(cpu, 0, -a); break;
	case 0xe1: x87_set(cpu, 0, fabsl(a)); break;
	case 0xe4: fcom(cpu, a, 0.0L); break;
	case 0xe5: fxam(cpu); break;
	case 0xe8: x87_push(cpu, 1.0L); break;
	case 0xe9: __asm__("fldl2t" : "=t"(r)); x87_push(cpu, r); break;
	case 0xea: __asm__("fldl2e" : "=t"(r)); x87_push(cpu, r); break;
	case 0xeb: __asm__("fldpi" : "=t"(r)); x87_push(cpu, r); break;
	case 0xec: __asm__("fldlg2" : "=t"(r)); x87_push(cpu, r); break;
	case 0xed: __asm__("fldln2" : "=t"(r)); x87_push(cpu, r); break;
	case 0xee: x87_push(cpu, 0.0L); break;
	case 0xf0: __asm__("f2xm1" : "+t"(a)); x87_set(cpu, 0, a); break;
	case 0xf1:	/* FYL2X: ST(1) = ST(1) * log2(ST(0)), pop */
		__asm__("fyl2x" : "=t"(r) : "0"(a), "u"(b) : "st(1)");
		x87_pop(cpu);
		x87_set(cpu, 0, r);
		break;
	case 0xf2:	/* FPTAN: ST(0) = tan, push 1.0 */
		if (!(fabsl(a) < 0x1p63L)) {
			set_cc(cpu, FSW_C2);	/* out of range: unchanged */
			break;
		}
		__asm__("fptan; fstp %%st(0); fnstsw %%ax"
			: "+t"(a), "=a"(sw));
		set_cc(cpu, sw & FSW_C2);
		if (!(sw & FSW_C2)) {
			x87_set(cpu, 0, a);
			x87_push(cpu, 1.0L);
		}
		break;
	case 0xf3:	/* FPATAN: ST(1) = atan(ST(1) / ST(0)), pop */
		__asm__("fpatan" : "=t"(r) : "0"(a), "u"(b) : "st(1)");
		x87_pop(cpu);
		x87_set(cpu, 0, r);
		break;
	case 0xf4: {	/* FXTRACT: ST(0) = exponent, push significand */
		long double sig, ex;

		__asm__("fxtract" : "=t"(sig), "=u"(ex) : "0"(a));
		x87_set(cpu, 0, ex);
		x87_push(cpu, sig);
		break;
	}
	case 0xf5:
	case 0xf8:	/* FPREM1, FPREM: C0 C3 C1 = low quotient bits */
		if (m == 0xf5)
			__asm__("fprem1; fnstsw %%ax"
				: "+t"(a), "=a"(sw) : "u"(b));
		else
			__asm__("fprem; fnstsw %%ax"
				: "+t"(a), "=a"(sw) : "u"(b));
		set_cc(cpu, sw & FSW_CC);
		x87_set(cpu, 0, a);
		break;
	case 0xf6: set_top(cpu, top(cpu) - 1); break;
	case 0xf7: set_top(cpu, top(cpu) + 1); break;
	case 0xf9:	/* FYL2XP1 */
		__asm__("fyl2xp1" : "=t"(r) : "0"(a), "u"(b) : "st(1)");
		x87_pop(cpu);
		x87_set(cpu, 0, r);
		break;
	case 0xfa: __asm__("fsqrt" : "+t"(a)); x87_set(cpu, 0, a); break;
	case 0xfb: {	/* FSINCOS: ST(0) = sin, push cos */
		long double c;

		if (!(fabsl(a) < 0x1p63L)) {
			set_cc(cpu, FSW_C2);
			break;
		}
		__asm__("fsincos; fnstsw %%ax" : "=t"(c), "=u"(r), "=a"(sw)
			: "0"(a));
		set_cc(cpu, sw & FSW_C2);
		if (!(sw & FSW_C2)) {
			x87_set(cpu, 0, r);
			x87_push(cpu, c);
		}
		break;
	}
	case 0xfc: x87_set(cpu, 0, round_rc(cpu, a)); break;
	case 0xfd:	/* FSCALE */
		__asm__("fscale" : "+t"(a) : "u"(b));
		x87_set(cpu, 0, a);
		break;
	case 0xfe:
	case 0xff:
		if (m == 0xfe)
			__asm__("fsin; fnstsw %%ax" : "+t"(a), "=a"(sw));
		else
			__asm__("fcos; fnstsw %%ax" : "+t"(a), "=a"(sw));
		set_cc(cpu, sw & FSW_C2);
		x87_set(cpu, 0, a);
		break;
	default:
		return false;
	}
	return true;
}

static bool fcmov_cond(struct emu_cpu *cpu, uint8_t op, int cc)
{
	uint64_t f = cpu->rflags;
	bool t;

	switch (cc) {
	case 0: t = f & FL_CF; break;
	case 1: t = f & FL_ZF; break;
	case 2: t = f & (FL_CF | FL_ZF); break;
	default: t = f & FL_PF; break;
	}
	return op == 0xda ? t : !t;
}

/* Register forms (mod == 3); false for encodings that are not x87 ops */
static bool reg_op(struct emu_cpu *cpu, uint8_t op, uint8_t m)
{
	int r = m >> 3 & 7, i = m & 7;
	long double a = x87_get(cpu, 0), b = x87_get(cpu, i);

	switch (op) {
	case 0xd8:
		if (r == 2 || r == 3) {
			fcom(cpu, a, b);
			if (r == 3)
				x87_pop(cpu);
		} else {
			x87_set(cpu, 0, arith(r, a, b));
		}
		return true;
	case 0xdc:
	case 0xde:	/* ST(i) = ST(i) op ST(0); SUB/SUBR, DIV/DIVR swap */
		if (r == 2 || r == 3) {
			if (op == 0xde && m != 0xd9)
				return false;
			fcom(cpu, a, b);
			x87_pop(cpu);
			if (op == 0xde)
				x87_pop(cpu);
			return true;
		}
		x87_set(cpu, i, arith(r >= 4 ? r ^ 1 : r, b, a));
		if (op == 0xde)
			x87_pop(cpu);
		return true;
	case 0xd9:
		if (r == 0) {
			x87_push(cpu, b);
		} else if (r == 1) {
			x87_set(cpu, 0, b);
			x87_set(cpu, i, a);
		} else if (m == 0xd0) {
			/* FNOP */
		} else {
			return d9_misc(cpu, m);
		}
		return true;
	case 0xda:
	case 0xdb:
		if (r < 4) {
			if (fcmov_cond(cpu, op, r))
				x87_set(cpu, 0, b);
			return true;
		}
		if (op == 0xda) {
			if (m != 0xe9)
				return false;
			fcom(cpu, a, x87_get(cpu, 1));	/* FUCOMPP */
			x87_pop(cpu);
			x87_pop(cpu);
			return true;
		}
		if (r == 5 || r == 6) {
			fcomi(cpu, a, b);
			return true;
		}
		return false;
	case 0xdd:
		switch (r) {
		case 0:		/* FFREE */
			cpu->ftw |= 3u << (2 * ((top(cpu) + i) & 7));
			return true;
		case 2:
		case 3:
			x87_set(cpu, i, a);
			if (r == 3)
				x87_pop(cpu);
			return true;
		case 4:
		case 5:
			fcom(cpu, a, b);
			if (r == 5)
				x87_pop(cpu);
			return true;
		}
		return false;
	case 0xdf:
		if (r == 5 || r == 6) {
			fcomi(cpu, a, b);
			x87_pop(cpu);
			return true;
		}
		return false;
	}
	return false;
}

bool x87_exec_reg(struct emu_cpu *cpu, struct insn *in)
{
	return reg_op(cpu, in->op, in->modrm);
}

bool x87_exec_mem(struct emu_cpu *cpu, struct insn *in)
{
	int r = in->reg & 7;
	long double v;

	switch (in->op) {
	case 0xd8: mem_arith(cpu, in, X87_M32F); return true;
	case 0xdc: mem_arith(cpu, in, X87_M64F); return true;
	case 0xda: mem_arith(cpu, in, X87_M32I); return true;
	case 0xde: mem_arith(cpu, in, X87_M16I); return true;
	case 0xd9:
	case 0xdd:
	case 0xdb:
	case 0xdf: {
		static const int8_t kinds[4][8] = {
			/* D9 */ { X87_M32F, -1, X87_M32F, X87_M32F },
			/* DB */ { X87_M32I, X87_M32I, X87_M32I, X87_M32I,
				   -1, X87_M80F, -1, X87_M80F },
			/* DD */ { X87_M64F, X87_M64I, X87_M64F, X87_M64F },
			/* DF */ { X87_M16I, X87_M16I, X87_M16I, X87_M16I,
				   -1, X87_M64I, -1, X87_M64I },
		};
		int kind = kinds[(in->op - 0xd9) / 2][r];

		if (kind < 0 || (in->op == 0xd9 && r >= 4) ||
		    (in->op == 0xdd && r >= 4))
			return false;	/* control and environment: x87.c */
		if (r == 0 || r == 5) {
			x87_push(cpu, x87_load_mem(cpu, in, kind));
			return true;
		}
		v = x87_get(cpu, 0);
		store_mem(cpu, in, kind, v, r == 1);
		if (r != 2)
			x87_pop(cpu);
		return true;
	}
	}
	return false;
}
