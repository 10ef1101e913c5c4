// SPDX-License-Identifier: MIT
/*
 * emu CPU: the integer instructions against this x86-64 host. Each form
 * runs from random states (fixed seed; operands with edge values: 0, -1,
 * sign bits, small counts) natively and in the interpreter (general
 * decoder, decode cache) and the translator (emu_vs_host_cpu.h): the
 * registers, the flags the SDM defines, the memory area and any #DE must
 * be the host's. What the SDM leaves undefined (per instruction, per
 * count) is not compared; where the host (an AMD CPU, with BMI1) decodes
 * a form otherwise than the CPU emu describes (F3 0F BC: TZCNT here, REP
 * BSF there), the host runs the instruction ours is.
 */
#include "emu_vs_host_cpu.h"
#include "test.h"

#define SEED		0x2545f4914f6cdd1dULL
#define SAMPLES		24

/* What decides the undefined flags and results of a form */
enum {
	K_ARITH,	/* all six defined */
	K_LOGIC,	/* AF undefined */
	K_MUL,		/* SF ZF AF PF undefined */
	K_DIV,		/* all undefined; #DE */
	K_SHIFT,	/* by count: AF (c > 0), OF (c > 1), CF (c >= width) */
	K_SAR,		/* the same but CF */
	K_ROT,		/* ROL/ROR: OF (c > 1) */
	K_RCX,		/* RCL/RCR: OF (c > 1) */
	K_SHD,		/* SHLD/SHRD: AF, OF (c > 1), all past the width */
	K_BSF,		/* ZF alone; the destination for a source of 0 */
	K_BT,		/* CF and ZF alone */
	K_LZCNT,	/* ZF CF */
	K_STR,		/* string forms: pointers, a small count */
	K_BTMEM,	/* BT with a register offset into memory */
	K_CMPX,		/* CMPXCHG*: the accumulator often equal */
	K_XLAT,		/* RBX points at the table */
	K_STACK,	/* on a stack in the area (RBX), RBP in it too */
};

/* Where a shift's count comes from */
enum { CNT_1, CNT_CL, CNT_IMM };

struct icase {
	char name[48];
	uint8_t b[16], len;
	bool host_bare;		/* the host runs it without its prefix */
	uint8_t imm;		/* random immediate bytes after b */
	uint8_t kind, size, cnt;
	bool mem;		/* a memory operand at [rdi] */
	bool a32;		/* 32-bit addresses: the host's block low */
	bool rbp_data;		/* RBP no pointer after it (LEAVE) */
	uint8_t rr;		/* RR_*: ModRM fields made random registers */
	bool byte_rm;		/* with RR_RM: an 8-bit register (else size's) */
	uint8_t rex_at;		/* where a REX goes (before the opcode) */
	uint8_t rex;		/* the form's REX, or 0 */
	uint8_t modrm_at;
};

/* ModRM fields each sample fills with another register (not RSP) */
enum { RR_REG = 1, RR_RM = 2 };

#define MAX_CASES	1500
static struct icase cases[MAX_CASES];
static int ncases;

static uint64_t rng = SEED;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random 64 bits, an edge value, or a small count */
static uint64_t rnd_val(void)
{
	static const uint64_t edge[] = {
		0, ~0ULL, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 1ULL << 63,
		(1ULL << 63) - 1, 0xfffffffe, 0x100,
	};
	uint64_t k = rnd();

	switch (k & 7) {
	case 0: case 1:
		return edge[(k >> 3) % 16];
	case 2:
		return (k >> 8) % 70;
	case 3:	/* an edge value of a width, the rest random */
		return (rnd() & ~0xffffULL) | (uint16_t)edge[(k >> 3) % 16];
	case 4:	/* sign-extended edge */
		return (uint64_t)(int64_t)(int8_t)edge[(k >> 3) % 16];
	default:
		return rnd();
	}
}

/*
 * One form: [pre] [66] [REX] op [modrm]; size its operand size (a REX.W
 * for 8); rex its R/X/B bits (0x40: a REX even without them)
 */
static struct icase *add(const char *name, int size, uint8_t pre, int rex,
			 const uint8_t *op, int nop, int modrm, int imm,
			 int kind)
{
	struct icase *c = &cases[ncases++];
	int n = 0;

	if (ncases > MAX_CASES)
		abort();
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (pre)
		c->b[n++] = pre;
	if (size == 2)
		c->b[n++] = 0x66;
	if (size == 8)
		rex |= 0x48;
	c->rex_at = n;
	if (rex)
		c->b[n++] = c->rex = rex | 0x40;
	memcpy(c->b + n, op, nop);
	n += nop;
	c->modrm_at = n;
	if (modrm >= 0)
		c->b[n++] = modrm;
	c->len = n;
	c->imm = imm;
	c->kind = kind;
	c->size = size;
	c->mem = modrm >= 0 && modrm < 0xc0 && (modrm & 7) == 7 &&
		 !(rex & 1);
	c->byte_rm = size == 1 || (nop == 2 && op[0] == 0x0f &&
				   (op[1] == 0xbe || op[1] == 0xb6));
	/* registers in both fields, but in a group's opcode extension */
	if (modrm >= 0) {
		bool grp = nop == 1 ? (op[0] >= 0x80 && op[0] <= 0x83) ||
				      op[0] == 0xc0 || op[0] == 0xc1 ||
				      (op[0] >= 0xd0 && op[0] <= 0xd3) ||
				      op[0] >= 0xf6 || op[0] == 0xc6 ||
				      op[0] == 0xc7 :
			   op[1] == 0xba || op[1] == 0xc7 ||
			   (op[1] & 0xf0) == 0x90;

		c->rr = (grp ? 0 : RR_REG) | (c->mem ? 0 : RR_RM);
	}
	return c;
}

/* The form's registers as named, not random */
static void fixed(struct icase *c)
{
	c->rr = 0;
}

/* A register for a ModRM field: not RSP, nor RDI where it is the pointer */
static int pick_reg(const struct icase *c)
{
	for (;;) {
		int r = rnd() & 15;

		if (r != 4 && !(c->mem && r == 7))
			return r;
	}
}

/*
 * The form's bytes with its random registers (without its immediate);
 * *reg and *rm the registers of its ModRM fields (rm: -1 for memory),
 * AH..BH as 16..19
 */
static size_t make_insn(const struct icase *c, uint8_t *insn, int *reg,
			int *rm)
{
	uint8_t rex = c->rex, m = c->b[c->modrm_at];
	int r = (m >> 3 & 7) | (rex & 4 ? 8 : 0);
	int b = (m & 7) | (rex & 1 ? 8 : 0);
	bool byte = c->size == 1;
	size_t n = c->rex_at, from = c->rex_at + (c->rex ? 1 : 0), at;

	memcpy(insn, c->b, c->len);
	if (!c->rr) {
		n = c->len;
		goto out;
	}
	if (c->rr & RR_REG)
		r = pick_reg(c);
	if (c->rr & RR_RM)
		b = pick_reg(c);
	rex = (rex & ~5) | (r & 8 ? 4 : 0) | ((c->rr & RR_RM) && b & 8);
	/* byte registers 4..7: SPL..DIL with a REX, AH..BH without */
	if ((byte || c->byte_rm) && !rex && rnd() & 1)
		rex = 0x40;
	if (rex)
		insn[n++] = rex | 0x40;
	at = n + c->modrm_at - from;
	memcpy(insn + n, c->b + from, c->len - from);
	n += c->len - from;
	m = (m & 0xc7) | (r & 7) << 3;
	if (c->rr & RR_RM)
		m = (m & 0xf8) | (b & 7);
	insn[at] = m;
out:
	*reg = byte && !rex && r >= 4 && r < 8 ? 16 + r - 4 : r;
	*rm = c->mem ? -1 : c->byte_rm && !rex && b >= 4 && b < 8 ?
	      16 + b - 4 : b;
	return n;
}

#define OP(...)	(const uint8_t[]){ __VA_ARGS__ }, \
		sizeof((const uint8_t[]){ __VA_ARGS__ })

static int immsz(int size)
{
	return size == 8 ? 4 : size;
}

static const char *const sz_name[9] = {
	[1] = "8", [2] = "16", [4] = "32", [8] = "64",
};

static void add_alu(void)
{
	static const char *const nm[8] = { "add", "or", "adc", "sbb", "and",
					   "sub", "xor", "cmp" };
	static const int sizes[4] = { 1, 2, 4, 8 };
	char n[48];

	for (int op = 0; op < 8; op++) {
		int k = op == 1 || op == 4 || op == 6 ? K_LOGIC : K_ARITH;

		for (int si = 0; si < 4; si++) {
			int s = sizes[si], w = s > 1;
			uint8_t o = op * 8 + w;

			snprintf(n, sizeof(n), "%s rm%s, r", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(o), 0xc8, 0, k);
			snprintf(n, sizeof(n), "%s r%s, rm", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(o + 2), 0xc1, 0, k);
			snprintf(n, sizeof(n), "%s m%s, r", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(o), 0x0f, 0, k);
			snprintf(n, sizeof(n), "%s r%s, m", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(o + 2), 0x0f, 0, k);
			snprintf(n, sizeof(n), "%s acc%s, imm", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(o + 4), -1, immsz(s), k);
			snprintf(n, sizeof(n), "%s r%s, imm", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x80 + w), 0xc1 | op << 3,
			    immsz(s), k);
			snprintf(n, sizeof(n), "%s m%s, imm", nm[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x80 + w), 0x07 | op << 3,
			    immsz(s), k);
			if (w) {
				snprintf(n, sizeof(n), "%s r%s, imm8", nm[op],
					 sz_name[s]);
				add(n, s, 0, 0, OP(0x83), 0xc1 | op << 3, 1, k);
				snprintf(n, sizeof(n), "%s m%s, imm8", nm[op],
					 sz_name[s]);
				add(n, s, 0, 0, OP(0x83), 0x07 | op << 3, 1, k);
			}
			snprintf(n, sizeof(n), "%s r%s, r (r9, r8)", nm[op],
				 sz_name[s]);
			fixed(add(n, s, 0, 5, OP(o), 0xc1, 0, k));
			if (op != 7) {
				snprintf(n, sizeof(n), "lock %s m%s, r", nm[op],
					 sz_name[s]);
				add(n, s, 0xf0, 0, OP(o), 0x0f, 0, k);
			}
		}
		snprintf(n, sizeof(n), "%s ah, ch", nm[op]);
		fixed(add(n, 1, 0, 0, OP(op * 8), 0xec, 0, k));
		snprintf(n, sizeof(n), "%s bh, [rdi]", nm[op]);
		fixed(add(n, 1, 0, 0, OP(op * 8 + 2), 0x3f, 0, k));
		snprintf(n, sizeof(n), "%s dil, sil", nm[op]);
		fixed(add(n, 1, 0, 0x40, OP(op * 8), 0xf7, 0, k));
	}
}

static void add_unary(void)
{
	static const char *const nm[8] = { "test", NULL, "not", "neg", "mul",
					   "imul", "div", "idiv" };
	static const int kind[8] = { K_LOGIC, 0, K_ARITH, K_ARITH, K_MUL,
				     K_MUL, K_DIV, K_DIV };
	static const int sizes[4] = { 1, 2, 4, 8 };
	char n[48];

	for (int sub = 0; sub < 8; sub++) {
		if (!nm[sub])
			continue;
		for (int si = 0; si < 4; si++) {
			int s = sizes[si], w = s > 1;
			int imm = sub ? 0 : immsz(s);

			snprintf(n, sizeof(n), "%s r%s", nm[sub], sz_name[s]);
			add(n, s, 0, 0, OP(0xf6 + w), 0xc1 | sub << 3, imm,
			    kind[sub]);
			snprintf(n, sizeof(n), "%s m%s", nm[sub], sz_name[s]);
			add(n, s, 0, 0, OP(0xf6 + w), 0x07 | sub << 3, imm,
			    kind[sub]);
			if (sub == 2 || sub == 3) {
				snprintf(n, sizeof(n), "lock %s m%s", nm[sub],
					 sz_name[s]);
				add(n, s, 0xf0, 0, OP(0xf6 + w),
				    0x07 | sub << 3, 0, kind[sub]);
			}
			if (sub == 0) {
				snprintf(n, sizeof(n), "test r%s, r", sz_name[s]);
				add(n, s, 0, 0, OP(0x84 + w), 0xc8, 0, K_LOGIC);
				snprintf(n, sizeof(n), "test m%s, r", sz_name[s]);
				add(n, s, 0, 0, OP(0x84 + w), 0x0f, 0, K_LOGIC);
				snprintf(n, sizeof(n), "test acc%s, imm",
					 sz_name[s]);
				add(n, s, 0, 0, OP(0xa8 + w), -1, immsz(s),
				    K_LOGIC);
			}
			for (int d = 0; d < 2 && sub == 0; d++) {
				const char *in = d ? "dec" : "inc";

				snprintf(n, sizeof(n), "%s r%s", in, sz_name[s]);
				add(n, s, 0, 0, OP(0xfe + w), 0xc1 | d << 3, 0,
				    K_ARITH);
				snprintf(n, sizeof(n), "%s m%s", in, sz_name[s]);
				add(n, s, 0, 0, OP(0xfe + w), 0x07 | d << 3, 0,
				    K_ARITH);
				snprintf(n, sizeof(n), "lock %s m%s", in,
					 sz_name[s]);
				add(n, s, 0xf0, 0, OP(0xfe + w), 0x07 | d << 3,
				    0, K_ARITH);
			}
		}
	}
	fixed(add("inc ah", 1, 0, 0, OP(0xfe), 0xc4, 0, K_ARITH));
	fixed(add("dec r13", 8, 0, 1, OP(0xff), 0xcd, 0, K_ARITH));
	fixed(add("mul ah", 1, 0, 0, OP(0xf6), 0xe4, 0, K_MUL));
	fixed(add("idiv bh", 1, 0, 0, OP(0xf6), 0xff, 0, K_DIV));
	fixed(add("div r10", 8, 0, 1, OP(0xf7), 0xf2, 0, K_DIV));
}

static void add_shifts(void)
{
	static const char *const nm[8] = { "rol", "ror", "rcl", "rcr", "shl",
					   "shr", NULL, "sar" };
	static const int kind[8] = { K_ROT, K_ROT, K_RCX, K_RCX, K_SHIFT,
				     K_SHIFT, 0, K_SAR };
	static const int sizes[4] = { 1, 2, 4, 8 };
	static const char *const how[3] = { "1", "cl", "imm" };
	char n[48];

	for (int sub = 0; sub < 8; sub++) {
		if (!nm[sub])
			continue;
		for (int si = 0; si < 4; si++) {
			int s = sizes[si], w = s > 1;

			for (int c = 0; c < 3; c++) {
				uint8_t o = c == CNT_1 ? 0xd0 : c == CNT_CL ?
					    0xd2 : 0xc0;

				for (int m = 0; m < 2; m++) {
					struct icase *k;

					snprintf(n, sizeof(n), "%s %s%s, %s",
						 nm[sub], m ? "m" : "r",
						 sz_name[s], how[c]);
					k = add(n, s, 0, 0, OP(o + w),
						(m ? 0x07 : 0xc0) | sub << 3,
						c == CNT_IMM, kind[sub]);
					k->cnt = c;
				}
			}
		}
	}
	for (int si = 1; si < 4; si++) {
		int s = sizes[si];

		for (int op = 0; op < 4; op++) {
			uint8_t o = (op & 2 ? 0xac : 0xa4) + (op & 1);

			for (int m = 0; m < 2; m++) {
				struct icase *k;

				snprintf(n, sizeof(n), "%s %s%s, r, %s",
					 op & 2 ? "shrd" : "shld",
					 m ? "m" : "r", sz_name[s],
					 op & 1 ? "cl" : "imm");
				k = add(n, s, 0, 0, OP(0x0f, o),
					m ? 0x0f : 0xc8, !(op & 1), K_SHD);
				k->cnt = op & 1 ? CNT_CL : CNT_IMM;
			}
		}
	}
}

static void add_mul_bits(void)
{
	static const int sizes[3] = { 2, 4, 8 };
	char n[48];

	for (int si = 0; si < 3; si++) {
		int s = sizes[si];
		struct icase *k;

		for (int m = 0; m < 2; m++) {
			const char *r = m ? "m" : "r";
			int rm = m ? 0x0f : 0xc8;

			snprintf(n, sizeof(n), "imul r%s, %s", sz_name[s], r);
			add(n, s, 0, 0, OP(0x0f, 0xaf), rm, 0, K_MUL);
			snprintf(n, sizeof(n), "imul r%s, %s, imm8", sz_name[s], r);
			add(n, s, 0, 0, OP(0x6b), rm, 1, K_MUL);
			snprintf(n, sizeof(n), "imul r%s, %s, imm", sz_name[s], r);
			add(n, s, 0, 0, OP(0x69), rm, immsz(s), K_MUL);
			snprintf(n, sizeof(n), "bsf r%s, %s", sz_name[s], r);
			add(n, s, 0, 0, OP(0x0f, 0xbc), rm, 0, K_BSF);
			snprintf(n, sizeof(n), "bsr r%s, %s", sz_name[s], r);
			add(n, s, 0, 0, OP(0x0f, 0xbd), rm, 0, K_BSF);
			/* no BMI1 here: F3 0F BC is REP BSF, not TZCNT */
			snprintf(n, sizeof(n), "rep bsf r%s, %s", sz_name[s], r);
			k = add(n, s, 0xf3, 0, OP(0x0f, 0xbc), rm, 0, K_BSF);
			k->host_bare = true;
			snprintf(n, sizeof(n), "lzcnt r%s, %s", sz_name[s], r);
			add(n, s, 0xf3, 0, OP(0x0f, 0xbd), rm, 0, K_LZCNT);
			snprintf(n, sizeof(n), "popcnt r%s, %s", sz_name[s], r);
			add(n, s, 0xf3, 0, OP(0x0f, 0xb8), rm, 0, K_ARITH);
		}
		for (int op = 0; op < 4; op++) {
			static const char *const bn[4] = { "bt", "bts", "btr",
							   "btc" };
			static const uint8_t bo[4] = { 0xa3, 0xab, 0xb3, 0xbb };

			snprintf(n, sizeof(n), "%s r%s, r", bn[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, bo[op]), 0xc8, 0, K_BT);
			snprintf(n, sizeof(n), "%s m%s, r", bn[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, bo[op]), 0x0f, 0, K_BTMEM);
			snprintf(n, sizeof(n), "%s r%s, imm", bn[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xba), 0xe0 | op << 3 | 1, 1,
			    K_BT);
			snprintf(n, sizeof(n), "%s m%s, imm", bn[op], sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xba), 0x27 | op << 3, 1,
			    K_BT);
			if (op) {
				snprintf(n, sizeof(n), "lock %s m%s, r", bn[op],
					 sz_name[s]);
				add(n, s, 0xf0, 0, OP(0x0f, bo[op]), 0x0f, 0,
				    K_BTMEM);
				snprintf(n, sizeof(n), "lock %s m%s, imm",
					 bn[op], sz_name[s]);
				add(n, s, 0xf0, 0, OP(0x0f, 0xba),
				    0x27 | op << 3, 1, K_BT);
			}
		}
	}
}

/*
 * The stack forms, between two XCHG RSP, RBX: RBX points into the area
 * (so does RBP, for ENTER and LEAVE)
 */
static void add_stack(void)
{
	static const struct { const char *n; uint8_t len, b[6]; } st[] = {
		{ "push rax", 1, { 0x50 } },
		{ "push r12", 2, { 0x41, 0x54 } },
		{ "push ax", 2, { 0x66, 0x50 } },
		{ "push imm8", 2, { 0x6a, 0x85 } },
		{ "push imm32", 5, { 0x68, 0x78, 0x56, 0x34, 0x92 } },
		{ "push imm16", 4, { 0x66, 0x68, 0x34, 0x92 } },
		{ "push [rdi]", 2, { 0xff, 0x37 } },
		{ "pop rcx", 1, { 0x59 } },
		{ "pop r9", 2, { 0x41, 0x59 } },
		{ "pop dx", 2, { 0x66, 0x5a } },
		{ "pop [rdi]", 2, { 0x8f, 0x07 } },
		/* RBP then data: compared in RCX (mov rcx, rbp; movzx ecx, bp) */
		{ "leave", 4, { 0xc9, 0x48, 0x89, 0xe9 } },
		{ "leave (66)", 5, { 0x66, 0xc9, 0x0f, 0xb7, 0xcd } },
		{ "enter 24, 0", 4, { 0xc8, 24, 0, 0 } },
		{ "enter 8, 1", 4, { 0xc8, 8, 0, 1 } },
		{ "enter 0, 2", 4, { 0xc8, 0, 0, 2 } },
		{ "enter 16, 5", 4, { 0xc8, 16, 0, 5 } },
		{ "enter 8, 33", 4, { 0xc8, 8, 0, 33 } },
		{ "enter (66) 4, 3", 5, { 0x66, 0xc8, 4, 0, 3 } },
	};
	static const uint8_t xchg[3] = { 0x48, 0x87, 0xdc };
	struct icase *k;

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		uint8_t b[16];

		memcpy(b, xchg, 3);
		memcpy(b + 3, st[i].b, st[i].len);
		memcpy(b + 3 + st[i].len, xchg, 3);
		k = add(st[i].n, 4, 0, 0, b, st[i].len + 6, -1, 0, K_STACK);
		k->mem = true;
		k->rbp_data = st[i].b[0] == 0xc9 || st[i].b[1] == 0xc9;
	}
}

static void add_moves(void)
{
	static const int sizes[4] = { 1, 2, 4, 8 };
	struct icase *k;
	char n[48];

	for (int si = 0; si < 4; si++) {
		int s = sizes[si], w = s > 1;

		for (int m = 0; m < 2; m++) {
			const char *r = m ? "m" : "r";
			int rm = m ? 0x0f : 0xc8;

			snprintf(n, sizeof(n), "cmpxchg %s%s, r", r, sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xb0 + w), m ? 0x0f : 0xca, 0,
			    K_CMPX);
			snprintf(n, sizeof(n), "xadd %s%s, r", r, sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xc0 + w), rm, 0, K_ARITH);
			snprintf(n, sizeof(n), "xchg %s%s, r", r, sz_name[s]);
			add(n, s, 0, 0, OP(0x86 + w), rm, 0, K_ARITH);
		}
		snprintf(n, sizeof(n), "lock cmpxchg m%s, r", sz_name[s]);
		add(n, s, 0xf0, 0, OP(0x0f, 0xb0 + w), 0x0f, 0, K_CMPX);
		snprintf(n, sizeof(n), "lock xadd m%s, r", sz_name[s]);
		add(n, s, 0xf0, 0, OP(0x0f, 0xc0 + w), 0x0f, 0, K_ARITH);
		if (w) {
			snprintf(n, sizeof(n), "xchg acc%s, rcx", sz_name[s]);
			add(n, s, 0, 0, OP(0x91), -1, 0, K_ARITH);
			snprintf(n, sizeof(n), "xchg acc%s, r9", sz_name[s]);
			add(n, s, 0, 1, OP(0x91), -1, 0, K_ARITH);
			snprintf(n, sizeof(n), "movsx r%s, rm8", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xbe), 0xc8, 0, K_ARITH);
			snprintf(n, sizeof(n), "movsx r%s, m8", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xbe), 0x0f, 0, K_ARITH);
			if (s < 8) {	/* with REX.W: SPL, DIL */
				snprintf(n, sizeof(n), "movsx r%s, ah", sz_name[s]);
				fixed(add(n, s, 0, 0, OP(0x0f, 0xbe), 0xcc, 0, K_ARITH));
			}
			snprintf(n, sizeof(n), "movzx r%s, rm8", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xb6), 0xc8, 0, K_ARITH);
			snprintf(n, sizeof(n), "movzx r%s, m8", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xb6), 0x0f, 0, K_ARITH);
			if (s < 8) {	/* with REX.W: SPL, DIL */
				snprintf(n, sizeof(n), "movzx r%s, bh", sz_name[s]);
				fixed(add(n, s, 0, 0, OP(0x0f, 0xb6), 0xcf, 0, K_ARITH));
			}
			snprintf(n, sizeof(n), "movsx r%s, rm16", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xbf), 0xc8, 0, K_ARITH);
			snprintf(n, sizeof(n), "movsx r%s, m16", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xbf), 0x0f, 0, K_ARITH);
			snprintf(n, sizeof(n), "movzx r%s, rm16", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xb7), 0xc8, 0, K_ARITH);
			snprintf(n, sizeof(n), "movzx r%s, m16", sz_name[s]);
			add(n, s, 0, 0, OP(0x0f, 0xb7), 0x0f, 0, K_ARITH);
		}
	}
	add("cmpxchg8b m64", 4, 0, 0, OP(0x0f, 0xc7), 0x0f, 0, K_CMPX);
	add("lock cmpxchg8b m64", 4, 0xf0, 0, OP(0x0f, 0xc7), 0x0f, 0, K_CMPX);
	add("cmpxchg16b m128", 8, 0, 0, OP(0x0f, 0xc7), 0x0f, 0, K_CMPX);
	add("lock cmpxchg16b m128", 8, 0xf0, 0, OP(0x0f, 0xc7), 0x0f, 0,
	    K_CMPX);
	/* misaligned: #GP */
	k = add("cmpxchg16b m128+8", 8, 0, 0, OP(0x0f, 0xc7), 0x4f, 0, K_CMPX);
	k->b[k->len++] = 8;
	fixed(add("cmpxchg ah, ch", 1, 0, 0, OP(0x0f, 0xb0), 0xec, 0, K_CMPX));
	fixed(add("xadd ah, ch", 1, 0, 0, OP(0x0f, 0xc0), 0xec, 0, K_ARITH));
	fixed(add("xchg ah, ch", 1, 0, 0, OP(0x86), 0xec, 0, K_ARITH));
	add("cbw", 2, 0, 0, OP(0x98), -1, 0, K_ARITH);
	add("cwde", 4, 0, 0, OP(0x98), -1, 0, K_ARITH);
	add("cdqe", 8, 0, 0, OP(0x98), -1, 0, K_ARITH);
	add("cwd", 2, 0, 0, OP(0x99), -1, 0, K_ARITH);
	add("cdq", 4, 0, 0, OP(0x99), -1, 0, K_ARITH);
	add("cqo", 8, 0, 0, OP(0x99), -1, 0, K_ARITH);
	add("movsxd r64, r32", 8, 0, 0, OP(0x63), 0xc8, 0, K_ARITH);
	add("movsxd r64, m32", 8, 0, 0, OP(0x63), 0x0f, 0, K_ARITH);
	add("movsxd r32, r32", 4, 0, 0, OP(0x63), 0xc8, 0, K_ARITH);
	add("bswap eax", 4, 0, 0, OP(0x0f, 0xc8), -1, 0, K_ARITH);
	add("bswap rcx", 8, 0, 0, OP(0x0f, 0xc9), -1, 0, K_ARITH);
	add("bswap r11d", 4, 0, 1, OP(0x0f, 0xcb), -1, 0, K_ARITH);
	add("bswap r12", 8, 0, 1, OP(0x0f, 0xcc), -1, 0, K_ARITH);
	add("lahf", 4, 0, 0, OP(0x9f), -1, 0, K_ARITH);
	add("sahf", 4, 0, 0, OP(0x9e), -1, 0, K_ARITH);
	add("cmc", 4, 0, 0, OP(0xf5), -1, 0, K_ARITH);
	add("clc", 4, 0, 0, OP(0xf8), -1, 0, K_ARITH);
	add("stc", 4, 0, 0, OP(0xf9), -1, 0, K_ARITH);
	add("cld", 4, 0, 0, OP(0xfc), -1, 0, K_ARITH);
	add("std; movsb; cld", 4, 0, 0, OP(0xfd, 0xa4, 0xfc), -1, 0, K_STR);
	add("movnti m32, r", 4, 0, 0, OP(0x0f, 0xc3), 0x0f, 0, K_ARITH);
	for (int si = 0; si < 4; si++) {
		int s = sizes[si], w = s > 1;

		snprintf(n, sizeof(n), "mov rm%s, r", sz_name[s]);
		add(n, s, 0, 0, OP(0x88 + w), 0xc8, 0, K_ARITH);
		snprintf(n, sizeof(n), "mov r%s, rm", sz_name[s]);
		add(n, s, 0, 0, OP(0x8a + w), 0xc8, 0, K_ARITH);
		snprintf(n, sizeof(n), "mov m%s, r", sz_name[s]);
		add(n, s, 0, 0, OP(0x88 + w), 0x0f, 0, K_ARITH);
		snprintf(n, sizeof(n), "mov r%s, m", sz_name[s]);
		add(n, s, 0, 0, OP(0x8a + w), 0x0f, 0, K_ARITH);
		snprintf(n, sizeof(n), "mov r%s, imm", sz_name[s]);
		add(n, s, 0, 0, OP(0xc6 + w), 0xc1, immsz(s), K_ARITH);
		snprintf(n, sizeof(n), "mov m%s, imm", sz_name[s]);
		add(n, s, 0, 0, OP(0xc6 + w), 0x07, immsz(s), K_ARITH);
		snprintf(n, sizeof(n), "mov r%s, imm (b8+r)", sz_name[s]);
		add(n, s, 0, 1, OP((w ? 0xb8 : 0xb0) + 3), -1,
		    s == 8 ? 8 : s, K_ARITH);
		if (s == 1)
			continue;
		/* lea r, [rcx + rdx * 4 + d32]; the reg field random */
		snprintf(n, sizeof(n), "lea r%s, [b+i*4+d]", sz_name[s]);
		add(n, s, 0, 0, OP(0x8d, 0x84, 0x91), -1, 4, K_ARITH);
		snprintf(n, sizeof(n), "lea r%s, [b+i*8+d] a32", sz_name[s]);
		add(n, s, 0x67, 0, OP(0x8d, 0x84, 0xd1), -1, 4, K_ARITH);
		snprintf(n, sizeof(n), "lea r%s, [r9+r10*2+d8]", sz_name[s]);
		add(n, s, 0, 3, OP(0x8d, 0x44, 0x51), -1, 1, K_ARITH);
	}
	add("mov ah, imm", 1, 0, 0, OP(0xb4), -1, 1, K_ARITH);
	add("mov bh, ch", 1, 0, 0, OP(0x88), 0xef, 0, K_ARITH)->rr = 0;
	add("xlat", 1, 0, 0, OP(0xd7), -1, 0, K_XLAT);
	add("xlat (w)", 8, 0, 0, OP(0xd7), -1, 0, K_XLAT);
	add_stack();
	add("movnti m64, r", 8, 0, 0, OP(0x0f, 0xc3), 0x0f, 0, K_ARITH);
}

static void add_cond(void)
{
	char n[48];

	for (int cc = 0; cc < 16; cc++) {
		snprintf(n, sizeof(n), "set%x al", cc);
		add(n, 1, 0, 0, OP(0x0f, 0x90 + cc), 0xc0, 0, K_ARITH);
		snprintf(n, sizeof(n), "set%x m8", cc);
		add(n, 1, 0, 0, OP(0x0f, 0x90 + cc), 0x07, 0, K_ARITH);
		snprintf(n, sizeof(n), "set%x ah", cc);
		add(n, 1, 0, 0, OP(0x0f, 0x90 + cc), 0xc4, 0, K_ARITH);
		snprintf(n, sizeof(n), "cmov%x r16, r", cc);
		add(n, 2, 0, 0, OP(0x0f, 0x40 + cc), 0xc1, 0, K_ARITH);
		snprintf(n, sizeof(n), "cmov%x r32, r", cc);
		add(n, 4, 0, 0, OP(0x0f, 0x40 + cc), 0xc1, 0, K_ARITH);
		snprintf(n, sizeof(n), "cmov%x r64, r", cc);
		add(n, 8, 0, 0, OP(0x0f, 0x40 + cc), 0xc1, 0, K_ARITH);
		snprintf(n, sizeof(n), "cmov%x r32, m", cc);
		add(n, 4, 0, 0, OP(0x0f, 0x40 + cc), 0x07, 0, K_ARITH);
		snprintf(n, sizeof(n), "cmov%x r64, m", cc);
		add(n, 8, 0, 0, OP(0x0f, 0x40 + cc), 0x07, 0, K_ARITH);
		/* jcc over mov al, 1 */
		snprintf(n, sizeof(n), "j%x rel8", cc);
		add(n, 4, 0, 0, OP(0x70 + cc, 2, 0xb0, 1), -1, 0, K_ARITH);
		snprintf(n, sizeof(n), "j%x rel32", cc);
		add(n, 4, 0, 0, OP(0x0f, 0x80 + cc, 2, 0, 0, 0, 0xb0, 1), -1,
		    0, K_ARITH);
	}
	add("loop", 4, 0, 0, OP(0xe2, 2, 0xb0, 1), -1, 0, K_ARITH);
	add("loope", 4, 0, 0, OP(0xe1, 2, 0xb0, 1), -1, 0, K_ARITH);
	add("loopne", 4, 0, 0, OP(0xe0, 2, 0xb0, 1), -1, 0, K_ARITH);
	add("jrcxz", 4, 0, 0, OP(0xe3, 2, 0xb0, 1), -1, 0, K_ARITH);
	add("jecxz", 4, 0, 0, OP(0x67, 0xe3, 2, 0xb0, 1), -1, 0, K_ARITH);
}

static void add_strings(void)
{
	static const char *const nm[5] = { "movs", "cmps", "stos", "lods",
					   "scas" };
	static const uint8_t op[5] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };
	static const int sizes[4] = { 1, 2, 4, 8 };
	char n[48];

	for (int i = 0; i < 5; i++)
		for (int si = 0; si < 4; si++) {
			int s = sizes[si], w = s > 1;

			for (int p = 0; p < 3; p++) {
				static const uint8_t pre[3] = { 0, 0xf3, 0xf2 };
				static const char *const pn[3] = { "",
					"rep ", "repne " };

				if (p == 2 && i != 1 && i != 4)
					continue;
				snprintf(n, sizeof(n), "%s%s%s", pn[p], nm[i],
					 sz_name[s]);
				add(n, s, pre[p], 0, OP(op[i] + w), -1, 0,
				    K_STR);
				if (s == 8)
					continue;
				/* ESI, EDI, ECX: their upper halves random */
				snprintf(n, sizeof(n), "%s%s%s a32", pn[p],
					 nm[i], sz_name[s]);
				add(n, s, pre[p], 0, OP(0x67, op[i] + w), -1, 0,
				    K_STR)->a32 = true;
			}
		}
	add("loop a32", 4, 0, 0, OP(0x67, 0xe2, 2, 0xb0, 1), -1, 0, K_ARITH);
}

/* The masked count of a shift-like form */
static unsigned shift_count(const struct icase *c, const uint8_t *insn,
			    size_t len, const uint8_t *in)
{
	unsigned v = c->cnt == CNT_1 ? 1 : c->cnt == CNT_CL ?
		     in[HX_GPR + 8] : insn[len - 1];

	return v & (c->size == 8 ? 63 : 31);
}

/* What the SDM leaves undefined in the form's run on in (host: after) */
static void mask_of(const struct icase *c, const uint8_t *insn, size_t len,
		    int reg, int rm, const uint8_t *in, const uint8_t *host,
		    struct hx_mask *m)
{
	unsigned w = c->size * 8, n;
	uint64_t fl;

	memset(m, 0, sizeof(*m));
	m->flags = HX_FLAGS;
	memcpy(&fl, host + HX_FL_OUT, 8);
	if (c->rbp_data)
		m->gpr |= 1 << R_BP;
	if (c->kind == K_STACK && insn[c->len - 7] == 0xc8) {
		/* ENTER pushes RBP and (nested) the frame: pointers */
		unsigned lv = insn[c->len - 4] & 31, sz = c->b[3] == 0x66 ? 2 : 8;
		uint64_t sp;

		memcpy(&sp, in + HX_GPR + 8 * R_BX, 8);
		m->skip[0].at = sp - sz;
		m->skip[0].n = sz;
		if (lv) {
			m->skip[1].at = sp - sz - sz * lv;
			m->skip[1].n = sz;
		}
	}
	switch (c->kind) {
	case K_LOGIC:
		m->flags &= ~FL_AF;
		break;
	case K_MUL:
		m->flags &= ~(FL_SF | FL_ZF | FL_AF | FL_PF);
		break;
	case K_DIV:
		m->flags &= ~(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF);
		break;
	case K_SHIFT:
	case K_SAR:
	case K_ROT:
	case K_RCX:
		n = shift_count(c, insn, len, in);
		if (n && c->kind != K_ROT && c->kind != K_RCX)
			m->flags &= ~FL_AF;
		if (n > 1)
			m->flags &= ~FL_OF;
		if (n >= w && c->kind == K_SHIFT)
			m->flags &= ~FL_CF;
		break;
	case K_SHD:
		n = shift_count(c, insn, len, in);
		if (n)
			m->flags &= ~FL_AF;
		if (n > 1)
			m->flags &= ~FL_OF;
		if (n > w) {
			m->flags &= ~(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF |
				      FL_OF);
			if (c->mem)
				m->mem = c->size;
			else
				m->gpr |= 1 << rm;
		}
		break;
	case K_BSF:
		m->flags &= ~(FL_CF | FL_PF | FL_AF | FL_SF | FL_OF);
		if (fl & FL_ZF)
			m->gpr |= 1 << reg;
		break;
	case K_BT:
	case K_BTMEM:
		m->flags &= ~(FL_PF | FL_AF | FL_SF | FL_OF);
		break;
	case K_LZCNT:
		m->flags &= ~(FL_PF | FL_AF | FL_SF | FL_OF);
		break;
	}
}

/*
 * The case's input state (an offset block) and its pointer registers;
 * reg and rm its ModRM registers (make_insn)
 */
static uint16_t make_state(const struct icase *c, uint8_t *s, int reg,
			   int rm)
{
	uint64_t g[16], fl;
	uint16_t ptr = 0;
	uint32_t mxcsr = 0x1f80;

	memset(s, 0, HX_BLOCK);
	memcpy(s + 24, &mxcsr, 4);
	memcpy(s + HX_MXCSR, &mxcsr, 4);
	s[0] = 0x7f;	/* FCW 037FH */
	s[1] = 0x03;
	for (int i = 0; i < 16; i++)
		g[i] = rnd_val();
	for (int i = 0; i < 32 * 8; i += 8) {
		uint64_t v = rnd();

		memcpy(s + 160 + i, &v, 8);
	}
	for (int i = 0; i < HX_MEM_LEN; i += 8) {
		uint64_t v = rnd_val();

		memcpy(s + HX_MEM + i, &v, 8);
	}
	fl = 2 | (rnd() & (HX_FLAGS & ~FL_DF));
	if (c->mem) {
		g[R_DI] = HX_MEM_LEN / 2;
		ptr |= 1 << R_DI;
	}
	if (c->cnt == CNT_CL && rnd() & 3)
		g[R_CX] = (g[R_CX] & ~0xffULL) | rnd() % 70;
	switch (c->kind) {
	case K_DIV:	/* mostly a quotient that fits */
		switch (rnd() & 3) {
		case 0:
			g[R_DX] = 0;
			g[R_AX] &= ~0xff00ULL;
			break;
		case 1:
			g[R_DX] = (int64_t)g[R_AX] < 0 ? ~0ULL : 0;
			if (c->size == 1)
				g[R_AX] = (uint16_t)(int8_t)g[R_AX] |
					  (g[R_AX] & ~0xffffULL);
			break;
		case 2:
			g[R_DX] = rnd() & 0xff;
			break;
		}
		break;
	case K_BTMEM:	/* a bit offset within the area */
		g[reg] = (uint64_t)((int64_t)(rnd() % 3200) - 1600);
		if (c->size == 2)
			g[reg] = (g[reg] & 0xffff) | (rnd() << 16);
		break;
	case K_CMPX:
		if (rnd() & 1) {
			memcpy(&g[R_AX], s + HX_MEM + HX_MEM_LEN / 2, 8);
			memcpy(&g[R_DX], s + HX_MEM + HX_MEM_LEN / 2 + 8, 8);
			if (c->size == 4)
				memcpy(&g[R_DX], s + HX_MEM + HX_MEM_LEN / 2 + 4,
				       4);
			if (rm >= 16)	/* the accumulator equal to AH..BH */
				g[R_AX] = (g[R_AX] & ~0xffULL) |
					  (uint8_t)(g[rm - 16] >> 8);
			else if (rm >= 0)
				g[R_AX] = g[rm];
		}
		break;
	case K_XLAT:
		g[R_BX] = rnd() % 256;
		ptr |= 1 << R_BX;
		break;
	case K_STACK:	/* RBX 16-aligned or not, RBP above it */
		g[R_BX] = 192 + (rnd() % 4) * 4;
		g[R_BP] = 320 + (rnd() % 8) * 8;
		ptr |= 1 << R_BX | 1 << R_BP;
		break;
	case K_STR:
		fl |= rnd() & FL_DF;
		g[R_SI] = 160 + rnd() % 190;
		g[R_DI] = 160 + rnd() % 190;
		g[R_CX] = rnd() % 20;
		ptr |= 1 << R_SI | 1 << R_DI;
		if (rnd() & 1) {	/* equal strings, but for a byte or not */
			int d = fl & FL_DF ? 152 : 0;

			memmove(s + HX_MEM + g[R_DI] - d,
				s + HX_MEM + g[R_SI] - d, 160);
			if (rnd() & 1)
				s[HX_MEM + g[R_DI] - d + rnd() % 160] ^= 1;
		}
		if (rnd() & 1) {	/* SCAS finds it */
			int64_t at = (rnd() % 8) * c->size;

			memcpy(&g[R_AX], s + HX_MEM + g[R_DI] +
			       (fl & FL_DF ? -at : at), 8);
		}
		if (c->a32) {
			g[R_SI] |= rnd() << 32;
			g[R_DI] |= rnd() << 32;
			g[R_CX] |= rnd() << 32;
		}
		break;
	}
	memcpy(s + HX_GPR, g, sizeof(g));
	memcpy(s + HX_FL, &fl, 8);
	return ptr;
}

static void test_int_against_host(void)
{
	struct hx *h = hx_new(SEED);
	int samples = hx_samples(SAMPLES);
	static uint8_t in[HX_BLOCK] __attribute__((aligned(16)));
	int cases_translated = 0;

	if (!h) {
		SKIP("no executable memory for the host's runs");
		return;
	}
	add_alu();
	add_unary();
	add_shifts();
	add_mul_bits();
	add_moves();
	add_cond();
	add_strings();
	for (int k = 0; k < ncases; k++) {
		const struct icase *c = &cases[k];
		bool tr = false;

		if (c->a32 && !h->low)
			continue;
		hx_next_form(h);

		for (int s = 0; s < samples; s++) {
			uint8_t insn[24];
			int reg, rm, vec;
			size_t len = make_insn(c, insn, &reg, &rm);
			uint16_t ptr = make_state(c, in, reg, rm);
			struct hx_mask m;
			bool bare = c->host_bare;

			for (int i = 0; i < c->imm; i++)
				insn[len++] = i == 0 && rnd() & 1 ?
					      rnd() % 70 : rnd();
			/* the masks need the host's result */
			vec = hx_host(h, insn + bare, len - bare, in, ptr);
			mask_of(c, insn, len, reg, rm, in, h->host, &m);
			hx_emu_check(h, c->name, insn, len, vec, in, ptr, &m, s);
			if (!tr && s < 4 && vec < 0)
				tr = hx_translated(h, insn, len, in, ptr);
		}
		cases_translated += tr;
		if (getenv("HX_VERBOSE"))
			printf("  %-28s %s\n", c->name,
			       tr ? "translated" : "");
	}
	printf("  %d forms, %d runs (%d translated forms), %d differ\n",
	       ncases, h->runs, cases_translated, h->fails);
	CHECK_EQ(h->fails, 0);
	hx_free(h);
}

int main(void)
{
	RUN(test_int_against_host);
	return test_summary();
}
