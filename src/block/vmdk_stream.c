// SPDX-License-Identifier: MIT
/*
 * Stream-optimized VMDK: grains deflated behind a marker (LBA, size), read
 * one grain at a time; and the writer "img convert -O vmdk -o
 * subformat=streamOptimized" uses, which appends grains in ascending order,
 * each grain table after the grains it maps, then the grain directory, the
 * footer (the header with the directory's place) and the end-of-stream
 * marker, as VMware's OVA exports lay them out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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
	uLongf zlen[VMDK_PAR_GRAINS];
	/* one deflate state per thread, reset per grain, not set up anew */
	z_stream z[VMDK_PAR_THREADS];
	bool z_ready[VMDK_PAR_THREADS];
	uint32_t *gt, *gd;
};

int vmdk_inflate_grain(struct vmdk_extent *e, uint64_t gi, uint64_t host,
		       uint8_t *zbuf, uint8_t *out)
{
	uint64_t max = 2 * e->grain + VMDK_SECTOR, avail, size;
	uLongf out_len = e->grain;
	const uint8_t *z = zbuf;
	int ret;

	if (host >= e->file_size)
		return -EIO;
	avail = e->file_size - host < max ? e->file_size - host : max;
	ret = block_fd_pread(e->fd, zbuf, avail, host);
	if (ret)
		return ret;
	size = avail;
	if (e->h.flags & VMDK_FLAG_MARKERS) {
		if (avail < 12 || vmdk_le64(zbuf) != gi * e->h.grain)
			return -EIO; /* not the marker of this grain */
		size = vmdk_le32(zbuf + 8);
		if (!size || size > avail - 12)
			return -EIO;
		z += 12;
	}
	if (uncompress(out, &out_len, z, (uLong)size) != Z_OK)
		return -EIO;
	memset(out + out_len, 0, e->grain - out_len);
	return 0;
}

int vmdk_read_compressed(struct vmdk_extent *e, uint64_t gi, uint64_t host,
			 uint8_t *out)
{
	int ret;

	if (e->gbuf_lba == gi && out == e->gbuf)
		return 0;
	e->gbuf_lba = UINT64_MAX;
	ret = vmdk_inflate_grain(e, gi, host, e->zbuf, out);
	if (!ret && out == e->gbuf)
		e->gbuf_lba = gi;
	return ret;
}

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
	vmdk_put_le64(b, val);
	vmdk_put_le32(b + 12, type);
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
	s->grain = malloc(e->grain);
	s->out = malloc(compressBound((uLong)e->grain) + 2 * VMDK_SECTOR);
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
		vmdk_put_le32(b + VMDK_SECTOR + i * 4, s->gt[i]);
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
			 uLong len, uint8_t *out, uLongf *zlen)
{
	z_stream *z = &s->z[t];

	if (!s->z_ready[t]) {
		memset(z, 0, sizeof(*z));
		if (deflateInit(z, Z_DEFAULT_COMPRESSION) != Z_OK)
			return -ENOMEM;
		s->z_ready[t] = true;
	} else if (deflateReset(z) != Z_OK) {
		return -EIO;
	}
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)len;
	z->next_out = out;
	z->avail_out = (uInt)*zlen;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	*zlen = z->total_out;
	return 0;
}

/* Grain gi, deflated to out + 12 (zlen bytes), behind its marker. */
static int place_grain(struct vmdk_stream *s, struct vmdk_extent *e,
		       uint64_t gi, uint8_t *out, uLongf zlen)
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
	vmdk_put_le64(out, gi * e->h.grain);
	vmdk_put_le32(out + 8, (uint32_t)zlen);
	memset(out + 12 + zlen, 0, total - 12 - zlen);
	s->gt[gi % e->h.gtes] = (uint32_t)(s->next / VMDK_SECTOR);
	s->gt_used = true;
	return emit(s, e, out, total);
}

static int emit_grain(struct vmdk_stream *s, struct vmdk_extent *e)
{
	uint64_t gi = s->cur_gi;
	uLongf zlen = compressBound((uLong)e->grain);

	s->cur_gi = UINT64_MAX;
	if (gi == UINT64_MAX || all_zero(s->grain, e->grain))
		return 0;
	int ret = deflate_grain(s, 0, s->grain, (uLong)e->grain, s->out + 12,
				&zlen);

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
	s->zlen[i] = compressBound((uLong)grain);
	return deflate_grain(s, t, g, (uLong)grain, s->outs[i] + 12,
			     &s->zlen[i]);
}

/* k whole grains from gi on, deflated in parallel, placed in order. */
static int write_batch(struct vmdk_stream *s, struct vmdk_extent *e,
		       const uint8_t *buf, uint64_t gi, unsigned k)
{
	struct deflate_batch b = { .e = e, .in = buf };
	int ret;

	for (unsigned i = 0; i < k; i++) {
		if (!s->outs[i])
			s->outs[i] = malloc(compressBound((uLong)e->grain) +
					    2 * VMDK_SECTOR);
		if (!s->outs[i])
			return -ENOMEM;
	}
	ret = vmdk_parallel(k, deflate_one, &b);
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
		vmdk_put_le32(b + VMDK_SECTOR + i * 4, s->gd[i]);
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
	for (unsigned i = 0; i < VMDK_PAR_THREADS; i++)
		if (s->z_ready[i])
			deflateEnd(&s->z[i]);
	free(s->grain);
	free(s->out);
	free(s->gt);
	free(s->gd);
	free(s);
	e->stream = NULL;
}
