// SPDX-License-Identifier: MIT
/*
 * Split virtqueue, device side (virtio 1.2, 2.7). The host is little
 * endian (x86), as the rings are.
 *
 * Ordering with a guest on another CPU: the avail index is read with
 * acquire semantics before the ring entries and descriptors it publishes;
 * used entries are written before the used index is stored with release
 * semantics; a full fence separates publishing the used index (or our
 * avail_event) from reading the guest's suppression fields, the classic
 * store-then-load race of notification suppression.
 */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

/* avail layout in uint16_t units: flags, idx, ring[size], used_event */
#define AVAIL_FLAGS	0
#define AVAIL_IDX	1
#define AVAIL_RING	2

void virtq_reset(struct virtq *vq)
{
	void (*on_error)(void *) = vq->on_error;
	void *err_opaque = vq->err_opaque;
	struct log_limit *log = vq->log;

	memset(vq, 0, sizeof(*vq));
	vq->on_error = on_error;
	vq->err_opaque = err_opaque;
	vq->log = log;
}

int virtq_setup(struct virtq *vq, const struct guest_mem *mem, uint16_t size,
		uint64_t desc, uint64_t avail, uint64_t used, bool event_idx)
{
	uint64_t avail_len, used_len;
	void *d, *a, *u;

	virtq_reset(vq);
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	avail_len = 4 + 2ULL * size + (event_idx ? 2 : 0);
	used_len = 4 + 8ULL * size + (event_idx ? 2 : 0);
	d = gpa_to_hva(mem, desc, 16ULL * size);
	a = gpa_to_hva(mem, avail, avail_len);
	u = gpa_to_hva(mem, used, used_len);
	if (!d || !a || !u)
		return -EINVAL;
	vq->mem = mem;
	vq->size = size;
	vq->event_idx = event_idx;
	vq->desc = d;
	vq->avail = a;
	vq->used_hdr = u;
	vq->used_ring = (struct virtq_used_elem *)(vq->used_hdr + 2);
	vq->avail_event = (uint16_t *)(vq->used_ring + size);
	vq->used_idx = 0;
	vq->last_avail = 0;
	vq->ready = true;
	return 0;
}

void virtq_fail(struct virtq *vq, const char *why)
{
	if (vq->broken)
		return;
	vq->broken = true;
	log_limited(vq->log,
		    "virtio: guest error on a virtqueue (%s); device needs reset",
		    why);
	if (vq->on_error)
		vq->on_error(vq->err_opaque);
}

static uint16_t virtq_avail_idx(const struct virtq *vq)
{
	return __atomic_load_n(&vq->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
}

/* Append one buffer to elem; returns an error string or NULL. */
static const char *virtq_add_buf(struct virtq *vq, struct virtq_elem *elem,
				 const struct virtq_desc *d)
{
	unsigned n = elem->nr_out + elem->nr_in;
	void *p;

	if (n >= VIRTQ_MAX_SIZE)
		return "chain too long";
	p = gpa_to_hva(vq->mem, d->addr, d->len);
	if (!p)
		return "buffer outside guest RAM";
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		elem->nr_in++;
		elem->in_len += d->len;
	} else {
		if (elem->nr_in)
			return "readable buffer after writable one";
		elem->nr_out++;
		elem->out_len += d->len;
	}
	elem->iov[n].iov_base = p;
	elem->iov[n].iov_len = d->len;
	return NULL;
}

/*
 * Walk the chain at head. Every step reads a descriptor once into a local
 * copy (the guest may change it under us) and counts it; a chain visits at
 * most size direct descriptors plus one indirect table's entries, so a
 * looped chain ends with an error instead of spinning.
 */
static const char *virtq_walk(struct virtq *vq, uint16_t head,
			      struct virtq_elem *elem)
{
	/* bytes, not descriptors: an indirect table need not be aligned */
	const uint8_t *table = (const uint8_t *)vq->desc;
	unsigned table_size = vq->size, idx = head, count = 0;
	bool indirect = false;
	struct virtq_desc d;
	const char *err;

	for (;;) {
		if (count++ >= table_size)
			return "descriptor chain loops or is too long";
		memcpy(&d, table + idx * sizeof(d), sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return "nested indirect descriptor";
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return "indirect descriptor with NEXT";
			if (d.len == 0 || d.len % sizeof(d) ||
			    d.len / sizeof(d) > VIRTQ_MAX_SIZE)
				return "bad indirect table length";
			table = gpa_to_hva(vq->mem, d.addr, d.len);
			if (!table)
				return "indirect table outside guest RAM";
			indirect = true;
			table_size = d.len / sizeof(d);
			idx = 0;
			count = 0;
			continue;
		}
		err = virtq_add_buf(vq, elem, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		idx = d.next;
		if (idx >= table_size)
			return "descriptor index out of range";
	}
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t avail_idx, head;
	const char *err;

	if (vq->broken)
		return -EIO;
	if (!vq->ready)
		return 0;
	avail_idx = virtq_avail_idx(vq);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		virtq_fail(vq, "avail index ran ahead of the ring");
		return -EIO;
	}
	head = __atomic_load_n(&vq->avail[AVAIL_RING +
					  vq->last_avail % vq->size],
			       __ATOMIC_RELAXED);
	if (head >= vq->size) {
		virtq_fail(vq, "head index out of range");
		return -EIO;
	}
	elem->head = head;
	elem->nr_out = elem->nr_in = 0;
	elem->out_len = elem->in_len = 0;
	err = virtq_walk(vq, head, elem);
	if (err) {
		virtq_fail(vq, err);
		return -EIO;
	}
	vq->last_avail++;
	return 1;
}

/*
 * The device's writes into guest RAM for translated code made from it
 * (guest_mem_code_written): a chain's in buffers, the used ring
 */
static void virtq_written(struct virtq *vq, const struct virtq_elem *elem)
{
	for (unsigned i = elem->nr_out; i < elem->nr_out + elem->nr_in; i++)
		guest_mem_code_written(vq->mem, elem->iov[i].iov_base,
				       elem->iov[i].iov_len);
}

static void virtq_used_written(struct virtq *vq)
{
	guest_mem_code_written(vq->mem, vq->used_hdr,
			       (uint8_t *)(vq->avail_event + 1) -
			       (uint8_t *)vq->used_hdr);
}

/*
 * While migrating, what the device wrote for this chain - its writable
 * buffers and the used ring - is dirty.
 */
static void virtq_mark_dirty(struct virtq *vq, const struct virtq_elem *elem,
			     struct virtq_used_elem *e)
{
	guest_mem_log_mark(vq->mem, e, sizeof(*e));
	guest_mem_log_mark(vq->mem, &vq->used_hdr[1], sizeof(uint16_t));
	for (unsigned i = elem->nr_out; i < elem->nr_out + elem->nr_in; i++)
		guest_mem_log_mark(vq->mem, elem->iov[i].iov_base,
				   elem->iov[i].iov_len);
}

static void virtq_used(struct virtq *vq, const struct virtq_elem *elem,
		       uint16_t head, uint32_t len)
{
	static const struct virtq_elem none;
	struct virtq_used_elem *e;

	if (!vq->ready || vq->broken)
		return;
	if (!elem)
		elem = &none;
	/*
	 * Translated code made from a page written must not run before the
	 * guest can see the chain used (guest_mem.h)
	 */
	virtq_written(vq, elem);
	e = &vq->used_ring[vq->used_idx % vq->size];
	__atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
	vq->used_idx++;
	__atomic_store_n(&vq->used_hdr[1], vq->used_idx, __ATOMIC_RELEASE);
	virtq_used_written(vq);
	/* after the writes: a sync in between reports them next time */
	if (vq->mem->dirty)
		virtq_mark_dirty(vq, elem, e);
}

void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	virtq_used(vq, elem, elem->head, len);
}

void virtq_push_unwritten(struct virtq *vq, uint16_t head)
{
	virtq_used(vq, NULL, head, 0);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, new, event;
	bool valid;

	if (!vq->ready)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail[AVAIL_FLAGS],
					 __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	new = vq->used_idx;
	valid = vq->signalled_valid;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = __atomic_load_n(&vq->avail[AVAIL_RING + vq->size],
				__ATOMIC_RELAXED);
	/* Did new pass used_event since the last interrupt? (2.7.10) */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx)
		__atomic_store_n(vq->avail_event, vq->last_avail,
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used_hdr[0], 0, __ATOMIC_RELAXED);
	virtq_used_written(vq);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_avail_idx(vq) != vq->last_avail;
}

void virtq_disable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->event_idx)
		return;
	__atomic_store_n(&vq->used_hdr[0], VIRTQ_USED_F_NO_NOTIFY,
			 __ATOMIC_RELAXED);
	virtq_used_written(vq);
}

size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
			void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip < len - done ? l - skip : len - done;
		memcpy((char *)buf + done, (char *)iov[i].iov_base + skip, c);
		done += c;
		skip = 0;
	}
	return done;
}

size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip,
			const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, c;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		c = l - skip < len - done ? l - skip : len - done;
		memcpy((char *)iov[i].iov_base + skip, (const char *)buf + done,
		       c);
		done += c;
		skip = 0;
	}
	return done;
}
