// SPDX-License-Identifier: MIT
/*
 * Model-specific registers, plus the KVM paravirtual clock: the guest gets
 * a pvclock structure that maps the TSC (guest time scaled to EMU_TSC_HZ,
 * so stable across vCPUs) to nanoseconds, which gives Linux a
 * known TSC frequency without calibrating against the PIT.
 */
#include <time.h>

#include "accel/emu/cpu.h"
#include "accel/emu/tsc.h"

#define MSR_TSC			0x10
#define MSR_APIC_BASE		0x1b
#define MSR_FEATURE_CONTROL	0x3a
#define MSR_TSC_ADJUST		0x3b
#define MSR_SPEC_CTRL		0x48
#define MSR_PRED_CMD		0x49
#define MSR_UCODE_WRITE		0x79
#define MSR_UCODE_REV		0x8b
#define MSR_ARCH_CAP		0x10a
#define MSR_TSC_DEADLINE	0x6e0
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_MISC_ENABLE		0x1a0
#define MSR_PAT			0x277
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MSR_KVM_WALL_CLOCK	0x4b564d00
#define MSR_KVM_SYSTEM_TIME	0x4b564d01
#define MSR_KVM_WALL_CLOCK_OLD	0x11
#define MSR_KVM_SYSTEM_TIME_OLD	0x12

#define PVCLOCK_TSC_STABLE	1

uint64_t cpu_rdtsc(struct emu_cpu *cpu)
{
	int64_t off = cpu->clock_offset ?
		      atomic_load_explicit(cpu->clock_offset,
					   memory_order_relaxed) : 0;

	return emu_tsc_now() + (uint64_t)off * EMU_TSC_PER_NS;
}

/* The LAPIC owns APIC_BASE, TSC_DEADLINE and the x2APIC range. */
static bool is_apic_msr(uint32_t msr)
{
	return msr == MSR_APIC_BASE || msr == MSR_TSC_DEADLINE ||
	       (msr >= 0x800 && msr <= 0x8ff);
}

/*
 * struct pvclock_vcpu_time_info: version, pad, tsc_timestamp, system_time,
 * tsc_to_system_mul, tsc_shift, flags. ns = ((tsc - stamp) << shift) * mul
 * >> 32; with EMU_TSC_PER_NS = 2^k, shift = 1 - k and mul = 2^31 is exact.
 */
static void kvmclock_write(struct emu_cpu *cpu, uint64_t gpa)
{
	uint64_t tsc = cpu_rdtsc(cpu);
	int shift = 1 - __builtin_ctzll(EMU_TSC_PER_NS);
	uint32_t ver = phys_read(cpu, gpa, 4);

	_Static_assert((EMU_TSC_PER_NS & (EMU_TSC_PER_NS - 1)) == 0,
		       "pvclock scale assumes a power-of-two TSC/ns ratio");
	phys_write(cpu, gpa, (ver + 1) | 1, 4);	/* odd: update */
	phys_write(cpu, gpa + 8, tsc, 8);
	phys_write(cpu, gpa + 16, tsc / EMU_TSC_PER_NS, 8);
	phys_write(cpu, gpa + 24, 0x80000000u, 4);	/* x 1/2 */
	phys_write(cpu, gpa + 28, (uint8_t)(int8_t)shift, 1);
	phys_write(cpu, gpa + 29, PVCLOCK_TSC_STABLE, 1);
	phys_write(cpu, gpa, ((ver + 1) | 1) + 1, 4);
}

/* struct pvclock_wall_clock: version, sec, nsec of the boot epoch */
static void wallclock_write(struct emu_cpu *cpu, uint64_t gpa)
{
	struct timespec rt;
	uint64_t boot_ns;
	uint32_t ver = phys_read(cpu, gpa, 4);

	clock_gettime(CLOCK_REALTIME, &rt);
	boot_ns = (uint64_t)rt.tv_sec * 1000000000ULL + rt.tv_nsec -
		  cpu_rdtsc(cpu) / EMU_TSC_PER_NS;
	phys_write(cpu, gpa, (ver + 1) | 1, 4);	/* odd: update */
	phys_write(cpu, gpa + 4, boot_ns / 1000000000ULL, 4);
	phys_write(cpu, gpa + 8, boot_ns % 1000000000ULL, 4);
	phys_write(cpu, gpa, ((ver + 1) | 1) + 1, 4);
}

bool msr_read(struct emu_cpu *cpu, uint32_t msr, uint64_t *val)
{
	if (is_apic_msr(msr)) {
		if (!cpu->apic_ops)
			return false;
		return cpu->apic_ops->rdmsr(cpu->apic, msr, val);
	}
	switch (msr) {
	case MSR_TSC: *val = cpu_rdtsc(cpu); break;
	case MSR_FEATURE_CONTROL: *val = 1; break;	/* locked, no VMX */
	case MSR_TSC_ADJUST: *val = cpu->tsc_adjust; break;
	case MSR_UCODE_REV: *val = 0x100000000ULL; break;
	case MSR_ARCH_CAP: *val = 0; break;
	case MSR_SYSENTER_CS: *val = cpu->sysenter_cs; break;
	case MSR_SYSENTER_ESP: *val = cpu->sysenter_esp; break;
	case MSR_SYSENTER_EIP: *val = cpu->sysenter_eip; break;
	case MSR_MISC_ENABLE: *val = cpu->misc_enable | 1; break;
	case MSR_PAT: *val = cpu->pat; break;
	case MSR_EFER: *val = cpu->efer; break;
	case MSR_STAR: *val = cpu->star; break;
	case MSR_LSTAR: *val = cpu->lstar; break;
	case MSR_CSTAR: *val = cpu->cstar; break;
	case MSR_SFMASK: *val = cpu->sfmask; break;
	case MSR_FS_BASE: *val = cpu->seg[SEG_FS].base; break;
	case MSR_GS_BASE: *val = cpu->seg[SEG_GS].base; break;
	case MSR_KERNEL_GS_BASE: *val = cpu->kernel_gs_base; break;
	case MSR_TSC_AUX: *val = cpu->tsc_aux; break;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_OLD: *val = cpu->kvm_wall_clock; break;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_OLD: *val = cpu->kvm_system_time; break;
	default:
		return false;
	}
	return true;
}

bool msr_write(struct emu_cpu *cpu, uint32_t msr, uint64_t val)
{
	if (is_apic_msr(msr)) {
		bool ok;

		if (!cpu->apic_ops)
			return false;
		ok = cpu->apic_ops->wrmsr(cpu->apic, msr, val);
		if (msr == MSR_APIC_BASE)
			tlb_flush(cpu, true);
		return ok;
	}
	switch (msr) {
	case MSR_TSC:
	case MSR_UCODE_REV:
	case MSR_UCODE_WRITE:
	case MSR_PRED_CMD:
	case MSR_SPEC_CTRL:
		break;
	case MSR_TSC_ADJUST: cpu->tsc_adjust = val; break;
	case MSR_SYSENTER_CS: cpu->sysenter_cs = val; break;
	case MSR_SYSENTER_ESP: cpu->sysenter_esp = val; break;
	case MSR_SYSENTER_EIP: cpu->sysenter_eip = val; break;
	case MSR_MISC_ENABLE: cpu->misc_enable = val; break;
	case MSR_PAT: cpu->pat = val; break;
	case MSR_EFER:
		if (val & ~(uint64_t)(X86_EFER_SCE | X86_EFER_LME |
				      X86_EFER_LMA | X86_EFER_NXE))
			return false;
		cpu->efer = (val & ~(uint64_t)X86_EFER_LMA) |
			    (cpu->efer & X86_EFER_LMA);
		tlb_flush(cpu, true);
		cpu_update_mode(cpu);
		break;
	case MSR_STAR: cpu->star = val; break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!x86_canonical(val))
			return false;
		if (msr == MSR_LSTAR)
			cpu->lstar = val;
		else if (msr == MSR_CSTAR)
			cpu->cstar = val;
		else if (msr == MSR_FS_BASE)
			cpu->seg[SEG_FS].base = val;
		else if (msr == MSR_GS_BASE)
			cpu->seg[SEG_GS].base = val;
		else
			cpu->kernel_gs_base = val;
		break;
	case MSR_SFMASK: cpu->sfmask = val & 0xffffffff; break;
	case MSR_TSC_AUX: cpu->tsc_aux = val & 0xffffffff; break;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_OLD:
		cpu->kvm_wall_clock = val;
		wallclock_write(cpu, val);
		break;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_OLD:
		cpu->kvm_system_time = val;
		if (val & 1)
			kvmclock_write(cpu, val & ~1ULL);
		break;
	default:
		return false;
	}
	return true;
}
