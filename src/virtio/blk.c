// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2, 5.2) over the block layer. Each request queue is
 * served by its own I/O thread. Raw images go through io_uring on a file
 * descriptor of our own; other formats (qcow2) through the block driver's
 * synchronous calls, still on the I/O thread. The image is locked with
 * flock (shared when read-only) for as long as the device exists.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "virtio/virtio_pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PCI_CLASS_STORAGE_OTHER	0x018000

#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_MQ		12
#define VIRTIO_BLK_F_DISCARD	13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

/* device configuration layout (5.2.4) */
#define BLK_CFG_CAPACITY	0
#define BLK_CFG_SEG_MAX		12
#define BLK_CFG_BLK_SIZE	20
#define BLK_CFG_NUM_QUEUES	34
#define BLK_CFG_MAX_DISCARD	36
#define BLK_CFG_DISCARD_SEG	40
#define BLK_CFG_DISCARD_ALIGN	44
#define BLK_CFG_MAX_WZ		48
#define BLK_CFG_WZ_SEG		52
#define BLK_CFG_WZ_UNMAP	56
#define BLK_CFG_LEN		60

#define BLK_SECTOR		512
#define BLK_SEG_MAX		(VIRTQ_MAX_SIZE - 2)
#define BLK_MAX_QUEUES		4
#define BLK_MAX_RANGES		16
#define BLK_MAX_RANGE_SECTORS	(1u << 22)	/* 2 GiB per discard range */
#define BLK_ID_LEN		20
#define BLK_MAX_DATA		(1ULL << 30)

#define BLK_TAG_KICK		1

struct virtio_blk;

struct blk_req {
	struct blk_queue *bq;
	struct virtq_elem elem;
	struct iovec data[VIRTQ_MAX_SIZE];
	unsigned nr_data;
	uint64_t data_len;
	uint64_t offset;
	uint32_t type;
	uint8_t *status;
	struct blk_req *next_free;
};

struct blk_queue {
	struct virtio_blk *blk;
	unsigned idx;
	pthread_t thread;
	bool running;
	struct io_uring ring;
	bool uring;
	unsigned inflight;
	bool notify;
	struct blk_req *reqs;
	struct blk_req *free;
};

struct virtio_blk {
	struct virtio_dev vdev;
	char name[32];
	struct block_dev *bdev;
	pthread_mutex_t bdev_lock;	/* the block drivers are not reentrant */
	int fd;			/* raw images: io_uring target, else -1 */
	int lock_fd;
	bool readonly, direct;
	uint64_t sectors;
	char serial[BLK_ID_LEN];
	bool stopping;		/* atomic */
	unsigned nr_queues;
	struct blk_queue queues[BLK_MAX_QUEUES];
	uint8_t config[BLK_CFG_LEN];
};

static bool blk_stopping(const struct virtio_blk *blk)
{
	return __atomic_load_n(&blk->stopping, __ATOMIC_ACQUIRE);
}

/* Synchronous data transfer, used without io_uring and for fallbacks. */
static int blk_rw_sync(struct virtio_blk *blk, struct blk_req *r, bool write)
{
	uint64_t off = r->offset;
	int ret = 0;

	if (blk->fd >= 0 && blk->direct) {
		/* O_DIRECT wants aligned memory; bounce the whole request. */
		size_t len = (r->data_len + 4095) & ~4095ULL;
		void *buf = aligned_alloc(4096, len ? len : 4096);
		ssize_t n;

		if (!buf)
			return -ENOMEM;
		if (write) {
			virtq_iov_to_buf(r->data, r->nr_data, 0, buf,
					 r->data_len);
			n = pwrite(blk->fd, buf, r->data_len, off);
		} else {
			n = pread(blk->fd, buf, r->data_len, off);
			if (n == (ssize_t)r->data_len)
				virtq_buf_to_iov(r->data, r->nr_data, 0, buf,
						 r->data_len);
		}
		free(buf);
		return n == (ssize_t)r->data_len ? 0 : n < 0 ? -errno : -EIO;
	}
	pthread_mutex_lock(&blk->bdev_lock);
	for (unsigned i = 0; i < r->nr_data && !ret; i++) {
		struct iovec *v = &r->data[i];

		ret = write ? block_pwrite(blk->bdev, v->iov_base, v->iov_len,
					   off) :
			      block_pread(blk->bdev, v->iov_base, v->iov_len,
					  off);
		off += v->iov_len;
	}
	pthread_mutex_unlock(&blk->bdev_lock);
	return ret;
}

/* DISCARD and WRITE_ZEROES: a list of 16-byte ranges in the out data. */
static int blk_ranges(struct virtio_blk *blk, struct blk_req *r)
{
	uint8_t seg[16];
	unsigned n = r->data_len / sizeof(seg);
	int ret = 0;

	if (r->data_len % sizeof(seg) || n == 0 || n > BLK_MAX_RANGES)
		return -EINVAL;
	pthread_mutex_lock(&blk->bdev_lock);
	for (unsigned i = 0; i < n && !ret; i++) {
		uint64_t sector, nsec;
		uint32_t flags;

		virtq_iov_to_buf(r->data, r->nr_data, i * sizeof(seg), seg,
				 sizeof(seg));
		memcpy(&sector, seg, 8);
		nsec = pci_get_u32(seg + 8);
		flags = pci_get_u32(seg + 12);
		if (nsec > BLK_MAX_RANGE_SECTORS || sector > blk->sectors ||
		    nsec > blk->sectors - sector ||
		    (r->type == VIRTIO_BLK_T_DISCARD && flags)) {
			ret = -EINVAL;
			break;
		}
		if (r->type == VIRTIO_BLK_T_DISCARD)
			ret = block_discard(blk->bdev, sector * BLK_SECTOR,
					    nsec * BLK_SECTOR);
		else
			ret = block_write_zeroes(blk->bdev, sector * BLK_SECTOR,
						 nsec * BLK_SECTOR);
	}
	pthread_mutex_unlock(&blk->bdev_lock);
	return ret;
}

static void blk_complete(struct blk_queue *bq, struct blk_req *r, int err)
{
	struct virtio_dev *vdev = &bq->blk->vdev;
	uint32_t len = 1;

	*r->status = err == 0 ? VIRTIO_BLK_S_OK :
		     err == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP :
		     VIRTIO_BLK_S_IOERR;
	if (err == 0 && r->type == VIRTIO_BLK_T_IN)
		len += r->data_len;
	else if (err == 0 && r->type == VIRTIO_BLK_T_GET_ID)
		len += r->data_len;
	virtq_push(&vdev->queues[bq->idx].vq, r->elem.head, len);
	bq->notify = true;
	r->next_free = bq->free;
	bq->free = r;
}

/*
 * Split a chain into header, data and status; checks what the guest
 * claims. Returns 0 or a negative errno for an IOERR/UNSUPP answer.
 */
static int blk_parse(struct virtio_blk *blk, struct blk_req *r)
{
	struct virtq_elem *e = &r->elem;
	uint8_t hdr[16];
	uint64_t sector, skip, want;
	unsigned first, count;

	r->nr_data = 0;
	r->data_len = 0;
	/* the status byte: last byte of the last non-empty writable buffer */
	for (int i = e->nr_out + e->nr_in - 1; i >= (int)e->nr_out; i--) {
		if (e->iov[i].iov_len) {
			r->status = (uint8_t *)e->iov[i].iov_base +
				    e->iov[i].iov_len - 1;
			break;
		}
	}
	if (!r->status)
		return -EFAULT;
	if (virtq_iov_to_buf(e->iov, e->nr_out, 0, hdr, sizeof(hdr)) !=
	    sizeof(hdr))
		return -EINVAL;
	r->type = pci_get_u32(hdr);
	memcpy(&sector, hdr + 8, 8);

	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID) {
		first = e->nr_out;
		count = e->nr_in;
		skip = 0;
		want = e->in_len - 1;
	} else {
		first = 0;
		count = e->nr_out;
		skip = sizeof(hdr);
		want = e->out_len - sizeof(hdr);
	}
	if (want > BLK_MAX_DATA)
		return -EINVAL;
	for (unsigned i = first; i < first + count && r->data_len < want;
	     i++) {
		struct iovec v = e->iov[i];

		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		v.iov_base = (char *)v.iov_base + skip;
		v.iov_len -= skip;
		skip = 0;
		if (v.iov_len > want - r->data_len)
			v.iov_len = want - r->data_len;
		r->data[r->nr_data++] = v;
		r->data_len += v.iov_len;
	}

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->data_len % BLK_SECTOR ||
		    sector > blk->sectors ||
		    r->data_len / BLK_SECTOR > blk->sectors - sector)
			return -EINVAL;
		if (r->type == VIRTIO_BLK_T_OUT && blk->readonly)
			return -EROFS;
		r->offset = sector * BLK_SECTOR;
		return 0;
	case VIRTIO_BLK_T_FLUSH:
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		if (r->data_len > BLK_ID_LEN)
			r->data_len = BLK_ID_LEN;
		return 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk->readonly ? -EROFS : 0;
	default:
		return -EOPNOTSUPP;
	}
}

static bool blk_aligned(const struct blk_req *r)
{
	for (unsigned i = 0; i < r->nr_data; i++)
		if (((uintptr_t)r->data[i].iov_base | r->data[i].iov_len) &
		    (BLK_SECTOR - 1))
			return false;
	return true;
}

/* Start a request: queued on io_uring, or done here. */
static void blk_submit(struct blk_queue *bq, struct blk_req *r)
{
	struct virtio_blk *blk = bq->blk;
	struct io_uring_sqe *sqe = NULL;
	int err = blk_parse(blk, r);

	if (err) {
		if (err == -EFAULT) {
			/* no status byte: nothing to answer with */
			virtq_fail(&blk->vdev.queues[bq->idx].vq,
				   "virtio-blk request without status");
			r->next_free = bq->free;
			bq->free = r;
			return;
		}
		blk_complete(bq, r, err);
		return;
	}
	if (bq->uring && (r->type == VIRTIO_BLK_T_FLUSH ||
			  ((r->type == VIRTIO_BLK_T_IN ||
			    r->type == VIRTIO_BLK_T_OUT) &&
			   (!blk->direct || blk_aligned(r)))))
		sqe = io_uring_get_sqe(&bq->ring);
	if (sqe) {
		if (r->type == VIRTIO_BLK_T_FLUSH)
			io_uring_prep_fsync(sqe, blk->fd,
					    IORING_FSYNC_DATASYNC);
		else if (r->type == VIRTIO_BLK_T_IN)
			io_uring_prep_readv(sqe, blk->fd, r->data, r->nr_data,
					    r->offset);
		else
			io_uring_prep_writev(sqe, blk->fd, r->data, r->nr_data,
					     r->offset);
		io_uring_sqe_set_data(sqe, r);
		bq->inflight++;
		return;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		err = blk_rw_sync(blk, r, r->type == VIRTIO_BLK_T_OUT);
		break;
	case VIRTIO_BLK_T_FLUSH:
		pthread_mutex_lock(&blk->bdev_lock);
		err = blk->readonly ? 0 : block_flush(blk->bdev);
		pthread_mutex_unlock(&blk->bdev_lock);
		break;
	case VIRTIO_BLK_T_GET_ID:
		virtq_buf_to_iov(r->data, r->nr_data, 0, blk->serial,
				 r->data_len);
		break;
	default:
		err = blk_ranges(blk, r);
		break;
	}
	blk_complete(bq, r, err);
}

/* io_uring finished r with result res. */
static void blk_uring_done(struct blk_queue *bq, struct blk_req *r, int res)
{
	int err = res < 0 ? res : 0;

	bq->inflight--;
	if (res >= 0 && r->type != VIRTIO_BLK_T_FLUSH &&
	    (uint64_t)res != r->data_len)
		/* short transfer: redo the request synchronously */
		err = blk_rw_sync(bq->blk, r, r->type == VIRTIO_BLK_T_OUT);
	else if (res == -EINVAL && bq->blk->direct &&
		 r->type != VIRTIO_BLK_T_FLUSH)
		err = blk_rw_sync(bq->blk, r, r->type == VIRTIO_BLK_T_OUT);
	blk_complete(bq, r, err);
}

/* Take every available request while there is room to track it. */
static void blk_process(struct blk_queue *bq)
{
	struct virtio_queue *q = &bq->blk->vdev.queues[bq->idx];
	int ret;

	do {
		while (bq->free && !blk_stopping(bq->blk)) {
			struct blk_req *r = bq->free;

			ret = virtq_pop(&q->vq, &r->elem);
			if (ret != 1)
				break;
			bq->free = r->next_free;
			r->status = NULL;
			blk_submit(bq, r);
		}
		if (!bq->free || blk_stopping(bq->blk) || q->vq.broken)
			return;
	} while (virtq_enable_notify(&q->vq));
}

static void blk_flush_notify(struct blk_queue *bq)
{
	if (bq->notify) {
		bq->notify = false;
		virtio_queue_notify(&bq->blk->vdev, bq->idx);
	}
}

static void blk_arm_kick(struct blk_queue *bq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);

	if (!sqe) {
		io_uring_submit(&bq->ring);
		sqe = io_uring_get_sqe(&bq->ring);
	}
	io_uring_prep_poll_add(sqe, bq->blk->vdev.queues[bq->idx].kick_fd,
			       POLLIN);
	io_uring_sqe_set_data64(sqe, BLK_TAG_KICK);
}

static void blk_loop_uring(struct blk_queue *bq)
{
	struct virtio_queue *q = &bq->blk->vdev.queues[bq->idx];
	struct io_uring_cqe *cqe;
	unsigned head, n;

	blk_arm_kick(bq);
	blk_process(bq);
	blk_flush_notify(bq);
	for (;;) {
		io_uring_submit_and_wait(&bq->ring, 1);
		n = 0;
		io_uring_for_each_cqe(&bq->ring, head, cqe) {
			uint64_t tag = io_uring_cqe_get_data64(cqe);

			n++;
			if (tag == BLK_TAG_KICK) {
				virtio_kick_clear(q);
				if (!blk_stopping(bq->blk))
					blk_arm_kick(bq);
			} else {
				blk_uring_done(bq, (struct blk_req *)tag,
					       cqe->res);
			}
		}
		io_uring_cq_advance(&bq->ring, n);
		if (blk_stopping(bq->blk)) {
			if (!bq->inflight)
				break;
			continue;
		}
		blk_process(bq);
		blk_flush_notify(bq);
	}
}

static void blk_loop_sync(struct blk_queue *bq)
{
	struct virtio_queue *q = &bq->blk->vdev.queues[bq->idx];
	struct pollfd pfd = { .fd = q->kick_fd, .events = POLLIN };

	while (!blk_stopping(bq->blk)) {
		blk_process(bq);
		blk_flush_notify(bq);
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		virtio_kick_clear(q);
	}
}

static void *blk_thread(void *arg)
{
	struct blk_queue *bq = arg;

	if (bq->uring)
		blk_loop_uring(bq);
	else
		blk_loop_sync(bq);
	return NULL;
}

static void blk_stop(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->opaque;
	uint64_t one = 1;

	__atomic_store_n(&blk->stopping, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < blk->nr_queues; i++)
		if (blk->queues[i].running &&
		    write(vdev->queues[i].kick_fd, &one, sizeof(one)) < 0)
			log_error("%s: cannot wake I/O thread", blk->name);
	for (unsigned i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *bq = &blk->queues[i];

		if (!bq->running)
			continue;
		pthread_join(bq->thread, NULL);
		if (bq->uring)
			io_uring_queue_exit(&bq->ring);
		bq->running = false;
	}
}

static int blk_start(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->opaque;
	int ret = 0;

	__atomic_store_n(&blk->stopping, false, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < blk->nr_queues && !ret; i++) {
		struct blk_queue *bq = &blk->queues[i];

		if (!vdev->queues[i].enabled)
			continue;
		bq->free = NULL;
		for (unsigned k = 0; k < VIRTQ_MAX_SIZE; k++) {
			bq->reqs[k].next_free = bq->free;
			bq->free = &bq->reqs[k];
		}
		bq->inflight = 0;
		bq->notify = false;
		bq->uring = blk->fd >= 0 &&
			    io_uring_queue_init(VIRTQ_MAX_SIZE + 1, &bq->ring,
						0) == 0;
		if (blk->fd >= 0 && !bq->uring)
			log_once("%s: io_uring unavailable; serving requests "
				 "synchronously", blk->name);
		ret = -pthread_create(&bq->thread, NULL, blk_thread, bq);
		if (ret) {
			if (bq->uring)
				io_uring_queue_exit(&bq->ring);
			break;
		}
		bq->running = true;
	}
	if (ret)
		blk_stop(vdev);
	return ret;
}

static void blk_free(struct virtio_blk *blk)
{
	for (unsigned i = 0; i < BLK_MAX_QUEUES; i++)
		free(blk->queues[i].reqs);
	if (blk->bdev)
		block_close(blk->bdev);
	if (blk->fd >= 0)
		close(blk->fd);
	if (blk->lock_fd >= 0)
		close(blk->lock_fd);
	pthread_mutex_destroy(&blk->bdev_lock);
	free(blk);
}

static void blk_destroy(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->opaque;

	virtio_pci_destroy(vdev);
	blk_free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.start = blk_start,
	.stop = blk_stop,
	.destroy = blk_destroy,
};

/* Take the image lock: exclusive for writers, shared for readers. */
static int blk_lock(struct virtio_blk *blk, const struct disk_config *disk)
{
	struct stat st;
	int ret;

	blk->lock_fd = open(disk->path, O_RDONLY | O_CLOEXEC);
	if (blk->lock_fd < 0) {
		ret = -errno;
		log_error("disk '%s': %s", disk->path, strerror(errno));
		return ret;
	}
	if (fstat(blk->lock_fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		log_error("disk '%s': is a directory", disk->path);
		return -EISDIR;
	}
	if (flock(blk->lock_fd, (disk->readonly ? LOCK_SH : LOCK_EX) |
				LOCK_NB) < 0) {
		ret = -errno;
		if (errno == EWOULDBLOCK)
			log_error("disk '%s' is locked: another VM (or another "
				  "--disk) is using it%s", disk->path,
				  disk->readonly ? " read-write" :
				  "; readonly=on can share it with readers");
		else
			log_error("disk '%s': cannot lock: %s", disk->path,
				  strerror(errno));
		return ret == -EWOULDBLOCK ? -EBUSY : ret;
	}
	return 0;
}

static int blk_open(struct virtio_blk *blk, const struct disk_config *disk)
{
	char err[BLOCK_ERR_LEN];
	int flags = (disk->readonly ? BLOCK_RDONLY : 0) |
		    (disk->direct ? BLOCK_DIRECT : 0);
	int ret;

	ret = blk_lock(blk, disk);
	if (ret)
		return ret;
	ret = block_open(disk->path, disk->format, flags, &blk->bdev, err,
			 sizeof(err));
	if (ret) {
		log_error("disk: %s", err[0] ? err : strerror(-ret));
		return ret;
	}
	if (blk->bdev->drv == &block_raw_driver) {
		int oflags = (disk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC |
			     (disk->direct ? O_DIRECT : 0);

		blk->fd = open(disk->path, oflags);
		if (blk->fd < 0) {
			ret = -errno;
			log_error("disk '%s': %s", disk->path, strerror(errno));
			return ret;
		}
	}
	return 0;
}

static void blk_fill_config(struct virtio_blk *blk)
{
	uint8_t *c = blk->config;
	uint64_t cap = blk->sectors;

	memcpy(c + BLK_CFG_CAPACITY, &cap, 8);
	pci_set_u32(c + BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	pci_set_u32(c + BLK_CFG_BLK_SIZE, BLK_SECTOR);
	pci_set_u16(c + BLK_CFG_NUM_QUEUES, blk->nr_queues);
	pci_set_u32(c + BLK_CFG_MAX_DISCARD, BLK_MAX_RANGE_SECTORS);
	pci_set_u32(c + BLK_CFG_DISCARD_SEG, BLK_MAX_RANGES);
	pci_set_u32(c + BLK_CFG_DISCARD_ALIGN, 8);
	pci_set_u32(c + BLK_CFG_MAX_WZ, BLK_MAX_RANGE_SECTORS);
	pci_set_u32(c + BLK_CFG_WZ_SEG, BLK_MAX_RANGES);
	c[BLK_CFG_WZ_UNMAP] = 0;
}

int virtio_blk_create(struct vm *vm, const struct disk_config *disk)
{
	static int nr_disks;
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	uint64_t features;
	int ret = -ENOMEM;

	if (!blk)
		goto err;
	blk->fd = blk->lock_fd = -1;
	pthread_mutex_init(&blk->bdev_lock, NULL);
	snprintf(blk->name, sizeof(blk->name), "virtio-blk%d", nr_disks++);
	blk->readonly = disk->readonly;
	blk->direct = disk->direct;
	/* GET_ID: up to 20 bytes, NUL-padded, no terminator when full */
	if (disk->serial)
		memcpy(blk->serial, disk->serial,
		       strnlen(disk->serial, BLK_ID_LEN));
	blk->nr_queues = vm->nr_vcpus < 1 ? 1 :
			 vm->nr_vcpus > BLK_MAX_QUEUES ? BLK_MAX_QUEUES :
			 vm->nr_vcpus;
	for (unsigned i = 0; i < blk->nr_queues; i++) {
		blk->queues[i].blk = blk;
		blk->queues[i].idx = i;
		blk->queues[i].reqs = calloc(VIRTQ_MAX_SIZE,
					     sizeof(struct blk_req));
		if (!blk->queues[i].reqs)
			goto err_free;
		for (unsigned k = 0; k < VIRTQ_MAX_SIZE; k++)
			blk->queues[i].reqs[k].bq = &blk->queues[i];
	}
	ret = blk_open(blk, disk);
	if (ret)
		goto err_free_quiet;
	blk->sectors = block_getlength(blk->bdev) / BLK_SECTOR;
	blk_fill_config(blk);
	features = (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		   (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		   (1ULL << VIRTIO_BLK_F_FLUSH) |
		   (1ULL << VIRTIO_BLK_F_MQ);
	if (disk->readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= (1ULL << VIRTIO_BLK_F_DISCARD) |
			    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	ret = virtio_pci_init(&blk->vdev, vm, blk->name, VIRTIO_ID_BLOCK,
			      PCI_CLASS_STORAGE_OTHER, features,
			      blk->nr_queues, blk->config, sizeof(blk->config),
			      &blk_ops, blk);
	if (ret)
		goto err_free;
	return 0;
err_free:
	log_error("disk '%s': cannot create device: %s", disk->path,
		  strerror(-ret));
err_free_quiet:
	blk_free(blk);
	return ret;
err:
	log_error("disk '%s': %s", disk->path, strerror(-ret));
	return ret;
}
