// SPDX-License-Identifier: MIT
#include "devices/device.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/log.h"

int device_save(struct device *dev, struct state_writer *w)
{
	int ret;

	state_section_begin(w, dev->ops->state_version, "%s", dev->name);
	ret = dev->ops->save(dev, w);
	state_section_end(w);
	return ret;
}

static void ioeventfd_write(void *opaque, uint64_t off, uint64_t val,
			    unsigned size)
{
	uint64_t one = 1;

	(void)off;
	(void)val;
	(void)size;
	/* A host error with no device at hand: the shared limit. */
	if (write((int)(intptr_t)opaque, &one, sizeof(one)) < 0)
		log_limited(NULL, "ioeventfd signal failed: %s",
			    strerror(errno));
}

static const struct bus_ops ioeventfd_ops = {
	.write = ioeventfd_write,
};

int dev_env_add_ioeventfd(const struct dev_env *env, uint64_t addr,
			  unsigned len, bool pio, int fd)
{
	const struct irq_chip *irq = env->irq;
	int ret = -ENOSYS;

	if (irq->ops->add_ioeventfd)
		ret = irq->ops->add_ioeventfd(irq->opaque, addr, len, pio, fd);
	if (ret == 0)
		return 0;
	return bus_register(pio ? env->pio : env->mmio, addr, len,
			    &ioeventfd_ops, (void *)(intptr_t)fd, "ioeventfd");
}

int dev_env_del_ioeventfd(const struct dev_env *env, uint64_t addr,
			  unsigned len, bool pio, int fd)
{
	const struct irq_chip *irq = env->irq;

	if (bus_unregister(pio ? env->pio : env->mmio, addr,
			   (void *)(intptr_t)fd) == 0)
		return 0;
	if (irq->ops->del_ioeventfd)
		return irq->ops->del_ioeventfd(irq->opaque, addr, len, pio, fd);
	return -ENOENT;
}
