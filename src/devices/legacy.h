/* SPDX-License-Identifier: MIT */
/*
 * The small platform devices a PC-compatible guest kernel probes. Each
 * X_init registers the device on vm->pio and X_exit removes it and frees
 * its state; X_exit is safe to call when X_init failed or never ran.
 */
#ifndef CVISOR_DEVICES_LEGACY_H
#define CVISOR_DEVICES_LEGACY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

struct vm;

#define PORT_PVPANIC		0x505

/* MC146818 RTC and CMOS memory at 0x70/0x71, IRQ 8 */
int rtc_init(struct vm *vm);
void rtc_exit(struct vm *vm);

/* i8042 keyboard controller at 0x60/0x64, IRQ 1; 0xFE resets the VM */
int i8042_init(struct vm *vm);
void i8042_exit(struct vm *vm);

/* pvpanic at PORT_PVPANIC: a guest panic ends the VM with VM_EXIT_PANIC */
int pvpanic_init(struct vm *vm);
void pvpanic_exit(struct vm *vm);

/* ACPI sleep control/status and reset registers at PORT_ACPI_PM */
int acpi_pm_init(struct vm *vm);
void acpi_pm_exit(struct vm *vm);
/*
 * Press the ACPI power button: raise the Generic Event Device's interrupt
 * so the guest's _EVT notifies \_SB.PWRB (a graceful shutdown request).
 */
int acpi_pm_power_button(struct vm *vm);

/*
 * Unregister the range at base if the device with ops owns it; returns its
 * opaque for the caller to free, or NULL if there was none.
 */
static inline void *legacy_unregister(struct bus *bus, uint64_t base,
				      const struct bus_ops *ops)
{
	void *opaque = NULL;

	pthread_rwlock_rdlock(&bus->lock);
	for (int i = 0; i < bus->nr; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].ops == ops) {
			opaque = bus->ranges[i].opaque;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	if (opaque && bus_unregister(bus, base, opaque))
		return NULL;
	return opaque;
}

#endif
