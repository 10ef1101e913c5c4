/* SPDX-License-Identifier: MIT */
/*
 * The small platform devices a PC-compatible guest kernel probes. Each
 * X_create registers the device on env->pio and returns it in *out;
 * destroy (through device_ops) removes it.
 */
#ifndef CVISOR_DEVICES_LEGACY_H
#define CVISOR_DEVICES_LEGACY_H

#include <stdint.h>

#include "devices/device.h"

/* MC146818 RTC and CMOS memory at port/port+1, interrupt on gsi */
int rtc_create(const struct dev_env *env, uint16_t port, unsigned gsi,
	       struct device **out);

/*
 * i8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard (interrupt
 * on gsi) and mouse (on aux_gsi); 0xFE resets.
 */
int i8042_create(const struct dev_env *env, unsigned gsi, unsigned aux_gsi,
		 struct device **out);
/*
 * A key (Linux key code, src/ui/keymap.h) pressed or released on the PS/2
 * keyboard: its scan codes queue for the guest unless the keyboard is
 * disabled. Scan set 1 as the controller's translation delivers it; with
 * translation off and set 2 selected the key is dropped.
 */
void i8042_key(struct device *dev, unsigned key, bool down);
/*
 * Relative movement of the PS/2 mouse (dy grows downwards, dz is wheel
 * steps with up positive) and its buttons (bit 0 left, 1 right, 2
 * middle), sent as packets while the guest has data reporting on.
 */
void i8042_mouse(struct device *dev, int dx, int dy, int dz,
		 unsigned buttons);
/* Whether the guest's driver turned the PS/2 mouse's reporting on. */
bool i8042_mouse_active(struct device *dev);

/* pvpanic at port: a guest panic is a POWER_PANIC event */
int pvpanic_create(const struct dev_env *env, uint16_t port,
		   struct device **out);

/*
 * ACPI sleep control/status and reset registers at PORT_ACPI_PM; the
 * Generic Event Device's interrupt on ged_gsi.
 */
int acpi_pm_create(const struct dev_env *env, unsigned ged_gsi,
		   struct device **out);
/*
 * Press the ACPI power button: raise the Generic Event Device's interrupt
 * so the guest's _EVT notifies \_SB.PWRB (a graceful shutdown request).
 */
int acpi_pm_power_button(struct device *dev);

#endif
