// SPDX-License-Identifier: MIT
/*
 * VHD images (qemu-img's "vpc"), fixed and dynamic, read-write. The layout
 * is in vpc.h; creation is in vpc_create.c.
 *
 * The disk size: Virtual PC sizes a disk by its CHS geometry, Hyper-V and
 * most other tools by the footer's current size. As qemu-img does, the
 * geometry counts unless the creator is one known to use the current size
 * or the geometry is the largest there is (so says nothing).
 *
 * Data blocks of a dynamic image are read whatever their sector bitmap
 * says, and a new block gets an all-ones bitmap, as in qemu-img; a write
 * into a block whose bitmap is not all ones sets the bits of its sectors
 * (Hyper-V reads a clear bit as zeroes). A BAT whose blocks overlap each
 * other or the metadata opens read-only only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/vpc.h"

struct vpc {
	int fd;
	pthread_mutex_t lock;
	bool dynamic;
	bool corrupt;          /* overlapping blocks: no writes */
	uint8_t footer[VHD_FOOTER_LEN];
	uint32_t block_size;   /* dynamic only, from here on */
	uint32_t bitmap_size;  /* bytes before a block's data, whole sectors */
	uint32_t entries;
	uint64_t bat_off;
	uint64_t free_off;     /* the next block, the footer after it */
	uint64_t file_size;
	uint32_t *bat;         /* host byte order */
	uint8_t *full;         /* per block: its sector bitmap is all ones */
};

static struct vpc *vpc_of(struct block_dev *dev)
{
	return dev->opaque;
}

/* Creators that size the disk by the footer's current size, not CHS. */
static bool sized_by_current(const uint8_t *f)
{
	static const char *const apps[] = { "win ", "d2v ", "CTXS", "qem2" };
	uint64_t chs = (uint64_t)(f[F_CYLS] << 8 | f[F_CYLS + 1]) *
		       f[F_HEADS] * f[F_SECTORS];

	if (chs == VHD_CHS_MAX || !memcmp(f + F_CREATOR_APP, "tap\0", 4))
		return true;
	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		if (!memcmp(f + F_CREATOR_APP, apps[i], 4))
			return true;
	return false;
}

static uint64_t disk_sectors(const uint8_t *f)
{
	if (sized_by_current(f))
		return get_be64(f + F_CUR_SIZE) / 512;
	return (uint64_t)(f[F_CYLS] << 8 | f[F_CYLS + 1]) * f[F_HEADS] *
	       f[F_SECTORS];
}

static bool is_footer(const uint8_t *f)
{
	return !memcmp(f + F_COOKIE, "conectix", 8);
}

/*
 * The footer: a dynamic image has a copy at 0, which survives a torn
 * append at the end; a fixed one only has it in its last sector.
 */
static int read_footer(int fd, uint64_t size, uint8_t *f)
{
	int ret = block_fd_pread(fd, f, VHD_FOOTER_LEN, 0);

	if (ret)
		return ret;
	if (is_footer(f) && get_be32(f + F_TYPE) != VHD_FIXED)
		return 0;
	ret = block_fd_pread(fd, f, VHD_FOOTER_LEN, size - VHD_FOOTER_LEN);
	if (ret)
		return ret;
	return is_footer(f) ? 0 : -EINVAL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Checks each BAT entry and finds where the next block goes. Returns a
 * message for an image that cannot be opened, NULL otherwise (s->corrupt
 * set if blocks overlap).
 */
static const char *scan_bat(struct vpc *s, uint64_t dyn_off, uint32_t *bad)
{
	uint64_t span = (uint64_t)s->bitmap_size + s->block_size;
	uint64_t bat_len = ((uint64_t)s->entries * 4 + 511) & ~511ull;
	uint32_t *sorted, n = 0;

	s->free_off = dyn_off + VHD_DYN_LEN;
	if (s->bat_off + bat_len > s->free_off)
		s->free_off = s->bat_off + bat_len;
	sorted = malloc(((size_t)s->entries + 1) * sizeof(*sorted));
	if (!sorted)
		return "out of memory";
	for (uint32_t i = 0; i < s->entries; i++) {
		uint64_t at = (uint64_t)s->bat[i] * 512;

		if (s->bat[i] == VHD_BAT_UNUSED)
			continue;
		if (at + span > s->file_size) {
			*bad = i;
			free(sorted);
			return "lies past the end of the file (truncated image?)";
		}
		if (overlaps(at, span, 0, VHD_FOOTER_LEN) ||
		    overlaps(at, span, dyn_off, VHD_DYN_LEN) ||
		    overlaps(at, span, s->bat_off, (uint64_t)s->entries * 4))
			s->corrupt = true;
		if (at + span > s->free_off)
			s->free_off = at + span;
		sorted[n++] = s->bat[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	for (uint32_t i = 1; i < n; i++)
		if ((uint64_t)(sorted[i] - sorted[i - 1]) * 512 < span)
			s->corrupt = true;
	free(sorted);
	s->free_off = (s->free_off + 511) & ~511ull;
	return NULL;
}

static int open_dynamic(struct vpc *s, char *err, size_t errlen,
			const char *path)
{
	uint64_t dyn_off = get_be64(s->footer + F_DATA_OFFSET);
	uint8_t d[VHD_DYN_LEN];
	const char *bad;
	uint32_t bad_entry = 0;
	int ret;

	if (dyn_off < VHD_FOOTER_LEN || dyn_off > s->file_size ||
	    s->file_size - dyn_off < VHD_DYN_LEN) {
		snprintf(err, errlen, "'%s': the VHD dynamic header offset %llu "
			 "is outside the file", path, (unsigned long long)dyn_off);
		return -EINVAL;
	}
	ret = block_fd_pread(s->fd, d, sizeof(d), dyn_off);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VHD dynamic header: %s",
			 path, strerror(-ret));
		return ret;
	}
	if (memcmp(d + D_COOKIE, "cxsparse", 8)) {
		snprintf(err, errlen, "'%s': no VHD dynamic header at %llu", path,
			 (unsigned long long)dyn_off);
		return -EINVAL;
	}
	s->block_size = get_be32(d + D_BLOCK_SIZE);
	s->entries = get_be32(d + D_MAX_ENTRIES);
	s->bat_off = get_be64(d + D_TABLE_OFFSET);
	if (s->block_size < 512 || (s->block_size & (s->block_size - 1))) {
		snprintf(err, errlen, "'%s': invalid VHD block size %u", path,
			 s->block_size);
		return -EINVAL;
	}
	s->bitmap_size = ((s->block_size / 512 / 8) + 511) & ~511u;
	if (s->bat_off > s->file_size ||
	    (s->file_size - s->bat_off) / 4 < s->entries ||
	    overlaps(s->bat_off, (uint64_t)s->entries * 4, dyn_off, VHD_DYN_LEN) ||
	    s->bat_off < VHD_FOOTER_LEN) {
		snprintf(err, errlen, "'%s': the VHD block table (%u entries at "
			 "%llu) is outside the file or overlaps the header", path,
			 s->entries, (unsigned long long)s->bat_off);
		return -EINVAL;
	}
	s->bat = malloc(((size_t)s->entries + 1) * 4);
	if (!s->bat)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, s->bat, (size_t)s->entries * 4, s->bat_off);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VHD block table: %s",
			 path, strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < s->entries; i++)
		s->bat[i] = be32toh(s->bat[i]);
	s->full = calloc((size_t)s->entries / 8 + 1, 1);
	if (!s->full)
		return -ENOMEM;
	bad = scan_bat(s, dyn_off, &bad_entry);
	if (bad && !strcmp(bad, "out of memory"))
		return -ENOMEM;
	if (bad) {
		snprintf(err, errlen, "'%s': VHD block %u %s", path, bad_entry,
			 bad);
		return -EINVAL;
	}
	return 0;
}

static int vpc_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	struct vpc *s;
	struct stat st;
	uint64_t sectors;
	uint32_t type;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(errno));
		goto err;
	}
	s->file_size = (uint64_t)st.st_size;
	ret = -EINVAL;
	if (s->file_size < VHD_FOOTER_LEN ||
	    (ret = read_footer(fd, s->file_size, s->footer))) {
		if (ret == -EINVAL)
			snprintf(err, errlen, "'%s' is not a VHD image (no "
				 "\"conectix\" footer)", dev->path);
		else
			snprintf(err, errlen, "'%s': reading the VHD footer: %s",
				 dev->path, strerror(-ret));
		goto err;
	}
	ret = -EINVAL;
	if (vhd_checksum(s->footer, VHD_FOOTER_LEN, F_CHECKSUM) !=
	    get_be32(s->footer + F_CHECKSUM)) {
		snprintf(err, errlen, "'%s': the VHD footer checksum is "
			 "incorrect", dev->path);
		goto err;
	}
	type = get_be32(s->footer + F_TYPE);
	if (type == VHD_DIFF) {
		ret = -ENOTSUP;
		snprintf(err, errlen, "'%s': differencing VHD images are not "
			 "supported", dev->path);
		goto err;
	}
	if (type != VHD_FIXED && type != VHD_DYNAMIC) {
		snprintf(err, errlen, "'%s': unknown VHD disk type %u", dev->path,
			 type);
		goto err;
	}
	sectors = disk_sectors(s->footer);
	if (sectors > VHD_MAX_SECTORS) {
		snprintf(err, errlen, "'%s': the VHD disk size (%llu sectors) is "
			 "over the format's 2040 GiB", dev->path,
			 (unsigned long long)sectors);
		goto err;
	}
	s->dynamic = type == VHD_DYNAMIC;
	if (s->dynamic) {
		ret = open_dynamic(s, err, errlen, dev->path);
		if (ret)
			goto err;
		if (sectors * 512 > (uint64_t)s->entries * s->block_size) {
			ret = -EINVAL;
			snprintf(err, errlen, "'%s': the VHD block table (%u "
				 "blocks) is smaller than the disk", dev->path,
				 s->entries);
			goto err;
		}
		if (s->corrupt && !(dev->flags & (BLOCK_RDONLY | BLOCK_REPAIR))) {
			ret = -EUCLEAN;
			snprintf(err, errlen, "'%s': VHD blocks overlap each other "
				 "or the metadata; open it read-only", dev->path);
			goto err;
		}
	} else if (sectors * 512 > s->file_size - VHD_FOOTER_LEN) {
		snprintf(err, errlen, "'%s': the fixed VHD disk (%llu bytes) is "
			 "larger than its file", dev->path,
			 (unsigned long long)sectors * 512);
		goto err;
	}
	pthread_mutex_init(&s->lock, NULL);
	dev->length = sectors * 512;
	dev->opaque = s;
	return 0;

err:
	free(s->full);
	free(s->bat);
	free(s);
	close(fd);
	return ret;
}

static int vpc_close(struct block_dev *dev)
{
	struct vpc *s = vpc_of(dev);
	int ret = close(s->fd) < 0 ? -errno : 0;

	pthread_mutex_destroy(&s->lock);
	free(s->full);
	free(s->bat);
	free(s);
	return ret;
}

/* Bytes of [off, off+len) within off's block. */
static size_t in_block(const struct vpc *s, uint64_t off, size_t len)
{
	uint64_t left = s->block_size - off % s->block_size;

	return len < left ? len : (size_t)left;
}

/* The file offset of guest offset off, 0 if its block is unallocated. */
static uint64_t lookup(struct vpc *s, uint64_t off)
{
	uint32_t e;

	pthread_mutex_lock(&s->lock);
	e = s->bat[off / s->block_size];
	pthread_mutex_unlock(&s->lock);
	if (e == VHD_BAT_UNUSED)
		return 0;
	return (uint64_t)e * 512 + s->bitmap_size + off % s->block_size;
}

static int vpc_pread(struct block_dev *dev, void *buf, size_t len,
		     uint64_t off)
{
	struct vpc *s = vpc_of(dev);
	uint8_t *p = buf;

	if (!s->dynamic)
		return block_fd_pread(s->fd, buf, len, off);
	while (len) {
		size_t n = in_block(s, off, len);
		uint64_t host = lookup(s, off);
		int ret = 0;

		if (host)
			ret = block_fd_pread(s->fd, p, n, host);
		else
			memset(p, 0, n);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * A new block for guest offset off at the end of the file, holding
 * p[0..n) and zeroes: bitmap, data and the footer after it go first, the
 * BAT entry last, so a crash leaves at worst an unreferenced block (the
 * footer copy at 0 still describes the image). Called with the lock held.
 */
static int vpc_alloc(struct vpc *s, uint64_t off, const uint8_t *p, size_t n)
{
	uint64_t host = s->free_off, data = host + s->bitmap_size;
	uint64_t end = data + s->block_size, at = data + off % s->block_size;
	uint32_t idx = (uint32_t)(off / s->block_size);
	uint8_t *bitmap, be[4];
	int ret;

	if (host / 512 >= VHD_BAT_UNUSED)
		return -ENOSPC; /* a sector number the BAT cannot hold */
	bitmap = malloc(s->bitmap_size);
	if (!bitmap)
		return -ENOMEM;
	memset(bitmap, 0xff, s->bitmap_size);
	ret = block_fd_pwrite(s->fd, bitmap, s->bitmap_size, host);
	free(bitmap);
	/* old bytes (a footer, say) where the block's zeroes should be */
	if (!ret && s->file_size > data) {
		uint64_t stop = s->file_size < end ? s->file_size : end;

		if (at > data)
			ret = block_fd_write_zeroes(s->fd, data,
						    (at < stop ? at : stop) - data);
		if (!ret && at + n < stop)
			ret = block_fd_write_zeroes(s->fd, at + n,
						    stop - (at + n));
	}
	if (!ret)
		ret = block_fd_pwrite(s->fd, p, n, at);
	if (!ret)
		ret = block_fd_pwrite(s->fd, s->footer, VHD_FOOTER_LEN, end);
	if (ret)
		return ret;
	if (end + VHD_FOOTER_LEN > s->file_size)
		s->file_size = end + VHD_FOOTER_LEN;
	put_be32(be, (uint32_t)(host / 512));
	ret = block_fd_pwrite(s->fd, be, 4, s->bat_off + (uint64_t)idx * 4);
	if (ret)
		return ret;
	s->bat[idx] = (uint32_t)(host / 512);
	s->full[idx / 8] |= (uint8_t)(1u << (idx % 8));
	s->free_off = end;
	return 0;
}

/*
 * Sets the bitmap bits of the sectors [at, at+n) of block idx will hold.
 * qemu-img reads a block whatever its bitmap says, but Hyper-V reads a
 * sector whose bit is clear as zeroes: a block it made may have some. Once
 * a bitmap is seen all ones it is not read again. Called with the lock held.
 */
static int mark_sectors(struct vpc *s, uint32_t idx, uint64_t at, size_t n)
{
	uint64_t bm = (uint64_t)s->bat[idx] * 512;
	uint64_t first = at / 512, last = (at + n - 1) / 512;
	uint64_t nsec = s->block_size / 512;
	bool full = true, changed = false;
	uint8_t *b;
	int ret;

	if (s->full[idx / 8] & (1u << (idx % 8)))
		return 0;
	b = malloc(s->bitmap_size);
	if (!b)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, b, s->bitmap_size, bm);
	for (uint64_t i = 0; !ret && i < nsec; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8)); /* sector 0: the MSB */

		if (i >= first && i <= last && !(b[i / 8] & bit)) {
			b[i / 8] |= bit;
			changed = true;
		}
		if (!(b[i / 8] & bit))
			full = false;
	}
	if (!ret && changed)
		ret = block_fd_pwrite(s->fd, b, s->bitmap_size, bm);
	if (!ret && full)
		s->full[idx / 8] |= (uint8_t)(1u << (idx % 8));
	free(b);
	return ret;
}

static int vpc_pwrite(struct block_dev *dev, const void *buf, size_t len,
		      uint64_t off)
{
	struct vpc *s = vpc_of(dev);
	const uint8_t *p = buf;

	if (!s->dynamic)
		return block_fd_pwrite(s->fd, buf, len, off);
	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(s, off, len);
		uint64_t host = 0;
		int ret = 0;

		pthread_mutex_lock(&s->lock);
		if (s->bat[off / s->block_size] == VHD_BAT_UNUSED) {
			ret = vpc_alloc(s, off, p, n);
		} else {
			host = (uint64_t)s->bat[off / s->block_size] * 512 +
			       s->bitmap_size + off % s->block_size;
			ret = mark_sectors(s, (uint32_t)(off / s->block_size),
					   off % s->block_size, n);
		}
		pthread_mutex_unlock(&s->lock);
		if (!ret && host)
			ret = block_fd_pwrite(s->fd, p, n, host);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Unallocated blocks already read as zeroes. */
static int vpc_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len)
{
	struct vpc *s = vpc_of(dev);

	if (!s->dynamic) {
		if (!fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
		return block_fd_write_zeroes(s->fd, off, len);
	}
	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(s, off, len > s->block_size ? s->block_size :
								   (size_t)len);
		uint64_t host = lookup(s, off);
		int ret = host ? block_fd_write_zeroes(s->fd, host, n) : 0;

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static int vpc_flush(struct block_dev *dev)
{
	return fdatasync(vpc_of(dev)->fd) < 0 ? -errno : 0;
}

static int vpc_lookup_cb(void *opaque, uint64_t blk, uint64_t *host)
{
	struct vpc *s = opaque;

	*host = lookup(s, blk * s->block_size);
	return *host != 0;
}

static int vpc_block_status(struct block_dev *dev, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off)
{
	struct vpc *s = vpc_of(dev);

	if (!s->dynamic) {
		/* a fixed image's data, refined by the file's holes (zeroes) */
		*pnum = len;
		*host_off = off;
		return block_fd_data_status(s->fd, off, pnum);
	}
	/* runs of unallocated blocks, or of blocks one after the other */
	if (!block_map_run(vpc_lookup_cb, s, s->block_size, off, len, pnum,
			   host_off))
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED; /* no backing */
	/* qemu-img's map does not look for holes inside a dynamic block */
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
}

static uint64_t vpc_allocated_size(struct block_dev *dev)
{
	return block_fd_allocated(vpc_of(dev)->fd);
}

static uint64_t vpc_cluster_size(struct block_dev *dev)
{
	struct vpc *s = vpc_of(dev);

	return s->dynamic ? s->block_size : 0;
}

/* Only the copy of the footer at 0 of a dynamic image: fixed has none. */
static int vpc_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && is_footer(buf);
}

const struct block_driver block_vpc_driver = {
	.name = "vpc",
	.open = vpc_open,
	.close = vpc_close,
	.pread = vpc_pread,
	.pwrite = vpc_pwrite,
	.flush = vpc_flush,
	.write_zeroes = vpc_write_zeroes,
	.block_status = vpc_block_status,
	.allocated_size = vpc_allocated_size,
	.probe = vpc_probe,
	.create = vpc_create,
	.create_help =
		"  force_size=<bool (on/off)> - Force disk size calculation to "
		"use the actual size specified, rather than using the nearest "
		"CHS-based calculation\n"
		"  preallocation=<str>    - Preallocation mode (allowed values: "
		"off, falloc, full)\n"
		"  subformat=<str>        - Type of virtual hard disk format. "
		"Supported formats are {dynamic (default) | fixed} \n",
	.cluster_size = vpc_cluster_size,
};
