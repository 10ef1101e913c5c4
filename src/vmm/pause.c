// SPDX-License-Identifier: MIT
#include "vmm/pause.h"

#include <errno.h>

#include "vmm/vm.h"

static int vm_started_vcpus(struct vm *vm)
{
	int n = 0;

	for (int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	pthread_mutex_unlock(&vm->lock);
	/* A kick makes the accelerator return to the vCPU loop promptly. */
	for (int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].accel_data)
			vm->accel->vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	while (vm->nr_paused < vm_started_vcpus(vm) &&
	       !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return atomic_load(&vm->stopping) ? -ESHUTDOWN : 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

bool vm_is_paused(struct vm *vm)
{
	bool paused;

	pthread_mutex_lock(&vm->lock);
	paused = vm->pause_req;
	pthread_mutex_unlock(&vm->lock);
	return paused;
}

void vm_pause_point(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->lock);
	if (vm->pause_req && !atomic_load(&vm->stopping)) {
		vm->nr_paused++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->pause_req && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->nr_paused--;
	}
	pthread_mutex_unlock(&vm->lock);
}
