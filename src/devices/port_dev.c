// SPDX-License-Identifier: MIT
#include "devices/port_dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void port_dev_destroy(struct device *dev)
{
	struct port_dev *p = container_of(dev, struct port_dev, dev);

	bus_unregister(p->pio, p->port, p);
	free(p);
}

static int port_dev_save(struct device *dev, struct state_writer *w)
{
	(void)dev;
	(void)w;
	return 0;
}

static int port_dev_load(struct device *dev, struct state_reader *r,
			 uint32_t version)
{
	(void)version;
	if (state_remaining(r))
		return state_fail(r, "%s: unexpected state", dev->name);
	return 0;
}

static const struct device_ops port_dev_ops = {
	.state_version = 1,
	.save = port_dev_save,
	.load = port_dev_load,
	.destroy = port_dev_destroy,
};

int port_dev_create(const struct dev_env *env, uint16_t port, unsigned len,
		    const struct bus_ops *ops, const char *name,
		    struct device **out)
{
	struct port_dev *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->dev.ops = &port_dev_ops;
	snprintf(p->dev.name, sizeof(p->dev.name), "%s", name);
	p->pio = env->pio;
	p->port = port;
	p->power = env->power;
	ret = bus_register(env->pio, port, len, ops, p, name);
	if (ret) {
		free(p);
		return ret;
	}
	*out = &p->dev;
	return 0;
}
