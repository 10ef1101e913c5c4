// SPDX-License-Identifier: MIT
/*
 * VHD image creation: a fixed image (the disk, then the footer) or a
 * dynamic one (footer copy, dynamic header, an empty BAT, footer) with
 * 2 MiB blocks. Without force_size the disk is rounded up to a whole CHS
 * geometry, as qemu-img does, so that Virtual PC (which sizes a disk by
 * its geometry) and Hyper-V (by the footer's size) see the same disk; with
 * force_size the size stays as given and the geometry is the largest one,
 * which tells readers to go by the size.
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

#include "block/vpc.h"

#define VHD_EPOCH 946684800 /* 2000-01-01 00:00 UTC in Unix time */

struct chs {
	uint32_t cyls, heads, secs;
};

static uint64_t chs_sectors(struct chs g)
{
	return (uint64_t)g.cyls * g.heads * g.secs;
}

/* The geometry for a disk of n sectors, per the spec's appendix. */
static struct chs spec_geometry(uint64_t n)
{
	struct chs g;
	uint64_t cth; /* cylinders times heads */

	if (n >= VHD_CHS_MAX)
		return (struct chs){ 65535, 16, 255 };
	if (n >= 65535ull * 16 * 63) {
		g.secs = 255;
		g.heads = 16;
		cth = n / g.secs;
	} else {
		g.secs = 17;
		cth = n / g.secs;
		g.heads = (uint32_t)((cth + 1023) / 1024);
		if (g.heads < 4)
			g.heads = 4;
		if (cth >= g.heads * 1024ull || g.heads > 16) {
			g.secs = 31;
			g.heads = 16;
			cth = n / g.secs;
		}
		if (cth >= g.heads * 1024ull) {
			g.secs = 63;
			g.heads = 16;
			cth = n / g.secs;
		}
	}
	g.cyls = (uint32_t)(cth / g.heads);
	return g;
}

/*
 * The smallest spec geometry that holds n sectors (the spec's own may
 * fall short by a few tracks), or the largest one if none does.
 */
static struct chs covering_geometry(uint64_t n)
{
	struct chs g = { 0, 0, 0 };

	for (uint64_t i = 0; chs_sectors(g) < n; i++) {
		g = spec_geometry(n + i);
		if (chs_sectors(g) == VHD_CHS_MAX)
			break;
	}
	return g;
}

static void make_footer(uint8_t *f, uint32_t type, uint64_t sectors,
			struct chs g)
{
	memset(f, 0, VHD_FOOTER_LEN);
	memcpy(f + F_COOKIE, "conectix", 8);
	put_be32(f + F_FEATURES, 2); /* "reserved", always set */
	put_be32(f + F_VERSION, 0x00010000);
	put_be64(f + F_DATA_OFFSET,
		  type == VHD_FIXED ? VHD_NO_OFFSET : VHD_FOOTER_LEN);
	put_be32(f + F_TIMESTAMP, (uint32_t)(time(NULL) - VHD_EPOCH));
	memcpy(f + F_CREATOR_APP, "cvsr", 4);
	put_be32(f + F_CREATOR_VER, 0x00010000);
	memcpy(f + F_CREATOR_OS, "Wi2k", 4);
	put_be64(f + F_ORIG_SIZE, sectors * 512);
	put_be64(f + F_CUR_SIZE, sectors * 512);
	f[F_CYLS] = (uint8_t)(g.cyls >> 8);
	f[F_CYLS + 1] = (uint8_t)g.cyls;
	f[F_HEADS] = (uint8_t)g.heads;
	f[F_SECTORS] = (uint8_t)g.secs;
	put_be32(f + F_TYPE, type);
	if (getrandom(f + F_UUID, 16, 0) != 16)
		put_be64(f + F_UUID, (uint64_t)time(NULL));
	f[F_UUID + 6] = (uint8_t)((f[F_UUID + 6] & 0x0f) | 0x40);
	f[F_UUID + 8] = (uint8_t)((f[F_UUID + 8] & 0x3f) | 0x80);
	put_be32(f + F_CHECKSUM, vhd_checksum(f, VHD_FOOTER_LEN, F_CHECKSUM));
}

static int write_fixed(int fd, const uint8_t *footer, uint64_t size,
		       const char *prealloc)
{
	int ret = 0;

	if (prealloc && !strcmp(prealloc, "falloc")) {
		if (posix_fallocate(fd, 0, (off_t)size))
			return -EIO;
	} else if (prealloc && !strcmp(prealloc, "full")) {
		ret = block_fd_write_zeroes(fd, 0, size);
		if (ret)
			return ret;
	}
	return block_fd_pwrite(fd, footer, VHD_FOOTER_LEN, size);
}

static int write_dynamic(int fd, const uint8_t *footer, uint64_t size)
{
	uint32_t entries = (uint32_t)((size + VHD_BLOCK - 1) / VHD_BLOCK);
	uint64_t bat_len = ((uint64_t)entries * 4 + 511) & ~511ull;
	uint64_t bat_off = VHD_FOOTER_LEN + VHD_DYN_LEN;
	uint8_t d[VHD_DYN_LEN] = { 0 }, *bat;
	int ret;

	memcpy(d + D_COOKIE, "cxsparse", 8);
	put_be64(d + D_DATA_OFFSET, VHD_NO_OFFSET);
	put_be64(d + D_TABLE_OFFSET, bat_off);
	put_be32(d + D_VERSION, 0x00010000);
	put_be32(d + D_MAX_ENTRIES, entries);
	put_be32(d + D_BLOCK_SIZE, VHD_BLOCK);
	put_be32(d + D_CHECKSUM, vhd_checksum(d, VHD_DYN_LEN, D_CHECKSUM));
	bat = malloc(bat_len ? bat_len : 1);
	if (!bat)
		return -ENOMEM;
	memset(bat, 0xff, bat_len);
	ret = block_fd_pwrite(fd, footer, VHD_FOOTER_LEN, 0);
	if (!ret)
		ret = block_fd_pwrite(fd, d, VHD_DYN_LEN, VHD_FOOTER_LEN);
	if (!ret)
		ret = block_fd_pwrite(fd, bat, bat_len, bat_off);
	if (!ret)
		ret = block_fd_pwrite(fd, footer, VHD_FOOTER_LEN, bat_off + bat_len);
	free(bat);
	return ret;
}

static int parse_opts(struct block_opts *o, bool *fixed, bool *force,
		      const char **prealloc, char *err, size_t errlen)
{
	const char *sub = block_opt_get(o, "subformat");
	const char *fs = block_opt_get(o, "force_size");

	*prealloc = block_opt_get(o, "preallocation");
	*fixed = sub && !strcmp(sub, "fixed");
	if (sub && !*fixed && strcmp(sub, "dynamic")) {
		snprintf(err, errlen, "invalid subformat '%s' (dynamic or fixed)",
			 sub);
		return -EINVAL;
	}
	*force = fs && (!strcmp(fs, "on") || !strcmp(fs, "true"));
	if (fs && !*force && strcmp(fs, "off") && strcmp(fs, "false")) {
		snprintf(err, errlen, "invalid force_size '%s' (on or off)", fs);
		return -EINVAL;
	}
	if (*prealloc && strcmp(*prealloc, "off") &&
	    strcmp(*prealloc, "falloc") && strcmp(*prealloc, "full")) {
		snprintf(err, errlen, "invalid preallocation '%s' (off, falloc "
			 "or full)", *prealloc);
		return -EINVAL;
	}
	return block_opts_done(o, "vpc", err, errlen);
}

int vpc_create(const char *path, uint64_t size, struct block_opts *o,
	       char *err, size_t errlen)
{
	uint8_t footer[VHD_FOOTER_LEN];
	const char *prealloc;
	bool fixed, force;
	uint64_t sectors;
	struct chs g;
	int fd, ret;

	ret = parse_opts(o, &fixed, &force, &prealloc, err, errlen);
	if (ret)
		return ret;
	sectors = size / 512 + (size % 512 != 0);
	if (sectors > VHD_MAX_SECTORS) {
		snprintf(err, errlen, "The image size is too large for file "
			 "format 'vpc' (at most 2040 GiB)");
		return -EFBIG;
	}
	if (force) {
		g = (struct chs){ 65535, 16, 255 };
	} else {
		g = covering_geometry(sectors);
		/* the largest geometry says nothing: the size stays */
		if (chs_sectors(g) != VHD_CHS_MAX)
			sectors = chs_sectors(g);
	}
	make_footer(footer, fixed ? VHD_FIXED : VHD_DYNAMIC, sectors, g);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "could not create '%s': %s", path,
			 strerror(errno));
		return ret;
	}
	if (fixed)
		ret = write_fixed(fd, footer, sectors * 512, prealloc);
	else
		ret = write_dynamic(fd, footer, sectors * 512);
	close(fd);
	if (ret)
		snprintf(err, errlen, "writing '%s': %s", path, strerror(-ret));
	return ret;
}
