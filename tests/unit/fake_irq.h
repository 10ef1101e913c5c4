/* SPDX-License-Identifier: MIT */
/*
 * A VM with port and MMIO buses but no vCPUs, behind a stand-in
 * accelerator that records each IOAPIC line's level and counts its rising
 * edges. Device timers raise lines from other threads, hence the lock.
 */
#ifndef CVISOR_TEST_FAKE_IRQ_H
#define CVISOR_TEST_FAKE_IRQ_H

#include <pthread.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "vmm/vm.h"

static int irq_level[IRQ_IOAPIC_PINS];
static int irq_raises[IRQ_IOAPIC_PINS];
static pthread_mutex_t irq_lock = PTHREAD_MUTEX_INITIALIZER;

static int fake_set_irq(struct vm *vm, unsigned gsi, int level)
{
	(void)vm;
	if (gsi >= IRQ_IOAPIC_PINS)
		return -1;
	pthread_mutex_lock(&irq_lock);
	if (level && !irq_level[gsi])
		irq_raises[gsi]++;
	irq_level[gsi] = level;
	pthread_mutex_unlock(&irq_lock);
	return 0;
}

static const struct accel_ops fake_accel = {
	.name = "fake",
	.set_irq = fake_set_irq,
};

static void fake_irq_vm_init(struct vm *vm, struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_raises, 0, sizeof(irq_raises));
	cfg->nr_cpus = 1;
	vm->cfg = cfg;
	vm->accel = &fake_accel;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
}

static void fake_irq_vm_destroy(struct vm *vm)
{
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
}

#endif
