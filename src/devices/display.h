/* SPDX-License-Identifier: MIT */
/*
 * The display: a PCI framebuffer with the Bochs DISPI register interface of
 * QEMU's "bochs-display" (PCI 1234:1111, class 0x0380), which Linux's bochs
 * DRM driver drives. BAR 0 is video memory, BAR 2 holds the registers
 * (EDID at 0, VGA ports 0x3c0..0x3df at 0x400, DISPI at 0x500, the QEMU
 * extension at 0x600). It starts in a 1024x768x32 mode, as firmware leaves
 * a VBE mode, so the boot protocol's screen_info can name it and the
 * kernel's simple framebuffer shows the first line.
 *
 * Guest writes to video memory mark 4 KiB pages dirty; the UI takes the
 * dirty set and reads the scanout through display_read_rows.
 */
#ifndef CVISOR_DEVICES_DISPLAY_H
#define CVISOR_DEVICES_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

#define DISPLAY_VRAM_SIZE	(16u << 20)
#define DISPLAY_MAX_WIDTH	4096
#define DISPLAY_MAX_HEIGHT	4096
#define DISPLAY_DEF_WIDTH	1024
#define DISPLAY_DEF_HEIGHT	768
#define DISPLAY_DIRTY_WORDS	(DISPLAY_VRAM_SIZE / 4096 / 64)

struct display;

/* What is on the screen. width/height 0: nothing (disabled, blanked). */
struct display_mode {
	uint32_t width, height;
	uint32_t bpp;		/* 8, 15, 16, 24 or 32 */
	uint32_t stride;	/* bytes per scanout line */
	uint64_t offset;	/* of the first visible pixel in video memory */
	bool big_endian;
};

/* The framebuffer as the boot protocol's screen_info describes it. */
struct display_boot_fb {
	uint64_t base;		/* guest physical address of BAR 0 */
	uint32_t size;		/* video memory bytes */
	uint32_t width, height, stride, bpp;
};

int display_create(const struct dev_env *env, struct display **out);
struct device *display_device(struct display *d);
void display_boot_fb(struct display *d, struct display_boot_fb *fb);

/* The current mode, validated: a mode that does not fit reads as empty. */
void display_get_mode(struct display *d, struct display_mode *m);
/*
 * Rows [y, y+n) of mode m (from display_get_mode) as 0x00RRGGBB pixels,
 * width per row, into dst. Any thread; the guest may be writing.
 */
void display_read_rows(struct display *d, const struct display_mode *m,
		       uint32_t y, uint32_t n, uint32_t *dst);
/*
 * Take the set of video memory pages written since the last call (bit i:
 * page i) and clear it; true if any bit was set. A mode change sets all.
 */
bool display_take_dirty(struct display *d, uint64_t *bits);

/* Guest accesses as the BARs see them; for tests and the fuzz target. */
uint64_t display_reg_read(struct display *d, uint64_t off, unsigned size);
void display_reg_write(struct display *d, uint64_t off, uint64_t val,
		       unsigned size);
uint64_t display_vram_read(struct display *d, uint64_t off, unsigned size);
void display_vram_write(struct display *d, uint64_t off, uint64_t val,
			unsigned size);

#endif
