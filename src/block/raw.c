// SPDX-License-Identifier: MIT
/* raw format: the file or block device is the disk, byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"

struct raw {
	int fd;
	int is_blockdev;
};

static struct raw *raw_of(struct block_dev *dev)
{
	return dev->opaque;
}

static int raw_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	struct raw *r;
	struct stat st;
	int ret;

	if (fstat(fd, &st) < 0)
		goto err_errno;
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		r->is_blockdev = 1;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			free(r);
			goto err_errno;
		}
		dev->length = size;
	} else {
		/* whole sectors, as qemu-img sees it; the tail reads as zeroes */
		dev->length = ((uint64_t)st.st_size + 511) & ~511ull;
	}
	dev->opaque = r;
	return 0;

err_errno:
	ret = -errno;
	snprintf(err, errlen, "'%s': %s", dev->path, strerror(-ret));
	close(fd);
	return ret;
}

static int raw_close(struct block_dev *dev)
{
	struct raw *r = raw_of(dev);
	int ret = close(r->fd) < 0 ? -errno : 0;

	free(r);
	return ret;
}

static int raw_pread(struct block_dev *dev, void *buf, size_t len,
		     uint64_t off)
{
	return block_fd_pread(raw_of(dev)->fd, buf, len, off);
}

static int raw_pwrite(struct block_dev *dev, const void *buf, size_t len,
		      uint64_t off)
{
	return block_fd_pwrite(raw_of(dev)->fd, buf, len, off);
}

static int raw_flush(struct block_dev *dev)
{
	return fdatasync(raw_of(dev)->fd) < 0 ? -errno : 0;
}

static int raw_punch(struct block_dev *dev, uint64_t off, uint64_t len,
		     int zero)
{
	struct raw *r = raw_of(dev);
	uint8_t *buf;
	int ret = 0;

	if (r->is_blockdev) {
		uint64_t range[2] = { off, len };

		if (ioctl(r->fd, zero ? BLKZEROOUT : BLKDISCARD, range) == 0)
			return 0;
	} else if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)off, (off_t)len) == 0) {
		return 0;
	}
	if (!zero)
		return 0; /* discard is advisory */
	buf = calloc(1, 1 << 20);
	if (!buf)
		return -ENOMEM;
	while (len && !ret) {
		size_t n = len < (1 << 20) ? len : (1 << 20);

		ret = block_fd_pwrite(r->fd, buf, n, off);
		off += n;
		len -= n;
	}
	free(buf);
	return ret;
}

static int raw_discard(struct block_dev *dev, uint64_t off, uint64_t len)
{
	return raw_punch(dev, off, len, 0);
}

static int raw_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len)
{
	return raw_punch(dev, off, len, 1);
}

static int raw_truncate(struct block_dev *dev, uint64_t size)
{
	struct raw *r = raw_of(dev);

	if (r->is_blockdev)
		return -ENOTSUP;
	if (ftruncate(r->fd, (off_t)size) < 0)
		return -errno;
	dev->length = size;
	return 0;
}

static int raw_block_status(struct block_dev *dev, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off)
{
	struct raw *r = raw_of(dev);
	off_t data, hole;

	*host_off = off;
	*pnum = len;
	if (r->is_blockdev)
		goto data;
	data = lseek(r->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) /* only a hole up to EOF */
			goto zero;
		goto data;
	}
	if ((uint64_t)data > off) {
		if ((uint64_t)data - off < len)
			*pnum = (uint64_t)data - off;
		goto zero;
	}
	hole = lseek(r->fd, (off_t)off, SEEK_HOLE);
	if (hole > (off_t)off && (uint64_t)hole - off < len)
		*pnum = (uint64_t)hole - off;
data:
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
zero:
	return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
}

static uint64_t raw_allocated_size(struct block_dev *dev)
{
	struct stat st;

	if (fstat(raw_of(dev)->fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

const struct block_driver block_raw_driver = {
	.name = "raw",
	.open = raw_open,
	.close = raw_close,
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.truncate = raw_truncate,
	.block_status = raw_block_status,
	.allocated_size = raw_allocated_size,
};
