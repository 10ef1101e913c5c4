// SPDX-License-Identifier: MIT
/*
 * The local APIC timer (SDM vol. 3A 11.5.4): one-shot and periodic modes
 * count the bus clock (LAPIC_BUS_HZ) divided by TDCR down from TMICT;
 * TSC-deadline mode fires when the guest's TSC reaches IA32_TSC_DEADLINE.
 * Counts are computed from guest time (emu_irqchip_now) on demand; the irqchip's timer
 * thread calls lapic_timer_expire at the deadline published in timer_ns.
 */
#include "accel/emu/lapic_priv.h"
#include "accel/emu/tsc.h"

#include "vmm/log.h"

static uint32_t lapic_timer_mode(const struct lapic *apic)
{
	return APIC_TIMER_MODE(apic->lvt[LVT_TIMER]);
}

/* Nanoseconds per count: the divide value, since the bus runs at 1 GHz. */
static uint64_t lapic_tick_ns(const struct lapic *apic)
{
	uint32_t bits = ((apic->timer_dcr >> 1) & 4) | (apic->timer_dcr & 3);

	_Static_assert(LAPIC_BUS_HZ == 1000000000ull, "tick is the divisor");
	return bits == 7 ? 1 : 2u << bits;
}

static uint64_t lapic_period_ns(const struct lapic *apic)
{
	uint64_t ns = apic->timer_icr * lapic_tick_ns(apic);

	if (lapic_timer_mode(apic) == APIC_TIMER_PERIODIC &&
	    ns < LAPIC_MIN_PERIOD_NS)
		ns = LAPIC_MIN_PERIOD_NS;
	return ns;
}

static void lapic_timer_arm(struct lapic *apic, uint64_t deadline_ns)
{
	atomic_store(&apic->timer_ns, deadline_ns);
	irqchip_timer_kick(apic->chip);
}

uint32_t lapic_timer_current(struct lapic *apic)
{
	uint64_t elapsed;

	if (!apic->timer_icr || lapic_timer_mode(apic) ==
	    APIC_TIMER_TSCDEADLINE)
		return 0;
	if (lapic_timer_mode(apic) != APIC_TIMER_PERIODIC &&
	    !atomic_load(&apic->timer_ns))
		return 0;
	elapsed = (emu_irqchip_now(apic->chip) - apic->timer_start_ns) /
		  lapic_tick_ns(apic);
	if (lapic_timer_mode(apic) == APIC_TIMER_PERIODIC)
		return apic->timer_icr - elapsed % apic->timer_icr;
	return elapsed >= apic->timer_icr ? 0 : apic->timer_icr - elapsed;
}

void lapic_timer_set_lvt(struct lapic *apic, uint32_t val)
{
	uint32_t old = lapic_timer_mode(apic);

	if (APIC_TIMER_MODE(val) == 3) {
		log_limited(&apic->log, "lapic %d: reserved timer mode, using "
			    "one-shot", apic->cpu);
		val &= ~(3u << 17);
	}
	apic->lvt[LVT_TIMER] = val;
	/* Changing the mode disarms the timer. */
	if (APIC_TIMER_MODE(val) != old) {
		apic->timer_icr = 0;
		apic->tsc_deadline = 0;
		lapic_timer_arm(apic, 0);
	}
}

void lapic_timer_set_icr(struct lapic *apic, uint32_t val)
{
	if (lapic_timer_mode(apic) == APIC_TIMER_TSCDEADLINE)
		return;
	apic->timer_icr = val;
	apic->timer_start_ns = emu_irqchip_now(apic->chip);
	lapic_timer_arm(apic, val ? apic->timer_start_ns +
			lapic_period_ns(apic) : 0);
}

void lapic_timer_set_dcr(struct lapic *apic, uint32_t val)
{
	uint32_t cur = lapic_timer_current(apic);
	uint64_t now;

	apic->timer_dcr = val & 0xb;
	if (!cur)
		return;
	/* Keep counting from the current value at the new rate. */
	now = emu_irqchip_now(apic->chip);
	apic->timer_start_ns = now - (uint64_t)(apic->timer_icr - cur) *
				     lapic_tick_ns(apic);
	lapic_timer_arm(apic, now + cur * lapic_tick_ns(apic));
}

uint64_t lapic_timer_get_tsc_deadline(struct lapic *apic)
{
	if (lapic_timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
		return 0;
	return apic->tsc_deadline;
}

void lapic_timer_set_tsc_deadline(struct lapic *apic, uint64_t tsc)
{
	uint64_t ns;

	if (lapic_timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
		return;
	apic->tsc_deadline = tsc;
	ns = emu_tsc_to_ns(tsc);
	lapic_timer_arm(apic, tsc ? (ns ? ns : 1) : 0);
}

uint64_t lapic_timer_deadline(struct lapic *apic)
{
	return atomic_load(&apic->timer_ns);
}

void lapic_timer_expire(struct lapic *apic, uint64_t now_ns)
{
	uint64_t due, period;
	uint32_t lvt;
	bool wake;

	pthread_mutex_lock(&apic->lock);
	due = atomic_load(&apic->timer_ns);
	if (!due || due > now_ns) {
		pthread_mutex_unlock(&apic->lock);
		return;
	}
	if (lapic_timer_mode(apic) == APIC_TIMER_PERIODIC && apic->timer_icr) {
		/* Late by several periods: fire once, stay on the grid. */
		period = lapic_period_ns(apic);
		due += ((now_ns - due) / period + 1) * period;
		atomic_store(&apic->timer_ns, due);
	} else {
		apic->tsc_deadline = 0;
		atomic_store(&apic->timer_ns, 0);
	}
	lvt = apic->lvt[LVT_TIMER];
	if (!(lvt & APIC_LVT_MASKED))
		lapic_set_irr(apic, lvt & 0xff, false);
	wake = atomic_load(&apic->hint);
	pthread_mutex_unlock(&apic->lock);
	if (wake)
		irqchip_wake(apic->chip, apic->cpu);
}
