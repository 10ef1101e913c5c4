// SPDX-License-Identifier: MIT
/* qcow2 guest-offset mapping: L1/L2 lookup, reads, allocating writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2_int.h"

enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_COMPRESSED;
	if ((e & QCOW2_OFLAG_ZERO) && s->version >= 3)
		return (e & QCOW2_OFFSET_MASK) ? QCOW2_ZERO_ALLOC :
						 QCOW2_ZERO_PLAIN;
	if (e & QCOW2_OFFSET_MASK)
		return QCOW2_NORMAL;
	return QCOW2_UNALLOCATED;
}

void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *off,
			    uint64_t *len)
{
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t nsec = ((e >> x) & ((1ull << (s->cluster_bits - 8)) - 1)) + 1;

	*off = e & ((1ull << x) - 1);
	*len = nsec * 512 - (*off & 511);
}

static uint64_t l2_index(const struct qcow2 *s, uint64_t vofs)
{
	return (vofs >> s->cluster_bits) & ((1ull << s->l2_bits) - 1);
}

static uint64_t l1_index(const struct qcow2 *s, uint64_t vofs)
{
	return vofs >> (s->cluster_bits + s->l2_bits);
}

static int l2_offset(const struct qcow2 *s, uint64_t l1e, uint64_t *off)
{
	*off = l1e & QCOW2_OFFSET_MASK;
	return (*off & (s->cluster_size - 1)) ? -EIO : 0;
}

int qcow2_get_entry(struct qcow2 *s, uint64_t vofs, uint64_t *entry)
{
	uint64_t i = l1_index(s, vofs), off;
	uint8_t *l2;
	int ret;

	*entry = 0;
	if (i >= s->l1_size)
		return 0;
	ret = l2_offset(s, s->l1[i], &off);
	if (ret || !off)
		return ret;
	ret = qcow2_cache_get(s, &s->l2_cache, off, &l2);
	if (ret)
		return ret;
	*entry = get_be64(l2 + l2_index(s, vofs) * 8);
	return 0;
}

static int read_backing(struct qcow2 *s, uint8_t *buf, size_t n, uint64_t off)
{
	uint64_t bl;
	size_t m;

	if (!s->backing || off >= (bl = s->backing->length)) {
		memset(buf, 0, n);
		return 0;
	}
	m = n < bl - off ? n : (size_t)(bl - off);
	memset(buf + m, 0, n - m);
	return block_pread(s->backing, buf, m, off);
}

static int read_compressed(struct qcow2 *s, uint64_t e, uint8_t *buf)
{
	uint64_t off, len;
	uint8_t *in;
	int ret;

	qcow2_compressed_range(s, e, &off, &len);
	in = malloc(len);
	if (!in)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, in, len, off);
	if (!ret)
		ret = qcow2_decompress(s->compression, in, len, buf,
				       s->cluster_size);
	free(in);
	return ret;
}

/* Whole-cluster content at cluster-aligned vofs, given its L2 entry. */
int qcow2_read_cluster(struct qcow2 *s, uint64_t vofs, uint64_t entry,
		       uint8_t *buf)
{
	uint64_t host = entry & QCOW2_OFFSET_MASK;

	switch (qcow2_entry_type(s, entry)) {
	case QCOW2_UNALLOCATED:
		return read_backing(s, buf, s->cluster_size, vofs);
	case QCOW2_ZERO_PLAIN:
	case QCOW2_ZERO_ALLOC:
		memset(buf, 0, s->cluster_size);
		return 0;
	case QCOW2_NORMAL:
		if (host & (s->cluster_size - 1))
			return -EIO;
		return qcow2_data_pread(s, buf, s->cluster_size, vofs, host);
	case QCOW2_COMPRESSED:
		return read_compressed(s, entry, buf);
	}
	return -EIO;
}

static int read_piece(struct qcow2 *s, uint8_t *buf, size_t n, uint64_t off)
{
	uint64_t in = off & (s->cluster_size - 1), e, host;
	uint8_t *tmp;
	int ret = qcow2_get_entry(s, off, &e);

	if (ret)
		return ret;
	switch (qcow2_entry_type(s, e)) {
	case QCOW2_UNALLOCATED:
		return read_backing(s, buf, n, off);
	case QCOW2_ZERO_PLAIN:
	case QCOW2_ZERO_ALLOC:
		memset(buf, 0, n);
		return 0;
	case QCOW2_NORMAL:
		host = e & QCOW2_OFFSET_MASK;
		if (host & (s->cluster_size - 1))
			return -EIO;
		return qcow2_data_pread(s, buf, n, off, host + in);
	case QCOW2_COMPRESSED:
		tmp = malloc(s->cluster_size);
		if (!tmp)
			return -ENOMEM;
		ret = read_compressed(s, e, tmp);
		if (!ret)
			memcpy(buf, tmp + in, n);
		free(tmp);
		return ret;
	}
	return -EIO;
}

int qcow2_write_l1_entries(struct qcow2 *s, uint64_t l1_offset,
			   const uint64_t *l1, uint32_t first, uint32_t n)
{
	uint8_t *b = malloc((size_t)n * 8);
	int ret;

	if (!b)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		put_be64(b + i * 8, l1[first + i]);
	ret = block_fd_pwrite(s->fd, b, (size_t)n * 8, l1_offset + first * 8ull);
	free(b);
	return ret;
}

/* L2 table for vofs that only the active L1 references, made if needed. */
static int l2_for_write(struct qcow2 *s, uint64_t vofs, uint64_t *out)
{
	uint64_t i = l1_index(s, vofs), old, rc = 0;
	uint8_t *src, *dst;
	int64_t new;
	int ret;

	if (i >= s->l1_size)
		return -EIO;
	ret = l2_offset(s, s->l1[i], &old);
	if (ret)
		return ret;
	if (old && !(s->l1[i] & QCOW2_OFLAG_COPIED)) {
		ret = qcow2_get_refcount(s, old >> s->cluster_bits, &rc);
		if (ret)
			return ret;
		if (rc == 1) {
			s->l1[i] |= QCOW2_OFLAG_COPIED;
			ret = qcow2_write_l1_entries(s, s->l1_offset, s->l1,
						     (uint32_t)i, 1);
			if (ret)
				return ret;
		}
	}
	if (old && (s->l1[i] & QCOW2_OFLAG_COPIED)) {
		*out = old;
		return 0;
	}
	new = qcow2_alloc_clusters(s, 1);
	if (new < 0)
		return (int)new;
	dst = qcow2_cache_get_new(s, &s->l2_cache, (uint64_t)new);
	if (old) {
		ret = qcow2_cache_get(s, &s->l2_cache, old, &src);
		if (ret)
			goto err;
		dst = qcow2_cache_get_new(s, &s->l2_cache, (uint64_t)new);
		memcpy(dst, src, s->cluster_size);
	}
	ret = block_fd_pwrite(s->fd, dst, s->cluster_size, (uint64_t)new);
	if (ret)
		goto err;
	s->l1[i] = (uint64_t)new | QCOW2_OFLAG_COPIED;
	ret = qcow2_write_l1_entries(s, s->l1_offset, s->l1, (uint32_t)i, 1);
	if (ret) {
		s->l1[i] = old;
		goto err;
	}
	if (old)
		qcow2_free_clusters(s, old, s->cluster_size);
	*out = (uint64_t)new;
	return 0;
err:
	qcow2_cache_drop(&s->l2_cache, (uint64_t)new);
	qcow2_free_clusters(s, (uint64_t)new, s->cluster_size);
	return ret;
}

static void free_entry(struct qcow2 *s, uint64_t e)
{
	uint64_t off, len;

	switch (qcow2_entry_type(s, e)) {
	case QCOW2_NORMAL:
	case QCOW2_ZERO_ALLOC:
		qcow2_free_clusters(s, e & QCOW2_OFFSET_MASK, s->cluster_size);
		break;
	case QCOW2_COMPRESSED:
		qcow2_compressed_range(s, e, &off, &len);
		qcow2_free_clusters(s, off, len);
		break;
	default:
		break;
	}
}

/*
 * Points n consecutive entries of one L2 table at new values; the old
 * clusters are released after the table is written.
 */
static int set_entries(struct qcow2 *s, uint64_t vofs, const uint64_t *val,
		       uint64_t n)
{
	uint64_t l2off = 0, first = l2_index(s, vofs), old[n];
	uint8_t *l2;
	int ret = l2_for_write(s, vofs, &l2off);

	if (ret)
		return ret;
	ret = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
	if (ret)
		return ret;
	for (uint64_t k = 0; k < n; k++) {
		old[k] = get_be64(l2 + (first + k) * 8);
		put_be64(l2 + (first + k) * 8, val[k]);
	}
	ret = block_fd_pwrite(s->fd, l2 + first * 8, n * 8, l2off + first * 8);
	if (ret) {
		qcow2_cache_drop(&s->l2_cache, l2off);
		return ret;
	}
	for (uint64_t k = 0; k < n; k++)
		if ((old[k] & QCOW2_OFFSET_MASK) != (val[k] & QCOW2_OFFSET_MASK))
			free_entry(s, old[k]);
	return 0;
}

int qcow2_set_l2_entry(struct qcow2 *s, uint64_t vofs, uint64_t entry)
{
	return set_entries(s, vofs, &entry, 1);
}

/* n full clusters of data at cluster-aligned vofs go to fresh clusters. */
static int write_new(struct qcow2 *s, uint64_t vofs, const uint8_t *data,
		     uint64_t n)
{
	uint64_t val[n];
	int64_t host;
	int ret;

	host = qcow2_alloc_clusters(s, n);
	if (host < 0)
		return (int)host;
	ret = qcow2_data_pwrite(s, data, n << s->cluster_bits, vofs,
				(uint64_t)host);
	if (ret)
		goto err;
	for (uint64_t k = 0; k < n; k++)
		val[k] = ((uint64_t)host + (k << s->cluster_bits)) |
			 QCOW2_OFLAG_COPIED;
	ret = set_entries(s, vofs, val, n);
	if (ret)
		goto err;
	return 0;
err:
	qcow2_free_clusters(s, (uint64_t)host, n << s->cluster_bits);
	return ret;
}

/* Host offset if the cluster can be written in place, else 0. */
static int in_place(struct qcow2 *s, uint64_t vofs, uint64_t *host)
{
	uint64_t e, rc;
	int ret = qcow2_get_entry(s, vofs, &e);

	*host = 0;
	if (ret || qcow2_entry_type(s, e) != QCOW2_NORMAL)
		return ret;
	if ((e & QCOW2_OFFSET_MASK) & (s->cluster_size - 1))
		return -EIO;
	if (!(e & QCOW2_OFLAG_COPIED)) {
		ret = qcow2_get_refcount(s, e >> s->cluster_bits & 
					 (QCOW2_OFFSET_MASK >> s->cluster_bits),
					 &rc);
		if (ret || rc != 1)
			return ret;
		ret = qcow2_set_l2_entry(s, vofs, e | QCOW2_OFLAG_COPIED);
		if (ret)
			return ret;
	}
	*host = e & QCOW2_OFFSET_MASK;
	return 0;
}

static int write_partial(struct qcow2 *s, const uint8_t *buf, size_t n,
			 uint64_t off)
{
	uint64_t vofs = off & ~(s->cluster_size - 1), e;
	uint8_t *tmp;
	int ret = qcow2_get_entry(s, vofs, &e);

	if (ret)
		return ret;
	tmp = malloc(s->cluster_size);
	if (!tmp)
		return -ENOMEM;
	ret = qcow2_read_cluster(s, vofs, e, tmp);
	if (!ret) {
		memcpy(tmp + (off - vofs), buf, n);
		ret = write_new(s, vofs, tmp, 1);
	}
	free(tmp);
	return ret;
}

static int write_range(struct qcow2 *s, const uint8_t *buf, size_t len,
		       uint64_t off)
{
	uint64_t cs = s->cluster_size, l2_span = cs << s->l2_bits;

	while (len) {
		uint64_t in = off & (cs - 1), host, run;
		size_t n = len < cs - in ? len : (size_t)(cs - in);
		int ret = in_place(s, off, &host);

		if (ret)
			return ret;
		if (host) {
			ret = qcow2_data_pwrite(s, buf, n, off, host + in);
		} else if (n < cs) {
			ret = write_partial(s, buf, n, off);
		} else {
			/* batch full clusters that need allocation */
			for (run = 1; (run + 1) * cs <= len &&
			     (off + run * cs) % l2_span && run < 512; run++) {
				ret = in_place(s, off + run * cs, &host);
				if (ret)
					return ret;
				if (host)
					break;
			}
			n = (size_t)(run * cs);
			ret = write_new(s, off, buf, run);
		}
		if (ret)
			return ret;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Reads up to len bytes at off: one cluster's piece, or as many following
 * clusters as lie back to back in the file, in one request.
 */
static int read_run(struct qcow2 *s, uint8_t *buf, size_t len, uint64_t off,
		    size_t *done)
{
	uint64_t cs = s->cluster_size, in = off & (cs - 1), e, next, host;
	size_t n = len < cs - in ? len : (size_t)(cs - in);
	int ret = qcow2_get_entry(s, off, &e);

	*done = n;
	if (ret)
		return ret;
	if (qcow2_entry_type(s, e) != QCOW2_NORMAL)
		return read_piece(s, buf, n, off);
	host = e & QCOW2_OFFSET_MASK;
	if (host & (cs - 1))
		return -EIO;
	while (n < len) {
		if (qcow2_get_entry(s, off + n, &next) ||
		    qcow2_entry_type(s, next) != QCOW2_NORMAL ||
		    (next & QCOW2_OFFSET_MASK) != host + in + n)
			break;
		n += len - n < cs ? len - n : (size_t)cs;
	}
	*done = n;
	return qcow2_data_pread(s, buf, n, off, host + in);
}

int qcow2_rw(struct qcow2 *s, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
	     uint64_t off)
{
	if (wbuf)
		return write_range(s, wbuf, len, off);
	while (len) {
		size_t n;
		int ret = read_run(s, rbuf, len, off, &n);

		if (ret)
			return ret;
		rbuf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2_zero_range(struct qcow2 *s, uint64_t off, uint64_t len, bool unmap)
{
	uint64_t cs = s->cluster_size, end = off + len;
	/* the name counts even when the chain was not opened */
	bool backing = s->backing || s->backing_file;
	uint8_t *zero;
	int ret = 0;

	while (off < end && !ret) {
		uint64_t in = off & (cs - 1);
		uint64_t n = end - off < cs - in ? end - off : cs - in;
		bool whole = n == cs || (!in && off + n == s->size);

		if (whole && (s->version >= 3 || !backing)) {
			uint64_t e = (s->version >= 3 && (backing || !unmap)) ?
					     QCOW2_OFLAG_ZERO : 0;
			uint64_t cur;

			ret = qcow2_get_entry(s, off, &cur);
			if (!ret && cur != e)
				ret = qcow2_set_l2_entry(s, off, e);
		} else if (!unmap) {
			zero = calloc(1, n);
			if (!zero)
				return -ENOMEM;
			ret = write_range(s, zero, n, off);
			free(zero);
		}
		off += n;
	}
	return ret;
}

int qcow2_grow_l1(struct qcow2 *s, uint64_t min_size)
{
	uint64_t bytes = qcow2_align_up(min_size * 8, s->cluster_size);
	uint64_t old_off = s->l1_offset, old_bytes, *l1;
	uint8_t *buf, hdr[12];
	int64_t off;
	int ret;

	if (min_size <= s->l1_size)
		return 0;
	if (bytes > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	old_bytes = qcow2_align_up((uint64_t)s->l1_size * 8, s->cluster_size);
	l1 = calloc(1, bytes);
	buf = calloc(1, bytes);
	if (!l1 || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(l1, s->l1, (size_t)s->l1_size * 8);
	for (uint64_t i = 0; i < s->l1_size; i++)
		put_be64(buf + i * 8, l1[i]);
	off = qcow2_alloc_clusters(s, bytes >> s->cluster_bits);
	if (off < 0) {
		ret = (int)off;
		goto out;
	}
	ret = block_fd_pwrite(s->fd, buf, bytes, (uint64_t)off);
	if (ret)
		goto err_free;
	put_be32(hdr, (uint32_t)min_size);
	put_be64(hdr + 4, (uint64_t)off);
	ret = block_fd_pwrite(s->fd, hdr, 12, QCOW2_HDR_L1);
	if (ret)
		goto err_free;
	if (old_off && old_bytes)
		qcow2_free_clusters(s, old_off, old_bytes);
	free(s->l1);
	s->l1 = l1;
	l1 = NULL;
	s->l1_size = (uint32_t)min_size;
	s->l1_offset = (uint64_t)off;
	goto out;
err_free:
	qcow2_free_clusters(s, (uint64_t)off, bytes);
out:
	free(l1);
	free(buf);
	return ret;
}
