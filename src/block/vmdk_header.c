// SPDX-License-Identifier: MIT
/*
 * Opening a VMDK sparse extent: the header (or, for stream-optimized files
 * written front to back, the footer), the grain directory, and the checks
 * that keep a hostile file's numbers within the file before any grain is
 * read or written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/vmdk_int.h"

void vmdk_header_decode(const uint8_t *b, struct vmdk_header *h)
{
	h->version = get_le32(b + 4);
	h->flags = get_le32(b + 8);
	h->capacity = get_le64(b + 12);
	h->grain = get_le64(b + 20);
	h->desc_off = get_le64(b + 28);
	h->desc_size = get_le64(b + 36);
	h->gtes = get_le32(b + 44);
	h->rgd_off = get_le64(b + 48);
	h->gd_off = get_le64(b + 56);
	h->overhead = get_le64(b + 64);
	h->compress = get_le16(b + 77);
}

void vmdk_header_encode(uint8_t *b, const struct vmdk_header *h)
{
	memset(b, 0, VMDK_SECTOR);
	memcpy(b, VMDK_MAGIC, 4);
	put_le32(b + 4, h->version);
	put_le32(b + 8, h->flags);
	put_le64(b + 12, h->capacity);
	put_le64(b + 20, h->grain);
	put_le64(b + 28, h->desc_off);
	put_le64(b + 36, h->desc_size);
	put_le32(b + 44, h->gtes);
	put_le64(b + 48, h->rgd_off);
	put_le64(b + 56, h->gd_off);
	put_le64(b + 64, h->overhead);
	/* the line-ending probe that detects text-mode transfers */
	memcpy(b + 73, "\n \r\n", 4);
	b[77] = (uint8_t)h->compress;
	b[78] = (uint8_t)(h->compress >> 8);
}

/* Where a stream-optimized extent keeps its real header: the footer. */
static int read_footer(struct vmdk_extent *e, char *err, size_t errlen)
{
	uint8_t b[1024];
	int ret;

	if (e->file_size < 4 * VMDK_SECTOR) {
		snprintf(err, errlen, "grain directory at the end of '%s' but "
			 "no footer", e->path);
		return -EINVAL;
	}
	ret = block_fd_pread(e->fd, b, sizeof(b),
			     (e->file_size & ~(VMDK_SECTOR - 1)) - 3 * VMDK_SECTOR);
	if (ret)
		return ret;
	if (get_le32(b + 8) != 0 || get_le32(b + 12) != VMDK_MARKER_FOOTER ||
	    memcmp(b + 512, VMDK_MAGIC, 4)) {
		snprintf(err, errlen, "'%s': no footer before the end-of-stream "
			 "marker (truncated stream-optimized image?)", e->path);
		return -EINVAL;
	}
	vmdk_header_decode(b + 512, &e->h);
	if (e->h.gd_off == VMDK_GD_AT_END) {
		snprintf(err, errlen, "'%s': footer has no grain directory",
			 e->path);
		return -EINVAL;
	}
	return 0;
}

static int check_header(struct vmdk_extent *e, char *err, size_t errlen)
{
	const struct vmdk_header *h = &e->h;
	uint64_t per_gt, ngt;

	if (h->version < 1 || h->version > 3) {
		snprintf(err, errlen, "'%s': unsupported VMDK version %u",
			 e->path, h->version);
		return -ENOTSUP;
	}
	if (!h->grain || h->grain > VMDK_MAX_GRAIN_SECTORS ||
	    (h->grain & (h->grain - 1))) {
		snprintf(err, errlen, "'%s': invalid grain size %llu sectors",
			 e->path, (unsigned long long)h->grain);
		return -EINVAL;
	}
	if (!h->gtes || h->gtes > VMDK_MAX_GTES) {
		snprintf(err, errlen, "'%s': invalid grain table size %u",
			 e->path, h->gtes);
		return -EINVAL;
	}
	if (h->capacity > VMDK_MAX_SECTORS) {
		snprintf(err, errlen, "'%s': capacity %llu sectors is too large",
			 e->path, (unsigned long long)h->capacity);
		return -EFBIG;
	}
	if ((h->flags & VMDK_FLAG_COMPRESSED) && h->compress != 1) {
		snprintf(err, errlen, "'%s': unsupported compression algorithm "
			 "%u", e->path, h->compress);
		return -ENOTSUP;
	}
	per_gt = h->grain * h->gtes;
	ngt = (h->capacity + per_gt - 1) / per_gt;
	if (ngt * 4 > VMDK_MAX_GD_BYTES) {
		snprintf(err, errlen, "'%s': grain directory too large", e->path);
		return -EFBIG;
	}
	e->ngt = (uint32_t)ngt;
	e->grain = h->grain * VMDK_SECTOR;
	e->compressed = h->flags & VMDK_FLAG_COMPRESSED;
	return 0;
}

bool vmdk_in_file(const struct vmdk_extent *e, uint64_t sector,
		  uint64_t bytes)
{
	return sector <= e->file_size / VMDK_SECTOR &&
	       bytes <= e->file_size - sector * VMDK_SECTOR;
}

static int load_dir(struct vmdk_extent *e, uint64_t sector, uint32_t **out,
		    const char *what, char *err, size_t errlen)
{
	uint64_t bytes = (uint64_t)e->ngt * 4;
	uint8_t *raw;
	uint32_t *d;
	int ret;

	if (!vmdk_in_file(e, sector, bytes)) {
		snprintf(err, errlen, "'%s': %s past the end of the file",
			 e->path, what);
		return -EINVAL;
	}
	raw = malloc(bytes ? bytes : 1);
	d = malloc(bytes ? bytes : 1);
	if (!raw || !d) {
		free(raw);
		free(d);
		return -ENOMEM;
	}
	ret = block_fd_pread(e->fd, raw, bytes, sector * VMDK_SECTOR);
	for (uint32_t i = 0; !ret && i < e->ngt; i++)
		d[i] = get_le32(raw + i * 4);
	free(raw);
	if (ret) {
		free(d);
		return ret;
	}
	*out = d;
	return 0;
}

/*
 * Metadata a write may touch must sit before the first grain: a table
 * entry pointing a grain at the directory would otherwise let a write
 * overwrite the directory.
 */
static int check_layout(struct vmdk_extent *e, const uint32_t *dir,
			char *err, size_t errlen)
{
	uint64_t gt_bytes = (uint64_t)e->h.gtes * 4, end = e->meta_end;

	if (e->h.gd_off < 1 || (e->h.gd_off * VMDK_SECTOR) > end ||
	    (uint64_t)e->ngt * 4 > end - e->h.gd_off * VMDK_SECTOR)
		goto bad;
	for (uint32_t i = 0; i < e->ngt; i++) {
		if (!dir[i])
			continue;
		if (dir[i] * VMDK_SECTOR > end ||
		    gt_bytes > end - dir[i] * VMDK_SECTOR)
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "'%s': grain tables outside the metadata area "
		 "(corrupt image); it can be opened read-only", e->path);
	return -EINVAL;
}

/*
 * The tables the directory names fit in the file: a directory naming one
 * table (or one of zeroed grains) again and again would otherwise make a
 * small file map, convert or check as 2^40 grains.
 */
static bool tables_fit(const struct vmdk_extent *e)
{
	uint64_t used = 0;

	for (uint32_t i = 0; i < e->ngt; i++)
		used += e->gd[i] ? 1 : 0;
	return used <= e->file_size / (e->h.gtes * 4ull);
}

int vmdk_sparse_open(struct vmdk_extent *e, bool rw, char *err, size_t errlen)
{
	uint8_t b[VMDK_SECTOR];
	struct stat st;
	int ret;

	for (unsigned i = 0; i < VMDK_GT_CACHE; i++)
		e->cache[i].index = UINT32_MAX;
	e->gbuf_lba = UINT64_MAX;
	if (fstat(e->fd, &st) < 0)
		return -errno;
	e->file_size = (uint64_t)st.st_size;
	ret = block_fd_pread(e->fd, b, sizeof(b), 0);
	if (ret)
		return ret;
	if (e->file_size < VMDK_SECTOR) {
		snprintf(err, errlen, "'%s': truncated VMDK header", e->path);
		return -EINVAL;
	}
	if (memcmp(b, VMDK_MAGIC, 4)) {
		snprintf(err, errlen, "'%s' is not a VMDK sparse extent (bad "
			 "magic)", e->path);
		return -EINVAL;
	}
	vmdk_header_decode(b, &e->h);
	if (e->h.gd_off == VMDK_GD_AT_END) {
		ret = read_footer(e, err, errlen);
		if (ret)
			return ret;
	}
	ret = check_header(e, err, errlen);
	if (ret)
		return ret;
	if (!e->len)
		e->len = e->h.capacity * VMDK_SECTOR;
	if (e->len > e->h.capacity * VMDK_SECTOR) {
		snprintf(err, errlen, "'%s': extent of %llu sectors in a sparse "
			 "file of capacity %llu", e->path,
			 (unsigned long long)(e->len / VMDK_SECTOR),
			 (unsigned long long)e->h.capacity);
		return -EINVAL;
	}
	ret = load_dir(e, e->h.gd_off, &e->gd, "grain directory", err, errlen);
	if (ret)
		return ret;
	if (!tables_fit(e)) {
		snprintf(err, errlen, "'%s': the grain directory names more "
			 "grain tables than the file holds (corrupt image)",
			 e->path);
		return -EINVAL;
	}
	e->meta_end = e->h.overhead <= e->file_size / VMDK_SECTOR ?
			      e->h.overhead * VMDK_SECTOR : e->file_size;
	if (e->compressed) {
		e->gbuf = malloc(e->grain);
		if (!e->gbuf)
			return -ENOMEM;
	}
	if (!rw)
		return 0;
	if (e->compressed) {
		if (!(e->h.flags & VMDK_FLAG_MARKERS) || !vmdk_stream_empty(e)) {
			snprintf(err, errlen, "'%s': a compressed "
				 "(streamOptimized) VMDK with data is read-only",
				 e->path);
			return -EROFS;
		}
		/* written at the first write: a mere open changes nothing */
		e->stream_ok = true;
		return 0;
	}
	ret = check_layout(e, e->gd, err, errlen);
	if (ret)
		return ret;
	if ((e->h.flags & VMDK_FLAG_RGD) && e->h.rgd_off) {
		uint64_t gd = e->h.gd_off;

		ret = load_dir(e, e->h.rgd_off, &e->rgd, "redundant grain "
			       "directory", err, errlen);
		e->h.gd_off = e->h.rgd_off; /* the same rules for the copy */
		if (!ret)
			ret = check_layout(e, e->rgd, err, errlen);
		e->h.gd_off = gd;
	}
	return ret;
}

void vmdk_sparse_close(struct vmdk_extent *e)
{
	vmdk_stream_free(e);
	workers_free(e->pool);
	e->pool = NULL;
	vmdk_inflate_free(e);
	for (unsigned i = 0; i < VMDK_GT_CACHE; i++)
		free(e->cache[i].gt);
	free(e->gd);
	free(e->rgd);
	free(e->gbuf);
}
