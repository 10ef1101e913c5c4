// SPDX-License-Identifier: MIT
/*
 * The decode cache's decoder: the cached instruction forms (dcache.c says
 * which and why) into entries, runs of them into blocks, and for each
 * entry the handler specialised for its form (dcache.h).
 */
#include <string.h>

#include "accel/emu/dcache.h"

static int64_t s8(uint8_t v)
{
	return (int8_t)v;
}

static int64_t s32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void dc_modrm(const uint8_t *p, int *i, struct dc_entry *e)
{
	uint8_t m = p[(*i)++];
	int mod = m >> 6, rm = m & 7;

	e->reg = ((m >> 3) & 7) | ((e->rex & 4) << 1);
	e->modrm_reg = (m >> 3) & 7;
	e->base = -1;
	e->index = -1;
	e->scale = 0;
	e->riprel = false;
	e->disp = 0;
	if (mod == 3) {
		e->mem = false;
		e->rm = rm | ((e->rex & 1) << 3);
		return;
	}
	e->mem = true;
	if (rm == 4) {
		uint8_t sib = p[(*i)++];
		int x = ((sib >> 3) & 7) | ((e->rex & 2) << 2);

		if (x != 4) {
			e->index = x;
			e->scale = sib >> 6;
		}
		if ((sib & 7) == 5 && mod == 0) {
			e->disp = s32(p + *i);
			*i += 4;
		} else {
			e->base = (sib & 7) | ((e->rex & 1) << 3);
		}
	} else if (rm == 5 && mod == 0) {
		e->riprel = true;
		e->disp = s32(p + *i);
		*i += 4;
	} else {
		e->base = rm | ((e->rex & 1) << 3);
	}
	if (mod == 1) {
		e->disp += s8(p[(*i)++]);
	} else if (mod == 2) {
		e->disp += s32(p + *i);
		*i += 4;
	}
}

/* The immediate of an accumulator form sized by e->size; returns new i */
static int dc_acc_imm(const uint8_t *p, int i, struct dc_entry *e)
{
	if (e->size == 1) {
		e->imm = p[i];
		return i + 1;
	}
	if (e->size == 2) {
		e->imm = (uint16_t)(p[i] | (p[i + 1] << 8));
		return i + 2;
	}
	e->imm = s32(p + i);
	return i + 4;
}

/* Decode p (16 readable bytes) into e; DC_NONE if it is not a cached form */
static void dc_decode(const uint8_t *p, struct dc_entry *e)
{
	int i = 0, osize, pfx;
	uint8_t op;
	bool sse;

	bool p66 = false, pf3 = false, pf2 = false;

	e->kind = DC_NONE;
	e->lock = p[i] == 0xf0;
	i += e->lock;
	e->seg = SEG_NONE;
	e->rex = 0;
	e->size2 = 0;	/* read by gen_pick_regs for every form */
	e->mem = false;
	e->riprel = false;
	e->base = -1;
	e->index = -1;
	if (p[i] == 0x64 || p[i] == 0x65)
		e->seg = p[i++] == 0x64 ? SEG_FS : SEG_GS;
	else if (p[i] == 0x2e || p[i] == 0x3e)
		i++;	/* CS/DS: no base in 64-bit mode; branch hints */
	if (p[i] == 0x66) {
		p66 = true;
		i++;
	} else if (p[i] == 0xf3) {
		pf3 = true;
		i++;
	} else if (p[i] == 0xf2) {
		pf2 = true;
		i++;
	}
	/* more 66s and CS/DS after a 66: the long NOPs' padding */
	while (p66 && i < 6 && (p[i] == 0x66 || p[i] == 0x2e || p[i] == 0x3e))
		i++;
	if ((p[i] & 0xf0) == 0x40)
		e->rex = p[i++];
	osize = (e->rex & 8) ? 8 : p66 ? 2 : 4;
	op = p[i++];
	e->size = (op & 1) ? osize : 1;
	pfx = p66 ? DC_PFX_66 : pf3 ? DC_PFX_F3 : pf2 ? DC_PFX_F2 : DC_PFX_NONE;
	sse = op == 0x0f && dc_sse_form(pfx, p[i]);
	/* With 66 only data forms whose immediates we size below */
	if (p66 && !sse && !((op < 0x40 && (op & 7) < 6) || (op >= 0x80 && op <= 0x8b) ||
		     op == 0xa9 ||
		     op == 0xc1 || op == 0xd1 || op == 0xd3 || op == 0xf7 ||
		     op == 0xc7 || op == 0x90 || op == 0x8c ||
		     (op == 0x0f && p[i] >= 0x18 && p[i] <= 0x1f) ||
		     (op == 0x0f && (p[i] == 0x6e || p[i] == 0x7e ||
				     p[i] == 0xd6)) ||
		     (op == 0x0f && (p[i] == 0x10 || p[i] == 0x11 ||
				     p[i] == 0x28 || p[i] == 0x29 ||
				     p[i] == 0x6f || p[i] == 0x7f ||
				     p[i] == 0xef))))
		goto out;
	/* With F3 only MOVDQU, MOVSS, MOVQ, REP MOVS/STOS; with F2 MOVSD */
	if (pf3 && !sse && !(op == 0x0f && (p[i] == 0x6f || p[i] == 0x7f ||
				    p[i] == 0x10 || p[i] == 0x11 ||
				    p[i] == 0x7e || p[i] == 0xbc)) &&
	    op != 0xa4 && op != 0xa5 && op != 0xaa && op != 0xab)
		goto out;
	if (pf2 && !sse && !(op == 0x0f && (p[i] == 0x10 || p[i] == 0x11)))
		goto out;
	if (op < 0x40 && (op & 7) < 4) {
		e->op = op >> 3;
		dc_modrm(p, &i, e);
		e->kind = (op & 2) ? DC_ALU_R_RM : DC_ALU_RM_R;
	} else if (op < 0x40 && (op & 7) < 6) {	/* AL/eAX, imm */
		e->op = op >> 3;
		e->mem = false;
		e->rm = R_AX;
		i = dc_acc_imm(p, i, e);
		e->kind = DC_ALU_RM_IMM;
	} else if (op == 0xa8 || op == 0xa9) {
		e->mem = false;
		e->rm = R_AX;
		i = dc_acc_imm(p, i, e);
		e->kind = DC_TEST_IMM;
	} else if (op == 0xd9 && (p[i] >> 6) != 3 && ((p[i] >> 3) & 7) == 7) {
		dc_modrm(p, &i, e);	/* FNSTCW m16 */
		e->size = 2;
		e->kind = DC_FNSTCW;
	} else if (op == 0xc6) {
		dc_modrm(p, &i, e);
		e->imm = p[i++];
		if (e->modrm_reg == 0)
			e->kind = DC_MOV_RM_IMM;
	} else if (op >= 0x50 && op <= 0x5f) {
		e->rm = (op & 7) | ((e->rex & 1) << 3);
		e->kind = op < 0x58 ? DC_PUSH : DC_POP;
	} else if (op == 0x63) {
		e->size = osize;
		dc_modrm(p, &i, e);
		e->kind = DC_MOVSXD;
	} else if (op >= 0x70 && op <= 0x7f) {
		e->op = op & 15;
		e->imm = s8(p[i++]);
		e->kind = DC_JCC;
	} else if (op == 0x80 || op == 0x81 || op == 0x83) {
		dc_modrm(p, &i, e);
		e->op = e->modrm_reg;
		/* REX.W overrides 66: a 32-bit immediate */
		if (op == 0x81 && osize == 2) {
			e->imm = (uint16_t)(p[i] | (p[i + 1] << 8));
			i += 2;
		} else if (op == 0x81) {
			e->imm = s32(p + i);
			i += 4;
		} else {
			e->imm = s8(p[i++]);
		}
		if (op == 0x80)
			e->imm &= 0xff;
		e->kind = DC_ALU_RM_IMM;
	} else if (op == 0x84 || op == 0x85) {
		dc_modrm(p, &i, e);
		e->kind = DC_TEST;
	} else if (op >= 0x88 && op <= 0x8b) {
		dc_modrm(p, &i, e);
		e->kind = (op & 2) ? DC_MOV_R_RM : DC_MOV_RM_R;
	} else if (op == 0x8d) {
		e->size = osize;
		dc_modrm(p, &i, e);
		if (e->mem)
			e->kind = DC_LEA;
	} else if (op == 0x86 || op == 0x87) {
		dc_modrm(p, &i, e);
		e->kind = DC_XCHG;
	} else if (op >= 0xb0 && op <= 0xb7) {
		e->size = 1;
		e->rm = (op & 7) | ((e->rex & 1) << 3);
		e->imm = p[i++];
		e->kind = DC_MOV_R_IMM;
	} else if (op >= 0xb8 && op <= 0xbf) {
		e->size = osize;
		e->rm = (op & 7) | ((e->rex & 1) << 3);
		if (osize == 8) {
			memcpy(&e->imm, p + i, 8);
			i += 8;
		} else {
			e->imm = (uint32_t)s32(p + i);
			i += 4;
		}
		e->kind = DC_MOV_R_IMM;
	} else if (op == 0xc7) {
		dc_modrm(p, &i, e);
		if (osize == 2) {
			e->imm = (uint16_t)(p[i] | (p[i + 1] << 8));
			i += 2;
		} else {
			e->imm = s32(p + i);
			i += 4;
		}
		if (e->modrm_reg == 0)
			e->kind = DC_MOV_RM_IMM;
	} else if (op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3)) {
		dc_modrm(p, &i, e);
		e->op = e->modrm_reg;
		e->imm = op < 0xd0 ? p[i++] : op < 0xd2 ? 1 : DC_COUNT_CL;
		e->kind = DC_SHIFT;
	} else if (op == 0xf6 || op == 0xf7) {
		dc_modrm(p, &i, e);
		if (e->modrm_reg >= 2) {
			e->kind = DC_GROUP3;
		} else if (op == 0xf6) {
			e->imm = p[i++];
			e->kind = DC_TEST_IMM;
		} else if (osize == 2) {
			e->imm = (uint16_t)(p[i] | (p[i + 1] << 8));
			i += 2;
			e->kind = DC_TEST_IMM;
		} else {
			e->imm = s32(p + i);
			i += 4;
			e->kind = DC_TEST_IMM;
		}
	} else if (op == 0xfe || op == 0xff) {
		dc_modrm(p, &i, e);
		switch (e->modrm_reg) {
		case 0: e->kind = DC_INC; break;
		case 1: e->kind = DC_DEC; break;
		case 2: e->kind = op == 0xff ? DC_CALL_RM : DC_NONE; break;
		case 4: e->kind = op == 0xff ? DC_JMP_RM : DC_NONE; break;
		case 6: e->kind = op == 0xff ? DC_PUSH_RM : DC_NONE; break;
		}
	} else if (pf3 && (op == 0xa4 || op == 0xa5 || op == 0xaa ||
			   op == 0xab)) {
		e->op = op < 0xaa;
		e->kind = DC_REP_STR;
	} else if (op == 0x8c) {
		e->size = osize;
		dc_modrm(p, &i, e);
		e->kind = DC_MOV_SREG;
	} else if (op == 0x9c || op == 0x9d) {
		if (!p66)
			e->kind = op == 0x9c ? DC_PUSHF : DC_POPF;
	} else if (op == 0xfa || op == 0xfb) {
		e->kind = op == 0xfa ? DC_CLI : DC_STI;
	} else if (op == 0xc3) {
		e->kind = DC_RET;
	} else if (op == 0x90 && !(e->rex & 1)) {
		e->kind = DC_NOP;
	} else if (op == 0xc9) {
		e->kind = DC_LEAVE;
	} else if (op == 0x98 || op == 0x99) {
		e->size = osize;
		e->kind = op == 0x98 ? DC_CWDE : DC_CDQ;
	} else if (op == 0x69 || op == 0x6b) {
		e->size = osize;
		dc_modrm(p, &i, e);
		if (op == 0x6b) {
			e->imm = s8(p[i++]);
		} else {
			e->imm = s32(p + i);
			i += 4;
		}
		e->kind = DC_IMUL_IMM;
	} else if (op == 0x68 || op == 0x6a) {
		if (op == 0x6a) {
			e->imm = s8(p[i++]);
		} else {
			e->imm = s32(p + i);
			i += 4;
		}
		e->kind = DC_PUSH_IMM;
	} else if (op == 0xe8 || op == 0xe9) {
		e->imm = s32(p + i);
		i += 4;
		e->kind = op == 0xe8 ? DC_CALL : DC_JMP;
	} else if (op == 0xeb) {
		e->imm = s8(p[i++]);
		e->kind = DC_JMP;
	} else if (op == 0x0f) {
		op = p[i++];
		e->size = osize;
		if (sse) {
			dc_modrm(p, &i, e);
			if (dc_sse_form(pfx, op) == DC_SSE_IMM8)
				e->imm = p[i++];
			e->op = op;
			e->size2 = pfx;
			e->size = (e->rex & 8) ? 8 : 4;
			/* PXOR of registers has its own handler */
			e->kind = p66 && op == 0xef && !e->mem ? DC_PXOR :
				  DC_SSE;
		} else if (op >= 0x80 && op <= 0x8f) {
			e->op = op & 15;
			e->imm = s32(p + i);
			i += 4;
			e->kind = DC_JCC;
		} else if (op >= 0x40 && op <= 0x4f) {
			e->op = op & 15;
			dc_modrm(p, &i, e);
			e->kind = DC_CMOV;
		} else if (op >= 0x90 && op <= 0x9f) {
			e->op = op & 15;
			dc_modrm(p, &i, e);
			e->kind = DC_SETCC;
		} else if (op >= 0x18 && op <= 0x1f) {
			dc_modrm(p, &i, e);	/* hint NOPs */
			e->kind = DC_NOP;
		} else if (!pf3 && (op == 0xb0 || op == 0xb1 || op == 0xc0 ||
				    op == 0xc1)) {
			e->size = (op & 1) ? osize : 1;
			dc_modrm(p, &i, e);
			e->kind = op < 0xc0 ? DC_CMPXCHG : DC_XADD;
		} else if ((op == 0xbc && !p66) || (op == 0xbd && !p66 && !pf3)) {
			/* F3 0F BD is LZCNT; F3 0F BC is BSF (no BMI1) */
			dc_modrm(p, &i, e);
			e->op = op & 1;
			e->kind = DC_BITSCAN;
		} else if (!p66 && !pf3 &&
			   (op == 0xa4 || op == 0xa5 || op == 0xac ||
			    op == 0xad)) {
			dc_modrm(p, &i, e);
			e->op = op >= 0xac;
			e->imm = (op & 1) ? DC_COUNT_CL : p[i++];
			e->kind = DC_SHLD;
		} else if ((pf3 || pf2) && (op == 0x10 || op == 0x11)) {
			dc_modrm(p, &i, e);
			e->op = pf2 ? 8 : 4;
			e->size2 = op == 0x10;
			e->kind = DC_XMM_SCALAR;
		} else if ((p66 && (op == 0x6e || op == 0x7e || op == 0xd6)) ||
			   (pf3 && op == 0x7e)) {
			dc_modrm(p, &i, e);
			e->size = (e->rex & 8) ? 8 : 4;
			e->op = pf3 ? 2 : op == 0x6e ? 0 : op == 0x7e ? 1 : 3;
			if (e->op >= 2)
				e->size = 8;
			e->kind = DC_MOVQ;
		} else if (op == 0x10 || op == 0x11 || op == 0x28 ||
			   op == 0x29 || ((p66 || pf3) &&
					  (op == 0x6f || op == 0x7f))) {
			/*
			 * MOVUPS/MOVUPD, MOVAPS/MOVAPD, MOVDQA (66) and
			 * MOVDQU (F3): 16 bytes, the aligned ones #GP on a
			 * misaligned address
			 */
			dc_modrm(p, &i, e);
			e->op = op == 0x28 || op == 0x29 ||
				(p66 && (op == 0x6f || op == 0x7f));
			e->kind = op == 0x10 || op == 0x28 || op == 0x6f ?
				  DC_XMM_LOAD : DC_XMM_STORE;
		} else if (p66 || pf3) {
			/* only the forms above with 66 or F3 */
		} else if (op >= 0xc8 && op <= 0xcf) {
			e->rm = (op & 7) | ((e->rex & 1) << 3);
			e->kind = DC_BSWAP;
		} else if (op == 0xba && ((p[i] >> 3) & 7) == 4) {
			dc_modrm(p, &i, e);	/* BT r/m, imm8 */
			e->imm = p[i++];
			e->kind = DC_BT;
		} else if (op == 0xba && ((p[i] >> 3) & 7) > 4) {
			dc_modrm(p, &i, e);	/* BTS/BTR/BTC r/m, imm8 */
			e->op = e->modrm_reg & 3;
			e->imm = p[i++];
			e->kind = DC_BTX;
		} else if (op == 0xa3 || op == 0xab || op == 0xb3 ||
			   op == 0xbb) {
			dc_modrm(p, &i, e);	/* BT.. r/m, r */
			e->op = (op >> 3) & 3;
			e->imm = DC_BIT_REG;
			e->kind = DC_BTX;
		} else if (op == 0xaf) {
			dc_modrm(p, &i, e);
			e->kind = DC_IMUL;
		} else if (op == 0xb6 || op == 0xb7 || op == 0xbe ||
			   op == 0xbf) {
			e->size2 = (op & 1) ? 2 : 1;
			dc_modrm(p, &i, e);
			e->kind = op < 0xb8 ? DC_MOVZX : DC_MOVSX;
		}
	}
out:
	/* LOCK only on a read-modify-write of memory (else the #UD) */
	if (e->lock && !(e->mem && e->kind != DC_NONE &&
			 ((e->kind == DC_ALU_RM_R && e->op != 7) ||
			  (e->kind == DC_ALU_RM_IMM && e->op != 7) ||
			  e->kind == DC_INC || e->kind == DC_DEC ||
			  (e->kind == DC_GROUP3 && (e->modrm_reg == 2 ||
						    e->modrm_reg == 3)) ||
			  e->kind == DC_XCHG || e->kind == DC_CMPXCHG ||
			  e->kind == DC_XADD ||
			  (e->kind == DC_BTX && e->op != 0))))
		e->kind = DC_NONE;
	e->len = i;
}


_Static_assert(offsetof(struct emu_cpu, dc_zero) <= UINT16_MAX &&
	       offsetof(struct emu_cpu, gpr) <= UINT16_MAX &&
	       offsetof(struct emu_cpu, seg) <= UINT16_MAX,
	       "dc_entry's uint16_t offsets reach dc_zero, gpr and seg");

/* Offset in struct emu_cpu of register r, or of dc_zero for -1 */
static uint16_t dc_reg_off(int r)
{
	if (r < 0)
		return offsetof(struct emu_cpu, dc_zero);
	return offsetof(struct emu_cpu, gpr) + r * sizeof(uint64_t);
}

/* A byte register that is not AH..BH (those need the general path) */
static bool dc_low_byte(const struct dc_entry *e, int r)
{
	return e->rex || r < 4;
}

/* Register r as an operand of e's size: not AH..BH for a byte */
static bool dc_reg_ok(const struct dc_entry *e, int r)
{
	return e->size != 1 || dc_low_byte(e, r);
}

/* The specialised handler for e, or H_GENERIC */
static uint16_t dc_pick(struct dc_entry *e)
{
	bool wide = e->size == 8, dword = e->size == 4 || wide;
	bool alu = e->op != 2 && e->op != 3;	/* not ADC, SBB */
	int s4 = DC_SIZE_SLOT(e->size);

	if (e->lock)
		return H_DECODE;	/* atomic there */

	switch (e->kind) {
	case DC_ALU_RM_R:
	case DC_ALU_R_RM:
		if (!alu || !dc_reg_ok(e, e->reg) ||
		    (!e->mem && !dc_reg_ok(e, e->rm)))
			return H_GENERIC;
		if (!e->mem) {
			e->d = e->kind == DC_ALU_RM_R ? e->rm : e->reg;
			e->s = e->kind == DC_ALU_RM_R ? e->reg : e->rm;
			return H_ALU_RR + DC_ALU_SLOT(e->op, e->size);
		}
		e->d = e->reg;
		e->s = e->reg;
		if (e->kind == DC_ALU_R_RM)
			return H_ALU_RM + DC_ALU_SLOT(e->op, e->size);
		return e->op == 7 ? H_CMP_MR + s4 : H_ALU_MR + s4;
	case DC_ALU_RM_IMM:
		if (!alu || (!e->mem && !dc_reg_ok(e, e->rm)))
			return H_GENERIC;
		e->d = e->rm;
		if (!e->mem)
			return H_ALU_RI + DC_ALU_SLOT(e->op, e->size);
		return e->op == 7 ? H_CMP_MI + s4 : H_ALU_MI + s4;
	case DC_TEST:
	case DC_TEST_IMM:
		if (e->mem || !dc_reg_ok(e, e->rm) ||
		    (e->kind == DC_TEST && !dc_reg_ok(e, e->reg)))
			return H_GENERIC;
		e->d = e->rm;
		e->s = e->reg;
		return (e->kind == DC_TEST ? H_TEST_RR : H_TEST_RI) + s4;
	case DC_MOV_RM_R:
		e->s = e->reg;
		e->d = e->rm;
		if (!e->mem)
			return dword ? H_MOV_RR + wide : H_GENERIC;
		if (e->size == 1 && !dc_low_byte(e, e->reg))
			return H_GENERIC;
		return H_STORE + s4;
	case DC_MOV_R_RM:
		e->s = e->rm;
		e->d = e->reg;
		if (!e->mem)
			return dword ? H_MOV_RR + wide : H_GENERIC;
		if (e->size == 1 && !dc_low_byte(e, e->reg))
			return H_GENERIC;
		return H_LOAD + s4;
	case DC_MOV_RM_IMM:
		if (e->mem)
			return H_STORE_IMM + s4;
		e->d = e->rm;
		if (!dword)
			return H_GENERIC;
		e->imm &= size_mask(e->size);	/* as H_MOV_RI wants it */
		return H_MOV_RI;
	case DC_MOV_R_IMM:
		e->d = e->rm;
		return dword ? H_MOV_RI : H_GENERIC;
	case DC_LEA:
		e->d = e->reg;
		return dword ? H_LEA + wide : H_GENERIC;
	case DC_MOVZX:
	case DC_MOVSX:
		e->d = e->reg;
		e->s = e->rm;
		if (!dword || (!e->mem && e->size2 == 1 && !dc_low_byte(e, e->rm)))
			return H_GENERIC;
		if (e->kind == DC_MOVZX)
			return (e->mem ? H_MOVZX_M : H_MOVZX_R) +
			       (e->size2 == 2);
		return (e->mem ? H_MOVSX_M : H_MOVSX_R) + (e->size2 == 2) +
		       2 * wide;
	case DC_MOVSXD:
		e->d = e->reg;
		e->s = e->rm;
		if (!wide)
			return H_GENERIC;
		return e->mem ? H_MOVSXD_M : H_MOVSXD_R;
	case DC_INC:
	case DC_DEC:
		e->d = e->rm;
		if (!dword || e->mem)
			return H_GENERIC;
		return H_INC + 2 * (e->kind == DC_DEC) + wide;
	case DC_PUSH:
		e->s = e->rm;
		return H_PUSH;
	case DC_POP:
		e->d = e->rm;
		return H_POP;
	case DC_CALL:
		return H_CALL;
	case DC_RET:
		return H_RET;
	case DC_JMP:
		return H_JMP;
	case DC_JCC:
		return H_JCC + e->op;
	case DC_SHIFT:
		e->d = e->rm;
		if (e->mem || !dc_reg_ok(e, e->rm))
			return H_GENERIC;
		return H_SHIFT_R + DC_SHIFT_SLOT(e->op, e->size);
	case DC_GROUP3:		/* NOT and NEG of a register */
		e->d = e->rm;
		if (e->mem || !dc_reg_ok(e, e->rm) ||
		    (e->modrm_reg != 2 && e->modrm_reg != 3))
			return H_GENERIC;
		return (e->modrm_reg == 2 ? H_NOT_R : H_NEG_R) + s4;
	case DC_NOP:
		return H_NOP;
	case DC_JMP_RM:
		e->s = e->rm;
		return H_JMP_RM + e->mem;
	case DC_CALL_RM:
		e->s = e->rm;
		return H_CALL_RM + e->mem;
	case DC_BT:
		e->d = e->rm;
		return (e->mem ? H_BT_M : H_BT_R) + wide;
	case DC_BSWAP:
		e->d = e->rm;
		return H_BSWAP + wide;
	case DC_XMM_LOAD:
	case DC_XMM_STORE:
		/* d, s: XMM register numbers */
		e->d = e->kind == DC_XMM_LOAD ? e->reg : e->rm;
		e->s = e->kind == DC_XMM_LOAD ? e->rm : e->reg;
		if (!e->mem)
			return H_XMM_RR;
		e->s = e->reg;
		return (e->kind == DC_XMM_LOAD ? H_XMM_LD : H_XMM_ST) + e->op;
	case DC_PXOR:
		e->d = e->reg;
		e->s = e->rm;
		return H_PXOR_RR;
	case DC_XMM_SCALAR:
	case DC_MOVQ:
	case DC_REP_STR:
	case DC_BITSCAN:
	case DC_SHLD:
	case DC_XCHG:
	case DC_CMPXCHG:
	case DC_XADD:
	case DC_PUSHF:
	case DC_POPF:
	case DC_CLI:
	case DC_STI:
	case DC_MOV_SREG:
	case DC_BTX:
	case DC_SSE:
	case DC_FNSTCW:
		return H_DECODE;
	case DC_IMUL:
	case DC_IMUL_IMM:
	case DC_CMOV:
		e->d = e->reg;
		e->s = e->rm;
		if (!dword)
			return H_GENERIC;
		if (e->kind == DC_CMOV)
			return (e->mem ? H_CMOV_M : H_CMOV_R) + wide;
		if (e->kind == DC_IMUL)
			return (e->mem ? H_IMUL_M : H_IMUL_R) + wide;
		return (e->mem ? H_IMUL_MI : H_IMUL_RI) + wide;
	case DC_SETCC:
		e->d = e->rm;
		if (e->mem)
			return H_SETCC_M;
		return dc_low_byte(e, e->rm) ? H_SETCC_R : H_GENERIC;
	}
	return H_GENERIC;
}

/* Fill in what the specialised handlers use */
static void dc_prepare(struct dc_entry *e)
{
	e->boff = dc_reg_off(e->mem ? e->base : -1);
	e->stack = e->mem && (e->base == R_SP || e->base == R_BP) &&
		   e->seg == SEG_NONE;
	e->ioff = dc_reg_off(e->mem ? e->index : -1);
	e->soff = e->mem && e->seg != SEG_NONE ?
		  offsetof(struct emu_cpu, seg) +
		  e->seg * sizeof(struct x86_segment) +
		  offsetof(struct x86_segment, base) :
		  dc_reg_off(-1);
	e->d = 0;
	e->s = 0;
	e->h = dc_pick(e);
}

/*
 * A block ends after an instruction that never falls through. A Jcc does
 * not end it: when not taken, the code after it runs without another
 * lookup, and when taken it leaves the block like a JMP.
 */
static bool dc_ends_block(uint8_t kind)
{
	return kind == DC_JMP || kind == DC_CALL ||
	       kind == DC_RET || kind == DC_CALL_RM || kind == DC_JMP_RM;
}

void dc_build(struct dc_block *b, const uint8_t *p, const uint8_t *end)
{
	/*
	 * The bytes are decoded from a copy, which is also what a hit
	 * checks: another CPU writing them meanwhile makes the check fail
	 * (not pass on new bytes with entries decoded from the old). Past
	 * the page's end the copy is zero-padded for dc_decode's 16: an
	 * instruction that reads the padding goes on in the next page,
	 * which the general decoder fetches, so the block ends before it.
	 */
	uint8_t snap[DCB_BYTES + 32] = { 0 };
	const uint8_t *q = p;
	struct dc_entry *e;
	unsigned n = 0;

	memcpy(snap, p, end - p < (long)sizeof(snap) ? (size_t)(end - p) :
						      sizeof(snap));
	b->key = p;
	b->nbytes = 0;
	while (n < DCB_INSNS && q < end) {
		e = &b->e[n];
		dc_decode(snap + (q - p), e);
		if (q + e->len - p > DCB_BYTES)
			break;
		if (q + e->len > end) {
			if (e->kind != DC_NONE)
				break;
			/* not a cached form anyway: its bytes in this page */
			e->len = end - q;
		}
		q += e->len;
		n++;
		if (e->kind == DC_NONE) {
			/*
			 * Its bytes so far (those that made it "not cached")
			 * are checked too, so the block is rebuilt when they
			 * change.
			 */
			e->h = H_INTERP;
			break;
		}
		dc_prepare(e);
		if (dc_ends_block(e->kind))
			break;
	}
	b->n = n;
	b->nbytes = q - p;
	memcpy(b->bytes, snap, b->nbytes);
}
