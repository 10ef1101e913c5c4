/* SPDX-License-Identifier: MIT */
/* virtio-blk internals shared by blk.c (the device) and blk_io.c (requests). */
#ifndef CVISOR_VIRTIO_BLK_INT_H
#define CVISOR_VIRTIO_BLK_INT_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtio_pci.h"

#define BLK_CFG_LEN		60	/* device config bytes we expose */
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
	bool probed_raw;	/* raw by probing: no image headers in sector 0 */
	uint64_t sectors;
	char serial[BLK_ID_LEN];
	bool stopping;		/* atomic */
	unsigned nr_queues;
	struct blk_queue queues[BLK_MAX_QUEUES];
	uint8_t config[BLK_CFG_LEN];
};

/* The I/O thread of one queue: from ops->start until ops->stop. */
void *blk_io_thread(void *arg);

#endif
