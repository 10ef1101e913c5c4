/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_DEVICES_DEBUG_H
#define CVISOR_DEVICES_DEBUG_H

#include "devices/device.h"

/* Port 0x80 POST codes: accepted and dropped (Linux uses it as a delay). */
int post_port_create(const struct dev_env *env, struct device **out);

/*
 * Test guests' exit port (--test-exit): a 32-bit write of status ends the
 * VM, poweroff for 0, a failure naming the status otherwise.
 */
int debug_exit_create(const struct dev_env *env, struct device **out);

#endif
