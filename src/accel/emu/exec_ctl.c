// SPDX-License-Identifier: MIT
/*
 * Control transfers and stack instructions of the one-byte map: near and
 * far CALL/JMP through ModRM (group 5), ENTER, PUSHF/POPF with the
 * privilege rules for IF and IOPL, MOV to and from segment registers.
 */
#include "accel/emu/exec.h"

uint64_t branch_target(struct emu_cpu *cpu, struct insn *in,
		       uint64_t target)
{
	if (cpu->code64) {
		branch_check(cpu, target);
		return target;
	}
	target &= in->osize == 4 ? 0xffffffffULL : 0xffff;
	if (target > cpu->seg[SEG_CS].limit)
		cpu_raise(cpu, EXC_GP, 0);
	return target;
}

void jump_to(struct emu_cpu *cpu, struct insn *in, uint64_t target)
{
	cpu->rip = branch_target(cpu, in, target);
}

int stack_osize(struct emu_cpu *cpu, struct insn *in)
{
	if (cpu->code64)
		return in->p66 ? 2 : 8;
	return in->osize;
}

void push_flags(struct emu_cpu *cpu, struct insn *in)
{
	stack_push(cpu, cpu_get_flags(cpu) & ~(uint64_t)(FL_VM | FL_RF),
		   stack_osize(cpu, in));
}

void pop_flags(struct emu_cpu *cpu, struct insn *in)
{
	int sz = stack_osize(cpu, in);
	uint64_t v = stack_pop(cpu, sz);
	uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
	unsigned iopl = (cpu->rflags >> 12) & 3;

	if (cpu->cpl == 0)
		mask |= FL_IOPL | FL_IF;
	else if ((unsigned)cpu->cpl <= iopl)
		mask |= FL_IF;
	if (sz == 2)
		mask &= 0xffff;
	cpu->rflags = (cpu->rflags & ~mask) | (v & mask) | 2;
}

void exec_group5(struct emu_cpu *cpu, struct insn *in)
{
	int size = in->osize;
	uint64_t v;

	decode_modrm(cpu, in, 0);
	switch (in->reg & 7) {
	case 0:
		rm_rmw(cpu, in, size, fn_inc, 0);
		break;
	case 1:
		rm_rmw(cpu, in, size, fn_dec, 0);
		break;
	case 2:
		size = cpu->code64 ? 8 : size;
		v = rm_read(cpu, in, size);
		branch_target(cpu, in, v);
		stack_push(cpu, cpu->rip, size);
		jump_to(cpu, in, v);
		break;
	case 4:
		size = cpu->code64 ? 8 : size;
		jump_to(cpu, in, rm_read(cpu, in, size));
		break;
	case 3:
	case 5: {
		uint64_t off;
		uint16_t sel;

		if (!in->mem)
			insn_ud(cpu, in);
		off = ea_read(cpu, in, 0, size);
		sel = ea_read(cpu, in, size, 2);
		if ((in->reg & 7) == 3)
			seg_far_call(cpu, sel, off, size);
		else
			seg_far_jump(cpu, sel, off);
		break;
	}
	case 6:
		size = stack_osize(cpu, in);
		stack_push(cpu, rm_read(cpu, in, size), size);
		break;
	default:
		insn_ud(cpu, in);
	}
}

void exec_enter(struct emu_cpu *cpu, struct insn *in)
{
	uint16_t alloc = fetch_n(cpu, 2);
	uint8_t level = fetch8(cpu) & 31;
	int sz = stack_osize(cpu, in);
	uint64_t m = stack_mask(cpu);
	uint64_t bp = cpu->gpr[R_BP], frame;

	stack_push(cpu, bp, sz);
	frame = cpu->gpr[R_SP] & m;
	for (int i = 1; i < level; i++) {
		bp = (bp - sz) & m;
		stack_push(cpu, mem_read_stack(cpu, stack_addr(cpu, bp, sz,
							       ACC_R), sz), sz);
	}
	if (level)
		stack_push(cpu, frame, sz);
	/* #SS(0) when the new stack pointer is outside SS */
	stack_addr(cpu, (frame - alloc) & m, sz, ACC_W);
	reg_write(cpu, in, R_BP, sz == 8 ? 8 : m == 0xffff ? 2 : sz, frame);
	stack_adjust(cpu, -(int64_t)alloc);
}

void exec_mov_sreg(struct emu_cpu *cpu, struct insn *in, bool load)
{
	int s;

	decode_modrm(cpu, in, 0);
	s = in->reg & 7;
	if (s > SEG_GS)
		insn_ud(cpu, in);
	if (!load) {
		uint16_t v = cpu->seg[s].selector;

		if (in->mem)
			ea_write(cpu, in, 0, v, 2);
		else
			reg_write(cpu, in, in->rm, in->osize, v);
		return;
	}
	if (s == SEG_CS)
		insn_ud(cpu, in);
	seg_load(cpu, s, rm_read(cpu, in, 2));
	if (s == SEG_SS)
		cpu->shadow = true;
}
