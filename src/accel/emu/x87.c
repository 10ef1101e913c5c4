// SPDX-License-Identifier: MIT
/*
 * The x87 as far as an OS probing for it needs (FNINIT, FNSTSW, FNSTCW,
 * FLDCW, FNCLEX), and FXSAVE/FXRSTOR of the x87 control words, MXCSR and
 * the XMM registers. The x87 register stack itself is not emulated: its
 * image in the FXSAVE area reads as zero.
 */
#include <string.h>

#include "accel/emu/exec.h"

#define MXCSR_MASK 0xffffu

static void x87_init(struct emu_cpu *cpu)
{
	cpu->fcw = 0x37f;
	cpu->fsw = 0;
	cpu->ftw = 0xffff;
}

void exec_x87(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t op = in->op;

	if (cpu->cr0 & (CR0_EM | CR0_TS))	/* EM or TS */
		cpu_raise_noerr(cpu, EXC_NM);
	decode_modrm(cpu, in, 0);
	if (in->mem) {
		switch (((op & 7) << 3) | (in->reg & 7)) {
		case 0x0d:	/* D9 /5 FLDCW */
			cpu->fcw = mem_read(cpu, in->addr, 2);
			return;
		case 0x0f:	/* D9 /7 FNSTCW */
			mem_write(cpu, in->addr, cpu->fcw, 2);
			return;
		case 0x2f:	/* DD /7 FNSTSW */
			mem_write(cpu, in->addr, cpu->fsw, 2);
			return;
		}
		insn_ud(cpu, in);
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
	insn_ud(cpu, in);
}

void exec_fxsave(struct emu_cpu *cpu, struct insn *in, bool restore)
{
	uint8_t area[512];

	if (in->addr & 15)
		cpu_raise(cpu, EXC_GP, 0);
	if (!restore) {
		memset(area, 0, sizeof(area));
		memcpy(area + 0, &cpu->fcw, 2);
		memcpy(area + 2, &cpu->fsw, 2);
		area[4] = 0;	/* abridged tag: all empty */
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
	memcpy(cpu->xmm, area + 160, cpu->code64 ? 256 : 128);
}
