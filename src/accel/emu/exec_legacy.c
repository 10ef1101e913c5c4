// SPDX-License-Identifier: MIT
/*
 * One-byte instructions of 16- and 32-bit code that 64-bit mode took
 * away (#UD there, opmap.c): the BCD adjustments DAA, DAS, AAA, AAS,
 * AAM and AAD, BOUND, ARPL, LES and LDS, and SALC (D6, undocumented,
 * executed by Intel and AMD parts alike). Flags the SDM leaves
 * undefined are cleared.
 */
#include "accel/emu/exec.h"

static void set_al(struct emu_cpu *cpu, uint64_t al)
{
	cpu->gpr[R_AX] = (cpu->gpr[R_AX] & ~0xffULL) | (al & 0xff);
}

/* DAA (das false) and DAS, SDM vol. 2's pseudocode */
static void exec_daa(struct emu_cpu *cpu, bool das)
{
	unsigned al = cpu->gpr[R_AX] & 0xff, old = al;
	bool cf = cpu->rflags & FL_CF, af = cpu->rflags & FL_AF;
	bool ncf = false, naf = false;

	if ((al & 0xf) > 9 || af) {
		ncf = cf || (das ? al < 6 : al + 6 > 0xff);
		al = (das ? al - 6 : al + 6) & 0xff;
		naf = true;
	}
	if (old > 0x99 || cf) {
		al = (das ? al - 0x60 : al + 0x60) & 0xff;
		ncf = true;
	} else if (!das) {
		ncf = false;
	}
	set_al(cpu, al);
	cpu->rflags &= ~(uint64_t)(FL_CF | FL_AF | FL_OF);
	cpu->rflags |= (ncf ? FL_CF : 0) | (naf ? FL_AF : 0);
	set_szp(cpu, al, 1);
}

/* AAA (aas false) and AAS */
static void exec_aaa(struct emu_cpu *cpu, bool aas)
{
	uint64_t ax = cpu->gpr[R_AX] & 0xffff;
	bool adj = (ax & 0xf) > 9 || (cpu->rflags & FL_AF);

	if (adj && aas)
		ax = (ax - 6 - 0x100) & 0xffff;
	else if (adj)
		ax = (ax + 0x106) & 0xffff;
	ax &= 0xff0f;
	cpu->gpr[R_AX] = (cpu->gpr[R_AX] & ~0xffffULL) | ax;
	cpu->rflags &= ~(uint64_t)FL_ARITH;
	if (adj)
		cpu->rflags |= FL_CF | FL_AF;
}

/* AAM (aad false) and AAD with base imm */
static void exec_aam(struct emu_cpu *cpu, bool aad, uint8_t imm)
{
	unsigned al = cpu->gpr[R_AX] & 0xff, ah = (cpu->gpr[R_AX] >> 8) & 0xff;

	if (aad) {
		al = (al + ah * imm) & 0xff;
		ah = 0;
	} else {
		if (!imm)
			cpu_raise_noerr(cpu, EXC_DE);
		ah = al / imm;
		al %= imm;
	}
	cpu->gpr[R_AX] = (cpu->gpr[R_AX] & ~0xffffULL) | ah << 8 | al;
	cpu->rflags &= ~(uint64_t)FL_ARITH;
	set_szp(cpu, al, 1);
}

/* BOUND: #BR unless lower <= reg <= upper, signed */
static void exec_bound(struct emu_cpu *cpu, struct insn *in)
{
	int size = in->osize;
	int64_t v, lo, hi;

	decode_modrm(cpu, in, 0);
	if (!in->mem)
		insn_ud(cpu, in);
	v = sext(reg_read(cpu, in, in->reg, size), size);
	lo = sext(mem_read(cpu, in->addr, size), size);
	hi = sext(mem_read(cpu, seg_lin(cpu, in, SEG_DS, in->ea + size),
			   size), size);
	if (v < lo || v > hi)
		cpu_raise_noerr(cpu, EXC_BR);
}

static uint64_t fn_arpl(struct emu_cpu *cpu, uint64_t dst, uint64_t src,
			int size)
{
	(void)size;
	cpu->rflags &= ~(uint64_t)FL_ZF;
	if ((dst & 3) >= (src & 3))
		return dst;
	cpu->rflags |= FL_ZF;
	return (dst & ~3ULL) | (src & 3);
}

void exec_legacy(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	switch (b) {
	case 0x27: exec_daa(cpu, false); break;
	case 0x2f: exec_daa(cpu, true); break;
	case 0x37: exec_aaa(cpu, false); break;
	case 0x3f: exec_aaa(cpu, true); break;
	case 0xd4: exec_aam(cpu, false, fetch8(cpu)); break;
	case 0xd5: exec_aam(cpu, true, fetch8(cpu)); break;
	case 0x62: exec_bound(cpu, in); break;
	case 0x63:	/* ARPL: protected mode only */
		if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & FL_VM))
			insn_ud(cpu, in);
		decode_modrm(cpu, in, 0);
		rm_rmw(cpu, in, 2, fn_arpl, reg_read(cpu, in, in->reg, 2));
		break;
	case 0xc4:
	case 0xc5:
		exec_load_far_ptr(cpu, in, b == 0xc4 ? SEG_ES : SEG_DS);
		break;
	case 0xd6:
		set_al(cpu, (cpu->rflags & FL_CF) ? 0xff : 0);
		break;
	default:
		insn_ud(cpu, in);
	}
}
