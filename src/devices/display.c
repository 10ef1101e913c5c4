// SPDX-License-Identifier: MIT
/*
 * Bochs DISPI display on PCI (see display.h). Register meanings follow the
 * Bochs VBE interface as Linux's bochs driver and QEMU's docs/specs use it:
 * index 0 ID, 1 XRES, 2 YRES, 3 BPP, 4 ENABLE, 5 BANK, 6 VIRT_WIDTH,
 * 7 VIRT_HEIGHT, 8 X_OFFSET, 9 Y_OFFSET, 10 video memory in 64 KiB units.
 * Every register value the guest writes is kept as written (it reads back)
 * but only a mode that fits video memory is shown.
 *
 * Video memory is a BAR region on the MMIO bus, where each guest access
 * is a call (and marks its page dirty). When the accelerator offers
 * device memory slots (KVM), the BAR is also mapped as one wherever the
 * guest places it: stores then go straight to memory, and the slot's
 * dirty log says which pages they hit.
 */
#include "devices/display.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/edid.h"
#include "devices/pci.h"
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

/* BAR 2 layout */
#define REGS_VGA		0x400	/* VGA port 0x3c0 + n */
#define REGS_VGA_END		0x420
#define REGS_DISPI		0x500
#define REGS_DISPI_END		0x518
#define REGS_QEXT		0x600
#define REGS_QEXT_END		0x608

#define QEXT_SIZE		8
#define QEXT_BIG_ENDIAN		0xbebebebe
#define QEXT_LITTLE_ENDIAN	0x1e1e1e1e

#define VGA_ATT_W		0x3c0
#define VGA_IS1_RC		0x3da
#define VGA_ATT_PAS		0x20	/* palette address source: screen on */

enum dispi_index {
	DISPI_ID, DISPI_XRES, DISPI_YRES, DISPI_BPP, DISPI_ENABLE,
	DISPI_BANK, DISPI_VIRT_WIDTH, DISPI_VIRT_HEIGHT, DISPI_X_OFFSET,
	DISPI_Y_OFFSET, DISPI_VIDEO_MEMORY_64K, DISPI_NR,
};

#define DISPI_ID0		0xb0c0
#define DISPI_ID5		0xb0c5
#define DISPI_ENABLED		0x01
#define DISPI_GETCAPS		0x02
#define DISPI_LFB_ENABLED	0x40
#define DISPI_NOCLEARMEM	0x80

struct display {
	struct device dev;
	struct pci_device pci;
	bool registered;
	uint8_t *vram;			/* DISPLAY_VRAM_SIZE, anonymous */
	_Atomic uint64_t dirty[DISPLAY_DIRTY_WORDS];
	const struct mem_slots *slots;	/* NULL: MMIO only */
	int slot;			/* video memory's, -1: none */

	pthread_mutex_t lock;		/* the registers below */
	uint16_t dispi[DISPI_NR];
	uint32_t endian;		/* QEXT_*_ENDIAN */
	bool blanked;
	bool att_flip;			/* next 0x3c0 write is data */
	uint8_t edid[EDID_BLOCK_SIZE];	/* read-only */
};

static void display_mark_all(struct display *d)
{
	for (unsigned i = 0; i < DISPLAY_DIRTY_WORDS; i++)
		atomic_store(&d->dirty[i], ~0ULL);
}

static void display_mark(struct display *d, uint64_t off, unsigned size)
{
	uint64_t first = off >> 12, last = (off + size - 1) >> 12;

	for (uint64_t p = first; p <= last && p < DISPLAY_VRAM_SIZE / 4096; p++) {
		uint64_t bit = 1ULL << (p % 64);

		/* Most writes hit a page already dirty: test before the RMW. */
		if (!(atomic_load_explicit(&d->dirty[p / 64],
					   memory_order_relaxed) & bit))
			atomic_fetch_or(&d->dirty[p / 64], bit);
	}
}

uint64_t display_vram_read(struct display *d, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	if (off >= DISPLAY_VRAM_SIZE || size > DISPLAY_VRAM_SIZE - off)
		return ~0ULL;
	memcpy(&v, d->vram + off, size);
	return v;
}

void display_vram_write(struct display *d, uint64_t off, uint64_t val,
			unsigned size)
{
	if (off >= DISPLAY_VRAM_SIZE || size > DISPLAY_VRAM_SIZE - off ||
	    size > 8)
		return;
	memcpy(d->vram + off, &val, size);
	display_mark(d, off, size);
}

static uint64_t vram_bus_read(void *opaque, uint64_t off, unsigned size)
{
	return display_vram_read(opaque, off, size);
}

static void vram_bus_write(void *opaque, uint64_t off, uint64_t val,
			   unsigned size)
{
	display_vram_write(opaque, off, val, size);
}

static bool dispi_bpp_valid(unsigned bpp)
{
	return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

static unsigned bytes_pp(unsigned bpp)
{
	return (bpp + 7) / 8;
}

/* Virtual height: whole lines of the virtual width that fit in memory. */
static void dispi_update_virt_height(struct display *d)
{
	unsigned line = d->dispi[DISPI_VIRT_WIDTH] *
			bytes_pp(d->dispi[DISPI_BPP]);

	d->dispi[DISPI_VIRT_HEIGHT] = line ?
		(DISPLAY_VRAM_SIZE / line > 0xffff ? 0xffff :
		 DISPLAY_VRAM_SIZE / line) : 0;
}

static uint16_t dispi_read(struct display *d, unsigned idx)
{
	if (idx >= DISPI_NR)
		return 0;
	if (d->dispi[DISPI_ENABLE] & DISPI_GETCAPS) {
		switch (idx) {
		case DISPI_XRES:
			return DISPLAY_MAX_WIDTH;
		case DISPI_YRES:
			return DISPLAY_MAX_HEIGHT;
		case DISPI_BPP:
			return 32;
		}
	}
	return d->dispi[idx];
}

static void dispi_write(struct display *d, unsigned idx, uint16_t val)
{
	switch (idx) {
	case DISPI_ID:
		if (val >= DISPI_ID0 && val <= DISPI_ID5)
			d->dispi[DISPI_ID] = val;
		return;
	case DISPI_XRES:
	case DISPI_YRES:
		if (val > (idx == DISPI_XRES ? DISPLAY_MAX_WIDTH :
					       DISPLAY_MAX_HEIGHT))
			return;
		d->dispi[idx] = val;
		break;
	case DISPI_BPP:
		if (val == 0)
			val = 8;
		if (!dispi_bpp_valid(val))
			return;
		d->dispi[idx] = val;
		break;
	case DISPI_ENABLE:
		if ((val & DISPI_ENABLED) &&
		    !(d->dispi[DISPI_ENABLE] & DISPI_ENABLED)) {
			/* As on enabling a VBE mode: offsets reset. */
			d->dispi[DISPI_VIRT_WIDTH] = d->dispi[DISPI_XRES];
			d->dispi[DISPI_X_OFFSET] = 0;
			d->dispi[DISPI_Y_OFFSET] = 0;
			if (!(val & DISPI_NOCLEARMEM))
				/* zero pages, and their memory given back */
				madvise(d->vram, DISPLAY_VRAM_SIZE,
					MADV_DONTNEED);
		}
		d->dispi[idx] = val & (DISPI_ENABLED | DISPI_GETCAPS |
				       DISPI_LFB_ENABLED | DISPI_NOCLEARMEM |
				       0x20);
		break;
	case DISPI_BANK:
		/* The banked window is not modelled: only bank 0. */
		d->dispi[idx] = 0;
		return;
	case DISPI_VIRT_WIDTH:
		if (val > DISPLAY_MAX_WIDTH * 4)
			return;
		d->dispi[idx] = val;
		break;
	case DISPI_X_OFFSET:
	case DISPI_Y_OFFSET:
		d->dispi[idx] = val;
		break;
	default:
		/* VIRT_HEIGHT and the memory size are computed */
		return;
	}
	dispi_update_virt_height(d);
	display_mark_all(d);
}

static uint8_t vga_read(struct display *d, unsigned port)
{
	if (port == VGA_IS1_RC)
		d->att_flip = false;
	return 0;
}

static void vga_write(struct display *d, unsigned port, uint8_t val)
{
	if (port != VGA_ATT_W)
		return;
	/* The attribute index write: PAS clear blanks the screen. */
	if (!d->att_flip) {
		bool blank = !(val & VGA_ATT_PAS);

		if (blank != d->blanked)
			display_mark_all(d);
		d->blanked = blank;
	}
	d->att_flip = !d->att_flip;
}

uint64_t display_reg_read(struct display *d, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	if (off < REGS_VGA && size <= 8 && size <= REGS_VGA - off) {
		/* EDID: one block, then zeros up to the VGA registers */
		for (unsigned i = 0; i < size; i++)
			if (off + i < EDID_BLOCK_SIZE)
				v |= (uint64_t)d->edid[off + i] << (8 * i);
		return v;
	}
	pthread_mutex_lock(&d->lock);
	if (off >= REGS_VGA && off < REGS_VGA_END && size == 1) {
		v = vga_read(d, 0x3c0 + off - REGS_VGA);
	} else if (off >= REGS_DISPI && off < REGS_DISPI_END && size == 2 &&
		   !(off & 1)) {
		v = dispi_read(d, (off - REGS_DISPI) / 2);
	} else if (off >= REGS_QEXT && off < REGS_QEXT_END && size == 4 &&
		   !(off & 3)) {
		v = off == REGS_QEXT ? QEXT_SIZE : d->endian;
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

void display_reg_write(struct display *d, uint64_t off, uint64_t val,
		       unsigned size)
{
	pthread_mutex_lock(&d->lock);
	if (off >= REGS_VGA && off < REGS_VGA_END && size == 1) {
		vga_write(d, 0x3c0 + off - REGS_VGA, val);
	} else if (off >= REGS_DISPI && off < REGS_DISPI_END && size == 2 &&
		   !(off & 1)) {
		dispi_write(d, (off - REGS_DISPI) / 2, val);
	} else if (off == REGS_QEXT + 4 && size == 4) {
		if (val == QEXT_BIG_ENDIAN || val == QEXT_LITTLE_ENDIAN) {
			d->endian = val;
			display_mark_all(d);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static uint64_t regs_bus_read(void *opaque, uint64_t off, unsigned size)
{
	return display_reg_read(opaque, off, size);
}

static void regs_bus_write(void *opaque, uint64_t off, uint64_t val,
			   unsigned size)
{
	display_reg_write(opaque, off, val, size);
}

static const struct bus_ops vram_ops = {
	.read = vram_bus_read,
	.write = vram_bus_write,
};

static const struct bus_ops regs_ops = {
	.read = regs_bus_read,
	.write = regs_bus_write,
};

void display_get_mode(struct display *d, struct display_mode *m)
{
	uint64_t end;
	unsigned bpp;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&d->lock);
	bpp = d->dispi[DISPI_BPP];
	if (!(d->dispi[DISPI_ENABLE] & DISPI_ENABLED) || d->blanked ||
	    !dispi_bpp_valid(bpp) || bpp == 8) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	m->width = d->dispi[DISPI_XRES];
	m->height = d->dispi[DISPI_YRES];
	m->bpp = bpp;
	m->stride = d->dispi[DISPI_VIRT_WIDTH] * bytes_pp(bpp);
	m->offset = (uint64_t)d->dispi[DISPI_Y_OFFSET] * m->stride +
		    (uint64_t)d->dispi[DISPI_X_OFFSET] * bytes_pp(bpp);
	m->big_endian = d->endian == QEXT_BIG_ENDIAN;
	pthread_mutex_unlock(&d->lock);
	end = m->offset + (uint64_t)(m->height ? m->height - 1 : 0) * m->stride +
	      (uint64_t)m->width * bytes_pp(bpp);
	if (!m->width || !m->height || d->dispi[DISPI_VIRT_WIDTH] < m->width ||
	    end > DISPLAY_VRAM_SIZE)
		memset(m, 0, sizeof(*m));
}

static uint32_t pixel(const uint8_t *p, const struct display_mode *m)
{
	uint32_t v;

	switch (m->bpp) {
	case 32:
		memcpy(&v, p, 4);
		if (m->big_endian)
			v = __builtin_bswap32(v);
		return v & 0xffffff;
	case 24:
		return p[0] | p[1] << 8 | p[2] << 16;
	case 16:
		v = p[0] | p[1] << 8;
		return (v & 0xf800) << 8 | (v & 0xe000) << 3 |
		       (v & 0x07e0) << 5 | (v & 0x0600) >> 1 |
		       (v & 0x001f) << 3 | (v & 0x001c) >> 2;
	default: /* 15 */
		v = p[0] | p[1] << 8;
		return (v & 0x7c00) << 9 | (v & 0x7000) << 4 |
		       (v & 0x03e0) << 6 | (v & 0x0380) << 1 |
		       (v & 0x001f) << 3 | (v & 0x001c) >> 2;
	}
}

void display_read_rows(struct display *d, const struct display_mode *m,
		       uint32_t y, uint32_t n, uint32_t *dst)
{
	unsigned bpp = bytes_pp(m->bpp);

	if (!m->width || y >= m->height || n > m->height - y)
		return;
	for (uint32_t r = y; r < y + n; r++, dst += m->width) {
		const uint8_t *src = d->vram + m->offset +
				     (uint64_t)r * m->stride;

		if (m->bpp == 32 && !m->big_endian) {
			memcpy(dst, src, (size_t)m->width * 4);
			for (uint32_t x = 0; x < m->width; x++)
				dst[x] &= 0xffffff;
			continue;
		}
		for (uint32_t x = 0; x < m->width; x++)
			dst[x] = pixel(src + (size_t)x * bpp, m);
	}
}

bool display_take_dirty(struct display *d, uint64_t *bits)
{
	bool any = false;

	memset(bits, 0, DISPLAY_DIRTY_WORDS * sizeof(*bits));
	pthread_mutex_lock(&d->lock);
	if (d->slot >= 0 &&
	    d->slots->ops->sync(d->slots->opaque, d->slot, bits) < 0) {
		/* the log failed: whatever the guest wrote is unknown */
		memset(bits, 0xff, DISPLAY_DIRTY_WORDS * sizeof(*bits));
		log_limited(&d->dev.log, "display: video memory dirty log failed");
	}
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < DISPLAY_DIRTY_WORDS; i++) {
		bits[i] |= atomic_load_explicit(&d->dirty[i],
						memory_order_relaxed) ?
			   atomic_exchange(&d->dirty[i], 0) : 0;
		any |= bits[i] != 0;
	}
	return any;
}

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

/* The highest 4 KiB page of video memory that is not all zeros, plus one. */
static uint32_t vram_used_pages(const struct display *d)
{
	static const uint8_t zero[4096];

	for (uint32_t p = DISPLAY_VRAM_SIZE / 4096; p > 0; p--)
		if (memcmp(d->vram + (size_t)(p - 1) * 4096, zero, 4096))
			return p;
	return 0;
}

static int display_save(struct device *dev, struct state_writer *w)
{
	struct display *d = container_of(dev, struct display, dev);
	uint32_t pages;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < DISPI_NR; i++)
		state_put_u16(w, d->dispi[i]);
	state_put_u32(w, d->endian);
	state_put_u8(w, d->blanked);
	state_put_u8(w, d->att_flip);
	pthread_mutex_unlock(&d->lock);
	pages = vram_used_pages(d);
	state_put_u32(w, pages);
	state_put(w, d->vram, (size_t)pages * 4096);
	return pci_device_save(&d->pci, w);
}

static int display_load(struct device *dev, struct state_reader *r,
			uint32_t version)
{
	struct display *d = container_of(dev, struct display, dev);
	uint16_t dispi[DISPI_NR];
	uint8_t blanked, flip;
	uint32_t endian, pages;
	int ret = 0;

	(void)version;
	for (unsigned i = 0; i < DISPI_NR && !ret; i++)
		ret = state_get_u16(r, &dispi[i]);
	ret = ret ?: state_get_u32(r, &endian);
	ret = ret ?: state_get_u8(r, &blanked);
	ret = ret ?: state_get_u8(r, &flip);
	ret = ret ?: state_get_u32(r, &pages);
	if (ret)
		return ret;
	if (pages > DISPLAY_VRAM_SIZE / 4096 ||
	    (endian != QEXT_BIG_ENDIAN && endian != QEXT_LITTLE_ENDIAN) ||
	    blanked > 1 || flip > 1 || dispi[DISPI_ID] < DISPI_ID0 ||
	    dispi[DISPI_ID] > DISPI_ID5 ||
	    !dispi_bpp_valid(dispi[DISPI_BPP]) ||
	    dispi[DISPI_XRES] > DISPLAY_MAX_WIDTH ||
	    dispi[DISPI_YRES] > DISPLAY_MAX_HEIGHT ||
	    dispi[DISPI_VIRT_WIDTH] > DISPLAY_MAX_WIDTH * 4 ||
	    dispi[DISPI_VIDEO_MEMORY_64K] != DISPLAY_VRAM_SIZE >> 16)
		return state_fail(r, "display: bad register state");
	ret = state_get(r, d->vram, (size_t)pages * 4096);
	if (ret)
		return ret;
	pthread_mutex_lock(&d->lock);
	memcpy(d->dispi, dispi, sizeof(dispi));
	dispi_update_virt_height(d);
	d->endian = endian;
	d->blanked = blanked;
	d->att_flip = flip;
	pthread_mutex_unlock(&d->lock);
	display_mark_all(d);
	return pci_device_load(&d->pci, r);
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
	dispi_update_virt_height(d);
	d->endian = QEXT_LITTLE_ENDIAN;
	edid_build(d->edid);
	display_mark_all(d);

	pci = &d->pci;
	pci_device_init(pci, "display", DISPLAY_VENDOR, DISPLAY_DEVICE,
			DISPLAY_CLASS, DISPLAY_REVISION, PCI_CFG_SIZE);
	pci->ops = &display_pci_ops;
	pci_set_u16(pci->cfg + PCI_SUBSYSTEM_VENDOR_ID, DISPLAY_SUBVENDOR);
	pci_set_u16(pci->cfg + PCI_SUBSYSTEM_ID, DISPLAY_SUBDEVICE);
	/* No interrupts: the pin register reads 0. */
	pci->cfg[PCI_INTERRUPT_PIN] = 0;
	ret = pci_device_add_bar(pci, BAR_VRAM, DISPLAY_VRAM_SIZE,
				 PCI_BAR_MEM32 | PCI_BAR_PREFETCH);
	ret = ret ?: pci_device_add_bar_region(pci, BAR_VRAM, 0,
					       DISPLAY_VRAM_SIZE, &vram_ops, d,
					       "display-vram");
	ret = ret ?: pci_device_add_bar(pci, BAR_REGS, REGS_SIZE,
					PCI_BAR_MEM32);
	ret = ret ?: pci_device_add_bar_region(pci, BAR_REGS, 0, REGS_SIZE,
					       &regs_ops, d, "display-regs");
	ret = ret ?: pci_register_device(env->pci, pci);
	if (ret) {
		display_destroy(&d->dev);
		return ret;
	}
	d->registered = true;
	*out = d;
	return 0;
}
