/* SPDX-License-Identifier: MIT */
/*
 * What the image format fuzz targets (vdi_fuzz.c, vpc_fuzz.c, vhdx_fuzz.c)
 * do with an image once its bytes are in a file: open it read-only (reads
 * at eight places, block status walked, the checker), then read-write
 * (writes that allocate, zeroes over mapped blocks, walked and checked
 * again). img_fuzz_file() puts a whole input into a memfd first.
 */
#ifndef CVISOR_IMG_FUZZ_H
#define CVISOR_IMG_FUZZ_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"

static inline void img_fuzz_walk(struct block_dev *dev)
{
	static uint8_t buf[1 << 16];
	uint64_t off = 0, pnum, host;

	for (int i = 0; i < 8 && dev->length; i++) {
		uint64_t at = (dev->length / 8) * (uint64_t)i;
		size_t n = dev->length - at < sizeof(buf) ?
				   (size_t)(dev->length - at) : sizeof(buf);

		block_pread(dev, buf, n, at);
	}
	/* bounded: a status call always makes progress or fails */
	for (int i = 0; i < 4096 && off < dev->length; i++) {
		if (block_status(dev, off, dev->length - off, &pnum, &host) < 0 ||
		    !pnum)
			break;
		off += pnum;
	}
}

static inline void img_fuzz_check(struct block_dev *dev)
{
	struct block_check_result r;

	if (dev->drv->check)
		dev->drv->check(dev, 0, &r, NULL, NULL);
}

/*
 * The image at path as fmt, read-only then read-write. The read-write open
 * is tried only if the read-only one worked, unless rw_always (a VHDX log
 * to replay fails the read-only open and is replayed by the writable one).
 */
static inline void img_fuzz_exercise(const char *path, const char *fmt,
				     bool rw_always)
{
	static uint8_t buf[8192];
	char err[BLOCK_ERR_LEN];
	struct block_dev *dev;

	if (!block_open(path, fmt, BLOCK_RDONLY, &dev, err, sizeof(err))) {
		img_fuzz_walk(dev);
		img_fuzz_check(dev);
		block_close(dev);
	} else if (!rw_always) {
		return;
	}
	if (block_open(path, fmt, 0, &dev, err, sizeof(err)))
		return;
	memset(buf, 0x5a, sizeof(buf));
	if (dev->length >= sizeof(buf)) {
		block_pwrite(dev, buf, sizeof(buf), (dev->length / 2) & ~511ull);
		block_pwrite(dev, buf, 4096, dev->length - 4096);
		block_pwrite(dev, buf, 1000, 0);
		block_write_zeroes(dev, 512, dev->length / 3 < (16 << 20) ?
						   dev->length / 3 : (16 << 20));
	}
	img_fuzz_walk(dev);
	img_fuzz_check(dev);
	block_close(dev);
}

/* The input is a whole image file of fmt; name names its memfd. */
static inline void img_fuzz_file(const char *fmt, const char *name,
				 const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create(name, 0);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		img_fuzz_exercise(path, fmt, false);
	}
	close(fd);
}

#endif
