// SPDX-License-Identifier: MIT
/*
 * qcow2 refcounts: the two-level refcount table of any width (1..64 bits),
 * cluster allocation and refcount table growth.
 *
 * Refcount blocks that an allocation needs are placed right after the
 * clusters it returns, and count themselves where they can.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/qcow2_int.h"

static int grow_reftable(struct qcow2 *s, uint64_t min_entries);

uint64_t qcow2_refblock_get(const struct qcow2 *s, const uint8_t *rb,
			    uint64_t i)
{
	unsigned bits = s->refcount_bits;
	uint64_t v = 0;

	if (bits < 8) {
		uint64_t bit = i * bits;

		return (rb[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	rb += i * (bits / 8);
	for (unsigned b = 0; b < bits / 8; b++)
		v = (v << 8) | rb[b];
	return v;
}

void qcow2_refblock_set(const struct qcow2 *s, uint8_t *rb, uint64_t i,
			uint64_t v)
{
	unsigned bits = s->refcount_bits;

	if (bits < 8) {
		uint64_t bit = i * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));

		rb[bit / 8] = (uint8_t)((rb[bit / 8] & ~mask) |
					((v << (bit % 8)) & mask));
		return;
	}
	rb += i * (bits / 8);
	for (int b = (int)(bits / 8) - 1; b >= 0; b--, v >>= 8)
		rb[b] = (uint8_t)v;
}

int qcow2_load_reftable(struct qcow2 *s, char *err, size_t errlen)
{
	uint64_t bytes = (uint64_t)s->reftable_clusters * s->cluster_size;
	uint8_t *raw = malloc(bytes);
	struct stat st;
	int ret;

	s->refcount_bits = 1u << s->refcount_order;
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX :
			  (1ull << s->refcount_bits) - 1;
	if (!raw)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, raw, bytes, s->reftable_offset);
	if (ret) {
		snprintf(err, errlen, "reading the refcount table: %s",
			 strerror(-ret));
		goto out;
	}
	s->reftable_entries = bytes / 8;
	s->reftable = malloc(bytes);
	if (!s->reftable) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < s->reftable_entries; i++)
		s->reftable[i] = get_be64(raw + i * 8);
	if (fstat(s->fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	s->file_end = qcow2_align_up((uint64_t)st.st_size, s->cluster_size);
out:
	free(raw);
	return ret;
}

static int disk_reftable_entries(const struct qcow2 *s, uint64_t i)
{
	return i < (uint64_t)s->reftable_clusters * s->cluster_size / 8;
}

/* Returns the refcount block offset of range i, 0 if there is none. */
static int refblock_offset(struct qcow2 *s, uint64_t i, uint64_t *off)
{
	uint64_t o;

	*off = 0;
	if (i >= s->reftable_entries)
		return 0;
	o = s->reftable[i] & QCOW2_OFFSET_MASK;
	if (o && (o & (s->cluster_size - 1)))
		return -EIO;
	*off = o;
	return 0;
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *val)
{
	uint64_t off;
	uint8_t *rb;
	int ret = refblock_offset(s, cluster >> s->rb_bits, &off);

	*val = 0;
	if (ret || !off)
		return ret;
	ret = qcow2_cache_get(s, &s->rb_cache, off, &rb);
	if (ret)
		return ret;
	*val = qcow2_refblock_get(s, rb,
				  cluster & ((1ull << s->rb_bits) - 1));
	return 0;
}

/*
 * Creates the refcount block of range i in a freshly allocated cluster
 * (only repairs need this: allocation adds blocks itself).
 */
static int64_t make_refblock(struct qcow2 *s, uint64_t i)
{
	uint64_t cur;
	uint8_t be[8];
	int64_t off;
	int ret;

	if (i >= s->reftable_entries) {
		ret = grow_reftable(s, i + 1);
		if (ret)
			return ret;
	}
	off = qcow2_alloc_clusters(s, 1);
	if (off < 0)
		return off;
	ret = refblock_offset(s, i, &cur);
	if (ret || cur) {
		/* the allocation itself gave range i its block */
		qcow2_free_clusters(s, (uint64_t)off, s->cluster_size);
		return ret ? ret : (int64_t)cur;
	}
	ret = block_fd_pwrite(s->fd, qcow2_cache_get_new(s, &s->rb_cache,
							 (uint64_t)off),
			      s->cluster_size, (uint64_t)off);
	if (!ret && disk_reftable_entries(s, i)) {
		put_be64(be, (uint64_t)off);
		ret = block_fd_pwrite(s->fd, be, 8, s->reftable_offset + i * 8);
	}
	if (ret) {
		qcow2_cache_drop(&s->rb_cache, (uint64_t)off);
		qcow2_free_clusters(s, (uint64_t)off, s->cluster_size);
		return ret;
	}
	s->reftable[i] = (uint64_t)off;
	return off;
}

/* Writes entries [a, b) of a refcount block back to the file. */
static int write_refs(struct qcow2 *s, uint64_t rb_off, const uint8_t *rb,
		      uint64_t a, uint64_t b)
{
	uint64_t start = a * s->refcount_bits / 8;
	uint64_t end = (b * s->refcount_bits + 7) / 8;

	return block_fd_pwrite(s->fd, rb + start, end - start, rb_off + start);
}

/* Whether every refcount of clusters [first, last] can take addend. */
static int check_range(struct qcow2 *s, uint64_t first, uint64_t last,
		       int64_t addend)
{
	uint64_t v;
	int ret;

	for (uint64_t c = first; c <= last; c++) {
		ret = qcow2_get_refcount(s, c, &v);
		if (ret)
			return ret;
		if (addend < 0 && v < (uint64_t)-addend)
			return -EIO;
		if (addend > 0 && s->refcount_max - v < (uint64_t)addend)
			return -ERANGE;
	}
	return 0;
}

/* All or nothing: refcounts are checked before any of them changes. */
int qcow2_update_refcount(struct qcow2 *s, uint64_t off, uint64_t len,
			  int64_t addend)
{
	uint64_t first, last, c;
	int ret = 0;

	if (!len)
		return 0;
	first = off >> s->cluster_bits;
	last = (off + len - 1) >> s->cluster_bits;
	ret = check_range(s, first, last, addend);
	if (ret)
		return ret;
	for (c = first; c <= last;) {
		uint64_t i = c >> s->rb_bits, rb_off, a, b;
		uint64_t mask = (1ull << s->rb_bits) - 1;
		uint8_t *rb;

		ret = refblock_offset(s, i, &rb_off);
		if (ret)
			return ret;
		if (!rb_off) {
			int64_t r;

			if (addend < 0)
				return -EIO;
			r = make_refblock(s, i);
			if (r < 0)
				return (int)r;
			rb_off = (uint64_t)r;
		}
		ret = qcow2_cache_get(s, &s->rb_cache, rb_off, &rb);
		if (ret)
			return ret;
		a = c & mask;
		b = a;
		for (; c <= last && (c >> s->rb_bits) == i; c++, b++) {
			uint64_t v = qcow2_refblock_get(s, rb, b) + (uint64_t)addend;

			qcow2_refblock_set(s, rb, b, v);
			if (!v) {
				qcow2_cache_drop(&s->l2_cache,
						 c << s->cluster_bits);
				qcow2_cache_drop(&s->rb_cache,
						 c << s->cluster_bits);
				if (c < s->free_hint)
					s->free_hint = c;
				s->comp_next = 0;
			}
		}
		ret = write_refs(s, rb_off, rb, a, b);
		if (ret)
			return ret;
	}
	return 0;
}

int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t val)
{
	uint64_t cur;
	int ret = qcow2_get_refcount(s, cluster, &cur);

	if (ret || cur == val)
		return ret;
	if (val > cur)
		return qcow2_update_refcount(s, cluster << s->cluster_bits, 1,
					     (int64_t)(val - cur));
	return qcow2_update_refcount(s, cluster << s->cluster_bits, 1,
				     -(int64_t)(cur - val));
}

/*
 * First run of n free clusters at or after the hint. Clusters past the end
 * of the file are not assumed free: a crash can leave refcounts there.
 */
static int find_free(struct qcow2 *s, uint64_t n, uint64_t *start,
		     uint64_t *first_free)
{
	uint64_t c = s->free_hint, run = 0, v, rb_off;
	uint64_t per = 1ull << s->rb_bits;
	int ret;

	*first_free = UINT64_MAX;
	while (run < n) {
		if (c << s->cluster_bits > QCOW2_OFFSET_MASK)
			return -EFBIG;
		ret = refblock_offset(s, c >> s->rb_bits, &rb_off);
		if (ret)
			return ret;
		if (!rb_off) {
			/* no refcount block: the whole range is free */
			uint64_t k = per - (c & (per - 1));

			if (*first_free == UINT64_MAX)
				*first_free = c;
			k = k < n - run ? k : n - run;
			run += k;
			c += k;
			continue;
		}
		ret = qcow2_get_refcount(s, c, &v);
		if (ret)
			return ret;
		c++;
		if (v) {
			run = 0;
			continue;
		}
		if (*first_free == UINT64_MAX)
			*first_free = c - 1;
		run++;
	}
	*start = c - run;
	return 0;
}

/* Number of ranges meeting clusters [c, c+len) without a refcount block. */
static int count_missing(struct qcow2 *s, uint64_t c, uint64_t len,
			 uint64_t *missing)
{
	uint64_t off;
	int ret;

	*missing = 0;
	for (uint64_t i = c >> s->rb_bits; i <= (c + len - 1) >> s->rb_bits; i++) {
		ret = refblock_offset(s, i, &off);
		if (ret)
			return ret;
		*missing += !off;
	}
	return 0;
}

/*
 * Gives every range meeting [c, c+len) a refcount block, the new blocks
 * going to clusters [at, at+k). A block's own refcount is raised before it
 * is linked into the table, so a crash can only leak it.
 */
static int add_refblocks(struct qcow2 *s, uint64_t c, uint64_t len,
			 uint64_t at, uint64_t k)
{
	uint64_t mask = (1ull << s->rb_bits) - 1, off, j = at;
	uint8_t *rb, be[8];
	int ret;

	for (uint64_t b = at; b < at + k; b++) {
		ret = refblock_offset(s, b >> s->rb_bits, &off);
		if (!ret && off)
			ret = qcow2_update_refcount(s, b << s->cluster_bits, 1, 1);
		if (ret)
			return ret;
	}
	for (uint64_t i = c >> s->rb_bits; i <= (c + len - 1) >> s->rb_bits; i++) {
		uint64_t pos;

		ret = refblock_offset(s, i, &off);
		if (ret)
			return ret;
		if (off)
			continue;
		if (j >= at + k)
			return -EIO;
		pos = j++ << s->cluster_bits;
		rb = qcow2_cache_get_new(s, &s->rb_cache, pos);
		for (uint64_t b = at; b < at + k; b++)
			if (b >> s->rb_bits == i)
				qcow2_refblock_set(s, rb, b & mask, 1);
		ret = block_fd_pwrite(s->fd, rb, s->cluster_size, pos);
		if (!ret && disk_reftable_entries(s, i)) {
			put_be64(be, pos);
			ret = block_fd_pwrite(s->fd, be, 8,
					      s->reftable_offset + i * 8);
		}
		if (ret) {
			qcow2_cache_drop(&s->rb_cache, pos);
			return ret;
		}
		s->reftable[i] = pos;
	}
	return 0;
}

/* Whether clusters [c, c+n) meet the bytes [off, off+len) of the file. */
static bool meets(const struct qcow2 *s, uint64_t c, uint64_t n, uint64_t off,
		  uint64_t len)
{
	return len && off >> s->cluster_bits < c + n &&
	       (off + len - 1) >> s->cluster_bits >= c;
}

/*
 * Refcounts that call a metadata cluster free are corrupt: writing there
 * would destroy the image. As qemu does, the image is marked corrupt (it
 * then opens read-only until "check -r all") and the write fails.
 */
static int check_overlap(struct qcow2 *s, uint64_t c, uint64_t n)
{
	uint64_t cs = s->cluster_size;
	bool bad = c == 0 ||
		   meets(s, c, n, s->l1_offset, (uint64_t)s->l1_size * 8) ||
		   meets(s, c, n, s->reftable_offset,
			 (uint64_t)s->reftable_clusters * cs) ||
		   meets(s, c, n, s->snapshots_offset, s->snapshots_size);

	for (uint32_t i = 0; i < s->l1_size && !bad; i++)
		bad = meets(s, c, n, s->l1[i] & QCOW2_OFFSET_MASK,
			    (s->l1[i] & QCOW2_OFFSET_MASK) ? cs : 0);
	for (uint64_t i = 0; i < s->reftable_entries && !bad; i++)
		bad = meets(s, c, n, s->reftable[i] & QCOW2_OFFSET_MASK,
			    (s->reftable[i] & QCOW2_OFFSET_MASK) ? cs : 0);
	for (uint32_t i = 0; i < s->nb_snapshots && !bad; i++)
		bad = meets(s, c, n, s->snaps[i].l1_offset,
			    (uint64_t)s->snaps[i].l1_size * 8);
	if (!bad)
		return 0;
	qcow2_update_incompat(s, s->incompat | QCOW2_INCOMPAT_CORRUPT);
	return -EIO;
}

int64_t qcow2_alloc_clusters(struct qcow2 *s, uint64_t n)
{
	uint64_t c, first_free, k = 0, need = 0, last;
	int ret;

	if (!n)
		return -EINVAL;
	/* n clusters for the caller, then k for missing refcount blocks */
	for (;;) {
		ret = find_free(s, n + k, &c, &first_free);
		if (ret)
			return ret;
		if ((c + n + k) << s->cluster_bits > QCOW2_OFFSET_MASK)
			return -EFBIG;
		last = (c + n + k - 1) >> s->rb_bits;
		if (last >= s->reftable_entries) {
			ret = grow_reftable(s, last + 1);
			if (ret)
				return ret;
			continue;
		}
		ret = count_missing(s, c, n + k, &need);
		if (ret)
			return ret;
		if (need <= k)
			break;
		k = need;
	}
	ret = check_overlap(s, c, n + k);
	if (ret)
		return ret;
	if (need) {
		ret = add_refblocks(s, c, n + k, c + n, need);
		if (ret)
			return ret;
	}
	ret = qcow2_update_refcount(s, c << s->cluster_bits,
				    n << s->cluster_bits, 1);
	if (ret)
		return ret;
	s->free_hint = first_free < c ? first_free : c + n + need;
	if ((c + n + need) << s->cluster_bits > s->file_end)
		s->file_end = (c + n + need) << s->cluster_bits;
	return (int64_t)(c << s->cluster_bits);
}

int64_t qcow2_alloc_bytes(struct qcow2 *s, uint64_t len)
{
	uint64_t room = s->cluster_size - (s->comp_next & (s->cluster_size - 1));
	int64_t off;
	int ret;

	if (s->comp_next && room < s->cluster_size && room >= len) {
		off = (int64_t)s->comp_next;
		ret = qcow2_update_refcount(s, (uint64_t)off, len, 1);
		if (!ret)
			goto out;
		/* narrow refcounts: a full cluster takes no more pieces */
		if (ret != -ERANGE)
			return ret;
	}
	off = qcow2_alloc_clusters(s, (len + s->cluster_size - 1) >>
					      s->cluster_bits);
	if (off < 0)
		return off;
out:
	s->comp_next = (uint64_t)off + len;
	return off;
}

void qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t len)
{
	/* a failure only leaks the clusters */
	qcow2_update_refcount(s, off, len, -1);
}

static int grow_reftable(struct qcow2 *s, uint64_t min_entries)
{
	uint64_t per = s->cluster_size / 8, n = s->reftable_entries * 2;
	uint64_t old_off = s->reftable_offset, clusters, need, *t;
	uint32_t old_clusters = s->reftable_clusters;
	uint8_t *buf, hdr[12];
	int64_t off;
	int ret;

	if (s->growing_reftable)
		return -EFBIG;
	if (n < min_entries)
		n = min_entries;
	for (;;) {
		clusters = (n + per - 1) / per;
		need = (((s->file_end >> s->cluster_bits) + clusters + 2) >>
			s->rb_bits) + 2;
		if (need <= n)
			break;
		n = need;
	}
	n = clusters * per;
	if (clusters * s->cluster_size > QCOW2_MAX_REFTABLE_BYTES)
		return -EFBIG;
	t = realloc(s->reftable, n * 8);
	if (!t)
		return -ENOMEM;
	memset(t + s->reftable_entries, 0, (n - s->reftable_entries) * 8);
	s->reftable = t;
	s->reftable_entries = n;
	s->growing_reftable = true;
	off = qcow2_alloc_clusters(s, clusters);
	s->growing_reftable = false;
	if (off < 0)
		return (int)off;
	buf = malloc(clusters * s->cluster_size);
	if (!buf) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (uint64_t i = 0; i < n; i++)
		put_be64(buf + i * 8, s->reftable[i]);
	ret = block_fd_pwrite(s->fd, buf, clusters * s->cluster_size,
			      (uint64_t)off);
	free(buf);
	if (ret)
		goto err_free;
	put_be64(hdr, (uint64_t)off);
	put_be32(hdr + 8, (uint32_t)clusters);
	ret = block_fd_pwrite(s->fd, hdr, 12, QCOW2_HDR_REFTABLE);
	if (ret)
		goto err_free;
	s->reftable_offset = (uint64_t)off;
	s->reftable_clusters = (uint32_t)clusters;
	qcow2_free_clusters(s, old_off, (uint64_t)old_clusters << s->cluster_bits);
	return 0;
err_free:
	qcow2_free_clusters(s, (uint64_t)off, clusters << s->cluster_bits);
	return ret;
}
