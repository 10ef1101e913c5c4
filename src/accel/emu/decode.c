// SPDX-License-Identifier: MIT
/*
 * ModRM/SIB decoding, effective addresses (16-, 32- and 64-bit forms,
 * RIP-relative) and r/m operand access, including LOCKed read-modify-write
 * done with host atomics on guest RAM.
 */
#include <stdio.h>
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
		in->eseg = in->seg != SEG_NONE ? in->seg : defseg;
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
			/* RSP and RBP, not R12 and R13 (REX.B) */
			if (base == R_SP || base == R_BP)
				defseg = SEG_SS;
		}
	} else if (rm == 5 && in->mod == 0) {
		ea = (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
		if (cpu->code64)
			ea += cpu->rip + imm_bytes;
	} else {
		int base = rm | ((in->rex & 1) << 3);

		ea = cpu->gpr[base];
		if (base == R_BP)
			defseg = SEG_SS;
	}
	if (in->mod == 1)
		ea += fetch_simm8(cpu);
	else if (in->mod == 2)
		ea += (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
	if (in->asize == 4)
		ea &= 0xffffffffULL;
	/* in 64-bit mode only FS and GS make an RSP/RBP base not SS's */
	cpu->stack_ref = defseg == SEG_SS && in->seg == SEG_NONE;
	in->ea = ea;
	in->eseg = in->seg != SEG_NONE ? in->seg : defseg;
	in->addr = seg_lin(cpu, in, defseg, ea);
}

uint64_t rm_read(struct emu_cpu *cpu, struct insn *in, int size)
{
	if (!in->mem)
		return reg_read(cpu, in, in->rm, size);
	return ea_read(cpu, in, 0, size);
}

void rm_write(struct emu_cpu *cpu, struct insn *in, int size, uint64_t v)
{
	if (!in->mem)
		reg_write(cpu, in, in->rm, size, v);
	else
		ea_write(cpu, in, 0, v, size);
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
	uint64_t old, new, flags, swap, addr;

	if (!in->mem) {
		old = reg_read(cpu, in, in->rm, size);
		new = fn(cpu, old, arg, size);
		reg_write(cpu, in, in->rm, size, new);
		return old;
	}
	/* a write, so also a read: writable data is readable */
	addr = ea_addr(cpu, in, 0, size, ACC_W);
	if (in->lock) {
		void *p = mem_ptr(cpu, addr, size, ACC_W);

		if (p && !((uintptr_t)p & (size - 1)))
			return rmw_atomic(cpu, p, size, fn, arg);
	}
	old = mem_read(cpu, addr, size);
	/*
	 * The flags change only once the store is done: a store that
	 * faults (a read-only page the guest then makes writable, as on
	 * copy-on-write) leaves them as they were for the restarted
	 * instruction (an ADC or RCL reads CF again).
	 */
	flags = cpu->rflags;
	new = fn(cpu, old, arg, size);
	swap = cpu->rflags;
	cpu->rflags = flags;
	mem_write(cpu, addr, new, size);
	cpu->rflags = swap;
	return old;
}

_Atomic unsigned long emu_unimplemented;

/*
 * Opcodes already reported as unimplemented, shared by all CPUs: each
 * distinct opcode is reported once, with its bytes and RIP, and a guest
 * that tries many cannot flood the log past the table's size.
 */
#define UD_REPORTED_MAX	64
static _Atomic uint32_t ud_reported[UD_REPORTED_MAX];

static bool ud_is_group(const uint8_t *op, int n)
{
	if (n == 1)
		return (op[0] >= 0x80 && op[0] <= 0x83) || op[0] == 0xc0 ||
		       op[0] == 0xc1 || (op[0] >= 0xd0 && op[0] <= 0xd3) ||
		       (op[0] >= 0xd8 && op[0] <= 0xdf) || op[0] >= 0xf6;
	return n == 2 && (op[1] <= 0x01 || op[1] == 0x18 ||
			  (op[1] >= 0x71 && op[1] <= 0x73) ||
			  op[1] == 0xae || op[1] == 0xba || op[1] == 0xc7);
}

/*
 * Key of the instruction at b[0..n): mandatory prefix, opcode bytes and,
 * for group opcodes, the ModRM reg field. Never 0.
 */
static uint32_t ud_key(const uint8_t *b, int n, bool code64)
{
	uint32_t pfx = 0, key;
	int i = 0, len;

	for (; i < n; i++) {
		if (b[i] == 0x66 || b[i] == 0xf2 || b[i] == 0xf3)
			pfx = b[i];
		else if (b[i] != 0xf0 && b[i] != 0x67 && b[i] != 0x26 &&
			 b[i] != 0x2e && b[i] != 0x36 && b[i] != 0x3e &&
			 b[i] != 0x64 && b[i] != 0x65 &&
			 !(code64 && (b[i] & 0xf0) == 0x40))
			break;
	}
	if (i >= n)
		return 1;
	len = b[i] != 0x0f ? 1 : i + 1 < n && (b[i + 1] == 0x38 ||
					       b[i + 1] == 0x3a) ? 3 : 2;
	if (i + len > n)
		len = n - i;
	key = 0;
	for (int k = 0; k < len; k++)
		key = key << 8 | b[i + k];
	key |= (uint32_t)len << 24;
	if (i + len < n && ud_is_group(b + i, len))
		key |= (uint32_t)(((b[i + len] >> 3) & 7) + 1) << 27;
	return (key ^ pfx << 16) | 1u << 31;
}

/* True the first time key is seen while the table has room. */
static bool ud_first_report(uint32_t key)
{
	for (int i = 0; i < UD_REPORTED_MAX; i++) {
		uint32_t cur = atomic_load(&ud_reported[i]);

		if (cur == key)
			return false;
		if (!cur && atomic_compare_exchange_strong(&ud_reported[i],
							   &cur, key))
			return true;
		if (cur == key)
			return false;
	}
	log_once("emu: more than %d distinct unimplemented opcodes; "
		 "no longer reporting them", UD_REPORTED_MAX);
	return false;
}

_Noreturn void insn_ud(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t b[15] = { 0 };
	uint64_t lin = cpu->code64 ? cpu->insn_rip :
		       (cpu->seg[SEG_CS].base + cpu->insn_rip) & 0xffffffffULL;
	uint8_t *p = mem_ptr(cpu, lin, 1, ACC_X);
	int n = 0;
	char hex[15 * 3 + 1];

	(void)in;
	if (p) {
		n = 4096 - (lin & 0xfff);
		n = n < 15 ? n : 15;
		memcpy(b, p, n);
	}
	/* an encoding that is no instruction of this CPU: the hardware's */
	if (n && !opmap_defined(b, n, cpu->code64))
		cpu_raise_noerr(cpu, EXC_UD);
	emu_unimplemented++;
	if (ud_first_report(ud_key(b, n, cpu->code64))) {
		/* code outside RAM: its bytes were device reads */
		snprintf(hex, sizeof(hex), "(outside RAM)");
		for (int i = 0; i < n; i++)
			snprintf(hex + 3 * i, 4, "%02x ", b[i]);
		if (n)
			hex[3 * n - 1] = 0;
		log_warn("emu: cpu%d: unimplemented instruction %s at rip "
			 "0x%llx; raising #UD", cpu->id, hex,
			 (unsigned long long)cpu->insn_rip);
	}
	cpu_raise_noerr(cpu, EXC_UD);
}
