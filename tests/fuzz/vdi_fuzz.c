// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a whole VDI file. It is opened read-only (header,
 * block map), a few guest ranges are read and block status walked, and the
 * map checker runs. Then it is opened read-write: writes allocate blocks
 * (map and header updates), zeroes are written over mapped blocks, and
 * the checker runs again.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/vdi_fuzz) and run on a corpus of
 * small images made by qemu-img (each subformat, some blocks written):
 *   mkdir -p corpus && qemu-img create -f vdi corpus/d.vdi 3M
 *   ./build-fuzz/fuzz/vdi_fuzz -max_len=262144 corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"

static void walk(struct block_dev *dev)
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

static void check(struct block_dev *dev)
{
	struct block_check_result r;

	if (dev->drv->check)
		dev->drv->check(dev, 0, &r, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[8192];
	char path[64], err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	int fd = memfd_create("vdi-fuzz", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (block_open(path, "vdi", BLOCK_RDONLY, &dev, err, sizeof(err)))
		goto out;
	walk(dev);
	check(dev);
	block_close(dev);
	if (block_open(path, "vdi", 0, &dev, err, sizeof(err)))
		goto out;
	memset(buf, 0x5a, sizeof(buf));
	if (dev->length >= sizeof(buf)) {
		block_pwrite(dev, buf, sizeof(buf), (dev->length / 2) & ~511ull);
		block_pwrite(dev, buf, 4096, dev->length - 4096);
		block_pwrite(dev, buf, 1000, 0);
		block_write_zeroes(dev, 512, dev->length / 3 < (16 << 20) ?
						   dev->length / 3 : (16 << 20));
	}
	walk(dev);
	check(dev);
	block_close(dev);
out:
	close(fd);
	return 0;
}
