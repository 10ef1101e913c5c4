// SPDX-License-Identifier: MIT
/* qcow2 header: parsing with validation, extensions, and writing it back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2_int.h"

static const char *const incompat_names[] = {
	"dirty bit", "corrupt bit", "external data file", "compression type",
	"extended L2 entries",
};

static int parse_exts(struct qcow2 *s, const uint8_t *buf, uint64_t start,
		      uint64_t end, char *err, size_t errlen)
{
	uint64_t p = start;

	while (p + 8 <= end) {
		uint32_t type = get_be32(buf + p), len = get_be32(buf + p + 4);
		struct qcow2_ext *e;

		p += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - p) {
			snprintf(err, errlen,
				 "header extension 0x%08x overflows cluster 0",
				 type);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FMT) {
			free(s->backing_fmt);
			s->backing_fmt = strndup((const char *)buf + p, len);
			if (!s->backing_fmt)
				return -ENOMEM;
		} else {
			e = realloc(s->exts, (s->nb_exts + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			s->exts = e;
			e = &s->exts[s->nb_exts];
			e->type = type;
			e->len = len;
			e->data = malloc(len ? len : 1);
			if (!e->data)
				return -ENOMEM;
			memcpy(e->data, buf + p, len);
			s->nb_exts++;
		}
		p += qcow2_align_up(len, 8);
	}
	return 0;
}

/* Refuses unknown incompatible features, named by the image if it can. */
static int check_unknown(const struct qcow2 *s, char *err, size_t errlen)
{
	uint64_t unknown = s->incompat & ~QCOW2_INCOMPAT_KNOWN;
	int bit;

	if (!unknown)
		return 0;
	bit = __builtin_ctzll(unknown);
	for (unsigned i = 0; i < s->nb_exts; i++) {
		const struct qcow2_ext *e = &s->exts[i];

		if (e->type != QCOW2_EXT_FEATURES)
			continue;
		for (uint32_t k = 0; k + 48 <= e->len; k += 48) {
			if (e->data[k] != 0 || e->data[k + 1] != bit)
				continue;
			snprintf(err, errlen, "unsupported feature: %.46s",
				 (const char *)e->data + k + 2);
			return -ENOTSUP;
		}
	}
	snprintf(err, errlen, "unsupported incompatible features 0x%llx",
		 (unsigned long long)unknown);
	return -ENOTSUP;
}

static int check_table(const char *what, uint64_t off, uint64_t bytes,
		       const struct qcow2 *s, char *err, size_t errlen)
{
	if (off & (s->cluster_size - 1)) {
		snprintf(err, errlen, "%s offset 0x%llx is not cluster aligned",
			 what, (unsigned long long)off);
		return -EINVAL;
	}
	if (off > QCOW2_OFFSET_MASK || bytes > QCOW2_OFFSET_MASK - off) {
		snprintf(err, errlen, "%s at 0x%llx is out of range", what,
			 (unsigned long long)off);
		return -EINVAL;
	}
	return 0;
}

static int parse_v3_fields(struct qcow2 *s, const uint8_t *buf, size_t len,
			   char *err, size_t errlen)
{
	if (len < 104) {
		snprintf(err, errlen, "truncated qcow2 v3 header (%zu bytes)",
			 len);
		return -EINVAL;
	}
	s->incompat = get_be64(buf + 72);
	s->compat = get_be64(buf + 80);
	s->autoclear = get_be64(buf + 88);
	s->refcount_order = get_be32(buf + 96);
	s->header_len = get_be32(buf + 100);
	if (s->header_len < 104 || s->header_len > len ||
	    s->header_len > s->cluster_size) {
		snprintf(err, errlen, "invalid header length %u", s->header_len);
		return -EINVAL;
	}
	if (s->refcount_order > 6) {
		snprintf(err, errlen, "invalid refcount order %u (max 6)",
			 s->refcount_order);
		return -EINVAL;
	}
	for (int bit = 2; bit <= 4; bit += 2) {
		if (s->incompat & (1ull << bit)) {
			snprintf(err, errlen, "unsupported feature: %s",
				 incompat_names[bit]);
			return -ENOTSUP;
		}
	}
	if (s->header_len >= 105) {
		uint8_t t = buf[104];

		if (t > QCOW2_COMP_ZSTD) {
			snprintf(err, errlen, "unknown compression type %u", t);
			return -ENOTSUP;
		}
		if (!!t != !!(s->incompat & QCOW2_INCOMPAT_COMPRESSION)) {
			snprintf(err, errlen,
				 "compression type %u disagrees with the "
				 "compression-type feature bit", t);
			return -EINVAL;
		}
		s->compression = t;
	} else if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
		snprintf(err, errlen,
			 "compression-type feature set without the field");
		return -EINVAL;
	}
	return 0;
}

int qcow2_parse_header(struct qcow2 *s, const uint8_t *buf, size_t len,
		       uint64_t file_size, char *err, size_t errlen)
{
	uint64_t l2_cover, need_l1, ext_end;
	int ret;

	if (len < 4 || get_be32(buf) != QCOW2_MAGIC) {
		snprintf(err, errlen, "not a qcow2 image");
		return -EINVAL;
	}
	if (len < QCOW2_V2_HEADER_LEN) {
		snprintf(err, errlen, "truncated qcow2 header (%zu bytes)", len);
		return -EINVAL;
	}
	s->version = get_be32(buf + 4);
	if (s->version != 2 && s->version != 3) {
		snprintf(err, errlen, "unsupported qcow2 version %u", s->version);
		return -ENOTSUP;
	}
	s->backing_offset = get_be64(buf + 8);
	s->backing_size = get_be32(buf + 16);
	s->cluster_bits = get_be32(buf + 20);
	s->size = get_be64(buf + 24);
	s->crypt_method = get_be32(buf + 32);
	s->l1_size = get_be32(buf + 36);
	s->l1_offset = get_be64(buf + 40);
	s->reftable_offset = get_be64(buf + 48);
	s->reftable_clusters = get_be32(buf + 56);
	s->nb_snapshots = get_be32(buf + 60);
	s->snapshots_offset = get_be64(buf + 64);

	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		snprintf(err, errlen, "invalid cluster bits %u (9..21)",
			 s->cluster_bits);
		return -EINVAL;
	}
	s->cluster_size = 1ull << s->cluster_bits;
	s->l2_bits = s->cluster_bits - 3;
	if (s->version == 2) {
		s->refcount_order = 4;
		s->header_len = QCOW2_V2_HEADER_LEN;
	} else {
		ret = parse_v3_fields(s, buf, len, err, errlen);
		if (ret)
			return ret;
	}
	if (s->crypt_method > QCOW2_CRYPT_LUKS) {
		snprintf(err, errlen, "unknown encryption method %u",
			 s->crypt_method);
		return -ENOTSUP;
	}
	if (s->size > (1ull << 62)) {
		snprintf(err, errlen, "virtual size %llu is too large",
			 (unsigned long long)s->size);
		return -EFBIG;
	}
	l2_cover = s->cluster_size << s->l2_bits;
	need_l1 = (s->size + l2_cover - 1) / l2_cover;
	if (s->l1_size < need_l1 ||
	    (uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		snprintf(err, errlen, "invalid L1 table size %u", s->l1_size);
		return -EINVAL;
	}
	ret = check_table("L1 table", s->l1_offset, (uint64_t)s->l1_size * 8, s,
			  err, errlen);
	if (ret)
		return ret;
	if (!s->reftable_clusters ||
	    (uint64_t)s->reftable_clusters * s->cluster_size >
		    QCOW2_MAX_REFTABLE_BYTES) {
		snprintf(err, errlen, "invalid refcount table size %u clusters",
			 s->reftable_clusters);
		return -EINVAL;
	}
	ret = check_table("refcount table", s->reftable_offset,
			  (uint64_t)s->reftable_clusters * s->cluster_size, s,
			  err, errlen);
	if (ret)
		return ret;
	if (!s->reftable_offset || s->reftable_offset >= file_size) {
		snprintf(err, errlen, "refcount table offset 0x%llx is outside "
			 "the file", (unsigned long long)s->reftable_offset);
		return -EINVAL;
	}
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		snprintf(err, errlen, "too many snapshots (%u)", s->nb_snapshots);
		return -EINVAL;
	}
	ret = check_table("snapshot table", s->snapshots_offset, 0, s, err,
			  errlen);
	if (ret)
		return ret;

	ext_end = s->cluster_size < len ? s->cluster_size : len;
	if (s->backing_offset) {
		if (s->backing_size > QCOW2_MAX_BACKING_NAME ||
		    s->backing_offset > ext_end ||
		    s->backing_size > ext_end - s->backing_offset) {
			snprintf(err, errlen, "invalid backing file name at 0x%llx",
				 (unsigned long long)s->backing_offset);
			return -EINVAL;
		}
		s->backing_file = strndup((const char *)buf + s->backing_offset,
					  s->backing_size);
		if (!s->backing_file)
			return -ENOMEM;
		if (s->backing_offset < ext_end)
			ext_end = s->backing_offset;
	}
	ret = parse_exts(s, buf, s->version == 3 ? s->header_len :
						   QCOW2_V2_HEADER_LEN,
			 ext_end, err, errlen);
	if (ret)
		return ret;
	return check_unknown(s, err, errlen);
}

static size_t put_ext(uint8_t *p, uint32_t type, const void *data,
		      uint32_t len)
{
	put_be32(p, type);
	put_be32(p + 4, len);
	memcpy(p + 8, data, len);
	memset(p + 8 + len, 0, qcow2_align_up(len, 8) - len);
	return 8 + qcow2_align_up(len, 8);
}

/* Rewrites cluster 0 from the in-memory header. */
int qcow2_write_header(struct qcow2 *s)
{
	uint64_t cs = s->cluster_size;
	uint8_t *buf = calloc(1, cs);
	size_t p, need, blen;
	int ret;

	if (!buf)
		return -ENOMEM;
	put_be32(buf, QCOW2_MAGIC);
	put_be32(buf + 4, s->version);
	put_be32(buf + 20, s->cluster_bits);
	put_be64(buf + 24, s->size);
	put_be32(buf + 32, s->crypt_method);
	put_be32(buf + 36, s->l1_size);
	put_be64(buf + 40, s->l1_offset);
	put_be64(buf + 48, s->reftable_offset);
	put_be32(buf + 56, s->reftable_clusters);
	put_be32(buf + 60, s->nb_snapshots);
	put_be64(buf + 64, s->snapshots_offset);
	if (s->version == 3) {
		s->header_len = QCOW2_V3_HEADER_LEN;
		put_be64(buf + 72, s->incompat);
		put_be64(buf + 80, s->compat);
		put_be64(buf + 88, s->autoclear);
		put_be32(buf + 96, s->refcount_order);
		put_be32(buf + 100, s->header_len);
		buf[104] = (uint8_t)s->compression;
	}
	p = s->header_len;
	blen = s->backing_file ? strlen(s->backing_file) : 0;
	need = p + 8 + blen;
	if (s->backing_fmt)
		need += 8 + qcow2_align_up(strlen(s->backing_fmt), 8);
	for (unsigned i = 0; i < s->nb_exts; i++)
		need += 8 + qcow2_align_up(s->exts[i].len, 8);
	if (need > cs || blen > QCOW2_MAX_BACKING_NAME) {
		ret = -ENOSPC;
		goto out;
	}
	if (s->backing_fmt && s->version == 3)
		p += put_ext(buf + p, QCOW2_EXT_BACKING_FMT, s->backing_fmt,
			     (uint32_t)strlen(s->backing_fmt));
	for (unsigned i = 0; i < s->nb_exts; i++)
		p += put_ext(buf + p, s->exts[i].type, s->exts[i].data,
			     s->exts[i].len);
	p += 8; /* end-of-extensions marker */
	if (blen) {
		s->backing_offset = p;
		s->backing_size = (uint32_t)blen;
		memcpy(buf + p, s->backing_file, blen);
	} else {
		s->backing_offset = 0;
		s->backing_size = 0;
	}
	put_be64(buf + 8, s->backing_offset);
	put_be32(buf + 16, s->backing_size);
	ret = block_fd_pwrite(s->fd, buf, cs, 0);
out:
	free(buf);
	return ret;
}

int qcow2_update_incompat(struct qcow2 *s, uint64_t incompat)
{
	uint8_t b[8];
	int ret;

	if (s->version < 3)
		return 0;
	put_be64(b, incompat);
	ret = block_fd_pwrite(s->fd, b, 8, QCOW2_HDR_INCOMPAT);
	if (!ret)
		s->incompat = incompat;
	return ret;
}
