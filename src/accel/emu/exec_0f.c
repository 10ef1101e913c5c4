// SPDX-License-Identifier: MIT
/*
 * The two-byte opcode map (0F xx): system instructions, CMOV/SETcc/Jcc,
 * bit operations, CMPXCHG/XADD, MOVZX/MOVSX and friends. SSE opcodes are
 * handed to sse.c.
 */
#include "accel/emu/exec.h"
#include "accel/emu/tsc.h"

static void need_cpl0(struct emu_cpu *cpu)
{
	if (cpu->cpl)
		cpu_raise(cpu, EXC_GP, 0);
}

static void exec_grp6(struct emu_cpu *cpu, struct insn *in)
{
	decode_modrm(cpu, in, 0);
	switch (in->reg & 7) {
	case 0:
		rm_write(cpu, in, in->mem ? 2 : in->osize,
			 cpu->ldt.selector);
		break;
	case 1:
		rm_write(cpu, in, in->mem ? 2 : in->osize, cpu->tr.selector);
		break;
	case 2:
		need_cpl0(cpu);
		seg_load_ldt(cpu, rm_read(cpu, in, 2));
		break;
	case 3:
		need_cpl0(cpu);
		seg_load_tr(cpu, rm_read(cpu, in, 2));
		break;
	case 4:
	case 5:
		exec_desc_query(cpu, in, 0x00);
		break;
	default:
		insn_ud(cpu, in);
	}
}

static void exec_grp7_reg(struct emu_cpu *cpu, struct insn *in)
{
	uint64_t t;

	switch (in->modrm) {
	case 0xf8:	/* SWAPGS */
		if (!cpu->code64)
			insn_ud(cpu, in);
		need_cpl0(cpu);
		t = cpu->seg[SEG_GS].base;
		cpu->seg[SEG_GS].base = cpu->kernel_gs_base;
		cpu->kernel_gs_base = t;
		break;
	case 0xf9:	/* RDTSCP: CR4.TSD makes it CPL 0's, as RDTSC */
		if ((cpu->cr4 & CR4_TSD) && cpu->cpl)
			cpu_raise(cpu, EXC_GP, 0);
		t = cpu_rdtsc(cpu);
		cpu->gpr[R_AX] = (uint32_t)t;
		cpu->gpr[R_DX] = t >> 32;
		cpu->gpr[R_CX] = (uint32_t)cpu->tsc_aux;
		break;
	default:	/* MONITOR/MWAIT too: CPUID has no MONITOR */
		insn_ud(cpu, in);
	}
}

static void exec_grp7(struct emu_cpu *cpu, struct insn *in)
{
	struct x86_dtable *dt;
	int bsz = cpu->code64 ? 8 : 4;

	decode_modrm(cpu, in, 0);
	if (!in->mem) {
		if ((in->reg & 7) == 4) {
			rm_write(cpu, in, in->osize, cpu->cr0);
			return;
		}
		if ((in->reg & 7) == 6) {
			need_cpl0(cpu);
			cpu_write_cr(cpu, 0, (cpu->cr0 & ~0xeULL) |
				     (rm_read(cpu, in, 2) & 0xf));
			return;
		}
		exec_grp7_reg(cpu, in);
		return;
	}
	switch (in->reg & 7) {
	case 0:
	case 1:
		dt = (in->reg & 7) ? &cpu->idt : &cpu->gdt;
		ea_addr(cpu, in, 0, 2 + bsz, ACC_W);
		ea_write(cpu, in, 2, dt->base, bsz);
		ea_write(cpu, in, 0, dt->limit, 2);
		break;
	case 2:
	case 3: {
		uint16_t lim;
		uint64_t base;

		need_cpl0(cpu);
		dt = (in->reg & 7) == 3 ? &cpu->idt : &cpu->gdt;
		lim = ea_read(cpu, in, 0, 2);
		base = ea_read(cpu, in, 2, bsz);
		if (!cpu->code64 && in->osize == 2)
			base &= 0xffffff;
		dt->limit = lim;
		dt->base = base;
		break;
	}
	case 4:
		ea_write(cpu, in, 0, cpu->cr0, 2);
		break;
	case 6:
		need_cpl0(cpu);
		cpu_write_cr(cpu, 0, (cpu->cr0 & ~0xeULL) |
			     (ea_read(cpu, in, 0, 2) & 0xf));
		break;
	case 7:
		need_cpl0(cpu);
		tlb_flush_page(cpu, in->addr);
		break;
	default:
		insn_ud(cpu, in);
	}
}

/*
 * MOV to/from DRn (0-7, exec_mov_cr_dr has made DR8-15 #UD): DR4/DR5 are
 * DR6/DR7 (CR4.DE is never set: CPUID has no DE).
 */
static int dr_index(int reg)
{
	return reg == 4 || reg == 5 ? reg + 2 : reg;
}

/*
 * DR6 and DR7: bits 63:32 set are #GP(0); the bits that read as fixed
 * values (DR6 4-11 and 16-31 one, 12 zero; DR7 10 one, 11, 12, 14 and 15
 * zero: no RTM) keep them.
 */
static void dr_write(struct emu_cpu *cpu, int n, uint64_t val)
{
	if (n >= 6 && (val >> 32))
		cpu_raise(cpu, EXC_GP, 0);
	if (n == 6)
		val = (val | 0xffff0ff0) & ~0x1000ULL;
	else if (n == 7)
		val = (val | 0x400) & ~0xd800ULL;
	cpu->dr[n] = val;
}

static void exec_mov_cr_dr(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	uint8_t m = fetch8(cpu);
	int reg = ((m >> 3) & 7) | ((in->rex & 4) << 1);
	int rm = (m & 7) | ((in->rex & 1) << 3);
	int sz = cpu->code64 ? 8 : 4;

	/* CR1, CR5-7, CR9-15 and DR8-15 are no registers: #UD before #GP */
	if (b & 1 ? reg >= 8 : reg != 0 && (reg < 2 || reg > 4) && reg != 8)
		insn_ud(cpu, in);
	need_cpl0(cpu);
	switch (b) {
	case 0x20:
		reg_write(cpu, in, rm, sz, cpu_read_cr(cpu, reg));
		break;
	case 0x22:
		cpu_write_cr(cpu, reg, cpu->gpr[rm] & size_mask(sz));
		break;
	case 0x21:
		reg_write(cpu, in, rm, sz, cpu->dr[dr_index(reg)]);
		break;
	default:
		dr_write(cpu, dr_index(reg), cpu->gpr[rm] & size_mask(sz));
		break;
	}
}

static uint64_t fn_bt(struct emu_cpu *cpu, uint64_t a, uint64_t arg,
		      int size)
{
	uint64_t bit = 1ULL << (arg & (size * 8 - 1));
	int op = arg >> 8;

	cpu->rflags &= ~(uint64_t)FL_CF;
	if (a & bit)
		cpu->rflags |= FL_CF;
	switch (op) {
	case 1: return a | bit;
	case 2: return a & ~bit;
	case 3: return a ^ bit;
	}
	return a;
}

/* op: 0 BT, 1 BTS, 2 BTR, 3 BTC; bit from a register or an imm8 */
static void exec_bt(struct emu_cpu *cpu, struct insn *in, int op,
		    uint64_t bit, bool from_reg)
{
	int size = in->osize;

	if (in->mem && from_reg) {
		int64_t off = sext(bit, size);
		uint64_t d = (off >> 3) & ~(int64_t)(size - 1);

		in->addr += d;
		if (!cpu->code64) {
			in->ea = (in->ea + d) & size_mask(in->asize);
			in->addr = seg_lin(cpu, in, in->eseg, in->ea);
		}
	}
	bit &= size * 8 - 1;
	if (op == 0) {
		fn_bt(cpu, rm_read(cpu, in, size), bit, size);
		return;
	}
	rm_rmw(cpu, in, size, fn_bt, bit | (op << 8));
}

static uint64_t fn_cmpxchg(struct emu_cpu *cpu, uint64_t old, uint64_t src,
			   int size)
{
	alu_op(cpu, 7, cpu->rmw_aux, old, size);
	return (cpu->rflags & FL_ZF) ? src : old;
}

static uint64_t fn_xadd(struct emu_cpu *cpu, uint64_t old, uint64_t src,
			int size)
{
	return alu_op(cpu, 0, old, src, size);
}

static void exec_cmpxchg8b(struct emu_cpu *cpu, struct insn *in)
{
	bool wide = in->osize == 8;
	uint64_t *p;

	if (!in->mem)
		insn_ud(cpu, in);
	if (wide) {
		uint64_t lo_e = cpu->gpr[R_AX], hi_e = cpu->gpr[R_DX];
		uint64_t lo_n = cpu->gpr[R_BX], hi_n = cpu->gpr[R_CX];
		uint64_t lo, hi;
		bool ok;

		if (in->addr & 15)
			cpu_raise(cpu, EXC_GP, 0);
		p = mem_ptr(cpu, in->addr, 16, ACC_W);
		if (p) {
			__asm__ volatile("lock cmpxchg16b %2"
					 : "=a"(lo), "=d"(hi), "+m"(*p),
					   "=@ccz"(ok)
					 : "a"(lo_e), "d"(hi_e), "b"(lo_n),
					   "c"(hi_n)
					 : "memory");
		} else {
			lo = mem_read(cpu, in->addr, 8);
			hi = mem_read(cpu, in->addr + 8, 8);
			ok = lo == lo_e && hi == hi_e;
			mem_write(cpu, in->addr, ok ? lo_n : lo, 8);
			mem_write(cpu, in->addr + 8, ok ? hi_n : hi, 8);
		}
		cpu->rflags &= ~(uint64_t)FL_ZF;
		if (ok) {
			cpu->rflags |= FL_ZF;
		} else {
			cpu->gpr[R_AX] = lo;
			cpu->gpr[R_DX] = hi;
		}
		return;
	}
	uint64_t exp = (cpu->gpr[R_AX] & 0xffffffff) | (cpu->gpr[R_DX] << 32);
	uint64_t new = (cpu->gpr[R_BX] & 0xffffffff) | (cpu->gpr[R_CX] << 32);
	uint64_t cur;
	bool ok;

	p = mem_ptr(cpu, ea_addr(cpu, in, 0, 8, ACC_W), 8, ACC_W);
	if (p && !((uintptr_t)p & 7)) {
		cur = exp;
		ok = __atomic_compare_exchange_n(p, &cur, new, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST);
	} else {
		cur = mem_read(cpu, in->addr, 8);
		ok = cur == exp;
		mem_write(cpu, in->addr, ok ? new : cur, 8);
	}
	cpu->rflags &= ~(uint64_t)FL_ZF;
	if (ok) {
		cpu->rflags |= FL_ZF;
	} else {
		cpu->gpr[R_AX] = (uint32_t)cur;
		cpu->gpr[R_DX] = cur >> 32;
	}
}

static void exec_grp9(struct emu_cpu *cpu, struct insn *in)
{
	decode_modrm(cpu, in, 0);
	if ((in->reg & 7) == 1 && in->mem) {
		exec_cmpxchg8b(cpu, in);
		return;
	}
	if ((in->reg & 7) == 7 && !in->mem && in->rep) {
		/* RDPID */
		reg_write(cpu, in, in->rm, cpu->code64 ? 8 : 4,
			  (uint32_t)cpu->tsc_aux);
		return;
	}
	insn_ud(cpu, in);
}

static void exec_grp15(struct emu_cpu *cpu, struct insn *in)
{
	decode_modrm(cpu, in, 0);
	if (!in->mem) {
		if (in->rep && cpu->code64 && (cpu->cr4 & CR4_FSGSBASE) &&
		    (in->reg & 7) < 4) {
			int s = (in->reg & 1) ? SEG_GS : SEG_FS;
			int sz = in->osize == 8 ? 8 : 4;

			if ((in->reg & 7) < 2)
				reg_write(cpu, in, in->rm, sz,
					  cpu->seg[s].base);
			else
				cpu->seg[s].base = rm_read(cpu, in, sz);
			return;
		}
		/* LFENCE, MFENCE, SFENCE: no 66, F3 or F2 (this host) */
		if ((in->reg & 7) >= 5 && !in->last_pfx) {
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			return;
		}
		insn_ud(cpu, in);
	}
	/* FXSAVE..STMXCSR and CLFLUSH take no 66, F3 or F2 */
	if (in->last_pfx)
		insn_ud(cpu, in);
	switch (in->reg & 7) {
	case 0:
	case 1:
		exec_fxsave(cpu, in, (in->reg & 7) == 1);
		break;
	case 2: {
		uint32_t v;

		sse_require(cpu);	/* LDMXCSR, STMXCSR: SSE's #UD, #NM */
		v = ea_read(cpu, in, 0, 4);
		if (v & 0xffff0000u)
			cpu_raise(cpu, EXC_GP, 0);
		cpu->mxcsr = v;
		break;
	}
	case 3:
		sse_require(cpu);
		ea_write(cpu, in, 0, cpu->mxcsr, 4);
		break;
	case 7:	/* CLFLUSH / CLFLUSHOPT: check the address, nothing to do */
		ea_read(cpu, in, 0, 1);
		break;
	default:
		insn_ud(cpu, in);
	}
}

static void exec_bitscan(struct emu_cpu *cpu, struct insn *in, uint8_t b)
{
	int size = in->osize, bits = size * 8;
	uint64_t v, r;

	decode_modrm(cpu, in, 0);
	v = rm_read(cpu, in, size) & size_mask(size);
	/*
	 * F3 0F BD is LZCNT (CPUID advertises ABM). F3 0F BC stays BSF:
	 * without BMI1 in CPUID that is what the encoding means, and the
	 * kernel's "rep; bsf" relies on it.
	 */
	if (in->rep && b == 0xbd) {
		r = v ? (uint64_t)(__builtin_clzll(v) - (64 - bits)) :
			(uint64_t)bits;
		cpu->rflags &= ~(uint64_t)(FL_CF | FL_ZF);
		if (!v)
			cpu->rflags |= FL_CF;
		if (!r)
			cpu->rflags |= FL_ZF;
		reg_write(cpu, in, in->reg, size, r);
		return;
	}
	cpu->rflags &= ~(uint64_t)FL_ZF;
	if (!v) {
		cpu->rflags |= FL_ZF;	/* destination left unchanged */
		return;
	}
	r = b == 0xbc ? __builtin_ctzll(v) : 63 - __builtin_clzll(v);
	reg_write(cpu, in, in->reg, size, r);
}

static void exec_msr(struct emu_cpu *cpu, bool write)
{
	uint32_t msr = cpu->gpr[R_CX];
	uint64_t v;

	need_cpl0(cpu);
	if (write) {
		v = (cpu->gpr[R_AX] & 0xffffffff) | (cpu->gpr[R_DX] << 32);
		if (!msr_write(cpu, msr, v))
			cpu_raise(cpu, EXC_GP, 0);
		return;
	}
	if (!msr_read(cpu, msr, &v))
		cpu_raise(cpu, EXC_GP, 0);
	cpu->gpr[R_AX] = (uint32_t)v;
	cpu->gpr[R_DX] = v >> 32;
}

void exec_load_far_ptr(struct emu_cpu *cpu, struct insn *in, int s)
{
	uint64_t off;
	uint16_t sel;

	decode_modrm(cpu, in, 0);
	if (!in->mem)
		insn_ud(cpu, in);
	off = ea_read(cpu, in, 0, in->osize);
	sel = ea_read(cpu, in, in->osize, 2);
	seg_load(cpu, s, sel);
	reg_write(cpu, in, in->reg, in->osize, off);
}

void exec_0f(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t b = fetch8(cpu);
	int size = in->osize;
	uint64_t v, t;

	if (in->lock && !opmap_lockable(true, b, peek8(cpu)))
		insn_ud(cpu, in);
	switch (b) {
	case 0x00: exec_grp6(cpu, in); break;
	case 0x01: exec_grp7(cpu, in); break;
	case 0x02:
	case 0x03:
		decode_modrm(cpu, in, 0);
		exec_desc_query(cpu, in, b);
		break;
	case 0x05:	/* Intel's SYSCALL: 64-bit mode only */
		if (!cpu->code64)
			insn_ud(cpu, in);
		cpu_syscall(cpu);
		break;
	case 0x06:
		need_cpl0(cpu);
		cpu->cr0 &= ~8ULL;
		break;
	case 0x07: cpu_sysret(cpu, in->osize == 8 ? 8 : 4); break;
	case 0x08:
	case 0x09:
		need_cpl0(cpu);
		break;
	case 0x0b:
	case 0xb9:
	case 0xff:
		cpu_raise_noerr(cpu, EXC_UD);
	case 0x0d:
	case 0x18 ... 0x1f:	/* prefetch, hint NOPs */
		decode_modrm(cpu, in, 0);
		break;
	case 0x20 ... 0x23:
		exec_mov_cr_dr(cpu, in, b);
		break;
	case 0x30: exec_msr(cpu, true); break;
	case 0x31:
		if ((cpu->cr4 & CR4_TSD) && cpu->cpl)
			cpu_raise(cpu, EXC_GP, 0);
		v = cpu_rdtsc(cpu);
		cpu->gpr[R_AX] = (uint32_t)v;
		cpu->gpr[R_DX] = v >> 32;
		break;
	case 0x32: exec_msr(cpu, false); break;
	case 0x33:	/* RDPMC: no counters (CPUID leaf 0xa): #GP(0) */
		cpu_raise(cpu, EXC_GP, 0);
	case 0x40 ... 0x4f:
		decode_modrm(cpu, in, 0);
		v = rm_read(cpu, in, size);
		if (cond_true(cpu, b & 15))
			reg_write(cpu, in, in->reg, size, v);
		else if (size == 4)
			reg_write(cpu, in, in->reg, 4, cpu->gpr[in->reg]);
		break;
	case 0x80 ... 0x8f:
		size = branch_osize(cpu, in);
		v = (uint64_t)sext(fetch_n(cpu, size == 2 ? 2 : 4),
				   size == 2 ? 2 : 4);
		if (cond_true(cpu, b & 15))
			jump_to(cpu, in, cpu->rip + v);
		break;
	case 0x90 ... 0x9f:
		decode_modrm(cpu, in, 0);
		rm_write(cpu, in, 1, cond_true(cpu, b & 15));
		break;
	case 0xa0: case 0xa8:
		stack_push(cpu, cpu->seg[b == 0xa0 ? SEG_FS : SEG_GS].selector,
			   cpu->code64 ? (in->p66 ? 2 : 8) : size);
		break;
	case 0xa1: case 0xa9:
		t = cpu->code64 ? (in->p66 ? 2 : 8) : size;
		v = stack_peek(cpu, 0, t);
		seg_load(cpu, b == 0xa1 ? SEG_FS : SEG_GS, v);
		stack_adjust(cpu, t);
		break;
	case 0xa2: {
		uint32_t out[4];

		cpu_cpuid(cpu, cpu->gpr[R_AX], cpu->gpr[R_CX], out);
		cpu->gpr[R_AX] = out[0];
		cpu->gpr[R_BX] = out[1];
		cpu->gpr[R_CX] = out[2];
		cpu->gpr[R_DX] = out[3];
		break;
	}
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		decode_modrm(cpu, in, 0);
		exec_bt(cpu, in, (b >> 3) & 3, reg_read(cpu, in, in->reg, size),
			true);
		break;
	case 0xba:
		decode_modrm(cpu, in, 1);
		if ((in->reg & 7) < 4)
			insn_ud(cpu, in);
		exec_bt(cpu, in, in->reg & 3, fetch8(cpu), false);
		break;
	case 0xa4: case 0xa5: case 0xac: case 0xad: {
		unsigned c;

		decode_modrm(cpu, in, (b & 1) ? 0 : 1);
		c = (b & 1) ? cpu->gpr[R_CX] & 0xff : fetch8(cpu);
		v = rm_read(cpu, in, size);
		v = alu_shld(cpu, v, reg_read(cpu, in, in->reg, size), c, size,
			     b >= 0xac);
		rm_write(cpu, in, size, v);
		break;
	}
	case 0xae: exec_grp15(cpu, in); break;
	case 0xaf:
		decode_modrm(cpu, in, 0);
		v = alu_imul(cpu, reg_read(cpu, in, in->reg, size),
			     rm_read(cpu, in, size), size);
		reg_write(cpu, in, in->reg, size, v);
		break;
	case 0xb0: case 0xb1:
		size = b & 1 ? size : 1;
		decode_modrm(cpu, in, 0);
		cpu->rmw_aux = reg_read(cpu, in, R_AX, size);
		if (in->mem) {
			v = rm_rmw(cpu, in, size, fn_cmpxchg,
				   reg_read(cpu, in, in->reg, size));
		} else {
			/*
			 * A register operand is written only when equal: when
			 * not, a 32-bit one keeps its upper half (hardware)
			 */
			v = reg_read(cpu, in, in->rm, size);
			alu_op(cpu, 7, cpu->rmw_aux, v, size);
			if (cpu->rflags & FL_ZF)
				reg_write(cpu, in, in->rm, size,
					  reg_read(cpu, in, in->reg, size));
		}
		if (!(cpu->rflags & FL_ZF))
			reg_write(cpu, in, R_AX, size, v);
		break;
	case 0xb2: exec_load_far_ptr(cpu, in, SEG_SS); break;
	case 0xb4: exec_load_far_ptr(cpu, in, SEG_FS); break;
	case 0xb5: exec_load_far_ptr(cpu, in, SEG_GS); break;
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		decode_modrm(cpu, in, 0);
		t = (b & 1) ? 2 : 1;
		v = rm_read(cpu, in, t);
		if (b >= 0xbe)
			v = sext(v, t);
		reg_write(cpu, in, in->reg, size, v);
		break;
	case 0xb8:
		if (!in->rep)
			insn_ud(cpu, in);
		decode_modrm(cpu, in, 0);
		v = rm_read(cpu, in, size);
		cpu->rflags &= ~(uint64_t)FL_ARITH;
		if (!v)
			cpu->rflags |= FL_ZF;
		reg_write(cpu, in, in->reg, size, __builtin_popcountll(v));
		break;
	case 0xbc: case 0xbd:
		exec_bitscan(cpu, in, b);
		break;
	case 0xc0: case 0xc1:
		size = b & 1 ? size : 1;
		decode_modrm(cpu, in, 0);
		v = rm_rmw(cpu, in, size, fn_xadd,
			   reg_read(cpu, in, in->reg, size));
		/* the sum is written last: XADD r, r leaves the sum in r */
		if (in->mem || in->rm != in->reg)
			reg_write(cpu, in, in->reg, size, v);
		break;
	case 0xc7: exec_grp9(cpu, in); break;
	case 0xc8 ... 0xcf:
		t = (b & 7) | ((in->rex & 1) << 3);
		v = cpu->gpr[t];
		if (size == 8)
			v = __builtin_bswap64(v);
		else if (size == 4)
			v = __builtin_bswap32(v);
		else
			v = 0;	/* undefined for 16-bit; hardware zeroes */
		reg_write(cpu, in, t, size, v);
		break;
	default:
		exec_sse(cpu, in, b);
	}
}
