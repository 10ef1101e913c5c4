// SPDX-License-Identifier: MIT
/*
 * qcow2 image creation: header, a one-cluster refcount table and one
 * refcount block are written by hand; the L1 table and any preallocated
 * metadata are then made through the driver's own allocator.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2_int.h"

struct feature {
	uint8_t type, bit;
	const char *name;
};

static const struct feature features[] = {
	{ 0, 0, "dirty bit" },        { 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" }, { 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" }, { 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },          { 2, 1, "raw external data" },
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

static int add_feature_table(struct qcow2 *s)
{
	uint8_t *d = calloc(NFEATURES, 48);

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < NFEATURES; i++) {
		d[i * 48] = features[i].type;
		d[i * 48 + 1] = features[i].bit;
		memcpy(d + i * 48 + 2, features[i].name,
		       strlen(features[i].name));
	}
	s->exts = calloc(1, sizeof(*s->exts));
	if (!s->exts) {
		free(d);
		return -ENOMEM;
	}
	s->exts[0] = (struct qcow2_ext){ QCOW2_EXT_FEATURES, NFEATURES * 48, d };
	s->nb_exts = 1;
	return 0;
}

static int check_opts(const struct qcow2_create_opts *o, unsigned cs,
		      unsigned rb, int version, char *err, size_t errlen)
{
	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1))) {
		snprintf(err, errlen, "invalid cluster_size %u: must be a power "
			 "of two between 512 and 2M", cs);
		return -EINVAL;
	}
	if (!rb || rb > 64 || (rb & (rb - 1))) {
		snprintf(err, errlen, "invalid refcount_bits %u", rb);
		return -EINVAL;
	}
	if (version != 2 && version != 3) {
		snprintf(err, errlen, "invalid compat level %d", version);
		return -EINVAL;
	}
	if (version == 2 && (rb != 16 || o->lazy_refcounts ||
			     o->compression != QCOW2_COMP_ZLIB)) {
		snprintf(err, errlen, "compat=0.10 supports neither lazy refcounts, "
			 "zstd nor refcount_bits other than 16");
		return -EINVAL;
	}
	if (o->encrypt && o->prealloc_metadata) {
		snprintf(err, errlen, "preallocation=metadata cannot be "
			 "combined with encryption");
		return -EINVAL;
	}
	if (o->encrypt && !o->key) {
		snprintf(err, errlen, "encrypt.format=luks needs "
			 "encrypt.key-secret (and --object secret,id=...)");
		return -EINVAL;
	}
	if (o->backing_file && o->prealloc_metadata) {
		snprintf(err, errlen, "a backing file and preallocation=metadata "
			 "cannot be combined: allocated clusters would hide "
			 "the backing file");
		return -EINVAL;
	}
	if (o->size > (1ull << 62) ||
	    (o->size + ((uint64_t)cs * cs / 8) - 1) / ((uint64_t)cs * cs / 8) * 8 >
		    QCOW2_MAX_L1_BYTES) {
		snprintf(err, errlen, "image size %llu is too large for "
			 "cluster_size %u (try a larger cluster size)",
			 (unsigned long long)o->size, cs);
		return -EFBIG;
	}
	return 0;
}

static int write_skeleton(int fd, const struct qcow2_create_opts *o,
			  unsigned cs, unsigned rb, int version)
{
	struct qcow2 s = { .fd = fd };
	uint8_t *buf = calloc(1, cs);
	int ret = -ENOMEM;

	if (!buf)
		return -ENOMEM;
	s.version = (uint32_t)version;
	s.cluster_bits = (unsigned)__builtin_ctz(cs);
	s.cluster_size = cs;
	s.reftable_offset = cs;
	s.reftable_clusters = 1;
	s.refcount_order = (unsigned)__builtin_ctz(rb);
	s.refcount_bits = rb;
	s.header_len = version == 3 ? QCOW2_V3_HEADER_LEN : QCOW2_V2_HEADER_LEN;
	s.compression = o->compression;
	if (o->compression != QCOW2_COMP_ZLIB)
		s.incompat |= QCOW2_INCOMPAT_COMPRESSION;
	if (o->lazy_refcounts)
		s.compat |= QCOW2_COMPAT_LAZY;
	s.backing_file = (char *)o->backing_file;
	s.backing_fmt = (char *)o->backing_fmt;
	if (version == 3 && cs >= 4096 && add_feature_table(&s))
		goto out;
	ret = qcow2_write_header(&s);
	if (ret)
		goto out;
	put_be64(buf, 2ull * cs);
	ret = block_fd_pwrite(fd, buf, cs, cs);
	if (ret)
		goto out;
	memset(buf, 0, cs);
	for (int i = 0; i < 3; i++)
		qcow2_refblock_set(&s, buf, (uint64_t)i, 1);
	ret = block_fd_pwrite(fd, buf, cs, 2ull * cs);
out:
	for (unsigned i = 0; i < s.nb_exts; i++)
		free(s.exts[i].data);
	free(s.exts);
	free(buf);
	return ret;
}

static int preallocate(struct block_dev *dev)
{
	struct qcow2 *s = dev->opaque;
	uint64_t cs = s->cluster_size;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (uint64_t off = 0; off < s->size && !ret; off += cs) {
		int64_t host = qcow2_alloc_clusters(s, 1);

		if (host < 0) {
			ret = (int)host;
			break;
		}
		ret = qcow2_set_l2_entry(s, off, (uint64_t)host |
						       QCOW2_OFLAG_COPIED);
	}
	if (!ret && ftruncate(s->fd, (off_t)s->file_end) < 0)
		ret = -errno;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_create(const char *path, const struct qcow2_create_opts *o,
		 char *err, size_t errlen)
{
	unsigned cs = o->cluster_size ? o->cluster_size : 65536;
	unsigned rb = o->refcount_bits ? o->refcount_bits : 16;
	int version = o->version ? o->version : 3;
	struct block_dev *dev;
	int fd, ret;

	ret = check_opts(o, cs, rb, version, err, errlen);
	if (ret)
		return ret;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "could not create '%s': %s", path,
			 strerror(errno));
		return ret;
	}
	ret = write_skeleton(fd, o, cs, rb, version);
	close(fd);
	if (ret) {
		snprintf(err, errlen, "writing '%s': %s", path, strerror(-ret));
		return ret;
	}
	ret = block_open(path, "qcow2", BLOCK_NO_BACKING, &dev, err, errlen);
	if (ret)
		return ret;
	/* qemu-img only makes whole-sector disks: round up as it does */
	ret = qcow2_set_size(dev->opaque, qcow2_align_up(o->size, 512));
	if (!ret && o->encrypt) {
		pthread_mutex_lock(&((struct qcow2 *)dev->opaque)->lock);
		ret = qcow2_crypt_create(dev->opaque, o, err, errlen);
		pthread_mutex_unlock(&((struct qcow2 *)dev->opaque)->lock);
		if (ret) {
			block_close(dev);
			return ret;
		}
	}
	if (!ret && o->prealloc_metadata)
		ret = preallocate(dev);
	if (!ret)
		ret = block_flush(dev);
	if (ret)
		block_close(dev);
	else
		ret = block_close(dev);
	if (ret)
		snprintf(err, errlen, "creating '%s': %s", path, strerror(-ret));
	return ret;
}
