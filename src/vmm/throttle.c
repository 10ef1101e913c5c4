// SPDX-License-Identifier: MIT
#include "vmm/throttle.h"

#include <errno.h>
#include <time.h>

#include "vmm/vm.h"

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *throttle_thread(void *arg)
{
	struct vm *vm = arg;

	while (atomic_load(&vm->throttle_pct) && !atomic_load(&vm->stopping)) {
		sleep_ns(THROTTLE_PERIOD_MS * 1000000ULL);
		for (int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].accel_data)
				vm->accel->vcpu_kick(&vm->vcpus[i]);
	}
	return NULL;
}

int vm_set_throttle(struct vm *vm, unsigned percent)
{
	int ret = 0;

	if (percent > 99)
		return -EINVAL;
	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->throttle_pct, percent);
	if (percent && !vm->throttle_running) {
		ret = -pthread_create(&vm->throttle_thread, NULL,
				      throttle_thread, vm);
		vm->throttle_running = !ret;
	}
	pthread_mutex_unlock(&vm->lock);
	if (!percent)
		vm_throttle_destroy(vm);
	return ret;
}

void vm_throttle_point(struct vcpu *vcpu)
{
	unsigned pct = atomic_load(&vcpu->vm->throttle_pct);

	if (pct)
		sleep_ns(THROTTLE_PERIOD_MS * 1000000ULL * pct / 100);
}

void vm_throttle_destroy(struct vm *vm)
{
	bool join;

	pthread_mutex_lock(&vm->lock);
	atomic_store(&vm->throttle_pct, 0);
	join = vm->throttle_running;
	vm->throttle_running = false;
	pthread_mutex_unlock(&vm->lock);
	if (join)
		pthread_join(vm->throttle_thread, NULL);
}
