// SPDX-License-Identifier: MIT
/*
 * pvpanic: one I/O port through which a guest kernel reports a panic
 * (Linux drivers/misc/pvpanic, found through the DSDT's QEMU0001 device).
 * Reads return the events supported; writes report events.
 */
#include "devices/legacy.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PVPANIC_PANICKED	(1u << 0)
#define PVPANIC_CRASH_LOADED	(1u << 1)

static uint64_t pvpanic_read(void *opaque, uint64_t off, unsigned size)
{
	return PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *opaque, uint64_t off, uint64_t val,
			  unsigned size)
{
	struct vm *vm = opaque;

	if (val & PVPANIC_PANICKED) {
		vm_request_exit(vm, VM_EXIT_PANIC, "guest kernel panicked");
		return;
	}
	/* A kdump kernel takes over: the guest keeps running. */
	if (val & PVPANIC_CRASH_LOADED)
		log_once("guest kernel crashed; its crash kernel is running");
}

static const struct bus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

int pvpanic_init(struct vm *vm)
{
	return bus_register(&vm->pio, PORT_PVPANIC, 1, &pvpanic_ops, vm,
			    "pvpanic");
}

void pvpanic_exit(struct vm *vm)
{
	legacy_unregister(&vm->pio, PORT_PVPANIC, &pvpanic_ops);
}
