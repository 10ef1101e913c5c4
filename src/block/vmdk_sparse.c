// SPDX-License-Identifier: MIT
/*
 * A VMDK sparse extent: the header (or, for stream-optimized files written
 * front to back, the footer), the grain directory and its grain tables, and
 * grain reads, writes and status through them. Grain tables are cached a
 * few at a time; writes allocate whole grains at the end of the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/vmdk_int.h"

void vmdk_header_decode(const uint8_t *b, struct vmdk_header *h)
{
	h->version = vmdk_le32(b + 4);
	h->flags = vmdk_le32(b + 8);
	h->capacity = vmdk_le64(b + 12);
	h->grain = vmdk_le64(b + 20);
	h->desc_off = vmdk_le64(b + 28);
	h->desc_size = vmdk_le64(b + 36);
	h->gtes = vmdk_le32(b + 44);
	h->rgd_off = vmdk_le64(b + 48);
	h->gd_off = vmdk_le64(b + 56);
	h->overhead = vmdk_le64(b + 64);
	h->compress = vmdk_le16(b + 77);
}

void vmdk_header_encode(uint8_t *b, const struct vmdk_header *h)
{
	memset(b, 0, VMDK_SECTOR);
	memcpy(b, VMDK_MAGIC, 4);
	vmdk_put_le32(b + 4, h->version);
	vmdk_put_le32(b + 8, h->flags);
	vmdk_put_le64(b + 12, h->capacity);
	vmdk_put_le64(b + 20, h->grain);
	vmdk_put_le64(b + 28, h->desc_off);
	vmdk_put_le64(b + 36, h->desc_size);
	vmdk_put_le32(b + 44, h->gtes);
	vmdk_put_le64(b + 48, h->rgd_off);
	vmdk_put_le64(b + 56, h->gd_off);
	vmdk_put_le64(b + 64, h->overhead);
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
	if (vmdk_le32(b + 8) != 0 || vmdk_le32(b + 12) != VMDK_MARKER_FOOTER ||
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
		d[i] = vmdk_le32(raw + i * 4);
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
		e->zbuf = malloc(2 * e->grain + VMDK_SECTOR);
		e->gbuf = malloc(e->grain);
		if (!e->zbuf || !e->gbuf)
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
	for (unsigned i = 0; i < VMDK_PAR_THREADS; i++)
		free(e->pzbuf[i]);
	for (unsigned i = 0; i < VMDK_GT_CACHE; i++)
		free(e->cache[i].gt);
	free(e->gd);
	free(e->rgd);
	free(e->zbuf);
	free(e->gbuf);
}

/* *gt is the idx-th grain table, or NULL where the directory has none. */
int vmdk_gt_get(struct vmdk_extent *e, uint32_t idx, uint32_t **gt)
{
	uint64_t bytes = (uint64_t)e->h.gtes * 4;
	struct vmdk_gt_slot *s;
	uint8_t *raw;
	int ret;

	*gt = NULL;
	if (idx >= e->ngt || !e->gd[idx])
		return 0;
	for (unsigned i = 0; i < VMDK_GT_CACHE; i++) {
		if (e->cache[i].index == idx) {
			*gt = e->cache[i].gt;
			return 0;
		}
	}
	if (!vmdk_in_file(e, e->gd[idx], bytes))
		return -EIO; /* a table past the end: corrupt */
	s = &e->cache[e->next_victim];
	e->next_victim = (e->next_victim + 1) % VMDK_GT_CACHE;
	s->index = UINT32_MAX;
	if (!s->gt) {
		s->gt = malloc(bytes);
		if (!s->gt)
			return -ENOMEM;
	}
	raw = malloc(bytes);
	if (!raw)
		return -ENOMEM;
	ret = block_fd_pread(e->fd, raw, bytes, e->gd[idx] * VMDK_SECTOR);
	for (uint32_t i = 0; !ret && i < e->h.gtes; i++)
		s->gt[i] = vmdk_le32(raw + i * 4);
	free(raw);
	if (ret)
		return ret;
	s->index = idx;
	*gt = s->gt;
	return 0;
}

int vmdk_grain_entry(struct vmdk_extent *e, uint64_t grain_idx,
		     uint32_t *entry, enum vmdk_grain_kind *kind)
{
	uint32_t *gt;
	int ret = vmdk_gt_get(e, (uint32_t)(grain_idx / e->h.gtes), &gt);

	if (ret)
		return ret;
	*entry = gt ? gt[grain_idx % e->h.gtes] : 0;
	if (*entry == 0)
		*kind = GRAIN_UNALLOC;
	else if (*entry == 1 && (e->h.flags & VMDK_FLAG_ZERO_GRAIN))
		*kind = GRAIN_ZERO;
	else if (e->compressed)
		*kind = GRAIN_COMPRESSED;
	else
		*kind = GRAIN_DATA;
	if (*kind >= GRAIN_DATA && *entry >= e->file_size / VMDK_SECTOR)
		return -EIO; /* a grain past the end of the file */
	return 0;
}

struct read_batch {
	struct vmdk_extent *e;
	uint64_t gi;
	uint8_t *buf;
	uint32_t entry[VMDK_PAR_GRAINS];
	enum vmdk_grain_kind kind[VMDK_PAR_GRAINS];
};

static int inflate_one(void *ctx, unsigned i, unsigned t)
{
	struct read_batch *b = ctx;
	struct vmdk_extent *e = b->e;
	uint8_t *out = b->buf + i * e->grain;

	if (b->kind[i] != GRAIN_COMPRESSED) {
		memset(out, 0, e->grain);
		return 0;
	}
	/* each thread its own buffer: t is this thread's alone */
	if (!e->pzbuf[t]) {
		e->pzbuf[t] = malloc(2 * e->grain + VMDK_SECTOR);
		if (!e->pzbuf[t])
			return -ENOMEM;
	}
	return vmdk_inflate_grain(e, b->gi + i, b->entry[i] * VMDK_SECTOR,
				  e->pzbuf[t], out);
}

/* k whole compressed grains from gi on, inflated in parallel. */
static int read_compressed_batch(struct vmdk_extent *e, uint8_t *buf,
				 uint64_t gi, unsigned k)
{
	struct read_batch b = { .e = e, .gi = gi, .buf = buf };

	for (unsigned i = 0; i < k; i++) {
		int ret = vmdk_grain_entry(e, gi + i, &b.entry[i], &b.kind[i]);

		if (ret)
			return ret;
	}
	return vmdk_parallel(k, inflate_one, &b);
}

int vmdk_sparse_read(struct vmdk_extent *e, uint8_t *buf, uint64_t len,
		     uint64_t off)
{
	/*
	 * A stream being written has its tables in the writer until close:
	 * the directory read at open would answer zeroes for written data.
	 */
	if (e->stream)
		return -EIO;
	while (len) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = e->grain - in < len ? e->grain - in : len;
		enum vmdk_grain_kind kind;
		uint32_t entry;
		int ret;

		if (e->compressed && !in && len >= 2 * e->grain) {
			unsigned k = len / e->grain > VMDK_PAR_GRAINS ?
					     VMDK_PAR_GRAINS :
					     (unsigned)(len / e->grain);

			ret = read_compressed_batch(e, buf, gi, k);
			if (ret)
				return ret;
			buf += k * e->grain;
			off += k * e->grain;
			len -= k * e->grain;
			continue;
		}
		ret = vmdk_grain_entry(e, gi, &entry, &kind);

		if (ret)
			return ret;
		switch (kind) {
		case GRAIN_UNALLOC:
		case GRAIN_ZERO:
			memset(buf, 0, n);
			break;
		case GRAIN_COMPRESSED:
			ret = vmdk_read_compressed(e, gi, entry * VMDK_SECTOR,
						   e->gbuf);
			if (!ret)
				memcpy(buf, e->gbuf + in, n);
			break;
		case GRAIN_DATA:
			ret = block_fd_pread(e->fd, buf, n,
					     entry * VMDK_SECTOR + in);
			break;
		}
		if (ret)
			return ret;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int set_entry(struct vmdk_extent *e, const uint32_t *dir, uint32_t idx,
		     uint32_t slot, uint32_t sector)
{
	uint8_t b[4];

	if (!dir || !dir[idx])
		return 0;
	vmdk_put_le32(b, sector);
	return block_fd_pwrite(e->fd, b, 4, dir[idx] * VMDK_SECTOR + slot * 4ull);
}

/* A new grain at the end of the file holding buf at in, zeroes around it. */
static int alloc_grain(struct vmdk_extent *e, uint64_t gi, const uint8_t *buf,
		       uint64_t n, uint64_t in)
{
	uint32_t idx = (uint32_t)(gi / e->h.gtes), slot = gi % e->h.gtes;
	uint64_t host = (e->file_size + VMDK_SECTOR - 1) & ~(VMDK_SECTOR - 1);
	uint32_t *gt;
	uint8_t *g;
	int ret;

	ret = vmdk_gt_get(e, idx, &gt);
	if (ret)
		return ret;
	if (!gt)
		return -EIO; /* hosted sparse extents preallocate every table */
	if (host / VMDK_SECTOR + e->grain / VMDK_SECTOR > UINT32_MAX)
		return -ENOSPC; /* grain table entries are 32-bit sectors */
	g = calloc(1, e->grain);
	if (!g)
		return -ENOMEM;
	memcpy(g + in, buf, n);
	ret = block_fd_pwrite(e->fd, g, e->grain, host);
	free(g);
	if (ret)
		return ret;
	e->file_size = host + e->grain;
	gt[slot] = (uint32_t)(host / VMDK_SECTOR);
	ret = set_entry(e, e->gd, idx, slot, gt[slot]);
	if (!ret)
		ret = set_entry(e, e->rgd, idx, slot, gt[slot]);
	return ret;
}

int vmdk_sparse_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t len,
		      uint64_t off)
{
	if (e->compressed) {
		int ret = 0;

		if (!e->stream_ok)
			return -EROFS;
		if (!e->stream)
			ret = vmdk_stream_begin(e);
		return ret ? ret : vmdk_stream_write(e, buf, len, off);
	}
	while (len) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = e->grain - in < len ? e->grain - in : len;
		enum vmdk_grain_kind kind;
		uint32_t entry;
		int ret = vmdk_grain_entry(e, gi, &entry, &kind);

		if (ret)
			return ret;
		if (kind == GRAIN_DATA) {
			/* never into the header, directories or tables */
			if (entry * VMDK_SECTOR < e->meta_end)
				return -EIO;
			ret = block_fd_pwrite(e->fd, buf, n,
					      entry * VMDK_SECTOR + in);
			/*
			 * A grain cut short by a truncated file is now as long
			 * as a grain: the next one allocated goes after it.
			 */
			if (!ret && entry * VMDK_SECTOR + e->grain > e->file_size)
				e->file_size = entry * VMDK_SECTOR + e->grain;
		} else {
			ret = alloc_grain(e, gi, buf, n, in);
		}
		if (ret)
			return ret;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmdk_sparse_status(struct vmdk_extent *e, uint64_t off, uint64_t len,
		       uint64_t *pnum, uint64_t *host_off)
{
	enum vmdk_grain_kind k0 = GRAIN_UNALLOC, kind;
	uint64_t done = 0, first = 0;
	uint32_t entry;
	int ret;

	while (done < len) {
		uint64_t gi = (off + done) / e->grain, in = (off + done) % e->grain;
		uint64_t n = e->grain - in < len - done ? e->grain - in :
							   len - done;
		uint64_t idx = gi / e->h.gtes;

		/*
		 * No table: its whole span is unallocated in one step, so a
		 * header claiming a huge disk costs a step per table.
		 */
		if (idx < e->ngt && !e->gd[idx]) {
			uint64_t span = (idx + 1) * e->h.gtes * e->grain -
					(off + done);

			n = span < len - done ? span : len - done;
		}
		ret = vmdk_grain_entry(e, gi, &entry, &kind);
		if (ret)
			return ret;
		if (!done) {
			k0 = kind;
			first = entry * VMDK_SECTOR + in;
		} else if (kind != k0 ||
			   (kind == GRAIN_DATA &&
			    entry * VMDK_SECTOR + in != first + done)) {
			break;
		}
		done += n;
	}
	*pnum = done;
	*host_off = first;
	switch (k0) {
	case GRAIN_UNALLOC:
		return BLOCK_STATUS_ZERO;
	case GRAIN_ZERO:
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
	case GRAIN_COMPRESSED:
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED |
		       BLOCK_STATUS_COMPRESSED;
	case GRAIN_DATA:
		break;
	}
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
}
