// SPDX-License-Identifier: MIT
/*
 * pvpanic: one I/O port through which a guest kernel reports a panic
 * (Linux drivers/misc/pvpanic, found through the DSDT's QEMU0001 device).
 * Reads return the events supported; writes report events.
 */
#include "devices/legacy.h"
#include "devices/port_dev.h"
#include "vmm/log.h"

#define PVPANIC_PANICKED	(1u << 0)
#define PVPANIC_CRASH_LOADED	(1u << 1)

static uint64_t pvpanic_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *opaque, uint64_t off, uint64_t val,
			  unsigned size)
{
	struct port_dev *p = opaque;

	(void)off;
	(void)size;
	if (val & PVPANIC_PANICKED) {
		power_event(&p->power, POWER_PANIC, "guest kernel panicked");
		return;
	}
	/* A kdump kernel takes over: the guest keeps running. */
	if (val & PVPANIC_CRASH_LOADED)
		log_limited(&p->dev.log,
			    "guest kernel crashed; its crash kernel is running");
}

static const struct bus_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

int pvpanic_create(const struct dev_env *env, uint16_t port,
		   struct device **out)
{
	return port_dev_create(env, port, 1, &pvpanic_ops, "pvpanic", out);
}
