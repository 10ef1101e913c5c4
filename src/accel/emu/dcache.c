// SPDX-License-Identifier: MIT
/*
 * Decoded-block cache for 64-bit code. The most frequent instruction forms
 * (MOV, LEA, the ALU ops, TEST, PUSH/POP, Jcc/JMP/CALL/RET, MOVZX/MOVSX,
 * CMOVcc, SETcc) are decoded once into entries with their operands spelled
 * out; later executions skip prefix, opcode and ModRM decoding. Runs of
 * such instructions, up to a branch, form a block that is looked up and
 * checked once and then executed entry after entry. Everything else takes
 * the general path in exec.c.
 *
 * Blocks are keyed by the host address of their first byte (so by guest
 * physical address) and carry a copy of their bytes: a hit requires the
 * bytes in memory to still match. Code that is patched or overwritten
 * (alternatives, text_poke, module loading, a new process in the same page
 * frame) thus never runs a stale decode, without tracking writes to code
 * pages. A store into the page being executed, or an MMIO access, ends
 * the block after that instruction (cpu->dc_stop), so code that patches
 * the instructions right after it also sees its own writes.
 */
#include <string.h>
#include <sys/mman.h>

#include "accel/emu/exec.h"
#include "accel/emu/lflags.h"

#define DCACHE_BLOCKS	4096	/* blocks per CPU, direct-mapped */
#define DCB_INSNS	12	/* instructions per block at most */
#define DCB_BYTES	112	/* their bytes at most */
#define DC_CHAIN_MAX	256	/* instructions per dcache_run at most */

enum dc_kind {
	DC_NONE,	/* not a cached form: use the general path */
	DC_ALU_RM_R, DC_ALU_R_RM, DC_ALU_RM_IMM, DC_TEST,
	DC_MOV_RM_R, DC_MOV_R_RM, DC_MOV_RM_IMM, DC_MOV_R_IMM, DC_LEA,
	DC_PUSH, DC_POP, DC_JCC, DC_JMP, DC_CALL, DC_RET,
	DC_MOVZX, DC_MOVSX, DC_MOVSXD, DC_CMOV, DC_SETCC,
	DC_SHIFT, DC_TEST_IMM, DC_GROUP3, DC_INC, DC_DEC, DC_CALL_RM,
	DC_JMP_RM, DC_PUSH_RM, DC_NOP, DC_LEAVE, DC_CWDE, DC_CDQ, DC_IMUL,
	DC_IMUL_IMM, DC_PUSH_IMM,
};

#define DC_COUNT_CL	0xff	/* DC_SHIFT count comes from CL */

struct dc_entry {
	uint8_t len, kind, size, size2, op;
	uint8_t rex, seg, reg, modrm_reg, rm;
	bool mem, riprel;
	int8_t base, index;	/* -1: none */
	uint8_t scale;
	int32_t disp;
	uint64_t imm;
};

/* Header and bytes in the first two cache lines, entries after them. */
struct __attribute__((aligned(64))) dc_block {
	const uint8_t *key;	/* host address of the first byte */
	uint8_t n;		/* entries; 0: the first is not a cached form */
	uint8_t nbytes;		/* bytes checked on a hit */
	uint8_t bytes[DCB_BYTES];
	struct dc_entry e[DCB_INSNS];
};

#define DCACHE_BYTES	(DCACHE_BLOCKS * sizeof(struct dc_block))

/* Anonymous memory: zeroed, and only the blocks in use cost host RAM. */
struct dc_block *dcache_create(void)
{
	void *p = mmap(NULL, DCACHE_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void dcache_destroy(struct dc_block *dc)
{
	if (dc)
		munmap(dc, DCACHE_BYTES);
}

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
	int i = 0, osize;
	uint8_t op;

	bool p66 = false;

	e->kind = DC_NONE;
	e->seg = SEG_NONE;
	e->rex = 0;
	if (p[i] == 0x64 || p[i] == 0x65)
		e->seg = p[i++] == 0x64 ? SEG_FS : SEG_GS;
	if (p[i] == 0x66) {
		p66 = true;
		i++;
	}
	if ((p[i] & 0xf0) == 0x40)
		e->rex = p[i++];
	osize = (e->rex & 8) ? 8 : p66 ? 2 : 4;
	op = p[i++];
	e->size = (op & 1) ? osize : 1;
	/* With 66 only data forms whose immediates we size below */
	if (p66 && !((op < 0x40 && (op & 7) < 6) || (op >= 0x80 && op <= 0x8b) ||
		     op == 0xa9 ||
		     op == 0xc1 || op == 0xd1 || op == 0xd3 || op == 0xf7 ||
		     op == 0xc7 || (op == 0x0f && p[i] >= 0x18 && p[i] <= 0x1f)))
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
		if (op == 0x81 && p66) {
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
		if (p66) {
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
		} else if (p66) {
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
		if (op >= 0x80 && op <= 0x8f) {
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
		} else if (p66) {
			/* only the NOPs above with 66 */
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
	e->len = i;
}

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

static inline __attribute__((always_inline)) void
dc_exec(struct emu_cpu *cpu, const struct dc_entry *e)
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
	case DC_PUSH:
		stack_push(cpu, cpu->gpr[e->rm], 8);
		break;
	case DC_POP:
		v = stack_pop(cpu, 8);
		cpu->gpr[e->rm] = v;
		break;
	case DC_JCC:
		if (lf_cond(cpu, e->op))
			cpu->rip += e->imm;
		break;
	case DC_JMP:
		cpu->rip += e->imm;
		break;
	case DC_CALL:
		stack_push(cpu, cpu->rip, 8);
		cpu->rip += e->imm;
		break;
	case DC_RET:
		cpu->rip = stack_pop(cpu, 8);
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
		stack_push(cpu, cpu->rip, 8);
		cpu->rip = v;
		break;
	case DC_JMP_RM:
		cpu->rip = dc_rm_read(cpu, e, addr, 8);
		break;
	case DC_PUSH_RM:
		stack_push(cpu, dc_rm_read(cpu, e, addr, 8), 8);
		break;
	case DC_NOP:
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

static inline struct dc_block *dc_slot(struct emu_cpu *cpu,
				       const uint8_t *p)
{
	return &cpu->dcache[((uintptr_t)p ^ ((uintptr_t)p >> 12)) &
			    (DCACHE_BLOCKS - 1)];
}

/* A block ends after an instruction that may not fall through. */
static bool dc_ends_block(uint8_t kind)
{
	return kind == DC_JCC || kind == DC_JMP || kind == DC_CALL ||
	       kind == DC_RET || kind == DC_CALL_RM || kind == DC_JMP_RM;
}

/*
 * Decode the block at p; every instruction in it has 16 readable bytes
 * before end (the fetch page's end), which dc_decode may look at.
 */
static void dc_build(struct dc_block *b, const uint8_t *p,
		     const uint8_t *end)
{
	const uint8_t *q = p;
	struct dc_entry *e;
	unsigned n = 0;

	b->key = p;
	b->nbytes = 0;
	while (n < DCB_INSNS && q + 16 <= end) {
		e = &b->e[n];
		dc_decode(q, e);
		if (e->kind == DC_NONE) {
			/* the bytes that made it "not cached" */
			if (!n)
				b->nbytes = e->len;
			break;
		}
		if (q + e->len - p > DCB_BYTES)
			break;
		q += e->len;
		n++;
		if (dc_ends_block(e->kind))
			break;
	}
	b->n = n;
	if (n)
		b->nbytes = q - p;
	memcpy(b->bytes, p, b->nbytes);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * memcmp(p, copy, n) == 0 for the n (1..DCB_BYTES) bytes of a block, a
 * word at a time: the last word is the one ending at n, overlapping the
 * one before it, so no byte past the block is compared. Below 8 bytes the
 * word at p is masked: dcache_run has 16 readable bytes at p, and copy is
 * DCB_BYTES long.
 */
static inline bool dc_same_bytes(const uint8_t *p, const uint8_t *copy,
				 unsigned n)
{
	uint64_t diff = 0;
	unsigned i;

	if (n < 8)
		return !((load64(p) ^ load64(copy)) & ((1ULL << (8 * n)) - 1));
	for (i = 0; i + 8 < n; i += 8)
		diff |= load64(p + i) ^ load64(copy + i);
	return !(diff | (load64(p + n - 8) ^ load64(copy + n - 8)));
}

/*
 * Where the block that ran leaves RIP: the next block's first byte when it
 * is in the fetch page with 16 bytes readable and no interrupt may be
 * waiting (run_loop takes those between calls), else NULL. With IF clear
 * only NMI and INIT/SIPI could be, and run_loop looks for them after each
 * call, which is at most DC_CHAIN_MAX instructions.
 */
static inline const uint8_t *dc_next(struct emu_cpu *cpu)
{
	uint64_t lin = cpu->rip;	/* 64-bit code: no CS base */

	if (lin >> 12 != cpu->fetch_vpn || (lin & 0xfff) > 4096 - 16)
		return NULL;
	if ((cpu->rflags & FL_IF) && cpu->apic_ops && cpu_irq_maybe(cpu) &&
	    cpu->apic_ops->maybe_pending(cpu->apic))
		return NULL;
	return cpu->fetch_hva + (lin & 0xfff);
}

/*
 * Blocks run back to back while they follow each other in the fetch page,
 * up to DC_CHAIN_MAX instructions, so that run_loop's checks (interrupts,
 * the stop flag) still come often.
 */
unsigned dcache_run(struct emu_cpu *cpu, long max)
{
	const uint8_t *p = cpu->ip;
	const struct dc_entry *e;
	struct dc_block *b;
	unsigned n, i, done = 0;

	if (!cpu->dcache)
		return 0;
	if (max > DC_CHAIN_MAX)
		max = DC_CHAIN_MAX;
	cpu->dc_stop = false;
	for (;;) {
		b = dc_slot(cpu, p);
		if (b->key != p || !dc_same_bytes(p, b->bytes, b->nbytes))
			dc_build(b, p, cpu->ip_end);
		n = b->n < max - done ? b->n : max - done;
		for (i = 0, e = b->e; i < n;) {
			dc_exec(cpu, e);
			if (++i == n || cpu->dc_stop)
				break;
			e++;
			cpu->insn_rip = cpu->rip;
			cpu->insn_rsp = cpu->gpr[R_SP];
		}
		done += i;
		if (!i || done >= max || cpu->dc_stop || !(p = dc_next(cpu)))
			break;
		cpu->ip = p;
		cpu->insn_rip = cpu->rip;
		cpu->insn_rsp = cpu->gpr[R_SP];
	}
	lf_sync(cpu);
	return done;
}
