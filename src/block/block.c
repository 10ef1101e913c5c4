// SPDX-License-Identifier: MIT
/* Driver lookup, probing and the checked entry points of the block layer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/iscsi_url.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Probed in this order; raw, which claims nothing, is the fallback. */
static const struct block_driver *const drivers[] = {
	&block_raw_driver,
	&block_qcow2_driver,
	&block_iscsi_driver,
	&block_vmdk_driver,
	&block_vdi_driver,
	&block_vpc_driver,
	&block_vhdx_driver,
};

int block_fd_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int block_fd_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int block_fd_extent(int fd, uint64_t off, uint64_t len, uint64_t *pnum)
{
	off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

	*pnum = len;
	if (data < 0)
		return errno == ENXIO; /* a hole up to the end, or no answer */
	if ((uint64_t)data > off) {
		if ((uint64_t)data - off < len)
			*pnum = (uint64_t)data - off;
		return 1;
	}
	hole = lseek(fd, (off_t)off, SEEK_HOLE);
	if (hole > (off_t)off && (uint64_t)hole - off < len)
		*pnum = (uint64_t)hole - off;
	return 0;
}

int block_fd_data_status(int fd, uint64_t host_off, uint64_t *pnum)
{
	if (block_fd_extent(fd, host_off, *pnum, pnum))
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ZERO |
		       BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
}

int block_fd_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		int ret = block_fd_pwrite(fd, zero, n, off);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

uint64_t block_fd_allocated(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

int block_map_run(int (*lookup)(void *opaque, uint64_t blk, uint64_t *host),
		  void *opaque, uint64_t bs, uint64_t off, uint64_t len,
		  uint64_t *pnum, uint64_t *host_off)
{
	uint64_t host = 0, next_host = 0, done = bs - off % bs;
	int mapped = lookup(opaque, off / bs, &host), m;

	while (mapped >= 0 && done < len) {
		m = lookup(opaque, (off + done) / bs, &next_host);
		if (m != mapped || (m && next_host != host + off % bs + done))
			break;
		done += bs;
	}
	if (mapped < 0)
		return mapped;
	*pnum = done < len ? done : len;
	if (mapped)
		*host_off = host + off % bs;
	return mapped;
}

const char *block_probe_buf(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; len && i < ARRAY_LEN(drivers); i++)
		if (drivers[i]->probe && drivers[i]->probe(buf, len))
			return drivers[i]->name;
	return NULL;
}

const char *block_probe(int fd)
{
	const char *fmt = NULL;
	uint8_t *buf;
	ssize_t n;

	/* a whole aligned block, so the probe also works with O_DIRECT */
	if (posix_memalign((void **)&buf, 4096, 4096))
		return "raw";
	n = pread(fd, buf, 4096, 0);
	if (n > 0)
		fmt = block_probe_buf(buf, (size_t)n);
	free(buf);
	return fmt ? fmt : "raw";
}

const struct block_driver *block_driver_at(size_t i)
{
	return i < ARRAY_LEN(drivers) ? drivers[i] : NULL;
}

const char *block_opt_get(struct block_opts *o, const char *key)
{
	const char *val = NULL;

	/* the last one wins, as in qemu-img */
	for (size_t i = 0; i < o->n; i++) {
		if (!strcmp(o->v[i].key, key)) {
			o->v[i].used = true;
			val = o->v[i].val;
		}
	}
	return val;
}

const char *block_opt_unused(const struct block_opts *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (!o->v[i].used)
			return o->v[i].key;
	return NULL;
}

const struct block_driver *block_find_driver(const char *fmt)
{
	for (size_t i = 0; i < ARRAY_LEN(drivers); i++)
		if (!strcmp(drivers[i]->name, fmt))
			return drivers[i];
	return NULL;
}

const struct block_driver *block_url_driver(const char *path)
{
	const char *colon = strstr(path, "://");

	if (!colon)
		return NULL;
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->scheme &&
		    strlen(drivers[i]->scheme) == (size_t)(colon - path) &&
		    !strncmp(drivers[i]->scheme, path, (size_t)(colon - path)))
			return drivers[i];
	return NULL;
}

void block_redact(const char *path, char *out, size_t outlen)
{
	iscsi_url_redact(path, out, outlen);
}

/* A URL: the protocol driver is the raw image of the disk it names. */
static int open_url(const struct block_driver *drv, const char *url,
		    const char *fmt, int flags, const struct block_open_opts *o,
		    struct block_dev **out, char *err, size_t errlen)
{
	char name[ISCSI_URL_MAX + 1];
	struct block_dev *dev;
	int ret;

	block_redact(url, name, sizeof(name));
	if (fmt && strcmp(fmt, "raw") && strcmp(fmt, drv->name)) {
		snprintf(err, errlen, "'%s': format %s on %s is not supported, "
			 "only raw", name, fmt, drv->name);
		return -ENOTSUP;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev || !(dev->path = strdup(name))) {
		free(dev);
		snprintf(err, errlen, "out of memory opening '%s'", name);
		return -ENOMEM;
	}
	dev->drv = drv;
	dev->flags = flags;
	ret = drv->open_url(dev, url, o, err, errlen);
	if (ret < 0) {
		free(dev->path);
		free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

int block_open(const char *path, const char *fmt, int flags,
	       struct block_dev **out, char *err, size_t errlen)
{
	return block_open_opts(path, fmt, flags, NULL, out, err, errlen);
}

int block_open_opts(const char *path, const char *fmt, int flags,
		    const struct block_open_opts *o, struct block_dev **out,
		    char *err, size_t errlen)
{
	const struct block_driver *drv;
	struct block_dev *dev;
	int oflags = (flags & BLOCK_RDONLY) ? O_RDONLY : O_RDWR;
	int fd, ret;

	if (errlen)
		err[0] = 0;
	drv = block_url_driver(path);
	if (drv)
		return open_url(drv, path, fmt, flags, o, out, err, errlen);
	if (flags & BLOCK_DIRECT)
		oflags |= O_DIRECT;
	fd = open(path, oflags | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "could not open '%s': %s", path,
			 strerror(errno));
		return ret;
	}
	if (!fmt)
		fmt = block_probe(fd);
	drv = block_find_driver(fmt);
	if (!drv || !drv->open) {
		snprintf(err, errlen, "unknown image format '%s'", fmt);
		ret = -EINVAL;
		goto err_close;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		ret = -ENOMEM;
		goto err_close;
	}
	dev->path = strdup(path);
	if (!dev->path) {
		ret = -ENOMEM;
		goto err_free;
	}
	dev->drv = drv;
	dev->flags = flags;
	dev->key = o ? o->key : NULL;
	dev->key_len = o ? o->key_len : 0;
	dev->backing_opts = o ? o->backing : NULL;
	dev->level = o ? o->level : 0;
	ret = drv->open(dev, fd, err, errlen);
	dev->key = NULL;
	dev->key_len = 0;
	dev->backing_opts = NULL;
	dev->level = 0;
	if (ret < 0)
		goto err_path;
	*out = dev;
	return 0;

err_path:
	free(dev->path);
err_free:
	free(dev);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory opening '%s'", path);
	return ret; /* the driver closed fd */
err_close:
	close(fd);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory opening '%s'", path);
	return ret;
}

int block_close(struct block_dev *dev)
{
	int ret;

	if (!dev)
		return 0;
	ret = dev->drv->close(dev);
	free(dev->path);
	free(dev);
	return ret;
}

static int check_range(struct block_dev *dev, uint64_t off, uint64_t len)
{
	if (off > dev->length || len > dev->length - off)
		return -EINVAL;
	return 0;
}

int block_pread(struct block_dev *dev, void *buf, size_t len, uint64_t off)
{
	int ret = check_range(dev, off, len);

	return ret ? ret : dev->drv->pread(dev, buf, len, off);
}

int block_pwrite(struct block_dev *dev, const void *buf, size_t len,
		 uint64_t off)
{
	int ret = check_range(dev, off, len);

	if (ret)
		return ret;
	if (dev->flags & BLOCK_RDONLY)
		return -EROFS;
	return dev->drv->pwrite(dev, buf, len, off);
}

static int block_rwv(struct block_dev *dev, const struct iovec *iov, int n,
		     uint64_t off, bool write)
{
	uint64_t len = 0;
	int ret;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	ret = check_range(dev, off, len);
	if (ret)
		return ret;
	if (write && (dev->flags & BLOCK_RDONLY))
		return -EROFS;
	if (write && dev->drv->pwritev)
		return dev->drv->pwritev(dev, iov, n, off);
	if (!write && dev->drv->preadv)
		return dev->drv->preadv(dev, iov, n, off);
	for (int i = 0; i < n && !ret; i++) {
		ret = write ? dev->drv->pwrite(dev, iov[i].iov_base,
					       iov[i].iov_len, off) :
			      dev->drv->pread(dev, iov[i].iov_base,
					      iov[i].iov_len, off);
		off += iov[i].iov_len;
	}
	return ret;
}

int block_preadv(struct block_dev *dev, const struct iovec *iov, int n,
		 uint64_t off)
{
	return block_rwv(dev, iov, n, off, false);
}

int block_pwritev(struct block_dev *dev, const struct iovec *iov, int n,
		  uint64_t off)
{
	return block_rwv(dev, iov, n, off, true);
}

int block_flush(struct block_dev *dev)
{
	if (!dev->drv->flush)
		return 0;
	return dev->drv->flush(dev);
}

int block_discard(struct block_dev *dev, uint64_t off, uint64_t len)
{
	int ret = check_range(dev, off, len);

	if (ret)
		return ret;
	if (dev->flags & BLOCK_RDONLY)
		return -EROFS;
	if (!dev->drv->discard)
		return 0; /* a hint the format may ignore */
	return dev->drv->discard(dev, off, len);
}

/* For formats without a zero-write operation: plain writes of zeroes. */
static int write_zeroes_slow(struct block_dev *dev, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		int ret = dev->drv->pwrite(dev, zero, n, off);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int block_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len)
{
	int ret = check_range(dev, off, len);

	if (ret)
		return ret;
	if (dev->flags & BLOCK_RDONLY)
		return -EROFS;
	if (!dev->drv->write_zeroes)
		return write_zeroes_slow(dev, off, len);
	return dev->drv->write_zeroes(dev, off, len);
}

int block_truncate(struct block_dev *dev, uint64_t size)
{
	if (dev->flags & BLOCK_RDONLY)
		return -EROFS;
	if (!dev->drv->truncate)
		return -EOPNOTSUPP;
	return dev->drv->truncate(dev, size);
}

uint64_t block_getlength(struct block_dev *dev)
{
	return dev->length;
}

int block_status(struct block_dev *dev, uint64_t off, uint64_t len,
		 uint64_t *pnum, uint64_t *host_off)
{
	int ret = check_range(dev, off, len);

	if (ret)
		return ret;
	if (!len) {
		*pnum = 0;
		return 0;
	}
	if (!dev->drv->block_status) {
		*pnum = len;
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
	}
	return dev->drv->block_status(dev, off, len, pnum, host_off);
}

uint64_t block_allocated_size(struct block_dev *dev)
{
	if (!dev->drv->allocated_size)
		return 0;
	return dev->drv->allocated_size(dev);
}

int block_opts_done(const struct block_opts *o, const char *fmt, char *err,
		    size_t errlen)
{
	const char *key = block_opt_unused(o);

	if (!key)
		return 0;
	if (!strcmp(key, "backing_file") || !strcmp(key, "backing_fmt"))
		snprintf(err, errlen, "format %s does not support backing files",
			 fmt);
	else
		snprintf(err, errlen, "invalid parameter '%s' for format %s", key,
			 fmt);
	return -EINVAL;
}
