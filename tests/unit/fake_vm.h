/* SPDX-License-Identifier: MIT */
/*
 * An interrupt controller for device tests, through the same seam the VM
 * uses (struct dev_env): it records the last interrupt (atomically: device
 * threads raise them), and the devices a test creates are kept in a list
 * that fake_pci_destroy tears down in reverse order, as the VM does.
 * Include in exactly one file of a test binary.
 */
#ifndef CVISOR_TEST_FAKE_VM_H
#define CVISOR_TEST_FAKE_VM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/pci.h"
#include "vmm/vm.h"

static unsigned fake_irq_gsi;
static int fake_irq_level = -1;
static unsigned fake_nr_msi;
static uint64_t fake_msi_addr;
static uint32_t fake_msi_data;

static int fake_set_irq(void *v, unsigned gsi, int level)
{
	(void)v;
	__atomic_store_n(&fake_irq_gsi, gsi, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fake_irq_level, level, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_send_msi(void *v, uint64_t addr, uint32_t data)
{
	(void)v;
	__atomic_store_n(&fake_msi_addr, addr, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fake_msi_data, data, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fake_nr_msi, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * In-kernel MSI routes: none (as under emu) unless a test sets
 * fake_msi_routes; then each route is a plain eventfd the test reads to
 * count deliveries, and the last route change is recorded.
 */
static bool fake_msi_routes;
static int fake_route_error;		/* when set, adds fail with it */
static unsigned fake_nr_routes;		/* routes alive */
static unsigned fake_nr_route_changes;	/* adds and updates */
static int fake_route_fd = -1;		/* last added or updated */
static uint64_t fake_route_addr;
static uint32_t fake_route_data;

static int fake_route_add(void *v, uint64_t addr, uint32_t data)
{
	int fd;

	(void)v;
	if (!fake_msi_routes)
		return -ENOSYS;
	if (fake_route_error)
		return fake_route_error;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	fake_nr_routes++;
	fake_nr_route_changes++;
	fake_route_fd = fd;
	fake_route_addr = addr;
	fake_route_data = data;
	return fd;
}

static int fake_route_update(void *v, int fd, uint64_t addr,
			     uint32_t data)
{
	(void)v;
	fake_nr_route_changes++;
	fake_route_fd = fd;
	fake_route_addr = addr;
	fake_route_data = data;
	return 0;
}

static void fake_route_del(void *v, int fd)
{
	(void)v;
	fake_nr_routes--;
	close(fd);
}

/*
 * No ioeventfd in the interrupt controller: devices fall back to bus
 * handlers, as they do under emu.
 */
static const struct irq_chip_ops fake_irq_ops = {
	.set_irq = fake_set_irq,
	.send_msi = fake_send_msi,
	.msi_route_add = fake_route_add,
	.msi_route_update = fake_route_update,
	.msi_route_del = fake_route_del,
};

/* Devices made by the test, in creation order. */
static struct device *fake_devs[16];
static int fake_nr_devs;
static struct device *fake_new_dev;	/* out parameter for creators */

/* What devices of vm are created with; follows vm's fields. */
static struct dev_env *fake_env(struct vm *vm)
{
	vm->irq = (struct irq_chip){ &fake_irq_ops, vm };
	vm->env = (struct dev_env){
		.pio = &vm->pio, .mmio = &vm->mmio, .mem = &vm->mem,
		.loop = vm->loop, .irq = &vm->irq, .pci = vm->pci,
		.power = { vm_power_event, vm },
		.nr_vcpus = vm->nr_vcpus ? vm->nr_vcpus : 1,
	};
	return &vm->env;
}

/* Keep fake_new_dev when a creator returned 0; returns ret. */
static int fake_added(int ret)
{
	if (!ret && fake_nr_devs < 16)
		fake_devs[fake_nr_devs++] = fake_new_dev;
	return ret;
}

/* Bus 0 with its host bridge, as the first device. */
static __attribute__((unused)) int fake_pci_init(struct vm *vm)
{
	int ret = pci_host_create(fake_env(vm), &fake_new_dev);

	if (!ret) {
		vm->pci = pci_host_bus(fake_new_dev);
		fake_env(vm);
	}
	return fake_added(ret);
}

/* Every device the test made, newest first, then the bus. */
static __attribute__((unused)) void fake_pci_destroy(struct vm *vm)
{
	while (fake_nr_devs > 0) {
		struct device *dev = fake_devs[--fake_nr_devs];

		dev->ops->destroy(dev);
	}
	vm->pci = NULL;
	vm->balloon = NULL;
}

#endif
