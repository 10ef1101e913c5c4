// SPDX-License-Identifier: MIT
/*
 * Exceptions and interrupts: raising a fault from inside an instruction and
 * delivering a vector through the IVT (real mode), a 32-bit IDT (protected
 * mode) or a 64-bit IDT (long mode, with IST stacks). Intel SDM vol. 3
 * chapter 6 is the reference.
 */
#include <stdarg.h>
#include <stdio.h>

#include "accel/emu/cpu.h"

/*
 * An error code's EXT bit (SDM vol. 3, 6.13) says the fault came while an
 * event external to the program was being delivered: an interrupt, an
 * NMI, an exception (cpu->delivering), not INT n, INT3 or INTO. #PF's
 * error code has no such bit, #DF's is always 0.
 */
_Noreturn void cpu_raise(struct emu_cpu *cpu, int vec, uint32_t err)
{
	cpu->fault_vec = vec;
	cpu->fault_has_err = excp_has_error_code(vec);
	if (cpu->delivering >= 0 && cpu->fault_has_err && vec != EXC_PF &&
	    vec != EXC_DF)
		err |= 1;
	cpu->fault_err = err;
	siglongjmp(cpu->fault_jmp, 1);
}

_Noreturn void cpu_raise_noerr(struct emu_cpu *cpu, int vec)
{
	cpu_raise(cpu, vec, 0);
}

_Noreturn void cpu_fatal(struct emu_cpu *cpu, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cpu->error, sizeof(cpu->error), fmt, ap);
	va_end(ap);
	cpu->fault_vec = -1;
	siglongjmp(cpu->fault_jmp, 1);
}

bool excp_has_error_code(int vec)
{
	return vec == EXC_DF || (vec >= EXC_TS && vec <= EXC_PF) ||
	       vec == EXC_AC;
}

void push_sys(struct emu_cpu *cpu, uint64_t *sp, uint64_t sp_mask,
	      uint64_t base, uint64_t val, unsigned size)
{
	*sp = (*sp - size) & sp_mask;
	mem_write_sys(cpu, base + *sp, val, size);
}

/*
 * Room below sp for n pushes of size bytes on stack ss (offsets cut by
 * mask): else #SS(err), before any of them is written
 */
void frame_check(struct emu_cpu *cpu, const struct x86_segment *ss,
		 uint64_t sp, uint64_t mask, unsigned n, unsigned size,
		 uint32_t err)
{
	for (unsigned i = 1; i <= n; i++)
		if (!seg_in_limit(ss, (sp - i * size) & mask, size))
			cpu_raise(cpu, EXC_SS, err);
}

/* SDM vol. 2, INT n, REAL-ADDRESS-MODE: the IVT's limit, the stack's */
static void deliver_real(struct emu_cpu *cpu, int vec, uint64_t rip)
{
	uint64_t ent, sp = cpu->gpr[R_SP];
	uint64_t ssb = cpu->seg[SEG_SS].base;

	if ((uint64_t)vec * 4 + 3 > cpu->idt.limit)
		cpu_raise(cpu, EXC_GP, 0);
	ent = mem_read_sys(cpu, cpu->idt.base + vec * 4, 4);
	frame_check(cpu, &cpu->seg[SEG_SS], sp, 0xffff, 3, 2, 0);

	push_sys(cpu, &sp, 0xffff, ssb, cpu_get_flags(cpu), 2);
	push_sys(cpu, &sp, 0xffff, ssb, cpu->seg[SEG_CS].selector, 2);
	push_sys(cpu, &sp, 0xffff, ssb, rip, 2);
	cpu->gpr[R_SP] = (cpu->gpr[R_SP] & ~0xffffULL) | sp;
	cpu->rflags &= ~(FL_IF | FL_TF | FL_AC);
	seg_load_real(cpu, SEG_CS, ent >> 16);
	cpu->rip = ent & 0xffff;
}

/*
 * The stack a 16- or 32-bit gate switches to for privilege cpl: SS from
 * the TSS (SDM vol. 2, INT n, INTER-PRIVILEGE-LEVEL-INTERRUPT): #TS(0)
 * when null, #TS(selector) outside its table, with an RPL or DPL other
 * than cpl or not writable data, #SS(selector) when not present
 */
void inner_ss(struct emu_cpu *cpu, struct x86_segment *ss, uint16_t sel,
	      unsigned cpl)
{
	uint64_t lo, hi;

	if (!(sel & ~3))
		cpu_raise(cpu, EXC_TS, 0);
	if (!seg_read_desc(cpu, sel, &lo, &hi) || (sel & 3) != cpl ||
	    !((lo >> 44) & 1) || ((lo >> 40) & 0xa) != 2 ||
	    ((lo >> 45) & 3) != cpl)
		cpu_raise(cpu, EXC_TS, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, EXC_SS, sel & ~3);
	if (!(lo & (1ULL << 40)))	/* accessed */
		mem_write_sys(cpu, ((sel & 4) ? cpu->ldt.base : cpu->gdt.base) +
			      (sel & ~7u) + 5, (lo >> 40) | 1, 1);
	seg_from_desc(ss, sel, lo | 1ULL << 40);
}

static void deliver_prot(struct emu_cpu *cpu, int vec, bool has_err,
			 uint32_t err, bool soft, uint64_t rip)
{
	uint64_t lo, hi, dlo, dhi, sp;
	struct x86_segment cs;
	unsigned type, dpl, gsz;
	uint16_t sel;
	bool pm64 = cpu->lma;
	unsigned esz = pm64 ? 16 : 8;
	uint64_t flags = cpu_get_flags(cpu);

	if ((uint64_t)vec * esz + esz - 1 > cpu->idt.limit)
		cpu_raise(cpu, EXC_GP, vec * 8 + 2);
	lo = mem_read_sys(cpu, cpu->idt.base + vec * esz, 8);
	hi = pm64 ? mem_read_sys(cpu, cpu->idt.base + vec * esz + 8, 8) : 0;
	type = (lo >> 40) & 0xf;
	dpl = (lo >> 45) & 3;
	if (!(type == 0xe || type == 0xf || (!pm64 && (type == 6 || type == 7))))
		cpu_raise(cpu, EXC_GP, vec * 8 + 2);
	if (soft && dpl < (unsigned)cpu->cpl)
		cpu_raise(cpu, EXC_GP, vec * 8 + 2);
	if (!(lo & (1ULL << 47)))
		cpu_raise(cpu, EXC_NP, vec * 8 + 2);
	gsz = pm64 ? 8 : (type & 8) ? 4 : 2;
	sel = (lo >> 16) & 0xffff;
	if (!seg_read_desc(cpu, sel, &dlo, &dhi) || !(sel & ~3))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	/* a code segment at a DPL not above the CPL, present */
	if (((dlo >> 43) & 3) != 3 || ((dlo >> 45) & 3) > (unsigned)cpu->cpl)
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((dlo >> 47) & 1))
		cpu_raise(cpu, EXC_NP, sel & ~3);
	seg_from_desc(&cs, sel, dlo);
	uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ULL);

	if (pm64)
		target |= hi << 32;
	/* a 64-bit gate's non-canonical offset: #GP(0) before any push */
	if (pm64 && !x86_canonical(target))
		cpu_raise(cpu, EXC_GP, 0);
	else if (gsz == 2)
		target &= 0xffff;

	unsigned new_cpl = cs.dpl;
	uint16_t old_ss = cpu->seg[SEG_SS].selector;
	uint64_t old_sp = cpu->gpr[R_SP];
	unsigned ist = pm64 ? (lo >> 32) & 7 : 0;

	if (pm64) {
		if (new_cpl < (unsigned)cpu->cpl || ist) {
			uint64_t off = ist ? 0x24 + 8 * (ist - 1) :
					     4 + 8 * new_cpl;

			sp = mem_read_sys(cpu, cpu->tr.base + off, 8);
		} else {
			sp = old_sp;
		}
		sp &= ~0xfULL;
		/* a 64-bit gate's frame in non-canonical space: #SS(0) */
		mem_stack_canonical(cpu, sp - (has_err ? 48 : 40),
				    has_err ? 48 : 40);
		push_sys(cpu, &sp, ~0ULL, 0, old_ss, 8);
		push_sys(cpu, &sp, ~0ULL, 0, old_sp, 8);
		push_sys(cpu, &sp, ~0ULL, 0, flags, 8);
		push_sys(cpu, &sp, ~0ULL, 0, cpu->seg[SEG_CS].selector, 8);
		push_sys(cpu, &sp, ~0ULL, 0, rip, 8);
		if (has_err)
			push_sys(cpu, &sp, ~0ULL, 0, err, 8);
		if (new_cpl < (unsigned)cpu->cpl) {
			struct x86_segment *ss = &cpu->seg[SEG_SS];

			*ss = (struct x86_segment){ .selector = new_cpl,
				.unusable = 1, .dpl = new_cpl, .type = 3,
				.s = 1, .present = 1, .db = 1, .g = 1,
				.limit = 0xffffffff };
		}
		cpu->gpr[R_SP] = sp;
	} else {
		struct x86_segment ss = cpu->seg[SEG_SS];
		bool inner = new_cpl < (unsigned)cpu->cpl;
		uint32_t ss_err = 0;
		uint64_t mask;

		sp = old_sp;
		if (inner) {
			uint32_t esp0 = mem_read_sys(cpu, cpu->tr.base + 4 +
						     8 * new_cpl, 4);
			uint16_t ss0 = mem_read_sys(cpu, cpu->tr.base + 8 +
						    8 * new_cpl, 2);

			inner_ss(cpu, &ss, ss0, new_cpl);
			sp = esp0;
			ss_err = ss0 & ~3;
		}
		/*
		 * The frame within the stack's limit (#SS(0), of the new
		 * stack #SS(its selector)), the handler within its code
		 * segment's (#GP(0)), before anything is pushed
		 */
		mask = ss.db ? 0xffffffffULL : 0xffff;
		sp &= mask;
		frame_check(cpu, &ss, sp, mask, (inner ? 5 : 3) + has_err,
			    gsz, ss_err);
		if (target > cs.limit)
			cpu_raise(cpu, EXC_GP, 0);
		if (inner) {
			push_sys(cpu, &sp, mask, ss.base, old_ss, gsz);
			push_sys(cpu, &sp, mask, ss.base, old_sp, gsz);
		}
		push_sys(cpu, &sp, mask, ss.base, flags, gsz);
		push_sys(cpu, &sp, mask, ss.base, cpu->seg[SEG_CS].selector,
			 gsz);
		push_sys(cpu, &sp, mask, ss.base, rip, gsz);
		if (has_err)
			push_sys(cpu, &sp, mask, ss.base, err, gsz);
		cpu->seg[SEG_SS] = ss;
		cpu->gpr[R_SP] = (cpu->gpr[R_SP] & ~mask) | sp;
	}
	cs.selector = (sel & ~3) | new_cpl;
	cpu->seg[SEG_CS] = cs;
	cpu->cs_real = false;
	cpu->rip = target;
	cpu->rflags &= ~(FL_TF | FL_NT | FL_RF | FL_VM);
	if (!(type & 1))
		cpu->rflags &= ~FL_IF;
	cpu_update_mode(cpu);
}

void cpu_deliver(struct emu_cpu *cpu, int vec, bool has_err, uint32_t err,
		 bool soft, uint64_t next_rip)
{
	cpu->halted = false;
	cpu->stack_ref = false;	/* the faulting instruction's */
	if (!(cpu->cr0 & X86_CR0_PE))
		deliver_real(cpu, vec, next_rip);
	else
		deliver_prot(cpu, vec, has_err, err, soft, next_rip);
}
