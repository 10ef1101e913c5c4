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
#include "arch/x86/reset_vector.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/migration.h"
#include "vmm/snapshot.h"
#include "vmm/throttle.h"
#include "vmm/vcpu.h"
#include "ui/vnc.h"

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

/* The interrupt controller as devices see it: the accelerator's. */
static int vm_irq_set(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;

	return vm->accel->set_irq(vm, gsi, level);
}

static int vm_irq_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;

	return vm->accel->send_msi(vm, addr, data);
}

static int vm_irq_route_add(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;

	if (!vm->accel->msi_route_add)
		return -ENOSYS;
	return vm->accel->msi_route_add(vm, addr, data);
}

static int vm_irq_route_update(void *opaque, int fd, uint64_t addr,
			       uint32_t data)
{
	struct vm *vm = opaque;

	return vm->accel->msi_route_update(vm, fd, addr, data);
}

static void vm_irq_route_del(void *opaque, int fd)
{
	struct vm *vm = opaque;

	vm->accel->msi_route_del(vm, fd);
}

static int vm_irq_add_ioeventfd(void *opaque, uint64_t addr, unsigned len,
				bool pio, int fd)
{
	struct vm *vm = opaque;

	if (!vm->accel->add_ioeventfd)
		return -ENOSYS;
	return vm->accel->add_ioeventfd(vm, addr, len, pio, fd);
}

static int vm_irq_del_ioeventfd(void *opaque, uint64_t addr, unsigned len,
				bool pio, int fd)
{
	struct vm *vm = opaque;

	if (!vm->accel->del_ioeventfd)
		return -ENOSYS;
	return vm->accel->del_ioeventfd(vm, addr, len, pio, fd);
}

static const struct irq_chip_ops vm_irq_ops = {
	.set_irq = vm_irq_set,
	.send_msi = vm_irq_send_msi,
	.msi_route_add = vm_irq_route_add,
	.msi_route_update = vm_irq_route_update,
	.msi_route_del = vm_irq_route_del,
	.add_ioeventfd = vm_irq_add_ioeventfd,
	.del_ioeventfd = vm_irq_del_ioeventfd,
};

static int vm_slot_map(void *opaque, uint64_t gpa, void *hva, uint64_t size)
{
	struct vm *vm = opaque;

	return vm->accel->dev_slot_map(vm, gpa, hva, size);
}

static void vm_slot_unmap(void *opaque, int slot)
{
	struct vm *vm = opaque;

	vm->accel->dev_slot_unmap(vm, slot);
}

static int vm_slot_sync(void *opaque, int slot, uint64_t *bitmap)
{
	struct vm *vm = opaque;

	return vm->accel->dev_slot_sync(vm, slot, bitmap);
}

static const struct mem_slot_ops vm_slot_ops = {
	.map = vm_slot_map,
	.unmap = vm_slot_unmap,
	.sync = vm_slot_sync,
};

void vm_power_event(void *opaque, enum power_event ev, const char *why)
{
	static const enum vm_exit_reason reason[] = {
		[POWER_OFF] = VM_EXIT_POWEROFF,
		[POWER_RESET] = VM_EXIT_RESET,
		[POWER_PANIC] = VM_EXIT_PANIC,
		[POWER_FAIL] = VM_EXIT_ERROR,
	};

	vm_request_exit(opaque, reason[ev], "%s", why);
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

/* Guest memory already holds the kernel and tables: load the state. */
static int vm_restore(struct vm *vm)
{
	char err[512];
	int ret = vcpus_create(vm);

	if (ret)
		return ret;
	ret = snapshot_load_state(vm, err, sizeof(err));
	if (ret)
		log_error("%s", err);
	return ret;
}

/* The source has sent RAM and let go of the disks: load the state. */
static int vm_incoming(struct vm *vm)
{
	char err[512] = "cannot create the vCPUs";
	int ret = vcpus_create(vm);

	if (!ret) {
		ret = migration_recv_state(vm, vm->cfg->incoming, err,
					   sizeof(err));
		if (ret)
			log_error("%s", err);
	}
	migration_reply(vm->cfg->incoming, ret ? err : NULL);
	return ret;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct guest_mem_opts mem_opts;
	uint64_t rsdp;
	char err[512];
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->nr_vcpus = cfg->nr_cpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->topo = cfg->topo;
	if (topology_resolve(&vm->topo, cfg->nr_cpus, err, sizeof(err))) {
		log_error("--cpus: %s", err);
		return -EINVAL;
	}
	mem_opts = cfg->mem_opts;
	mem_opts.numa = &cfg->numa;
	ret = guest_mem_init(&vm->mem, cfg->mem_size, &mem_opts);
	if (ret) {
		log_error("cannot allocate %llu MiB of guest memory%s%s: %s",
			  (unsigned long long)(cfg->mem_size >> 20),
			  cfg->mem_opts.hugetlb_path ? " on " : "",
			  cfg->mem_opts.hugetlb_path ?: "", strerror(-ret));
		return ret;
	}
	if (cfg->restore_dir) {
		ret = snapshot_map_memory(vm, err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			return ret;
		}
	}
	if (cfg->incoming) {
		ret = migration_recv_ram(vm, cfg->incoming, err, sizeof(err));
		if (ret) {
			log_error("%s", err);
			migration_reply(cfg->incoming, err);
			return ret;
		}
	}
	vm->loop = event_loop_create();
	if (!vm->loop)
		return -ENOMEM;
	ret = vm_init_accel(vm);
	if (ret)
		return ret;
	vm->irq = (struct irq_chip){ &vm_irq_ops, vm };
	vm->slots = (struct mem_slots){ &vm_slot_ops, vm };
	vm->env = (struct dev_env){
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.mem = &vm->mem,
		.loop = vm->loop,
		.irq = &vm->irq,
		.slots = vm->accel->dev_slot_map ? &vm->slots : NULL,
		.power = { vm_power_event, vm },
		.nr_vcpus = vm->nr_vcpus,
		.vm_name = cfg->name,
	};
	ret = machine_create_devices(vm);
	if (ret)
		return ret;
	if (cfg->vnc) {
		struct vnc_machine vm_ui = {
			.display = vm->display, .keyboard = vm->keyboard,
			.tablet = vm->tablet, .i8042 = vm->i8042,
		};

		vnc_server_attach(cfg->vnc, &vm_ui);
	}
	if (cfg->restore_dir)
		return vm_restore(vm);
	if (cfg->incoming)
		return vm_incoming(vm);
	ret = acpi_build(vm, &rsdp);
	if (ret) {
		log_error("cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	ret = x86_reset_vector_install(&vm->mem);
	if (ret) {
		log_error("the reset vector at 0x%llx is not guest RAM",
			  LAYOUT_RESET_VECTOR);
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
	migration_destroy(vm);
	vm_throttle_destroy(vm);
	vcpus_stop(vm);
	/*
	 * Device I/O threads may still touch guest RAM, and timers live on
	 * the event loop: devices go first.
	 */
	event_loop_stop(vm->loop);
	if (vm->cfg && vm->cfg->vnc)
		vnc_server_detach(vm->cfg->vnc);
	machine_destroy_devices(vm);
	vcpus_destroy(vm);
	event_loop_destroy(vm->loop);
	vm->loop = NULL;
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
