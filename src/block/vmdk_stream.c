// SPDX-License-Identifier: MIT
/*
 * The stream-optimized VMDK writer "img convert -O vmdk -o
 * subformat=streamOptimized" uses: it appends grains in ascending order,
 * each deflated (a zlib stream, level 6 as qemu-img's zlib default, made by
 * libdeflate, which takes about a third less time for the same size) behind
 * a marker (LBA, size), each grain table after the grains it maps, then the
 * grain directory, the footer (the header with the directory's place) and
 * the end-of-stream marker, as VMware's OVA exports lay them out.
 */
#include <errno.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vmdk_int.h"

struct vmdk_stream {
	uint64_t next;    /* file offset of the next marker */
	uint64_t cur_gi;  /* grain being gathered, UINT64_MAX if none */
	uint64_t done_gi; /* grains before this one are written */
	uint32_t cur_gt;  /* grain table being filled, UINT32_MAX if none */
	bool gt_used;
	uint8_t *grain;   /* the gathered grain */
	uint8_t *out;     /* marker and deflated grain */
	uint8_t *outs[VMDK_PAR_GRAINS]; /* the same for a parallel batch */
	size_t zlen[VMDK_PAR_GRAINS];
	size_t zmax;      /* room for a deflated grain */
	struct libdeflate_compressor *z[WORKERS_MAX]; /* one per thread */
	uint32_t *gt, *gd;
};

bool vmdk_stream_empty(struct vmdk_extent *e)
{
	for (uint32_t i = 0; i < e->ngt; i++) {
		uint32_t *gt;

		if (vmdk_gt_get(e, i, &gt))
			return false;
		for (uint32_t j = 0; gt && j < e->h.gtes; j++)
			if (gt[j])
				return false;
	}
	return true;
}

static void put_marker(uint8_t *b, uint64_t val, uint32_t type)
{
	memset(b, 0, VMDK_SECTOR);
	put_le64(b, val);
	put_le32(b + 12, type);
}

int vmdk_stream_begin(struct vmdk_extent *e)
{
	struct vmdk_stream *s = calloc(1, sizeof(*s));
	uint64_t start = e->h.overhead * VMDK_SECTOR;
	uint8_t hdr[VMDK_SECTOR];
	int ret;

	if (!s)
		return -ENOMEM;
	e->stream = s;
	s->zmax = libdeflate_zlib_compress_bound(NULL, e->grain);
	s->grain = malloc(e->grain);
	s->out = malloc(s->zmax + 2 * VMDK_SECTOR);
	s->gt = calloc(e->h.gtes, 4);
	s->gd = calloc(e->ngt ? e->ngt : 1, 4);
	if (!s->grain || !s->out || !s->gt || !s->gd) {
		ret = -ENOMEM;
		goto err;
	}
	s->cur_gi = UINT64_MAX;
	s->cur_gt = UINT32_MAX;
	/* grains go after the header and descriptor, whatever overhead says */
	if (e->h.desc_off <= e->file_size / VMDK_SECTOR &&
	    e->h.desc_size <= e->file_size / VMDK_SECTOR &&
	    (e->h.desc_off + e->h.desc_size) * VMDK_SECTOR > start)
		start = (e->h.desc_off + e->h.desc_size) * VMDK_SECTOR;
	if (start < VMDK_SECTOR || start > e->file_size)
		start = e->file_size > VMDK_SECTOR ? e->file_size : VMDK_SECTOR;
	s->next = (start + VMDK_SECTOR - 1) & ~(VMDK_SECTOR - 1);
	e->h.gd_off = VMDK_GD_AT_END;
	e->h.rgd_off = 0;
	e->h.flags &= ~VMDK_FLAG_RGD;
	e->h.flags |= VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS;
	e->h.overhead = s->next / VMDK_SECTOR;
	vmdk_header_encode(hdr, &e->h);
	ret = block_fd_pwrite(e->fd, hdr, sizeof(hdr), 0);
	if (!ret && ftruncate(e->fd, (off_t)s->next) < 0)
		ret = -errno;
	if (!ret)
		return 0;
err:
	vmdk_stream_free(e);
	e->stream_ok = false;
	return ret;
}

static int emit(struct vmdk_stream *s, struct vmdk_extent *e, const void *b,
		uint64_t len)
{
	int ret = block_fd_pwrite(e->fd, b, len, s->next);

	s->next += len;
	return ret;
}

static int emit_gt(struct vmdk_stream *s, struct vmdk_extent *e)
{
	uint64_t bytes = ((uint64_t)e->h.gtes * 4 + VMDK_SECTOR - 1) &
			 ~(VMDK_SECTOR - 1);
	uint8_t *b;
	int ret;

	if (s->cur_gt == UINT32_MAX || !s->gt_used)
		return 0;
	b = calloc(1, bytes + VMDK_SECTOR);
	if (!b)
		return -ENOMEM;
	put_marker(b, bytes / VMDK_SECTOR, VMDK_MARKER_GT);
	for (uint32_t i = 0; i < e->h.gtes; i++)
		put_le32(b + VMDK_SECTOR + i * 4, s->gt[i]);
	s->gd[s->cur_gt] = (uint32_t)(s->next / VMDK_SECTOR + 1);
	ret = emit(s, e, b, bytes + VMDK_SECTOR);
	free(b);
	memset(s->gt, 0, e->h.gtes * 4ull);
	s->gt_used = false;
	return ret;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/* in (one grain) deflated to out, its length in *zlen, on thread t. */
static int deflate_grain(struct vmdk_stream *s, unsigned t, const uint8_t *in,
			 size_t len, uint8_t *out, size_t *zlen)
{
	if (!s->z[t])
		s->z[t] = libdeflate_alloc_compressor(VMDK_DEFLATE_LEVEL);
	if (!s->z[t])
		return -ENOMEM;
	*zlen = libdeflate_zlib_compress(s->z[t], in, len, out, s->zmax);
	return *zlen ? 0 : -EIO;
}

/* Grain gi, deflated to out + 12 (zlen bytes), behind its marker. */
static int place_grain(struct vmdk_stream *s, struct vmdk_extent *e,
		       uint64_t gi, uint8_t *out, size_t zlen)
{
	uint32_t idx = (uint32_t)(gi / e->h.gtes);
	uint64_t total = (12 + zlen + VMDK_SECTOR - 1) & ~(VMDK_SECTOR - 1);
	int ret;

	if (idx != s->cur_gt) {
		ret = emit_gt(s, e);
		if (ret)
			return ret;
		s->cur_gt = idx;
	}
	if (s->next / VMDK_SECTOR + total / VMDK_SECTOR > UINT32_MAX)
		return -ENOSPC; /* table entries are 32-bit sectors */
	put_le64(out, gi * e->h.grain);
	put_le32(out + 8, (uint32_t)zlen);
	memset(out + 12 + zlen, 0, total - 12 - zlen);
	s->gt[gi % e->h.gtes] = (uint32_t)(s->next / VMDK_SECTOR);
	s->gt_used = true;
	return emit(s, e, out, total);
}

static int emit_grain(struct vmdk_stream *s, struct vmdk_extent *e)
{
	uint64_t gi = s->cur_gi;
	size_t zlen;
	int ret;

	s->cur_gi = UINT64_MAX;
	if (gi == UINT64_MAX || all_zero(s->grain, e->grain))
		return 0;
	ret = deflate_grain(s, 0, s->grain, e->grain, s->out + 12, &zlen);
	return ret ? ret : place_grain(s, e, gi, s->out, zlen);
}

struct deflate_batch {
	struct vmdk_extent *e;
	const uint8_t *in;
};

static int deflate_one(void *ctx, unsigned i, unsigned t)
{
	struct deflate_batch *b = ctx;
	struct vmdk_stream *s = b->e->stream;
	uint64_t grain = b->e->grain;
	const uint8_t *g = b->in + i * grain;

	s->zlen[i] = 0;
	if (all_zero(g, grain))
		return 0;
	return deflate_grain(s, t, g, grain, s->outs[i] + 12, &s->zlen[i]);
}

/* k whole grains from gi on, deflated in parallel, placed in order. */
static int write_batch(struct vmdk_stream *s, struct vmdk_extent *e,
		       const uint8_t *buf, uint64_t gi, unsigned k)
{
	struct deflate_batch b = { .e = e, .in = buf };
	int ret;

	for (unsigned i = 0; i < k; i++) {
		if (!s->outs[i])
			s->outs[i] = malloc(s->zmax + 2 * VMDK_SECTOR);
		if (!s->outs[i])
			return -ENOMEM;
	}
	ret = workers_run(&e->pool, k, deflate_one, &b);
	for (unsigned i = 0; !ret && i < k; i++)
		if (s->zlen[i])
			ret = place_grain(s, e, gi + i, s->outs[i], s->zlen[i]);
	return ret;
}

int vmdk_stream_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t len,
		      uint64_t off)
{
	struct vmdk_stream *s = e->stream;

	while (len) {
		uint64_t gi = off / e->grain, in = off % e->grain;
		uint64_t n = e->grain - in < len ? e->grain - in : len;
		int ret;

		/* a stream is written front to back, once */
		if (gi < s->done_gi)
			return -EINVAL;
		if (!in && len >= 2 * e->grain && gi != s->cur_gi) {
			unsigned k = len / e->grain > VMDK_PAR_GRAINS ?
					     VMDK_PAR_GRAINS :
					     (unsigned)(len / e->grain);

			ret = emit_grain(s, e);
			if (!ret)
				ret = write_batch(s, e, buf, gi, k);
			if (ret)
				return ret;
			s->done_gi = gi + k;
			buf += k * e->grain;
			off += k * e->grain;
			len -= k * e->grain;
			continue;
		}
		if (gi != s->cur_gi) {
			ret = emit_grain(s, e);
			if (ret)
				return ret;
			s->cur_gi = s->done_gi = gi;
			memset(s->grain, 0, e->grain);
		}
		memcpy(s->grain + in, buf, n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vmdk_stream_finish(struct vmdk_extent *e)
{
	struct vmdk_stream *s = e->stream;
	uint64_t gd_bytes = ((uint64_t)e->ngt * 4 + VMDK_SECTOR - 1) &
			    ~(VMDK_SECTOR - 1);
	uint8_t *b = calloc(1, gd_bytes + 4 * VMDK_SECTOR), *p;
	struct vmdk_header f = e->h;
	int ret;

	if (!b)
		return -ENOMEM;
	ret = emit_grain(s, e);
	if (!ret)
		ret = emit_gt(s, e);
	if (ret)
		goto out;
	put_marker(b, gd_bytes / VMDK_SECTOR, VMDK_MARKER_GD);
	for (uint32_t i = 0; i < e->ngt; i++)
		put_le32(b + VMDK_SECTOR + i * 4, s->gd[i]);
	f.gd_off = s->next / VMDK_SECTOR + 1;
	p = b + VMDK_SECTOR + gd_bytes;
	put_marker(p, 1, VMDK_MARKER_FOOTER);
	vmdk_header_encode(p + VMDK_SECTOR, &f);
	put_marker(p + 2 * VMDK_SECTOR, 0, VMDK_MARKER_EOS);
	ret = emit(s, e, b, gd_bytes + 4 * VMDK_SECTOR);
	if (!ret && ftruncate(e->fd, (off_t)s->next) < 0)
		ret = -errno;
out:
	free(b);
	vmdk_stream_free(e);
	return ret;
}

void vmdk_stream_free(struct vmdk_extent *e)
{
	struct vmdk_stream *s = e->stream;

	if (!s)
		return;
	for (unsigned i = 0; i < VMDK_PAR_GRAINS; i++)
		free(s->outs[i]);
	for (unsigned i = 0; i < WORKERS_MAX; i++)
		libdeflate_free_compressor(s->z[i]);
	free(s->grain);
	free(s->out);
	free(s->gt);
	free(s->gd);
	free(s);
	e->stream = NULL;
}
