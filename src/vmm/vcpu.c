// SPDX-License-Identifier: MIT
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/affinity.h"
#include "vmm/log.h"
#include "vmm/pause.h"
#include "vmm/throttle.h"
#include "vmm/vm.h"

int vcpus_create(struct vm *vm)
{
	int ret;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		vcpu->vm = vm;
		vcpu->id = i;
		ret = vm->accel->vcpu_init(vcpu);
		if (ret) {
			log_error("cannot create vCPU %d: %s", i,
				  vm->accel_error[0] ? vm->accel_error :
				  strerror(-ret));
			return ret;
		}
	}
	ret = vm->accel->set_sregs(&vm->vcpus[0], &vm->boot_sregs);
	if (!ret)
		ret = vm->accel->set_regs(&vm->vcpus[0], &vm->boot_regs);
	if (ret)
		log_error("cannot set the boot CPU state: %s", strerror(-ret));
	return ret;
}

static void vcpu_report(struct vcpu *vcpu, const struct vcpu_exit *exit)
{
	struct vm *vm = vcpu->vm;

	switch (exit->reason) {
	case VCPU_EXIT_KICKED:
		break;
	case VCPU_EXIT_SHUTDOWN:
		vm_request_exit(vm, VM_EXIT_TRIPLE_FAULT,
				"guest triple fault on vCPU %d at RIP 0x%llx",
				vcpu->id, (unsigned long long)exit->rip);
		break;
	case VCPU_EXIT_ERROR:
		vm_request_exit(vm, VM_EXIT_ERROR,
				"vCPU %d: %s at RIP 0x%llx%s", vcpu->id,
				exit->detail, (unsigned long long)exit->rip,
				strcmp(vm->accel->name, "kvm") ? "" :
				" (try --accel emu)");
		break;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct vcpu_exit exit;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%d", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	/* The kick signal must reach this thread inside KVM_RUN. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atomic_store(&vcpu->tid, gettid());
	while (!atomic_load(&vm->stopping)) {
		int ret;

		vm_pause_point(vcpu);
		/*
		 * A VM stopped while paused (snapshot --stop) must not run
		 * one more instruction: its state is already saved.
		 */
		if (atomic_load(&vm->stopping))
			break;
		vm_throttle_point(vcpu);
		ret = vm->accel->vcpu_run(vcpu, &exit);

		if (ret) {
			vm_request_exit(vm, VM_EXIT_ERROR, "vCPU %d: %s",
					vcpu->id, strerror(-ret));
			break;
		}
		vcpu_report(vcpu, &exit);
		if (exit.reason != VCPU_EXIT_KICKED)
			break;
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

		if (ret)
			return -ret;
		vcpu->thread_started = true;
		ret = affinity_apply(vcpu);
		if (ret)
			return ret;
	}
	/*
	 * Each thread names itself before the VM is reported started, so
	 * `cvisor info` never shows a vCPU without its thread id.
	 */
	for (int i = 0; i < vm->nr_vcpus; i++)
		while (!atomic_load(&vm->vcpus[i].tid))
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	return 0;
}

void vcpus_stop(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->thread_started)
			continue;
		vm->accel->vcpu_kick(vcpu);
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
}

void vcpus_destroy(struct vm *vm)
{
	vcpus_stop(vm);
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].accel_data)
			vm->accel->vcpu_destroy(&vm->vcpus[i]);
}
