// SPDX-License-Identifier: MIT
/*
 * Reading compressed (stream-optimized) grains: each grain is a zlib
 * stream, behind a marker (LBA, size) when the extent has markers. A grain
 * is read alone into a one-grain cache, or whole grains of a large read are
 * inflated a batch at a time on the extent's threads. libdeflate inflates
 * a whole buffer at once, several times faster than zlib's streaming.
 */
#include <errno.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "block/vmdk_int.h"

/*
 * What a first read of a grain with a marker takes: the marker and a
 * grain that compressed well, or the start of one that did not. Reading
 * the most a grain may take instead copied 128 KiB for every grain.
 */
#define FIRST_READ 4096u

/* Thread t's buffer and decompressor, made at its first grain. */
static int thread_state(struct vmdk_extent *e, unsigned t)
{
	if (!e->zbuf[t])
		e->zbuf[t] = malloc(2 * e->grain + VMDK_SECTOR);
	if (!e->dec[t])
		e->dec[t] = libdeflate_alloc_decompressor();
	return e->zbuf[t] && e->dec[t] ? 0 : -ENOMEM;
}

/* Grain gi, stored at host, inflated into out (a grain) on thread t. */
static int inflate_grain(struct vmdk_extent *e, unsigned t, uint64_t gi,
			 uint64_t host, uint8_t *out)
{
	uint64_t max = 2 * e->grain + VMDK_SECTOR, avail, size, got;
	size_t out_len;
	uint8_t *z;
	int ret = thread_state(e, t);

	if (ret)
		return ret;
	z = e->zbuf[t];
	if (host >= e->file_size)
		return -EIO;
	avail = e->file_size - host < max ? e->file_size - host : max;
	got = avail;
	if ((e->h.flags & VMDK_FLAG_MARKERS) && avail > FIRST_READ)
		got = FIRST_READ;
	ret = block_fd_pread(e->fd, z, got, host);
	if (ret)
		return ret;
	size = avail;
	if (e->h.flags & VMDK_FLAG_MARKERS) {
		if (avail < 12 || get_le64(z) != gi * e->h.grain)
			return -EIO; /* not the marker of this grain */
		size = get_le32(z + 8);
		if (!size || size > avail - 12)
			return -EIO;
		if (12 + size > got) {
			ret = block_fd_pread(e->fd, z + got, 12 + size - got,
					     host + got);
			if (ret)
				return ret;
		}
		z += 12;
	}
	if (libdeflate_zlib_decompress(e->dec[t], z, size, out, e->grain,
				       &out_len) != LIBDEFLATE_SUCCESS)
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
	ret = inflate_grain(e, 0, gi, host, out);
	if (!ret && out == e->gbuf)
		e->gbuf_lba = gi;
	return ret;
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
	return inflate_grain(e, t, b->gi + i, b->entry[i] * VMDK_SECTOR, out);
}

int vmdk_read_compressed_batch(struct vmdk_extent *e, uint8_t *buf,
			       uint64_t gi, unsigned k)
{
	struct read_batch b = { .e = e, .gi = gi, .buf = buf };

	for (unsigned i = 0; i < k; i++) {
		int ret = vmdk_grain_entry(e, gi + i, &b.entry[i], &b.kind[i]);

		if (ret)
			return ret;
	}
	return workers_run(&e->pool, k, inflate_one, &b);
}

void vmdk_inflate_free(struct vmdk_extent *e)
{
	for (unsigned t = 0; t < WORKERS_MAX; t++) {
		free(e->zbuf[t]);
		libdeflate_free_decompressor(e->dec[t]);
		e->zbuf[t] = NULL;
		e->dec[t] = NULL;
	}
}
