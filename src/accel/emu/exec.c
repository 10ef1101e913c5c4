// SPDX-License-Identifier: MIT
/*
 * Prefix decoding and the one-byte opcode map (Intel SDM vol. 2, table
 * Two-byte opcodes are in exec_0f.c, string and port I/O in
 * exec_str.c, arithmetic and flags in exec_alu.c.
 */
#include "accel/emu/exec.h"

#define ALU_FN(n)                                                          \
	static uint64_t fn_alu##n(struct emu_cpu *cpu, uint64_t a,         \
				  uint64_t b, int size)                    \
	{                                                                  \
		return alu_op(cpu, n, a, b, size);                         \
	}
ALU_FN(0) ALU_FN(1) ALU_FN(2) ALU_FN(3) ALU_FN(4) ALU_FN(5) ALU_FN(6)

static const rmw_fn alu_fns[7] = { fn_alu0, fn_alu1, fn_alu2, fn_alu3,
				   fn_alu4, fn_alu5, fn_alu6 };

static uint64_t fn_xchg(struct emu_cpu *cpu, uint64_t a, uint64_t b,
			int size)
{
	(void)cpu;
	(void)a;
	(void)size;
	return b;
}

static uint64_t fn_shift(struct emu_cpu *cpu, uint64_t a, uint64_t arg,
			 int size)
{
	return alu_shift(cpu, arg >> 8, a, arg & 0xff, size);
}

void alu_rm(struct emu_cpu *cpu, struct insn *in, int op, int size,
		   uint64_t src)
{
	if (op == 7) {
		alu_op(cpu, 7, rm_read(cpu, in, size), src, size);
		return;
	}
	rm_rmw(cpu, in, size, alu_fns[op], src & size_mask(size));
}

static void exec_int(struct emu_cpu *cpu, int vec)
{
	cpu_deliver(cpu, vec, false, 0, true, cpu->rip);
}

/* Opcodes 0x00-0x3f except prefixes: the eight ALU ops in six forms. */
static void exec_alu_block(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	int op = b >> 3, size = (b & 1) ? in->osize : 1;
	uint64_t v;

	switch (b & 7) {
	case 0:
	case 1:
		decode_modrm(cpu, in, 0);
		alu_rm(cpu, in, op, size, reg_read(cpu, in, in->reg, size));
		break;
	case 2:
	case 3:
		decode_modrm(cpu, in, 0);
		v = alu_op(cpu, op, reg_read(cpu, in, in->reg, size),
			   rm_read(cpu, in, size), size);
		if (op != 7)
			reg_write(cpu, in, in->reg, size, v);
		break;
	case 4:
	case 5:
		v = fetch_imm(cpu, size);
		v = alu_op(cpu, op, reg_read(cpu, in, R_AX, size), v, size);
		if (op != 7)
			reg_write(cpu, in, R_AX, size, v);
		break;
	default:
		insn_ud(cpu, in);
	}
}

static void exec_shift_grp(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	int size = (b & 1) ? in->osize : 1;
	unsigned cnt;

	decode_modrm(cpu, in, b < 0xd0 ? 1 : 0);
	if (b < 0xd0)
		cnt = fetch8(cpu);
	else if (b < 0xd2)
		cnt = 1;
	else
		cnt = cpu->gpr[R_CX] & 0xff;
	rm_rmw(cpu, in, size, fn_shift, ((in->reg & 7) << 8) | (cnt & 0xff));
}

static void exec_grp1(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	int size = b == 0x81 ? in->osize : (b & 1) ? in->osize : 1;
	int isz = b == 0x81 ? size : 1;
	uint64_t imm;

	decode_modrm(cpu, in, isz == 8 ? 4 : isz);
	imm = b == 0x83 ? fetch_simm8(cpu) : fetch_imm(cpu, isz);
	alu_rm(cpu, in, in->reg & 7, size, imm);
}

/* Main dispatch; in has prefixes decoded, b is the opcode byte. */
static void exec_onebyte(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	int size = (b & 1) ? in->osize : 1;
	uint64_t v, t;

	/* LOCK of anything but a read-modify-write of memory */
	if (in->lock && !opmap_lockable(false, b, peek8(cpu)))
		insn_ud(cpu, in);
	if (b < 0x40 && (b & 7) < 6) {
		exec_alu_block(cpu, in, b);
		return;
	}
	switch (b) {
	case 0x06: case 0x0e: case 0x16: case 0x1e:
		if (cpu->code64)
			insn_ud(cpu, in);
		stack_push(cpu, cpu->seg[b >> 3].selector, in->osize);
		break;
	case 0x07: case 0x17: case 0x1f:
		if (cpu->code64)
			insn_ud(cpu, in);
		v = stack_peek(cpu, 0, in->osize);
		seg_load(cpu, b >> 3, v);
		stack_adjust(cpu, in->osize);
		if (b == 0x17)
			cpu->shadow = true;
		break;
	case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x62:
	case 0xc4: case 0xc5: case 0xd4: case 0xd5: case 0xd6:
		if (cpu->code64)
			insn_ud(cpu, in);
		exec_legacy(cpu, in, b);
		break;
	case 0x40 ... 0x4f:	/* only outside 64-bit mode */
		in->rm = b & 7;
		in->mem = false;
		rm_rmw(cpu, in, in->osize, b < 0x48 ? fn_inc : fn_dec, 0);
		break;
	case 0x50 ... 0x57:
		size = stack_osize(cpu, in);
		stack_push(cpu, cpu->gpr[(b & 7) | ((in->rex & 1) << 3)],
			   size);
		break;
	case 0x58 ... 0x5f:
		size = stack_osize(cpu, in);
		v = stack_pop(cpu, size);
		reg_write(cpu, in, (b & 7) | ((in->rex & 1) << 3), size, v);
		break;
	case 0x60: {
		uint64_t sp = cpu->gpr[R_SP];

		if (cpu->code64)
			insn_ud(cpu, in);
		for (int r = 0; r < 8; r++)
			stack_push(cpu, r == R_SP ? sp : cpu->gpr[r],
				   in->osize);
		break;
	}
	case 0x61:
		if (cpu->code64)
			insn_ud(cpu, in);
		for (int r = 7; r >= 0; r--) {
			v = stack_pop(cpu, in->osize);
			if (r != R_SP)
				reg_write(cpu, in, r, in->osize, v);
		}
		break;
	case 0x63:
		if (!cpu->code64) {
			exec_legacy(cpu, in, b);	/* ARPL */
			break;
		}
		decode_modrm(cpu, in, 0);
		v = sext(rm_read(cpu, in, 4), 4);
		reg_write(cpu, in, in->reg, in->osize, v);
		break;
	case 0x68:
		size = stack_osize(cpu, in);
		v = size == 2 ? fetch_n(cpu, 2) : fetch_imm(cpu, 8);
		stack_push(cpu, v, size);
		break;
	case 0x6a:
		v = fetch_simm8(cpu);
		stack_push(cpu, v, stack_osize(cpu, in));
		break;
	case 0x69:
	case 0x6b:
		decode_modrm(cpu, in, b == 0x69 ? (in->osize == 2 ? 2 : 4) :
			     1);
		v = rm_read(cpu, in, in->osize);
		t = b == 0x69 ? fetch_imm(cpu, in->osize) : fetch_simm8(cpu);
		reg_write(cpu, in, in->reg, in->osize,
			  alu_imul(cpu, v, t, in->osize));
		break;
	case 0x6c ... 0x6f:
		io_check(cpu, cpu->gpr[R_DX],
			 (b & 1) ? (in->osize == 2 ? 2 : 4) : 1);
		exec_string(cpu, in);
		break;
	case 0x70 ... 0x7f:
		v = fetch_simm8(cpu);
		if (cond_true(cpu, b & 15))
			jump_to(cpu, in, cpu->rip + v);
		break;
	case 0x80 ... 0x83:
		if (b == 0x82 && cpu->code64)
			insn_ud(cpu, in);
		exec_grp1(cpu, in, b);
		break;
	case 0x84:
	case 0x85:
		decode_modrm(cpu, in, 0);
		alu_op(cpu, 4, rm_read(cpu, in, size),
		       reg_read(cpu, in, in->reg, size), size);
		break;
	case 0x86:
	case 0x87:
		decode_modrm(cpu, in, 0);
		in->lock = true;
		v = rm_rmw(cpu, in, size, fn_xchg,
			   reg_read(cpu, in, in->reg, size));
		reg_write(cpu, in, in->reg, size, v);
		break;
	case 0x88:
	case 0x89:
		decode_modrm(cpu, in, 0);
		rm_write(cpu, in, size, reg_read(cpu, in, in->reg, size));
		break;
	case 0x8a:
	case 0x8b:
		decode_modrm(cpu, in, 0);
		reg_write(cpu, in, in->reg, size, rm_read(cpu, in, size));
		break;
	case 0x8c:
	case 0x8e:
		exec_mov_sreg(cpu, in, b == 0x8e);
		break;
	case 0x8d:
		decode_modrm(cpu, in, 0);
		if (!in->mem)
			insn_ud(cpu, in);
		reg_write(cpu, in, in->reg, in->osize, in->ea);
		break;
	case 0x8f:	/* /1-7: AMD's XOP */
		if ((peek8(cpu) >> 3) & 7)
			insn_ud(cpu, in);
		size = stack_osize(cpu, in);
		v = stack_pop(cpu, size);
		decode_modrm(cpu, in, 0);
		rm_write(cpu, in, size, v);
		break;
	case 0x90:
		if (in->rex & 1)
			goto xchg;
		break;	/* NOP, PAUSE */
	case 0x91 ... 0x97:
xchg:
		t = (b & 7) | ((in->rex & 1) << 3);
		v = cpu->gpr[t];
		reg_write(cpu, in, t, in->osize, cpu->gpr[R_AX]);
		reg_write(cpu, in, R_AX, in->osize, v);
		break;
	case 0x98:
		v = sext(cpu->gpr[R_AX], in->osize / 2);
		reg_write(cpu, in, R_AX, in->osize, v);
		break;
	case 0x99:
		v = sext(cpu->gpr[R_AX], in->osize) < 0 ? ~0ULL : 0;
		reg_write(cpu, in, R_DX, in->osize, v);
		break;
	case 0x9a:
		if (cpu->code64)
			insn_ud(cpu, in);
		v = fetch_n(cpu, in->osize);
		t = fetch_n(cpu, 2);
		seg_far_call(cpu, t, v, in->osize);
		break;
	case 0x9b:	/* FWAIT: #NM with CR0.MP and TS, a pending #MF */
		if ((cpu->cr0 & (X86_CR0_MP | CR0_TS)) ==
		    (X86_CR0_MP | CR0_TS))
			cpu_raise_noerr(cpu, EXC_NM);
		x87_check_pending(cpu);
		break;
	case 0x9c:
		push_flags(cpu, in);
		break;
	case 0x9d:
		pop_flags(cpu, in);
		break;
	case 0x9e:
		t = FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF;
		cpu->rflags = (cpu->rflags & ~t) |
			      ((cpu->gpr[R_AX] >> 8) & t);
		break;
	case 0x9f:
		cpu->gpr[R_AX] = (cpu->gpr[R_AX] & ~0xff00ULL) |
				 (((cpu_get_flags(cpu) & 0xd5) | 2) << 8);
		break;
	case 0xa0 ... 0xa3:
		t = fetch_n(cpu, in->asize);
		t = seg_addr(cpu, insn_seg(in, SEG_DS), t, size,
			     b < 0xa2 ? ACC_R : ACC_W);
		if (b < 0xa2)
			reg_write(cpu, in, R_AX, size, mem_read(cpu, t, size));
		else
			mem_write(cpu, t, cpu->gpr[R_AX], size);
		break;
	case 0xa4 ... 0xa7:
	case 0xaa ... 0xaf:
		exec_string(cpu, in);
		break;
	case 0xa8:
	case 0xa9:
		v = fetch_imm(cpu, size);
		alu_op(cpu, 4, cpu->gpr[R_AX], v, size);
		break;
	case 0xb0 ... 0xb7:
		reg_write(cpu, in, (b & 7) | ((in->rex & 1) << 3), 1,
			  fetch8(cpu));
		break;
	case 0xb8 ... 0xbf:
		v = fetch_n(cpu, in->osize);
		reg_write(cpu, in, (b & 7) | ((in->rex & 1) << 3), in->osize,
			  v);
		break;
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		exec_shift_grp(cpu, in, b);
		break;
	case 0xc2:
	case 0xc3:
		t = b == 0xc2 ? fetch_n(cpu, 2) : 0;
		size = branch_osize(cpu, in);
		v = stack_pop(cpu, size);
		stack_adjust(cpu, t);
		jump_to(cpu, in, v);
		break;
	case 0xc6:
	case 0xc7:
		decode_modrm(cpu, in, size == 8 ? 4 : size);
		if ((in->reg & 7) != 0)
			insn_ud(cpu, in);
		rm_write(cpu, in, size, fetch_imm(cpu, size));
		break;
	case 0xc8:
		exec_enter(cpu, in);
		break;
	case 0xc9:
		t = stack_mask(cpu);
		stack_set_sp(cpu, cpu->gpr[R_BP]);
		size = stack_osize(cpu, in);
		v = stack_pop(cpu, size);
		reg_write(cpu, in, R_BP, size, v);
		break;
	case 0xca:
	case 0xcb:
		t = b == 0xca ? fetch_n(cpu, 2) : 0;
		seg_far_ret(cpu, in->osize, t);
		break;
	case 0xcc:
		exec_int(cpu, EXC_BP);
		break;
	case 0xcd:
		exec_int(cpu, fetch8(cpu));
		break;
	case 0xce:
		if (cpu->code64)
			insn_ud(cpu, in);
		if (cpu->rflags & FL_OF)
			exec_int(cpu, EXC_OF);
		break;
	case 0xcf:
		seg_iret(cpu, in->osize);
		break;
	case 0xd7:
		t = (cpu->gpr[R_BX] + (cpu->gpr[R_AX] & 0xff)) &
		    size_mask(in->asize);
		t = seg_addr(cpu, insn_seg(in, SEG_DS), t, 1, ACC_R);
		reg_write(cpu, in, R_AX, 1, mem_read(cpu, t, 1));
		break;
	case 0xd8 ... 0xdf:
		exec_x87(cpu, in);
		break;
	case 0xe0 ... 0xe3: {
		uint64_t cx = cpu->gpr[R_CX] & size_mask(in->asize);
		bool take;

		v = fetch_simm8(cpu);
		if (b != 0xe3)
			cx = (cx - 1) & size_mask(in->asize);
		take = cx != 0;
		if (b == 0xe0)
			take = take && !(cpu->rflags & FL_ZF);
		else if (b == 0xe1)
			take = take && (cpu->rflags & FL_ZF);
		else if (b == 0xe3)
			take = !cx;
		/* a target's #GP leaves RCX as it was */
		if (take)
			branch_target(cpu, in, cpu->rip + v);
		if (b != 0xe3)
			reg_write(cpu, in, R_CX, in->asize, cx);
		if (take)
			jump_to(cpu, in, cpu->rip + v);
		break;
	}
	case 0xe4 ... 0xe7:
	case 0xec ... 0xef:
		exec_io(cpu, in);
		break;
	case 0xe8:
	case 0xe9:
		size = branch_osize(cpu, in);
		v = (uint64_t)sext(fetch_n(cpu, size == 2 ? 2 : 4),
				   size == 2 ? 2 : 4);
		if (b == 0xe8) {
			branch_target(cpu, in, cpu->rip + v);
			stack_push(cpu, cpu->rip, size);
		}
		jump_to(cpu, in, cpu->rip + v);
		break;
	case 0xea:
		if (cpu->code64)
			insn_ud(cpu, in);
		v = fetch_n(cpu, in->osize);
		t = fetch_n(cpu, 2);
		seg_far_jump(cpu, t, v);
		break;
	case 0xeb:
		v = fetch_simm8(cpu);
		jump_to(cpu, in, cpu->rip + v);
		break;
	case 0xf1:
		/*
		 * INT1 is no software interrupt to the gate (no DPL check)
		 * nor to an error code of its delivery (EXT set): SDM vol.
		 * 2, INT n, "does not apply to INT1"; vol. 3, 6.13
		 */
		cpu->delivering = EXC_DB;
		cpu_deliver(cpu, EXC_DB, false, 0, false, cpu->rip);
		cpu->delivering = -1;
		break;
	case 0xf4:
		if (cpu->cpl)
			cpu_raise(cpu, EXC_GP, 0);
		cpu->halted = true;
		break;
	case 0xf5:
		cpu->rflags ^= FL_CF;
		break;
	case 0xf6:
	case 0xf7:
		t = (peek8(cpu) >> 3) & 7;
		decode_modrm(cpu, in, t < 2 ? (size == 8 ? 4 : size) : 0);
		alu_group3(cpu, in, size);
		break;
	case 0xf8: cpu->rflags &= ~(uint64_t)FL_CF; break;
	case 0xf9: cpu->rflags |= FL_CF; break;
	case 0xfa:
	case 0xfb:
		if ((cpu->cr0 & X86_CR0_PE) &&
		    (unsigned)cpu->cpl > ((cpu->rflags >> 12) & 3))
			cpu_raise(cpu, EXC_GP, 0);
		if (b == 0xfa) {
			cpu->rflags &= ~(uint64_t)FL_IF;
		} else {
			if (!(cpu->rflags & FL_IF))
				cpu->shadow = true;
			cpu->rflags |= FL_IF;
		}
		break;
	case 0xfc: cpu->rflags &= ~(uint64_t)FL_DF; break;
	case 0xfd: cpu->rflags |= FL_DF; break;
	case 0xfe:
		decode_modrm(cpu, in, 0);
		if ((in->reg & 7) > 1)
			insn_ud(cpu, in);
		rm_rmw(cpu, in, 1, (in->reg & 7) ? fn_dec : fn_inc, 0);
		break;
	case 0xff:
		exec_group5(cpu, in);
		break;
	default:
		insn_ud(cpu, in);
	}
}

void exec_insn_decode(struct emu_cpu *cpu)
{
	struct insn in = { .seg = SEG_NONE };
	bool def32 = cpu->code64 || cpu->seg[SEG_CS].db;
	bool p67 = false;
	uint8_t b, rex = 0;

	cpu->stack_ref = false;
	for (int n = 0;; n++) {
		b = fetch8(cpu);
		if (n > 14)
			cpu_raise(cpu, EXC_GP, 0);
		switch (b) {
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			in.seg = (b >> 3) & 3;
			if (cpu->code64)
				in.seg = SEG_NONE;
			break;
		case 0x64: case 0x65:
			in.seg = b - 0x64 + SEG_FS;
			break;
		case 0x66:
			in.p66 = true;
			/* an F2 or F3 selects the SSE form over a 66 */
			if (!in.rep && !in.repne)
				in.last_pfx = b;
			break;
		case 0x67:
			p67 = true;
			break;
		case 0xf0:
			in.lock = true;
			break;
		case 0xf2:
			in.repne = true;
			in.rep = false;
			in.last_pfx = b;
			break;
		case 0xf3:
			in.rep = true;
			in.repne = false;
			in.last_pfx = b;
			break;
		default:
			if (!cpu->code64 || (b & 0xf0) != 0x40)
				goto opcode;
			rex = b;
			continue;
		}
		/* a REX counts only right before the opcode */
		rex = 0;
	}
opcode:
	in.rex = rex;
	in.op = b;
	if (cpu->code64) {
		in.osize = (in.rex & 8) ? 8 : in.p66 ? 2 : 4;
		in.asize = p67 ? 4 : 8;
	} else {
		in.osize = def32 != in.p66 ? 4 : 2;
		in.asize = def32 != p67 ? 4 : 2;
	}
	if (b == 0x0f)
		exec_0f(cpu, &in);
	else
		exec_onebyte(cpu, &in, b);
}
