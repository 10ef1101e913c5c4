/* SPDX-License-Identifier: MIT */
/*
 * A small x86-64 encoder for the translator (jit_gen.c): the few forms it
 * needs, each operand either a host register or [base + index*s + disp].
 * Memory operands always carry a disp8 or disp32 (never mod 0), so RBP
 * and R13 need no special case; RSP and R12 as a base get their SIB.
 */
#ifndef CVISOR_ACCEL_EMU_JIT_EMIT_H
#define CVISOR_ACCEL_EMU_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
	HRAX, HRCX, HRDX, HRBX, HRSP, HRBP, HRSI, HRDI,
	HR8, HR9, HR10, HR11, HR12, HR13, HR14, HR15,
};

/* Output buffer; full is set instead of writing past end. */
struct jbuf {
	uint8_t *p, *end;
	bool full;
};

/* An r/m operand */
struct jop {
	bool mem;
	int8_t reg;		/* !mem */
	int8_t base, index;	/* mem; index -1: none */
	uint8_t scale;
	int32_t disp;
};

static inline struct jop jreg(int r)
{
	return (struct jop){ .reg = (int8_t)r };
}

static inline struct jop jmem(int base, int32_t disp)
{
	return (struct jop){ .mem = true, .base = (int8_t)base, .index = -1,
			     .disp = disp };
}

static inline struct jop jmem_idx(int base, int index, int scale,
				  int32_t disp)
{
	return (struct jop){ .mem = true, .base = (int8_t)base,
			     .index = (int8_t)index, .scale = (uint8_t)scale,
			     .disp = disp };
}

static inline void jb8(struct jbuf *b, uint8_t v)
{
	if (b->p < b->end)
		*b->p++ = v;
	else
		b->full = true;
}

static inline void jb16(struct jbuf *b, uint16_t v)
{
	jb8(b, v);
	jb8(b, v >> 8);
}

static inline void jb32(struct jbuf *b, uint32_t v)
{
	jb16(b, v);
	jb16(b, v >> 16);
}

static inline void jb64(struct jbuf *b, uint64_t v)
{
	jb32(b, v);
	jb32(b, v >> 32);
}

/* An immediate of an operand size (64-bit operands take a simm32) */
static inline void jb_imm(struct jbuf *b, int size, uint64_t v)
{
	if (size == 1)
		jb8(b, v);
	else if (size == 2)
		jb16(b, v);
	else
		jb32(b, v);
}

/*
 * One instruction: [66] [REX] opcode (1 to 3 bytes, first byte in the low
 * bits) ModRM [SIB] [disp]. reg is a register or an opcode extension.
 * Byte-sized forms always get a REX, so host registers 4..7 mean SPL..DIL
 * (the translator never wants AH..BH on the host). The caller appends the
 * immediate.
 */
static inline void jx(struct jbuf *b, int size, uint32_t opc, int nopc,
		      int reg, struct jop rm)
{
	int rmr = rm.mem ? rm.base : rm.reg;
	uint8_t rex = 0x40;

	if (size == 2)
		jb8(b, 0x66);
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (rm.mem && rm.index >= 0 && (rm.index & 8))
		rex |= 2;
	if (rmr & 8)
		rex |= 1;
	if (rex != 0x40 || size == 1)
		jb8(b, rex);
	for (int i = 0; i < nopc; i++)
		jb8(b, opc >> (8 * i));
	if (!rm.mem) {
		jb8(b, 0xc0 | (reg & 7) << 3 | (rm.reg & 7));
		return;
	}
	{
		bool d8 = rm.disp >= -128 && rm.disp <= 127;
		uint8_t mod = d8 ? 0x40 : 0x80;

		if (rm.index >= 0 || (rm.base & 7) == 4) {
			jb8(b, mod | (reg & 7) << 3 | 4);
			jb8(b, rm.scale << 6 |
			       (rm.index >= 0 ? rm.index & 7 : 4) << 3 |
			       (rm.base & 7));
		} else {
			jb8(b, mod | (reg & 7) << 3 | (rm.base & 7));
		}
		if (d8)
			jb8(b, rm.disp);
		else
			jb32(b, rm.disp);
	}
}

/* op r/m, r and op r, r/m for the 8 ALU ops (0 ADD .. 7 CMP) */
static inline void j_alu_mr(struct jbuf *b, int size, int op, struct jop rm,
			    int r)
{
	jx(b, size, op * 8 + (size != 1), 1, r, rm);
}

static inline void j_alu_rm(struct jbuf *b, int size, int op, int r,
			    struct jop rm)
{
	jx(b, size, op * 8 + 2 + (size != 1), 1, r, rm);
}

static inline void j_alu_mi(struct jbuf *b, int size, int op, struct jop rm,
			    uint64_t imm)
{
	jx(b, size, size == 1 ? 0x80 : 0x81, 1, op, rm);
	jb_imm(b, size, imm);
}

/* MOV r/m, r; MOV r, r/m; MOV r/m, imm */
static inline void j_mov_mr(struct jbuf *b, int size, struct jop rm, int r)
{
	jx(b, size, 0x88 + (size != 1), 1, r, rm);
}

static inline void j_mov_rm(struct jbuf *b, int size, int r, struct jop rm)
{
	jx(b, size, 0x8a + (size != 1), 1, r, rm);
}

static inline void j_mov_mi(struct jbuf *b, int size, struct jop rm,
			    uint64_t imm)
{
	jx(b, size, 0xc6 + (size != 1), 1, 0, rm);
	jb_imm(b, size, imm);
}

/* MOV r64, imm64 */
static inline void j_mov_ri64(struct jbuf *b, int r, uint64_t imm)
{
	jb8(b, 0x48 | (r >> 3));
	jb8(b, 0xb8 + (r & 7));
	jb64(b, imm);
}

/* MOV r32, imm32 (zero-extends) */
static inline void j_mov_ri32(struct jbuf *b, int r, uint32_t imm)
{
	if (r & 8)
		jb8(b, 0x41);
	jb8(b, 0xb8 + (r & 7));
	jb32(b, imm);
}

static inline void j_lea(struct jbuf *b, int size, int r, struct jop m)
{
	jx(b, size, 0x8d, 1, r, m);
}

static inline void j_test_mr(struct jbuf *b, int size, struct jop rm, int r)
{
	jx(b, size, 0x84 + (size != 1), 1, r, rm);
}

static inline void j_test_mi(struct jbuf *b, int size, struct jop rm,
			     uint64_t imm)
{
	jx(b, size, 0xf6 + (size != 1), 1, 0, rm);
	jb_imm(b, size, imm);
}

/* Group 2 (ROL .. SAR) by an immediate count */
static inline void j_shift_mi(struct jbuf *b, int size, int op,
			      struct jop rm, uint8_t count)
{
	if (count == 1) {
		jx(b, size, 0xd0 + (size != 1), 1, op, rm);
		return;
	}
	jx(b, size, 0xc0 + (size != 1), 1, op, rm);
	jb8(b, count);
}

/* Group 3 (/2 NOT, /3 NEG) and group 4/5 (/0 INC, /1 DEC) */
static inline void j_grp3(struct jbuf *b, int size, int ext, struct jop rm)
{
	jx(b, size, 0xf6 + (size != 1), 1, ext, rm);
}

static inline void j_incdec(struct jbuf *b, int size, bool dec,
			    struct jop rm)
{
	jx(b, size, 0xfe + (size != 1), 1, dec, rm);
}

/*
 * MOVZX/MOVSX r, r/m8 or r/m16 (size: the destination's, 4 or 8). A byte
 * source always gets a REX (size 1 to jx), so registers 4..7 are SPL..DIL.
 */
static inline void j_movx(struct jbuf *b, int size, bool sign, int from,
			  int r, struct jop rm)
{
	jx(b, size == 4 && from == 1 ? 1 : size, 0x0f | ((sign ? 0xbe00 : 0xb600) + ((from == 2) << 8)), 2,
	   r, rm);
}

/* CMOVcc r, r/m and SETcc r/m8 */
static inline void j_cmov(struct jbuf *b, int size, int cc, int r,
			  struct jop rm)
{
	jx(b, size, 0x0f | ((0x40 + cc) << 8), 2, r, rm);
}

static inline void j_setcc(struct jbuf *b, int cc, struct jop rm)
{
	jx(b, 1, 0x0f | ((0x90 + cc) << 8), 2, 0, rm);
}

/* The rel32 about to be written, or NULL when it does not fit */
static inline uint8_t *jb_rel32(struct jbuf *b)
{
	uint8_t *at = b->end - b->p >= 4 ? b->p : NULL;

	jb32(b, 0);
	return at;
}

/* Jcc rel32 / JMP rel32; returns where the rel32 is, to point it later */
static inline uint8_t *j_jcc(struct jbuf *b, int cc)
{
	jb8(b, 0x0f);
	jb8(b, 0x80 + cc);
	return jb_rel32(b);
}

static inline uint8_t *j_jmp(struct jbuf *b)
{
	jb8(b, 0xe9);
	return jb_rel32(b);
}

/* Point a rel32 written by j_jcc/j_jmp at target (NULL: did not fit) */
static inline void j_patch(uint8_t *rel, const uint8_t *target)
{
	int32_t d;

	if (!rel)
		return;
	d = (int32_t)(target - (rel + 4));
	memcpy(rel, &d, 4);
}

/* CALL target */
static inline void j_call(struct jbuf *b, const uint8_t *target)
{
	jb8(b, 0xe8);
	j_patch(jb_rel32(b), target);
}

/* JMP target */
static inline void j_goto(struct jbuf *b, const uint8_t *target)
{
	j_patch(j_jmp(b), target);
}

/* MOV r64, imm in the shortest form */
static inline void j_mov_rimm(struct jbuf *b, int r, uint64_t imm)
{
	if (imm <= UINT32_MAX)
		j_mov_ri32(b, r, imm);
	else if ((uint64_t)(int64_t)(int32_t)imm == imm) {
		jx(b, 8, 0xc7, 1, 0, jreg(r));
		jb32(b, imm);
	} else
		j_mov_ri64(b, r, imm);
}

/* An instruction ending in [RIP + disp32]; returns the disp32 to point */
static inline uint8_t *j_riprel(struct jbuf *b, uint8_t rex, uint8_t opc,
				int reg)
{
	if (rex)
		jb8(b, rex);
	jb8(b, opc);
	jb8(b, (reg & 7) << 3 | 5);
	return jb_rel32(b);
}

#endif
