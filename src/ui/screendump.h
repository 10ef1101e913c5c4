/* SPDX-License-Identifier: MIT */
/* The guest's screen as a PNG file (cvisor screendump, QEMU's screendump). */
#ifndef CVISOR_UI_SCREENDUMP_H
#define CVISOR_UI_SCREENDUMP_H

#include <stddef.h>

struct display;

/*
 * Write what the display shows to path (created, 0644; an existing file is
 * replaced) as an 8-bit RGB PNG. A display showing nothing gives a black
 * 640x480 image, as a VNC client sees it. Returns 0 or -errno with a
 * one-line reason in err.
 */
int screendump_png(struct display *d, const char *path, char *err,
		   size_t errlen);

#endif
