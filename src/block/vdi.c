// SPDX-License-Identifier: MIT
/*
 * VDI (VirtualBox) images, header version 1.1. A block map of 32-bit
 * little-endian entries, one per 1 MiB block of the disk, holds the block's
 * index in the data area, or "unallocated"/"discarded" (both read as
 * zeroes). A dynamic image gets its blocks at the end of the data area as
 * they are first written; a static image has every block mapped when it is
 * made. Differencing images (a parent UUID) are refused.
 *
 * A block map that sends a block out of range or two blocks to the same
 * place opens read-only only: writes could otherwise land on another
 * block's data. "img check" names such entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/vdi.h"

struct vdi {
	int fd;
	pthread_mutex_t lock;
	uint32_t type, blocks, allocated;
	uint32_t next;      /* data-area index of the next new block */
	uint64_t bmap_off, data_off;
	uint64_t file_size; /* bytes, as far as we know it */
	bool corrupt;       /* the map has bad entries: no writes */
	uint32_t *bmap;     /* host byte order */
};

static struct vdi *vdi_of(struct block_dev *dev)
{
	return dev->opaque;
}

static bool is_zero16(const uint8_t *p)
{
	static const uint8_t zero[16];

	return !memcmp(p, zero, 16);
}

/* A header field no version of the format allows, or NULL. */
static const char *bad_header(const uint8_t *h, uint64_t file_size)
{
	uint32_t hsize = get_le32(h + H_HEADER_SIZE);
	uint32_t type = get_le32(h + H_TYPE);
	uint32_t bmap = get_le32(h + H_BMAP), data = get_le32(h + H_DATA);
	uint32_t blocks = get_le32(h + H_BLOCKS);
	uint64_t disk = get_le64(h + H_DISK_SIZE);
	uint64_t map_end = (uint64_t)bmap + (uint64_t)blocks * 4;

	if (hsize < VDI_V11_LEN || hsize > VDI_HEADER_LEN - H_HEADER_SIZE)
		return "header size";
	if (type != VDI_DYNAMIC && type != VDI_STATIC)
		return "image type (only dynamic and static)";
	if (get_le32(h + H_SECTOR_SIZE) != 512)
		return "sector size";
	if (get_le32(h + H_BLOCK_SIZE) != VDI_BLOCK)
		return "block size (only 1 MiB)";
	if (get_le32(h + H_BLOCK_EXTRA))
		return "block extra data";
	if (blocks > VDI_MAX_BLOCKS)
		return "block count";
	if (get_le32(h + H_ALLOCATED) > blocks)
		return "allocated block count";
	if (disk > (uint64_t)blocks * VDI_BLOCK)
		return "disk size (larger than its blocks)";
	if (bmap % 512 || data % 512 || bmap < VDI_HEADER_LEN)
		return "block map or data offset";
	if (map_end > data || map_end > file_size)
		return "block map (overlaps data or ends past the file)";
	return NULL;
}

/* Reads the map; marks the image corrupt for entries that cannot be. */
static int load_bmap(struct vdi *s)
{
	size_t bytes = (size_t)s->blocks * 4;
	uint8_t *seen;
	int ret;

	s->bmap = malloc(bytes ? bytes : 1);
	seen = calloc(s->blocks / 8 + 1, 1);
	if (!s->bmap || !seen) {
		free(seen);
		return -ENOMEM;
	}
	ret = block_fd_pread(s->fd, s->bmap, bytes, s->bmap_off);
	if (ret) {
		free(seen);
		return ret;
	}
	s->next = s->allocated;
	for (uint32_t i = 0; i < s->blocks; i++) {
		uint32_t e = le32toh(s->bmap[i]);

		s->bmap[i] = e;
		if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
			continue;
		if (e >= s->blocks || (seen[e / 8] & (1u << (e % 8)))) {
			s->corrupt = true;
			continue;
		}
		seen[e / 8] |= (uint8_t)(1u << (e % 8));
		if (e >= s->next)
			s->next = e + 1;
	}
	free(seen);
	return 0;
}

static int vdi_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	uint8_t h[VDI_HEADER_LEN];
	const char *bad;
	struct vdi *s;
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(errno));
		goto err_fd;
	}
	ret = block_fd_pread(fd, h, sizeof(h), 0);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VDI header: %s",
			 dev->path, strerror(-ret));
		goto err_fd;
	}
	ret = -EINVAL;
	if ((uint64_t)st.st_size < VDI_HEADER_LEN ||
	    get_le32(h + H_SIGNATURE) != VDI_SIGNATURE) {
		snprintf(err, errlen, "'%s' is not a VDI image (no VDI signature)",
			 dev->path);
		goto err_fd;
	}
	if (get_le32(h + H_VERSION) != VDI_VERSION_1_1) {
		snprintf(err, errlen, "'%s': unsupported VDI version %u.%u "
			 "(only 1.1)", dev->path, get_le32(h + H_VERSION) >> 16,
			 get_le32(h + H_VERSION) & 0xffff);
		goto err_fd;
	}
	bad = bad_header(h, (uint64_t)st.st_size);
	if (bad) {
		snprintf(err, errlen, "'%s': corrupt VDI header: invalid %s",
			 dev->path, bad);
		goto err_fd;
	}
	if (!is_zero16(h + H_UUID_LINK) || !is_zero16(h + H_UUID_PARENT)) {
		ret = -ENOTSUP;
		snprintf(err, errlen, "'%s': differencing VDI images are not "
			 "supported", dev->path);
		goto err_fd;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto err_fd;
	}
	s->fd = fd;
	s->type = get_le32(h + H_TYPE);
	s->blocks = get_le32(h + H_BLOCKS);
	s->allocated = get_le32(h + H_ALLOCATED);
	s->bmap_off = get_le32(h + H_BMAP);
	s->data_off = get_le32(h + H_DATA);
	s->file_size = (uint64_t)st.st_size;
	ret = load_bmap(s);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VDI block map: %s",
			 dev->path, strerror(-ret));
		goto err_free;
	}
	if (s->corrupt && !(dev->flags & (BLOCK_RDONLY | BLOCK_REPAIR))) {
		ret = -EUCLEAN;
		snprintf(err, errlen, "'%s': the VDI block map is corrupt; see "
			 "'cvisor img check' or open it read-only", dev->path);
		goto err_free;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* whole sectors, as qemu-img rounds a disk size that is not */
	dev->length = (get_le64(h + H_DISK_SIZE) + 511) & ~511ull;
	dev->opaque = s;
	return 0;

err_free:
	free(s->bmap);
	free(s);
err_fd:
	close(fd);
	return ret;
}

static int vdi_close(struct block_dev *dev)
{
	struct vdi *s = vdi_of(dev);
	int ret = close(s->fd) < 0 ? -errno : 0;

	pthread_mutex_destroy(&s->lock);
	free(s->bmap);
	free(s);
	return ret;
}

/* 1 and *host if block blk is in the data area, 0 if it reads as zeroes. */
static int vdi_lookup(struct vdi *s, uint32_t blk, uint64_t *host)
{
	uint32_t e = s->bmap[blk];

	if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
		return 0;
	if (e >= s->blocks)
		return -EIO; /* left by a corrupt map opened read-only */
	*host = s->data_off + (uint64_t)e * VDI_BLOCK;
	return 1;
}

static int locked_lookup(struct vdi *s, uint32_t blk, uint64_t *host)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = vdi_lookup(s, blk, host);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Bytes of [off, off+len) within off's block. */
static size_t in_block(uint64_t off, size_t len)
{
	uint64_t left = VDI_BLOCK - off % VDI_BLOCK;

	return len < left ? len : (size_t)left;
}

static int vdi_pread(struct block_dev *dev, void *buf, size_t len,
		     uint64_t off)
{
	struct vdi *s = vdi_of(dev);
	uint8_t *p = buf;

	while (len) {
		size_t n = in_block(off, len);
		uint64_t host;
		int ret = locked_lookup(s, (uint32_t)(off / VDI_BLOCK), &host);

		if (ret < 0)
			return ret;
		if (ret)
			ret = block_fd_pread(s->fd, p, n, host + off % VDI_BLOCK);
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

static int write_le32(struct vdi *s, uint64_t at, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	return block_fd_pwrite(s->fd, b, 4, at);
}

/*
 * Maps block blk to a new data block holding p[0..n) at in-block offset
 * at and zeroes elsewhere; the data goes first, then the map entry, then
 * the header's count, so a crash leaves at worst an unreferenced block.
 * Called with the lock held.
 */
static int vdi_alloc(struct vdi *s, uint32_t blk, const uint8_t *p, size_t n,
		     uint64_t at)
{
	uint64_t host = s->data_off + (uint64_t)s->next * VDI_BLOCK;
	int ret;

	if (s->next >= s->blocks)
		return -EIO; /* the map and the count disagree */
	if (host >= s->file_size) {
		/* past the end: the file grows with zeroes for free */
		ret = block_fd_pwrite(s->fd, p, n, host + at);
		if (!ret && ftruncate(s->fd, (off_t)(host + VDI_BLOCK)) < 0)
			ret = -errno;
	} else {
		uint8_t *blkbuf = calloc(1, VDI_BLOCK);

		if (!blkbuf)
			return -ENOMEM;
		memcpy(blkbuf + at, p, n);
		ret = block_fd_pwrite(s->fd, blkbuf, VDI_BLOCK, host);
		free(blkbuf);
	}
	if (ret)
		return ret;
	if (host + VDI_BLOCK > s->file_size)
		s->file_size = host + VDI_BLOCK;
	ret = write_le32(s, s->bmap_off + (uint64_t)blk * 4, s->next);
	if (ret)
		return ret;
	s->bmap[blk] = s->next++;
	s->allocated++;
	return write_le32(s, H_ALLOCATED, s->allocated);
}

static int vdi_pwrite(struct block_dev *dev, const void *buf, size_t len,
		      uint64_t off)
{
	struct vdi *s = vdi_of(dev);
	const uint8_t *p = buf;

	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(off, len);
		uint32_t blk = (uint32_t)(off / VDI_BLOCK);
		uint64_t host = 0;
		int ret;

		pthread_mutex_lock(&s->lock);
		ret = vdi_lookup(s, blk, &host);
		if (!ret)
			ret = vdi_alloc(s, blk, p, n, off % VDI_BLOCK);
		else if (ret > 0)
			ret = 2;
		pthread_mutex_unlock(&s->lock);
		if (ret == 2)
			ret = block_fd_pwrite(s->fd, p, n, host + off % VDI_BLOCK);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Unmapped blocks already read as zeroes; mapped ones get them written. */
static int vdi_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len)
{
	struct vdi *s = vdi_of(dev);

	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(off, len > VDI_BLOCK ? VDI_BLOCK : (size_t)len);
		uint64_t host = 0;
		int ret = locked_lookup(s, (uint32_t)(off / VDI_BLOCK), &host);

		if (ret > 0)
			ret = block_fd_write_zeroes(s->fd,
						    host + off % VDI_BLOCK, n);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static int vdi_flush(struct block_dev *dev)
{
	return fdatasync(vdi_of(dev)->fd) < 0 ? -errno : 0;
}

static int vdi_lookup_cb(void *opaque, uint64_t blk, uint64_t *host)
{
	return vdi_lookup(opaque, (uint32_t)blk, host);
}

static int vdi_block_status(struct block_dev *dev, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off)
{
	struct vdi *s = vdi_of(dev);
	int mapped;

	pthread_mutex_lock(&s->lock);
	mapped = block_map_run(vdi_lookup_cb, s, VDI_BLOCK, off, len, pnum,
			       host_off);
	pthread_mutex_unlock(&s->lock);
	if (mapped < 0)
		return mapped;
	if (!mapped)
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED; /* no backing */
	/* a hole in the file (a static image is sparse) reads as zeroes */
	return block_fd_data_status(s->fd, *host_off, pnum);
}

static uint64_t vdi_allocated_size(struct block_dev *dev)
{
	return block_fd_allocated(vdi_of(dev)->fd);
}

static uint64_t vdi_cluster_size(struct block_dev *dev)
{
	(void)dev;
	return VDI_BLOCK;
}

static void reportf(void (*report)(void *, const char *), void *ctx,
		    const char *fmt, uint32_t a, uint32_t b)
{
	char msg[128];

	if (!report)
		return;
	snprintf(msg, sizeof(msg), fmt, a, b);
	report(ctx, msg);
}

/*
 * What qemu-img check finds in a VDI: map entries past the block count,
 * two blocks on one data block, and a header count that differs from the
 * blocks mapped. It repairs nothing, nor does this.
 */
static int vdi_check(struct block_dev *dev, int fix,
		     struct block_check_result *r,
		     void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct vdi *s = vdi_of(dev);
	uint32_t *owner, counted = 0;

	memset(r, 0, sizeof(*r));
	if (fix)
		return -ENOTSUP;
	owner = malloc(((size_t)s->blocks + 1) * sizeof(*owner));
	if (!owner)
		return -ENOMEM;
	memset(owner, 0xff, ((size_t)s->blocks + 1) * sizeof(*owner));
	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < s->blocks; i++) {
		uint32_t e = s->bmap[i];

		if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
			continue;
		if (e >= s->blocks) {
			reportf(report, ctx, "ERROR: block index %u too large, "
				"is %u", i, e);
			r->corruptions++;
			continue;
		}
		counted++;
		if (owner[e] != VDI_UNALLOCATED) {
			reportf(report, ctx, "ERROR: block index %u also used "
				"by %u", e, owner[e]);
			r->corruptions++;
		} else {
			owner[e] = i;
		}
	}
	if (counted != s->allocated) {
		reportf(report, ctx, "ERROR: allocated blocks mismatch, is %u, "
			"should be %u", counted, s->allocated);
		r->corruptions++;
	}
	pthread_mutex_unlock(&s->lock);
	free(owner);
	return 0;
}

static int vdi_probe(const uint8_t *buf, size_t len)
{
	return len >= H_SIGNATURE + 4 && get_le32(buf + H_SIGNATURE) ==
						   VDI_SIGNATURE;
}

const struct block_driver block_vdi_driver = {
	.name = "vdi",
	.open = vdi_open,
	.close = vdi_close,
	.pread = vdi_pread,
	.pwrite = vdi_pwrite,
	.flush = vdi_flush,
	.write_zeroes = vdi_write_zeroes,
	.block_status = vdi_block_status,
	.allocated_size = vdi_allocated_size,
	.probe = vdi_probe,
	.create = vdi_create,
	.create_help =
		"  preallocation=<str>    - Preallocation mode (allowed values: "
		"off, falloc, full)\n"
		"  static=<bool (on/off)> - VDI static (pre-allocated) image\n",
	.cluster_size = vdi_cluster_size,
	.check = vdi_check,
};
