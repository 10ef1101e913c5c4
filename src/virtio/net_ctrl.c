// SPDX-License-Identifier: MIT
/*
 * virtio-net control queue (virtio 1.2, 5.1.6.5): receive modes and the
 * MAC filter (accepted, see below), the MAC address, and the number of
 * queue pairs in use (VIRTIO_NET_CTRL_MQ). Served on pair 0's thread; a
 * command's effect is complete before its buffer is used.
 */
#include <errno.h>
#include <string.h>

#include "virtio/net_int.h"
#include "vmm/log.h"

#define NET_CTRL_RX		0
#define NET_CTRL_RX_NOBCAST	5
#define NET_CTRL_MAC		1
#define NET_CTRL_MAC_TABLE_SET	0
#define NET_CTRL_MAC_ADDR_SET	1
#define NET_CTRL_MQ		4
#define NET_CTRL_MQ_VQ_PAIRS_SET 0
#define NET_OK			0
#define NET_ERR			1

/* Back to 'pairs' after a backend failure; logs what it cannot undo. */
static void net_pairs_undo(struct virtio_net *n, unsigned pairs, int err)
{
	log_limited(&n->vdev.dev.log,
		    "%s: %s: cannot change the active queues: %s", n->name,
		    n->be->name, strerror(-err));
	if (n->be->ops->set_queues(n->be, pairs))
		log_error("%s: %s: cannot restore %u active queues", n->name,
			  n->be->name, pairs);
}

/*
 * Turn pairs [0, pairs) on and the others off. A pair's backend queue is
 * attached before its thread may read it and detached only after its
 * thread is done with it, so nothing the host sends is left on a queue
 * no one reads, and nothing reaches a receive queue past 'pairs' once
 * the command completes (5.1.6.5.6.2).
 */
static int net_set_pairs(struct virtio_net *n, unsigned pairs)
{
	struct net_backend *be = n->be;
	unsigned old = n->active;
	int ret;

	if (pairs > old) {
		ret = be->ops->set_queues(be, pairs);
		if (ret) {
			net_pairs_undo(n, old, ret);
			return ret;
		}
		__atomic_store_n(&n->active, pairs, __ATOMIC_RELEASE);
		for (unsigned i = old; i < pairs; i++)
			net_pair_wake(&n->pairs[i]);
	} else if (pairs < old) {
		__atomic_store_n(&n->active, pairs, __ATOMIC_RELEASE);
		for (unsigned i = pairs; i < old; i++) {
			/* Wait out a batch in flight; then it sees 'off'. */
			pthread_mutex_lock(&n->pairs[i].lock);
			pthread_mutex_unlock(&n->pairs[i].lock);
			net_pair_wake(&n->pairs[i]);
		}
		ret = be->ops->set_queues(be, pairs);
		if (ret) {
			net_pairs_undo(n, old, ret);
			__atomic_store_n(&n->active, old, __ATOMIC_RELEASE);
			for (unsigned i = pairs; i < old; i++)
				net_pair_wake(&n->pairs[i]);
			return ret;
		}
	}
	return 0;
}

static uint8_t net_ctrl_mq(struct virtio_net *n, uint8_t cmd,
			   const uint8_t *data, size_t len)
{
	unsigned pairs;

	if (!virtio_has_feature(&n->vdev, VIRTIO_NET_F_MQ) ||
	    cmd != NET_CTRL_MQ_VQ_PAIRS_SET || len != 2)
		return NET_ERR;
	pairs = data[0] | data[1] << 8;
	if (pairs < 1 || pairs > n->nr_pairs) {
		log_limited(&n->vdev.dev.log,
			    "%s: driver asked for %u queue pairs (1..%u)",
			    n->name, pairs, n->nr_pairs);
		return NET_ERR;
	}
	return net_set_pairs(n, pairs) ? NET_ERR : NET_OK;
}

static uint8_t net_ctrl_cmd(struct virtio_net *n, uint8_t class, uint8_t cmd,
			    const uint8_t *data, size_t len)
{
	if (class == NET_CTRL_RX && cmd <= NET_CTRL_RX_NOBCAST && len == 1) {
		/*
		 * Promiscuous, all-multicast, ...: accepted, with no filter
		 * of our own; the tap or bridge decides what reaches the NIC
		 * and the guest kernel drops what it did not ask for.
		 */
		return NET_OK;
	}
	if (class == NET_CTRL_MAC && cmd == NET_CTRL_MAC_TABLE_SET)
		return NET_OK;
	if (class == NET_CTRL_MAC && cmd == NET_CTRL_MAC_ADDR_SET && len == 6) {
		/*
		 * Not under vdev->lock: a reset holds it while it joins this
		 * thread. Config reads are bytewise, so byte stores do.
		 */
		for (int i = 0; i < 6; i++)
			__atomic_store_n(&n->config[NET_CFG_MAC + i], data[i],
					 __ATOMIC_RELAXED);
		return NET_OK;
	}
	if (class == NET_CTRL_MQ)
		return net_ctrl_mq(n, cmd, data, len);
	return NET_ERR;
}

void net_ctrl(struct virtio_net *n)
{
	struct virtq *vq = &n->vdev.queues[n->ctrl_q].vq;
	struct virtq_elem *e = &n->ctrl_elem;
	uint8_t req[2 + 64], ack;
	int ret;

	if (!n->vdev.queues[n->ctrl_q].enabled)
		return;
	do {
		while ((ret = virtq_pop(vq, e)) == 1) {
			uint32_t written = 0;
			size_t copied;

			if (e->out_len < 2 || e->in_len < 1) {
				log_limited(&n->vdev.dev.log,
					    "%s: malformed control request",
					    n->name);
			} else {
				/*
				 * Only short commands' data is read: the MAC
				 * table (any length) is accepted unread. A
				 * command sees what was copied, so a longer
				 * one shows as its first 64 bytes and fails
				 * every exact-length check.
				 */
				copied = virtq_iov_to_buf(e->iov, e->nr_out, 0,
							  req, sizeof(req));
				ack = copied < 2 ? NET_ERR :
				      net_ctrl_cmd(n, req[0], req[1], req + 2,
						   copied - 2);
				written = virtq_buf_to_iov(&e->iov[e->nr_out],
							   e->nr_in,
							   e->in_len - 1, &ack,
							   1);
			}
			virtq_push(vq, e, written);
		}
		virtio_queue_notify(&n->vdev, n->ctrl_q);
	} while (ret == 0 && virtq_enable_notify(vq));
}
