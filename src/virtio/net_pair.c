// SPDX-License-Identifier: MIT
/*
 * virtio-net queue pairs (virtio 1.2, 5.1.6): one thread per pair moves
 * frames between the pair's backend queue and its receive queue, and from
 * its transmit queue to the backend. It waits in poll() for the queues'
 * ioeventfd kicks and the backend queue's fd (pair 0 also for the control
 * queue and slirp's sockets and timers), so no packet work happens on
 * vCPU threads and pairs run on as many host cores as there are.
 *
 * Frames read from backend queue i go to receive queue i: the host kernel
 * steers a flow to the tap queue it was last sent from, which is the
 * guest's transmit queue i. A pair the driver has not turned on (see
 * net_ctrl.c) neither reads its backend queue nor fills its receive
 * queue; frames still on its transmit queue go out through queue 0.
 *
 * Frames that find no receive buffer wait in a short queue; the backend
 * queue is not read again until that queue drains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/net_int.h"
#include "vmm/log.h"

/* Frames the guest has no buffer for yet; TCP (or the peer) resends. */
#define NET_PENDING_MAX		256
#define NET_TX_BUDGET		256	/* frames per round before rx gets a turn */

static unsigned rx_q(const struct net_pair *p)
{
	return 2 * p->idx;
}

static unsigned tx_q(const struct net_pair *p)
{
	return 2 * p->idx + 1;
}

static struct virtq *pair_vq(struct net_pair *p, unsigned q)
{
	return &p->n->vdev.queues[q].vq;
}

static struct log_limit *pair_log(struct net_pair *p)
{
	return &p->n->vdev.dev.log;
}

static bool pair_on(const struct net_pair *p)
{
	return p->idx < __atomic_load_n(&p->n->active, __ATOMIC_ACQUIRE);
}

/* 1 delivered or dropped, 0 no room (retry on kick), <0 queue broken */
static int net_rx_one(struct net_pair *p, const void *hdr, const void *frame,
		      size_t len)
{
	struct virtio_dev *vdev = &p->n->vdev;
	bool mrg = virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	struct virtq *vq = pair_vq(p, rx_q(p));
	int ret;

	if (!vdev->queues[rx_q(p)].enabled)
		return 1;
	while ((ret = net_rx_put(vq, p->rx_elems, mrg, hdr, frame, len)) ==
	       -EAGAIN) {
		if (!net_rx_want_buffers(vq)) {
			p->rx_blocked = true;
			return 0;
		}
	}
	return ret < 0 ? ret : 1;
}

static void net_pend(struct net_pair *p, const void *hdr, const void *frame,
		     size_t len)
{
	struct net_pkt *pkt;

	if (p->nr_pend == NET_PENDING_MAX)
		return;
	pkt = malloc(sizeof(*pkt) + len);
	if (!pkt)
		return;
	pkt->next = NULL;
	pkt->len = len;
	memcpy(pkt->hdr, hdr, NET_HDR_LEN);
	memcpy(pkt->frame, frame, len);
	if (p->pend_tail)
		p->pend_tail->next = pkt;
	else
		p->pend_head = pkt;
	p->pend_tail = pkt;
	p->nr_pend++;
}

void net_pair_drop_pending(struct net_pair *p)
{
	while (p->pend_head) {
		struct net_pkt *pkt = p->pend_head;

		p->pend_head = pkt->next;
		free(pkt);
	}
	p->pend_tail = NULL;
	p->nr_pend = 0;
}

/* The guest posted receive buffers: deliver what waited. */
static void net_pend_flush(struct net_pair *p)
{
	struct net_pkt *pkt;

	pthread_mutex_lock(&p->lock);
	if (!pair_on(p))
		net_pair_drop_pending(p);
	while ((pkt = p->pend_head)) {
		if (net_rx_one(p, pkt->hdr, pkt->frame, pkt->len) == 0)
			break;
		p->pend_head = pkt->next;
		if (!p->pend_head)
			p->pend_tail = NULL;
		p->nr_pend--;
		free(pkt);
	}
	pthread_mutex_unlock(&p->lock);
}

void net_pair_backend_rx(void *opaque, const void *frame, size_t len)
{
	static const uint8_t hdr[NET_HDR_LEN];
	struct net_pair *p = opaque;

	if (len + NET_HDR_LEN > NET_MAX_FRAME) {
		log_limited(pair_log(p),
			    "%s: %zu-byte frame from backend dropped", p->name,
			    len);
		return;
	}
	if (p->pend_head || p->rx_blocked ||
	    net_rx_one(p, hdr, frame, len) == 0)
		net_pend(p, hdr, frame, len);
}

/* The backend queue is readable: move frames while the guest has buffers. */
static void net_rx_backend(struct net_pair *p)
{
	struct net_backend *be = p->n->be;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < NET_TX_BUDGET && pair_on(p) && !p->rx_blocked &&
			!p->pend_head;
	     i++) {
		ssize_t len = be->ops->recv(be, p->idx, p->rxbuf,
					    NET_MAX_FRAME);

		if (len == -EAGAIN)
			break;
		if (len < 0) {
			log_limited(pair_log(p), "%s: read from %s: %s",
				    p->name, be->name, strerror(-len));
			break;
		}
		if (len <= NET_HDR_LEN)
			continue;
		if (net_rx_one(p, p->rxbuf, p->rxbuf + NET_HDR_LEN,
			       len - NET_HDR_LEN) == 0)
			net_pend(p, p->rxbuf, p->rxbuf + NET_HDR_LEN,
				 len - NET_HDR_LEN);
	}
	pthread_mutex_unlock(&p->lock);
	virtio_queue_notify(&p->n->vdev, rx_q(p));
}

static void net_tx(struct net_pair *p)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct net_backend *be = p->n->be;
	struct virtq *vq = pair_vq(p, tx_q(p));
	int ret, budget = NET_TX_BUDGET;
	unsigned bq;

	if (!vdev->queues[tx_q(p)].enabled)
		return;
	pthread_mutex_lock(&p->lock);
	/* A pair turned off has no backend queue of its own any more. */
	bq = pair_on(p) ? p->idx : 0;
	do {
		while (budget-- > 0 && (ret = virtq_pop(vq, &p->elem)) == 1) {
			ssize_t len = net_tx_get(vq->log, &p->elem,
						 !be->vnet_hdr, p->txhdr);

			if (len > 0) {
				int err = be->ops->send(be, bq, p->elem.iov,
							p->elem.nr_out, len);

				if (err)
					log_limited(pair_log(p),
						    "%s: send to %s: %s",
						    p->name, be->name,
						    strerror(-err));
			}
			virtq_push(vq, &p->elem, 0);
		}
		virtio_queue_notify(vdev, tx_q(p));
		if (budget < 0) {
			/* More may wait: come back after a look at rx. */
			uint64_t one = 1;

			if (write(vdev->queues[tx_q(p)].kick_fd, &one,
				  sizeof(one)) < 0)
				log_limited(pair_log(p),
					    "%s: cannot requeue tx", p->name);
			break;
		}
	} while (ret == 0 && virtq_enable_notify(vq));
	pthread_mutex_unlock(&p->lock);
}

void net_pair_wake(struct net_pair *p)
{
	uint64_t one = 1;

	if (write(p->n->vdev.queues[rx_q(p)].kick_fd, &one, sizeof(one)) < 0)
		log_limited(pair_log(p), "%s: cannot wake its thread", p->name);
}

static bool fired(const struct net_poll *np, int i)
{
	return i >= 0 && np->fds[i].revents;
}

void *net_pair_thread(void *arg)
{
	struct net_pair *p = arg;
	struct virtio_net *n = p->n;
	struct virtio_queue *queues = n->vdev.queues;
	struct net_backend *be = n->be;
	struct net_poll *np = &p->poll;
	bool first = p->idx == 0;

	net_tx(p);
	if (first)
		net_ctrl(n);
	for (;;) {
		int timeout = -1, fd = -1, ctrl = -1, rx, tx;
		bool on = pair_on(p);

		if (!on)
			net_pair_drop_pending(p);
		np->nr = 0;
		net_poll_add(np, n->stop_fd, POLLIN);
		rx = net_poll_add(np, queues[rx_q(p)].kick_fd, POLLIN);
		tx = net_poll_add(np, queues[tx_q(p)].kick_fd, POLLIN);
		if (first)
			ctrl = net_poll_add(np, queues[n->ctrl_q].kick_fd,
					    POLLIN);
		if (on && be->fd[p->idx] >= 0 && !p->rx_blocked &&
		    !p->pend_head)
			fd = net_poll_add(np, be->fd[p->idx], POLLIN);
		if (first && be->ops->poll_fill)
			be->ops->poll_fill(be, np, &timeout);
		if (poll(np->fds, np->nr, timeout) < 0 && errno != EINTR) {
			log_error("%s: poll: %s", p->name, strerror(errno));
			break;
		}
		if (np->fds[0].revents)
			break;
		if (fired(np, rx) && virtio_kick_clear(&queues[rx_q(p)])) {
			p->rx_blocked = false;
			net_pend_flush(p);
			virtio_queue_notify(&n->vdev, rx_q(p));
		}
		if (fired(np, tx) && virtio_kick_clear(&queues[tx_q(p)]))
			net_tx(p);
		if (fired(np, ctrl) && virtio_kick_clear(&queues[n->ctrl_q]))
			net_ctrl(n);
		if (fired(np, fd))
			net_rx_backend(p);
		if (first && be->ops->poll_done) {
			be->ops->poll_done(be, np);
			virtio_queue_notify(&n->vdev, rx_q(p));
		}
	}
	return NULL;
}
