// SPDX-License-Identifier: MIT
/*
 * emu CPU: the SSE and SSE2 instructions against this x86-64 host. Each
 * form runs from random states (fixed seed) natively and in the
 * interpreter (general decoder, decode cache) and the translator
 * (emu_vs_host_cpu.h): XMM0-XMM15, MXCSR (its status flags too), the
 * general registers, the flags, the x87 state (the MMX forms) and the
 * memory area must be the host's, and so must any #XM. Operands are
 * numbers of every class (zeros, denormals, infinities, quiet and
 * signalling NaNs, values at the integer conversions' limits and
 * halfway between integers) or integer lanes with edge values; MXCSR
 * has every rounding mode, DAZ and FTZ, random status flags, and now
 * and then unmasked exceptions; half the states have the default
 * MXCSR, which the translator's floating point needs to run at all.
 * RCPPS/RSQRTPS and their scalar forms are approximations the SDM bounds
 * (a relative error of at most 1.5 * 2^-12) rather than defines: their
 * results are checked against that bound, not against the host's.
 */
#include <math.h>

#include "emu_vs_host_cpu.h"
#include "test.h"

#define SEED		0x8c3f2a91d5e06b47ULL
#define SAMPLES		40

/* Lanes of a case's operands */
enum { L_INT, L_PS, L_PD, L_I32 /* integers for CVTDQ/CVTSI */ };

struct scase {
	char name[40];
	uint8_t b[12], len;
	uint8_t imm;		/* a random imm8 follows */
	uint8_t lanes;
	bool approx;		/* RCP/RSQRT: lanes of XMM0 bounded */
	bool scalar;		/* with approx: lane 0 alone */
	uint8_t regk, rmk;	/* F_*: what each ModRM field names */
	uint8_t pre;		/* its mandatory prefix, or 0 */
};

/* A ModRM field as named (or memory), an XMM register, a GPR */
enum { F_FIXED, F_X, F_G };

#define MAX_CASES	800
static struct scase cases[MAX_CASES];
static int ncases;

static uint64_t rng = SEED;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* pre (0, 66, F2, F3), [REX], 0F op, modrm */
static struct scase *add(const char *name, uint8_t pre, uint8_t rex,
			 uint8_t op, int modrm, bool imm, int lanes)
{
	struct scase *c = &cases[ncases++];
	int n = 0;

	if (ncases > MAX_CASES)
		abort();
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (pre)
		c->b[n++] = pre;
	if (rex)
		c->b[n++] = rex;
	c->b[n++] = 0x0f;
	c->b[n++] = op;
	if (modrm >= 0)
		c->b[n++] = modrm;
	c->len = n;
	c->imm = imm;
	c->lanes = lanes;
	c->pre = pre;
	/* random registers in each sample, of the kind each field names */
	c->regk = c->rmk = F_X;
	if (op == 0x2a)
		c->rmk = F_G;
	if (op == 0x2c || op == 0x2d || op == 0x50 || op == 0xd7 ||
	    op == 0xc5 || op == 0xc3)
		c->regk = F_G;
	if (op == 0xc4 || op == 0x6e || (op == 0x7e && pre == 0x66))
		c->rmk = F_G;
	if (op >= 0x71 && op <= 0x73)
		c->regk = F_FIXED;
	/* the MMX forms, RCP/RSQRT's check, MASKMOVDQU's RDI, MXCSR */
	if (((op == 0x2a || op == 0x2c || op == 0x2d) && pre != 0xf3 &&
	     pre != 0xf2) || op == 0x52 || op == 0x53 || op == 0xf7 ||
	    op == 0xae)
		c->regk = c->rmk = F_FIXED;
	if (modrm < 0xc0)
		c->rmk = F_FIXED;
	return c;
}

/* The form's registers as named, not random */
static void fixed(struct scase *c)
{
	c->regk = c->rmk = F_FIXED;
}

/* A register of kind k: any XMM, a GPR but RSP and RDI (the pointer) */
static int pick(int k)
{
	for (;;) {
		int r = rnd() & 15;

		if (k == F_X || (r != 4 && r != 7))
			return r;
	}
}

/* The form's bytes with random registers, without its immediate */
static size_t make_insn(const struct scase *c, uint8_t *insn)
{
	size_t at = c->pre ? 1 : 0, from = at, n;
	uint8_t rex = 0, m;

	memcpy(insn, c->b, c->len);
	if (c->regk == F_FIXED && c->rmk == F_FIXED)
		return c->len;
	if ((c->b[at] & 0xf0) == 0x40)
		rex = c->b[from++];
	m = c->b[c->len - 1];
	if (c->regk != F_FIXED) {
		int r = pick(c->regk);

		m = (m & 0xc7) | (r & 7) << 3;
		rex = (rex & ~4) | (r & 8 ? 0x44 : 0);
	}
	if (c->rmk != F_FIXED) {
		int r = pick(c->rmk);

		m = (m & 0xf8) | (r & 7);
		rex = (rex & ~1) | (r & 8 ? 0x41 : 0);
	}
	n = at;
	if (rex)
		insn[n++] = rex | 0x40;
	memcpy(insn + n, c->b + from, c->len - from);
	n += c->len - from;
	insn[n - 1] = m;
	return n;
}

/* The register form (xmm0, xmm1), the memory one (xmm0, [rdi]) */
static void add2(const char *name, uint8_t pre, uint8_t op, bool imm,
		 int lanes)
{
	char n[40];

	snprintf(n, sizeof(n), "%s x, x", name);
	add(n, pre, 0, op, 0xc1, imm, lanes);
	snprintf(n, sizeof(n), "%s x, m", name);
	add(n, pre, 0, op, 0x07, imm, lanes);
}

static void add_float(void)
{
	static const struct { uint8_t op; const char *n; } ar[] = {
		{ 0x58, "add" }, { 0x59, "mul" }, { 0x5c, "sub" },
		{ 0x5d, "min" }, { 0x5e, "div" }, { 0x5f, "max" },
		{ 0x51, "sqrt" }, { 0xc2, "cmp" },
	};
	static const struct { uint8_t pre; const char *s; int l; } ty[4] = {
		{ 0, "ps", L_PS }, { 0xf3, "ss", L_PS }, { 0x66, "pd", L_PD },
		{ 0xf2, "sd", L_PD },
	};
	char n[40];

	for (size_t i = 0; i < sizeof(ar) / sizeof(ar[0]); i++)
		for (int t = 0; t < 4; t++) {
			snprintf(n, sizeof(n), "%s%s", ar[i].n, ty[t].s);
			add2(n, ty[t].pre, ar[i].op, ar[i].op == 0xc2,
			     ty[t].l);
		}
	for (int t = 0; t < 2; t++) {
		struct scase *c;

		snprintf(n, sizeof(n), "rcp%s", ty[t].s);
		c = add(n, ty[t].pre, 0, 0x53, 0xc1, false, L_PS);
		c->approx = true;
		c->scalar = t;
		snprintf(n, sizeof(n), "rsqrt%s", ty[t].s);
		c = add(n, ty[t].pre, 0, 0x52, 0xc1, false, L_PS);
		c->approx = true;
		c->scalar = t;
	}
	for (int t = 0; t < 4; t += 2) {
		static const char *const ln[4] = { "and", "andn", "or", "xor" };

		for (int i = 0; i < 4; i++) {
			snprintf(n, sizeof(n), "%s%s", ln[i], ty[t].s);
			add2(n, ty[t].pre, 0x54 + i, false, ty[t].l);
		}
		snprintf(n, sizeof(n), "ucomi%s", ty[t + 1].s);
		add2(n, ty[t].pre, 0x2e, false, ty[t].l);
		snprintf(n, sizeof(n), "comi%s", ty[t + 1].s);
		add2(n, ty[t].pre, 0x2f, false, ty[t].l);
		snprintf(n, sizeof(n), "unpckl%s", ty[t].s);
		add2(n, ty[t].pre, 0x14, false, ty[t].l);
		snprintf(n, sizeof(n), "unpckh%s", ty[t].s);
		add2(n, ty[t].pre, 0x15, false, ty[t].l);
		snprintf(n, sizeof(n), "shuf%s", ty[t].s);
		add2(n, ty[t].pre, 0xc6, true, ty[t].l);
		snprintf(n, sizeof(n), "movmsk%s", ty[t].s);
		add(n, ty[t].pre, 0, 0x50, 0xc1, false, ty[t].l);
		snprintf(n, sizeof(n), "movmsk%s r64", ty[t].s);
		add(n, ty[t].pre, 0x48, 0x50, 0xc1, false, ty[t].l);
	}
}

static void add_conv(void)
{
	static const struct {
		uint8_t pre, op; const char *n; int l; bool reg_dst, mm;
	} cv[] = {
		{ 0xf3, 0x2a, "cvtsi2ss", L_I32, false, false },
		{ 0xf2, 0x2a, "cvtsi2sd", L_I32, false, false },
		{ 0xf3, 0x2c, "cvttss2si", L_PS, true, false },
		{ 0xf2, 0x2c, "cvttsd2si", L_PD, true, false },
		{ 0xf3, 0x2d, "cvtss2si", L_PS, true, false },
		{ 0xf2, 0x2d, "cvtsd2si", L_PD, true, false },
		{ 0, 0x5a, "cvtps2pd", L_PS, false, false },
		{ 0x66, 0x5a, "cvtpd2ps", L_PD, false, false },
		{ 0xf3, 0x5a, "cvtss2sd", L_PS, false, false },
		{ 0xf2, 0x5a, "cvtsd2ss", L_PD, false, false },
		{ 0, 0x5b, "cvtdq2ps", L_I32, false, false },
		{ 0x66, 0x5b, "cvtps2dq", L_PS, false, false },
		{ 0xf3, 0x5b, "cvttps2dq", L_PS, false, false },
		{ 0x66, 0xe6, "cvttpd2dq", L_PD, false, false },
		{ 0xf3, 0xe6, "cvtdq2pd", L_I32, false, false },
		{ 0xf2, 0xe6, "cvtpd2dq", L_PD, false, false },
		{ 0, 0x2a, "cvtpi2ps", L_I32, false, true },
		{ 0x66, 0x2a, "cvtpi2pd", L_I32, false, true },
		{ 0, 0x2c, "cvttps2pi", L_PS, false, true },
		{ 0, 0x2d, "cvtps2pi", L_PS, false, true },
		{ 0x66, 0x2c, "cvttpd2pi", L_PD, false, true },
		{ 0x66, 0x2d, "cvtpd2pi", L_PD, false, true },
	};
	char n[40];

	for (size_t i = 0; i < sizeof(cv) / sizeof(cv[0]); i++) {
		bool gpr_src = cv[i].op == 0x2a && !cv[i].mm;

		for (int w = 0; w < 2; w++) {
			if (w && !cv[i].reg_dst && !gpr_src)
				break;
			/* reg: xmm0, xmm1 / eax, xmm1 / xmm0, ecx */
			snprintf(n, sizeof(n), "%s%s r", cv[i].n,
				 w ? " (w)" : "");
			add(n, cv[i].pre, w ? 0x48 : 0, cv[i].op, 0xc1, false,
			    cv[i].l);
			snprintf(n, sizeof(n), "%s%s m", cv[i].n,
				 w ? " (w)" : "");
			add(n, cv[i].pre, w ? 0x48 : 0, cv[i].op, 0x07, false,
			    cv[i].l);
		}
	}
}

static void add_int(void)
{
	/* 66 0F xx xmm0, xmm1 / [rdi] */
	static const uint8_t ops[] = {
		0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x6b, 0x6c, 0x6d, 0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3,
		0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
		0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb,
		0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
		0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	};
	char n[40];

	for (size_t i = 0; i < sizeof(ops); i++) {
		snprintf(n, sizeof(n), "66 0f %02x", ops[i]);
		add2(n, 0x66, ops[i], false, L_INT);
	}
	for (int g = 0; g < 3; g++)
		for (int sub = 2; sub < 8; sub++) {
			if (sub == 5 || (g < 2 && (sub == 3 || sub == 7)) ||
			    (g == 2 && sub == 4) || (g == 1 && sub == 3))
				continue;
			snprintf(n, sizeof(n), "66 0f %02x /%d, imm", 0x71 + g,
				 sub);
			add(n, 0x66, 0, 0x71 + g, 0xc0 | sub << 3, true, L_INT);
		}
	add2("pshufd", 0x66, 0x70, true, L_INT);
	add2("pshufhw", 0xf3, 0x70, true, L_INT);
	add2("pshuflw", 0xf2, 0x70, true, L_INT);
	add("pinsrw x, ecx", 0x66, 0, 0xc4, 0xc1, true, L_INT);
	add("pinsrw x, m16", 0x66, 0, 0xc4, 0x07, true, L_INT);
	add("pextrw eax, x", 0x66, 0, 0xc5, 0xc1, true, L_INT);
	add("pextrw rax, x", 0x66, 0x48, 0xc5, 0xc1, true, L_INT);
	add("pmovmskb eax, x", 0x66, 0, 0xd7, 0xc1, false, L_INT);
	fixed(add("pmovmskb r9, x9", 0x66, 0x4d, 0xd7, 0xc9, false, L_INT));
	fixed(add("paddb x8, x15", 0x66, 0x45, 0xfc, 0xc7, false, L_INT));
	fixed(add("pxor x1, x1", 0x66, 0, 0xef, 0xc9, false, L_INT));
	add("maskmovdqu", 0x66, 0, 0xf7, 0xc1, false, L_INT);
	add("movntdq m, x", 0x66, 0, 0xe7, 0x07, false, L_INT);
	add("movntps m, x", 0, 0, 0x2b, 0x07, false, L_INT);
	add("movntpd m, x", 0x66, 0, 0x2b, 0x07, false, L_INT);
	add("movnti m32", 0, 0, 0xc3, 0x07, false, L_INT);
}

static void add_moves(void)
{
	static const struct { uint8_t pre, op; const char *n; } mv[] = {
		{ 0, 0x10, "movups" }, { 0, 0x11, "movups st" },
		{ 0xf3, 0x10, "movss" }, { 0xf3, 0x11, "movss st" },
		{ 0x66, 0x10, "movupd" }, { 0x66, 0x11, "movupd st" },
		{ 0xf2, 0x10, "movsd" }, { 0xf2, 0x11, "movsd st" },
		{ 0, 0x12, "movlps/movhlps" }, { 0, 0x16, "movhps/movlhps" },
		{ 0, 0x28, "movaps" }, { 0, 0x29, "movaps st" },
		{ 0x66, 0x28, "movapd" }, { 0x66, 0x29, "movapd st" },
		{ 0x66, 0x6f, "movdqa" }, { 0xf3, 0x6f, "movdqu" },
		{ 0x66, 0x7f, "movdqa st" }, { 0xf3, 0x7f, "movdqu st" },
		{ 0xf3, 0x7e, "movq x, x/m" },
	};
	for (size_t i = 0; i < sizeof(mv) / sizeof(mv[0]); i++)
		add2(mv[i].n, mv[i].pre, mv[i].op, false, L_INT);
	add("movlpd x, m", 0x66, 0, 0x12, 0x07, false, L_INT);
	add("movhpd x, m", 0x66, 0, 0x16, 0x07, false, L_INT);
	add("movlps m, x", 0, 0, 0x13, 0x07, false, L_INT);
	add("movhps m, x", 0, 0, 0x17, 0x07, false, L_INT);
	add("movlpd m, x", 0x66, 0, 0x13, 0x07, false, L_INT);
	add("movhpd m, x", 0x66, 0, 0x17, 0x07, false, L_INT);
	add("movq m, x (d6)", 0x66, 0, 0xd6, 0x07, false, L_INT);
	add("movq x, x (d6)", 0x66, 0, 0xd6, 0xc1, false, L_INT);
	add("movd x, ecx", 0x66, 0, 0x6e, 0xc1, false, L_INT);
	add("movq x, rcx", 0x66, 0x48, 0x6e, 0xc1, false, L_INT);
	add("movd x, m", 0x66, 0, 0x6e, 0x07, false, L_INT);
	add("movq x, m (6e)", 0x66, 0x48, 0x6e, 0x07, false, L_INT);
	add("movd ecx, x", 0x66, 0, 0x7e, 0xc1, false, L_INT);
	add("movq rcx, x", 0x66, 0x48, 0x7e, 0xc1, false, L_INT);
	add("movd m, x", 0x66, 0, 0x7e, 0x07, false, L_INT);
	add("movq m, x (7e)", 0x66, 0x48, 0x7e, 0x07, false, L_INT);
	fixed(add("movd x9, r10d", 0x66, 0x45, 0x6e, 0xca, false, L_INT));
	fixed(add("movaps x12, x3", 0, 0x44, 0x28, 0xe3, false, L_INT));
	/* [rdi+8]: #GP for an aligned form, none for MOVUPS */
	for (int i = 0; i < 4; i++) {
		static const struct { uint8_t pre, op; const char *n; } a[] = {
			{ 0, 0x28, "movaps x, m+8" }, { 0, 0x29, "movaps m+8, x" },
			{ 0, 0x58, "addps x, m+8" }, { 0, 0x10, "movups x, m+8" },
		};
		struct scase *c = add(a[i].n, a[i].pre, 0, a[i].op, 0x47, false,
				      L_INT);

		c->b[c->len++] = 8;
		c->rmk = F_FIXED;
	}
	add("stmxcsr", 0, 0, 0xae, 0x1f, false, L_INT);
	add("ldmxcsr", 0, 0, 0xae, 0x17, false, L_INT);
}

/* A single-precision number of any class */
static uint32_t rnd_ps(void)
{
	static const uint32_t edge[] = {
		0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000,
		0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0xff812345,
		0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0x4f000000,
		0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000, 0xdf000000,
		0x3f000000, 0x3fc00000, 0x40200000, 0xbfc00000, 0x00400000,
	};
	uint64_t k = rnd();

	switch (k & 3) {
	case 0:
		return edge[(k >> 2) % (sizeof(edge) / sizeof(edge[0]))];
	case 1: {	/* an integer or a half between two */
		float f = (float)(int32_t)(rnd() >> (32 + (k >> 2) % 31)) +
			  ((k >> 8) & 1) * 0.5f;
		uint32_t v;

		if (k & 0x200)
			f = -f;
		memcpy(&v, &f, 4);
		return v;
	}
	case 2:	/* near 1, any sign */
		return (k >> 8 & 0x80000000) | (0x3c000000 +
						((k >> 10) & 0x7ffffff));
	default:
		return k >> 16;
	}
}

static uint64_t rnd_pd(void)
{
	static const uint64_t edge[] = {
		0, 1ULL << 63, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
		0x7ff0000000000000ULL, 0xfff0000000000000ULL,
		0x7ff8000000000000ULL, 0xfff8000000000001ULL,
		0x7ff0000000000001ULL, 0xfff4000000000000ULL, 1,
		0x800fffffffffffffULL, 0x0010000000000000ULL,
		0x7fefffffffffffffULL, 0x41e0000000000000ULL,
		0xc1e0000000000000ULL, 0x41dfffffffffffffULL,
		0xc1e0000000200000ULL, 0x43e0000000000000ULL,
		0xc3e0000000000000ULL, 0x41dfffffffe00000ULL,
		0x3fe0000000000000ULL, 0x3ff8000000000000ULL,
		0x4004000000000000ULL, 0x36a0000000000000ULL,
		0x0000000000100000ULL, 0x47efffffe0000000ULL,
	};
	uint64_t k = rnd();

	switch (k & 3) {
	case 0:
		return edge[(k >> 2) % (sizeof(edge) / sizeof(edge[0]))];
	case 1: {
		double d = (double)(int64_t)(rnd() >> (1 + (k >> 2) % 63)) +
			   ((k >> 8) & 1) * 0.5;
		uint64_t v;

		if (k & 0x200)
			d = -d;
		memcpy(&v, &d, 8);
		return v;
	}
	case 2:
		return (k & (1ULL << 63)) | (0x3e00000000000000ULL +
					     (rnd() >> 9));
	default:
		return rnd();
	}
}

static uint32_t rnd_i32(void)
{
	static const uint32_t edge[] = { 0, 1, 0xffffffff, 0x80000000,
					 0x7fffffff, 0x01000001, 0xff000001,
					 0x00ffffff };
	uint64_t k = rnd();

	return k & 1 ? edge[(k >> 1) % 8] : (uint32_t)(k >> 32) >> (k >> 8) % 32;
}

/* 16 bytes of a case's kind of lanes at p */
static void fill(uint8_t *p, int lanes)
{
	for (int i = 0; i < 16; i += 8) {
		uint64_t v = rnd();

		if (lanes == L_PD) {
			v = rnd_pd();
		} else if (lanes == L_PS) {
			v = rnd_ps() | (uint64_t)rnd_ps() << 32;
		} else if (lanes == L_I32) {
			v = rnd_i32() | (uint64_t)rnd_i32() << 32;
		} else if (!(v & 3)) {	/* a shift count */
			v = (v >> 8) % 70;
		} else if ((v & 3) == 1) {	/* edge lanes */
			static const uint64_t e[4] = {
				0x8000800080008000ULL, 0x7fff7fff7fff7fffULL,
				0xffffffffffffffffULL, 0x807f01fe80008000ULL,
			};
			v = e[(v >> 2) & 3] ^ (rnd() & rnd() & rnd());
		}
		memcpy(p + i, &v, 8);
	}
}

static uint16_t make_state(const struct scase *c, uint8_t *s)
{
	uint32_t mxcsr = 0x1f80 | (rnd() & 0x3f), host = 0x1f80;
	uint64_t fl = 2 | (rnd() & (HX_FLAGS & ~FL_DF));

	memset(s, 0, HX_BLOCK);
	if (rnd() & 1) {	/* rounding, DAZ, FTZ; now and then unmasked */
		mxcsr |= (rnd() & 3) << 13 | (rnd() & 0x8040);
		if (!(rnd() & 7))
			mxcsr &= ~((rnd() & 0x3f) << 7);
	}
	memcpy(s + 24, &mxcsr, 4);
	memcpy(s + HX_MXCSR, &host, 4);
	s[0] = 0x7f;	/* FCW 037FH */
	s[1] = 0x03;
	for (int i = 0; i < 8; i++) {	/* MM0..MM7 */
		uint64_t v = rnd_i32() | (uint64_t)rnd_i32() << 32;

		memcpy(s + 32 + 16 * i, &v, 8);
	}
	for (int i = 0; i < 16; i++)
		fill(s + 160 + 16 * i, c->lanes);
	for (int i = 0; i < HX_MEM_LEN; i += 16)
		fill(s + HX_MEM + i, c->lanes);
	for (int i = 0; i < 16; i++) {
		uint64_t v = rnd();

		if (c->lanes == L_I32 || (v & 3) == 0)
			v = (uint64_t)(int64_t)(int32_t)rnd_i32() << (v >> 2) % 33;
		if (c->lanes == L_I32 && (v & 4))
			v = (int64_t)(int32_t)rnd_i32();
		memcpy(s + HX_GPR + 8 * i, &v, 8);
	}
	/* [rdi] the middle of the area: 16-byte aligned */
	{
		uint64_t d = HX_MEM_LEN / 2;

		memcpy(s + HX_GPR + 8 * R_DI, &d, 8);
	}
	if (c->b[c->len - 1] == 0x17 && c->b[c->len - 2] == 0xae) {
		/* LDMXCSR: a valid value */
		memcpy(s + HX_MEM + HX_MEM_LEN / 2, &mxcsr, 4);
		s[HX_MEM + HX_MEM_LEN / 2 + 1] ^= rnd() & 0x7f;
	}
	memcpy(s + HX_FL, &fl, 8);
	return 1 << R_DI;
}

/*
 * RCP/RSQRT: each computed lane of the emu's XMM0 what the SDM allows
 * (denormal operands are zeros, tiny results zeros), the rest XMM1's
 */
static bool approx_ok(const struct scase *c, const uint8_t *in,
		      const uint8_t *out, char *why, size_t wl)
{
	bool rsqrt = c->b[c->len - 2] == 0x52;
	int n = c->scalar ? 1 : 4;

	for (int l = 0; l < 4; l++) {
		float x, r;
		uint32_t xb, rb;
		double want;
		bool ok;

		memcpy(&x, in + 160 + 16 + 4 * l, 4);	/* XMM1 */
		memcpy(&r, out + HX_OUT + 160 + 4 * l, 4);
		memcpy(&xb, &x, 4);
		memcpy(&rb, &r, 4);
		if (l >= n) {
			memcpy(&xb, in + 160 + 4 * l, 4);	/* XMM0 */
			ok = rb == xb;
		} else if (isnan(x)) {
			ok = rb == (xb | 0x400000);
		} else if ((xb & 0x7fffffff) < 0x800000) {
			ok = isinf(r) && signbit(r) == signbit(x);
		} else if (rsqrt && signbit(x)) {
			ok = rb == 0xffc00000;
		} else if (isinf(x)) {
			ok = r == 0 && signbit(r) == signbit(x);
		} else {
			want = rsqrt ? 1.0 / sqrt((double)x) : 1.0 / (double)x;
			if (fabs(want) < 0x1p-126)
				ok = r == 0 && signbit(r) == signbit(x);
			else
				ok = fabs((double)r - want) <=
				     fabs(want) * 1.5 / 4096;
		}
		if (!ok) {
			snprintf(why, wl, "lane %d: %08x of %08x", l, rb, xb);
			return false;
		}
	}
	return true;
}

static void test_sse_against_host(void)
{
	struct hx *h = hx_new(SEED);
	int samples = hx_samples(SAMPLES);
	static uint8_t in[HX_BLOCK] __attribute__((aligned(16)));
	int cases_translated = 0, xm = 0;

	if (!h) {
		SKIP("no executable memory for the host's runs");
		return;
	}
	add_float();
	add_conv();
	add_int();
	add_moves();
	for (int k = 0; k < ncases; k++) {
		const struct scase *c = &cases[k];
		bool tr = false;

		hx_next_form(h);

		for (int s = 0; s < samples; s++) {
			uint8_t insn[16];
			size_t len = make_insn(c, insn);
			uint16_t ptr = make_state(c, in);
			struct hx_mask m = { .flags = HX_FLAGS };
			int vec, fails = h->fails;

			if (c->imm)
				insn[len++] = rnd() & 1 ? rnd() % 70 : rnd();
			if (c->approx)
				m.xmm0_lanes = c->scalar ? 1 : 15;
			hx_check(h, c->name, insn, len, in, ptr, &m, s, &vec);
			if (!tr && s < 4 && vec < 0) {
				/* its floating point needs the default MXCSR */
				uint32_t mx;

				memcpy(&mx, in + 24, 4);
				mx = 0x1f80 | (mx & 0x3f);
				memcpy(in + 24, &mx, 4);
				tr = hx_translated(h, insn, len, in, ptr);
			}
			xm += vec == EXC_XM;
			if (c->approx && h->fails == fails && vec < 0) {
				for (int w = 0; w < HX_WAYS; w++) {
					char why[120];

					if (!approx_ok(c, in, h->out[w], why,
						       sizeof(why)))
						hx_report(h, c->name, insn, len,
							  w, s, in, why);
				}
			}
		}
		cases_translated += tr;
		if (getenv("HX_VERBOSE"))
			printf("  %-28s %s\n", c->name,
			       tr ? "translated" : "");
	}
	printf("  %d forms, %d runs (%d #XM, %d translated forms), %d differ\n",
	       ncases, h->runs, xm, cases_translated, h->fails);
	CHECK_EQ(h->fails, 0);
	hx_free(h);
}

/*
 * Tiny results with underflow unmasked, exact or not, with and without
 * FZ (which flushes only masked underflows), and masked
 */
static void test_sse_underflow(void)
{
	static const struct {
		const char *name;
		uint8_t b[4];
		uint64_t x0, x1;
	} u[] = {
		/* 2^-140: a float denormal, exact */
		{ "cvtsd2ss exact", { 0xf2, 0x0f, 0x5a, 0xc1 }, 0,
		  0x3730000000000000ULL },
		/* (1 + 2^-52) * 2^-140: inexact */
		{ "cvtsd2ss inexact", { 0xf2, 0x0f, 0x5a, 0xc1 }, 0,
		  0x3730000000000001ULL },
		/* 2^-1000 * 2^-40: exact */
		{ "mulsd exact", { 0xf2, 0x0f, 0x59, 0xc1 },
		  0x0170000000000000ULL, 0x3d70000000000000ULL },
		/*
		 * (1 + 2^-52) * 2^-1000 * 2^-60: a denormal, inexact, but
		 * exact with an unbounded exponent (PE then clear)
		 */
		{ "mulsd tiny", { 0xf2, 0x0f, 0x59, 0xc1 },
		  0x0170000000000001ULL, 0x3c30000000000000ULL },
		/* (1 + 2^-52)^2 * 2^-1060: inexact either way */
		{ "mulsd inexact", { 0xf2, 0x0f, 0x59, 0xc1 },
		  0x0170000000000001ULL, 0x3c30000000000001ULL },
		/* DBL_MAX * 2, DBL_MAX * (1 + 2^-52), FLT_MAX * 2 */
		{ "mulsd over", { 0xf2, 0x0f, 0x59, 0xc1 },
		  0x7fefffffffffffffULL, 0x4000000000000000ULL },
		{ "mulsd over inexact", { 0xf2, 0x0f, 0x59, 0xc1 },
		  0x7fefffffffffffffULL, 0x3ff0000000000001ULL },
		{ "addss over", { 0xf3, 0x0f, 0x58, 0xc1 },
		  0x7f7fffff, 0x7f7fffff },
		{ "cvtpd2ps", { 0x66, 0x0f, 0x5a, 0xc1 }, 0,
		  0x3730000000000001ULL },
		/* FLT_MIN + -(largest denormal) = 2^-149: exact */
		{ "addss tiny", { 0xf3, 0x0f, 0x58, 0xc1 }, 0x00800000,
		  0x807fffff },
	};
	/* UM clear (with FZ, with flags), OM and UM clear, all masked */
	static const uint32_t mx[] = { 0x1780, 0x9780, 0x1780 | 0x3f, 0x1380,
				       0x1f80, 0x9f80 };
	struct hx *h = hx_new(SEED);
	static uint8_t in[HX_BLOCK] __attribute__((aligned(16)));
	struct hx_mask m = { .flags = HX_FLAGS };
	int xm = 0;

	if (!h) {
		SKIP("no executable memory for the host's runs");
		return;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		for (size_t k = 0; k < sizeof(mx) / sizeof(mx[0]); k++) {
			uint32_t host = 0x1f80;
			int vec;

			hx_next_form(h);
			memset(in, 0, sizeof(in));
			in[0] = 0x7f;	/* FCW 037FH */
			in[1] = 0x03;
			memcpy(in + 24, &mx[k], 4);
			memcpy(in + HX_MXCSR, &host, 4);
			memcpy(in + 160, &u[i].x0, 8);
			memcpy(in + 176, &u[i].x1, 8);
			hx_check(h, u[i].name, u[i].b, 4, in, 0, &m, k, &vec);
			xm += vec == EXC_XM;
		}
	printf("  %d runs (%d #XM), %d differ\n", h->runs, xm, h->fails);
	CHECK(xm >= 20);
	CHECK_EQ(h->fails, 0);
	hx_free(h);
}

int main(void)
{
	RUN(test_sse_against_host);
	RUN(test_sse_underflow);
	return test_summary();
}
