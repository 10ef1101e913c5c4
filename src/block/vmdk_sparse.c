// SPDX-License-Identifier: MIT
/*
 * Grains of a VMDK sparse extent: the grain tables (cached a few at a
 * time), reads, writes and status through them. Writes allocate whole
 * grains at the end of the file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/vmdk_int.h"

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
		s->gt[i] = get_le32(raw + i * 4);
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

			ret = vmdk_read_compressed_batch(e, buf, gi, k);
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
	put_le32(b, sector);
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
