// SPDX-License-Identifier: MIT
/*
 * ModRM/SIB decoding, effective addresses (16-, 32- and 64-bit forms,
 * RIP-relative) and r/m operand access, including LOCKed read-modify-write
 * done with host atomics on guest RAM.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "vmm/log.h"

uint64_t seg_lin(struct emu_cpu *cpu, struct insn *in, int defseg,
		 uint64_t off)
{
	int s = in->seg != SEG_NONE ? in->seg : defseg;

	if (cpu->code64)
		return s >= SEG_FS ? off + cpu->seg[s].base : off;
	return (cpu->seg[s].base + off) & 0xffffffffULL;
}

static const uint8_t ea16_base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI,
				      R_BP, R_BX };
static const int8_t ea16_index[8] = { R_SI, R_DI, R_SI, R_DI, -1, -1, -1,
				      -1 };

void decode_modrm(struct emu_cpu *cpu, struct insn *in, int imm_bytes)
{
	uint8_t m = fetch8(cpu);
	int rm = m & 7, defseg = SEG_DS;
	uint64_t ea = 0;

	in->modrm = m;
	in->mod = m >> 6;
	in->reg = ((m >> 3) & 7) | ((in->rex & 4) << 1);
	if (in->mod == 3) {
		in->rm = rm | ((in->rex & 1) << 3);
		in->mem = false;
		return;
	}
	in->mem = true;
	if (in->asize == 2) {
		if (in->mod == 0 && rm == 6) {
			ea = fetch_n(cpu, 2);
		} else {
			ea = cpu->gpr[ea16_base[rm]];
			if (ea16_index[rm] >= 0)
				ea += cpu->gpr[ea16_index[rm]];
			if (rm == 2 || rm == 3 || rm == 6)
				defseg = SEG_SS;
			if (in->mod == 1)
				ea += fetch_simm8(cpu);
			else if (in->mod == 2)
				ea += fetch_n(cpu, 2);
		}
		in->ea = ea & 0xffff;
		in->addr = seg_lin(cpu, in, defseg, in->ea);
		return;
	}
	if (rm == 4) {
		uint8_t sib = fetch8(cpu);
		int base = (sib & 7) | ((in->rex & 1) << 3);
		int idx = ((sib >> 3) & 7) | ((in->rex & 2) << 2);

		if (idx != 4)
			ea = cpu->gpr[idx] << (sib >> 6);
		if ((sib & 7) == 5 && in->mod == 0) {
			ea += (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
		} else {
			ea += cpu->gpr[base];
			if ((base & 7) == R_SP || (base & 7) == R_BP)
				defseg = SEG_SS;
		}
	} else if (rm == 5 && in->mod == 0) {
		ea = (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
		if (cpu->code64)
			ea += cpu->rip + imm_bytes;
	} else {
		int base = rm | ((in->rex & 1) << 3);

		ea = cpu->gpr[base];
		if (rm == R_BP)
			defseg = SEG_SS;
	}
	if (in->mod == 1)
		ea += fetch_simm8(cpu);
	else if (in->mod == 2)
		ea += (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
	if (in->asize == 4)
		ea &= 0xffffffffULL;
	in->ea = ea;
	in->addr = seg_lin(cpu, in, defseg, ea);
}

uint64_t rm_read(struct emu_cpu *cpu, struct insn *in, int size)
{
	if (!in->mem)
		return reg_read(cpu, in, in->rm, size);
	return mem_read(cpu, in->addr, size);
}

void rm_write(struct emu_cpu *cpu, struct insn *in, int size, uint64_t v)
{
	if (!in->mem)
		reg_write(cpu, in, in->rm, size, v);
	else
		mem_write(cpu, in->addr, v, size);
}

/*
 * LOCK: compute on a snapshot and publish with compare-and-swap, retrying
 * if another vCPU changed the location meanwhile. The flags left behind
 * are those of the attempt that succeeded.
 */
static uint64_t rmw_atomic(struct emu_cpu *cpu, void *p, int size,
			   rmw_fn fn, uint64_t arg)
{
	for (;;) {
		uint64_t old = 0, new;
		bool ok;

		switch (size) {
		case 1: {
			uint8_t o = __atomic_load_n((uint8_t *)p,
						    __ATOMIC_RELAXED);
			new = fn(cpu, o, arg, 1);
			ok = __atomic_compare_exchange_n((uint8_t *)p, &o,
				(uint8_t)new, false, __ATOMIC_SEQ_CST,
				__ATOMIC_SEQ_CST);
			old = o;
			break;
		}
		case 2: {
			uint16_t o = __atomic_load_n((uint16_t *)p,
						     __ATOMIC_RELAXED);
			new = fn(cpu, o, arg, 2);
			ok = __atomic_compare_exchange_n((uint16_t *)p, &o,
				(uint16_t)new, false, __ATOMIC_SEQ_CST,
				__ATOMIC_SEQ_CST);
			old = o;
			break;
		}
		case 4: {
			uint32_t o = __atomic_load_n((uint32_t *)p,
						     __ATOMIC_RELAXED);
			new = fn(cpu, o, arg, 4);
			ok = __atomic_compare_exchange_n((uint32_t *)p, &o,
				(uint32_t)new, false, __ATOMIC_SEQ_CST,
				__ATOMIC_SEQ_CST);
			old = o;
			break;
		}
		default: {
			uint64_t o = __atomic_load_n((uint64_t *)p,
						     __ATOMIC_RELAXED);
			new = fn(cpu, o, arg, 8);
			ok = __atomic_compare_exchange_n((uint64_t *)p, &o,
				new, false, __ATOMIC_SEQ_CST,
				__ATOMIC_SEQ_CST);
			old = o;
			break;
		}
		}
		if (ok)
			return old;
	}
}

uint64_t rm_rmw(struct emu_cpu *cpu, struct insn *in, int size, rmw_fn fn,
		uint64_t arg)
{
	uint64_t old, new;

	if (!in->mem) {
		old = reg_read(cpu, in, in->rm, size);
		new = fn(cpu, old, arg, size);
		reg_write(cpu, in, in->rm, size, new);
		return old;
	}
	if (in->lock) {
		void *p = mem_ptr(cpu, in->addr, size, ACC_W);

		if (p && !((uintptr_t)p & (size - 1)))
			return rmw_atomic(cpu, p, size, fn, arg);
	}
	old = mem_read(cpu, in->addr, size);
	new = fn(cpu, old, arg, size);
	mem_write(cpu, in->addr, new, size);
	return old;
}

_Noreturn void insn_ud(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t b[8] = { 0 };
	uint64_t lin = cpu->code64 ? cpu->insn_rip :
		       cpu->seg[SEG_CS].base + cpu->insn_rip;
	void *p = mem_ptr(cpu, lin, 1, ACC_X);

	if (p)
		memcpy(b, p, 4096 - (lin & 0xfff) < 8 ? 1 : 8);
	log_once("emu: cpu%d: unimplemented instruction %02x %02x %02x %02x "
		 "%02x %02x %02x %02x at rip 0x%llx; raising #UD", cpu->id,
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 (unsigned long long)cpu->insn_rip);
	cpu_raise_noerr(cpu, EXC_UD);
}
