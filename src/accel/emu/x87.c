// SPDX-License-Identifier: MIT
/*
 * x87 control: FNINIT, FNCLEX, FLDCW/FNSTCW, FNSTSW, the environment and
 * state images (FLDENV/FNSTENV/FRSTOR/FNSAVE in their 16- and 32-bit,
 * protected- and real-mode layouts), and FXSAVE/FXRSTOR of the x87
 * registers, MXCSR and the XMM registers (FXSAVE64 with REX.W: 64-bit
 * FIP and FDP). The last
 * instruction and data pointers and opcode (FIP, FCS, FDP, FDS, FOP) are
 * kept here for every non-control x87 instruction. The register stack
 * and arithmetic are in x87_ops.c.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "accel/emu/x87.h"
#include "vmm/bytes.h"

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

/*
 * FCW as FLDCW, FLDENV, FRSTOR and FXRSTOR load it: the reserved bits 15:13
 * and 7 read as 0, bit 6 as 1, bit 12 (X) as written (as this host does)
 */
static uint16_t fcw_of(uint32_t v)
{
	return (v & 0x1f3f) | 0x40;
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

/*
 * The environment's four layouts (SDM vol. 1 8.1.10): 28 bytes with a
 * 32-bit operand size, 14 with a 16-bit one (66 in 64-bit and 32-bit
 * code), each in a protected-mode form (the pointers' offsets and
 * selectors) and a real/V86-mode one (20- or 32-bit linear pointers,
 * selector * 16 + offset, with FOP beside FIP's high bits; no selectors).
 * FOP is not in the 16-bit protected-mode form. FNSAVE/FRSTOR add
 * ST(0)..ST(7) after it.
 */
struct env_form {
	bool small, real;
	unsigned size;		/* of the environment */
};

static struct env_form env_form(const struct emu_cpu *cpu,
				const struct insn *in)
{
	struct env_form f;

	f.small = in->osize == 2;
	f.real = !(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & FL_VM);
	f.size = f.small ? 14 : 28;
	return f;
}

/* The environment image of cpu's x87 state in form f */
static void env_image(struct emu_cpu *cpu, struct env_form f, uint8_t *img)
{
	uint16_t tw = tag_word(cpu);
	uint32_t fip = cpu->fip, fdp = cpu->fdp, fop = cpu->fop & 0x7ff;

	if (f.real) {	/* linear, as real-mode segments make them */
		fip += (uint32_t)cpu->fcs << 4;
		fdp += (uint32_t)cpu->fds << 4;
	}
	if (f.small) {
		put_le16(img + 0, cpu->fcw);
		put_le16(img + 2, cpu->fsw);
		put_le16(img + 4, tw);
		put_le16(img + 6, fip);
		put_le16(img + 10, fdp);
		if (f.real) {
			put_le16(img + 8, (fip >> 16 & 0xf) << 12 | fop);
			put_le16(img + 12, (fdp >> 16 & 0xf) << 12);
		} else {
			put_le16(img + 8, cpu->fcs);
			put_le16(img + 12, cpu->fds);
		}
		return;
	}
	/* the reserved upper halves of FCW, FSW, FTW: ones, as hardware */
	put_le32(img + 0, 0xffff0000u | cpu->fcw);
	put_le32(img + 4, 0xffff0000u | cpu->fsw);
	put_le32(img + 8, 0xffff0000u | tw);
	if (f.real) {
		put_le32(img + 12, 0xffff0000u | (fip & 0xffff));
		put_le32(img + 16, (fip >> 16) << 12 | fop);
		put_le32(img + 20, 0xffff0000u | (fdp & 0xffff));
		put_le32(img + 24, (fdp >> 16) << 12);
	} else {
		put_le32(img + 12, fip);
		put_le32(img + 16, cpu->fcs | fop << 16);
		put_le32(img + 20, fdp);
		put_le32(img + 24, 0xffff0000u | cpu->fds);
	}
}

/* Load cpu's x87 control state from an environment image in form f */
static void env_load(struct emu_cpu *cpu, struct env_form f,
		     const uint8_t *img)
{
	unsigned w = f.small ? 2 : 4;	/* one field's bytes */
	uint32_t a = get_le16(img + 3 * w), b = get_le16(img + 4 * w);
	uint32_t c = get_le16(img + 5 * w), d = get_le16(img + 6 * w);

	cpu->fcw = fcw_of(get_le16(img));
	cpu->fsw = get_le16(img + w);
	cpu->ftw = get_le16(img + 2 * w);
	if (f.real) {
		uint32_t bhi = f.small ? get_le16(img + 8) : get_le32(img + 16);
		uint32_t dhi = f.small ? get_le16(img + 12) : get_le32(img + 24);
		uint32_t hi_mask = f.small ? 0xf : 0xffff;

		cpu->fip = a | ((bhi >> 12) & hi_mask) << 16;
		cpu->fdp = c | ((dhi >> 12) & hi_mask) << 16;
		cpu->fop = bhi & 0x7ff;
		cpu->fcs = cpu->fds = 0;
	} else if (f.small) {
		cpu->fip = a;
		cpu->fcs = b;
		cpu->fdp = c;
		cpu->fds = d;
		cpu->fop = 0;
	} else {
		cpu->fip = get_le32(img + 12);
		cpu->fcs = b;
		cpu->fop = get_le16(img + 18) & 0x7ff;
		cpu->fdp = get_le32(img + 20);
		cpu->fds = d;
	}
}

/* FNSTENV/FNSAVE: the environment, then ST(0)..ST(7) for FNSAVE */
static void store_env(struct emu_cpu *cpu, struct insn *in, bool regs)
{
	struct env_form f = env_form(cpu, in);
	uint8_t img[108] = { 0 };
	unsigned top = (cpu->fsw >> 11) & 7;

	env_image(cpu, f, img);
	for (int i = 0; regs && i < 8; i++)
		memcpy(img + f.size + 10 * i, cpu->fpr[(top + i) & 7], 10);
	ea_write_buf(cpu, in, img, f.size + (regs ? 80 : 0));
}

static void load_env(struct emu_cpu *cpu, struct insn *in, bool regs)
{
	struct env_form f = env_form(cpu, in);
	uint8_t img[108];
	unsigned top;

	ea_read_buf(cpu, in, img, f.size + (regs ? 80 : 0));
	env_load(cpu, f, img);
	top = (cpu->fsw >> 11) & 7;
	for (int i = 0; regs && i < 8; i++)
		memcpy(cpu->fpr[(top + i) & 7], img + f.size + 10 * i, 10);
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
			cpu->fcw = fcw_of(ea_read(cpu, in, 0, 2));
			x87_sync_es(cpu);
			return;
		case 0x0e:	/* D9 /6 FNSTENV, then all exceptions masked */
			store_env(cpu, in, false);
			cpu->fcw |= 0x3f;
			x87_sync_es(cpu);
			return;
		case 0x0f:	/* D9 /7 FNSTCW */
			ea_write(cpu, in, 0, cpu->fcw, 2);
			return;
		case 0x2c:	/* DD /4 FRSTOR */
			load_env(cpu, in, true);
			return;
		case 0x2e:	/* DD /6 FNSAVE */
			store_env(cpu, in, true);
			x87_init(cpu);
			return;
		case 0x2f:	/* DD /7 FNSTSW */
			ea_write(cpu, in, 0, cpu->fsw, 2);
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
		ea_write_buf(cpu, in, area, 512);
		return;
	}
	ea_read_buf(cpu, in, area, 512);
	uint32_t mxcsr;

	memcpy(&mxcsr, area + 24, 4);
	if (mxcsr & ~MXCSR_MASK)
		cpu_raise(cpu, EXC_GP, 0);
	cpu->mxcsr = mxcsr;
	cpu->fcw = fcw_of(area[0] | area[1] << 8);
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
