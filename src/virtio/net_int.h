/* SPDX-License-Identifier: MIT */
/*
 * virtio-net internals shared by the device (net.c), its queue pair
 * threads (net_pair.c), its control queue (net_ctrl.c), its packet paths
 * (net_io.c) and their tests.
 */
#ifndef CVISOR_VIRTIO_NET_INT_H
#define CVISOR_VIRTIO_NET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/net.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM	1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4	7
#define VIRTIO_NET_F_GUEST_TSO6	8
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_CTRL_RX	18
#define VIRTIO_NET_F_MQ		22
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

/* struct virtio_net_config (5.1.4) */
#define NET_CFG_MAC		0
#define NET_CFG_STATUS		6
#define NET_CFG_MAX_PAIRS	8
#define NET_CFG_LEN		10
#define NET_S_LINK_UP		1

/* Receive buffers one frame may span with MRG_RXBUF (65550 / 1 KiB). */
#define NET_RX_MAX_BUFS		64

/* struct virtio_net_hdr (5.1.6) fields we look at */
#define NET_HDR_FLAGS		0
#define NET_HDR_GSO_TYPE	1
#define NET_HDR_NUM_BUFFERS	10
#define NET_HDR_F_NEEDS_CSUM	1
#define NET_HDR_GSO_NONE	0

#define NET_ETH_HLEN		14

/* A frame the guest had no receive buffer for yet. */
struct net_pkt {
	struct net_pkt *next;
	size_t len;		/* frame, without header */
	uint8_t hdr[NET_HDR_LEN];
	uint8_t frame[];
};

struct virtio_net;

/*
 * Queue pair i: receive queue 2i, transmit queue 2i+1 and backend queue i,
 * served by a thread of its own between DRIVER_OK and reset. Pair 0's
 * thread also serves the control queue and slirp.
 */
struct net_pair {
	struct virtio_net *n;
	unsigned idx;
	pthread_t thread;
	bool running;
	char name[16];
	/*
	 * Held while the thread moves frames through the backend queue and
	 * the receive queue, with n->active read inside: the control path
	 * takes it to know a pair it turned off is done with both.
	 */
	pthread_mutex_t lock;
	struct net_poll poll;
	uint8_t *rxbuf;			/* NET_MAX_FRAME */
	uint8_t txhdr[NET_HDR_LEN];
	struct virtq_elem *rx_elems;	/* NET_RX_MAX_BUFS */
	struct virtq_elem elem;		/* transmit */
	struct net_pkt *pend_head, *pend_tail;
	unsigned nr_pend;
	bool rx_blocked;		/* no buffers: wait for a kick */
};

struct virtio_net {
	struct virtio_dev vdev;
	/* Loaded from a snapshot or migration: say where the MAC is now. */
	bool announce;
	char name[24];
	struct net_backend *be;
	uint8_t config[NET_CFG_LEN];
	int stop_fd;			/* tells every pair thread to return */
	/*
	 * Fixed between DRIVER_OK and reset (5.1.2): with MQ negotiated the
	 * backend's queue count, else 1; the control queue follows them.
	 */
	unsigned nr_pairs;
	unsigned ctrl_q;
	/* Pairs carrying traffic (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET); atomic. */
	unsigned active;
	struct virtq_elem ctrl_elem;
	struct net_pair pairs[NET_MAX_QUEUES];
};

/*
 * The NIC over an open backend (taken over, closed on failure), with mac
 * as its address. virtio_net_create's second half; tests pass their own
 * backend.
 */
int virtio_net_create_on(const struct dev_env *env, struct net_backend *be,
			 const uint8_t mac[6], unsigned index,
			 struct device **out);

/* The thread of one queue pair (net_pair.c). */
void *net_pair_thread(void *arg);
/* Frames from slirp, for pair 0 (be->rx with be->rx_opaque = pair 0). */
void net_pair_backend_rx(void *opaque, const void *frame, size_t len);
/* Drop the frames waiting for receive buffers; the thread is stopped. */
void net_pair_drop_pending(struct net_pair *p);
/* Make the pair's thread look at n->active again. */
void net_pair_wake(struct net_pair *p);

/* Serve the control queue (net_ctrl.c); on pair 0's thread. */
void net_ctrl(struct virtio_net *n);

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
 * Returns the frame length or -EINVAL (the chain is to be dropped), said
 * through log, the device's limit.
 */
ssize_t net_tx_get(struct log_limit *log, const struct virtq_elem *e,
		   bool raw, uint8_t *hdr);

#endif
