/* SPDX-License-Identifier: MIT */
/*
 * The decode cache's entries and blocks, shared by the decoder
 * (dcache_decode.c) and the runner (dcache.c).
 *
 * Besides the operand description, each entry names its handler (h): the
 * decoder picks, once, a handler specialised for the instruction's form,
 * operand size and ALU operation, so that the runner's hot handlers have
 * no inner switches. Forms without a specialised handler get H_GENERIC,
 * which runs the entry through the general switch (dc_exec). An
 * instruction that is not a cached form at all ends its block with an
 * H_INTERP entry, which runs it through the general decoder without
 * leaving the block runner.
 */
#ifndef CVISOR_ACCEL_EMU_DCACHE_H
#define CVISOR_ACCEL_EMU_DCACHE_H

#include <stddef.h>

#include "accel/emu/exec.h"

#define DCACHE_BLOCKS	4096	/* blocks per CPU, direct-mapped */
#define DCB_INSNS	12	/* instructions per block at most */
#define DCB_BYTES	112	/* their bytes at most */

enum dc_kind {
	DC_NONE,	/* not a cached form: use the general path */
	DC_ALU_RM_R, DC_ALU_R_RM, DC_ALU_RM_IMM, DC_TEST,
	DC_MOV_RM_R, DC_MOV_R_RM, DC_MOV_RM_IMM, DC_MOV_R_IMM, DC_LEA,
	DC_PUSH, DC_POP, DC_JCC, DC_JMP, DC_CALL, DC_RET,
	DC_MOVZX, DC_MOVSX, DC_MOVSXD, DC_CMOV, DC_SETCC,
	DC_SHIFT, DC_TEST_IMM, DC_GROUP3, DC_INC, DC_DEC, DC_CALL_RM,
	DC_JMP_RM, DC_PUSH_RM, DC_NOP, DC_LEAVE, DC_CWDE, DC_CDQ, DC_IMUL,
	DC_IMUL_IMM, DC_PUSH_IMM, DC_BT, DC_BSWAP,
	DC_XMM_LOAD, DC_XMM_STORE,	/* 128-bit moves; op: aligned */
	DC_PXOR,
	/*
	 * Run by the general decoder (H_DECODE), decoded for the translator:
	 * MOVSS/MOVSD (op: 4 or 8 bytes; size2: 1 load, 0 store) and
	 * MOVD/MOVQ (op: 0 66 0F 6E, 1 66 0F 7E, 2 F3 0F 7E, 3 66 0F D6),
	 * REP STOS (op 0) and REP MOVS (op 1), BSF/BSR (op 0/1; F3 0F BC
	 * is BSF), SHLD/SHRD (op 0/1, imm or DC_COUNT_CL), XCHG, CMPXCHG and
	 * XADD r/m, r
	 */
	DC_XMM_SCALAR, DC_MOVQ, DC_REP_STR, DC_BITSCAN, DC_SHLD, DC_XCHG,
	DC_CMPXCHG, DC_XADD,
	/*
	 * The same, system forms (jit_sys.c): PUSHF, POPF, CLI, STI (no 66)
	 * and MOV r/m, Sreg (modrm_reg: the segment); BT/BTS/BTR/BTC r/m
	 * (jit_bit.c; op: 0..3) by an imm8 or, imm DC_BIT_REG, register reg
	 */
	DC_PUSHF, DC_POPF, DC_CLI, DC_STI, DC_MOV_SREG, DC_BTX,
	/*
	 * SSE/SSE2 arithmetic, logic, shuffles, compares and conversions
	 * (dc_sse_form): op the second opcode byte, size2 the prefix
	 * (DC_PFX_*), size 8 with REX.W else 4, imm the imm8 if any
	 */
	DC_SSE,
	/* FNSTCW m16 (D9 /7), run by the general decoder (jit_ops.c) */
	DC_FNSTCW,
};

enum { DC_PFX_NONE, DC_PFX_66, DC_PFX_F3, DC_PFX_F2 };
enum { DC_SSE_FORM = 1, DC_SSE_IMM8 };
/* dcache_sse.c: 0, DC_SSE_FORM or DC_SSE_IMM8 (an imm8 follows) */
int dc_sse_form(int pfx, uint8_t op);

#define DC_COUNT_CL	0x100	/* DC_SHIFT count from CL (not an imm8) */
#define DC_BIT_REG	0x100	/* DC_BTX bit offset from register reg */

/*
 * Handlers. A family of ALU handlers is indexed by DC_ALU_SLOT: ADD, OR,
 * AND, SUB, XOR, CMP at 8 bits, then the same at 16, 32 and 64 bits (ADC
 * and SBB need the carry in and stay generic). Families sized alike are
 * indexed by DC_SIZE_SLOT (8, 16, 32, 64 bits); other families as their
 * comment says. Byte forms of AH..BH, and read-modify-write memory but
 * for the ALU ops, stay generic.
 */
#define DC_SIZE_SLOT(size)	((size) == 1 ? 0 : (size) == 2 ? 1 : \
				 (size) == 4 ? 2 : 3)
#define DC_ALU_SLOT(op, size)	(((op) < 2 ? (op) : (op) - 2) + \
				 6 * DC_SIZE_SLOT(size))
/* Shifts and rotates of a register: op (ROL .. SAR) + 8 * DC_SIZE_SLOT */
#define DC_SHIFT_SLOT(op, size)	((op) + 8 * DC_SIZE_SLOT(size))
enum dc_handler {
	H_GENERIC,
	H_ALU_RR,			/* reg op= reg, + DC_ALU_SLOT */
	H_ALU_RI = H_ALU_RR + 24,	/* reg op= imm */
	H_ALU_RM = H_ALU_RI + 24,	/* reg op= [mem] */
	H_CMP_MR = H_ALU_RM + 24,	/* CMP [mem], reg; + DC_SIZE_SLOT */
	H_CMP_MI = H_CMP_MR + 4,	/* CMP [mem], imm */
	H_TEST_RR = H_CMP_MI + 4,
	H_TEST_RI = H_TEST_RR + 4,
	H_MOV_RR = H_TEST_RI + 4,	/* + (size == 8) */
	H_MOV_RI = H_MOV_RR + 2,	/* 32 or 64 bits alike */
	H_LOAD,				/* + DC_SIZE_SLOT */
	H_STORE = H_LOAD + 4,
	H_STORE_IMM = H_STORE + 4,
	H_LEA = H_STORE_IMM + 4,	/* + (size == 8) */
	H_MOVZX_M = H_LEA + 2,		/* + (size2 == 2) */
	H_MOVZX_R = H_MOVZX_M + 2,	/* + (size2 == 2) */
	H_MOVSX_M = H_MOVZX_R + 2,	/* + (size2 == 2) + 2 * (size == 8) */
	H_MOVSX_R = H_MOVSX_M + 4,	/* the same */
	H_MOVSXD_M = H_MOVSX_R + 4,
	H_MOVSXD_R,
	H_INC,				/* + 2 * dec + (size == 8) */
	H_PUSH = H_INC + 4,
	H_POP,
	H_CALL,
	H_RET,
	H_JMP,
	H_JCC,				/* + condition code */
	H_SHIFT_R = H_JCC + 16,		/* + DC_SHIFT_SLOT */
	H_NOP = H_SHIFT_R + 32,
	H_INTERP,			/* not a cached form: exec_insn_decode */
	H_JMP_RM,			/* + mem */
	H_CALL_RM = H_JMP_RM + 2,	/* + mem */
	H_BT_R = H_CALL_RM + 2,		/* BT r/m, imm8; + (size == 8) */
	H_BT_M = H_BT_R + 2,
	H_NOT_R = H_BT_M + 2,		/* + DC_SIZE_SLOT */
	H_NEG_R = H_NOT_R + 4,		/* + DC_SIZE_SLOT */
	H_BSWAP = H_NEG_R + 4,		/* + (size == 8) */
	H_XMM_RR = H_BSWAP + 2,		/* xmm d = xmm s */
	H_XMM_LD,			/* xmm d = [mem]; + aligned */
	H_XMM_ST = H_XMM_LD + 2,	/* [mem] = xmm s; + aligned */
	H_PXOR_RR = H_XMM_ST + 2,
	H_DECODE,			/* the general decoder, as H_INTERP */
	H_ALU_MR,			/* [mem] op= reg, + DC_SIZE_SLOT */
	H_ALU_MI = H_ALU_MR + 4,	/* [mem] op= imm */
	H_IMUL_R = H_ALU_MI + 4,	/* IMUL reg, reg; + (size == 8) */
	H_IMUL_M = H_IMUL_R + 2,	/* IMUL reg, [mem] */
	H_IMUL_RI = H_IMUL_M + 2,	/* IMUL reg, reg, imm */
	H_IMUL_MI = H_IMUL_RI + 2,	/* IMUL reg, [mem], imm */
	H_CMOV_R = H_IMUL_MI + 2,	/* CMOVcc reg, reg; + (size == 8) */
	H_CMOV_M = H_CMOV_R + 2,	/* CMOVcc reg, [mem] */
	H_SETCC_R = H_CMOV_M + 2,	/* SETcc of a low byte register */
	H_SETCC_M,
	H_COUNT
};

struct dc_entry {
	uint8_t len, kind, size, size2, op;
	uint8_t rex, seg, reg, modrm_reg, rm;
	bool mem, riprel;
	int8_t base, index;	/* -1: none */
	uint8_t scale;
	uint16_t h;		/* enum dc_handler */
	uint8_t d, s;		/* destination and source register */
	bool lock;		/* a LOCK prefix (run by the general decoder) */
	bool stack;		/* a stack reference (cpu->stack_ref) */
	/*
	 * Offsets in struct emu_cpu of the base and index registers, or of
	 * the always-zero dc_zero when there is none: the specialised
	 * handlers add both without asking.
	 */
	uint16_t boff, ioff;
	uint16_t soff;		/* of the FS or GS base, or of dc_zero */
	int32_t disp;
	uint64_t imm;
};

/* Header and bytes in the first two cache lines, entries after them. */
struct __attribute__((aligned(64))) dc_block {
	const uint8_t *key;	/* host address of the first byte */
	uint64_t seen;		/* the span its bytes were checked in */
	uint8_t n;		/* entries; 0: no room for the first one */
	uint8_t nbytes;		/* bytes checked on a hit */
	uint8_t bytes[DCB_BYTES];
	struct dc_entry e[DCB_INSNS];
};

/*
 * Decode the block at p, at most up to end (the fetch page's end): an
 * instruction that goes on past it is left to the general decoder.
 */
void dc_build(struct dc_block *b, const uint8_t *p, const uint8_t *end);

/*
 * The decode cache's block for p (whose fetch page ends at end), decoded
 * into it now unless it holds p's current bytes; NULL without a decode
 * cache. The translator judges a new block by it, which the interpreter
 * then runs without decoding it again.
 */
const struct dc_block *dcache_get(struct emu_cpu *cpu, const uint8_t *p,
				  const uint8_t *end);

/* dcache_generic.c: run e, which starts at cpu->insn_rip */
void dc_exec_generic(struct emu_cpu *cpu, const struct dc_entry *e);

#endif
