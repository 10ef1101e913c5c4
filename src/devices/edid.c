// SPDX-License-Identifier: MIT
/*
 * The EDID base block (see edid.h). Byte layout from VESA E-EDID 1.4:
 * header, vendor and product, version, basic display parameters,
 * chromaticity, established and standard timings, four 18-byte
 * descriptors, extension count and checksum.
 */
#include "devices/edid.h"

#include <string.h>

#define EDID_YEAR_BASE		1990
#define EDID_MODEL_YEAR		2026

/* A detailed timing: active, front porch, sync and back porch per axis. */
struct edid_timing {
	uint32_t clock_khz;
	uint16_t h_active, h_front, h_sync, h_back;
	uint16_t v_active, v_front, v_sync, v_back;
	uint16_t width_mm, height_mm;
	uint8_t h_sync_pos, v_sync_pos;
};

/* VESA DMT 1024x768 at 60 Hz: 65 MHz, both syncs negative. */
static const struct edid_timing preferred = {
	.clock_khz = 65000,
	.h_active = 1024, .h_front = 24, .h_sync = 136, .h_back = 160,
	.v_active = 768, .v_front = 3, .v_sync = 6, .v_back = 29,
	.width_mm = 400, .height_mm = 300,
};

/* Three letters of the manufacturer ID, 5 bits each, big-endian. */
static void edid_vendor(uint8_t *p, const char id[3])
{
	uint16_t v = (id[0] - '@') << 10 | (id[1] - '@') << 5 | (id[2] - '@');

	p[0] = v >> 8;
	p[1] = v;
}

/* sRGB primaries and white point, 10-bit binary fractions. */
static void edid_chromaticity(uint8_t *p)
{
	static const uint16_t c[8] = {
		655, 338,	/* red x, y: 0.640, 0.330 */
		307, 614,	/* green: 0.300, 0.600 */
		154, 61,	/* blue: 0.150, 0.060 */
		320, 337,	/* white (D65): 0.3127, 0.3290 */
	};

	p[0] = (c[0] & 3) << 6 | (c[1] & 3) << 4 | (c[2] & 3) << 2 | (c[3] & 3);
	p[1] = (c[4] & 3) << 6 | (c[5] & 3) << 4 | (c[6] & 3) << 2 | (c[7] & 3);
	for (int i = 0; i < 8; i++)
		p[2 + i] = c[i] >> 2;
}

/* A standard timing: width and aspect ratio at 60 Hz. */
static void edid_std(uint8_t *p, unsigned width, unsigned aspect)
{
	p[0] = width / 8 - 31;
	p[1] = aspect << 6;	/* refresh 60 + 0 */
}

static void edid_detailed(uint8_t *p, const struct edid_timing *t)
{
	unsigned h_blank = t->h_front + t->h_sync + t->h_back;
	unsigned v_blank = t->v_front + t->v_sync + t->v_back;
	unsigned clock = t->clock_khz / 10;

	p[0] = clock;
	p[1] = clock >> 8;
	p[2] = t->h_active;
	p[3] = h_blank;
	p[4] = (t->h_active >> 8) << 4 | (h_blank >> 8);
	p[5] = t->v_active;
	p[6] = v_blank;
	p[7] = (t->v_active >> 8) << 4 | (v_blank >> 8);
	p[8] = t->h_front;
	p[9] = t->h_sync;
	p[10] = (t->v_front & 15) << 4 | (t->v_sync & 15);
	p[11] = (t->h_front >> 8) << 6 | (t->h_sync >> 8) << 4 |
		(t->v_front >> 4) << 2 | (t->v_sync >> 4);
	p[12] = t->width_mm;
	p[13] = t->height_mm;
	p[14] = (t->width_mm >> 8) << 4 | (t->height_mm >> 8);
	/* no borders; digital separate sync and its polarities */
	p[17] = 0x18 | t->v_sync_pos << 2 | t->h_sync_pos << 1;
}

/* A display descriptor: tag, then 13 bytes of text ended by a newline. */
static void edid_text(uint8_t *p, uint8_t tag, const char *text)
{
	size_t n = strnlen(text, 13);

	p[3] = tag;
	memset(p + 5, ' ', 13);
	memcpy(p + 5, text, n);
	if (n < 13)
		p[5 + n] = '\n';
}

void edid_build(uint8_t e[EDID_BLOCK_SIZE])
{
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0 };
	static const uint8_t range[18] = {
		[3] = 0xfd,
		[5] = 50, [6] = 125,	/* vertical Hz */
		[7] = 30, [8] = 160,	/* horizontal kHz */
		[9] = 60,		/* pixel clock, 10 MHz units */
		[10] = 0x01,		/* range limits only */
		[11] = '\n', ' ', ' ', ' ', ' ', ' ', ' ',
	};
	uint8_t sum = 0;

	memset(e, 0, EDID_BLOCK_SIZE);
	memcpy(e, header, sizeof(header));
	edid_vendor(e + 8, "CVS");
	e[10] = 1;			/* product code, little-endian */
	e[17] = EDID_MODEL_YEAR - EDID_YEAR_BASE;
	e[18] = 1;			/* EDID 1.4 */
	e[19] = 4;
	e[20] = 0xa0;			/* digital, 8 bits per colour */
	e[21] = preferred.width_mm / 10;
	e[22] = preferred.height_mm / 10;
	e[23] = 120;			/* gamma 2.2 */
	/* sRGB, the preferred timing is native, continuous frequency */
	e[24] = 0x07;
	edid_chromaticity(e + 25);
	e[35] = 0x21;			/* 640x480, 800x600 at 60 Hz */
	e[36] = 0x08;			/* 1024x768 at 60 Hz */
	/* aspect: 0 16:10, 1 4:3, 2 5:4, 3 16:9 */
	edid_std(e + 38, 1280, 0);
	edid_std(e + 40, 1280, 2);
	edid_std(e + 42, 1440, 0);
	edid_std(e + 44, 1600, 1);
	edid_std(e + 46, 1680, 0);
	edid_std(e + 48, 1920, 3);
	edid_std(e + 50, 1920, 0);
	edid_std(e + 52, 1280, 3);
	edid_detailed(e + 54, &preferred);
	memcpy(e + 72, range, sizeof(range));
	edid_text(e + 90, 0xfc, "cvisor");	/* product name */
	edid_text(e + 108, 0xfe, "bochs-display");
	for (int i = 0; i < EDID_BLOCK_SIZE - 1; i++)
		sum += e[i];
	e[EDID_BLOCK_SIZE - 1] = -sum;
}
