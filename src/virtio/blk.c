// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2, 5.2) over the block layer. Each request queue is
 * served by its own I/O thread. Raw images go through io_uring on a file
 * descriptor of our own; other formats (qcow2) through the block driver's
 * synchronous calls, still on the I/O thread. The image is locked with
 * flock (shared when read-only) for as long as the device exists. A
 * network disk (url=, iSCSI) goes through its driver's synchronous calls
 * too and has no lock: the target may serve other initiators, and a
 * migration's destination opens its own session.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "virtio/blk_int.h"
#include "vmm/log.h"


#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_MQ		12
#define VIRTIO_BLK_F_DISCARD	13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

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
	/* A snapshot names the image: what the guest wrote must be in it. */
	if (vdev->quiesced && block_flush(blk->bdev))
		log_error("%s: flush before snapshot failed", blk->name);
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
		/* A fact about the host: once per process is enough. */
		if (blk->fd >= 0 && !bq->uring)
			log_once("%s: io_uring unavailable; serving requests "
				 "synchronously", blk->name);
		ret = -pthread_create(&bq->thread, NULL, blk_io_thread, bq);
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
	if (blk->bdev) {
		char path[256];
		int ret;

		snprintf(path, sizeof(path), "%s", blk->bdev->path);
		ret = block_close(blk->bdev);
		if (ret)
			log_error("disk '%s': closing: %s", path, strerror(-ret));
	}
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

/* A migration hands the image over: its lock goes to the destination. */
static int blk_release(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->opaque;
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (blk->lock_fd < 0)
		return 0; /* a network disk: nothing held */
	/* both locks: our flock and the byte-range lock QEMU looks for */
	if (!blk->readonly && fcntl(blk->lock_fd, F_OFD_SETLK, &fl))
		return -errno;
	return flock(blk->lock_fd, LOCK_UN) ? -errno : 0;
}

static int blk_reacquire(struct virtio_dev *vdev)
{
	struct virtio_blk *blk = vdev->opaque;

	if (blk->lock_fd < 0)
		return 0;
	if (flock(blk->lock_fd, (blk->readonly ? LOCK_SH : LOCK_EX) |
		  LOCK_NB)) {
		log_error("%s: cannot take the image lock back: %s", blk->name,
			  strerror(errno));
		return -errno;
	}
	if (!blk->readonly) {
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

		fcntl(blk->lock_fd, F_OFD_SETLK, &fl);
	}
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
	.start = blk_start,
	.stop = blk_stop,
	.destroy = blk_destroy,
	.release = blk_release,
	.reacquire = blk_reacquire,
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
	/*
	 * QEMU locks images with OFD byte-range locks, which flock does not
	 * see; a writer must not share the image with any such holder.
	 */
	if (!disk->readonly) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (fcntl(blk->lock_fd, F_OFD_GETLK, &fl) == 0 &&
		    fl.l_type != F_UNLCK) {
			log_error("disk '%s' is locked by another program "
				  "(QEMU image lock)", disk->path);
			return -EBUSY;
		}
		/* and let QEMU see us: every byte it probes is taken */
		fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET };
		fcntl(blk->lock_fd, F_OFD_SETLK, &fl);
	}
	return 0;
}

/* A network disk: no lock, no file descriptor of our own. */
static int blk_open_url(struct virtio_blk *blk, const struct disk_config *disk)
{
	const struct block_open_opts o = { .secret_file = disk->secret_file };
	char err[BLOCK_ERR_LEN];
	int ret;

	ret = block_open_opts(disk->url, disk->format,
			      disk->readonly ? BLOCK_RDONLY : 0, &o, &blk->bdev,
			      err, sizeof(err));
	if (ret)
		log_error("disk: %s", err[0] ? err : strerror(-ret));
	return ret;
}

static int blk_open(struct virtio_blk *blk, const struct disk_config *disk)
{
	struct block_open_opts o = { .key = disk->key,
				     .key_len = disk->key_len };
	struct block_open_opts bo[DISK_MAX_BACKING_KEYS] = { 0 };
	char err[BLOCK_ERR_LEN];
	int flags = (disk->readonly ? BLOCK_RDONLY : 0) |
		    (disk->direct ? BLOCK_DIRECT : 0);
	int ret;

	if (disk->url)
		return blk_open_url(blk, disk);
	ret = blk_lock(blk, disk);
	if (ret)
		return ret;
	for (int i = DISK_MAX_BACKING_KEYS - 1; i >= 0; i--) {
		bo[i].key = disk->backing[i].key;
		bo[i].key_len = disk->backing[i].len;
		if (i + 1 < DISK_MAX_BACKING_KEYS && (bo[i + 1].key ||
						       bo[i + 1].backing))
			bo[i].backing = &bo[i + 1];
	}
	if (bo[0].key || bo[0].backing)
		o.backing = &bo[0];
	ret = block_open_opts(disk->path, disk->format, flags, &o, &blk->bdev,
			      err, sizeof(err));
	if (ret) {
		if (err[0] && strstr(err, disk->path))
			log_error("disk: %s", err);
		else
			log_error("disk '%s': %s", disk->path,
				  err[0] ? err : strerror(-ret));
		return ret;
	}
	/*
	 * A guest that writes a qcow2 header into a probed raw image would
	 * have it opened as qcow2 next time, backing file and all: a way to
	 * read any host file. blk_parse refuses such writes.
	 */
	blk->probed_raw = !disk->format &&
			  blk->bdev->drv == &block_raw_driver;
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
	put_le32(c + BLK_CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(c + BLK_CFG_BLK_SIZE, BLK_SECTOR);
	put_le16(c + BLK_CFG_NUM_QUEUES, blk->nr_queues);
	put_le32(c + BLK_CFG_MAX_DISCARD, BLK_MAX_RANGE_SECTORS);
	put_le32(c + BLK_CFG_DISCARD_SEG, BLK_MAX_RANGES);
	put_le32(c + BLK_CFG_DISCARD_ALIGN, 8);
	put_le32(c + BLK_CFG_MAX_WZ, BLK_MAX_RANGE_SECTORS);
	put_le32(c + BLK_CFG_WZ_SEG, BLK_MAX_RANGES);
	c[BLK_CFG_WZ_UNMAP] = 0;
}

int virtio_blk_create(const struct dev_env *env,
		      const struct disk_config *disk, int index,
		      struct device **out)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	uint64_t features;
	int ret = -ENOMEM;

	if (!blk)
		goto err;
	blk->fd = blk->lock_fd = -1;
	pthread_mutex_init(&blk->bdev_lock, NULL);
	/* named after its --disk, for messages */
	snprintf(blk->name, sizeof(blk->name), "virtio-blk%d", index);
	blk->readonly = disk->readonly;
	blk->direct = disk->direct;
	/* GET_ID: up to 20 bytes, NUL-padded, no terminator when full */
	if (disk->serial)
		memcpy(blk->serial, disk->serial,
		       strnlen(disk->serial, BLK_ID_LEN));
	blk->nr_queues = env->nr_vcpus < 1 ? 1 :
			 env->nr_vcpus > BLK_MAX_QUEUES ? BLK_MAX_QUEUES :
			 env->nr_vcpus;
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
	ret = virtio_pci_init(&blk->vdev, env, blk->name, VIRTIO_ID_BLOCK,
			      PCI_CLASS_STORAGE_OTHER, features,
			      blk->nr_queues, blk->config, sizeof(blk->config),
			      &blk_ops, blk);
	if (ret)
		goto err_free;
	*out = &blk->vdev.dev;
	return 0;
err_free:
	log_error("%s: cannot create device: %s", blk->name, strerror(-ret));
err_free_quiet:
	blk_free(blk);
	return ret;
err:
	log_error("disk %d: %s", index, strerror(-ret));
	return ret;
}
