// SPDX-License-Identifier: MIT
#include "devices/debug.h"

#include "vmm/vm.h"

static const struct bus_ops post_ops = { 0 };

int post_port_init(struct vm *vm)
{
	return bus_register(&vm->pio, 0x80, 1, &post_ops, NULL, "post");
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct vm *vm = opaque;

	if (val == 0)
		vm_request_exit(vm, VM_EXIT_POWEROFF, "test guest passed");
	else
		vm_request_exit(vm, VM_EXIT_ERROR,
				"test guest reported failure %llu",
				(unsigned long long)val);
}

static const struct bus_ops debug_exit_ops = {
	.write = debug_exit_write,
};

int debug_exit_init(struct vm *vm)
{
	return bus_register(&vm->pio, PORT_DEBUG_EXIT, 4, &debug_exit_ops, vm,
			    "debug-exit");
}
