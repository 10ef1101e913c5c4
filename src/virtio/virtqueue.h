/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, 2.7). The guest is hostile: ring addresses,
 * indices, descriptor addresses and lengths are checked against guest RAM
 * before use, chains are bounded by the queue size, and any inconsistency
 * marks the queue broken (the transport then sets DEVICE_NEEDS_RESET).
 *
 * One thread owns a queue: virtq_pop / virtq_push / virtq_should_notify are
 * not safe to call concurrently on the same queue.
 */
#ifndef CVISOR_VIRTIO_VIRTQUEUE_H
#define CVISOR_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/guest_mem.h"

struct log_limit;

#define VIRTQ_MAX_SIZE		256	/* queue size we offer */

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4

#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq {
	const struct guest_mem *mem;
	uint16_t size;
	bool event_idx;		/* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool ready;
	bool broken;

	/* Host views of the three areas, validated by virtq_setup. */
	struct virtq_desc *desc;
	uint16_t *avail;	/* flags, idx, ring[size], used_event */
	uint16_t *used_hdr;	/* flags, idx */
	struct virtq_used_elem *used_ring;
	uint16_t *avail_event;	/* after used_ring[size] */

	uint16_t last_avail;	/* next avail entry to consume */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled_used;
	bool signalled_valid;

	/* Called once when the queue breaks (guest error). */
	void (*on_error)(void *opaque);
	void *err_opaque;
	/* The owning device's limit for guest errors (NULL: shared). */
	struct log_limit *log;
};

/*
 * A popped descriptor chain: out (device-readable) buffers first, then in
 * (device-writable) buffers, as iovecs into guest RAM.
 */
struct virtq_elem {
	uint16_t head;
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/*
 * Check and map the rings for a queue of size entries (a power of two no
 * larger than VIRTQ_MAX_SIZE). Returns 0 or -EINVAL (nothing mapped).
 */
int virtq_setup(struct virtq *vq, const struct guest_mem *mem, uint16_t size,
		uint64_t desc, uint64_t avail, uint64_t used, bool event_idx);
void virtq_reset(struct virtq *vq);

/*
 * Take the next available chain. Returns 1 with *elem filled, 0 when the
 * ring is empty, or -EIO when the guest's data is invalid (queue broken).
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);
/*
 * Return a chain with len bytes written into its in buffers (elem: as
 * virtq_pop filled it; every in buffer counts as written for the code
 * translated from guest pages and for migration).
 */
void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);
/* Return a chain the device wrote nothing into, by its head alone */
void virtq_push_unwritten(struct virtq *vq, uint16_t head);
/* After pushes: does the guest want an interrupt now? */
bool virtq_should_notify(struct virtq *vq);
/*
 * Before sleeping: ask for a notification and re-check the ring. Returns
 * true if buffers arrived meanwhile (do not sleep).
 */
bool virtq_enable_notify(struct virtq *vq);
/* While busy: the guest need not notify. */
void virtq_disable_notify(struct virtq *vq);

/* Mark the queue broken, log through vq->log, call on_error. */
void virtq_fail(struct virtq *vq, const char *why);

/* Copy helpers over an element's iovecs (bounded by their lengths). */
size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
			void *buf, size_t len);
size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip,
			const void *buf, size_t len);

#endif
