// SPDX-License-Identifier: MIT
/*
 * Local APIC: registers, priorities and interrupt acceptance (Intel SDM
 * vol. 3A, chapter 11). The xAPIC page and the x2APIC MSRs (lapic_msr.c)
 * share the register code here; the timer is in lapic_timer.c.
 */
#include "accel/emu/lapic_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

static int reg_highest(const uint32_t r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static bool reg_test(const uint32_t r[8], int v)
{
	return r[v >> 5] & (1u << (v & 31));
}

static void reg_set(uint32_t r[8], int v, bool on)
{
	if (on)
		r[v >> 5] |= 1u << (v & 31);
	else
		r[v >> 5] &= ~(1u << (v & 31));
}

static uint32_t lapic_ppr(const struct lapic *apic)
{
	int isrv = reg_highest(apic->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	if ((apic->tpr & 0xf0) >= isr_class)
		return apic->tpr & 0xff;
	return isr_class;
}

/* The IRR vector the processor would take now, or -1. */
static int lapic_deliverable(const struct lapic *apic)
{
	int v = reg_highest(apic->irr);

	if (v < 0 || ((uint32_t)v & 0xf0) <= (lapic_ppr(apic) & 0xf0))
		return -1;
	return v;
}

void lapic_update_hint(struct lapic *apic)
{
	uint32_t lint0 = apic->lvt[LVT_LINT0];
	bool ext = !lapic_hw_enabled(apic) || apic->extint_msg ||
		   (!(lint0 & APIC_LVT_MASKED) &&
		    APIC_LVT_DM(lint0) == APIC_DM_EXTINT);

	atomic_store(&apic->extint_ok, ext);
	atomic_store(&apic->has_events, apic->events != 0);
	atomic_store(&apic->hint,
		     apic->events || lapic_deliverable(apic) >= 0);
}

void lapic_set_irr(struct lapic *apic, int vector, bool level)
{
	if (vector < 16) {
		lapic_error(apic, APIC_ESR_RECV_ILLEGAL);
		return;
	}
	reg_set(apic->irr, vector, true);
	reg_set(apic->tmr, vector, level);
	lapic_update_hint(apic);
}

void lapic_error(struct lapic *apic, uint32_t esr_bit)
{
	uint32_t lvt = apic->lvt[LVT_ERROR];

	apic->esr_pending |= esr_bit;
	/* A bad error vector must not recurse into another error. */
	if (!(lvt & APIC_LVT_MASKED) && (lvt & 0xff) >= 16)
		lapic_set_irr(apic, lvt & 0xff, false);
}

/* Power-up / INIT state of everything but the ID and IA32_APIC_BASE. */
void lapic_reset_regs(struct lapic *apic)
{
	apic->tpr = 0;
	apic->ldr = 0;
	apic->dfr = 0xffffffff;
	apic->svr = 0xff;
	apic->esr = apic->esr_pending = 0;
	apic->icr_lo = apic->icr_hi = 0;
	for (int i = 0; i < LVT_NR; i++)
		apic->lvt[i] = APIC_LVT_MASKED;
	memset(apic->irr, 0, sizeof(apic->irr));
	memset(apic->isr, 0, sizeof(apic->isr));
	memset(apic->tmr, 0, sizeof(apic->tmr));
	apic->timer_icr = apic->timer_dcr = 0;
	apic->tsc_deadline = 0;
	apic->extint_msg = false;
	atomic_store(&apic->timer_ns, 0);
	if (lapic_x2apic(apic))
		apic->ldr = ((apic->id >> 4) << 16) | (1u << (apic->id & 15));
	lapic_update_hint(apic);
}

struct lapic *lapic_create(struct emu_irqchip *chip, int cpu, uint32_t apic_id)
{
	struct lapic *apic = calloc(1, sizeof(*apic));

	if (!apic)
		return NULL;
	if (pthread_mutex_init(&apic->lock, NULL)) {
		free(apic);
		return NULL;
	}
	apic->chip = chip;
	apic->cpu = cpu;
	apic->id = apic->initial_id = apic_id;
	apic->extint_vector = -1;
	apic->apic_base = LAYOUT_LAPIC_ADDR | APIC_BASE_EN |
			  (cpu == 0 ? APIC_BASE_BSP : 0);
	lapic_reset_regs(apic);
	/*
	 * Firmware leaves the BSP in virtual-wire mode: the 8259's INT
	 * reaches it through LINT0 until the OS sets up the APICs.
	 */
	if (cpu == 0)
		apic->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	apic->lvt[LVT_LINT1] = APIC_DM_NMI << 8;
	lapic_update_hint(apic);
	return apic;
}

void lapic_destroy(struct lapic *apic)
{
	if (!apic)
		return;
	pthread_mutex_destroy(&apic->lock);
	free(apic);
}

static uint32_t lapic_bank(const uint32_t r[8], uint32_t reg, uint32_t base)
{
	return r[(reg - base) >> 4];
}

bool lapic_reg_read(struct lapic *apic, uint32_t reg, uint32_t *val)
{
	bool x2 = lapic_x2apic(apic);

	switch (reg) {
	case APIC_ID:
		*val = x2 ? apic->id : apic->id << 24;
		return true;
	case APIC_VERSION:
		*val = APIC_VERSION_VAL;
		return true;
	case APIC_TPR:
		*val = apic->tpr;
		return true;
	case APIC_APR:
	case APIC_RRD:
		*val = 0;
		return !x2;
	case APIC_PPR:
		*val = lapic_ppr(apic);
		return true;
	case APIC_EOI:
		*val = 0;
		return !x2;
	case APIC_LDR:
		*val = apic->ldr;
		return true;
	case APIC_DFR:
		*val = apic->dfr;
		return !x2;
	case APIC_SVR:
		*val = apic->svr;
		return true;
	case APIC_ISR ... APIC_ISR + 0x70:
		*val = lapic_bank(apic->isr, reg, APIC_ISR);
		return true;
	case APIC_TMR ... APIC_TMR + 0x70:
		*val = lapic_bank(apic->tmr, reg, APIC_TMR);
		return true;
	case APIC_IRR ... APIC_IRR + 0x70:
		*val = lapic_bank(apic->irr, reg, APIC_IRR);
		return true;
	case APIC_ESR:
		*val = apic->esr;
		return true;
	case APIC_ICR_LO:
		/* Delivery is instantaneous: the status bit always reads idle. */
		*val = apic->icr_lo & ~(1u << 12);
		return true;
	case APIC_ICR_HI:
		*val = apic->icr_hi;
		return !x2;
	case APIC_LVT_TIMER ... APIC_LVT_ERROR:
		*val = apic->lvt[(reg - APIC_LVT_TIMER) >> 4];
		return true;
	case APIC_TMICT:
		*val = apic->timer_icr;
		return true;
	case APIC_TMCCT:
		*val = lapic_timer_current(apic);
		return true;
	case APIC_TDCR:
		*val = apic->timer_dcr;
		return true;
	default:
		return false;
	}
}

static void lapic_eoi(struct lapic *apic, struct lapic_after *after)
{
	int v = reg_highest(apic->isr);

	if (v < 0)
		return;
	reg_set(apic->isr, v, false);
	if (reg_test(apic->tmr, v))
		after->eoi_vector = v;
	lapic_update_hint(apic);
}

static void lapic_write_svr(struct lapic *apic, uint32_t val)
{
	apic->svr = val & 0x3ff;
	if (!lapic_sw_enabled(apic))
		for (int i = 0; i < LVT_NR; i++)
			apic->lvt[i] |= APIC_LVT_MASKED;
	lapic_update_hint(apic);
}

const uint32_t lapic_lvt_writable[LVT_NR] = {
	[LVT_TIMER] = 0x700ff,
	[LVT_THERM] = 0x107ff,
	[LVT_PERF] = 0x107ff,
	[LVT_LINT0] = 0x1a7ff,
	[LVT_LINT1] = 0x1a7ff,
	[LVT_ERROR] = 0x100ff,
};

static void lapic_write_lvt(struct lapic *apic, int idx, uint32_t val)
{
	val &= lapic_lvt_writable[idx];
	if (!lapic_sw_enabled(apic))
		val |= APIC_LVT_MASKED;
	if (idx == LVT_TIMER)
		lapic_timer_set_lvt(apic, val);
	else
		apic->lvt[idx] = (apic->lvt[idx] & ~lapic_lvt_writable[idx]) | val;
	lapic_update_hint(apic);
}

bool lapic_reg_write(struct lapic *apic, uint32_t reg, uint32_t val,
		     struct lapic_after *after)
{
	bool x2 = lapic_x2apic(apic);

	switch (reg) {
	case APIC_ID:
		if (x2)
			return false;
		apic->id = val >> 24;
		return true;
	case APIC_TPR:
		apic->tpr = val & 0xff;
		lapic_update_hint(apic);
		return true;
	case APIC_EOI:
		lapic_eoi(apic, after);
		return !(x2 && val);
	case APIC_LDR:
		if (x2)
			return false;
		apic->ldr = val & 0xff000000;
		return true;
	case APIC_DFR:
		if (x2)
			return false;
		apic->dfr = (val & 0xf0000000) | 0x0fffffff;
		return true;
	case APIC_SVR:
		lapic_write_svr(apic, val);
		return true;
	case APIC_ESR:
		apic->esr = apic->esr_pending;
		apic->esr_pending = 0;
		return !(x2 && val);
	case APIC_ICR_LO:
		if (x2)
			return false;	/* 0x830 is written whole, in lapic_msr.c */
		lapic_send_icr(apic, val, apic->icr_hi >> 24, after);
		return true;
	case APIC_ICR_HI:
		if (x2)
			return false;
		apic->icr_hi = val & 0xff000000;
		return true;
	case APIC_LVT_TIMER ... APIC_LVT_ERROR:
		lapic_write_lvt(apic, (reg - APIC_LVT_TIMER) >> 4, val);
		return true;
	case APIC_TMICT:
		lapic_timer_set_icr(apic, val);
		return true;
	case APIC_TDCR:
		lapic_timer_set_dcr(apic, val);
		return true;
	case APIC_SELF_IPI:
		if (!x2)
			return false;
		lapic_set_irr(apic, val & 0xff, false);
		return true;
	default:
		/* read-only or missing */
		return false;
	}
}

void lapic_send_icr(struct lapic *apic, uint32_t lo, uint32_t dest,
		    struct lapic_after *after)
{
	struct apic_msg *m = &after->msg;

	apic->icr_lo = lo & 0xccfff;
	*m = (struct apic_msg){
		.dest = dest,
		.vector = lo & 0xff,
		.mode = (lo >> 8) & 7,
		.logical = lo & (1u << 11),
		.assert = lo & (1u << 14),
		.level = lo & (1u << 15),
		.shorthand = (lo >> 18) & 3,
		.dest8 = !lapic_x2apic(apic),
		.src = apic->cpu,
	};
	if ((m->mode == APIC_DM_FIXED || m->mode == APIC_DM_LOWEST) &&
	    m->vector < 16) {
		lapic_error(apic, APIC_ESR_SEND_ILLEGAL);
		return;
	}
	after->send = true;
}

void lapic_after_write(struct lapic *apic, const struct lapic_after *after)
{
	if (after->send)
		apic_bus_deliver(apic->chip, &after->msg);
	if (after->eoi_vector >= 0)
		ioapic_eoi(apic->chip->ioapic, after->eoi_vector);
}

/* The xAPIC page: 32-bit accesses to 16-byte aligned registers. */
static bool lapic_mmio_check(struct lapic *apic, uint32_t offset)
{
	if (offset > 0xffc || (offset & 3)) {
		log_limited(&apic->log, "lapic %d: bad xAPIC access at offset %#x",
			    apic->cpu, offset);
		return false;
	}
	return lapic_hw_enabled(apic) && !lapic_x2apic(apic);
}

uint32_t lapic_mmio_read(struct lapic *apic, uint32_t offset)
{
	uint32_t val = 0;

	if (!lapic_mmio_check(apic, offset) || (offset & 0xf))
		return 0;
	pthread_mutex_lock(&apic->lock);
	if (!lapic_reg_read(apic, offset, &val))
		lapic_error(apic, APIC_ESR_ILLEGAL_REG);
	pthread_mutex_unlock(&apic->lock);
	return val;
}

void lapic_mmio_write(struct lapic *apic, uint32_t offset, uint32_t val)
{
	struct lapic_after after = { .eoi_vector = -1 };

	if (!lapic_mmio_check(apic, offset) || (offset & 0xf))
		return;
	pthread_mutex_lock(&apic->lock);
	/* Writes to read-only registers are ignored, to holes flagged. */
	if (!lapic_reg_write(apic, offset, val, &after) &&
	    !lapic_reg_read(apic, offset, &val))
		lapic_error(apic, APIC_ESR_ILLEGAL_REG);
	pthread_mutex_unlock(&apic->lock);
	lapic_after_write(apic, &after);
}

bool lapic_match_dest(struct lapic *apic, const struct apic_msg *m)
{
	bool hit = false;

	pthread_mutex_lock(&apic->lock);
	if (!lapic_hw_enabled(apic))
		goto out;
	if (m->dest8 && m->dest == 0xff) {
		hit = true;		/* 8-bit broadcast, either mode */
	} else if (lapic_x2apic(apic)) {
		if (m->dest == 0xffffffff)
			hit = true;
		else if (!m->logical)
			hit = m->dest == apic->id;
		else
			hit = (m->dest >> 16) == (apic->ldr >> 16) &&
			      (m->dest & apic->ldr & 0xffff);
	} else if (!m->logical) {
		hit = (m->dest & 0xff) == (apic->id & 0xff);
	} else if ((apic->dfr >> 28) == 0xf) {
		hit = (m->dest & (apic->ldr >> 24)) != 0;	/* flat */
	} else {
		uint32_t ldr = apic->ldr >> 24;			/* cluster */

		hit = (m->dest >> 4) == (ldr >> 4) && (m->dest & ldr & 0xf);
	}
out:
	pthread_mutex_unlock(&apic->lock);
	return hit;
}

bool lapic_receive(struct lapic *apic, const struct apic_msg *m)
{
	bool wake = false;

	pthread_mutex_lock(&apic->lock);
	if (!lapic_hw_enabled(apic))
		goto out;
	switch (m->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!lapic_sw_enabled(apic))
			break;
		lapic_set_irr(apic, m->vector, m->level);
		wake = atomic_load(&apic->hint);
		break;
	case APIC_DM_NMI:
		apic->events |= LAPIC_EV_NMI;
		wake = true;
		break;
	case APIC_DM_INIT:
		/* INIT level de-assert only resynchronises arbitration IDs. */
		if (m->level && !m->assert)
			break;
		lapic_reset_regs(apic);
		apic->events = (apic->events & ~LAPIC_EV_SIPI) | LAPIC_EV_INIT;
		wake = true;
		break;
	case APIC_DM_SIPI:
		apic->events |= LAPIC_EV_SIPI;
		apic->sipi_vector = m->vector;
		wake = true;
		break;
	case APIC_DM_EXTINT:
		apic->extint_msg = true;
		wake = true;
		break;
	default:
		log_limited(&apic->log, "lapic %d: delivery mode %u not "
			    "supported", apic->cpu, m->mode);
		break;
	}
	lapic_update_hint(apic);
out:
	pthread_mutex_unlock(&apic->lock);
	return wake;
}

bool lapic_accepts_pic(struct lapic *apic)
{
	return atomic_load(&apic->extint_ok);
}

bool lapic_maybe_pending(struct lapic *apic)
{
	return atomic_load_explicit(&apic->hint, memory_order_acquire) ||
	       (atomic_load_explicit(&apic->extint_ok, memory_order_relaxed) &&
		pic_intr_output(apic->chip->pic));
}

void lapic_hint_flags(struct lapic *apic, const atomic_bool **hint,
		      const atomic_bool **extint_ok)
{
	*hint = &apic->hint;
	*extint_ok = &apic->extint_ok;
}

int lapic_pending_vector(struct lapic *apic)
{
	int v;

	apic->extint_vector = -1;
	/* ExtINT bypasses the APIC's priorities: the 8259 has its own. */
	if (atomic_load(&apic->extint_ok)) {
		v = pic_peek_vector(apic->chip->pic);
		if (v >= 0) {
			apic->extint_vector = v;
			return v;
		}
	}
	pthread_mutex_lock(&apic->lock);
	v = lapic_deliverable(apic);
	pthread_mutex_unlock(&apic->lock);
	return v;
}

void lapic_accept(struct lapic *apic, int vector)
{
	if (vector < 0 || vector > 255)
		return;
	if (vector == apic->extint_vector) {
		apic->extint_vector = -1;
		pthread_mutex_lock(&apic->lock);
		apic->extint_msg = false;
		lapic_update_hint(apic);
		pthread_mutex_unlock(&apic->lock);
		pic_intack(apic->chip->pic, vector);
		return;
	}
	apic->extint_vector = -1;
	pthread_mutex_lock(&apic->lock);
	if (reg_test(apic->irr, vector)) {
		reg_set(apic->irr, vector, false);
		reg_set(apic->isr, vector, true);
		lapic_update_hint(apic);
	}
	pthread_mutex_unlock(&apic->lock);
}

unsigned lapic_take_events(struct lapic *apic, uint8_t *sipi_vector)
{
	unsigned ev;

	/* Called at every poll while IF=0 holds an interrupt back. */
	if (!atomic_load(&apic->has_events))
		return 0;
	pthread_mutex_lock(&apic->lock);
	ev = apic->events;
	apic->events = 0;
	if ((ev & LAPIC_EV_SIPI) && sipi_vector)
		*sipi_vector = apic->sipi_vector;
	lapic_update_hint(apic);
	pthread_mutex_unlock(&apic->lock);
	return ev;
}

uint64_t lapic_get_cr8(struct lapic *apic)
{
	uint64_t cr8;

	pthread_mutex_lock(&apic->lock);
	cr8 = (apic->tpr >> 4) & 0xf;
	pthread_mutex_unlock(&apic->lock);
	return cr8;
}

void lapic_set_cr8(struct lapic *apic, uint64_t cr8)
{
	pthread_mutex_lock(&apic->lock);
	apic->tpr = (cr8 & 0xf) << 4;
	lapic_update_hint(apic);
	pthread_mutex_unlock(&apic->lock);
}
