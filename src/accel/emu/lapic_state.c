// SPDX-License-Identifier: MIT
/*
 * A local APIC in a snapshot: the LAPIC part of its CPU's "cpu<id>"
 * section. Timer times are guest time (emu_irqchip_now), and the guest
 * time of the save is written first: a load sets the VM's clock from it
 * (emu_irqchip_restore_clock) before it arms the timer, so a timer that
 * had 3 ms left at the save fires 3 ms of guest time after the restored
 * VM starts its clock. docs/snapshot.md lists the fields.
 */
#include "accel/emu/lapic_priv.h"
#include "accel/state_read.h"

void lapic_save(struct lapic *apic, struct state_writer *w)
{
	struct emu_irqchip *chip = apic->chip;

	pthread_mutex_lock(&apic->lock);
	state_put_u64(w, emu_irqchip_now(chip));
	state_put_u64(w, apic->apic_base);
	state_put_u32(w, apic->id);
	state_put_u32(w, apic->tpr);
	state_put_u32(w, apic->ldr);
	state_put_u32(w, apic->dfr);
	state_put_u32(w, apic->svr);
	state_put_u32(w, apic->esr);
	state_put_u32(w, apic->esr_pending);
	state_put_u32(w, apic->icr_lo);
	state_put_u32(w, apic->icr_hi);
	for (int i = 0; i < LVT_NR; i++)
		state_put_u32(w, apic->lvt[i]);
	for (int i = 0; i < 8; i++)
		state_put_u32(w, apic->irr[i]);
	for (int i = 0; i < 8; i++)
		state_put_u32(w, apic->isr[i]);
	for (int i = 0; i < 8; i++)
		state_put_u32(w, apic->tmr[i]);
	state_put_u32(w, apic->timer_icr);
	state_put_u32(w, apic->timer_dcr);
	state_put_u64(w, apic->timer_start_ns);
	state_put_u64(w, atomic_load(&apic->timer_ns));
	state_put_u64(w, apic->tsc_deadline);
	state_put_u8(w, apic->events);
	state_put_u8(w, apic->sipi_vector);
	state_put_u8(w, apic->extint_msg);
	pthread_mutex_unlock(&apic->lock);
}

/* The registers of a LAPIC as read, before they are checked. */
struct lapic_image {
	uint64_t now, apic_base;
	uint32_t id, tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[LVT_NR], irr[8], isr[8], tmr[8];
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start_ns, timer_ns, tsc_deadline;
	uint8_t events, sipi_vector;
	bool extint_msg;
};

static void lapic_read_image(struct state_reader *r, struct lapic_image *m,
			     int *err)
{
	m->now = sread_u64(r, err);
	m->apic_base = sread_u64(r, err);
	m->id = sread_u32(r, err);
	m->tpr = sread_u32(r, err);
	m->ldr = sread_u32(r, err);
	m->dfr = sread_u32(r, err);
	m->svr = sread_u32(r, err);
	m->esr = sread_u32(r, err);
	m->esr_pending = sread_u32(r, err);
	m->icr_lo = sread_u32(r, err);
	m->icr_hi = sread_u32(r, err);
	for (int i = 0; i < LVT_NR; i++)
		m->lvt[i] = sread_u32(r, err);
	for (int i = 0; i < 8; i++)
		m->irr[i] = sread_u32(r, err);
	for (int i = 0; i < 8; i++)
		m->isr[i] = sread_u32(r, err);
	for (int i = 0; i < 8; i++)
		m->tmr[i] = sread_u32(r, err);
	m->timer_icr = sread_u32(r, err);
	m->timer_dcr = sread_u32(r, err);
	m->timer_start_ns = sread_u64(r, err);
	m->timer_ns = sread_u64(r, err);
	m->tsc_deadline = sread_u64(r, err);
	m->events = sread_u8(r, err);
	m->sipi_vector = sread_u8(r, err);
	m->extint_msg = sread_bool(r, err);
}

/* What lapic.c and lapic_timer.c rely on; NULL when m is consistent. */
static const char *lapic_check(const struct lapic *apic,
			       const struct lapic_image *m)
{
	const uint64_t valid = APIC_BASE_ADDR_MASK | APIC_BASE_BSP |
			       APIC_BASE_EXTD | APIC_BASE_EN;
	uint32_t mode = APIC_TIMER_MODE(m->lvt[LVT_TIMER]);
	uint64_t tsc_ns;

	if (m->apic_base & ~valid)
		return "IA32_APIC_BASE has reserved bits set";
	if ((m->apic_base & APIC_BASE_EXTD) && !(m->apic_base & APIC_BASE_EN))
		return "x2APIC mode with the APIC disabled";
	if (!(m->apic_base & APIC_BASE_BSP) != (apic->cpu != 0))
		return "IA32_APIC_BASE.BSP does not match the CPU";
	if (m->id != apic->initial_id)
		return "APIC ID is not the CPU's (another --cpus topology?)";
	if (m->tpr > 0xff || m->svr > 0x3ff || m->esr > 0xff ||
	    m->esr_pending > 0xff)
		return "TPR, SVR or ESR out of range";
	for (int i = 0; i < LVT_NR; i++)
		if (m->lvt[i] & ~lapic_lvt_writable[i])
			return "an LVT entry has reserved bits set";
	if (mode == 3)
		return "reserved LVT timer mode";
	if ((m->irr[0] | m->isr[0] | m->tmr[0]) & 0xffff)
		return "vectors 0-15 in IRR, ISR or TMR";
	if (m->timer_dcr & ~0xbu)
		return "timer divide configuration has reserved bits set";
	if (mode == APIC_TIMER_TSCDEADLINE) {
		tsc_ns = emu_tsc_to_ns(m->tsc_deadline);
		if (m->timer_icr)
			return "initial count in TSC-deadline mode";
		if (m->tsc_deadline && m->timer_ns &&
		    m->timer_ns != (tsc_ns ? tsc_ns : 1))
			return "timer expiry does not match IA32_TSC_DEADLINE";
		if (!m->tsc_deadline && m->timer_ns)
			return "timer armed without a TSC deadline";
	} else {
		if (m->tsc_deadline)
			return "TSC deadline outside TSC-deadline mode";
		if (!m->timer_icr && m->timer_ns)
			return "timer armed with an initial count of 0";
	}
	if (m->events & ~(LAPIC_EV_INIT | LAPIC_EV_SIPI | LAPIC_EV_NMI))
		return "unknown pending LAPIC events";
	return NULL;
}

int lapic_load(struct lapic *apic, struct state_reader *r)
{
	struct lapic_image m;
	const char *bad;
	int err = 0;

	lapic_read_image(r, &m, &err);
	if (err)
		return state_fail(r, "cpu%d: LAPIC: %s", apic->cpu,
				  sread_error(err));
	bad = lapic_check(apic, &m);
	if (bad)
		return state_fail(r, "cpu%d: LAPIC: %s", apic->cpu, bad);

	emu_irqchip_restore_clock(apic->chip, m.now);
	pthread_mutex_lock(&apic->lock);
	apic->apic_base = m.apic_base;
	apic->tpr = m.tpr;
	apic->ldr = m.ldr;
	apic->dfr = m.dfr;
	apic->svr = m.svr;
	apic->esr = m.esr;
	apic->esr_pending = m.esr_pending;
	apic->icr_lo = m.icr_lo;
	apic->icr_hi = m.icr_hi;
	memcpy(apic->lvt, m.lvt, sizeof(m.lvt));
	memcpy(apic->irr, m.irr, sizeof(m.irr));
	memcpy(apic->isr, m.isr, sizeof(m.isr));
	memcpy(apic->tmr, m.tmr, sizeof(m.tmr));
	apic->timer_icr = m.timer_icr;
	apic->timer_dcr = m.timer_dcr;
	apic->timer_start_ns = m.timer_start_ns;
	apic->tsc_deadline = m.tsc_deadline;
	apic->events = m.events;
	apic->sipi_vector = m.sipi_vector;
	apic->extint_msg = m.extint_msg;
	apic->extint_vector = -1;
	atomic_store(&apic->timer_ns, m.timer_ns);
	lapic_update_hint(apic);
	pthread_mutex_unlock(&apic->lock);
	irqchip_timer_kick(apic->chip);
	return 0;
}
