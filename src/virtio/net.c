// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.2, 5.1): receive, transmit and control queues over
 * a network backend (src/net). One thread per NIC, running between
 * DRIVER_OK and reset, owns all three queues and the backend: it waits in
 * poll() for queue kicks, the backend's fd (tap) or its sockets and timers
 * (slirp), so no packet work happens on vCPU threads.
 *
 * Frames from the backend that find no receive buffer wait in a short
 * queue; a tap is not read again until that queue drains.
 */
#include "virtio/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net.h"
#include "virtio/net_int.h"
#include "virtio/virtio_pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define VIRTIO_ID_NET		1
#define PCI_CLASS_NET_ETHERNET	0x020000

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
#define VIRTIO_NET_F_CTRL_MAC_ADDR 23

#define NET_CFG_MAC		0
#define NET_CFG_STATUS		6
#define NET_CFG_MAX_PAIRS	8
#define NET_CFG_LEN		10
#define NET_S_LINK_UP		1

#define NET_CTRL_RX		0
#define NET_CTRL_MAC		1
#define NET_CTRL_MAC_TABLE_SET	0
#define NET_CTRL_MAC_ADDR_SET	1
#define NET_CTRL_RX_NOBCAST	5
#define NET_OK			0
#define NET_ERR			1

enum { Q_RX, Q_TX, Q_CTRL, NR_QUEUES };

/* Frames the guest has no buffer for yet; TCP (or the peer) resends. */
#define NET_PENDING_MAX		256
#define NET_TX_BUDGET		256	/* frames per round before rx gets a turn */

struct net_pkt {
	struct net_pkt *next;
	size_t len;		/* frame, without header */
	uint8_t hdr[NET_HDR_LEN];
	uint8_t frame[];
};

struct virtio_net {
	struct virtio_dev vdev;
	char name[24];
	struct net_backend *be;
	uint8_t config[NET_CFG_LEN];

	pthread_t thread;
	bool running;
	int stop_fd;
	struct net_poll poll;

	uint8_t *rxbuf;			/* NET_MAX_FRAME */
	uint8_t txhdr[NET_HDR_LEN];
	struct virtq_elem *rx_elems;	/* NET_RX_MAX_BUFS */
	struct virtq_elem elem;		/* tx and ctrl */
	struct net_pkt *pend_head, *pend_tail;
	unsigned nr_pend;
	bool rx_blocked;		/* no buffers: wait for a kick */
};

static struct virtq *net_vq(struct virtio_net *n, unsigned q)
{
	return &n->vdev.queues[q].vq;
}

/* 1 delivered or dropped, 0 no room (retry on kick), <0 queue broken */
static int net_rx_one(struct virtio_net *n, const void *hdr, const void *frame,
		      size_t len)
{
	bool mrg = virtio_has_feature(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);
	int ret;

	if (!n->vdev.queues[Q_RX].enabled)
		return 1;
	while ((ret = net_rx_put(net_vq(n, Q_RX), n->rx_elems, mrg, hdr, frame,
				 len)) == -EAGAIN) {
		if (!net_rx_want_buffers(net_vq(n, Q_RX))) {
			n->rx_blocked = true;
			return 0;
		}
	}
	return ret < 0 ? ret : 1;
}

static void net_pend(struct virtio_net *n, const void *hdr, const void *frame,
		     size_t len)
{
	struct net_pkt *p;

	if (n->nr_pend == NET_PENDING_MAX)
		return;
	p = malloc(sizeof(*p) + len);
	if (!p)
		return;
	p->next = NULL;
	p->len = len;
	memcpy(p->hdr, hdr, NET_HDR_LEN);
	memcpy(p->frame, frame, len);
	if (n->pend_tail)
		n->pend_tail->next = p;
	else
		n->pend_head = p;
	n->pend_tail = p;
	n->nr_pend++;
}

static void net_pend_flush(struct virtio_net *n)
{
	struct net_pkt *p;

	while ((p = n->pend_head)) {
		if (net_rx_one(n, p->hdr, p->frame, p->len) == 0)
			return;
		n->pend_head = p->next;
		if (!n->pend_head)
			n->pend_tail = NULL;
		n->nr_pend--;
		free(p);
	}
}

static void net_pend_clear(struct virtio_net *n)
{
	while (n->pend_head) {
		struct net_pkt *p = n->pend_head;

		n->pend_head = p->next;
		free(p);
	}
	n->pend_tail = NULL;
	n->nr_pend = 0;
}

/* slirp's frames, during poll_done */
static void net_backend_rx(void *opaque, const void *frame, size_t len)
{
	static const uint8_t hdr[NET_HDR_LEN];
	struct virtio_net *n = opaque;

	if (len + NET_HDR_LEN > NET_MAX_FRAME) {
		log_once("%s: %zu-byte frame from backend dropped", n->name,
			 len);
		return;
	}
	if (n->pend_head || n->rx_blocked ||
	    net_rx_one(n, hdr, frame, len) == 0)
		net_pend(n, hdr, frame, len);
}

/* tap readable: move frames while the guest has buffers */
static void net_rx_tap(struct virtio_net *n)
{
	for (int i = 0; i < NET_TX_BUDGET && !n->rx_blocked && !n->pend_head;
	     i++) {
		ssize_t len = n->be->ops->recv(n->be, n->rxbuf, NET_MAX_FRAME);

		if (len == -EAGAIN)
			break;
		if (len < 0) {
			log_once("%s: read from %s: %s", n->name, n->be->name,
				 strerror(-len));
			break;
		}
		if (len <= NET_HDR_LEN)
			continue;
		if (net_rx_one(n, n->rxbuf, n->rxbuf + NET_HDR_LEN,
			       len - NET_HDR_LEN) == 0)
			net_pend(n, n->rxbuf, n->rxbuf + NET_HDR_LEN,
				 len - NET_HDR_LEN);
	}
	virtio_queue_notify(&n->vdev, Q_RX);
}

static void net_tx(struct virtio_net *n)
{
	struct virtq *vq = net_vq(n, Q_TX);
	int ret, budget = NET_TX_BUDGET;

	if (!n->vdev.queues[Q_TX].enabled)
		return;
	do {
		while (budget-- > 0 && (ret = virtq_pop(vq, &n->elem)) == 1) {
			ssize_t len = net_tx_get(&n->elem, !n->be->vnet_hdr,
						 n->txhdr);

			if (len > 0) {
				int err = n->be->ops->send(n->be, n->elem.iov,
							   n->elem.nr_out, len);

				if (err)
					log_once("%s: send to %s: %s", n->name,
						 n->be->name, strerror(-err));
			}
			virtq_push(vq, n->elem.head, 0);
		}
		virtio_queue_notify(&n->vdev, Q_TX);
		if (budget < 0) {
			/* More may wait: come back after a look at rx. */
			uint64_t one = 1;

			if (write(n->vdev.queues[Q_TX].kick_fd, &one,
				  sizeof(one)) < 0)
				log_once("%s: cannot requeue tx", n->name);
			return;
		}
	} while (ret == 0 && virtq_enable_notify(vq));
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
	return NET_ERR;
}

static void net_ctrl(struct virtio_net *n)
{
	struct virtq *vq = net_vq(n, Q_CTRL);
	struct virtq_elem *e = &n->elem;
	uint8_t req[2 + 64], ack;
	int ret;

	if (!n->vdev.queues[Q_CTRL].enabled)
		return;
	do {
		while ((ret = virtq_pop(vq, e)) == 1) {
			uint32_t written = 0;

			if (e->out_len < 2 || e->in_len < 1) {
				log_once("%s: malformed control request",
					 n->name);
			} else {
				/* Only short commands' data is read: the MAC
				 * table (any length) is accepted unread. */
				virtq_iov_to_buf(e->iov, e->nr_out, 0, req,
						 sizeof(req));
				ack = net_ctrl_cmd(n, req[0], req[1], req + 2,
						   e->out_len - 2);
				written = virtq_buf_to_iov(&e->iov[e->nr_out],
							   e->nr_in,
							   e->in_len - 1, &ack,
							   1);
			}
			virtq_push(vq, e->head, written);
		}
		virtio_queue_notify(&n->vdev, Q_CTRL);
	} while (ret == 0 && virtq_enable_notify(vq));
}

static void *net_thread(void *arg)
{
	struct virtio_net *n = arg;
	struct net_poll *p = &n->poll;

	net_tx(n);
	net_ctrl(n);
	for (;;) {
		int timeout = -1, tap = -1;

		p->nr = 0;
		net_poll_add(p, n->stop_fd, POLLIN);
		for (unsigned q = 0; q < NR_QUEUES; q++)
			net_poll_add(p, n->vdev.queues[q].kick_fd, POLLIN);
		if (n->be->fd >= 0 && !n->rx_blocked && !n->pend_head)
			tap = net_poll_add(p, n->be->fd, POLLIN);
		if (n->be->ops->poll_fill)
			n->be->ops->poll_fill(n->be, p, &timeout);
		if (poll(p->fds, p->nr, timeout) < 0 && errno != EINTR) {
			log_error("%s: poll: %s", n->name, strerror(errno));
			break;
		}
		if (p->fds[0].revents)
			break;
		if (p->fds[1 + Q_RX].revents &&
		    virtio_kick_clear(&n->vdev.queues[Q_RX])) {
			n->rx_blocked = false;
			net_pend_flush(n);
			virtio_queue_notify(&n->vdev, Q_RX);
		}
		if (p->fds[1 + Q_TX].revents &&
		    virtio_kick_clear(&n->vdev.queues[Q_TX]))
			net_tx(n);
		if (p->fds[1 + Q_CTRL].revents &&
		    virtio_kick_clear(&n->vdev.queues[Q_CTRL]))
			net_ctrl(n);
		if (tap >= 0 && p->fds[tap].revents)
			net_rx_tap(n);
		if (n->be->ops->poll_done) {
			n->be->ops->poll_done(n->be, p);
			virtio_queue_notify(&n->vdev, Q_RX);
		}
	}
	return NULL;
}

static int net_start(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	unsigned tun = 0;
	uint64_t v;
	int ret;

	if (n->be->ops->set_offload) {
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
			tun |= TUN_F_CSUM;
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
			tun |= TUN_F_TSO4;
		if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
			tun |= TUN_F_TSO6;
		ret = n->be->ops->set_offload(n->be, tun);
		if (ret)
			log_warn("%s: %s: cannot set offloads %#x: %s",
				 n->name, n->be->name, tun, strerror(-ret));
	}
	while (read(n->stop_fd, &v, sizeof(v)) == sizeof(v))
		;
	n->rx_blocked = false;
	n->be->rx = net_backend_rx;
	n->be->rx_opaque = n;
	ret = -pthread_create(&n->thread, NULL, net_thread, n);
	n->running = ret == 0;
	if (n->running)
		pthread_setname_np(n->thread, n->name);
	return ret;
}

static void net_stop(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	uint64_t one = 1;

	if (!n->running)
		return;
	n->running = false;
	if (write(n->stop_fd, &one, sizeof(one)) < 0)
		log_error("%s: cannot stop its thread", n->name);
	pthread_join(n->thread, NULL);
	n->be->rx = NULL;
	net_pend_clear(n);
}

static void net_free(struct virtio_net *n)
{
	net_backend_close(n->be);
	net_poll_free(&n->poll);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n->rx_elems);
	free(n->rxbuf);
	free(n);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;

	virtio_pci_destroy(&n->vdev);
	net_free(n);
}

static const struct virtio_dev_ops net_ops = {
	.start = net_start,
	.stop = net_stop,
	.destroy = net_destroy,
};

static uint64_t net_features(const struct net_backend *be)
{
	uint64_t f = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS |
		     1ULL << VIRTIO_NET_F_MRG_RXBUF |
		     1ULL << VIRTIO_NET_F_CTRL_VQ |
		     1ULL << VIRTIO_NET_F_CTRL_RX |
		     1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR;

	/* Offloads need the host kernel on the other side (tap). */
	if (be->vnet_hdr)
		f |= 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
		     1ULL << VIRTIO_NET_F_HOST_TSO4 |
		     1ULL << VIRTIO_NET_F_HOST_TSO6 |
		     1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		     1ULL << VIRTIO_NET_F_GUEST_TSO6;
	return f;
}

int virtio_net_create(struct vm *vm, const struct net_config *cfg,
		      unsigned index)
{
	struct virtio_net *n;
	struct net_opts o;
	char err[256];
	int ret;

	ret = net_parse(cfg->spec, &o, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return ret;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->rxbuf = malloc(NET_MAX_FRAME);
	n->rx_elems = calloc(NET_RX_MAX_BUFS, sizeof(*n->rx_elems));
	if (n->stop_fd < 0 || !n->rxbuf || !n->rx_elems) {
		ret = -ENOMEM;
		log_error("virtio-net: out of memory");
		goto err;
	}
	snprintf(n->name, sizeof(n->name), "virtio-net%u", index);
	ret = net_backend_open(&o, &n->be, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		goto err;
	}
	if (o.has_mac)
		memcpy(&n->config[NET_CFG_MAC], o.mac, 6);
	else
		net_mac_derive(vm->cfg->name, index, &n->config[NET_CFG_MAC]);
	n->config[NET_CFG_STATUS] = NET_S_LINK_UP;
	n->config[NET_CFG_MAX_PAIRS] = 1;
	ret = virtio_pci_init(&n->vdev, vm, n->name, VIRTIO_ID_NET,
			      PCI_CLASS_NET_ETHERNET, net_features(n->be),
			      NR_QUEUES, n->config, NET_CFG_LEN, &net_ops, n);
	if (ret) {
		log_error("%s: %s", n->name, strerror(-ret));
		goto err;
	}
	return 0;
err:
	net_free(n);
	return ret;
}
