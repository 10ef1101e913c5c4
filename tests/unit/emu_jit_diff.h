/* SPDX-License-Identifier: MIT */
/*
 * The translator against the interpreter: random programs of the integer
 * instructions the translator knows (and some it leaves to the
 * interpreter), run once with --accel emu,jit=off's CPU and once with
 * jit=on's, after which registers, RIP, RFLAGS and memory must be the
 * same. Used by test_emu_jit.c (a fixed number of seeds) and by
 * tests/fuzz/emu_jit_fuzz.c (the fuzzer's bytes as the random stream).
 *
 * Programs use R15 as the base of their data (EMU_TEST_DATA) and R14 as a
 * small index, which they never write; RSP is the stack. Branches only go
 * forward to instruction boundaries, so every program ends at its HLT or
 * in an exception stub's (a #PF, #GP or #DE through a bad address or a
 * division).
 */
#ifndef CVISOR_TEST_EMU_JIT_DIFF_H
#define CVISOR_TEST_EMU_JIT_DIFF_H

#include <stdio.h>

#include "accel/emu/jit.h"
#include "emu_test.h"

#define JD_INSNS	96
#define JD_CODE_MAX	(JD_INSNS * 16 + 64)
#define JD_DATA_BYTES	0x3000
#define JD_CMP_BYTES	0x6000
#define JD_HIGH		0xffffff8000000000ULL	/* PML4 entry 511: the low 16 MiB */

/* The random stream: bytes from a buffer, then zeros */
struct jd_rand {
	const uint8_t *p;
	size_t n, at;
	uint64_t seed;		/* when p is NULL: xorshift */
};

static inline uint32_t jd_r(struct jd_rand *r, uint32_t below)
{
	uint32_t v;

	if (r->p) {
		v = 0;
		for (int i = 0; i < 3; i++)
			v = v << 8 | (r->at < r->n ? r->p[r->at++] : 0);
	} else {
		r->seed ^= r->seed << 13;
		r->seed ^= r->seed >> 7;
		r->seed ^= r->seed << 17;
		v = (uint32_t)(r->seed >> 11);
	}
	return below ? v % below : 0;
}

struct jd_prog {
	uint8_t code[JD_CODE_MAX];
	unsigned len;
	uint64_t base;			/* its guest address */
	unsigned start[JD_INSNS + 1];	/* instruction offsets */
	int jcc_at[JD_INSNS];		/* rel8 offset to fix, or -1 */
	int jcc_to[JD_INSNS];		/* target instruction */
	bool plain;	/* jd_insn: none of the kinds that often end a block */
	/*
	 * Only forms whose code leaves RDX, R9 and R10 alone (jit_op_scratch:
	 * no MUL/DIV, CDQ, IMUL, BSF, SHLD, SSE, REP, PUSHF/POPF, BTS ..),
	 * so that their blocks keep guest registers there too (the caller
	 * sets it before jd_build or jd_build_loop)
	 */
	bool lean;
};

/* A register the program may write (not RSP, R14, R15) */
static inline int jd_dst(struct jd_rand *r)
{
	static const int regs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12,
				    13 };

	return regs[jd_r(r, 13)];
}

struct jd_rm {
	bool mem;
	int reg;
	int kind;	/* 0 [r15+d8], 1 [r15+r14*s+d32], 2 [rip+d32], 3 [r13] */
	int scale;
	int32_t disp;
};

/*
 * One instruction: [FS] [66] [REX] opcode ModRM [SIB] [disp], then imm.
 * rex40: a REX even without bits (byte registers SPL..DIL, not AH..BH).
 */
static inline void jd_emit(struct jd_prog *pg, int size, bool rex40,
			   bool fs, const uint8_t *opc, int nopc, int regf,
			   struct jd_rm rm, uint64_t imm, int nimm)
{
	uint8_t *c = pg->code + pg->len;
	uint8_t rex = 0x40;
	int n = 0, disp_at = -1;

	if (fs && rm.mem)
		c[n++] = 0x64;
	if (size == 2)
		c[n++] = 0x66;
	if (size == 8)
		rex |= 8;
	if (regf & 8)
		rex |= 4;
	if (rm.mem && rm.kind == 1)
		rex |= 2 | 1;
	if (rm.mem && (rm.kind == 0 || rm.kind == 3))
		rex |= 1;
	if (!rm.mem && (rm.reg & 8))
		rex |= 1;
	if (rex != 0x40 || rex40)
		c[n++] = rex;
	memcpy(c + n, opc, nopc);
	n += nopc;
	if (!rm.mem) {
		c[n++] = 0xc0 | (regf & 7) << 3 | (rm.reg & 7);
	} else if (rm.kind == 0) {
		c[n++] = 0x40 | (regf & 7) << 3 | 7;
		c[n++] = (uint8_t)rm.disp;
	} else if (rm.kind == 1) {
		c[n++] = 0x80 | (regf & 7) << 3 | 4;
		c[n++] = rm.scale << 6 | 6 << 3 | 7;
		memcpy(c + n, &rm.disp, 4);
		n += 4;
	} else if (rm.kind == 2) {
		c[n++] = (regf & 7) << 3 | 5;
		disp_at = n;
		n += 4;
	} else {
		c[n++] = 0x40 | (regf & 7) << 3 | 5;	/* [r13 + 0] */
		c[n++] = 0;
	}
	memcpy(c + n, &imm, nimm);
	n += nimm;
	if (disp_at >= 0) {
		/* RIP-relative into the data, past the other kinds' bytes */
		int32_t d = (int32_t)(EMU_TEST_DATA + 0x2000 + rm.disp -
				      (pg->base + pg->len + n));

		memcpy(c + disp_at, &d, 4);
	}
	pg->len += n;
}

static inline struct jd_rm jd_pick_rm(struct jd_rand *r, int size, bool mem)
{
	struct jd_rm rm = { .mem = mem };

	if (!mem) {
		rm.reg = jd_dst(r);
		return rm;
	}
	rm.kind = jd_r(r, 16);
	rm.kind = rm.kind < 8 ? 0 : rm.kind < 12 ? 1 : rm.kind < 15 ? 2 : 3;
	rm.scale = jd_r(r, 4);
	/* now and then across a page end */
	rm.disp = jd_r(r, 8) ? (int32_t)jd_r(r, 120) :
		  (int32_t)(0xff8 - size / 2);
	if (rm.kind == 0)
		rm.disp = (int8_t)rm.disp;
	return rm;
}

static inline uint64_t jd_imm(struct jd_rand *r)
{
	static const uint64_t edge[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff,
					 0x8000, 0xffff, 0x7fffffff,
					 0x80000000, 0xffffffff };

	if (jd_r(r, 2))
		return edge[jd_r(r, 11)];
	return (uint64_t)jd_r(r, 1u << 24) << 40 ^ jd_r(r, 1u << 24) << 16 ^
	       jd_r(r, 1u << 16);
}

/*
 * Before a DIV (IDIV: sign) of size bytes: the dividend's high half made
 * 0 (sign-extended), so that the quotient may fit
 */
static inline void jd_div_setup(struct jd_prog *pg, int size, bool sign)
{
	static const uint8_t seq[2][4][4] = {
		{ { 2, 0xb4, 0 },		/* mov ah, 0 */
		  { 3, 0x66, 0x31, 0xd2 },	/* xor dx, dx */
		  { 2, 0x31, 0xd2 },		/* xor edx, edx */
		  { 2, 0x31, 0xd2 } },
		{ { 2, 0x66, 0x98 },		/* cbw */
		  { 2, 0x66, 0x99 },		/* cwd */
		  { 1, 0x99 },			/* cdq */
		  { 2, 0x48, 0x99 } },		/* cqo */
	};
	const uint8_t *q = seq[sign][size == 1 ? 0 : size == 2 ? 1 :
				     size == 4 ? 2 : 3];

	memcpy(pg->code + pg->len, q + 1, q[0]);
	pg->len += q[0];
}

/*
 * An SSE move: MOVUPS/MOVAPS/MOVDQA/MOVDQU loads and stores, PXOR,
 * MOVSS/MOVSD, MOVD/MOVQ with a register or memory; rm is a memory
 * operand or (its number) an XMM or general register.
 */
static inline void jd_sse(struct jd_prog *pg, struct jd_rand *r,
			  struct jd_rm rm, bool fs)
{
	static const uint8_t forms[][3] = {
		/* prefix (0: none), opcode, 1: r/m is a general register */
		{ 0, 0x10 }, { 0, 0x11 }, { 0, 0x28 }, { 0, 0x29 },
		{ 0x66, 0x6f }, { 0x66, 0x7f }, { 0xf3, 0x6f }, { 0xf3, 0x7f },
		{ 0x66, 0xef }, { 0xf3, 0x10 }, { 0xf3, 0x11 }, { 0xf2, 0x10 },
		{ 0xf2, 0x11 }, { 0x66, 0x6e, 1 }, { 0x66, 0x7e, 1 },
		{ 0xf3, 0x7e }, { 0x66, 0xd6 },
	};
	const uint8_t *f = forms[jd_r(r, sizeof(forms) / sizeof(forms[0]))];
	uint8_t op[2] = { 0x0f, f[1] };
	bool aligned = f[1] == 0x28 || f[1] == 0x29 ||
		       (f[0] == 0x66 && (f[1] & 0xf) == 0xf);

	if (!rm.mem && !f[2])
		rm.reg = jd_r(r, 16);
	/* the aligned forms mostly on aligned addresses */
	if (rm.mem && aligned && jd_r(r, 4)) {
		rm.kind = 1;
		rm.disp &= ~15;
	}
	if (fs && rm.mem)
		pg->code[pg->len++] = 0x64;
	if (f[0])
		pg->code[pg->len++] = f[0];
	jd_emit(pg, f[2] && jd_r(r, 2) ? 8 : 4, false, false, op, 2,
		jd_r(r, 16), rm, 0, 0);
}

/*
 * SSE/SSE2 arithmetic, logic, shuffles, compares and conversions (the
 * translator's DC_SSE forms and some neighbours it leaves alone), with
 * a register or memory operand: 16-byte sources mostly aligned.
 */
static inline void jd_sse_arith(struct jd_prog *pg, struct jd_rand *r,
				struct jd_rm rm, bool fs)
{
	enum { X, I8, SH, MSK, SC, CMP, CVI, CV2, HALF };
	static const uint8_t forms[][3] = {
		/* prefix (0: none), opcode, kind */
		{ 0x66, 0x60, X }, { 0x66, 0x61, X }, { 0x66, 0x62, X },
		{ 0x66, 0x63, X }, { 0x66, 0x64, X }, { 0x66, 0x65, X },
		{ 0x66, 0x66, X }, { 0x66, 0x67, X }, { 0x66, 0x68, X },
		{ 0x66, 0x69, X }, { 0x66, 0x6a, X }, { 0x66, 0x6b, X },
		{ 0x66, 0x6c, X }, { 0x66, 0x6d, X }, { 0x66, 0x74, X },
		{ 0x66, 0x75, X }, { 0x66, 0x76, X }, { 0x66, 0xd1, X },
		{ 0x66, 0xd2, X }, { 0x66, 0xd3, X }, { 0x66, 0xd4, X },
		{ 0x66, 0xd5, X }, { 0x66, 0xd8, X }, { 0x66, 0xd9, X },
		{ 0x66, 0xda, X }, { 0x66, 0xdb, X }, { 0x66, 0xdc, X },
		{ 0x66, 0xdd, X }, { 0x66, 0xde, X }, { 0x66, 0xdf, X },
		{ 0x66, 0xe0, X }, { 0x66, 0xe1, X }, { 0x66, 0xe2, X },
		{ 0x66, 0xe3, X }, { 0x66, 0xe4, X }, { 0x66, 0xe5, X },
		{ 0x66, 0xe8, X }, { 0x66, 0xe9, X }, { 0x66, 0xea, X },
		{ 0x66, 0xeb, X }, { 0x66, 0xec, X }, { 0x66, 0xed, X },
		{ 0x66, 0xee, X }, { 0x66, 0xef, X }, { 0x66, 0xf1, X },
		{ 0x66, 0xf2, X }, { 0x66, 0xf3, X }, { 0x66, 0xf4, X },
		{ 0x66, 0xf5, X }, { 0x66, 0xf6, X }, { 0x66, 0xf8, X },
		{ 0x66, 0xf9, X }, { 0x66, 0xfa, X }, { 0x66, 0xfb, X },
		{ 0x66, 0xfc, X }, { 0x66, 0xfd, X }, { 0x66, 0xfe, X },
		{ 0, 0x14, X }, { 0, 0x15, X }, { 0x66, 0x14, X },
		{ 0x66, 0x15, X }, { 0, 0x54, X }, { 0, 0x55, X },
		{ 0, 0x56, X }, { 0, 0x57, X }, { 0x66, 0x54, X },
		{ 0x66, 0x57, X }, { 0x66, 0x51, X }, { 0x66, 0x58, X },
		{ 0x66, 0x59, X }, { 0x66, 0x5c, X }, { 0x66, 0x5d, X },
		{ 0x66, 0x5e, X }, { 0x66, 0x5f, X }, { 0, 0x58, X },
		{ 0x66, 0x70, I8 }, { 0xf3, 0x70, I8 }, { 0xf2, 0x70, I8 },
		{ 0, 0xc6, I8 }, { 0x66, 0xc6, I8 },
		{ 0x66, 0x71, SH }, { 0x66, 0x72, SH }, { 0x66, 0x73, SH },
		{ 0x66, 0xd7, MSK }, { 0, 0x50, MSK }, { 0x66, 0x50, MSK },
		{ 0xf2, 0x58, SC }, { 0xf2, 0x59, SC }, { 0xf2, 0x5c, SC },
		{ 0xf2, 0x5e, SC }, { 0xf2, 0x5d, SC }, { 0xf2, 0x5f, SC },
		{ 0xf2, 0x51, SC }, { 0xf2, 0x5a, SC }, { 0xf3, 0x58, SC },
		{ 0xf3, 0x59, SC }, { 0xf3, 0x5c, SC }, { 0xf3, 0x5e, SC },
		{ 0xf3, 0x51, SC }, { 0xf3, 0x5a, SC }, { 0xf3, 0x5d, SC },
		{ 0x66, 0x2e, CMP }, { 0x66, 0x2f, CMP }, { 0, 0x2e, CMP },
		{ 0, 0x2f, CMP },
		{ 0xf2, 0x2a, CVI }, { 0xf3, 0x2a, CVI },
		{ 0xf2, 0x2c, CV2 }, { 0xf2, 0x2d, CV2 }, { 0xf3, 0x2c, CV2 },
		{ 0xf3, 0x2d, CV2 },
		{ 0, 0x12, HALF }, { 0, 0x13, HALF }, { 0, 0x16, HALF },
		{ 0, 0x17, HALF }, { 0x66, 0x12, HALF }, { 0x66, 0x13, HALF },
		{ 0x66, 0x16, HALF }, { 0x66, 0x17, HALF },
		/* MMX forms, which the translator leaves to the interpreter */
		{ 0, 0xfc, X }, { 0, 0x63, X }, { 0, 0xd5, X }, { 0, 0xf6, X },
		{ 0, 0x6f, X }, { 0, 0x7f, X }, { 0, 0x2a, X }, { 0, 0x70, I8 },
		{ 0, 0x71, SH }, { 0, 0x73, SH }, { 0, 0xd7, MSK },
	};
	const uint8_t *f = forms[jd_r(r, sizeof(forms) / sizeof(forms[0]))];
	uint8_t op[2] = { 0x0f, f[1] };
	int regf = jd_r(r, 16), size = jd_r(r, 2) ? 8 : 4, nimm = 0;
	uint64_t imm = jd_r(r, 256);

	switch (f[2]) {
	case X: case I8:
		nimm = f[2] == I8;
		/* 16-byte sources mostly aligned */
		if (rm.mem && jd_r(r, 4)) {
			rm.kind = 1;
			rm.disp &= ~15;
		}
		/* fall through */
	case SC: case CMP: case HALF:
		if (!rm.mem)
			rm.reg = jd_r(r, 16);
		break;
	case SH: {
		static const uint8_t ext[] = { 2, 4, 6, 3, 7, 2, 6 };

		rm = (struct jd_rm){ .reg = jd_r(r, 16) };
		regf = ext[jd_r(r, f[1] == 0x73 ? 7 : 3)];
		if (f[1] == 0x73 && regf == 4)
			regf = 6;
		if (jd_r(r, 2))
			imm = jd_r(r, 20);
		nimm = 1;
		break;
	}
	case MSK:
		rm = (struct jd_rm){ .reg = jd_r(r, 16) };
		regf = jd_dst(r);
		break;
	case CVI:	/* a general register or memory source */
		break;
	default:	/* CV2: a general register destination */
		regf = jd_dst(r);
		if (!rm.mem)
			rm.reg = jd_r(r, 16);
		break;
	}
	if (fs && rm.mem)
		pg->code[pg->len++] = 0x64;
	if (f[0])
		pg->code[pg->len++] = f[0];
	jd_emit(pg, size, false, false, op, 2, regf, rm, imm, nimm);
}

/*
 * An x87 data instruction, which the translator leaves to the
 * interpreter: a memory form (loads, stores, arithmetic of every operand
 * format) or a register form (arithmetic, compares, FLD/FST/FXCH, FCMOV,
 * FCOMI, the constants and one-operand forms)
 */
static inline void jd_x87(struct jd_prog *pg, struct jd_rand *r,
			  struct jd_rm rm, bool fs)
{
	static const uint8_t mem_forms[][2] = {
		{ 0xd8, 0 }, { 0xd8, 3 }, { 0xd8, 6 }, { 0xd9, 0 },
		{ 0xd9, 3 }, { 0xda, 1 }, { 0xda, 7 }, { 0xdb, 0 },
		{ 0xdb, 1 }, { 0xdb, 3 }, { 0xdb, 5 }, { 0xdb, 7 },
		{ 0xdc, 4 }, { 0xdc, 5 }, { 0xdd, 0 }, { 0xdd, 2 },
		{ 0xdd, 3 }, { 0xde, 1 }, { 0xdf, 5 }, { 0xdf, 7 },
		{ 0xd9, 7 }, { 0xd9, 7 },
		/* FLDENV, FNSTENV, FRSTOR, FNSAVE: 32-bit or (66) 16-bit */
		{ 0xd9, 4 }, { 0xd9, 6 }, { 0xdd, 4 }, { 0xdd, 6 },
	};
	static const uint8_t reg_forms[][2] = {
		{ 0xd8, 0xc0 }, { 0xd8, 0xf8 }, { 0xdc, 0xe8 }, { 0xde, 0xc8 },
		{ 0xd9, 0xc0 }, { 0xd9, 0xc8 }, { 0xdd, 0xd8 }, { 0xd8, 0xd0 },
		{ 0xda, 0xc0 }, { 0xdb, 0xe8 }, { 0xdf, 0xf0 }, { 0xd9, 0xe0 },
		{ 0xd9, 0xe8 }, { 0xd9, 0xfa }, { 0xd9, 0xfc }, { 0xd9, 0xfe },
	};
	uint8_t op;

	if (rm.mem) {
		const uint8_t *f = mem_forms[jd_r(r, sizeof(mem_forms) /
						    sizeof(mem_forms[0]))];

		bool env = (f[0] == 0xd9 || f[0] == 0xdd) &&
			   (f[1] == 4 || f[1] == 6);

		op = f[0];
		jd_emit(pg, env && jd_r(r, 2) ? 2 : 4, false, fs, &op, 1, f[1],
			rm, 0, 0);
		return;
	}
	const uint8_t *f = reg_forms[jd_r(r, sizeof(reg_forms) /
					    sizeof(reg_forms[0]))];
	bool one = f[0] == 0xd9 && f[1] >= 0xe0;

	pg->code[pg->len++] = f[0];
	pg->code[pg->len++] = f[1] + (one ? 0 : jd_r(r, 8));
}

/* [r15 + d32] for RDI or RSI: in the data, now and then near a page end */
static inline void jd_lea_r15(struct jd_prog *pg, struct jd_rand *r,
			      int reg)
{
	int32_t d = jd_r(r, 4) ? (int32_t)jd_r(r, 0x2000) :
		    (int32_t)(0x1000 * jd_r(r, 3) - 64 + jd_r(r, 80));
	uint8_t *c = pg->code + pg->len;

	c[0] = 0x49;			/* lea reg, [r15 + d32] */
	c[1] = 0x8d;
	c[2] = 0x80 | reg << 3 | 7;
	memcpy(c + 3, &d, 4);
	pg->len += 7;
}

/* MOV ECX, count; LEA RDI (and RSI); REP STOS or MOVS of size */
static inline void jd_rep_str(struct jd_prog *pg, struct jd_rand *r,
			      int size)
{
	uint32_t n = jd_r(r, 4) ? jd_r(r, 40) : jd_r(r, 1200);
	bool movs = jd_r(r, 2);

	pg->code[pg->len++] = 0xb9;
	memcpy(pg->code + pg->len, &n, 4);
	pg->len += 4;
	jd_lea_r15(pg, r, 7);
	if (movs)
		jd_lea_r15(pg, r, 6);
	pg->code[pg->len++] = 0xf3;
	if (size == 2)
		pg->code[pg->len++] = 0x66;
	else if (size == 8)
		pg->code[pg->len++] = 0x48;
	pg->code[pg->len++] = (movs ? 0xa4 : 0xaa) + (size != 1);
}

/*
 * PUSHF (then POP), POPF of a value with random flags (IF, TF, DF, IOPL,
 * AC, ID, the arithmetic ones) pushed or changed on the stack, CLI, STI,
 * MOV r/m, Sreg (ES..GS, and 6 or 7: #UD)
 */
static inline void jd_sys(struct jd_prog *pg, struct jd_rand *r, int reg,
			  struct jd_rm rm, bool fs)
{
	static const uint32_t bits[] = { FL_IF, FL_TF, FL_DF, FL_IOPL,
					 FL_AC, FL_ID, FL_NT, FL_ARITH };
	uint8_t *c = pg->code + pg->len, op = 0x8c;
	uint32_t v = 0;
	int n = 0;

	/* not the numbers of AH..BH jd_insn may pick: RSP among them */
	reg = jd_dst(r);
	if (!rm.mem)
		rm.reg = jd_dst(r);
	for (int i = jd_r(r, 4); i > 0; i--)
		v |= bits[jd_r(r, 8)] & jd_r(r, 1u << 22);
	switch (jd_r(r, 6)) {
	case 0:
		c[n++] = 0x9c;				/* pushf */
		if (reg >= 8)
			c[n++] = 0x41;
		c[n++] = 0x58 + (reg & 7);		/* pop reg */
		break;
	case 1:
		c[n++] = 0x68;				/* push imm32 */
		memcpy(c + n, &v, 4);
		n += 4;
		c[n++] = 0x9d;				/* popf */
		break;
	case 2:
		c[n++] = 0x9c;				/* pushf */
		c[n++] = 0x48;				/* xor qword [rsp], imm32 */
		c[n++] = 0x81;
		c[n++] = 0x34;
		c[n++] = 0x24;
		memcpy(c + n, &v, 4);
		n += 4;
		c[n++] = 0x9d;				/* popf */
		break;
	case 3:
		c[n++] = jd_r(r, 2) ? 0xfa : 0xfb;	/* cli, sti */
		break;
	default:
		jd_emit(pg, jd_r(r, 3) ? (jd_r(r, 2) ? 4 : 8) : 2, false, fs,
			&op, 1, jd_r(r, 8) < 7 ? jd_r(r, 6) : 6 + jd_r(r, 2),
			rm, 0, 0);
		return;
	}
	pg->len += n;
}

/*
 * BT, BTS, BTR, BTC (LOCK now and then) of a register or memory, by an
 * imm8 or by a register mostly set just before to a bit offset from a
 * few KiB below the operand to a few above (now and then what it held)
 */
static inline void jd_btx(struct jd_prog *pg, struct jd_rand *r, int reg,
			  struct jd_rm rm, bool fs)
{
	int size = jd_r(r, 2) ? 8 : 4, op = jd_r(r, 4);
	uint8_t opc[2] = { 0x0f, 0xba };

	reg = jd_dst(r);
	if (!rm.mem)
		rm.reg = jd_dst(r);
	if (rm.mem && rm.kind == 2)
		rm.kind = 0;	/* (the RIP-relative offset of jd_emit) */
	if (jd_r(r, 2)) {
		if (jd_r(r, 8)) {
			int32_t bit = (int32_t)jd_r(r, 0x9000) - 0x2000;
			uint8_t *c = pg->code + pg->len;

			c[0] = 0x48 | (reg >> 3);	/* mov reg, simm32 */
			c[1] = 0xc7;
			c[2] = 0xc0 | (reg & 7);
			memcpy(c + 3, &bit, 4);
			pg->len += 7;
		}
		opc[1] = 0xa3 + 8 * op;
		if (rm.mem && op && jd_r(r, 3) == 0)
			pg->code[pg->len++] = 0xf0;
		jd_emit(pg, size, false, fs, opc, 2, reg, rm, 0, 0);
		return;
	}
	if (rm.mem && op && jd_r(r, 3) == 0)
		pg->code[pg->len++] = 0xf0;
	jd_emit(pg, size, false, fs, opc, 2, 4 + op, rm, jd_r(r, 256), 1);
}

/*
 * RBP set to a data address, a non-canonical one or one whose next 8
 * bytes leave canonical space, then a memory operand based on RBP or RSP
 * (a stack reference: #SS, but #GP with FS), LEAVE (#SS), a JMP, CALL or
 * RET to RBP (#GP at the branch when it is not canonical), or an SSE
 * encoding that is no instruction (#UD, before CR0.TS's #NM)
 */
static inline void jd_stack_ref(struct jd_prog *pg, struct jd_rand *r)
{
	static const uint64_t bp[] = {
		EMU_TEST_DATA + 0x100, 0x8000000000000000ULL,
		0x7ffffffffffcULL, 0xffff7ffffffffff8ULL, 0x800000000000ULL,
	};
	static const uint8_t forms[][8] = {
		{ 4, 0x48, 0x8b, 0x45, 0x00 },		/* mov rax, [rbp] */
		{ 3, 0x01, 0x4d, 0x00 },		/* add [rbp], ecx */
		{ 4, 0x3e, 0x8b, 0x55, 0x00 },		/* mov edx, ds:[rbp] */
		{ 4, 0x64, 0x8b, 0x45, 0x00 },		/* mov eax, fs:[rbp] */
		{ 4, 0x48, 0x8b, 0x04, 0x2c },		/* mov rax, [rsp+rbp] */
		{ 3, 0xff, 0x75, 0x00 },		/* push qword [rbp] */
		{ 4, 0x0f, 0x10, 0x45, 0x00 },		/* movups xmm0, [rbp] */
		{ 5, 0x48, 0x0f, 0x44, 0x45, 0x00 },	/* cmovz rax, [rbp] */
		{ 1, 0xc9 },				/* leave */
		{ 2, 0xff, 0xe5 },			/* jmp rbp */
		{ 2, 0xff, 0xd5 },			/* call rbp */
		{ 2, 0x55, 0xc3 },			/* push rbp; ret */
		/* no such SSE instruction */
		{ 4, 0x66, 0x0f, 0x12, 0xc1 },
		{ 4, 0xf3, 0x0f, 0x28, 0xc1 },
		{ 6, 0x66, 0x0f, 0xc5, 0x45, 0x00, 0x01 },
		{ 3, 0x0f, 0x13, 0xc1 },
		{ 4, 0x66, 0x0f, 0x2b, 0xc1 },
		{ 5, 0xf3, 0x0f, 0xe7, 0x45, 0x00 },
	};
	int v = jd_r(r, sizeof(bp) / sizeof(bp[0]));
	int f = jd_r(r, sizeof(forms) / sizeof(forms[0]));
	uint8_t *c = pg->code + pg->len;

	/*
	 * LEAVE with a usable RBP would move the stack into the data, a
	 * branch run the data: those take a non-canonical RBP (#SS; the
	 * branches' #GP at the branch)
	 */
	if ((forms[f][1] == 0xc9 || forms[f][1] == 0xff ||
	     forms[f][1] == 0x55) && !v)
		v = 1;
	c[0] = 0x48;			/* mov rbp, imm64 */
	c[1] = 0xbd;
	memcpy(c + 2, &bp[v], 8);
	memcpy(c + 10, forms[f] + 1, forms[f][0]);
	pg->len += 10 + forms[f][0];
}

/* One random instruction (or a short fixed sequence) at pg->len */
static inline void jd_insn(struct jd_prog *pg, struct jd_rand *r, int idx)
{
	static const int sizes[] = { 1, 2, 4, 8, 4, 8 };
	int size = sizes[jd_r(r, 6)], w = size != 1, kind = jd_r(r, 29);
	bool mem = jd_r(r, 3) == 0, fs = jd_r(r, 8) == 0;
	bool rex40 = size == 1 && jd_r(r, 2);
	int reg = jd_dst(r);
	struct jd_rm rm;
	uint8_t op[3];
	int form;

	/*
	 * A plain one: no CALL/RET, SSE, strings, LOCK, system forms or
	 * rotates, no 16-bit or FS forms (several are the interpreter's)
	 */
	if (pg->plain) {
		if (kind == 11 || kind == 12 || kind >= 17)
			kind %= 11;
		if (size == 2)
			size = 4;
		fs = false;
	}
	rm = jd_pick_rm(r, size, mem);

	if (size == 1 && !rex40 && !(rm.mem && rm.kind != 2)) {
		/* registers 4..7 are AH..BH without a REX: any of them */
		reg = jd_r(r, 8);
		if (!rm.mem)
			rm.reg = jd_r(r, 8);
	}
	pg->jcc_at[idx] = -1;
	while (pg->lean && (kind == 18 || (kind >= 20 && kind <= 26 &&
					   kind != 22)))
		kind = jd_r(r, 29);
	switch (kind) {
	case 0: case 1: case 2:	/* ALU r/m, r and r, r/m */
		op[0] = jd_r(r, 8) * 8 + (kind == 1 ? 2 : 0) + w;
		jd_emit(pg, size, rex40, fs, op, 1, reg, rm, 0, 0);
		break;
	case 3:			/* ALU r/m, imm */
		op[0] = size == 1 ? 0x80 : jd_r(r, 2) ? 0x83 : 0x81;
		jd_emit(pg, size, rex40, fs, op, 1, jd_r(r, 8), rm, jd_imm(r),
			op[0] == 0x81 ? (size == 2 ? 2 : 4) : 1);
		break;
	case 4:			/* TEST r/m, r; TEST r/m, imm */
		if (jd_r(r, 2)) {
			op[0] = 0x84 + w;
			jd_emit(pg, size, rex40, fs, op, 1, reg, rm, 0, 0);
		} else {
			op[0] = 0xf6 + w;
			jd_emit(pg, size, rex40, fs, op, 1, 0, rm, jd_imm(r),
				size == 1 ? 1 : size == 2 ? 2 : 4);
		}
		break;
	case 5: case 6:		/* MOV */
		op[0] = 0x88 + w + (jd_r(r, 2) ? 2 : 0);
		if (op[0] >= 0x8a && !rm.mem && size == 1 && !rex40)
			rm.reg = jd_r(r, 8);
		jd_emit(pg, size, rex40, fs, op, 1, reg, rm, 0, 0);
		break;
	case 7:			/* MOV r/m, imm; MOV r, imm; long NOPs */
		if (size == 1 && jd_r(r, 2)) {
			uint8_t *c = pg->code + pg->len;
			int n = 0;

			if (rex40 || reg >= 8)
				c[n++] = 0x40 | (reg >> 3);
			c[n++] = 0xb0 + (reg & 7);	/* mov r8, imm8 */
			c[n++] = jd_r(r, 256);
			pg->len += n;
		} else if (size == 2 && jd_r(r, 4) == 0) {
			static const uint8_t nop[] = { 0x66, 0x66, 0x2e, 0x0f,
				0x1f, 0x84, 0, 0, 0, 0, 0 };

			int skip = jd_r(r, 2);	/* one 66 or two */

			memcpy(pg->code + pg->len, nop + skip, sizeof(nop) - skip);
			pg->len += sizeof(nop) - skip;
		} else if (jd_r(r, 2) || size < 4) {
			op[0] = 0xc6 + w;
			jd_emit(pg, size, rex40, fs, op, 1, 0, rm, jd_imm(r),
				size == 1 ? 1 : size == 2 ? 2 : 4);
		} else {
			uint64_t v = jd_imm(r);
			uint8_t *c = pg->code + pg->len;

			*c++ = (size == 8 ? 0x48 : 0x40) | (reg >> 3);
			*c++ = 0xb8 + (reg & 7);
			memcpy(c, &v, size);
			pg->len += 2 + size;
		}
		break;
	case 8:			/* LEA, MOVSXD */
		reg = jd_dst(r);
		rm.mem = true;
		if (rm.kind == 3)
			rm.kind = 0;
		op[0] = jd_r(r, 2) ? 0x8d : 0x63;
		if (op[0] == 0x63 && !mem)
			rm = jd_pick_rm(r, 4, false);
		jd_emit(pg, jd_r(r, 2) ? 8 : 4, false, fs && op[0] == 0x63,
			op, 1, reg, rm, 0, 0);
		break;
	case 9:			/* MOVZX, MOVSX */
		reg = jd_dst(r);
		op[0] = 0x0f;
		op[1] = (jd_r(r, 2) ? 0xb6 : 0xbe) + jd_r(r, 2);
		if (!rm.mem && !(op[1] & 1) && !jd_r(r, 2))
			rm.reg = jd_r(r, 8);
		jd_emit(pg, sizes[1 + jd_r(r, 5)], false, fs, op, 2, reg, rm,
			0, 0);
		break;
	case 10:		/* INC, DEC, NOT, NEG; now and then MUL/DIV */
		op[0] = 0xfe + w;
		if (jd_r(r, 2)) {
			jd_emit(pg, size, rex40, fs, op, 1, jd_r(r, 2), rm, 0, 0);
		} else {
			int ext = jd_r(r, 8) ? 2 + jd_r(r, 2) : 4 + jd_r(r, 4);

			if (pg->lean)
				ext = 2 + (ext & 1);	/* NOT, NEG */

			/* a DIV whose quotient may fit: RDX (AH) set first */
			if (ext >= 6 && jd_r(r, 2))
				jd_div_setup(pg, size, ext == 7);
			op[0] = 0xf6 + w;
			jd_emit(pg, size, rex40, fs, op, 1, ext, rm, 0, 0);
		}
		break;
	case 11: case 12:	/* shifts and rotates */
		switch (jd_r(r, 4)) {
		case 0: op[0] = 0xd0 + w; break;
		case 1:
			op[0] = 0xd2 + w;
			if (jd_r(r, 2)) {	/* mov cl, a count near the widths */
				pg->code[pg->len++] = 0xb1;
				pg->code[pg->len++] = jd_r(r, 70);
			}
			break;
		default: op[0] = 0xc0 + w; break;
		}
		jd_emit(pg, size, rex40, fs, op, 1, jd_r(r, 8), rm,
			jd_r(r, 4) ? jd_r(r, 80) : jd_r(r, 256),
			op[0] >= 0xd0 ? 0 : 1);
		break;
	case 13:		/* PUSH, POP, PUSH imm */
		switch (jd_r(r, 4)) {
		case 0:
			pg->code[pg->len++] = 0x41;
			pg->code[pg->len++] = 0x50 + jd_r(r, 8);
			break;
		case 1:
			pg->code[pg->len++] = 0x50 + jd_r(r, 8);
			break;
		case 2:
			reg = jd_dst(r);
			if (reg >= 8)
				pg->code[pg->len++] = 0x41;
			pg->code[pg->len++] = 0x58 + (reg & 7);
			break;
		default:
			pg->code[pg->len++] = 0x6a;
			pg->code[pg->len++] = jd_r(r, 256);
			break;
		}
		break;
	case 14: case 15:	/* Jcc rel8 forward, to an instruction */
		pg->code[pg->len++] = 0x70 + jd_r(r, 16);
		pg->jcc_at[idx] = pg->len++;
		pg->jcc_to[idx] = idx + 1 + jd_r(r, 4);
		break;
	case 16:		/* CMOVcc, SETcc */
		reg = jd_dst(r);
		op[0] = 0x0f;
		if (jd_r(r, 2)) {
			op[1] = 0x40 + jd_r(r, 16);
			jd_emit(pg, sizes[1 + jd_r(r, 5)], false, fs, op, 2,
				reg, rm, 0, 0);
		} else {
			op[1] = 0x90 + jd_r(r, 16);
			if (!rm.mem && !rex40)
				rm.reg = jd_r(r, 8);
			jd_emit(pg, 1, rex40, fs, op, 2, 0, rm, 0, 0);
		}
		break;
	case 17: {		/* CALL next; LEA rax,[rip+x]; PUSH rax; RET */
		static const uint8_t seq[] = {
			0xe8, 0, 0, 0, 0,			/* call +0 */
			0x48, 0x8d, 0x05, 2, 0, 0, 0,		/* lea rax, +2 */
			0x50, 0xc3,				/* push; ret */
			0x48, 0x8d, 0x0d, 2, 0, 0, 0,		/* lea rcx, +2 */
			0xff, 0xe1,				/* jmp rcx */
			0x48, 0x89, 0xe5, 0xc9,		/* mov rbp,rsp; leave */
		};
		memcpy(pg->code + pg->len, seq, sizeof(seq));
		pg->len += sizeof(seq);
		break;
	}
	case 18:		/* CWDE/CDQE/CBW, CDQ/CQO/CWD */
		if (size == 2)
			pg->code[pg->len++] = 0x66;
		else if (size == 8)
			pg->code[pg->len++] = 0x48;
		pg->code[pg->len++] = 0x98 + jd_r(r, 2);
		break;
	case 19:	/* IMUL, BT r/m, imm8, BSWAP, BSF/BSR, SHLD/SHRD */
		reg = jd_dst(r);
		size = size < 4 ? 4 : size;
		form = jd_r(r, 8);
		if (pg->lean && form != 3)
			form = 4;			/* BT imm8, BSWAP */
		switch (form) {
		case 5:		/* BSF, BSR, F3 0F BC (BSF without BMI1) */
			op[0] = 0x0f;
			op[1] = 0xbc + jd_r(r, 2);
			if (op[1] == 0xbc && jd_r(r, 3) == 0)
				pg->code[pg->len++] = 0xf3;
			jd_emit(pg, size, false, fs, op, 2, reg, rm, 0, 0);
			break;
		case 6: case 7:	/* SHLD, SHRD by an imm8 or CL */
			op[0] = 0x0f;
			op[1] = (jd_r(r, 2) ? 0xa4 : 0xac) + jd_r(r, 2);
			if ((op[1] & 1) && jd_r(r, 2)) {
				pg->code[pg->len++] = 0xb1;	/* mov cl */
				pg->code[pg->len++] = jd_r(r, 70);
			}
			jd_emit(pg, size, false, fs, op, 2, reg, rm,
				jd_r(r, 4) ? jd_r(r, 70) : jd_r(r, 256),
				op[1] & 1 ? 0 : 1);
			break;
		case 0: case 1:
			op[0] = 0x0f;
			op[1] = 0xaf;
			jd_emit(pg, size, false, fs, op, 2, reg, rm, 0, 0);
			break;
		case 2:
			op[0] = jd_r(r, 2) ? 0x69 : 0x6b;
			jd_emit(pg, size, false, fs, op, 1, reg, rm, jd_imm(r),
				op[0] == 0x69 ? 4 : 1);
			break;
		case 3:
			op[0] = 0x0f;
			op[1] = 0xba;
			jd_emit(pg, size, false, fs, op, 2, 4, rm, jd_r(r, 256),
				1);
			break;
		default:
			pg->code[pg->len++] = (size == 8 ? 0x48 : 0x40) |
					      (reg >> 3);
			pg->code[pg->len++] = 0x0f;
			pg->code[pg->len++] = 0xc8 + (reg & 7);
			break;
		}
		break;
	case 20:		/* SSE moves */
		jd_sse(pg, r, rm, fs);
		break;
	case 25: case 26:	/* SSE arithmetic, compares, conversions */
		if (jd_r(r, 3))
			jd_sse_arith(pg, r, rm, fs);
		else
			jd_x87(pg, r, rm, fs);	/* or x87 */
		break;
	case 21:		/* REP STOS, REP MOVS */
		jd_rep_str(pg, r, size);
		break;
	case 22:	/* XCHG, CMPXCHG, XADD; LOCK on them and memory ALU */
		if (rm.mem && jd_r(r, 2))
			pg->code[pg->len++] = 0xf0;
		switch (jd_r(r, 5)) {
		case 0:
			op[0] = 0x86 + w;
			jd_emit(pg, size, rex40, false, op, 1, reg, rm, 0, 0);
			break;
		case 1:
			op[0] = 0x0f;
			op[1] = 0xb0 + w;
			jd_emit(pg, size, rex40, false, op, 2, reg, rm, 0, 0);
			break;
		case 2:
			op[0] = 0x0f;
			op[1] = 0xc0 + w;
			jd_emit(pg, size, rex40, false, op, 2, reg, rm, 0, 0);
			break;
		case 3:		/* ADD .. XOR (and CMP: #UD with LOCK) */
			op[0] = jd_r(r, 8) * 8 + w;
			jd_emit(pg, size, rex40, false, op, 1, reg, rm, 0, 0);
			break;
		default:	/* INC, DEC, NOT, NEG */
			op[0] = jd_r(r, 2) ? 0xfe + w : 0xf6 + w;
			jd_emit(pg, size, rex40, false, op, 1,
				op[0] >= 0xfe ? jd_r(r, 2) : 2 + jd_r(r, 2),
				rm, 0, 0);
			break;
		}
		break;
	case 23:		/* PUSHF, POPF, CLI, STI, MOV r/m, Sreg */
		jd_sys(pg, r, reg, rm, fs);
		break;
	case 24:		/* BT, BTS, BTR, BTC by an imm8 or a register */
		jd_btx(pg, r, reg, rm, fs);
		break;
	default:		/* ALU on RAX with an immediate */
		if (!jd_r(r, 32)) {	/* now and then a stack reference */
			jd_stack_ref(pg, r);
			break;
		}
		op[0] = jd_r(r, 8) * 8 + 4 + w;
		if (size == 2)
			pg->code[pg->len++] = 0x66;
		else if (size == 8)
			pg->code[pg->len++] = 0x48;
		pg->code[pg->len++] = op[0];
		{
			uint64_t v = jd_imm(r);
			int n = size == 1 ? 1 : size == 2 ? 2 : 4;

			memcpy(pg->code + pg->len, &v, n);
			pg->len += n;
		}
		break;
	}
}

/* Point the forward branches at their instructions */
static inline void jd_patch(struct jd_prog *pg)
{
	for (int i = 0; i < JD_INSNS; i++) {
		int to = pg->jcc_to[i] > JD_INSNS ? JD_INSNS : pg->jcc_to[i];
		int d;

		if (pg->jcc_at[i] < 0)
			continue;
		d = (int)pg->start[to] - (pg->jcc_at[i] + 1);
		if (d > 127)
			d = 0;
		pg->code[pg->jcc_at[i]] = (uint8_t)d;
	}
}

/*
 * Where a program goes: at EMU_TEST_CODE, or in one of 4 so that a page
 * end falls within its first 200 bytes, where any instruction may cross
 * it (translated as a block's last, with the next page's check)
 */
static inline uint64_t jd_code_base(struct jd_rand *r)
{
	if (jd_r(r, 4))
		return EMU_TEST_CODE;
	return EMU_TEST_CODE + 4096 - 1 - jd_r(r, 200);
}

static inline void jd_build(struct jd_prog *pg, struct jd_rand *r)
{
	pg->len = 0;
	pg->plain = false;
	pg->base = jd_code_base(r);
	for (int i = 0; i < JD_INSNS; i++) {
		pg->start[i] = pg->len;
		jd_insn(pg, r, i);
	}
	pg->start[JD_INSNS] = pg->len;
	pg->code[pg->len++] = 0xf4;	/* hlt */
	jd_patch(pg);
}

/*
 * A double (or two floats): small integers, fractions, signed zeros,
 * infinities, quiet and signalling NaNs, denormals, huge values
 */
static inline uint64_t jd_fp(struct jd_rand *r)
{
	static const uint64_t d[] = {
		0x3ff0000000000000ULL, 0xbff8000000000000ULL, 0,
		0x8000000000000000ULL, 0x7ff0000000000000ULL,
		0xfff0000000000000ULL, 0x7ff8000000000000ULL,
		0x7ff4000000000001ULL, 0xfff8000000000000ULL,
		0x0000000000000001ULL, 0x000fffffffffffffULL,
		0x7fefffffffffffffULL, 0x43e0000000000000ULL,
		0x0010000000000000ULL,
		0xc3e0000000000001ULL, 0x41dfffffffc00000ULL,
		0x3fe0000000000000ULL,
	};
	static const uint32_t f[] = {
		0x3f800000, 0xbfc00000, 0, 0x80000000, 0x7f800000,
		0xff800000, 0x7fc00000, 0x7fa00001, 0x00000001, 0x007fffff,
		0x7f7fffff, 0x5f000000, 0xcf000001, 0x3f000000,
	};

	switch (jd_r(r, 4)) {
	case 0:
		return d[jd_r(r, sizeof(d) / sizeof(d[0]))];
	case 1:
		return (uint64_t)f[jd_r(r, sizeof(f) / sizeof(f[0]))] << 32 |
		       f[jd_r(r, sizeof(f) / sizeof(f[0]))];
	case 2:	/* an integer as a double */
		{
			double v = (double)(int32_t)jd_imm(r) /
				   (double)(1 + jd_r(r, 8));
			uint64_t q;

			memcpy(&q, &v, 8);
			return q;
		}
	default:	/* a random sign, exponent near 1.0 and mantissa */
		return (uint64_t)jd_r(r, 2) << 63 |
		       (uint64_t)(1023 - 40 + jd_r(r, 80)) << 52 |
		       ((uint64_t)jd_r(r, 1u << 24) << 28 ^ jd_imm(r));
	}
}

/*
 * MXCSR: mostly the default, else with status bits, another rounding,
 * FTZ/DAZ or an unmasked exception (the translator's floating point
 * must leave those to the interpreter)
 */
static inline uint32_t jd_mxcsr(struct jd_rand *r)
{
	static const uint32_t m[] = { 0x1fa1, 0x3f80, 0x5f80, 0x7f80,
				      0x9f80, 0x1fc0, 0x1f00, 0x1d80,
				      0x1e80, 0x1f7f };

	if (jd_r(r, 2))
		return 0x1f80;
	return m[jd_r(r, sizeof(m) / sizeof(m[0]))];
}

/*
 * A program whose last instructions (4 to 24 of them, or 25 to 40 of
 * the kinds that seldom end a block, so that a loop's block has four
 * decode-cache chunks) are a loop run
 * R14 + 1 times (up to 64): SUB R14, 1 and JNC back before its HLT. The
 * loop's block jumps back to itself with guest registers held in host
 * ones, runs past the budget of a jit_run, and takes its miss exits
 * (faults, misses) in later rounds with registers and flags changed:
 * the loop starts with MOV RAX, [R15 + R14 * 8 + d], whose address
 * moves down into a page not used before at some round.
 */
static inline void jd_build_loop(struct jd_prog *pg, struct jd_rand *r)
{
	bool plain = jd_r(r, 2);
	unsigned k = JD_INSNS - (plain ? 25 + jd_r(r, 16) : 4 + jd_r(r, 21));
	unsigned at;
	int32_t d = 0x2000 - 8 * (int32_t)jd_r(r, 64);

	pg->len = 0;
	pg->plain = false;
	pg->base = jd_code_base(r);
	for (unsigned i = 0; i < JD_INSNS; i++) {
		if (i == k) {
			pg->plain = plain;
			memcpy(pg->code + pg->len, "\x4b\x8b\x84\xf7", 4);
			memcpy(pg->code + pg->len + 4, &d, 4);
			pg->len += 8;
		}
		pg->start[i] = pg->len;
		jd_insn(pg, r, i);
	}
	at = pg->start[JD_INSNS] = pg->len;
	memcpy(pg->code + at, "\x49\x83\xee\x01\x0f\x83", 6);
	d = (int32_t)pg->start[k] - 8 - (int32_t)(at + 10);
	memcpy(pg->code + at + 6, &d, 4);
	pg->code[at + 10] = 0xf4;		/* hlt */
	pg->len = at + 11;
	jd_patch(pg);
}

/* The same start for both CPUs: registers, flags, data */
static inline void jd_setup(struct emu_test *t, struct jd_rand *r,
			    const struct jd_prog *pg)
{
	uint8_t *data = emu_test_ptr(t, EMU_TEST_DATA);

	for (int i = 0; i < 16; i++)
		t->cpu.gpr[i] = jd_imm(r) ^ (uint64_t)jd_r(r, 1u << 20) << 44;
	t->cpu.gpr[R_SP] = EMU_TEST_STACK;
	t->cpu.gpr[15] = EMU_TEST_DATA;
	t->cpu.gpr[14] = jd_r(r, 64);
	/* R13 points at data or somewhere unmapped */
	if (jd_r(r, 2))
		t->cpu.gpr[13] = EMU_TEST_DATA + 0x2800 + jd_r(r, 256);
	t->cpu.rflags = 2 | (jd_r(r, 1u << 12) & FL_ARITH);
	for (int i = 0; i < 16; i++) {
		t->cpu.xmm[i].q[0] = jd_imm(r) ^ (uint64_t)jd_r(r, 1u << 20) << 40;
		t->cpu.xmm[i].q[1] = jd_imm(r) ^ (uint64_t)jd_r(r, 1u << 20) << 40;
		/* floating-point values now and then */
		for (int j = 0; j < 2; j++)
			if (!jd_r(r, 3))
				t->cpu.xmm[i].q[j] = jd_fp(r);
	}
	t->cpu.mxcsr = jd_mxcsr(r);
	/* the x87 registers (MM0..MM7), TOP and tags */
	for (int i = 0; i < 8; i++) {
		uint64_t m = jd_imm(r);

		memcpy(t->cpu.fpr[i], &m, 8);
		t->cpu.fpr[i][8] = jd_r(r, 256);
		t->cpu.fpr[i][9] = jd_r(r, 256);
	}
	t->cpu.fsw = jd_r(r, 8) << 11;
	t->cpu.ftw = jd_r(r, 1u << 16);
	/* FCW: any rounding and precision, now and then exceptions unmasked */
	t->cpu.fcw = 0x40 | jd_r(r, 16) << 8 |
		     (jd_r(r, 4) ? 0x3f : jd_r(r, 64));
	/* an unmasked exception: #XM, or #UD without OSXMMEXCPT */
	if (jd_r(r, 2))
		t->cpu.cr4 |= CR4_OSXMMEXCPT;
	/* now and then SSE unusable: #NM (CR0.TS) or #UD (EM, no OSFXSR) */
	switch (jd_r(r, 32)) {
	case 0: t->cpu.cr0 |= CR0_TS; break;
	case 1: t->cpu.cr0 |= CR0_EM; break;
	case 2: t->cpu.cr4 &= ~CR4_OSFXSR; break;
	}
	t->cpu.seg[SEG_FS].base = 0x1000 * jd_r(r, 2);
	for (int i = 0; i < JD_DATA_BYTES; i++)
		data[i] = jd_r(r, 256);
	memcpy(emu_test_ptr(t, pg->base), pg->code, pg->len);
	t->cpu.rip = pg->base;
	/*
	 * Half of them run from the top of the address space, where the
	 * last PML4 entry maps the same 16 MiB: kernel code there calls the
	 * shared soft-TLB lookups, in the low half it has them inline
	 */
	emu_test_w64(t, EMU_TEST_PML4 + 511 * 8, (EMU_TEST_PML4 + 0x1000) | 7);
	if (jd_r(r, 2))
		t->cpu.rip += JD_HIGH;
}

static inline void jd_run(struct emu_test *t)
{
	for (int i = 0; i < 50 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
}

/*
 * Run one program on both; 0 when they agree, else 1 with what differs
 * in why. The stream r is consumed the same way for both.
 */
static inline int jd_compare(const struct jd_prog *pg,
			     const struct jd_rand *r, char *why,
			     size_t whylen, uint64_t *jit_insns, int *faulted)
{
	struct emu_test *a = emu_test_init64(), *b = emu_test_init64();
	struct jd_rand ra = *r, rb = *r;
	int bad = 0;

	b->cpu.jit = jit_create();
	if (b->cpu.jit)
		jit_eager(b->cpu.jit);
	/* half of them check code page generations, half compare bytes */
	if (jd_r(&ra, 2))
		emu_test_track(b);
	/* half the time the interpreter's general decoder alone */
	if (jd_r(&ra, 2)) {
		dcache_destroy(a->cpu.dcache);
		dcache_destroy(b->cpu.dcache);
		a->cpu.dcache = b->cpu.dcache = NULL;
	}
	rb = ra;
	jd_setup(a, &ra, pg);
	jd_setup(b, &rb, pg);
	jd_run(a);
	jd_run(b);
	/*
	 * Neither stopped within jd_run's instruction cap (a jump into
	 * zeroed memory, run on as ADDs): a translated run may go past a
	 * cap by the rest of a block (the budget's check is at its exits),
	 * so where each stopped says nothing.
	 */
	if (!a->cpu.halted && !a->cpu.shutdown && !a->cpu.error[0] &&
	    !b->cpu.halted && !b->cpu.shutdown && !b->cpu.error[0]) {
		jit_destroy(b->cpu.jit);
		b->cpu.jit = NULL;
		emu_test_free(a);
		emu_test_free(b);
		return 0;
	}
	if (jit_insns)
		*jit_insns += jit_stat_insns(b->cpu.jit);
	if (faulted && emu_test_vector(a) >= 0)
		(*faulted)++;
	why[0] = 0;
	for (int i = 0; i < 16 && !bad; i++)
		if (a->cpu.gpr[i] != b->cpu.gpr[i]) {
			snprintf(why, whylen, "r%d: 0x%llx vs 0x%llx", i,
				 (unsigned long long)a->cpu.gpr[i],
				 (unsigned long long)b->cpu.gpr[i]);
			bad = 1;
		}
	for (int i = 0; i < 16 && !bad; i++)
		if (memcmp(&a->cpu.xmm[i], &b->cpu.xmm[i], 16)) {
			snprintf(why, whylen, "xmm%d: %016llx%016llx vs %016llx%016llx",
				 i, (unsigned long long)a->cpu.xmm[i].q[1],
				 (unsigned long long)a->cpu.xmm[i].q[0],
				 (unsigned long long)b->cpu.xmm[i].q[1],
				 (unsigned long long)b->cpu.xmm[i].q[0]);
			bad = 1;
		}
	if (!bad && (memcmp(a->cpu.fpr, b->cpu.fpr, sizeof(a->cpu.fpr)) ||
		     a->cpu.fsw != b->cpu.fsw || a->cpu.ftw != b->cpu.ftw ||
		     a->cpu.fip != b->cpu.fip || a->cpu.fdp != b->cpu.fdp ||
		     a->cpu.fop != b->cpu.fop)) {
		snprintf(why, whylen, "x87: fsw %04x ftw %04x vs %04x %04x",
			 a->cpu.fsw, a->cpu.ftw, b->cpu.fsw, b->cpu.ftw);
		bad = 1;
	}
	if (!bad && a->cpu.rip != b->cpu.rip) {
		snprintf(why, whylen, "rip: 0x%llx vs 0x%llx",
			 (unsigned long long)a->cpu.rip,
			 (unsigned long long)b->cpu.rip);
		bad = 1;
	}
	if (!bad && a->cpu.mxcsr != b->cpu.mxcsr) {
		snprintf(why, whylen, "mxcsr: 0x%x vs 0x%x", a->cpu.mxcsr,
			 b->cpu.mxcsr);
		bad = 1;
	}
	if (!bad && a->cpu.rflags != b->cpu.rflags) {
		snprintf(why, whylen, "rflags: 0x%llx vs 0x%llx",
			 (unsigned long long)a->cpu.rflags,
			 (unsigned long long)b->cpu.rflags);
		bad = 1;
	}
	if (!bad && (a->cpu.halted != b->cpu.halted ||
		     strcmp(a->cpu.error, b->cpu.error) ||
		     a->cpu.cr2 != b->cpu.cr2)) {
		snprintf(why, whylen, "halted %d/%d, cr2, or error '%.60s'/'%.60s'",
			 a->cpu.halted, b->cpu.halted, a->cpu.error,
			 b->cpu.error);
		bad = 1;
	}
	if (!bad && (memcmp(emu_test_ptr(a, EMU_TEST_DATA),
			    emu_test_ptr(b, EMU_TEST_DATA), JD_CMP_BYTES) ||
		     memcmp(emu_test_ptr(a, EMU_TEST_STACK - 0x1000),
			    emu_test_ptr(b, EMU_TEST_STACK - 0x1000), 0x1000))) {
		snprintf(why, whylen, "memory differs");
		bad = 1;
	}
	jit_destroy(b->cpu.jit);
	b->cpu.jit = NULL;
	emu_test_free(a);
	emu_test_free(b);
	return bad;
}

#endif
