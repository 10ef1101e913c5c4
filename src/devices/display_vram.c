// SPDX-License-Identifier: MIT
/*
 * The display's video memory, BAR 0 (see display.h): guest accesses,
 * which mark the 4 KiB pages they write dirty, the dirty set the UI takes
 * (with the memory slot's dirty log when video memory is one, see
 * display.c), and the scanout read as 0x00RRGGBB pixels.
 */
#include <string.h>

#include "devices/display_int.h"
#include "vmm/log.h"

void display_mark_all(struct display *d)
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

const struct bus_ops display_vram_ops = {
	.read = vram_bus_read,
	.write = vram_bus_write,
};

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
	unsigned bpp = display_bytes_pp(m->bpp);

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
