/* SPDX-License-Identifier: MIT */
/*
 * The display's state, shared by its PCI device (display.c), its register
 * interface (display_regs.c), its video memory and scanout
 * (display_vram.c) and its snapshot section (display_state.c).
 */
#ifndef CVISOR_DEVICES_DISPLAY_INT_H
#define CVISOR_DEVICES_DISPLAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/display.h"
#include "devices/edid.h"
#include "devices/pci.h"
#include "vmm/bus.h"

#define QEXT_BIG_ENDIAN		0xbebebebe
#define QEXT_LITTLE_ENDIAN	0x1e1e1e1e

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

/* display_regs.c: BAR 2 */
extern const struct bus_ops display_regs_ops;
bool display_bpp_valid(unsigned bpp);
unsigned display_bytes_pp(unsigned bpp);
/* DISPI_VIRT_HEIGHT from the virtual width and depth, under d->lock */
void display_update_virt_height(struct display *d);

/* display_vram.c: BAR 0 */
extern const struct bus_ops display_vram_ops;
void display_mark_all(struct display *d);

/* display_state.c */
int display_save(struct device *dev, struct state_writer *w);
int display_load(struct device *dev, struct state_reader *r,
		 uint32_t version);

#endif
