// SPDX-License-Identifier: MIT
/*
 * Integer arithmetic with the flags the SDM specifies: ADD/ADC/SUB/SBB/
 * logic, shifts and rotates (count masking, CF = last bit out, OF for
 * one-bit counts), double shifts, MUL/IMUL/DIV/IDIV (#DE on divide error)
 * and condition codes. Flags the SDM leaves undefined are given the values
 * current Intel parts produce where that is well known, otherwise cleared.
 */
#include "accel/emu/exec.h"

void set_szp(struct emu_cpu *cpu, uint64_t r, int size)
{
	uint64_t f = cpu->rflags & ~(uint64_t)(FL_SF | FL_ZF | FL_PF);

	r &= size_mask(size);
	if (!r)
		f |= FL_ZF;
	if (r >> (size * 8 - 1))
		f |= FL_SF;
	if (!__builtin_parity(r & 0xff))
		f |= FL_PF;
	cpu->rflags = f;
}

static void set_flag(struct emu_cpu *cpu, uint64_t flag, bool on)
{
	if (on)
		cpu->rflags |= flag;
	else
		cpu->rflags &= ~flag;
}

/*
 * One ALU instruction on the host, which is x86 too: its RFLAGS are the
 * guest's, bit for bit, including AF and the flags the SDM leaves
 * undefined for the logic ops. ADC/SBB take the guest's CF in via BT.
 */
#define HOST_ALU(T, CONS)                                                 \
	static uint64_t host_alu_##T(int op, T a, T b, uint64_t cf,        \
				     uint64_t *flags)                      \
	{                                                                 \
		uint64_t f;                                               \
                                                                          \
		switch (op) {                                             \
		case 0:                                                   \
			__asm__("add %[b], %[a]\n\tpushfq\n\tpopq %[f]"     \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b) : "cc");                    \
			break;                                            \
		case 1:                                                   \
			__asm__("or %[b], %[a]\n\tpushfq\n\tpopq %[f]"      \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b) : "cc");                    \
			break;                                            \
		case 2:                                                   \
			__asm__("bt $0, %[c]\n\tadc %[b], %[a]\n\t"         \
				"pushfq\n\tpopq %[f]"                      \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b), [c] "r"(cf) : "cc");       \
			break;                                            \
		case 3:                                                   \
			__asm__("bt $0, %[c]\n\tsbb %[b], %[a]\n\t"         \
				"pushfq\n\tpopq %[f]"                      \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b), [c] "r"(cf) : "cc");       \
			break;                                            \
		case 4:                                                   \
			__asm__("and %[b], %[a]\n\tpushfq\n\tpopq %[f]"     \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b) : "cc");                    \
			break;                                            \
		case 6:                                                   \
			__asm__("xor %[b], %[a]\n\tpushfq\n\tpopq %[f]"     \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b) : "cc");                    \
			break;                                            \
		default:	/* SUB, CMP */                            \
			__asm__("sub %[b], %[a]\n\tpushfq\n\tpopq %[f]"     \
				: [a] "+" CONS(a), [f] "=r"(f)            \
				: [b] CONS(b) : "cc");                    \
			break;                                            \
		}                                                         \
		*flags = f;                                               \
		return a;                                                 \
	}

#define CONS_Q(x) "q"(x)
#define CONS_R(x) "r"(x)
HOST_ALU(uint8_t, CONS_Q)
HOST_ALU(uint16_t, CONS_R)
HOST_ALU(uint32_t, CONS_R)
HOST_ALU(uint64_t, CONS_R)

/* op: 0 ADD, 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP */
uint64_t alu_op(struct emu_cpu *cpu, int op, uint64_t a, uint64_t b,
		int size)
{
	uint64_t cf = cpu->rflags & FL_CF, f, r;

	switch (size) {
	case 1: r = host_alu_uint8_t(op, a, b, cf, &f); break;
	case 2: r = host_alu_uint16_t(op, a, b, cf, &f); break;
	case 4: r = host_alu_uint32_t(op, a, b, cf, &f); break;
	default: r = host_alu_uint64_t(op, a, b, cf, &f); break;
	}
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | (f & FL_ARITH);
	return r;
}

uint64_t fn_inc(struct emu_cpu *cpu, uint64_t a, uint64_t unused, int size)
{
	uint64_t cf = cpu->rflags & FL_CF;
	uint64_t r = alu_op(cpu, 0, a, 1, size);

	(void)unused;
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | cf;
	return r;
}

uint64_t fn_dec(struct emu_cpu *cpu, uint64_t a, uint64_t unused, int size)
{
	uint64_t cf = cpu->rflags & FL_CF;
	uint64_t r = alu_op(cpu, 5, a, 1, size);

	(void)unused;
	cpu->rflags = (cpu->rflags & ~(uint64_t)FL_CF) | cf;
	return r;
}

/* op: 0 ROL, 1 ROR, 2 RCL, 3 RCR, 4 SHL, 5 SHR, 6 SAL(=SHL), 7 SAR */
uint64_t alu_shift(struct emu_cpu *cpu, int op, uint64_t a, unsigned cnt,
		   int size)
{
	unsigned bits = size * 8, top = bits - 1;
	uint64_t m = size_mask(size), r;
	bool cf, of;

	a &= m;
	cnt &= size == 8 ? 63 : 31;
	if (!cnt)
		return a;
	switch (op) {
	case 0:
	case 1: {
		unsigned c = cnt % bits;

		r = op == 0 ? ((a << c) | (c ? a >> (bits - c) : 0)) & m :
			      ((a >> c) | (c ? a << (bits - c) : 0)) & m;
		if (op == 0) {
			cf = r & 1;
			of = ((r >> top) & 1) ^ cf;
		} else {
			cf = (r >> top) & 1;
			of = cf ^ ((r >> (top - 1)) & 1);
		}
		set_flag(cpu, FL_CF, cf);
		set_flag(cpu, FL_OF, of);
		return r;
	}
	case 2:
	case 3: {
		unsigned c = size < 4 ? cnt % (bits + 1) : cnt;
		bool carry = cpu->rflags & FL_CF;

		of = false;

		r = a;
		if (op == 3)
			of = ((r >> top) & 1) ^ carry;
		for (unsigned i = 0; i < c; i++) {
			bool out;

			if (op == 2) {
				out = (r >> top) & 1;
				r = ((r << 1) | carry) & m;
			} else {
				out = r & 1;
				r = (r >> 1) | ((uint64_t)carry << top);
			}
			carry = out;
		}
		if (op == 2)
			of = ((r >> top) & 1) ^ carry;
		set_flag(cpu, FL_CF, carry);
		set_flag(cpu, FL_OF, of);
		return r;
	}
	case 4:
	case 6:
		r = cnt < bits ? (a << cnt) & m : 0;
		cf = cnt <= bits ? (a >> (bits - cnt)) & 1 : 0;
		of = ((r >> top) & 1) ^ cf;
		break;
	case 5:
		r = cnt < bits ? a >> cnt : 0;
		cf = cnt <= bits ? (a >> (cnt - 1)) & 1 : 0;
		of = (a >> top) & 1;
		break;
	default: {
		int64_t s = sext(a, size);

		r = (uint64_t)(s >> (cnt < bits ? cnt : top)) & m;
		cf = (s >> (cnt - 1 < top ? cnt - 1 : top)) & 1;
		of = false;
		break;
	}
	}
	cpu->rflags &= ~(uint64_t)(FL_CF | FL_OF | FL_AF);
	cpu->rflags |= (cf ? FL_CF : 0) | (of ? FL_OF : 0);
	set_szp(cpu, r, size);
	return r;
}

uint64_t alu_shld(struct emu_cpu *cpu, uint64_t a, uint64_t b, unsigned c,
		  int size, bool right)
{
	unsigned bits = size * 8, top = bits - 1;
	uint64_t m = size_mask(size), r;
	bool cf;

	a &= m;
	b &= m;
	c &= size == 8 ? 63 : 31;
	if (!c)
		return a;
	if (size == 2 && c > 16) {
		/* undefined result; shift through the 32-bit b:a pair */
		uint64_t w = right ? (b << 16) | a : (a << 16) | b;

		c &= 15;
		r = right ? (w >> c) & m : (w << c >> 16) & m;
		cf = false;
	} else if (right) {
		/* a 16-bit count of 16 (c == bits) moves all of b in */
		r = ((a >> c) | b << (bits - c)) & m;
		cf = (a >> (c - 1)) & 1;
	} else {
		r = ((a << c) | b >> (bits - c)) & m;
		cf = (a >> (bits - c)) & 1;
	}
	cpu->rflags &= ~(uint64_t)(FL_CF | FL_OF | FL_AF);
	cpu->rflags |= (cf ? FL_CF : 0) |
		       ((((r ^ a) >> top) & 1) ? FL_OF : 0);
	set_szp(cpu, r, size);
	return r;
}

/* Two- and three-operand IMUL: truncated product, CF=OF=overflow. */
uint64_t alu_imul(struct emu_cpu *cpu, uint64_t a, uint64_t b, int size)
{
	__int128 p = (__int128)sext(a, size) * sext(b, size);
	uint64_t r = (uint64_t)p & size_mask(size);
	bool ov = (__int128)sext(r, size) != p;

	cpu->rflags &= ~(uint64_t)(FL_CF | FL_OF);
	if (ov)
		cpu->rflags |= FL_CF | FL_OF;
	set_szp(cpu, r, size);
	return r;
}

static void set_wide(struct emu_cpu *cpu, struct insn *in, int size,
		     uint64_t lo, uint64_t hi)
{
	if (size == 1) {
		reg_write(cpu, in, R_AX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
		return;
	}
	reg_write(cpu, in, R_AX, size, lo);
	reg_write(cpu, in, R_DX, size, hi);
}

static void divide(struct emu_cpu *cpu, struct insn *in, int size,
		   uint64_t d, bool sign)
{
	uint64_t m = size_mask(size), lo, hi;
	int bits = size * 8;

	if (size == 1) {
		lo = cpu->gpr[R_AX] & 0xff;
		hi = (cpu->gpr[R_AX] >> 8) & 0xff;
	} else {
		lo = cpu->gpr[R_AX] & m;
		hi = cpu->gpr[R_DX] & m;
	}
	if (!d)
		cpu_raise_noerr(cpu, EXC_DE);
	if (!sign) {
		unsigned __int128 n = ((unsigned __int128)hi << bits) | lo;
		unsigned __int128 q = n / d, r = n % d;

		if (q > m)
			cpu_raise_noerr(cpu, EXC_DE);
		set_wide(cpu, in, size, (uint64_t)q, (uint64_t)r);
	} else {
		__int128 n = (__int128)(((unsigned __int128)hi << bits) | lo);
		__int128 dv = sext(d, size), q, r;

		if (size < 8)
			n = (__int128)((unsigned __int128)n <<
				       (128 - 2 * bits)) >> (128 - 2 * bits);
		/* the most negative dividend (unsigned: 1 << 127 overflows) */
		if (dv == -1 && (unsigned __int128)n ==
		    -((unsigned __int128)1 << (2 * bits - 1)))
			cpu_raise_noerr(cpu, EXC_DE);
		q = n / dv;
		r = n % dv;
		if (q > (__int128)(m >> 1) || q < -(__int128)(m >> 1) - 1)
			cpu_raise_noerr(cpu, EXC_DE);
		set_wide(cpu, in, size, (uint64_t)q & m, (uint64_t)r & m);
	}
}

static uint64_t fn_not(struct emu_cpu *cpu, uint64_t a, uint64_t u, int sz)
{
	(void)cpu;
	(void)u;
	return ~a & size_mask(sz);
}

static uint64_t fn_neg(struct emu_cpu *cpu, uint64_t a, uint64_t u, int sz)
{
	(void)u;
	return alu_op(cpu, 5, 0, a, sz);
}

/* F6/F7: TEST, NOT, NEG, MUL, IMUL, DIV, IDIV */
void alu_group3(struct emu_cpu *cpu, struct insn *in, int size)
{
	uint64_t m = size_mask(size), a, v;

	switch (in->reg & 7) {
	case 0:
	case 1:
		v = rm_read(cpu, in, size);
		alu_op(cpu, 4, v, fetch_imm(cpu, size), size);
		return;
	case 2:
		rm_rmw(cpu, in, size, fn_not, 0);
		return;
	case 3:
		rm_rmw(cpu, in, size, fn_neg, 0);
		return;
	}
	v = rm_read(cpu, in, size);
	a = size == 1 ? cpu->gpr[R_AX] & 0xff : cpu->gpr[R_AX] & m;
	switch (in->reg & 7) {
	case 4: {
		unsigned __int128 p = (unsigned __int128)a * v;
		uint64_t lo = (uint64_t)p & m;
		uint64_t hi = size == 8 ? (uint64_t)(p >> 64) :
			      (uint64_t)(p >> (size * 8)) & m;

		set_wide(cpu, in, size, lo, hi);
		cpu->rflags &= ~(uint64_t)(FL_CF | FL_OF);
		if (hi)
			cpu->rflags |= FL_CF | FL_OF;
		set_szp(cpu, lo, size);
		break;
	}
	case 5: {
		__int128 p = (__int128)sext(a, size) * sext(v, size);
		uint64_t lo = (uint64_t)p & m;
		uint64_t hi = (uint64_t)(p >> (size * 8)) & m;

		set_wide(cpu, in, size, lo, hi);
		cpu->rflags &= ~(uint64_t)(FL_CF | FL_OF);
		if ((__int128)sext(lo, size) != p)
			cpu->rflags |= FL_CF | FL_OF;
		set_szp(cpu, lo, size);
		break;
	}
	case 6:
		divide(cpu, in, size, v, false);
		break;
	default:
		divide(cpu, in, size, v, true);
		break;
	}
}
