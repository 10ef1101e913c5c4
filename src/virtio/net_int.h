/* SPDX-License-Identifier: MIT */
/*
 * virtio-net internals shared by the device (net.c), its packet paths
 * (net_io.c) and their tests.
 */
#ifndef CVISOR_VIRTIO_NET_INT_H
#define CVISOR_VIRTIO_NET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

/* Receive buffers one frame may span with MRG_RXBUF (65550 / 1 KiB). */
#define NET_RX_MAX_BUFS		64

/* struct virtio_net_hdr (5.1.6) fields we look at */
#define NET_HDR_FLAGS		0
#define NET_HDR_GSO_TYPE	1
#define NET_HDR_NUM_BUFFERS	10
#define NET_HDR_F_NEEDS_CSUM	1
#define NET_HDR_GSO_NONE	0

#define NET_ETH_HLEN		14

/*
 * Put one frame (hdr: NET_HDR_LEN bytes, then frame bytes) into the
 * receive queue, over several buffers when mrg (MRG_RXBUF) is set, with
 * num_buffers written before any buffer is returned. elems has room for
 * NET_RX_MAX_BUFS chains.
 *
 * Returns the number of buffers used, 0 if the frame was dropped (it can
 * never fit: the buffers stay for the next frame), -EAGAIN if the ring
 * ran out (nothing consumed: retry after a kick), or -EIO when the queue
 * broke on guest data.
 */
int net_rx_put(struct virtq *vq, struct virtq_elem *elems, bool mrg,
	       const void *hdr, const void *frame, size_t frame_len);

/*
 * After -EAGAIN from net_rx_put: ask the guest to notify when it adds
 * buffers. Returns true if some arrived meanwhile (retry now).
 */
bool net_rx_want_buffers(struct virtq *vq);

/*
 * Check a popped transmit chain (its out buffers are the frame, header
 * first) and copy the header to hdr (NET_HDR_LEN bytes). raw: the backend
 * cannot take offloads, so a header asking for segmentation is refused.
 * Returns the frame length or -EINVAL (the chain is to be dropped).
 */
ssize_t net_tx_get(const struct virtq_elem *e, bool raw, uint8_t *hdr);

#endif
