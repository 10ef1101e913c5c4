// SPDX-License-Identifier: MIT
/*
 * Bochs DISPI display on PCI (see display.h): the PCI function, its two
 * BARs and its lifecycle. The registers are display_regs.c, video memory
 * and the scanout display_vram.c, the snapshot section display_state.c.
 *
 * Video memory is a BAR region on the MMIO bus, where each guest access
 * is a call (and marks its page dirty). When the accelerator offers
 * device memory slots (KVM), the BAR is also mapped as one wherever the
 * guest places it: stores then go straight to memory, and the slot's
 * dirty log says which pages they hit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/display_int.h"
#include "vmm/log.h"

#define DISPLAY_VENDOR		0x1234
#define DISPLAY_DEVICE		0x1111
#define DISPLAY_CLASS		0x038000	/* display controller, other */
#define DISPLAY_REVISION	2		/* has the QEMU extension */
#define DISPLAY_SUBVENDOR	0x1af4
#define DISPLAY_SUBDEVICE	0x1100

#define BAR_VRAM		0
#define BAR_REGS		2
#define REGS_SIZE		4096

void display_boot_fb(struct display *d, struct display_boot_fb *fb)
{
	struct display_mode m;

	display_get_mode(d, &m);
	fb->base = d->pci.bars[BAR_VRAM].addr;
	fb->size = DISPLAY_VRAM_SIZE;
	fb->width = m.width;
	fb->height = m.height;
	fb->stride = m.stride;
	fb->bpp = m.bpp;
}

struct device *display_device(struct display *d)
{
	return &d->dev;
}

static void display_destroy(struct device *dev)
{
	struct display *d = container_of(dev, struct display, dev);

	if (d->registered)
		pci_unregister_device(d->pci.bus, &d->pci);
	munmap(d->vram, DISPLAY_VRAM_SIZE);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Video memory's BAR decodes at addr: map it as a slot there too. */
static void display_bar_mapped(struct pci_device *pci, int bar, uint64_t addr)
{
	struct display *d = container_of(pci, struct display, pci);
	int ret;

	if (bar != BAR_VRAM || !d->slots)
		return;
	ret = d->slots->ops->map(d->slots->opaque, addr, d->vram,
				 DISPLAY_VRAM_SIZE);
	if (ret < 0)
		log_limited(&d->dev.log,
			    "display: video memory at %#llx stays MMIO: %s",
			    (unsigned long long)addr, strerror(-ret));
	else
		log_debug("display: video memory at %#llx is memory slot %d, dirty-logged",
			  (unsigned long long)addr, ret);
	pthread_mutex_lock(&d->lock);
	d->slot = ret < 0 ? -1 : ret;
	pthread_mutex_unlock(&d->lock);
}

static void display_bar_unmapped(struct pci_device *pci, int bar,
				 uint64_t addr)
{
	struct display *d = container_of(pci, struct display, pci);
	int slot;

	(void)addr;
	if (bar != BAR_VRAM)
		return;
	pthread_mutex_lock(&d->lock);
	slot = d->slot;
	d->slot = -1;
	pthread_mutex_unlock(&d->lock);
	if (slot < 0)
		return;
	d->slots->ops->unmap(d->slots->opaque, slot);
	/* Writes the log held but nobody synced: repaint. */
	display_mark_all(d);
}

static const struct pci_device_ops display_pci_ops = {
	.bar_mapped = display_bar_mapped,
	.bar_unmapped = display_bar_unmapped,
};

static const struct device_ops display_dev_ops = {
	.state_version = 1,
	.save = display_save,
	.load = display_load,
	.destroy = display_destroy,
};

int display_create(const struct dev_env *env, struct display **out)
{
	struct display *d = calloc(1, sizeof(*d));
	struct pci_device *pci;
	int ret;

	if (!d)
		return -ENOMEM;
	if (!env->pci) {
		free(d);
		return -ENODEV;
	}
	d->vram = mmap(NULL, DISPLAY_VRAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->vram == MAP_FAILED) {
		free(d);
		return -ENOMEM;
	}
	d->dev.ops = &display_dev_ops;
	snprintf(d->dev.name, sizeof(d->dev.name), "display");
	d->slots = env->slots;
	d->slot = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->dispi[DISPI_ID] = DISPI_ID5;
	d->dispi[DISPI_XRES] = DISPLAY_DEF_WIDTH;
	d->dispi[DISPI_YRES] = DISPLAY_DEF_HEIGHT;
	d->dispi[DISPI_BPP] = 32;
	d->dispi[DISPI_ENABLE] = DISPI_ENABLED | DISPI_LFB_ENABLED;
	d->dispi[DISPI_VIRT_WIDTH] = DISPLAY_DEF_WIDTH;
	d->dispi[DISPI_VIDEO_MEMORY_64K] = DISPLAY_VRAM_SIZE >> 16;
	display_update_virt_height(d);
	d->endian = QEXT_LITTLE_ENDIAN;
	edid_build(d->edid);
	display_mark_all(d);

	pci = &d->pci;
	pci_device_init(pci, "display", DISPLAY_VENDOR, DISPLAY_DEVICE,
			DISPLAY_CLASS, DISPLAY_REVISION, PCI_CFG_SIZE);
	pci->ops = &display_pci_ops;
	put_le16(pci->cfg + PCI_SUBSYSTEM_VENDOR_ID, DISPLAY_SUBVENDOR);
	put_le16(pci->cfg + PCI_SUBSYSTEM_ID, DISPLAY_SUBDEVICE);
	/* No interrupts: the pin register reads 0. */
	pci->cfg[PCI_INTERRUPT_PIN] = 0;
	ret = pci_device_add_bar(pci, BAR_VRAM, DISPLAY_VRAM_SIZE,
				 PCI_BAR_MEM32 | PCI_BAR_PREFETCH);
	ret = ret ?: pci_device_add_bar_region(pci, BAR_VRAM, 0,
					       DISPLAY_VRAM_SIZE, &display_vram_ops, d,
					       "display-vram");
	ret = ret ?: pci_device_add_bar(pci, BAR_REGS, REGS_SIZE,
					PCI_BAR_MEM32);
	ret = ret ?: pci_device_add_bar_region(pci, BAR_REGS, 0, REGS_SIZE,
					       &display_regs_ops, d, "display-regs");
	ret = ret ?: pci_register_device(env->pci, pci);
	if (ret) {
		display_destroy(&d->dev);
		return ret;
	}
	d->registered = true;
	*out = d;
	return 0;
}
