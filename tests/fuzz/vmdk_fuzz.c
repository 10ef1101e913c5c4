// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the VMDK driver. The input is the file d.vmdk in a
 * directory that also holds a flat file and a small sparse extent
 * ("flat.bin", "sp.vmdk", fresh for every input). It is either a sparse
 * extent (header or stream footer, grain directory and tables, deflated
 * grains, embedded descriptor) or a text descriptor naming extents. It is
 * opened read-only, read in a few places, mapped and checked; then opened
 * read-write and written (grain allocation, flat writes, or for an empty
 * stream-optimized file a short stream written and finished), and opened
 * once more.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/vmdk_fuzz); a corpus of
 * qemu-img made files helps:
 *   mkdir -p corpus && for s in monolithicSparse streamOptimized; do
 *     qemu-img create -f vmdk -o subformat=$s corpus/$s.vmdk 1M; done
 *   build-fuzz/fuzz/vmdk_fuzz -max_len=262144 corpus
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

static char dir[] = "/tmp/vmdk-fuzz.XXXXXX";

static void put_file(const char *name, const void *data, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* The extents a fuzzed descriptor may name, fresh for every input. */
static void fixture(void)
{
	static uint8_t sparse[65536 * 2], flat[8192];
	static ssize_t sparse_len;
	struct block_opts none = { 0 };
	char path[128], err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	int fd;

	if (!sparse_len) {
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/sp.vmdk", dir);
		if (block_vmdk_driver.create(path, 1 << 20, &none, err,
					     sizeof(err)))
			abort();
		if (block_open(path, "vmdk", 0, &dev, err, sizeof(err)))
			abort();
		memset(flat, 0xa5, sizeof(flat));
		block_pwrite(dev, flat, sizeof(flat), 65536);
		block_close(dev);
		fd = open(path, O_RDONLY);
		sparse_len = read(fd, sparse, sizeof(sparse));
		close(fd);
		if (sparse_len <= 0)
			abort();
	}
	put_file("flat.bin", flat, sizeof(flat));
	put_file("sp.vmdk", sparse, (size_t)sparse_len);
}

static void exercise(const char *path)
{
	static uint8_t buf[1 << 17];
	struct block_check_result r;
	char err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	uint64_t pnum, host;

	if (block_open(path, "vmdk", BLOCK_RDONLY, &dev, err, sizeof(err)))
		return;
	for (int i = 0; i < 8 && dev->length; i++) {
		uint64_t off = (dev->length / 8) * (uint64_t)i;
		size_t n = dev->length - off < sizeof(buf) ?
				   (size_t)(dev->length - off) : sizeof(buf);

		block_pread(dev, buf, n, off);
		block_status(dev, off, n, &pnum, &host);
	}
	dev->drv->check(dev, 0, &r, NULL, NULL);
	block_close(dev);
	if (block_open(path, "vmdk", 0, &dev, err, sizeof(err)))
		return;
	memset(buf, 0x5a, sizeof(buf));
	if (dev->length >= 3 * 4096) {
		block_pwrite(dev, buf, 4096, 0);
		block_pwrite(dev, buf, 4096, (dev->length / 2) & ~4095ull);
		block_pwrite(dev, buf, 4096, dev->length - 4096);
		block_pread(dev, buf, 4096, dev->length / 2);
	}
	block_close(dev);
	/* what was written (a finished stream, new grains) opens again */
	if (block_open(path, "vmdk", BLOCK_RDONLY, &dev, err, sizeof(err)))
		return;
	if (dev->length >= 4096)
		block_pread(dev, buf, 4096, dev->length - 4096);
	block_close(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];

	fixture();
	put_file("d.vmdk", data, size);
	snprintf(path, sizeof(path), "%s/d.vmdk", dir);
	exercise(path);
	return 0;
}
