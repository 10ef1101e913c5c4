// SPDX-License-Identifier: MIT
/*
 * virtio-net packet paths (virtio 1.2, 5.1.6): frames into the guest's
 * receive buffers and out of its transmit chains. Descriptors were
 * checked by virtq_pop; here the sizes and shapes are.
 */
#include <errno.h>
#include <sys/types.h>

#include "net/net.h"
#include "virtio/net_int.h"
#include "vmm/log.h"

/* Copy src[off, off+len) from a header + frame pair into a chain's in iovs. */
static size_t rx_copy(const struct virtq_elem *e, const void *hdr,
		      const void *frame, size_t frame_len, size_t off,
		      size_t room)
{
	const struct iovec *in = &e->iov[e->nr_out];
	size_t done = 0, c;

	if (off < NET_HDR_LEN) {
		c = NET_HDR_LEN - off < room ? NET_HDR_LEN - off : room;
		done = virtq_buf_to_iov(in, e->nr_in, 0,
					(const uint8_t *)hdr + off, c);
		off += done;
	}
	if (done < room && off >= NET_HDR_LEN) {
		size_t foff = off - NET_HDR_LEN, left = frame_len - foff;

		c = left < room - done ? left : room - done;
		done += virtq_buf_to_iov(in, e->nr_in, done,
					 (const uint8_t *)frame + foff, c);
	}
	return done;
}

int net_rx_put(struct virtq *vq, struct virtq_elem *elems, bool mrg,
	       const void *hdr, const void *frame, size_t frame_len)
{
	uint16_t start = vq->last_avail;
	uint32_t lens[NET_RX_MAX_BUFS];
	size_t total = NET_HDR_LEN + frame_len, off = 0;
	unsigned n = 0;
	uint16_t nb;
	int ret;

	while (off < total) {
		struct virtq_elem *e = &elems[n];

		if (n == NET_RX_MAX_BUFS) {
			log_limited(vq->log,
				    "virtio-net: %zu-byte frame needs over %d receive buffers, dropped",
				    total, NET_RX_MAX_BUFS);
			goto drop;
		}
		ret = virtq_pop(vq, e);
		if (ret < 0)
			return -EIO;
		if (ret == 0 && n == vq->size) {
			log_limited(vq->log,
				    "virtio-net: %zu-byte frame larger than the whole receive ring, dropped",
				    total);
			goto drop;
		}
		if (ret == 0) {
			/* Not consumed: the same chains come back next time. */
			vq->last_avail = start;
			return -EAGAIN;
		}
		if (e->nr_out || (n == 0 && e->in_len < NET_HDR_LEN)) {
			virtq_fail(vq, "virtio-net: receive buffer too short or not writable");
			return -EIO;
		}
		lens[n] = rx_copy(e, hdr, frame, frame_len, off,
				  e->in_len > total - off ? total - off :
							    e->in_len);
		off += lens[n++];
		if (!mrg && off < total) {
			log_limited(vq->log,
				    "virtio-net: %zu-byte frame larger than a receive buffer, dropped",
				    total);
			goto drop;
		}
	}
	/* num_buffers must be in place before the first buffer is used. */
	nb = n;
	virtq_buf_to_iov(&elems[0].iov[elems[0].nr_out], elems[0].nr_in,
			 NET_HDR_NUM_BUFFERS, &nb, sizeof(nb));
	for (unsigned i = 0; i < n; i++)
		virtq_push(vq, &elems[i], lens[i]);
	return n;
drop:
	vq->last_avail = start;
	return 0;
}

bool net_rx_want_buffers(struct virtq *vq)
{
	uint16_t idx;

	if (!vq->ready || vq->broken)
		return false;
	/*
	 * Not virtq_enable_notify: that asks for a kick past last_avail, but
	 * a frame short of buffers must wait for ones past the avail index.
	 */
	idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	if (vq->event_idx)
		__atomic_store_n(vq->avail_event, idx, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used_hdr[0], 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE) != idx;
}

ssize_t net_tx_get(struct log_limit *log, const struct virtq_elem *e, bool raw,
		   uint8_t *hdr)
{
	if (e->nr_in) {
		log_limited(log,
			    "virtio-net: transmit chain with writable buffers, dropped");
		return -EINVAL;
	}
	if (e->out_len < NET_HDR_LEN + NET_ETH_HLEN ||
	    e->out_len > NET_MAX_FRAME) {
		log_limited(log,
			    "virtio-net: transmit frame of %llu bytes, dropped",
			    (unsigned long long)e->out_len);
		return -EINVAL;
	}
	virtq_iov_to_buf(e->iov, e->nr_out, 0, hdr, NET_HDR_LEN);
	if (raw && hdr[NET_HDR_GSO_TYPE] != NET_HDR_GSO_NONE) {
		log_limited(log,
			    "virtio-net: segmentation offload not negotiated, frame dropped");
		return -EINVAL;
	}
	return e->out_len;
}
