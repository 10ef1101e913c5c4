// SPDX-License-Identifier: MIT
#include "ui/screendump.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/display.h"

#define BLANK_WIDTH	640
#define BLANK_HEIGHT	480

struct png_job {
	FILE *f;
	uint32_t width, height;
	uint32_t *px;		/* one line, 0x00RRGGBB */
	uint8_t *rgb;		/* the same line as R, G, B bytes */
};

/* libpng reports errors by longjmp; everything it owns is freed after. */
static int png_write_all(struct png_job *j, struct display *d,
			 const struct display_mode *m)
{
	png_structp png;
	png_infop info;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -ENOMEM;
	info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	png_init_io(png, j->f);
	png_set_IHDR(png, info, j->width, j->height, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < j->height; y++) {
		if (m->width)
			display_read_rows(d, m, y, 1, j->px);
		for (uint32_t x = 0; x < j->width; x++) {
			j->rgb[3 * x] = j->px[x] >> 16;
			j->rgb[3 * x + 1] = j->px[x] >> 8;
			j->rgb[3 * x + 2] = j->px[x];
		}
		png_write_row(png, j->rgb);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int screendump_png(struct display *d, const char *path, char *err,
		   size_t errlen)
{
	struct display_mode m;
	struct png_job j = { 0 };
	int fd, ret;

	display_get_mode(d, &m);
	j.width = m.width ? m.width : BLANK_WIDTH;
	j.height = m.width ? m.height : BLANK_HEIGHT;
	j.px = calloc(j.width, 4);
	j.rgb = malloc((size_t)j.width * 3);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0 || !j.px || !j.rgb) {
		ret = fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	j.f = fdopen(fd, "we");
	if (!j.f) {
		ret = -errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out;
	}
	ret = png_write_all(&j, d, &m);
	if (fclose(j.f) && !ret)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "%s: cannot write the PNG: %s", path,
			 strerror(-ret));
out:
	free(j.px);
	free(j.rgb);
	return ret;
}
