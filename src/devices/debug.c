// SPDX-License-Identifier: MIT
#include "devices/debug.h"

#include <stdio.h>

#include "arch/x86/layout.h"
#include "devices/port_dev.h"

static const struct bus_ops post_ops = { 0 };

int post_port_create(const struct dev_env *env, struct device **out)
{
	return port_dev_create(env, 0x80, 1, &post_ops, "post", out);
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct port_dev *p = opaque;
	char why[64];

	(void)off;
	(void)size;
	if (val == 0) {
		power_event(&p->power, POWER_OFF, "test guest passed");
		return;
	}
	snprintf(why, sizeof(why), "test guest reported failure %llu",
		 (unsigned long long)val);
	power_event(&p->power, POWER_FAIL, why);
}

static const struct bus_ops debug_exit_ops = {
	.write = debug_exit_write,
};

int debug_exit_create(const struct dev_env *env, struct device **out)
{
	return port_dev_create(env, PORT_DEBUG_EXIT, 4, &debug_exit_ops,
			       "debug-exit", out);
}
