// SPDX-License-Identifier: MIT
/*
 * PCI bus 0 and its configuration space. Facts from the PCI Local Bus 3.0
 * and PCI Express base specifications (type 1 access, ECAM, BAR sizing).
 *
 * Locking, outermost first:
 *
 *   map_lock      BAR registrations on the MMIO bus: pci_sync_bars, and
 *                 the device's bar_mapped/bar_unmapped under it
 *   bus->lock     config space bytes, the type 1 address latch; the
 *                 device's config_write/config_read and MSI-X control
 *                 under it
 *   intx_lock     the shared INTx line counts
 *
 * and the MMIO bus's own table lock innermost, taken only inside
 * bus_register/bus_unregister and never held across a callback. So a
 * config write, through the ports or through ECAM, moves a BAR within the
 * access that made it: it updates the bytes under bus->lock, drops it,
 * then syncs under map_lock; the guest's next access finds the BAR at its
 * new address. bus_unregister waits for accesses in the BAR's regions to
 * finish, so no region callback may take map_lock, and bus->lock is never
 * held while map_lock is taken.
 */
#include "devices/pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "vmm/log.h"

#define PCI_HOST_VENDOR		0x1b36
#define PCI_HOST_DEVICE		0x0008
#define PCI_CLASS_HOST_BRIDGE	0x060000

#define PCI_CAP_START		0x40
#define PCI_CONFIG_ENABLE	0x80000000u

void pci_device_init(struct pci_device *dev, const char *name,
		     uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision, unsigned cfg_size)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->slot = -1;
	dev->cfg_size = cfg_size == PCI_CFG_SIZE_EXT ? PCI_CFG_SIZE_EXT :
						       PCI_CFG_SIZE;
	dev->cap_end = PCI_CAP_START;
	put_le16(dev->cfg + PCI_VENDOR_ID, vendor);
	put_le16(dev->cfg + PCI_DEVICE_ID, device);
	dev->cfg[PCI_REVISION_ID] = revision;
	dev->cfg[PCI_CLASS_PROG] = class_code & 0xff;
	put_le16(dev->cfg + PCI_CLASS_DEVICE, class_code >> 8);
	/* Memory decode, bus master and INTx disable are the guest's. */
	put_le16(dev->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY |
		    PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	dev->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA */
}

int pci_device_add_bar(struct pci_device *dev, int bar, uint64_t size,
		       uint32_t flags)
{
	struct pci_bar *b;
	uint64_t mask;
	unsigned off;

	if (bar < 0 || bar >= PCI_NR_BARS || size == 0 ||
	    size > (1ULL << 40))
		return -EINVAL;
	if ((flags & PCI_BAR_MEM64) && bar == PCI_NR_BARS - 1)
		return -EINVAL;
	if (dev->bars[bar].size || (bar > 0 &&
	    (dev->bars[bar - 1].flags & PCI_BAR_MEM64)))
		return -EBUSY;
	if (!(flags & PCI_BAR_MEM64) && size > (1ULL << 31))
		return -EINVAL;
	if (size < 4096)
		size = 4096;
	size = 1ULL << (64 - __builtin_clzll(size - 1));
	b = &dev->bars[bar];
	b->size = size;
	b->flags = flags & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	mask = ~(size - 1);
	off = PCI_BAR0 + 4 * bar;
	put_le32(dev->cfg + off, b->flags);
	put_le32(dev->wmask + off, (uint32_t)mask & ~0xfu);
	if (flags & PCI_BAR_MEM64)
		put_le32(dev->wmask + off + 4, mask >> 32);
	return 0;
}

int pci_device_add_bar_region(struct pci_device *dev, int bar, uint64_t off,
			      uint64_t len, const struct bus_ops *ops,
			      void *opaque, const char *name)
{
	struct pci_bar *b;

	if (bar < 0 || bar >= PCI_NR_BARS)
		return -EINVAL;
	b = &dev->bars[bar];
	if (!b->size || len == 0 || off >= b->size || len > b->size - off)
		return -EINVAL;
	if (b->nr_regions == PCI_BAR_MAX_REGIONS)
		return -ENOSPC;
	b->regions[b->nr_regions++] = (struct pci_bar_region){
		.offset = off, .len = len, .ops = ops, .opaque = opaque,
		.name = name,
	};
	return 0;
}

int pci_device_add_cap(struct pci_device *dev, uint8_t id, const void *data,
		       unsigned len)
{
	unsigned off = (dev->cap_end + 3) & ~3u;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	if (data)
		memcpy(dev->cfg + off, data, len);
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	if (dev->last_cap)
		dev->cfg[dev->last_cap + 1] = off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = off;
	put_le16(dev->cfg + PCI_STATUS,
		    get_le16(dev->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	dev->last_cap = off;
	dev->cap_end = off + len;
	return off;
}

/* The address a BAR decodes at, or false if it should not decode. */
static bool pci_bar_want(const struct pci_device *dev, int i, uint64_t *addr)
{
	const struct pci_bar *b = &dev->bars[i];
	unsigned off = PCI_BAR0 + 4 * i;
	uint64_t a;

	if (!b->size)
		return false;
	if (!(get_le16(dev->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return false;
	a = get_le32(dev->cfg + off) & ~0xfULL;
	if (b->flags & PCI_BAR_MEM64)
		a |= (uint64_t)get_le32(dev->cfg + off + 4) << 32;
	if (a == 0 || a + b->size < a)
		return false;
	*addr = a;
	return true;
}

static void pci_bar_unmap(struct bus *mmio, struct pci_device *dev, int i)
{
	struct pci_bar *b = &dev->bars[i];

	if (!b->mapped)
		return;
	if (dev->ops && dev->ops->bar_unmapped)
		dev->ops->bar_unmapped(dev, i, b->addr);
	for (int r = 0; r < b->nr_regions; r++)
		bus_unregister(mmio, b->addr + b->regions[r].offset,
			       b->regions[r].opaque);
	b->mapped = false;
}

static void pci_bar_map(struct bus *mmio, struct pci_device *dev, int i,
			uint64_t addr)
{
	struct pci_bar *b = &dev->bars[i];
	int r, ret = 0;

	for (r = 0; r < b->nr_regions; r++) {
		const struct pci_bar_region *reg = &b->regions[r];

		ret = bus_register(mmio, addr + reg->offset, reg->len,
				   reg->ops, reg->opaque, reg->name);
		if (ret)
			break;
	}
	if (ret) {
		log_limited(&dev->log,
			    "pci: %s: BAR%d at %#llx overlaps another device; "
			    "left unmapped", dev->name, i,
			    (unsigned long long)addr);
		while (r-- > 0)
			bus_unregister(mmio, addr + b->regions[r].offset,
				       b->regions[r].opaque);
		return;
	}
	b->addr = addr;
	b->mapped = true;
	if (dev->ops && dev->ops->bar_mapped)
		dev->ops->bar_mapped(dev, i, addr);
}

/* Make the bus registrations follow the command register and the BARs. */
static void pci_sync_bars(struct pci_bus *bus, struct pci_device *dev)
{
	uint64_t want_addr[PCI_NR_BARS];
	bool want[PCI_NR_BARS];

	pthread_mutex_lock(&bus->map_lock);
	pthread_mutex_lock(&bus->lock);
	for (int i = 0; i < PCI_NR_BARS; i++)
		want[i] = pci_bar_want(dev, i, &want_addr[i]);
	pthread_mutex_unlock(&bus->lock);
	for (int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];

		if (b->mapped && (!want[i] || b->addr != want_addr[i]))
			pci_bar_unmap(bus->mmio, dev, i);
		if (want[i] && !b->mapped)
			pci_bar_map(bus->mmio, dev, i, want_addr[i]);
	}
	pthread_mutex_unlock(&bus->map_lock);
}

/* Bring the shared line in step with the device; bus->intx_lock held. */
static void pci_intx_sync(struct pci_device *dev)
{
	struct pci_bus *bus = dev->bus;
	unsigned line = dev->slot % PCI_INTX_LINES;
	bool on = dev->intx_level && !dev->intx_disabled &&
		  dev->cfg[PCI_INTERRUPT_PIN];

	if (on == dev->intx_counted)
		return;
	dev->intx_counted = on;
	if (on)
		bus->intx_count[line]++;
	else
		bus->intx_count[line]--;
	bus->irq->ops->set_irq(bus->irq->opaque, PCI_INTX_GSI(dev->slot),
			      bus->intx_count[line] > 0);
}

void pci_set_intx(struct pci_device *dev, bool level)
{
	struct pci_bus *bus = dev->bus;

	if (!bus || dev->slot < 0)
		return;
	pthread_mutex_lock(&bus->intx_lock);
	dev->intx_level = level;
	pci_intx_sync(dev);
	pthread_mutex_unlock(&bus->intx_lock);
}

static struct pci_device *pci_lookup(struct pci_bus *bus, unsigned devfn)
{
	/* Single-function devices only: functions 1..7 do not exist. */
	if (devfn & 7)
		return NULL;
	return bus->devs[(devfn >> 3) & 31];
}

static bool pci_access_ok(const struct pci_device *dev, unsigned off,
			  unsigned size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	return off < dev->cfg_size && size <= dev->cfg_size - off;
}

static uint32_t pci_config_read_locked(struct pci_bus *bus, unsigned devfn,
				       unsigned off, unsigned size)
{
	struct pci_device *dev = pci_lookup(bus, devfn);
	uint32_t val = 0;

	if (!dev)
		return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	if (!pci_access_ok(dev, off, size))
		return 0;
	for (unsigned i = 0; i < size; i++)
		val |= (uint32_t)dev->cfg[off + i] << (8 * i);
	if (off >= PCI_CAP_START && dev->ops && dev->ops->config_read)
		val = dev->ops->config_read(dev, off, val, size);
	return val;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned off,
			 unsigned size)
{
	uint32_t val;

	pthread_mutex_lock(&bus->lock);
	val = pci_config_read_locked(bus, devfn, off, size);
	pthread_mutex_unlock(&bus->lock);
	return val;
}

static bool pci_overlaps(unsigned off, unsigned size, unsigned start,
			 unsigned len)
{
	return off < start + len && start < off + size;
}

/* Returns the device whose BARs need syncing, or NULL. */
static struct pci_device *pci_config_write_locked(struct pci_bus *bus,
						  unsigned devfn, unsigned off,
						  uint32_t val, unsigned size)
{
	struct pci_device *dev = pci_lookup(bus, devfn);

	if (!dev || !pci_access_ok(dev, off, size))
		return NULL;
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = dev->wmask[off + i];
		uint8_t b = val >> (8 * i);

		dev->cfg[off + i] = (dev->cfg[off + i] & ~m) | (b & m);
	}
	if (dev->msix && pci_overlaps(off, size, dev->msix_cap + 2, 2))
		pci_msix_control_written(dev);
	if (off >= PCI_CAP_START && dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, off, val, size);
	if (pci_overlaps(off, size, PCI_COMMAND, 2)) {
		pthread_mutex_lock(&bus->intx_lock);
		dev->intx_disabled = get_le16(dev->cfg + PCI_COMMAND) &
				     PCI_COMMAND_INTX_DISABLE;
		pci_intx_sync(dev);
		pthread_mutex_unlock(&bus->intx_lock);
	}
	if (pci_overlaps(off, size, PCI_COMMAND, 2) ||
	    pci_overlaps(off, size, PCI_BAR0, 4 * PCI_NR_BARS))
		return dev;
	return NULL;
}

void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned off,
		      uint32_t val, unsigned size)
{
	struct pci_device *dev;

	pthread_mutex_lock(&bus->lock);
	dev = pci_config_write_locked(bus, devfn, off, val, size);
	pthread_mutex_unlock(&bus->lock);
	if (dev)
		pci_sync_bars(bus, dev);
}

int pci_device_save(struct pci_device *dev, struct state_writer *w)
{
	struct pci_bus *bus = dev->bus;

	pthread_mutex_lock(&bus->lock);
	state_put_u32(w, dev->cfg_size);
	state_put(w, dev->cfg, dev->cfg_size);
	state_put_u8(w, dev->intx_level);
	pthread_mutex_unlock(&bus->lock);
	return dev->msix ? pci_msix_save(dev, w) : 0;
}

/*
 * Only the bits the guest may write come from the stream; identity,
 * capabilities and BAR sizes stay as this device was created, so a
 * snapshot cannot give a device a shape its code does not expect.
 */
int pci_device_load(struct pci_device *dev, struct state_reader *r)
{
	struct pci_bus *bus = dev->bus;
	uint8_t cfg[PCI_CFG_SIZE_EXT], level;
	uint32_t size;
	int ret;

	ret = state_get_u32(r, &size);
	if (ret)
		return ret;
	if (size != dev->cfg_size)
		return state_fail(r, "pci: %s: config space of %u bytes, "
				  "expected %u", dev->name, size,
				  dev->cfg_size);
	ret = state_get(r, cfg, size);
	ret = ret ?: state_get_u8(r, &level);
	if (ret)
		return ret;
	pthread_mutex_lock(&bus->lock);
	for (unsigned i = 0; i < size; i++)
		dev->cfg[i] = (dev->cfg[i] & ~dev->wmask[i]) |
			      (cfg[i] & dev->wmask[i]);
	pthread_mutex_unlock(&bus->lock);
	pthread_mutex_lock(&bus->intx_lock);
	dev->intx_level = level != 0;
	dev->intx_disabled = get_le16(dev->cfg + PCI_COMMAND) &
			     PCI_COMMAND_INTX_DISABLE;
	pci_intx_sync(dev);
	pthread_mutex_unlock(&bus->intx_lock);
	if (dev->msix) {
		ret = pci_msix_load(dev, r);
		if (ret)
			return ret;
	}
	pci_sync_bars(bus, dev);
	return 0;
}

/* Type 1 configuration mechanism: 0xCF8 selects, 0xCFC..0xCFF transfer. */
static bool pci_type1_target(struct pci_bus *bus, uint64_t port_off,
			     unsigned size, unsigned *devfn, unsigned *off)
{
	uint32_t a = bus->config_addr;
	unsigned byte = port_off - 4;

	if (!(a & PCI_CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
		return false;
	if (byte + size > 4)
		return false;
	*devfn = (a >> 8) & 0xff;
	/* Bits 27:24 reach extended config space, as many chipsets allow. */
	*off = ((a >> 16) & 0xf00) | (a & 0xfc) | byte;
	return true;
}

static uint64_t pci_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	unsigned devfn, cfg_off;
	uint64_t val = ~0ULL;

	pthread_mutex_lock(&bus->lock);
	if (off == 0 && size == 4)
		val = bus->config_addr;
	else if (off >= 4 && pci_type1_target(bus, off, size, &devfn,
					      &cfg_off))
		val = pci_config_read_locked(bus, devfn, cfg_off, size);
	pthread_mutex_unlock(&bus->lock);
	return val;
}

static void pci_io_write(void *opaque, uint64_t off, uint64_t val,
			 unsigned size)
{
	struct pci_bus *bus = opaque;
	struct pci_device *dev = NULL;
	unsigned devfn, cfg_off;

	pthread_mutex_lock(&bus->lock);
	if (off == 0 && size == 4)
		bus->config_addr = val & 0x8fffffffu;
	else if (off >= 4 && pci_type1_target(bus, off, size, &devfn,
					      &cfg_off))
		dev = pci_config_write_locked(bus, devfn, cfg_off, val, size);
	pthread_mutex_unlock(&bus->lock);
	if (dev)
		pci_sync_bars(bus, dev);
}

static const struct bus_ops pci_io_ops = {
	.read = pci_io_read,
	.write = pci_io_write,
};

/* ECAM: bus 0 only, offset = devfn << 12 | register. */
static uint64_t pci_ecam_read(void *opaque, uint64_t off, unsigned size)
{
	if (size > 4)
		return ~0ULL;
	return pci_config_read(opaque, off >> 12, off & 0xfff, size);
}

/* Bus callbacks run without the bus lock: a moved BAR is synced at once. */
static void pci_ecam_write(void *opaque, uint64_t off, uint64_t val,
			   unsigned size)
{
	if (size > 4)
		return;
	pci_config_write(opaque, off >> 12, off & 0xfff, val, size);
}

static const struct bus_ops pci_ecam_ops = {
	.read = pci_ecam_read,
	.write = pci_ecam_write,
};

int pci_register_device(struct pci_bus *bus, struct pci_device *dev)
{
	int slot;

	pthread_mutex_lock(&bus->lock);
	for (slot = 0; slot < PCI_MAX_SLOTS; slot++)
		if (!bus->devs[slot])
			break;
	if (slot == PCI_MAX_SLOTS) {
		pthread_mutex_unlock(&bus->lock);
		return -ENOSPC;
	}
	for (int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		uint64_t a = (bus->mmio_next + b->size - 1) & ~(b->size - 1);
		unsigned off = PCI_BAR0 + 4 * i;

		if (!b->size)
			continue;
		if (a + b->size > PCI_MMIO_WINDOW_BASE + PCI_MMIO_WINDOW_SIZE) {
			pthread_mutex_unlock(&bus->lock);
			return -ENOSPC;
		}
		put_le32(dev->cfg + off, (uint32_t)a | b->flags);
		if (b->flags & PCI_BAR_MEM64)
			put_le32(dev->cfg + off + 4, a >> 32);
		bus->mmio_next = a + b->size;
	}
	dev->bus = bus;
	dev->slot = slot;
	if (dev->cfg[PCI_INTERRUPT_PIN])
		dev->cfg[PCI_INTERRUPT_LINE] = PCI_INTX_GSI(slot);
	put_le16(dev->cfg + PCI_COMMAND,
		    get_le16(dev->cfg + PCI_COMMAND) | PCI_COMMAND_MEMORY);
	bus->devs[slot] = dev;
	pthread_mutex_unlock(&bus->lock);
	pci_sync_bars(bus, dev);
	return 0;
}

void pci_unregister_device(struct pci_bus *bus, struct pci_device *dev)
{
	if (dev->slot < 0 || bus->devs[dev->slot] != dev)
		return;
	pthread_mutex_lock(&bus->map_lock);
	for (int i = 0; i < PCI_NR_BARS; i++)
		pci_bar_unmap(bus->mmio, dev, i);
	pthread_mutex_unlock(&bus->map_lock);
	pci_set_intx(dev, false);
	pthread_mutex_lock(&bus->lock);
	bus->devs[dev->slot] = NULL;
	pthread_mutex_unlock(&bus->lock);
	dev->slot = -1;
}

void pci_for_each_device(struct pci_bus *bus,
			 void (*fn)(struct pci_device *dev, void *arg),
			 void *arg)
{
	for (int s = 0; s < PCI_MAX_SLOTS; s++)
		if (bus->devs[s])
			fn(bus->devs[s], arg);
}

static void pci_host_destroy(struct device *dev)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);

	/* Devices on the bus were destroyed before it (reverse order). */
	for (int s = 0; s < PCI_MAX_SLOTS; s++)
		if (bus->devs[s])
			pci_unregister_device(bus, bus->devs[s]);
	if (bus->ecam_registered)
		bus_unregister(bus->mmio, PCI_ECAM_BASE, bus);
	if (bus->io_registered)
		bus_unregister(bus->pio, PORT_PCI_CONFIG_ADDR, bus);
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->map_lock);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

/*
 * The bus's own state is the type 1 address latch and the host bridge's
 * config space; each device saves its own config space (pci_device_save).
 */
static int pci_host_save(struct device *dev, struct state_writer *w)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);

	pthread_mutex_lock(&bus->lock);
	state_put_u32(w, bus->config_addr);
	pthread_mutex_unlock(&bus->lock);
	return pci_device_save(&bus->host_bridge, w);
}

static int pci_host_load(struct device *dev, struct state_reader *r,
			 uint32_t version)
{
	struct pci_bus *bus = container_of(dev, struct pci_bus, dev);
	int ret;

	(void)version;
	ret = state_get_u32(r, &bus->config_addr);
	return ret ?: pci_device_load(&bus->host_bridge, r);
}

static const struct device_ops pci_host_ops = {
	.state_version = 1,
	.save = pci_host_save,
	.load = pci_host_load,
	.destroy = pci_host_destroy,
};

struct pci_bus *pci_host_bus(struct device *dev)
{
	return container_of(dev, struct pci_bus, dev);
}

int pci_host_create(const struct dev_env *env, struct device **out)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int ret;

	if (!bus)
		return -ENOMEM;
	bus->dev.ops = &pci_host_ops;
	snprintf(bus->dev.name, sizeof(bus->dev.name), "pci-host");
	bus->pio = env->pio;
	bus->mmio = env->mmio;
	bus->irq = env->irq;
	bus->mmio_next = PCI_MMIO_WINDOW_BASE;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->map_lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	pci_device_init(&bus->host_bridge, "host-bridge", PCI_HOST_VENDOR,
			PCI_HOST_DEVICE, PCI_CLASS_HOST_BRIDGE, 0,
			PCI_CFG_SIZE_EXT);
	bus->host_bridge.wmask[PCI_INTERRUPT_LINE] = 0;
	bus->host_bridge.cfg[PCI_INTERRUPT_PIN] = 0;
	ret = pci_register_device(bus, &bus->host_bridge);
	if (ret)
		goto err_free;
	ret = bus_register(bus->pio, PORT_PCI_CONFIG_ADDR, 8, &pci_io_ops,
			   bus, "pci-config");
	if (ret)
		goto err_free;
	bus->io_registered = true;
	ret = bus_register(bus->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE,
			   &pci_ecam_ops, bus, "pci-ecam");
	if (ret)
		goto err_free;
	bus->ecam_registered = true;
	*out = &bus->dev;
	return 0;
err_free:
	pci_host_destroy(&bus->dev);
	return ret;
}
