// SPDX-License-Identifier: MIT
/*
 * The display's snapshot section: the registers as written, the video
 * memory up to its last page that is not all zeros, then the PCI
 * function. A loaded register set is checked as the guest's writes are.
 */
#include <string.h>

#include "devices/display_int.h"

/* The highest 4 KiB page of video memory that is not all zeros, plus one. */
static uint32_t vram_used_pages(const struct display *d)
{
	static const uint8_t zero[4096];

	for (uint32_t p = DISPLAY_VRAM_SIZE / 4096; p > 0; p--)
		if (memcmp(d->vram + (size_t)(p - 1) * 4096, zero, 4096))
			return p;
	return 0;
}

int display_save(struct device *dev, struct state_writer *w)
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

int display_load(struct device *dev, struct state_reader *r,
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
	    !display_bpp_valid(dispi[DISPI_BPP]) ||
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
	display_update_virt_height(d);
	d->endian = endian;
	d->blanked = blanked;
	d->att_flip = flip;
	pthread_mutex_unlock(&d->lock);
	display_mark_all(d);
	return pci_device_load(&d->pci, r);
}
