// SPDX-License-Identifier: MIT
#include "vmm/vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "devices/debug.h"
#include "devices/pci.h"
#include "devices/legacy.h"
#include "devices/uart.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason,
		     const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		vm->exit_reason = reason;
		va_start(ap, fmt);
		vsnprintf(vm->exit_msg, sizeof(vm->exit_msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&vm->stopping, true);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].accel_data)
			vm->accel->vcpu_kick(&vm->vcpus[i]);
}

int vm_set_irq(struct vm *vm, unsigned gsi, int level)
{
	return vm->accel->set_irq(vm, gsi, level);
}

int vm_send_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return vm->accel->send_msi(vm, addr, data);
}

int vm_msi_route_add(struct vm *vm, uint64_t addr, uint32_t data)
{
	if (!vm->accel->msi_route_add)
		return -ENOSYS;
	return vm->accel->msi_route_add(vm, addr, data);
}

int vm_msi_route_update(struct vm *vm, int fd, uint64_t addr, uint32_t data)
{
	return vm->accel->msi_route_update(vm, fd, addr, data);
}

void vm_msi_route_del(struct vm *vm, int fd)
{
	vm->accel->msi_route_del(vm, fd);
}

static const struct accel_ops *vm_pick_accel(struct vm *vm)
{
	const char *name = vm->cfg->accel ? vm->cfg->accel : "kvm";

	if (!strcmp(name, "kvm:emu"))
		return accel_find("kvm");
	return accel_find(name);
}

/* Bring up the accelerator, falling back from KVM to emu for "kvm:emu". */
static int vm_init_accel(struct vm *vm)
{
	const char *name = vm->cfg->accel ? vm->cfg->accel : "kvm";
	int ret;

	vm->accel = vm_pick_accel(vm);
	if (!vm->accel) {
		log_error("unknown accelerator '%s' (use kvm, emu or kvm:emu)",
			  name);
		return -EINVAL;
	}
	ret = vm->accel->vm_init(vm);
	if (ret && !strcmp(name, "kvm:emu") && accel_find("emu")) {
		log_warn("%s; falling back to --accel emu", vm->accel_error);
		vm->accel->vm_destroy(vm);
		vm->accel = accel_find("emu");
		vm->accel_error[0] = 0;
		ret = vm->accel->vm_init(vm);
	}
	if (ret)
		log_error("%s", vm->accel_error[0] ? vm->accel_error :
			  strerror(-ret));
	return ret;
}

/* The PC platform devices; a failure here is only ever out of memory. */
static int vm_init_platform(struct vm *vm)
{
	int ret = post_port_init(vm);

	if (!ret)
		ret = rtc_init(vm);
	if (!ret)
		ret = i8042_init(vm);
	if (!ret)
		ret = pvpanic_init(vm);
	if (!ret)
		ret = acpi_pm_init(vm);
	if (!ret) {
		vm->console_uart = uart_create(vm, PORT_COM1, IRQ_COM1,
					       vm->cfg->console_out,
					       vm->cfg->console_opaque);
		if (!vm->console_uart)
			ret = -ENOMEM;
	}
	if (!ret && vm->cfg->test_exit)
		ret = debug_exit_init(vm);
	if (!ret)
		ret = pci_init(vm);
	if (ret)
		log_error("platform device setup failed: %s", strerror(-ret));
	return ret;
}

/* PCI and virtio devices: each prints its own one-line error. */
static int vm_init_devices(struct vm *vm)
{
	int ret = vm_init_platform(vm);

	for (int i = 0; !ret && i < vm->cfg->nr_disks; i++)
		ret = virtio_blk_create(vm, &vm->cfg->disks[i]);
	if (!ret)
		ret = virtio_rng_create(vm);
	for (int i = 0; !ret && i < vm->cfg->nr_nets; i++)
		ret = virtio_net_create(vm, &vm->cfg->nets[i], i);
	if (!ret && vm->cfg->balloon)
		ret = virtio_balloon_create(vm);
	if (!ret && vm->cfg->virtio_console)
		ret = virtio_console_create(vm, vm->cfg->virtio_console);
	return ret;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t rsdp;
	char err[256];
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->nr_vcpus = cfg->nr_cpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	ret = guest_mem_init(&vm->mem, cfg->mem_size, &cfg->mem_opts);
	if (ret) {
		log_error("cannot allocate %llu MiB of guest memory%s%s: %s",
			  (unsigned long long)(cfg->mem_size >> 20),
			  cfg->mem_opts.hugetlb_path ? " on " : "",
			  cfg->mem_opts.hugetlb_path ?: "", strerror(-ret));
		return ret;
	}
	vm->loop = event_loop_create();
	if (!vm->loop)
		return -ENOMEM;
	ret = vm_init_accel(vm);
	if (ret)
		return ret;
	ret = vm_init_devices(vm);
	if (ret)
		return ret;
	ret = acpi_build(vm, &rsdp);
	if (ret) {
		log_error("cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	ret = x86_boot_load(vm, rsdp, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return ret;
	}
	return vcpus_create(vm);
}

void vm_destroy(struct vm *vm)
{
	vcpus_stop(vm);
	/* Device I/O threads may still touch guest RAM: stop them first. */
	pci_destroy(vm);
	vcpus_destroy(vm);
	event_loop_destroy(vm->loop);
	vm->loop = NULL;
	uart_destroy(vm->console_uart);
	vm->console_uart = NULL;
	acpi_pm_exit(vm);
	pvpanic_exit(vm);
	i8042_exit(vm);
	rtc_exit(vm);
	if (vm->accel)
		vm->accel->vm_destroy(vm);
	guest_mem_destroy(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
}

enum vm_exit_reason vm_run(struct vm *vm)
{
	enum vm_exit_reason reason;
	int ret;

	vm->start_ns = vm_now_ns();
	ret = event_loop_start(vm->loop);
	if (!ret)
		ret = vcpus_start(vm);
	if (ret)
		vm_request_exit(vm, VM_EXIT_ERROR, "cannot start threads: %s",
				strerror(-ret));
	pthread_mutex_lock(&vm->lock);
	while (vm->exit_reason == VM_EXIT_NONE)
		pthread_cond_wait(&vm->cond, &vm->lock);
	reason = vm->exit_reason;
	pthread_mutex_unlock(&vm->lock);
	vcpus_stop(vm);
	return reason;
}

static void ioeventfd_write(void *opaque, uint64_t off, uint64_t val,
			    unsigned size)
{
	uint64_t one = 1;

	if (write((int)(intptr_t)opaque, &one, sizeof(one)) < 0)
		log_once("ioeventfd signal failed: %s", strerror(errno));
}

static const struct bus_ops ioeventfd_ops = {
	.write = ioeventfd_write,
};

int vm_add_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool pio,
		     int fd)
{
	int ret = -ENOSYS;

	if (vm->accel->add_ioeventfd)
		ret = vm->accel->add_ioeventfd(vm, addr, len, pio, fd);
	if (ret == 0)
		return 0;
	return bus_register(pio ? &vm->pio : &vm->mmio, addr, len,
			    &ioeventfd_ops, (void *)(intptr_t)fd, "ioeventfd");
}

int vm_del_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool pio,
		     int fd)
{
	if (bus_unregister(pio ? &vm->pio : &vm->mmio, addr,
			   (void *)(intptr_t)fd) == 0)
		return 0;
	if (vm->accel->del_ioeventfd)
		return vm->accel->del_ioeventfd(vm, addr, len, pio, fd);
	return -ENOENT;
}
