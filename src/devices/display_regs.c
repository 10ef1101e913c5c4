// SPDX-License-Identifier: MIT
/*
 * The display's register interface, BAR 2 (see display.h): EDID, the VGA
 * attribute port that blanks the screen, the Bochs DISPI registers and
 * the QEXT extension; and the mode they define. Register meanings follow
 * the Bochs VBE interface as Linux's bochs driver and QEMU's docs/specs
 * use it: index 0 ID, 1 XRES, 2 YRES, 3 BPP, 4 ENABLE, 5 BANK,
 * 6 VIRT_WIDTH, 7 VIRT_HEIGHT, 8 X_OFFSET, 9 Y_OFFSET, 10 video memory in
 * 64 KiB units. Every register value the guest writes is kept as written
 * (it reads back) but only a mode that fits video memory is shown.
 */
#include <string.h>
#include <sys/mman.h>

#include "devices/display_int.h"

/* BAR 2 layout */
#define REGS_VGA		0x400	/* VGA port 0x3c0 + n */
#define REGS_VGA_END		0x420
#define REGS_DISPI		0x500
#define REGS_DISPI_END		0x518
#define REGS_QEXT		0x600
#define REGS_QEXT_END		0x608

#define QEXT_SIZE		8

#define VGA_ATT_W		0x3c0
#define VGA_IS1_RC		0x3da
#define VGA_ATT_PAS		0x20	/* palette address source: screen on */

bool display_bpp_valid(unsigned bpp)
{
	return bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

unsigned display_bytes_pp(unsigned bpp)
{
	return (bpp + 7) / 8;
}

/* Virtual height: whole lines of the virtual width that fit in memory. */
void display_update_virt_height(struct display *d)
{
	unsigned line = d->dispi[DISPI_VIRT_WIDTH] *
			display_bytes_pp(d->dispi[DISPI_BPP]);

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
		if (!display_bpp_valid(val))
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
	display_update_virt_height(d);
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

const struct bus_ops display_regs_ops = {
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
	    !display_bpp_valid(bpp) || bpp == 8) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	m->width = d->dispi[DISPI_XRES];
	m->height = d->dispi[DISPI_YRES];
	m->bpp = bpp;
	m->stride = d->dispi[DISPI_VIRT_WIDTH] * display_bytes_pp(bpp);
	m->offset = (uint64_t)d->dispi[DISPI_Y_OFFSET] * m->stride +
		    (uint64_t)d->dispi[DISPI_X_OFFSET] * display_bytes_pp(bpp);
	m->big_endian = d->endian == QEXT_BIG_ENDIAN;
	pthread_mutex_unlock(&d->lock);
	end = m->offset + (uint64_t)(m->height ? m->height - 1 : 0) * m->stride +
	      (uint64_t)m->width * display_bytes_pp(bpp);
	if (!m->width || !m->height || d->dispi[DISPI_VIRT_WIDTH] < m->width ||
	    end > DISPLAY_VRAM_SIZE)
		memset(m, 0, sizeof(*m));
}
