// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests (virtio 1.2, 5.2.6): parsing a chain into header,
 * data and status, and serving them on the queue's I/O thread, through
 * io_uring for raw images or the block layer's synchronous calls.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "virtio/blk_int.h"
#include "vmm/log.h"

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

/*
 * Would this write to a probed raw image make the next probe see another
 * format? Every driver's probe looks at the first 4 KiB written to
 * sector 0 (VDI's magic is at 64, VHD's at 0, qcow2's at 0).
 */
static bool blk_writes_header(struct virtio_blk *blk, const struct blk_req *r)
{
	uint8_t head[4096];
	const char *fmt;
	size_t n;

	if (!blk->probed_raw || r->offset != 0)
		return false;
	n = virtq_iov_to_buf(r->data, r->nr_data, 0, head, sizeof(head));
	fmt = block_probe_buf(head, n);
	if (!fmt)
		return false;
	log_limited(&blk->vdev.dev.log,
		    "%s: refused a guest write of a %s header to sector 0 of "
		    "an image probed as raw (format=raw allows it)", blk->name,
		    fmt);
	return true;
}

static bool blk_stopping(const struct virtio_blk *blk)
{
	return __atomic_load_n(&blk->stopping, __ATOMIC_ACQUIRE);
}

/* Bounce buffer size: a guest can ask for up to BLK_MAX_DATA at once. */
#define BLK_BOUNCE_MAX		(1u << 20)

/*
 * O_DIRECT transfer through an aligned bounce buffer, one chunk at a time.
 * A raw image need not end on a sector boundary: the guest sees whole
 * sectors, and what lies past the end of the file reads as zeroes.
 */
static int blk_rw_direct(struct virtio_blk *blk, struct blk_req *r,
			 bool write)
{
	size_t cap = r->data_len < BLK_BOUNCE_MAX ?
		     (r->data_len + 4095) & ~4095ULL : BLK_BOUNCE_MAX;
	uint8_t *buf = aligned_alloc(4096, cap ? cap : 4096);
	uint64_t done = 0;
	bool eof = false;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (done < r->data_len && !ret) {
		size_t len = r->data_len - done < BLK_BOUNCE_MAX ?
			     r->data_len - done : BLK_BOUNCE_MAX;
		size_t got = 0;

		if (write)
			virtq_iov_to_buf(r->data, r->nr_data, done, buf, len);
		while (got < len && !eof) {
			uint64_t off = r->offset + done + got;
			ssize_t n = write ?
				pwrite(blk->fd, buf + got, len - got, off) :
				pread(blk->fd, buf + got, len - got, off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ret = -errno;
				break;
			}
			if (n == 0 && write) {
				ret = -EIO;
				break;
			}
			got += n;
			/* end of file, possibly inside a sector */
			if (!write && (n == 0 || got % BLK_SECTOR))
				eof = true;
		}
		if (!ret && !write) {
			memset(buf + got, 0, len - got);
			virtq_buf_to_iov(r->data, r->nr_data, done, buf, len);
		}
		done += len;
	}
	free(buf);
	return ret;
}

/* Synchronous data transfer, used without io_uring and for fallbacks. */
static int blk_rw_sync(struct virtio_blk *blk, struct blk_req *r, bool write)
{
	int ret;

	if (blk->fd >= 0 && blk->direct)
		return blk_rw_direct(blk, r, write);
	pthread_mutex_lock(&blk->bdev_lock);
	ret = write ? block_pwritev(blk->bdev, r->data, (int)r->nr_data,
				    r->offset) :
		      block_preadv(blk->bdev, r->data, (int)r->nr_data,
				   r->offset);
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
		nsec = get_le32(seg + 8);
		flags = get_le32(seg + 12);
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
	virtq_push(&vdev->queues[bq->idx].vq, &r->elem, len);
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
	r->type = get_le32(hdr);
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
		if (r->type == VIRTIO_BLK_T_OUT && blk_writes_header(blk, r))
			return -EPERM;
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

void *blk_io_thread(void *arg)
{
	struct blk_queue *bq = arg;

	if (bq->uring)
		blk_loop_uring(bq);
	else
		blk_loop_sync(bq);
	return NULL;
}
