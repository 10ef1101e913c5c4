// SPDX-License-Identifier: MIT
/*
 * The decode cache's entries without a specialised handler (dcache.h):
 * one switch over the cached forms, with the general path's helpers for
 * read-modify-write memory operands and the rarer operations.
 */
#include "accel/emu/dcache.h"
#include "accel/emu/lflags.h"

static uint64_t dc_shift(struct emu_cpu *cpu, uint64_t a, uint64_t arg,
			 int size)
{
	return alu_shift(cpu, arg >> 8, a, arg & 0xff, size);
}

/* The r/m operand at linear address addr when it is in memory */
static inline __attribute__((always_inline)) uint64_t
dc_rm_read(struct emu_cpu *cpu, const struct dc_entry *e, uint64_t addr,
	   int size)
{
	if (e->mem)
		return mem_read(cpu, addr, size);
	return reg_read_rex(cpu, e->rex, e->rm, size);
}

static inline __attribute__((always_inline)) void
dc_rm_write(struct emu_cpu *cpu, const struct dc_entry *e, uint64_t addr,
	    int size, uint64_t v)
{
	if (e->mem)
		mem_write(cpu, addr, v, size);
	else
		reg_write_rex(cpu, e->rex, e->rm, size, v);
}

/*
 * The forms that read-modify-write memory or need more of the operand
 * description, through the general path's helpers.
 */
static __attribute__((noinline)) void dc_exec_insn(struct emu_cpu *cpu,
						   const struct dc_entry *e,
						   uint64_t ea, uint64_t addr)
{
	struct insn in = { .rex = e->rex, .seg = e->seg, .osize = e->size,
			   .asize = 8, .mem = e->mem, .reg = e->reg,
			   .rm = e->rm, .ea = ea, .addr = addr };
	int size = e->size;
	uint64_t v;

	lf_sync(cpu);
	switch (e->kind) {
	case DC_ALU_RM_R:
		alu_rm(cpu, &in, e->op, size, reg_read(cpu, &in, e->reg, size));
		break;
	case DC_ALU_RM_IMM:
		alu_rm(cpu, &in, e->op, size, e->imm);
		break;
	case DC_SHIFT:
		v = e->imm == DC_COUNT_CL ? cpu->gpr[R_CX] & 0xff : e->imm;
		rm_rmw(cpu, &in, size, dc_shift, (e->op << 8) | v);
		break;
	case DC_GROUP3:
		in.reg = e->modrm_reg;
		alu_group3(cpu, &in, size);
		break;
	case DC_INC:
		rm_rmw(cpu, &in, size, fn_inc, 0);
		break;
	case DC_DEC:
		rm_rmw(cpu, &in, size, fn_dec, 0);
		break;
	}
}

/*
 * Run e, which starts at cpu->insn_rip; leaves cpu->rip at the next
 * instruction or the branch target. PUSH, POP, Jcc, JMP, CALL, RET, NOP
 * and BT always have their own handlers and never come here.
 */
void dc_exec_generic(struct emu_cpu *cpu, const struct dc_entry *e)
{
	int size = e->size;
	uint64_t v, ea = 0, addr = 0;

	cpu->rip = cpu->insn_rip + e->len;
	if (e->mem) {
		ea = e->disp;
		if (e->base >= 0)
			ea += cpu->gpr[e->base];
		if (e->index >= 0)
			ea += cpu->gpr[e->index] << e->scale;
		if (e->riprel)
			ea += cpu->rip;
		addr = e->seg != SEG_NONE ? ea + cpu->seg[e->seg].base : ea;
	}
	switch (e->kind) {
	case DC_ALU_RM_R:
		if (e->mem && e->op != 7) {
			dc_exec_insn(cpu, e, ea, addr);
			break;
		}
		v = lf_alu(cpu, e->op, dc_rm_read(cpu, e, addr, size),
			   reg_read_rex(cpu, e->rex, e->reg, size), size);
		if (e->op != 7)
			reg_write_rex(cpu, e->rex, e->rm, size, v);
		break;
	case DC_ALU_R_RM:
		v = lf_alu(cpu, e->op, reg_read_rex(cpu, e->rex, e->reg, size),
			   dc_rm_read(cpu, e, addr, size), size);
		if (e->op != 7)
			reg_write_rex(cpu, e->rex, e->reg, size, v);
		break;
	case DC_ALU_RM_IMM:
		if (e->mem && e->op != 7) {
			dc_exec_insn(cpu, e, ea, addr);
			break;
		}
		v = lf_alu(cpu, e->op, dc_rm_read(cpu, e, addr, size), e->imm,
			   size);
		if (e->op != 7)
			reg_write_rex(cpu, e->rex, e->rm, size, v);
		break;
	case DC_TEST:
		lf_alu(cpu, 4, dc_rm_read(cpu, e, addr, size),
		       reg_read_rex(cpu, e->rex, e->reg, size), size);
		break;
	case DC_MOV_RM_R:
		dc_rm_write(cpu, e, addr, size,
			    reg_read_rex(cpu, e->rex, e->reg, size));
		break;
	case DC_MOV_R_RM:
		reg_write_rex(cpu, e->rex, e->reg, size,
			      dc_rm_read(cpu, e, addr, size));
		break;
	case DC_MOV_RM_IMM:
		dc_rm_write(cpu, e, addr, size, e->imm);
		break;
	case DC_MOV_R_IMM:
		reg_write_rex(cpu, e->rex, e->rm, size, e->imm);
		break;
	case DC_LEA:
		reg_write_rex(cpu, e->rex, e->reg, size, ea);
		break;
	case DC_MOVZX:
	case DC_MOVSX:
		v = dc_rm_read(cpu, e, addr, e->size2);
		if (e->kind == DC_MOVSX)
			v = sext(v, e->size2);
		reg_write_rex(cpu, e->rex, e->reg, size, v);
		break;
	case DC_MOVSXD:
		reg_write_rex(cpu, e->rex, e->reg, size,
			      sext(dc_rm_read(cpu, e, addr, 4), 4));
		break;
	case DC_CMOV:
		v = dc_rm_read(cpu, e, addr, size);
		if (lf_cond(cpu, e->op))
			reg_write_rex(cpu, e->rex, e->reg, size, v);
		else if (size == 4)
			reg_write_rex(cpu, e->rex, e->reg, 4, cpu->gpr[e->reg]);
		break;
	case DC_SETCC:
		dc_rm_write(cpu, e, addr, 1, lf_cond(cpu, e->op));
		break;
	case DC_TEST_IMM:
		lf_alu(cpu, 4, dc_rm_read(cpu, e, addr, size), e->imm, size);
		break;
	case DC_SHIFT:
		if (e->mem) {
			dc_exec_insn(cpu, e, ea, addr);
			break;
		}
		v = e->imm == DC_COUNT_CL ? cpu->gpr[R_CX] & 0xff : e->imm;
		/* SHL/SHR/SAR by a non-zero count set all six flags */
		if ((e->op & 4) && (v & (size == 8 ? 63 : 31)))
			cpu->lf_op = LF_NONE;
		else
			lf_sync(cpu);
		v = alu_shift(cpu, e->op, reg_read_rex(cpu, e->rex, e->rm, size),
			      v, size);
		reg_write_rex(cpu, e->rex, e->rm, size, v);
		break;
	case DC_GROUP3:
		dc_exec_insn(cpu, e, ea, addr);
		break;
	case DC_INC:
	case DC_DEC:
		if (e->mem) {
			dc_exec_insn(cpu, e, ea, addr);
			break;
		}
		v = lf_incdec(cpu, reg_read_rex(cpu, e->rex, e->rm, size), size,
			      e->kind == DC_DEC);
		reg_write_rex(cpu, e->rex, e->rm, size, v);
		break;
	case DC_CALL_RM:
		v = dc_rm_read(cpu, e, addr, 8);
		branch_check(cpu, v);
		stack_push(cpu, cpu->rip, 8);
		cpu->rip = v;
		break;
	case DC_JMP_RM:
		v = dc_rm_read(cpu, e, addr, 8);
		branch_check(cpu, v);
		cpu->rip = v;
		break;
	case DC_PUSH_RM:
		stack_push(cpu, dc_rm_read(cpu, e, addr, 8), 8);
		break;
	case DC_LEAVE:
		stack_set_sp(cpu, cpu->gpr[R_BP]);
		cpu->gpr[R_BP] = stack_pop(cpu, 8);
		break;
	case DC_CWDE:
		reg_write_rex(cpu, e->rex, R_AX, size,
			      sext(cpu->gpr[R_AX], size / 2));
		break;
	case DC_CDQ:
		reg_write_rex(cpu, e->rex, R_DX, size,
			      sext(cpu->gpr[R_AX], size) < 0 ? ~0ULL : 0);
		break;
	case DC_IMUL:
		lf_sync(cpu);	/* IMUL leaves AF as it was */
		v = alu_imul(cpu, reg_read_rex(cpu, e->rex, e->reg, size),
			     dc_rm_read(cpu, e, addr, size), size);
		reg_write_rex(cpu, e->rex, e->reg, size, v);
		break;
	case DC_IMUL_IMM:
		lf_sync(cpu);
		v = alu_imul(cpu, dc_rm_read(cpu, e, addr, size), e->imm, size);
		reg_write_rex(cpu, e->rex, e->reg, size, v);
		break;
	case DC_PUSH_IMM:
		stack_push(cpu, e->imm, 8);
		break;
	}
}
