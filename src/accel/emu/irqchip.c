// SPDX-License-Identifier: MIT
/*
 * The emu accelerator's interrupt controllers as one unit: construction,
 * device interrupt lines and MSIs, the APIC bus that carries interrupt
 * messages to the LAPICs, and the timer thread behind the LAPIC timers and
 * PIT channel 0.
 *
 * Locks, outermost first:
 *
 *   1. vm->pio / vm->mmio bus rwlock (held while a device callback runs)
 *   2. one controller mutex: a LAPIC, the IOAPIC, the PIC pair or the PIT
 *   3. the timer thread's mutex (irqchip_timer_kick)
 *
 * A thread holds at most one controller mutex. A controller that must reach
 * another one (an IPI, an EOI broadcast, the PIT's IRQ 0, an IOAPIC
 * delivery, INTA of the PIC) first records what to do, drops its own mutex,
 * then calls the other side. wake() is always called with no controller
 * mutex held. The timer thread reads the published deadlines (atomics)
 * under its own mutex and takes a controller mutex only after dropping it.
 */
#include "accel/emu/irqchip.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/emu/irqchip_priv.h"
#include "accel/emu/tsc.h"
#include "vmm/log.h"
#include "vmm/state.h"
#include "vmm/vm.h"

struct irqchip_priv {
	void (*wake)(void *opaque, int cpu);
	void *opaque;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* on CLOCK_MONOTONIC */
	bool kicked;
	bool stop;
};

static struct irqchip_priv *irqchip_priv(struct emu_irqchip *chip)
{
	return chip->timer_priv;
}

void irqchip_wake(struct emu_irqchip *chip, int cpu)
{
	struct irqchip_priv *p = irqchip_priv(chip);

	if (p->wake)
		p->wake(p->opaque, cpu);
}

void irqchip_timer_kick(struct emu_irqchip *chip)
{
	struct irqchip_priv *p = irqchip_priv(chip);

	pthread_mutex_lock(&p->lock);
	p->kicked = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static uint64_t irqchip_next_deadline(struct emu_irqchip *chip)
{
	uint64_t next = pit_timer_deadline(chip->pit), d;

	for (int i = 0; i < chip->nr_cpus; i++) {
		d = lapic_timer_deadline(chip->lapics[i]);
		if (d && (!next || d < next))
			next = d;
	}
	return next;
}

static void irqchip_fire_timers(struct emu_irqchip *chip, uint64_t now)
{
	uint64_t d;

	for (int i = 0; i < chip->nr_cpus; i++) {
		d = lapic_timer_deadline(chip->lapics[i]);
		if (d && d <= now)
			lapic_timer_expire(chip->lapics[i], now);
	}
	d = pit_timer_deadline(chip->pit);
	if (d && d <= now)
		pit_timer_expire(chip->pit, now);
}

/* Sleeps until the earliest deadline or a kick; never polls. */
static void *irqchip_timer_thread(void *arg)
{
	struct emu_irqchip *chip = arg;
	struct irqchip_priv *p = irqchip_priv(chip);
	struct timespec ts;
	uint64_t next;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		next = irqchip_next_deadline(chip);
		if (!p->kicked && !next) {
			pthread_cond_wait(&p->cond, &p->lock);
		} else if (!p->kicked && next > emu_irqchip_now(chip)) {
			/* the condition variable runs on CLOCK_MONOTONIC */
			next -= atomic_load(&chip->clock_offset);
			ts.tv_sec = next / 1000000000ull;
			ts.tv_nsec = next % 1000000000ull;
			pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		}
		p->kicked = false;
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->lock);
		irqchip_fire_timers(chip, emu_irqchip_now(chip));
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int irqchip_timer_start(struct emu_irqchip *chip)
{
	struct irqchip_priv *p = irqchip_priv(chip);
	pthread_condattr_t attr;
	int ret;

	ret = pthread_condattr_init(&attr);
	if (ret)
		return -ret;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		return -ret;
	ret = pthread_create(&p->thread, NULL, irqchip_timer_thread, chip);
	if (ret) {
		pthread_cond_destroy(&p->cond);
		return -ret;
	}
	p->thread_started = true;
	return 0;
}

static void irqchip_timer_stop(struct emu_irqchip *chip)
{
	struct irqchip_priv *p = irqchip_priv(chip);

	if (!p->thread_started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->thread_started = false;
	pthread_cond_destroy(&p->cond);
}

int emu_irqchip_init(struct emu_irqchip *chip, struct vm *vm, int nr_cpus,
		     void (*wake)(void *opaque, int cpu), void *opaque)
{
	struct irqchip_priv *p;
	int ret = -ENOMEM;

	if (nr_cpus < 1 || nr_cpus > MAX_VCPUS)
		return -EINVAL;
	memset(chip, 0, sizeof(*chip));
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->wake = wake;
	p->opaque = opaque;
	pthread_mutex_init(&p->lock, NULL);
	chip->timer_priv = p;
	chip->vm = vm;
	chip->nr_cpus = nr_cpus;

	for (int i = 0; i < nr_cpus; i++) {
		chip->lapics[i] = lapic_create(chip, i,
					       topology_apic_id(&vm->topo, i));
		if (!chip->lapics[i])
			goto err;
	}
	chip->pic = pic_create(chip);
	if (!chip->pic)
		goto err;
	chip->ioapic = ioapic_create(chip);
	if (!chip->ioapic)
		goto err;
	chip->pit = pit_create(chip);
	if (!chip->pit)
		goto err;
	ret = irqchip_timer_start(chip);
	if (ret)
		goto err;
	return 0;
err:
	emu_irqchip_destroy(chip);
	return ret;
}

void emu_irqchip_destroy(struct emu_irqchip *chip)
{
	struct irqchip_priv *p = irqchip_priv(chip);

	if (!p)
		return;
	irqchip_timer_stop(chip);
	pit_destroy(chip->pit);
	ioapic_destroy(chip->ioapic);
	pic_destroy(chip->pic);
	for (int i = 0; i < chip->nr_cpus; i++)
		lapic_destroy(chip->lapics[i]);
	pthread_mutex_destroy(&p->lock);
	free(p);
	memset(chip, 0, sizeof(*chip));
}

void emu_irqchip_restore_clock(struct emu_irqchip *chip, uint64_t guest_ns)
{
	if (chip->clock_restored)
		return;
	chip->clock_restored = true;
	atomic_store(&chip->clock_offset,
		     (int64_t)(guest_ns - emu_monotonic_ns()));
	irqchip_timer_kick(chip);
}

void emu_irqchip_save(struct emu_irqchip *chip, struct state_writer *w)
{
	state_put_u64(w, emu_irqchip_now(chip));
	ioapic_save(chip->ioapic, w);
	pic_save(chip->pic, w);
	pit_save(chip->pit, w);
}

int emu_irqchip_load(struct emu_irqchip *chip, struct state_reader *r)
{
	uint64_t now;
	int ret;

	ret = state_get_u64(r, &now);
	if (ret)
		return state_fail(r, "emu: section too short");
	emu_irqchip_restore_clock(chip, now);
	ret = ioapic_load(chip->ioapic, r);
	if (!ret)
		ret = pic_load(chip->pic, r);
	if (!ret)
		ret = pit_load(chip->pit, r);
	return ret;
}

void emu_irqchip_set_irq(struct emu_irqchip *chip, unsigned gsi, int level)
{
	if (gsi >= IRQ_IOAPIC_PINS) {
		log_limited(&chip->log, "irqchip: set_irq on GSI %u, beyond "
			    "the IOAPIC", gsi);
		return;
	}
	ioapic_set_irq(chip->ioapic, gsi, level);
	/* IRQ 2 of the 8259 pair is the cascade, not an input. */
	if (gsi < 16 && gsi != 2)
		pic_set_irq(chip->pic, gsi, level);
}

void emu_irqchip_send_msi(struct emu_irqchip *chip, uint64_t addr,
			  uint32_t data)
{
	struct apic_msg m = {
		.dest = (addr >> 12) & 0xff,
		.logical = addr & (1u << 2),
		.vector = data & 0xff,
		.mode = (data >> 8) & 7,
		.level = data & (1u << 15),
		.assert = true,
		.dest8 = true,
		.src = -1,
	};

	if ((addr >> 20) != 0xfee) {
		log_limited(&chip->log, "irqchip: MSI to %#llx outside "
			    "0xFEExxxxx dropped", (unsigned long long)addr);
		return;
	}
	apic_bus_deliver(chip, &m);
}

static bool apic_bus_selects(struct emu_irqchip *chip, int cpu,
			     const struct apic_msg *m)
{
	switch (m->shorthand) {
	case APIC_SH_SELF:
		return cpu == m->src;
	case APIC_SH_ALL:
		return true;
	case APIC_SH_ALL_BUT_SELF:
		return cpu != m->src;
	default:
		return lapic_match_dest(chip->lapics[cpu], m);
	}
}

int apic_bus_deliver(struct emu_irqchip *chip, const struct apic_msg *m)
{
	int accepted = 0;

	for (int cpu = 0; cpu < chip->nr_cpus; cpu++) {
		if (!apic_bus_selects(chip, cpu, m))
			continue;
		if (lapic_receive(chip->lapics[cpu], m))
			irqchip_wake(chip, cpu);
		accepted++;
		/* Lowest priority: the first CPU named takes it. */
		if (m->mode == APIC_DM_LOWEST && m->shorthand == APIC_SH_NONE)
			break;
	}
	return accepted;
}

void irqchip_pic_intr(struct emu_irqchip *chip)
{
	for (int cpu = 0; cpu < chip->nr_cpus; cpu++)
		if (lapic_accepts_pic(chip->lapics[cpu]))
			irqchip_wake(chip, cpu);
}
