// SPDX-License-Identifier: MIT
/*
 * The instruction loop: interrupt checks at instruction boundaries, fault
 * unwinding and exception delivery with double- and triple-fault rules.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "accel/emu/jit.h"
#include "accel/emu/jit_stats.h"
#include "accel/emu/lflags.h"
#include "accel/emu/tlb_ask.h"

void cpu_reset(struct emu_cpu *cpu, struct vm *vm, int id)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->vm = vm;
	cpu->id = id;
	cpu->rflags = 2;
	cpu->cr0 = X86_CR0_ET | 0x60000000;	/* CD, NW */
	cpu->rip = 0xfff0;
	for (int s = 0; s < 6; s++)
		cpu->seg[s] = (struct x86_segment){ .limit = 0xffff,
			.present = 1, .s = 1, .type = s == SEG_CS ? 0xb : 3 };
	cpu->seg[SEG_CS].selector = 0xf000;
	cpu->cs_real = false;
	cpu->seg[SEG_CS].base = 0xffff0000;
	cpu->gdt.limit = cpu->idt.limit = 0xffff;
	cpu->ldt.limit = cpu->tr.limit = 0xffff;
	cpu->tr.type = 0xb;
	cpu->tr.present = 1;
	cpu->ldt.type = 2;
	cpu->ldt.present = 1;
	cpu->mxcsr = 0x1f80;
	cpu->fcw = 0x37f;
	cpu->ftw = 0xffff;
	cpu->pat = 0x0007040600070406ULL;
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->delivering = -1;
	tlb_flush(cpu, true);
	cpu_update_mode(cpu);
}

uint64_t cpu_get_flags(struct emu_cpu *cpu)
{
	return cpu->rflags | 2;
}

static bool benign(int vec)
{
	return vec == EXC_DB || vec == EXC_NMI || vec == EXC_BP ||
	       vec == EXC_OF || vec == EXC_BR || vec == EXC_UD ||
	       vec == EXC_NM || vec == EXC_MF || vec >= 32;
}

/* Deliver the fault recorded by cpu_raise; may fault again (longjmp). */
static void deliver_fault(struct emu_cpu *cpu)
{
	int vec = cpu->fault_vec;
	uint32_t err = cpu->fault_err;
	bool has_err = cpu->fault_has_err;
	int prev = cpu->delivering;

	if (prev >= 0) {
		if (prev == EXC_DF) {
			cpu->shutdown = true;
			return;
		}
		if (!benign(prev) && !benign(vec) &&
		    !(prev == EXC_PF && vec != EXC_PF && vec != EXC_GP &&
		      vec != EXC_TS && vec != EXC_NP && vec != EXC_SS &&
		      vec != EXC_DE)) {
			vec = EXC_DF;
			err = 0;
			has_err = true;
		}
	}
	cpu->delivering = vec;
	cpu_deliver(cpu, vec, has_err, err, false, cpu->rip);
	cpu->delivering = -1;
}

/*
 * An NMI that arrives while NMIs are blocked (from NMI delivery until the
 * next IRET) stays latched in nmi_pending and is delivered once IRET
 * unblocks; the LAPIC hands each NMI over only once.
 */
static bool poll_interrupts(struct emu_cpu *cpu)
{
	const struct emu_apic_ops *ops = cpu->apic_ops;
	bool maybe = ops->maybe_pending(cpu->apic);
	unsigned ev;
	int v;

	if (!maybe && !cpu->nmi_pending)
		return false;
	if (maybe) {
		ev = ops->take_events(cpu->apic, &cpu->sipi_vector);
		if (ev & CPU_EV_NMI)
			cpu->nmi_pending = true;
		if (ev & (CPU_EV_INIT | CPU_EV_SIPI)) {
			cpu->events |= ev & (CPU_EV_INIT | CPU_EV_SIPI);
			return true;
		}
	}
	if (cpu->nmi_pending && !cpu->nmi_blocked) {
		cpu->nmi_pending = false;
		cpu->nmi_blocked = true;
		cpu->delivering = EXC_NMI;
		cpu_deliver(cpu, EXC_NMI, false, 0, false, cpu->rip);
		cpu->delivering = -1;
		return false;
	}
	if (!maybe || !(cpu->rflags & FL_IF))
		return false;
	v = ops->pending_vector(cpu->apic);
	if (v < 0)
		return false;
	ops->accept(cpu->apic, v);
	cpu->delivering = v;
	cpu_deliver(cpu, v, false, 0, false, cpu->rip);
	cpu->delivering = -1;
	return false;
}

/* This thread's vCPU is in jit_run (the host's MXCSR flags are its) */
static __thread bool in_jit;

/* After a jit_run: its floating point's MXCSR flags (sse_mxcsr.c) */
static inline void jit_fp_fold(struct emu_cpu *cpu)
{
	if (cpu->jit_fp) {
		cpu->jit_fp = false;
		sse_host_fold(cpu);
	}
}

/*
 * The instruction loop proper, outside the sigsetjmp frame so its counter
 * can live in a register; it saves the count left to cpu->batch_left often
 * enough that a fault only makes the batch run a little longer. Interrupts
 * are looked for between decoded blocks, so at most a block late.
 */
static __attribute__((noinline)) void run_loop(struct emu_cpu *cpu,
					       const atomic_bool *stop)
{
	long left = cpu->batch_left, saved = left;
	bool quiet_poll = true;

	while (left > 0) {
		bool one = false;

		cpu->insn_rip = cpu->rip;
		cpu->insn_rsp = cpu->gpr[R_SP];
		/*
		 * With IF clear only NMI and INIT/SIPI could be taken; look
		 * for those every 256 or so instructions, not every block.
		 * In an STI / MOV SS shadow: just the next instruction, then
		 * the interrupt window opens at its end.
		 */
		if (cpu->shadow) {
			cpu->shadow = false;
			one = true;
		} else if (cpu->apic_ops &&
			   ((cpu->rflags & FL_IF) || quiet_poll) &&
			   cpu_irq_maybe(cpu) && poll_interrupts(cpu)) {
			break;
		}
		quiet_poll = false;
		if (cpu->halted)
			break;	/* no interrupt came to end the HLT */
		cpu->insn_rip = cpu->rip;
		cpu->insn_rsp = cpu->gpr[R_SP];
		/*
		 * Translated code first; the interpreter then runs what the
		 * translator left to it (jit_run says how much).
		 */
		if (cpu->jit && !one && cpu->code64) {
			long interp, ran, done;

			in_jit = true;
			ran = jit_run(cpu, left, &interp);
			in_jit = false;
			jit_fp_fold(cpu);

			if (jit_stats_on)
				jit_stats_note(cpu, ran, left);
			left -= ran;
			cpu->insn_rip = cpu->rip;
			cpu->insn_rsp = cpu->gpr[R_SP];
			/*
			 * A translated STI's shadow: the instruction in it,
			 * then interrupts (as after its own); a run that
			 * spent its budget leaves nothing (interp 0)
			 */
			if (left > 0 && cpu->shadow) {
				cpu->shadow = false;
				interp = 1;
			}
			if (left > 0 && interp > 0) {
				done = exec_insns(cpu, interp < left ? interp :
							       left);
				left -= done;
				if (jit_stats_on)
					jit_stats_interp(done);
			}
		} else {
			left -= exec_insns(cpu, one ? 1 : left);
		}
		if (cpu->halted)
			break;
		if (saved - left >= 256) {
			cpu->icount += saved - left;
			saved = left;
			cpu->batch_left = left;
			quiet_poll = true;
			tlb_ask_check(cpu);
			if (stop && atomic_load_explicit(stop,
							 memory_order_relaxed))
				break;
		}
	}
	cpu->icount += saved - left;
	cpu->batch_left = 0;
}

void cpu_run_batch(struct emu_cpu *cpu, long max, const atomic_bool *stop)
{
	tlb_ask_enter(cpu);
	cpu->batch_left = max;
	if (sigsetjmp(cpu->fault_jmp, 0)) {
		lf_sync(cpu);	/* a fault inside the decode cache */
		if (in_jit) {	/* a fault that ended translated code */
			in_jit = false;
			jit_fp_fold(cpu);
		} else {	/* perhaps within SSE floating point */
			sse_host_clear();
		}
		if (cpu->fault_vec < 0)
			goto out;	/* cpu->error says why */
		cpu->rip = cpu->insn_rip;
		cpu->gpr[R_SP] = cpu->insn_rsp;
		deliver_fault(cpu);
		if (cpu->shutdown)
			goto out;
		cpu->batch_left--;
		cpu->icount++;
	}
	run_loop(cpu, stop);
out:
	tlb_ask_leave(cpu);
}

void cpu_step(struct emu_cpu *cpu)
{
	cpu_run_batch(cpu, 1, NULL);
}
