// SPDX-License-Identifier: MIT
/*
 * Segmentation and mode switches: the limit and type checks of accesses
 * outside 64-bit mode, descriptor loads, far transfers, IRET, control
 * registers, SYSCALL/SYSRET. Far JMP, CALL, RET and IRET check the new
 * CS (and SS) as the SDM's pseudocode does before loading either; call
 * gates are in gate.c.
 */
#include <stddef.h>

#include "accel/emu/cpu.h"
#include "accel/emu/stack.h"

void cpu_update_mode(struct emu_cpu *cpu)
{
	cpu->lma = !!(cpu->efer & X86_EFER_LMA);
	cpu->code64 = cpu->lma && cpu->seg[SEG_CS].l;
	if (!(cpu->cr0 & X86_CR0_PE) || cpu->cs_real)
		cpu->cpl = 0;
	else
		cpu->cpl = cpu->seg[SEG_CS].selector & 3;
	cpu->fetch_vpn = ~0ULL;
	cpu->ip_end = NULL;
}

/*
 * SDM vol. 3, 5.3: every byte of the access within the limit; for
 * expand-down data above it, up to 0xffff or, with B, 0xffffffff
 */
bool seg_in_limit(const struct x86_segment *sg, uint64_t off, uint64_t n)
{
	uint64_t last = off + n - 1;

	if ((sg->type & 0xc) == 4)
		return off > sg->limit &&
		       last <= (sg->db ? 0xffffffffULL : 0xffff);
	return last <= sg->limit;
}

/*
 * SDM vol. 3, 5.4: in protected mode also a usable segment (not loaded
 * with a null selector), no write but to writable data and no read of
 * execute-only code. Real mode (and virtual-8086 mode) keep the limit of
 * the cached descriptor alone: 0xffff unless a protected-mode load left
 * another (unreal mode).
 */
bool seg_ok(const struct emu_cpu *cpu, int s, uint64_t off, uint64_t n,
	    enum mem_access acc)
{
	const struct x86_segment *sg = &cpu->seg[s];

	if ((cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & FL_VM)) {
		if (sg->unusable)
			return false;
		if (acc == ACC_W ? (sg->type & 0xa) != 2 :
				   (sg->type & 0xa) == 8)
			return false;
	}
	return seg_in_limit(sg, off, n);
}

void seg_check(struct emu_cpu *cpu, int s, uint64_t off, uint64_t n,
	       enum mem_access acc)
{
	if (!seg_ok(cpu, s, off, n, acc))
		cpu_raise(cpu, s == SEG_SS ? EXC_SS : EXC_GP, 0);
}

void seg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t lo)
{
	uint32_t limit = (lo & 0xffff) | ((lo >> 32) & 0xf0000);

	s->selector = sel;
	s->base = ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000);
	s->type = (lo >> 40) & 0xf;
	s->s = (lo >> 44) & 1;
	s->dpl = (lo >> 45) & 3;
	s->present = (lo >> 47) & 1;
	s->avl = (lo >> 52) & 1;
	s->l = (lo >> 53) & 1;
	s->db = (lo >> 54) & 1;
	s->g = (lo >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->unusable = 0;
}

bool seg_read_desc(struct emu_cpu *cpu, uint16_t sel, uint64_t *lo,
		   uint64_t *hi)
{
	const struct x86_dtable gdt = cpu->gdt;
	uint64_t base = (sel & 4) ? cpu->ldt.base : gdt.base;
	uint32_t limit = (sel & 4) ? cpu->ldt.limit : gdt.limit;
	uint32_t idx = sel & ~7u;

	if (idx + 7 > limit)
		return false;
	*lo = mem_read_sys(cpu, base + idx, 8);
	*hi = 0;
	if (cpu->lma && !((*lo >> 44) & 1) && idx + 15 <= limit)
		*hi = mem_read_sys(cpu, base + idx + 8, 8);
	return true;
}

void seg_load_real(struct emu_cpu *cpu, int sreg, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[sreg];

	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->present = 1;
	s->unusable = 0;
	if (sreg == SEG_CS) {
		s->l = 0;
		cpu_update_mode(cpu);
	}
}

/*
 * The #GP(selector) rules of MOV, POP and LDS.. to a segment register
 * (SDM vol. 2, MOV; vol. 3, 5.6 and 5.7) for descriptor lo: a code or
 * data segment; SS writable data with RPL and DPL both the CPL; the
 * others data or readable code, which unless conforming code has a DPL
 * not below the CPL nor the RPL
 */
static bool seg_load_allowed(const struct emu_cpu *cpu, int sreg,
			     uint16_t sel, uint64_t lo)
{
	unsigned type = (lo >> 40) & 0xf, dpl = (lo >> 45) & 3;
	unsigned rpl = sel & 3, cpl = cpu->cpl;

	if (!((lo >> 44) & 1))
		return false;
	if (sreg == SEG_SS)
		return rpl == cpl && dpl == cpl && (type & 0xa) == 2;
	if ((type & 0xa) == 8)
		return false;
	return (type & 0xc) == 0xc || (rpl <= dpl && cpl <= dpl);
}

void desc_accessed(struct emu_cpu *cpu, uint16_t sel, uint64_t *lo)
{
	uint64_t base = (sel & 4) ? cpu->ldt.base : cpu->gdt.base;

	if (*lo & (1ULL << 40))
		return;
	*lo |= 1ULL << 40;
	mem_write_sys(cpu, base + (sel & ~7u) + 5, *lo >> 40, 1);
}

/* A null selector in SS (64-bit mode only), which keeps its RPL as DPL */
static void ss_null(struct emu_cpu *cpu, uint16_t sel)
{
	cpu->seg[SEG_SS] = (struct x86_segment){ .selector = sel,
		.unusable = 1, .dpl = sel & 3 };
}

void seg_load(struct emu_cpu *cpu, int sreg, uint16_t sel)
{
	struct x86_segment *s = &cpu->seg[sreg];
	uint64_t lo, hi;

	if (!(cpu->cr0 & X86_CR0_PE) || (cpu->rflags & FL_VM)) {
		seg_load_real(cpu, sreg, sel);
		return;
	}
	/* a null SS only in 64-bit mode, below CPL 3 and with RPL = CPL */
	if (!(sel & ~3)) {
		if (sreg == SEG_CS || (sreg == SEG_SS &&
		    (!cpu->code64 || cpu->cpl == 3 ||
		     (sel & 3) != (unsigned)cpu->cpl)))
			cpu_raise(cpu, EXC_GP, 0);
		if (sreg == SEG_SS)
			ss_null(cpu, sel);
		else
			*s = (struct x86_segment){ .selector = sel,
						   .unusable = 1 };
		return;
	}
	if (!seg_read_desc(cpu, sel, &lo, &hi) || !seg_load_allowed(cpu, sreg,
								     sel, lo))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, sreg == SEG_SS ? EXC_SS : EXC_NP, sel & ~3);
	desc_accessed(cpu, sel, &lo);
	seg_from_desc(s, sel, lo);
	if (sreg == SEG_CS)
		cpu_update_mode(cpu);
}

uint64_t desc_limit(uint64_t lo)
{
	uint64_t limit = (lo & 0xffff) | ((lo >> 32) & 0xf0000);

	return (lo >> 55) & 1 ? limit << 12 | 0xfff : limit;
}

/*
 * A far transfer in real mode goes on at ip of the new CS, whose limit
 * is the old one (a real-mode load keeps it): #GP(0) beyond it
 */
static uint64_t real_ip(struct emu_cpu *cpu, uint64_t ip)
{
	if (ip > cpu->seg[SEG_CS].limit)
		cpu_raise(cpu, EXC_GP, 0);
	return ip;
}

static uint64_t ip_mask(int opsize)
{
	return opsize == 8 ? ~0ULL : opsize == 4 ? 0xffffffffULL : 0xffff;
}

void far_ip_check(struct emu_cpu *cpu, uint64_t lo, uint64_t ip)
{
	if (cpu->lma && ((lo >> 53) & 1) ? !x86_canonical(ip) :
	    ip > desc_limit(lo))
		cpu_raise(cpu, EXC_GP, 0);
}

/*
 * The descriptor a far JMP or CALL goes through (SDM vol. 2, JMP, CALL):
 * #GP(0) for a null selector, #GP(selector) beyond its table; a code
 * segment's checks: conforming with its DPL above the CPL, or not with
 * its RPL above the CPL or its DPL other than it, L and D both set in
 * IA-32e mode: #GP(selector); #NP(selector) not present. A system
 * descriptor is left to seg_gate_far.
 */
static uint64_t far_desc(struct emu_cpu *cpu, uint16_t sel, uint64_t *hi)
{
	unsigned cpl = cpu->cpl, dpl;
	uint64_t lo;

	if (!(sel & ~3))
		cpu_raise(cpu, EXC_GP, 0);
	if (!seg_read_desc(cpu, sel, &lo, hi))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 44) & 1))
		return lo;
	dpl = (lo >> 45) & 3;
	if (!((lo >> 43) & 1) ||
	    ((lo >> 42) & 1 ? dpl > cpl : (sel & 3) > cpl || dpl != cpl) ||
	    (cpu->lma && ((lo >> 53) & 1) && ((lo >> 54) & 1)))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, EXC_NP, sel & ~3);
	return lo;
}

/* CS from code segment sel, lo (checked) at the CPL */
static void far_load_cs(struct emu_cpu *cpu, uint16_t sel, uint64_t lo)
{
	desc_accessed(cpu, sel, &lo);
	seg_from_desc(&cpu->seg[SEG_CS], (sel & ~3) | cpu->cpl, lo);
	cpu->cs_real = false;
	cpu_update_mode(cpu);
}

void seg_far_jump(struct emu_cpu *cpu, uint16_t sel, uint64_t off)
{
	uint64_t lo, hi;

	if (!(cpu->cr0 & X86_CR0_PE)) {
		cpu->rip = real_ip(cpu, off);
		seg_load_real(cpu, SEG_CS, sel);
		return;
	}
	lo = far_desc(cpu, sel, &hi);
	if (!((lo >> 44) & 1)) {
		seg_gate_far(cpu, sel, lo, hi, false);
		return;
	}
	far_ip_check(cpu, lo, off);
	far_load_cs(cpu, sel, lo);
	cpu->rip = cpu->code64 ? off :
		   off & ip_mask(cpu->seg[SEG_CS].db ? 4 : 2);
}

void seg_far_call(struct emu_cpu *cpu, uint16_t sel, uint64_t off,
		  int opsize)
{
	uint64_t lo, hi;

	if (!(cpu->cr0 & X86_CR0_PE)) {
		real_ip(cpu, off);
		stack_push(cpu, cpu->seg[SEG_CS].selector, opsize);
		stack_push(cpu, cpu->rip, opsize);
		seg_load_real(cpu, SEG_CS, sel);
		cpu->rip = off;
		return;
	}
	lo = far_desc(cpu, sel, &hi);
	if (!((lo >> 44) & 1)) {
		seg_gate_far(cpu, sel, lo, hi, true);
		return;
	}
	/* the stack's #SS(0) before the target's #GP(0) */
	stack_push(cpu, cpu->seg[SEG_CS].selector, opsize);
	stack_push(cpu, cpu->rip, opsize);
	far_ip_check(cpu, lo, off);
	far_load_cs(cpu, sel, lo);
	cpu->rip = off & ip_mask(cpu->code64 ? 8 : opsize);
}

/*
 * The checks of a far RET's or IRET's new CS (SDM vol. 2, RET, IRET),
 * before anything changes: #GP(0) for a null selector; #GP(selector)
 * beyond its table, no code segment, RPL below the CPL, DPL above the RPL
 * (conforming) or other than it (not), L and D both set in IA-32e mode;
 * #NP(selector) not present. Returns the descriptor.
 */
static uint64_t ret_cs_desc(struct emu_cpu *cpu, uint16_t sel)
{
	unsigned rpl = sel & 3, dpl;
	uint64_t lo, hi;

	if (!(sel & ~3))
		cpu_raise(cpu, EXC_GP, 0);
	if (!seg_read_desc(cpu, sel, &lo, &hi))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	dpl = (lo >> 45) & 3;
	if (!((lo >> 44) & 1) || !((lo >> 43) & 1) ||
	    rpl < (unsigned)cpu->cpl ||
	    ((lo >> 42) & 1 ? dpl > rpl : dpl != rpl) ||
	    (cpu->lma && ((lo >> 53) & 1) && ((lo >> 54) & 1)))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, EXC_NP, sel & ~3);
	return lo;
}

/*
 * The checks of the SS a far RET or IRET loads for privilege rpl (its
 * new CS's RPL), to 64-bit code when to64: a null selector only to 64-bit
 * code below CPL 3 with RPL rpl (else #GP(0)); #GP(selector) beyond its
 * table, RPL or DPL other than rpl, no writable data; #SS(selector) not
 * present. Returns the descriptor, 0 for a null selector.
 */
static uint64_t ret_ss_desc(struct emu_cpu *cpu, uint16_t sel, unsigned rpl,
			    bool to64)
{
	uint64_t lo, hi;

	if (!(sel & ~3)) {
		if (!to64 || rpl == 3 || (sel & 3) != rpl)
			cpu_raise(cpu, EXC_GP, 0);
		return 0;
	}
	if (!seg_read_desc(cpu, sel, &lo, &hi) || (sel & 3) != rpl ||
	    !((lo >> 44) & 1) || ((lo >> 40) & 0xa) != 2 ||
	    ((lo >> 45) & 3) != rpl)
		cpu_raise(cpu, EXC_GP, sel & ~3);
	if (!((lo >> 47) & 1))
		cpu_raise(cpu, EXC_SS, sel & ~3);
	return lo;
}

/*
 * Loads CS and, for a return with a stack switch, SS from descriptors
 * their checks returned: the accessed bits are set before either changes
 */
static void ret_load(struct emu_cpu *cpu, uint16_t cs, uint64_t cs_lo,
		     bool load_ss, uint16_t ss, uint64_t ss_lo)
{
	desc_accessed(cpu, cs, &cs_lo);
	if (load_ss && (ss & ~3))
		desc_accessed(cpu, ss, &ss_lo);
	seg_from_desc(&cpu->seg[SEG_CS], cs, cs_lo);
	cpu->cs_real = false;
	cpu_update_mode(cpu);
	if (!load_ss)
		return;
	if (ss & ~3)
		seg_from_desc(&cpu->seg[SEG_SS], ss, ss_lo);
	else
		ss_null(cpu, ss);
}

/*
 * On a return to an outer level, ES, DS, FS and GS holding data or
 * non-conforming code the new CPL may not use become null (SDM vol. 2,
 * RET, IRET); a null one (a 64-bit kernel's FS and GS, whose bases
 * come from MSRs) stays as it is
 */
static void null_inner_segs(struct emu_cpu *cpu)
{
	for (int s = SEG_ES; s <= SEG_GS; s++) {
		struct x86_segment *sg = &cpu->seg[s];

		if (s == SEG_CS || s == SEG_SS || sg->unusable ||
		    !(sg->selector & ~3))
			continue;
		if (sg->dpl < cpu->cpl && (sg->type & 0xc) != 0xc)
			*sg = (struct x86_segment){ .unusable = 1 };
	}
}

void seg_far_ret(struct emu_cpu *cpu, int opsize, uint16_t imm)
{
	uint64_t ip = stack_pop(cpu, opsize), sp = 0, cs_lo, ss_lo = 0;
	uint16_t sel = stack_pop(cpu, opsize), ss = 0;
	bool outer;

	if (!(cpu->cr0 & X86_CR0_PE)) {
		cpu->rip = real_ip(cpu, ip);
		seg_load_real(cpu, SEG_CS, sel);
		stack_adjust(cpu, imm);
		return;
	}
	cs_lo = ret_cs_desc(cpu, sel);
	outer = (sel & 3) > (unsigned)cpu->cpl;
	if (outer) {
		stack_adjust(cpu, imm);
		sp = stack_pop(cpu, opsize);
		ss = stack_pop(cpu, opsize);
		ss_lo = ret_ss_desc(cpu, ss, sel & 3,
				    cpu->lma && ((cs_lo >> 53) & 1));
	}
	far_ip_check(cpu, cs_lo, ip);
	ret_load(cpu, sel, cs_lo, outer, ss, ss_lo);
	if (outer) {
		/* the parameters leave the caller's stack too */
		cpu->gpr[R_SP] = sp;
		null_inner_segs(cpu);
	}
	stack_adjust(cpu, imm);
	cpu->rip = ip & ip_mask(cpu->code64 ? 8 : opsize);
}

static void set_flags_iret(struct emu_cpu *cpu, uint64_t fl, int opsize,
			   unsigned cpl)
{
	uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID |
			FL_RF;

	if (cpl == 0)
		mask |= FL_IOPL | FL_IF;
	else if (cpl <= ((cpu->rflags >> 12) & 3))
		mask |= FL_IF;
	if (opsize == 2)
		mask &= 0xffff;
	cpu->rflags = (cpu->rflags & ~mask) | (fl & mask) | 2;
}

void seg_iret(struct emu_cpu *cpu, int opsize)
{
	uint64_t ip, fl, sp = 0, cs_lo, ss_lo = 0;
	uint16_t cs, ss = 0;
	unsigned old_cpl = cpu->cpl;
	bool pop_ss;

	if (!(cpu->cr0 & X86_CR0_PE)) {
		ip = stack_pop(cpu, opsize);
		cs = stack_pop(cpu, opsize);
		fl = stack_pop(cpu, opsize);
		cpu->rip = real_ip(cpu, ip);
		seg_load_real(cpu, SEG_CS, cs);
		set_flags_iret(cpu, fl, opsize, 0);
		return;
	}
	ip = stack_pop(cpu, opsize);
	cs = stack_pop(cpu, opsize);
	fl = stack_pop(cpu, opsize);
	cs_lo = ret_cs_desc(cpu, cs);
	pop_ss = cpu->code64 || (cs & 3) > old_cpl;
	if (pop_ss) {
		sp = stack_pop(cpu, opsize);
		ss = stack_pop(cpu, opsize);
		ss_lo = ret_ss_desc(cpu, ss, cs & 3,
				    cpu->lma && ((cs_lo >> 53) & 1));
	}
	far_ip_check(cpu, cs_lo, ip);
	cpu->nmi_blocked = false;
	ret_load(cpu, cs, cs_lo, pop_ss, ss, ss_lo);
	if (pop_ss) {
		cpu->gpr[R_SP] = opsize == 8 ? sp :
				 (cpu->gpr[R_SP] & ~ip_mask(opsize)) |
				 (sp & ip_mask(opsize));
		if (opsize == 4 && cpu->lma)
			cpu->gpr[R_SP] = (uint32_t)sp;
	}
	set_flags_iret(cpu, fl, opsize, old_cpl);
	cpu->rip = ip & ip_mask(cpu->code64 ? 8 : opsize);
	if ((unsigned)cpu->cpl > old_cpl)
		null_inner_segs(cpu);
}

void seg_load_tr(struct emu_cpu *cpu, uint16_t sel)
{
	uint64_t lo, hi;

	if (!(sel & ~3) || (sel & 4) || !seg_read_desc(cpu, sel, &lo, &hi))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	seg_from_desc(&cpu->tr, sel, lo);
	cpu->tr.base |= hi << 32;
	/* mark busy */
	mem_write_sys(cpu, cpu->gdt.base + (sel & ~7u) + 5,
		      ((lo >> 40) & 0xff) | 2, 1);
	cpu->tr.type |= 2;
}

void seg_load_ldt(struct emu_cpu *cpu, uint16_t sel)
{
	uint64_t lo, hi;

	if (!(sel & ~3)) {
		cpu->ldt = (struct x86_segment){ .unusable = 1 };
		return;
	}
	if ((sel & 4) || !seg_read_desc(cpu, sel, &lo, &hi))
		cpu_raise(cpu, EXC_GP, sel & ~3);
	seg_from_desc(&cpu->ldt, sel, lo);
	cpu->ldt.base |= hi << 32;
}

uint64_t cpu_read_cr(struct emu_cpu *cpu, int n)
{
	switch (n) {
	case 0: return cpu->cr0;
	case 2: return cpu->cr2;
	case 3: return cpu->cr3;
	case 4: return cpu->cr4;
	case 8:
		return cpu->apic_ops ? cpu->apic_ops->get_cr8(cpu->apic) :
		       cpu->cr8;
	}
	cpu_raise_noerr(cpu, EXC_UD);
}

/*
 * CR4 bits of the features cpuid.c reports (TSD, PSE, PAE, PGE, PCE,
 * OSFXSR, OSXMMEXCPT): setting any other is #GP(0), as on a CPU without
 * them (SDM vol. 3 2.5, "reserved bits"). No VME/PVI, DE, MCE, UMIP, LA57,
 * VMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP or PKE here.
 */
#define CR4_VALID	(CR4_TSD | CR4_PSE | X86_CR4_PAE | CR4_PGE | CR4_PCE | \
			 CR4_OSFXSR | CR4_OSXMMEXCPT)
#define CR0_CD		(1ULL << 30)
#define CR0_NW		(1ULL << 29)
/* CR3 bits above MAXPHYADDR (40, CPUID 0x80000008) are reserved */
#define CR3_RESERVED	(~0ULL << 40)

/*
 * The #GP(0) cases of MOV to a control register (SDM vol. 2, MOV--Move
 * to/from Control Registers): reserved bits, CR0.PG without PE or NW
 * without CD, paging turned on for long mode without PAE or turned off in
 * 64-bit mode, CR4.PAE cleared in long mode.
 */
static bool cr_write_faults(const struct emu_cpu *cpu, int n, uint64_t val)
{
	bool lma = cpu->efer & X86_EFER_LMA;

	switch (n) {
	case 0:
		return (val >> 32) ||
		       ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
		       ((val & CR0_NW) && !(val & CR0_CD)) ||
		       ((val & X86_CR0_PG) && !(cpu->cr0 & X86_CR0_PG) &&
			(cpu->efer & X86_EFER_LME) &&
			!(cpu->cr4 & X86_CR4_PAE)) ||
		       (!(val & X86_CR0_PG) && cpu->code64);
	case 3:
		return lma && (val & CR3_RESERVED);
	case 4:
		return (val & ~CR4_VALID) || (lma && !(val & X86_CR4_PAE));
	case 8:
		return val >> 4;
	}
	return false;
}

void cpu_write_cr(struct emu_cpu *cpu, int n, uint64_t val)
{
	if (cr_write_faults(cpu, n, val))
		cpu_raise(cpu, EXC_GP, 0);
	switch (n) {
	case 0:
		if ((val ^ cpu->cr0) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
			tlb_flush(cpu, true);
		if ((val & X86_CR0_PE) && !(cpu->cr0 & X86_CR0_PE))
			cpu->cs_real = true;
		cpu->cr0 = (val & 0xffffffffULL) | X86_CR0_ET;
		if ((val & X86_CR0_PG) && (cpu->efer & X86_EFER_LME))
			cpu->efer |= X86_EFER_LMA;
		if (!(val & X86_CR0_PG))
			cpu->efer &= ~X86_EFER_LMA;
		cpu_update_mode(cpu);
		break;
	case 2:
		cpu->cr2 = val;
		break;
	case 3:
		cpu->cr3 = val;
		tlb_flush(cpu, false);
		break;
	case 4:
		if ((val ^ cpu->cr4) & (CR4_PGE | X86_CR4_PAE | CR4_PSE))
			tlb_flush(cpu, true);
		cpu->cr4 = val;
		break;
	case 8:
		if (cpu->apic_ops)
			cpu->apic_ops->set_cr8(cpu->apic, val);
		else
			cpu->cr8 = val;
		break;
	default:
		cpu_raise_noerr(cpu, EXC_UD);
	}
}

static void flat_seg(struct x86_segment *s, uint16_t sel, uint8_t type,
		     bool l)
{
	*s = (struct x86_segment){ .selector = sel, .base = 0,
		.limit = 0xffffffff, .type = type, .s = 1, .present = 1,
		.dpl = sel & 3, .g = 1, .l = l, .db = !l };
}

void cpu_syscall(struct emu_cpu *cpu)
{
	uint16_t sel = (cpu->star >> 32) & 0xfffc;

	if (!(cpu->efer & X86_EFER_SCE) || !cpu->lma)
		cpu_raise_noerr(cpu, EXC_UD);
	cpu->gpr[R_CX] = cpu->rip;
	cpu->gpr[11] = cpu_get_flags(cpu) & ~FL_RF;
	cpu->rflags &= ~(cpu->sfmask | FL_RF);
	flat_seg(&cpu->seg[SEG_CS], sel, 0xb, cpu->code64 || true);
	cpu->cs_real = false;
	flat_seg(&cpu->seg[SEG_SS], sel + 8, 0x3, false);
	cpu->seg[SEG_SS].db = 1;
	cpu->rip = cpu->lstar;
	cpu_update_mode(cpu);
}

void cpu_sysret(struct emu_cpu *cpu, int opsize)
{
	uint16_t sel = (cpu->star >> 48) & 0xffff;

	/* Intel: #UD outside 64-bit mode; #GP(0) for a non-canonical RCX,
	 * in ring 0, before anything changes */
	if (!(cpu->efer & X86_EFER_SCE) || !cpu->code64)
		cpu_raise_noerr(cpu, EXC_UD);
	if (cpu->cpl != 0 ||
	    (opsize == 8 && !x86_canonical(cpu->gpr[R_CX])))
		cpu_raise(cpu, EXC_GP, 0);
	cpu->cs_real = false;
	if (opsize == 8) {
		flat_seg(&cpu->seg[SEG_CS], (sel + 16) | 3, 0xb, true);
		cpu->rip = cpu->gpr[R_CX];
	} else {
		flat_seg(&cpu->seg[SEG_CS], sel | 3, 0xb, false);
		cpu->rip = (uint32_t)cpu->gpr[R_CX];
	}
	flat_seg(&cpu->seg[SEG_SS], (sel + 8) | 3, 0x3, false);
	cpu->seg[SEG_SS].db = 1;
	cpu->rflags = (cpu->gpr[11] & 0x3c7fd7) | 2;
	cpu_update_mode(cpu);
}
