// SPDX-License-Identifier: MIT
/*
 * VDI image creation: the header, the block map (all unallocated, or for a
 * static image every block mapped in order) and, for a static image, the
 * data area, sparse unless preallocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "block/vdi.h"

/* A random (version 4) UUID. */
static void new_uuid(uint8_t *u)
{
	if (getrandom(u, 16, 0) != 16) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(u, &ts, sizeof(ts) < 16 ? sizeof(ts) : 16);
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static int parse_bool(const char *v, bool *out)
{
	if (!v)
		return 0;
	if (!strcmp(v, "on") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* The data area of a static image: sparse, fallocated or written zeroes. */
static int fill_static(int fd, uint64_t from, uint64_t len, const char *prealloc)
{
	if (!prealloc || !strcmp(prealloc, "off"))
		return ftruncate(fd, (off_t)(from + len)) < 0 ? -errno : 0;
	if (!strcmp(prealloc, "falloc"))
		return posix_fallocate(fd, (off_t)from, (off_t)len) ? -EIO : 0;
	return block_fd_write_zeroes(fd, from, len);
}

int vdi_create(const char *path, uint64_t size, struct block_opts *o,
		      char *err, size_t errlen)
{
	const char *prealloc = block_opt_get(o, "preallocation");
	uint8_t h[VDI_HEADER_LEN] = "<<< cvisor VDI Disk Image >>>\n";
	bool is_static = false;
	uint64_t blocks, map_bytes;
	uint32_t *map;
	int fd, ret;

	if (parse_bool(block_opt_get(o, "static"), &is_static)) {
		snprintf(err, errlen, "invalid value for static (on or off)");
		return -EINVAL;
	}
	if (prealloc && strcmp(prealloc, "off") && strcmp(prealloc, "falloc") &&
	    strcmp(prealloc, "full")) {
		snprintf(err, errlen, "invalid preallocation '%s' (off, falloc "
			 "or full)", prealloc);
		return -EINVAL;
	}
	ret = block_opts_done(o, "vdi", err, errlen);
	if (ret)
		return ret;
	size = (size + 511) & ~511ull;
	blocks = (size + VDI_BLOCK - 1) / VDI_BLOCK;
	if (size > (uint64_t)VDI_MAX_BLOCKS * VDI_BLOCK) {
		snprintf(err, errlen, "Unsupported VDI image size (size is "
			 "0x%llx, max supported is 0x%llx)",
			 (unsigned long long)size,
			 (unsigned long long)VDI_MAX_BLOCKS * VDI_BLOCK);
		return -EFBIG;
	}
	map_bytes = (blocks * 4 + 511) & ~511ull;
	map = malloc(map_bytes ? map_bytes : 1);
	if (!map) {
		snprintf(err, errlen, "out of memory creating '%s'", path);
		return -ENOMEM;
	}
	memset(map, 0, map_bytes);
	for (uint32_t i = 0; i < blocks; i++)
		map[i] = htole32(is_static ? i : VDI_UNALLOCATED);
	put_le32(h + H_SIGNATURE, VDI_SIGNATURE);
	put_le32(h + H_VERSION, VDI_VERSION_1_1);
	put_le32(h + H_HEADER_SIZE, VDI_V11_LEN);
	put_le32(h + H_TYPE, is_static ? VDI_STATIC : VDI_DYNAMIC);
	put_le32(h + H_BMAP, VDI_HEADER_LEN);
	put_le32(h + H_DATA, (uint32_t)(VDI_HEADER_LEN + map_bytes));
	put_le32(h + H_SECTOR_SIZE, 512);
	put_le64(h + H_DISK_SIZE, size);
	put_le32(h + H_BLOCK_SIZE, VDI_BLOCK);
	put_le32(h + H_BLOCKS, (uint32_t)blocks);
	put_le32(h + H_ALLOCATED, is_static ? (uint32_t)blocks : 0);
	new_uuid(h + H_UUID_IMAGE);
	new_uuid(h + H_UUID_SNAP);

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "could not create '%s': %s", path,
			 strerror(errno));
		goto out;
	}
	ret = block_fd_pwrite(fd, h, sizeof(h), 0);
	if (!ret)
		ret = block_fd_pwrite(fd, map, map_bytes, VDI_HEADER_LEN);
	if (!ret && is_static)
		ret = fill_static(fd, VDI_HEADER_LEN + map_bytes,
				  blocks * VDI_BLOCK, prealloc);
	close(fd);
	if (ret)
		snprintf(err, errlen, "writing '%s': %s", path, strerror(-ret));
out:
	free(map);
	return ret;
}
