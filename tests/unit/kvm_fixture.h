/* SPDX-License-Identifier: MIT */
/*
 * A one-vCPU machine on the real /dev/kvm for accelerator tests: guest RAM,
 * a tiny long-mode guest at KVM_FIXTURE_CODE_GPA, and a probe on port 0x80
 * that counts the guest's writes, keeps the last value and kicks the vCPU
 * out of vcpu_run once it has seen stop_after of them.
 */
#ifndef CVISOR_TEST_KVM_FIXTURE_H
#define CVISOR_TEST_KVM_FIXTURE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "test.h"
#include "vmm/bus.h"
#include "vmm/vm.h"

#define KVM_FIXTURE_CODE_GPA	0x100000ull
#define KVM_FIXTURE_PORT	0x80

struct kvm_probe {
	struct vcpu *vcpu;
	int stop_after;
	int seen;
	uint64_t last;
};

static void kvm_probe_write(void *opaque, uint64_t off, uint64_t val,
			    unsigned size)
{
	struct kvm_probe *p = opaque;

	(void)off;
	(void)size;
	p->last = val;
	if (++p->seen >= p->stop_after)
		p->vcpu->vm->accel->vcpu_kick(p->vcpu);
}

static uint64_t kvm_probe_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return 0;
}

static const struct bus_ops kvm_probe_ops = {
	.read = kvm_probe_read,
	.write = kvm_probe_write,
};

static inline bool have_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * A VM of mem_size bytes with code loaded and the vCPU at its start in
 * long mode; reason says why when KVM can't (free the VM all the same).
 */
static inline struct vm *kvm_machine(struct kvm_probe *p, uint64_t mem_size,
				     const uint8_t *code, size_t code_len,
				     char *reason, size_t len)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct vcpu *v;

	if (!vm || guest_mem_init(&vm->mem, mem_size, NULL))
		abort();
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->nr_vcpus = 1;
	vm->accel = &kvm_accel_ops;
	v = &vm->vcpus[0];
	v->vm = vm;
	p->vcpu = v;
	CHECK_EQ(bus_register(&vm->pio, KVM_FIXTURE_PORT, 1, &kvm_probe_ops,
			      p, "probe"), 0);
	if (vm->accel->vm_init(vm) || vm->accel->vcpu_init(v)) {
		snprintf(reason, len, "%s", vm->accel_error);
		return vm;
	}
	guest_mem_write(&vm->mem, KVM_FIXTURE_CODE_GPA, code, code_len);
	x86_boot_cpu_state(vm, KVM_FIXTURE_CODE_GPA, 0);
	CHECK_EQ(vm->accel->set_sregs(v, &vm->boot_sregs), 0);
	CHECK_EQ(vm->accel->set_regs(v, &vm->boot_regs), 0);
	return vm;
}

static inline void kvm_machine_free(struct vm *vm)
{
	vm->accel->vcpu_destroy(&vm->vcpus[0]);
	vm->accel->vm_destroy(vm);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	free(vm);
}

/* Run until the probe has seen steps more writes. */
static inline bool kvm_run_steps(struct vm *vm, struct kvm_probe *p,
				 int steps, int max_runs)
{
	struct vcpu_exit exit;

	p->stop_after = p->seen + steps;
	for (int i = 0; i < max_runs && p->seen < p->stop_after; i++) {
		if (vm->accel->vcpu_run(&vm->vcpus[0], &exit) ||
		    exit.reason != VCPU_EXIT_KICKED) {
			printf("  vcpu_run: reason %d, %s\n", exit.reason,
			       exit.detail);
			return false;
		}
	}
	return p->seen >= p->stop_after;
}

#endif
