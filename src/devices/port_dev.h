/* SPDX-License-Identifier: MIT */
/*
 * A device that is one range of I/O ports and no state: POST codes, the
 * test exit port, pvpanic. Its bus callbacks get the struct port_dev as
 * opaque (for the power sink). Its state section is empty.
 */
#ifndef CVISOR_DEVICES_PORT_DEV_H
#define CVISOR_DEVICES_PORT_DEV_H

#include "devices/device.h"
#include "vmm/bus.h"

struct port_dev {
	struct device dev;
	struct bus *pio;
	uint16_t port;
	struct power_sink power;
};

int port_dev_create(const struct dev_env *env, uint16_t port, unsigned len,
		    const struct bus_ops *ops, const char *name,
		    struct device **out);

#endif
