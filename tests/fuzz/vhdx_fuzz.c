// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for VHDX. A VHDX file is megabytes long with its
 * structures far apart, so the input is not the file: it is a flags byte
 * and patches applied to a small valid image that "img create" makes
 * (dynamic, or fixed with flag bit 0). Each patch is [which u8][offset
 * u16 LE][length u8][bytes]: which names the structure it lands in (file
 * identifier, either header, either region table, the BAT, the metadata
 * region, the payload). Flag bits 1 and 2 recompute the headers' and the
 * region tables' CRC-32C after patching, bit 3 those of log entries (the
 * log is the ninth place a patch can land), so the parsers behind the
 * checksums are reached; the seed corpus (tests/fuzz/vhdx_seed.py) holds
 * a log entry to replay. The image is then opened read-only (reads,
 * block status, check) and read-write (writes that allocate, zeroes).
 *
 * Build with "make fuzz" and run e.g.
 *   ./build-fuzz/fuzz/vhdx_fuzz -max_total_time=300
 */
#include <fcntl.h>
#include <stdlib.h>

#include "block/crc32c.h"
#include "img_fuzz.h"

#define BASE_LEN (4u << 20) /* the structures; the rest is sparse */
#define MiB (1u << 20)

static uint8_t *base[2];
static uint64_t base_size[2];

static void make_base(int fixed)
{
	char path[] = "/tmp/vhdx-fuzz-XXXXXX", err[BLOCK_ERR_LEN];
	struct block_opt opt[2] = {
		{ "subformat", fixed ? "fixed" : "dynamic", false },
		{ "block_size", "1M", false },
	};
	struct block_opts o = { opt, 2 };
	int fd = mkstemp(path);

	if (fd < 0)
		abort();
	close(fd);
	if (block_find_driver("vhdx")->create(path, 3 * MiB + 4096, &o, err,
					      sizeof(err)))
		abort();
	fd = open(path, O_RDONLY);
	base[fixed] = calloc(1, BASE_LEN);
	if (fd < 0 || !base[fixed] ||
	    block_fd_pread(fd, base[fixed], BASE_LEN, 0))
		abort();
	base_size[fixed] = (uint64_t)lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(path);
}

static void resum(uint8_t *p, size_t len)
{
	memset(p + 4, 0, 4);
	uint32_t c = crc32c(p, len);

	memcpy(p + 4, &c, 4); /* little-endian host */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t at[9] = {
		0, 0x10000, 0x20000, 0x30000, 0x40000, 2 * MiB, 3 * MiB, 4 * MiB,
		MiB, /* the log */
	};
	static uint8_t img[BASE_LEN + 65536 + 256];
	char path[64];
	int fixed, fd;

	if (size < 1)
		return 0;
	fixed = data[0] & 1;
	if (!base[fixed])
		make_base(fixed);
	memcpy(img, base[fixed], BASE_LEN);
	memset(img + BASE_LEN, 0, sizeof(img) - BASE_LEN);
	for (size_t i = 1; i + 4 <= size;) {
		uint32_t where = at[data[i] % 9] + data[i + 1] +
				 ((uint32_t)data[i + 2] << 8);
		size_t n = data[i + 3];

		i += 4;
		if (n > size - i)
			n = size - i;
		memcpy(img + where, data + i, n);
		i += n;
	}
	if (data[0] & 2) {
		resum(img + 0x10000, 4096);
		resum(img + 0x20000, 4096);
	}
	if (data[0] & 4) {
		resum(img + 0x30000, 65536);
		resum(img + 0x40000, 65536);
	}
	if (data[0] & 8) /* log entries: the checksum over their length */
		for (uint32_t o = MiB; o < 2 * MiB; o += 4096) {
			uint32_t len;

			memcpy(&len, img + o + 8, 4);
			if (!memcmp(img + o, "loge", 4) && len &&
			    len <= 2 * MiB - o)
				resum(img + o, len);
		}
	fd = memfd_create("vhdx-fuzz", 0);
	if (fd < 0)
		return 0;
	if (block_fd_pwrite(fd, img, sizeof(img), 0) ||
	    ftruncate(fd, (off_t)(base_size[fixed] > sizeof(img) ?
				  base_size[fixed] : sizeof(img))))
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	img_fuzz_exercise(path, "vhdx", true);
out:
	close(fd);
	return 0;
}
