// SPDX-License-Identifier: MIT
/*
 * x87 control: FNINIT, FNCLEX, FLDCW/FNSTCW, FNSTSW, the environment and
 * state images (FLDENV/FNSTENV/FRSTOR/FNSAVE, 32-bit protected-mode
 * layout), and FXSAVE/FXRSTOR of the x87 registers, MXCSR and the XMM
 * registers (FXSAVE64 with REX.W: 64-bit FIP and FDP). The last
 * instruction and data pointers and opcode (FIP, FCS, FDP, FDS, FOP) are
 * kept here for every non-control x87 instruction. The register stack
 * and arithmetic are in x87_ops.c.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "accel/emu/x87.h"

#define MXCSR_MASK 0xffffu

#define FSW_ES_B	0x8080u

void x87_sync_es(struct emu_cpu *cpu)
{
	if (x87_pending(cpu))
		cpu->fsw |= FSW_ES_B;
	else
		cpu->fsw &= ~FSW_ES_B;
}

void x87_check_pending(struct emu_cpu *cpu)
{
	if (x87_pending(cpu) && (cpu->cr0 & X86_CR0_NE))
		cpu_raise_noerr(cpu, EXC_MF);
}

/*
 * The no-wait forms, which do not raise a pending exception: FNSTENV,
 * FNSTCW (D9 /6 /7), FNSAVE, FNSTSW m16 (DD /6 /7), FNENI, FNDISI,
 * FNCLEX, FNINIT, FNSETPM (DB E0..E4), FNSTSW AX (DF E0)
 */
static bool no_wait(const struct insn *in)
{
	int r = in->reg & 7;

	if (in->mem)
		return (in->op == 0xd9 || in->op == 0xdd) && r >= 6;
	return (in->op == 0xdb && in->modrm >= 0xe0 && in->modrm <= 0xe4) ||
	       (in->op == 0xdf && in->modrm == 0xe0);
}

static void x87_init(struct emu_cpu *cpu)
{
	cpu->fcw = 0x37f;
	cpu->fsw = 0;
	cpu->ftw = 0xffff;
	cpu->fip = cpu->fdp = 0;
	cpu->fcs = cpu->fds = cpu->fop = 0;
}

/*
 * A non-control x87 instruction done: it is the last instruction (FIP,
 * FCS, FOP: the low 3 bits of its first opcode byte and its ModRM byte)
 * and, with a memory operand, that is the last data (FDP, FDS). CPUID
 * has neither FDP_EXCPTN_ONLY nor "FCS and FDS deprecated", so both are
 * kept for every instruction, as older Intel parts do
 */
static void x87_last(struct emu_cpu *cpu, const struct insn *in)
{
	cpu->fip = cpu->insn_rip;
	cpu->fcs = cpu->seg[SEG_CS].selector;
	cpu->fop = (in->op & 7) << 8 | in->modrm;
	if (in->mem) {
		cpu->fdp = in->ea;
		cpu->fds = cpu->seg[in->eseg].selector;
	}
}

/*
 * The tag word as FNSTENV/FNSAVE store it: empty (11) where cpu->ftw says
 * so, else from the register's contents (SDM vol. 1 8.1.7): zero (01),
 * special (10: NaN, infinity, denormal, unnormal, or an MMX register's
 * exponent of ones) or valid (00)
 */
static uint16_t tag_word(const struct emu_cpu *cpu)
{
	uint16_t tw = 0;

	for (int i = 0; i < 8; i++) {
		uint64_t sig;
		uint16_t exp;
		unsigned tag;

		memcpy(&sig, cpu->fpr[i], 8);
		memcpy(&exp, cpu->fpr[i] + 8, 2);
		exp &= 0x7fff;
		if (((cpu->ftw >> (2 * i)) & 3) == 3)
			tag = 3;
		else if (exp == 0)
			tag = sig ? 2 : 1;
		else if (exp == 0x7fff || !(sig >> 63))
			tag = 2;
		else
			tag = 0;
		tw |= tag << (2 * i);
	}
	return tw;
}

/*
 * FIP, FCS, FDP and FDS from an image at p: the 32-bit layout (FIP, FCS,
 * FDP, FDS at 0, 4, 8, 12) or FXSAVE's 64-bit one (FIP at 0, FDP at 8)
 */
static void load_pointers(struct emu_cpu *cpu, const uint8_t *p, bool w64)
{
	uint32_t v;

	if (w64) {
		memcpy(&cpu->fip, p, 8);
		memcpy(&cpu->fdp, p + 8, 8);
		cpu->fcs = cpu->fds = 0;
		return;
	}
	memcpy(&v, p, 4);
	cpu->fip = v;
	memcpy(&cpu->fcs, p + 4, 2);
	memcpy(&v, p + 8, 4);
	cpu->fdp = v;
	memcpy(&cpu->fds, p + 12, 2);
}

/* FNSTENV/FNSAVE image: 28 bytes, then ST(0)..ST(7) for FNSAVE */
static void store_env(struct emu_cpu *cpu, struct insn *in, bool regs)
{
	uint8_t img[108] = { 0 };
	unsigned top = (cpu->fsw >> 11) & 7;
	uint16_t tw = tag_word(cpu);

	memcpy(img + 0, &cpu->fcw, 2);
	memcpy(img + 4, &cpu->fsw, 2);
	memcpy(img + 8, &tw, 2);
	/* the reserved upper halves of those three: ones, as hardware has */
	uint32_t fip = cpu->fip, fdp = cpu->fdp;
	uint32_t cs_op = cpu->fcs | (uint32_t)(cpu->fop & 0x7ff) << 16;
	uint32_t ds = cpu->fds | 0xffff0000u;

	memcpy(img + 12, &fip, 4);
	memcpy(img + 16, &cs_op, 4);
	memcpy(img + 20, &fdp, 4);
	memcpy(img + 24, &ds, 4);
	for (int i = 2; i < 12; i += 4)
		img[i] = img[i + 1] = 0xff;
	for (int i = 0; regs && i < 8; i++)
		memcpy(img + 28 + 10 * i, cpu->fpr[(top + i) & 7], 10);
	mem_write_buf(cpu, in->addr, img, regs ? 108 : 28);
}

static void load_env(struct emu_cpu *cpu, struct insn *in, bool regs)
{
	uint8_t img[108];
	unsigned top;

	mem_read_buf(cpu, in->addr, img, regs ? 108 : 28);
	memcpy(&cpu->fcw, img + 0, 2);
	memcpy(&cpu->fsw, img + 4, 2);
	memcpy(&cpu->ftw, img + 8, 2);
	load_pointers(cpu, img + 12, false);
	cpu->fop = (img[18] | img[19] << 8) & 0x7ff;
	top = (cpu->fsw >> 11) & 7;
	for (int i = 0; regs && i < 8; i++)
		memcpy(cpu->fpr[(top + i) & 7], img + 28 + 10 * i, 10);
	x87_sync_es(cpu);
}

void exec_x87(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t op = in->op;

	/* no x87 instruction takes LOCK: #UD before #NM (this host too) */
	if (in->lock)
		insn_ud(cpu, in);
	if (cpu->cr0 & (CR0_EM | CR0_TS))	/* EM or TS */
		cpu_raise_noerr(cpu, EXC_NM);
	decode_modrm(cpu, in, 0);
	if (!no_wait(in))
		x87_check_pending(cpu);
	if (in->mem) {
		switch (((op & 7) << 3) | (in->reg & 7)) {
		case 0x0c:	/* D9 /4 FLDENV */
			load_env(cpu, in, false);
			return;
		case 0x0d:	/* D9 /5 FLDCW */
			cpu->fcw = mem_read(cpu, in->addr, 2);
			x87_sync_es(cpu);
			return;
		case 0x0e:	/* D9 /6 FNSTENV, then all exceptions masked */
			store_env(cpu, in, false);
			cpu->fcw |= 0x3f;
			x87_sync_es(cpu);
			return;
		case 0x0f:	/* D9 /7 FNSTCW */
			mem_write(cpu, in->addr, cpu->fcw, 2);
			return;
		case 0x2c:	/* DD /4 FRSTOR */
			load_env(cpu, in, true);
			return;
		case 0x2e:	/* DD /6 FNSAVE */
			store_env(cpu, in, true);
			x87_init(cpu);
			return;
		case 0x2f:	/* DD /7 FNSTSW */
			mem_write(cpu, in->addr, cpu->fsw, 2);
			return;
		}
		if (!x87_exec_mem(cpu, in))
			insn_ud(cpu, in);
		else
			x87_last(cpu, in);
		return;
	}
	if (op == 0xdb && in->modrm == 0xe3) {
		x87_init(cpu);
		return;
	}
	if (op == 0xdb && in->modrm == 0xe2) {
		cpu->fsw &= 0x7f00;
		return;
	}
	if (op == 0xdf && in->modrm == 0xe0) {
		reg_write(cpu, in, R_AX, 2, cpu->fsw);
		return;
	}
	if (!x87_exec_reg(cpu, in))
		insn_ud(cpu, in);
	else
		x87_last(cpu, in);
}

void exec_fxsave(struct emu_cpu *cpu, struct insn *in, bool restore)
{
	uint8_t area[512];

	if (cpu->cr0 & (CR0_EM | CR0_TS))	/* FXSAVE/FXRSTOR: #NM */
		cpu_raise_noerr(cpu, EXC_NM);
	if (in->addr & 15)
		cpu_raise(cpu, EXC_GP, 0);
	if (!restore) {
		memset(area, 0, sizeof(area));
		memcpy(area + 0, &cpu->fcw, 2);
		memcpy(area + 2, &cpu->fsw, 2);
		memcpy(area + 6, &cpu->fop, 2);
		if (in->rex & 8) {	/* REX.W: 64-bit FIP and FDP */
			memcpy(area + 8, &cpu->fip, 8);
			memcpy(area + 16, &cpu->fdp, 8);
		} else {
			uint32_t fip = cpu->fip, fdp = cpu->fdp;

			memcpy(area + 8, &fip, 4);
			memcpy(area + 12, &cpu->fcs, 2);
			memcpy(area + 16, &fdp, 4);
			memcpy(area + 20, &cpu->fds, 2);
		}
		for (int i = 0; i < 8; i++) {
			unsigned p = (((cpu->fsw >> 11) & 7) + i) & 7;

			/* abridged tag: bit set for a non-empty register */
			if (((cpu->ftw >> (2 * i)) & 3) != 3)
				area[4] |= 1u << i;
			memcpy(area + 32 + 16 * i, cpu->fpr[p], 10);
		}
		memcpy(area + 24, &cpu->mxcsr, 4);
		uint32_t mask = MXCSR_MASK;

		memcpy(area + 28, &mask, 4);
		memcpy(area + 160, cpu->xmm, cpu->code64 ? 256 : 128);
		mem_write_buf(cpu, in->addr, area, 512);
		return;
	}
	mem_read_buf(cpu, in->addr, area, 512);
	uint32_t mxcsr;

	memcpy(&mxcsr, area + 24, 4);
	if (mxcsr & ~MXCSR_MASK)
		cpu_raise(cpu, EXC_GP, 0);
	cpu->mxcsr = mxcsr;
	memcpy(&cpu->fcw, area + 0, 2);
	memcpy(&cpu->fsw, area + 2, 2);
	memcpy(&cpu->fop, area + 6, 2);
	cpu->fop &= 0x7ff;
	load_pointers(cpu, area + 8, in->rex & 8);
	cpu->ftw = 0;
	for (int i = 0; i < 8; i++) {
		unsigned p = (((cpu->fsw >> 11) & 7) + i) & 7;

		if (!(area[4] & (1u << i)))
			cpu->ftw |= 3u << (2 * i);
		memcpy(cpu->fpr[p], area + 32 + 16 * i, 10);
	}
	memcpy(cpu->xmm, area + 160, cpu->code64 ? 256 : 128);
	x87_sync_es(cpu);
}
