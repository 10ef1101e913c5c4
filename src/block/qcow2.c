// SPDX-License-Identifier: MIT
/* qcow2 driver: open/close and the block_driver operations. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2_int.h"

static _Thread_local int chain_depth;

int qcow2_chain_depth(void)
{
	return chain_depth;
}

static struct qcow2 *qcow2_of(struct block_dev *dev)
{
	return dev->opaque;
}

bool qcow2_is(struct block_dev *dev)
{
	return dev->drv == &block_qcow2_driver;
}

/* 0, or closing the file failed (-errno): the backing file is read-only */
static int qcow2_free(struct qcow2 *s)
{
	int ret;

	block_close(s->backing);
	qcow2_crypt_close(s);
	qcow2_free_snapshots(s);
	qcow2_cache_destroy(&s->l2_cache);
	qcow2_cache_destroy(&s->rb_cache);
	for (unsigned i = 0; i < s->nb_exts; i++)
		free(s->exts[i].data);
	free(s->exts);
	free(s->backing_file);
	free(s->backing_fmt);
	free(s->l1);
	free(s->reftable);
	pthread_mutex_destroy(&s->lock);
	ret = close(s->fd) < 0 ? -errno : 0;
	free(s);
	return ret;
}

static int open_backing(struct block_dev *dev, struct qcow2 *s, char *err,
			size_t errlen)
{
	char path[PATH_MAX], *dir;
	int ret;

	/* "base" next to "top", not "./base": qemu-img names files so */
	if (s->backing_file[0] == '/' || !strchr(dev->path, '/')) {
		snprintf(path, sizeof(path), "%s", s->backing_file);
	} else {
		dir = strdup(dev->path);
		if (!dir)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/%s", dirname(dir),
			 s->backing_file);
		free(dir);
	}
	if (chain_depth >= BLOCK_MAX_CHAIN) {
		snprintf(err, errlen, "backing chain of '%s' is too long",
			 dev->path);
		return -ELOOP;
	}
	chain_depth++;
	ret = block_open_opts(path, s->backing_fmt,
			      BLOCK_RDONLY | (dev->flags & BLOCK_NO_IO),
			      dev->backing_opts, &s->backing, err, errlen);
	chain_depth--;
	return ret;
}

static int load_l1(struct qcow2 *s)
{
	uint64_t bytes = (uint64_t)s->l1_size * 8;
	uint8_t *raw;
	int ret;

	s->l1 = calloc(1, bytes ? bytes : 8);
	raw = malloc(bytes ? bytes : 8);
	if (!s->l1 || !raw) {
		free(raw);
		return -ENOMEM;
	}
	ret = block_fd_pread(s->fd, raw, bytes, s->l1_offset);
	for (uint64_t i = 0; !ret && i < s->l1_size; i++)
		s->l1[i] = get_be64(raw + i * 8);
	free(raw);
	return ret;
}

static int open_fixups(struct block_dev *dev, struct qcow2 *s, char *err,
		       size_t errlen)
{
	struct block_check_result r;
	uint8_t b[8];
	int ret;

	if (s->readonly)
		return 0;
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) &&
	    !(dev->flags & BLOCK_REPAIR)) {
		snprintf(err, errlen, "'%s' is marked corrupt; run 'cvisor img "
			 "check -r all' or open it read-only", dev->path);
		return -EIO;
	}
	if (s->autoclear) {
		/* features we do not maintain become invalid once we write */
		put_be64(b, 0);
		ret = block_fd_pwrite(s->fd, b, 8, 88);
		if (ret)
			return ret;
		s->autoclear = 0;
	}
	if ((s->incompat & QCOW2_INCOMPAT_DIRTY) && !(dev->flags & BLOCK_REPAIR)) {
		ret = qcow2_check(dev, BLOCK_FIX_LEAKS | BLOCK_FIX_ERRORS, &r,
				  NULL, NULL);
		if (ret < 0) {
			snprintf(err, errlen, "repairing dirty image '%s': %s",
				 dev->path, strerror(-ret));
			return ret;
		}
		return qcow2_update_incompat(s, s->incompat &
						       ~QCOW2_INCOMPAT_DIRTY);
	}
	return 0;
}

static size_t header_bytes(int fd, uint64_t file_size)
{
	uint8_t b[4];
	uint64_t len = 2u << 20;

	/* cluster_bits is checked by the parser; here it only bounds a read */
	if (pread(fd, b, 4, 20) == 4 && get_be32(b) >= QCOW2_MIN_CLUSTER_BITS &&
	    get_be32(b) <= QCOW2_MAX_CLUSTER_BITS)
		len = 1ull << get_be32(b);
	return (size_t)(file_size < len ? file_size : len);
}

static int qcow2_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	struct qcow2 *s = calloc(1, sizeof(*s));
	struct stat st;
	uint8_t *hdr = NULL;
	size_t len;
	int ret = -ENOMEM, fl = fcntl(fd, F_GETFL);

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	/* metadata I/O is small and unaligned: qcow2 goes through the cache */
	if (fl >= 0 && (fl & O_DIRECT))
		fcntl(fd, F_SETFL, fl & ~O_DIRECT);
	s->fd = fd;
	pthread_mutex_init(&s->lock, NULL);
	s->readonly = dev->flags & BLOCK_RDONLY;
	dev->opaque = s;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto err;
	}
	/* cluster 0 holds the header, its extensions and the backing name */
	len = header_bytes(fd, (uint64_t)st.st_size);
	hdr = malloc(len ? len : 1);
	if (!hdr)
		goto err;
	ret = block_fd_pread(fd, hdr, len, 0);
	if (!ret)
		ret = qcow2_parse_header(s, hdr, len, (uint64_t)st.st_size, err,
					 errlen);
	free(hdr);
	if (ret)
		goto err_msg;
	ret = qcow2_load_reftable(s, err, errlen);
	if (!ret)
		ret = load_l1(s);
	if (!ret)
		ret = qcow2_cache_init(&s->l2_cache, 16, s->cluster_size);
	if (!ret)
		ret = qcow2_cache_init(&s->rb_cache, 8, s->cluster_size);
	if (!ret)
		ret = qcow2_read_snapshots(s, err, errlen);
	if (!ret)
		ret = qcow2_crypt_open(dev, s, err, errlen);
	if (ret)
		goto err_msg;
	dev->length = s->size;
	if (s->backing_file && !(dev->flags & BLOCK_NO_BACKING)) {
		ret = open_backing(dev, s, err, errlen);
		if (ret)
			goto err;
	}
	ret = open_fixups(dev, s, err, errlen);
	if (ret)
		goto err_msg;
	return 0;
err_msg:
	if (!err[0])
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(-ret));
err:
	qcow2_free(s);
	return ret;
}

static int qcow2_close(struct block_dev *dev)
{
	/* like raw: closing is not a flush; callers flush when they need it */
	return qcow2_free(qcow2_of(dev));
}

static int qcow2_pread(struct block_dev *dev, void *buf, size_t len,
		       uint64_t off)
{
	struct qcow2 *s = qcow2_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_crypt_rw(s, buf, NULL, len, off);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int qcow2_pwrite(struct block_dev *dev, const void *buf, size_t len,
			uint64_t off)
{
	struct qcow2 *s = qcow2_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_crypt_rw(s, NULL, buf, len, off);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int qcow2_flush(struct block_dev *dev)
{
	return fdatasync(qcow2_of(dev)->fd) < 0 ? -errno : 0;
}

static int qcow2_zero(struct block_dev *dev, uint64_t off, uint64_t len,
		      bool unmap)
{
	struct qcow2 *s = qcow2_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_zero_range(s, off, len, unmap);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int qcow2_discard(struct block_dev *dev, uint64_t off, uint64_t len)
{
	return qcow2_zero(dev, off, len, true);
}

static int qcow2_write_zeroes(struct block_dev *dev, uint64_t off,
			      uint64_t len)
{
	return qcow2_zero(dev, off, len, false);
}

static int write_size(struct qcow2 *s, uint64_t size)
{
	uint8_t b[8];

	put_be64(b, size);
	return block_fd_pwrite(s->fd, b, 8, QCOW2_HDR_SIZE);
}

/*
 * Drops the clusters past size: the L2 table that holds the cut is edited,
 * L2 tables wholly past it leave the L1 table (their own references drop,
 * so clusters shared with snapshots stay theirs).
 */
static int shrink(struct qcow2 *s, uint64_t size)
{
	uint64_t span = s->cluster_size << s->l2_bits, e;
	uint64_t cut = qcow2_align_up(size, s->cluster_size);
	uint64_t keep = (cut + span - 1) / span, end = keep * span;
	int ret = 0;

	if (end > s->size)
		end = s->size;
	if (cut < end)
		ret = qcow2_zero_range(s, cut, end - cut, true);
	for (uint64_t i = keep; !ret && i < s->l1_size; i++) {
		e = s->l1[i];
		if (!(e & QCOW2_OFFSET_MASK))
			continue;
		s->l1[i] = 0;
		ret = qcow2_write_l1_entries(s, s->l1_offset, s->l1, i, 1);
		if (ret) {
			s->l1[i] = e;
			break;
		}
		ret = qcow2_l1_refcounts(s, &e, 1, -1);
	}
	return ret;
}

int qcow2_set_size(struct qcow2 *s, uint64_t size)
{
	uint64_t span = s->cluster_size << s->l2_bits;
	int ret = qcow2_grow_l1(s, (size + span - 1) / span);

	if (!ret)
		ret = write_size(s, size);
	if (!ret)
		s->size = size;
	return ret;
}

/*
 * Growing an overlay must not uncover what its backing file holds past the
 * old end: that range becomes zero clusters, as qemu-img does it.
 */
static int grow(struct qcow2 *s, uint64_t size)
{
	uint64_t span = s->cluster_size << s->l2_bits, blen, old = s->size;
	int ret;

	if (s->backing_file && !s->backing)
		return -ENOTSUP; /* opened without its chain: cannot tell */
	ret = qcow2_grow_l1(s, (size + span - 1) / span);
	blen = s->backing ? qcow2_align_up(s->backing->length, s->cluster_size) :
			    0;
	if (ret || blen <= old)
		return ret ? ret : qcow2_set_size(s, size);
	/* zeroed before the header grows: a crash leaves the old size */
	s->size = size;
	ret = qcow2_zero_range(s, old, (blen < size ? blen : size) - old, false);
	s->size = old;
	return ret ? ret : qcow2_set_size(s, size);
}

static int qcow2_truncate(struct block_dev *dev, uint64_t size)
{
	struct qcow2 *s = qcow2_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = -ENOTSUP;
	if (s->nb_snapshots && s->version < 3)
		goto out; /* v2 snapshots do not record their disk size */
	ret = size < s->size ? shrink(s, size) : grow(s, size);
	if (!ret && size < s->size)
		ret = qcow2_set_size(s, size);
	if (!ret)
		dev->length = size;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int qcow2_block_status(struct block_dev *dev, uint64_t off,
			      uint64_t len, uint64_t *pnum, uint64_t *host_off)
{
	struct qcow2 *s = qcow2_of(dev);
	uint64_t cs = s->cluster_size, done = 0, e, first_host = 0;
	enum qcow2_ctype t0 = QCOW2_UNALLOCATED;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	while (done < len) {
		uint64_t pos = off + done, in = pos & (cs - 1);
		uint64_t n = len - done < cs - in ? len - done : cs - in;
		enum qcow2_ctype t;

		ret = qcow2_get_entry(s, pos, &e);
		if (ret)
			goto out;
		t = qcow2_entry_type(s, e);
		if (!done) {
			t0 = t;
			first_host = (e & QCOW2_OFFSET_MASK) + in;
		} else if (t != t0 || t == QCOW2_COMPRESSED ||
			   (t == QCOW2_NORMAL &&
			    (e & QCOW2_OFFSET_MASK) + in != first_host + done)) {
			break;
		}
		done += n;
	}
	*pnum = done;
	*host_off = first_host;
	switch (t0) {
	case QCOW2_UNALLOCATED:
		ret = s->backing ? BLOCK_STATUS_DATA : BLOCK_STATUS_ZERO;
		break;
	case QCOW2_ZERO_PLAIN:
		ret = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
		break;
	case QCOW2_ZERO_ALLOC:
		ret = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED |
		      BLOCK_STATUS_OFFSET;
		break;
	case QCOW2_NORMAL:
		ret = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED |
		      BLOCK_STATUS_OFFSET;
		/* a hole in an encrypted image decrypts to noise, not 0 */
		if (!s->crypt_method && qcow2_host_hole(s, first_host, pnum))
			ret |= BLOCK_STATUS_ZERO;
		break;
	case QCOW2_COMPRESSED:
		ret = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED |
		      BLOCK_STATUS_COMPRESSED;
		break;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static uint64_t qcow2_allocated_size(struct block_dev *dev)
{
	struct stat st;

	if (fstat(qcow2_of(dev)->fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

void qcow2_get_info(struct block_dev *dev, struct qcow2_info *info)
{
	struct qcow2 *s = qcow2_of(dev);

	info->version = (int)s->version;
	info->cluster_size = s->cluster_size;
	info->refcount_bits = s->refcount_bits;
	info->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY;
	info->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
	info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
	info->compression = s->compression;
	info->backing_file = s->backing_file;
	info->backing_fmt = s->backing_fmt;
	info->nb_snapshots = s->nb_snapshots;
	info->crypt_method = s->crypt_method;
	info->luks = s->luks;
	info->luks_offset = s->crypt_off;
}

struct block_dev *qcow2_backing(struct block_dev *dev)
{
	return qcow2_of(dev)->backing;
}

uint64_t qcow2_cluster_size(struct block_dev *dev)
{
	return qcow2_of(dev)->cluster_size;
}

int qcow2_write_compressed(struct block_dev *dev, const void *buf,
			   uint64_t off)
{
	struct qcow2 *s = qcow2_of(dev);
	uint64_t cs = s->cluster_size, nsec, e;
	unsigned x = 62 - (s->cluster_bits - 8);
	uint8_t *out = malloc(cs);
	int64_t host;
	long clen;
	int ret;

	if (!out)
		return -ENOMEM;
	if (off & (cs - 1) || off >= s->size) {
		ret = -EINVAL;
		goto out;
	}
	/*
	 * Outside the lock: callers may compress on several threads. An
	 * encrypted image stores it plainly (QEMU neither compresses them).
	 */
	clen = s->crypt_method ? -ENOSPC :
		qcow2_compress(s->compression, buf, cs, out, cs - 512);
	pthread_mutex_lock(&s->lock);
	if (clen < 0) {
		ret = qcow2_crypt_rw(s, NULL, buf, cs < s->size - off ? cs :
					 s->size - off, off);
		goto unlock;
	}
	host = qcow2_alloc_bytes(s, (uint64_t)clen);
	if (host < 0) {
		ret = (int)host;
		goto unlock;
	}
	ret = block_fd_pwrite(s->fd, out, (size_t)clen, (uint64_t)host);
	if (ret)
		goto err_free;
	nsec = (((uint64_t)host + (uint64_t)clen - 1) >> 9) -
	       ((uint64_t)host >> 9);
	e = QCOW2_OFLAG_COMPRESSED | (nsec << x) | (uint64_t)host;
	ret = qcow2_set_l2_entry(s, off, e);
	if (!ret)
		goto unlock;
err_free:
	qcow2_free_clusters(s, (uint64_t)host, (uint64_t)clen);
unlock:
	pthread_mutex_unlock(&s->lock);
out:
	free(out);
	return ret;
}

int qcow2_make_empty(struct block_dev *dev)
{
	struct qcow2 *s = qcow2_of(dev);
	uint64_t e;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (uint64_t off = 0; off < s->size && !ret; off += s->cluster_size) {
		ret = qcow2_get_entry(s, off, &e);
		if (!ret && e)
			ret = qcow2_set_l2_entry(s, off, 0);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_set_backing(struct block_dev *dev, const char *file,
		      const char *fmt)
{
	struct qcow2 *s = qcow2_of(dev);
	char *nf = file ? strdup(file) : NULL, *nfmt = fmt ? strdup(fmt) : NULL;
	char *of = s->backing_file, *ofmt = s->backing_fmt;
	int ret;

	if ((file && !nf) || (fmt && !nfmt)) {
		free(nf);
		free(nfmt);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	s->backing_file = nf;
	s->backing_fmt = nf ? nfmt : NULL;
	ret = qcow2_write_header(s);
	if (ret) {
		s->backing_file = of;
		s->backing_fmt = ofmt;
		of = nf;
		ofmt = nfmt;
	} else if (!nf) {
		free(nfmt);
	}
	pthread_mutex_unlock(&s->lock);
	free(of);
	free(ofmt);
	return ret;
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "QFI\xfb", 4);
}

const struct block_driver block_qcow2_driver = {
	.name = "qcow2",
	.open = qcow2_open,
	.close = qcow2_close,
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.truncate = qcow2_truncate,
	.block_status = qcow2_block_status,
	.allocated_size = qcow2_allocated_size,
	.probe = qcow2_probe,
	.cluster_size = qcow2_cluster_size,
	.check = qcow2_check,
};
