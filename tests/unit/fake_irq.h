/* SPDX-License-Identifier: MIT */
/*
 * A VM with port and MMIO buses but no vCPUs, and an interrupt controller
 * that records each IOAPIC line's level and counts its rising edges.
 * Device timers raise lines from other threads, hence the lock. Devices
 * are created on fake_env(&vm); power events end the VM as in vm.c.
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

static int fake_set_irq(void *opaque, unsigned gsi, int level)
{
	(void)opaque;
	if (gsi >= IRQ_IOAPIC_PINS)
		return -1;
	pthread_mutex_lock(&irq_lock);
	if (level && !irq_level[gsi])
		irq_raises[gsi]++;
	irq_level[gsi] = level;
	pthread_mutex_unlock(&irq_lock);
	return 0;
}

static const struct irq_chip_ops fake_irq_ops = {
	.set_irq = fake_set_irq,
};

/* The devices a test made, by kind; fake_destroy(&dev) is idempotent. */
static struct device *rtc_dev __attribute__((unused));
static struct device *kbd_dev __attribute__((unused));
static struct device *pvpanic_dev __attribute__((unused));
static struct device *pm_dev __attribute__((unused));

static void fake_destroy(struct device **dev)
{
	if (*dev)
		(*dev)->ops->destroy(*dev);
	*dev = NULL;
}

/* What devices of vm are created with; follows vm->loop and vm->mem. */
static struct dev_env *fake_env(struct vm *vm)
{
	vm->irq = (struct irq_chip){ &fake_irq_ops, vm };
	vm->env = (struct dev_env){
		.pio = &vm->pio, .mmio = &vm->mmio, .mem = &vm->mem,
		.loop = vm->loop, .irq = &vm->irq,
		.power = { vm_power_event, vm }, .nr_vcpus = 1,
	};
	return &vm->env;
}

static void fake_irq_vm_init(struct vm *vm, struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_raises, 0, sizeof(irq_raises));
	cfg->nr_cpus = 1;
	vm->cfg = cfg;
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
