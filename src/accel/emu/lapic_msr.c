// SPDX-License-Identifier: MIT
/*
 * The local APIC's MSRs: IA32_APIC_BASE (mode switches between disabled,
 * xAPIC and x2APIC, SDM vol. 3A 11.12.5), IA32_TSC_DEADLINE, and the x2APIC
 * registers at 0x800 + offset / 16. An access the SDM says faults returns
 * false and the CPU raises #GP.
 */
#include "accel/emu/lapic_priv.h"

#include "vmm/log.h"

#define MSR_X2APIC_ICR	0x830

bool lapic_is_apic_msr(uint32_t msr)
{
	return msr == MSR_APIC_BASE || msr == LAPIC_MSR_TSC_DEADLINE ||
	       (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

uint64_t lapic_apic_base(struct lapic *apic)
{
	uint64_t base;

	pthread_mutex_lock(&apic->lock);
	base = apic->apic_base;
	pthread_mutex_unlock(&apic->lock);
	return base;
}

static bool lapic_set_base(struct lapic *apic, uint64_t val)
{
	const uint64_t valid = APIC_BASE_ADDR_MASK | APIC_BASE_BSP |
			       APIC_BASE_EXTD | APIC_BASE_EN;
	bool old_en = lapic_hw_enabled(apic), old_x2 = lapic_x2apic(apic);
	bool en = val & APIC_BASE_EN, x2 = val & APIC_BASE_EXTD;

	if (val & ~valid)
		return false;
	/* Invalid transitions: x2APIC while disabled, x2APIC -> xAPIC. */
	if ((x2 && !en) || (x2 && !old_en) || (old_x2 && en && !x2))
		return false;
	apic->apic_base = (val & ~APIC_BASE_BSP) |
			  (apic->apic_base & APIC_BASE_BSP);
	if (!en)
		lapic_reset_regs(apic);
	else if (x2 && !old_x2)
		apic->ldr = ((apic->id >> 4) << 16) | (1u << (apic->id & 15));
	lapic_update_hint(apic);
	return true;
}

bool lapic_rdmsr(struct lapic *apic, uint32_t msr, uint64_t *val)
{
	uint32_t reg = (msr - MSR_X2APIC_FIRST) << 4, v32 = 0;
	bool ok = true;

	pthread_mutex_lock(&apic->lock);
	if (msr == MSR_APIC_BASE) {
		*val = apic->apic_base;
	} else if (msr == LAPIC_MSR_TSC_DEADLINE) {
		*val = lapic_timer_get_tsc_deadline(apic);
	} else if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST ||
		   !lapic_x2apic(apic)) {
		ok = false;
	} else if (msr == MSR_X2APIC_ICR) {
		*val = (uint64_t)apic->icr_hi << 32 | apic->icr_lo;
	} else if (reg == APIC_EOI || reg == APIC_SELF_IPI) {
		ok = false;		/* write-only */
	} else {
		ok = lapic_reg_read(apic, reg, &v32);
		*val = v32;
	}
	pthread_mutex_unlock(&apic->lock);
	return ok;
}

bool lapic_wrmsr(struct lapic *apic, uint32_t msr, uint64_t val)
{
	uint32_t reg = (msr - MSR_X2APIC_FIRST) << 4;
	struct lapic_after after = { .eoi_vector = -1 };
	bool ok = true;

	pthread_mutex_lock(&apic->lock);
	if (msr == MSR_APIC_BASE) {
		ok = lapic_set_base(apic, val);
	} else if (msr == LAPIC_MSR_TSC_DEADLINE) {
		lapic_timer_set_tsc_deadline(apic, val);
	} else if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST ||
		   !lapic_x2apic(apic)) {
		ok = false;
	} else if (msr == MSR_X2APIC_ICR) {
		apic->icr_hi = val >> 32;
		lapic_send_icr(apic, (uint32_t)val, val >> 32, &after);
	} else if (val >> 32) {
		ok = false;
	} else {
		ok = lapic_reg_write(apic, reg, (uint32_t)val, &after);
	}
	pthread_mutex_unlock(&apic->lock);
	lapic_after_write(apic, &after);
	return ok;
}
