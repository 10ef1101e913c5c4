// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a whole qcow2 file. It is opened read-only
 * (header, extensions, refcount table, L1 table, snapshot table), a few
 * guest ranges are read through L2 tables and compressed clusters, and the
 * refcount checker walks every table. Then it is opened read-write: a
 * cluster is written (allocation, refcount updates, L2 copy-on-write), a
 * snapshot made and removed, and check repairs what it finds.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/qcow2_fuzz), or alone:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *       tests/fuzz/qcow2_fuzz.c src/block/block.c src/block/raw.c \
 *       src/block/qcow2*.c -lz -lzstd -pthread \
 *       -o build/qcow2_fuzz
 * and run on a corpus of small images (qemu-img made, several cluster
 * sizes, compressed, with snapshots):
 *   mkdir -p corpus && qemu-img create -f qcow2 corpus/empty.qcow2 1M
 *   ./build/qcow2_fuzz -max_len=262144 corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	struct block_check_result r;
	char path[64], err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	struct stat st;
	int fd = memfd_create("qcow2-fuzz", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (block_open(path, "qcow2", BLOCK_RDONLY | BLOCK_NO_BACKING, &dev,
		       err, sizeof(err)))
		goto out;
	for (int i = 0; i < 8 && dev->length; i++) {
		uint64_t off = (dev->length / 8) * (uint64_t)i;
		size_t n = dev->length - off < sizeof(buf) ?
				   (size_t)(dev->length - off) : sizeof(buf);

		block_pread(dev, buf, n, off);
	}
	qcow2_check(dev, 0, &r, NULL, NULL);
	block_close(dev);
	if (block_open(path, "qcow2", BLOCK_NO_BACKING | BLOCK_REPAIR, &dev, err,
		       sizeof(err)))
		goto out;
	memset(buf, 0x5a, 4096);
	if (dev->length >= 4096)
		block_pwrite(dev, buf, 4096, (dev->length / 2) & ~4095ull);
	if (!qcow2_snapshot_create(dev, "fuzz"))
		qcow2_snapshot_delete(dev, "fuzz");
	/*
	 * A hostile refcount table may put new clusters far out (legal up
	 * to 2^56): the checker's per-cluster table would then exceed the
	 * fuzzer's memory limit, which is no bug.
	 */
	if (!fstat(fd, &st) && st.st_size < (64 << 20))
		qcow2_check(dev, BLOCK_FIX_LEAKS | BLOCK_FIX_ERRORS, &r, NULL,
			    NULL);
	block_close(dev);
out:
	close(fd);
	return 0;
}
