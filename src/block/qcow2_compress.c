// SPDX-License-Identifier: MIT
/*
 * Compressed clusters: zlib as raw deflate with a 4 KiB window (what qcow2
 * readers expect), or a zstd frame. The stored length is rounded up to 512
 * byte sectors, so decompression stops at the end of the stream and ignores
 * what follows.
 */
#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2_int.h"

static int inflate_raw(const uint8_t *in, size_t inlen, uint8_t *out,
		       size_t outlen)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* a full output buffer is success even if the stream had no end */
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0)
		return 0;
	return -EIO;
}

static int zstd_decompress(const uint8_t *in, size_t inlen, uint8_t *out,
			   size_t outlen)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };
	size_t r;
	int ret = -EIO;

	if (!d)
		return -ENOMEM;
	do {
		r = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(r))
			goto out;
	} while (r && ob.pos < ob.size && ib.pos < ib.size);
	if (ob.pos == ob.size)
		ret = 0;
out:
	ZSTD_freeDCtx(d);
	return ret;
}

int qcow2_decompress(enum qcow2_compression t, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen)
{
	if (t == QCOW2_COMP_ZSTD)
		return zstd_decompress(in, inlen, out, outlen);
	return inflate_raw(in, inlen, out, outlen);
}

static long deflate_raw(const uint8_t *in, size_t inlen, uint8_t *out,
			size_t outlen)
{
	z_stream z;
	long ret = -ENOSPC;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		ret = (long)(outlen - z.avail_out);
	deflateEnd(&z);
	return ret;
}

long qcow2_compress(enum qcow2_compression t, const uint8_t *in, size_t inlen,
		    uint8_t *out, size_t outlen)
{
	size_t r;

	if (t == QCOW2_COMP_ZLIB)
		return deflate_raw(in, inlen, out, outlen);
	r = ZSTD_compress(out, outlen, in, inlen, 3);
	if (ZSTD_isError(r))
		return -ENOSPC;
	return (long)r;
}
