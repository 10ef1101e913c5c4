// SPDX-License-Identifier: MIT
/*
 * Far JMP and CALL through a call gate (SDM vol. 2, JMP and CALL; vol. 3,
 * 5.8): 16- and 32-bit gates outside IA-32e mode, 64-bit gates in it
 * (compatibility and 64-bit mode), with the privilege checks and, for a CALL to a more privileged non-conforming
 * segment, the stack switch through the TSS (with the gate's parameters
 * copied). Task gates and TSS descriptors would switch tasks, which the
 * emu does not do: in IA-32e mode they are #GP(selector), as on hardware;
 * outside it the CPU stops with an error.
 */
#include "accel/emu/cpu.h"
#include "accel/emu/stack.h"

/*
 * The checks of the gate sel (descriptor lo, hi) and of the code segment
 * it names; returns that segment's descriptor and selector
 */
static uint64_t gate_target(struct emu_cpu *cpu, uint16_t sel, uint64_t lo,
			    uint64_t hi, uint16_t *csel)
{
	unsigned type = (lo >> 40) & 0xf, gdpl = (lo >> 45) & 3;
	unsigned cpl = cpu->cpl;
	uint32_t tlimit = (sel & 4) ? cpu->ldt.limit : cpu->gdt.limit;
	uint64_t clo, chi;

	if (!cpu->lma && (type == 1 || type == 5 || type == 9))
		cpu_fatal(cpu, "task switch through selector 0x%x", sel);
	if (cpu->lma ? type != 0xc || (sel & ~7u) + 15 > tlimit ||
		       ((hi >> 40) & 0x1f) :
		       type != 0xc && type != 4)
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (gdpl < cpl || gdpl < (sel & 3u))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, EXC_NP, sel & ~3);
	*csel = (lo >> 16) & 0xffff;
	if (!(*csel & ~3))
		cpu_raise(cpu, EXC_GP, 0);
	if (!seg_read_desc(cpu, *csel, &clo, &chi) || !((clo >> 44) & 1) ||
	    !((clo >> 43) & 1) || ((clo >> 45) & 3) > cpl ||
	    (cpu->lma && (!((clo >> 53) & 1) || ((clo >> 54) & 1))))
		cpu_raise(cpu, EXC_GP, *csel & ~3);
	if (!((clo >> 47) & 1))
		cpu_raise(cpu, EXC_NP, *csel & ~3);
	return clo;
}

/* The stack pointer for privilege dpl from the TSS: #TS(TR) beyond it */
static uint64_t tss_sp(struct emu_cpu *cpu, unsigned dpl, unsigned size,
		       uint16_t *ss)
{
	uint64_t off = 4 + 8 * dpl;

	if (off + (size == 8 ? 7 : 5) > cpu->tr.limit)
		cpu_raise(cpu, EXC_TS, cpu->tr.selector & ~3);
	if (size != 8)
		*ss = mem_read_sys(cpu, cpu->tr.base + off + 4, 2);
	return mem_read_sys(cpu, cpu->tr.base + off, size);
}

/*
 * A CALL through a 16/32-bit gate to privilege dpl: the TSS's stack, the
 * caller's SS, ESP, the gate's parameter count of words or dwords from
 * the caller's stack, CS and EIP on it (all checked before any is
 * written); SS and ESP loaded
 */
static void call_inner(struct emu_cpu *cpu, uint64_t glo, uint64_t clo,
		       uint64_t ip, unsigned dpl, unsigned gsz)
{
	const struct x86_segment *oss = &cpu->seg[SEG_SS];
	uint64_t omask = oss->db ? 0xffffffffULL : 0xffff, mask;
	uint64_t osp = cpu->gpr[R_SP] & omask, sp;
	unsigned n = (glo >> 32) & 0x1f;
	struct x86_segment ss;
	uint16_t ss_sel;

	sp = tss_sp(cpu, dpl, 4, &ss_sel);
	inner_ss(cpu, &ss, ss_sel, dpl);
	mask = ss.db ? 0xffffffffULL : 0xffff;
	sp &= mask;
	frame_check(cpu, &ss, sp, mask, 4 + n, gsz, ss_sel & ~3);
	far_ip_check(cpu, clo, ip);
	if (n && !seg_in_limit(oss, osp, (uint64_t)n * gsz))
		cpu_raise(cpu, EXC_SS, 0);
	push_sys(cpu, &sp, mask, ss.base, oss->selector, gsz);
	push_sys(cpu, &sp, mask, ss.base, cpu->gpr[R_SP], gsz);
	for (unsigned i = n; i--;)
		push_sys(cpu, &sp, mask, ss.base,
			 mem_read_sys(cpu, (oss->base + ((osp + i * gsz) &
							 omask)) &
					   0xffffffffULL, gsz), gsz);
	push_sys(cpu, &sp, mask, ss.base, cpu->seg[SEG_CS].selector, gsz);
	push_sys(cpu, &sp, mask, ss.base, cpu->rip, gsz);
	cpu->seg[SEG_SS] = ss;
	cpu->gpr[R_SP] = (cpu->gpr[R_SP] & ~mask) | sp;
}

/*
 * A CALL through a 64-bit gate to privilege dpl: RSP from the TSS, SS
 * null with RPL dpl, the caller's SS, RSP, CS and RIP on the new stack
 * (#SS(0) outside canonical space)
 */
static void call_inner64(struct emu_cpu *cpu, uint64_t clo, uint64_t ip,
			 unsigned dpl)
{
	uint64_t sp = tss_sp(cpu, dpl, 8, NULL);

	mem_stack_canonical(cpu, sp - 32, 32);
	far_ip_check(cpu, clo, ip);
	push_sys(cpu, &sp, ~0ULL, 0, cpu->seg[SEG_SS].selector, 8);
	push_sys(cpu, &sp, ~0ULL, 0, cpu->gpr[R_SP], 8);
	push_sys(cpu, &sp, ~0ULL, 0, cpu->seg[SEG_CS].selector, 8);
	push_sys(cpu, &sp, ~0ULL, 0, cpu->rip, 8);
	cpu->seg[SEG_SS] = (struct x86_segment){ .selector = dpl,
		.unusable = 1, .dpl = dpl };
	cpu->gpr[R_SP] = sp;
}

void seg_gate_far(struct emu_cpu *cpu, uint16_t sel, uint64_t lo,
		  uint64_t hi, bool call)
{
	uint16_t csel;
	uint64_t clo = gate_target(cpu, sel, lo, hi, &csel);
	unsigned gsz = cpu->lma ? 8 : ((lo >> 40) & 8) ? 4 : 2;
	unsigned dpl = (clo >> 45) & 3, cpl = cpu->cpl;
	bool conforming = (clo >> 42) & 1;
	uint64_t ip = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL);

	if (cpu->lma)
		ip |= hi << 32;
	else if (gsz == 2)
		ip &= 0xffff;
	/* a JMP goes to non-conforming code of its own privilege only */
	if (!call && !conforming && dpl != cpl)
		cpu_raise(cpu, EXC_GP, csel & ~3);
	desc_accessed(cpu, csel, &clo);
	if (call && !conforming && dpl < cpl) {
		if (cpu->lma)
			call_inner64(cpu, clo, ip, dpl);
		else
			call_inner(cpu, lo, clo, ip, dpl, gsz);
		cpl = dpl;
	} else if (call) {
		/* the stack's #SS(0) before the target's #GP(0) */
		stack_push(cpu, cpu->seg[SEG_CS].selector, gsz);
		stack_push(cpu, cpu->rip, gsz);
		far_ip_check(cpu, clo, ip);
	} else {
		far_ip_check(cpu, clo, ip);
	}
	seg_from_desc(&cpu->seg[SEG_CS], (csel & ~3) | cpl, clo);
	cpu->cs_real = false;
	cpu_update_mode(cpu);
	cpu->rip = ip;
}
