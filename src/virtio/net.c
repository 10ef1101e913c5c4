// SPDX-License-Identifier: MIT
/*
 * virtio-net (virtio 1.2, 5.1): a NIC over a network backend (src/net).
 * Queues are laid out as the specification has them: receive and transmit
 * queue of pair 0, of pair 1, ..., then the control queue (5.1.2). With a
 * backend of N queues (a tap with queues=N) the device offers MQ with N
 * pairs; the driver turns pairs on through the control queue
 * (net_ctrl.c). Each pair has its own thread (net_pair.c) from DRIVER_OK
 * to reset. This file holds the device: features, configuration, and
 * starting and stopping the pair threads.
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


static void net_set_offload(struct virtio_net *n)
{
	struct virtio_dev *vdev = &n->vdev;
	unsigned tun = 0;
	int ret;

	if (!n->be->ops->set_offload)
		return;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
		tun |= TUN_F_CSUM;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
		tun |= TUN_F_TSO4;
	if (virtio_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
		tun |= TUN_F_TSO6;
	ret = n->be->ops->set_offload(n->be, tun);
	if (ret)
		log_warn("%s: %s: cannot set offloads %#x: %s", n->name,
			 n->be->name, tun, strerror(-ret));
}

/* Only pair 0 is on after a reset (5.1.6.5.6.2); the threads are stopped. */
static void net_reset_pairs(struct virtio_net *n)
{
	int ret;

	for (unsigned i = 0; i < n->be->nr_queues; i++) {
		n->pairs[i].rx_blocked = false;
		net_pair_drop_pending(&n->pairs[i]);
	}
	if (n->active > 1) {
		ret = n->be->ops->set_queues(n->be, 1);
		if (ret)
			log_error("%s: %s: cannot detach queues: %s", n->name,
				  n->be->name, strerror(-ret));
	}
	n->active = 1;
}

static void net_stop(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	uint64_t one = 1;

	if (write(n->stop_fd, &one, sizeof(one)) < 0)
		log_error("%s: cannot stop its threads", n->name);
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		if (n->pairs[i].running)
			pthread_join(n->pairs[i].thread, NULL);
		n->pairs[i].running = false;
	}
	n->be->rx = NULL;
	if (!vdev->quiesced)
		net_reset_pairs(n);
}

/*
 * A RARP frame from the guest's MAC (as QEMU sends after a migration):
 * switches and bridges learn the port the guest is behind now, before the
 * guest itself sends anything.
 */
static void net_announce(struct virtio_net *n)
{
	uint8_t hdr[NET_HDR_LEN] = { 0 }, f[60] = { 0 };
	const uint8_t *mac = &n->config[NET_CFG_MAC];
	struct iovec iov[2] = {
		{ hdr, sizeof(hdr) }, { f, sizeof(f) },
	};
	int ret;

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x80;			/* RARP */
	f[13] = 0x35;
	f[15] = 1;			/* Ethernet */
	f[16] = 0x08;			/* IPv4 */
	f[18] = 6;
	f[19] = 4;
	f[21] = 3;			/* reverse request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 32, mac, 6);
	ret = n->be->vnet_hdr ?
	      n->be->ops->send(n->be, 0, iov, 2, sizeof(hdr) + sizeof(f)) :
	      n->be->ops->send(n->be, 0, iov + 1, 1, sizeof(f));
	if (ret)
		log_warn("%s: cannot announce the MAC on %s: %s", n->name,
			 n->be->name, strerror(-ret));
}

static int net_start(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;
	uint64_t v;
	int ret;

	net_set_offload(n);
	while (read(n->stop_fd, &v, sizeof(v)) == sizeof(v))
		;
	/* Without MQ the driver sees one pair and the control queue at 2. */
	n->nr_pairs = virtio_has_feature(vdev, VIRTIO_NET_F_MQ) ?
			      n->be->nr_queues : 1;
	n->ctrl_q = 2 * n->nr_pairs;
	n->be->rx = net_pair_backend_rx;
	n->be->rx_opaque = &n->pairs[0];
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		struct net_pair *p = &n->pairs[i];

		ret = -pthread_create(&p->thread, NULL, net_pair_thread, p);
		if (ret) {
			log_error("%s: cannot start a thread: %s", n->name,
				  strerror(-ret));
			net_stop(vdev);
			return ret;
		}
		p->running = true;
		pthread_setname_np(p->thread, p->name);
	}
	if (n->announce) {
		n->announce = false;
		net_announce(n);
	}
	return 0;
}

static int net_pair_init(struct virtio_net *n, unsigned i)
{
	struct net_pair *p = &n->pairs[i];

	p->rxbuf = malloc(NET_MAX_FRAME);
	p->rx_elems = calloc(NET_RX_MAX_BUFS, sizeof(*p->rx_elems));
	/* Room for the pair's own fds, so poll() always sees stop_fd. */
	if (!p->rxbuf || !p->rx_elems || net_poll_add(&p->poll, -1, 0) < 0)
		return -ENOMEM;
	p->poll.nr = 0;
	pthread_mutex_init(&p->lock, NULL);
	p->idx = i;
	p->n = n;
	if (i == 0)
		snprintf(p->name, sizeof(p->name), "%.15s", n->name);
	else
		snprintf(p->name, sizeof(p->name), "%.11s.%u", n->name, i);
	return 0;
}

static void net_free(struct virtio_net *n)
{
	for (unsigned i = 0; i < NET_MAX_QUEUES; i++) {
		struct net_pair *p = &n->pairs[i];

		if (p->n)
			pthread_mutex_destroy(&p->lock);
		net_poll_free(&p->poll);
		free(p->rx_elems);
		free(p->rxbuf);
	}
	net_backend_close(n->be);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	free(n);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *n = vdev->opaque;

	virtio_pci_destroy(&n->vdev);
	net_free(n);
}

/* The pairs the driver turned on; the rest is the transport's. */
static int net_save(struct virtio_dev *vdev, struct state_writer *w)
{
	struct virtio_net *n = vdev->opaque;

	state_put_u32(w, __atomic_load_n(&n->active, __ATOMIC_ACQUIRE));
	state_put_u8(w, n->be->ops->save != NULL);
	return n->be->ops->save ? n->be->ops->save(n->be, w) : 0;
}

static int net_load(struct virtio_dev *vdev, struct state_reader *r)
{
	struct virtio_net *n = vdev->opaque;
	uint32_t active;
	uint8_t has_be;
	int ret;

	ret = state_get_u32(r, &active);
	ret = ret ?: state_get_u8(r, &has_be);
	if (ret)
		return ret;
	if (has_be != (n->be->ops->load != NULL))
		return state_fail(r, "%s: saved with another network backend",
				  n->name);
	if (has_be) {
		ret = n->be->ops->load(n->be, r);
		if (ret)
			return ret;
	}
	if (active < 1 || active > n->be->nr_queues)
		return state_fail(r, "%s: %u active queue pairs, the backend "
				  "has %u", n->name, active, n->be->nr_queues);
	n->announce = true;
	if (active > 1) {
		ret = n->be->ops->set_queues(n->be, active);
		if (ret)
			return state_fail(r, "%s: %s: cannot attach %u queues: "
					  "%s", n->name, n->be->name, active,
					  strerror(-ret));
	}
	n->active = active;
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.start = net_start,
	.stop = net_stop,
	.destroy = net_destroy,
	.save = net_save,
	.load = net_load,
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
	if (be->nr_queues > 1)
		f |= 1ULL << VIRTIO_NET_F_MQ;
	return f;
}

int virtio_net_create_on(const struct dev_env *env, struct net_backend *be,
			 const uint8_t mac[6], unsigned index,
			 struct device **out)
{
	unsigned nq = be->nr_queues;
	struct virtio_net *n;
	int ret = -ENOMEM;

	if (nq < 1 || nq > NET_MAX_QUEUES) {
		net_backend_close(be);
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		log_error("virtio-net: out of memory");
		net_backend_close(be);
		return -ENOMEM;
	}
	n->be = be;
	snprintf(n->name, sizeof(n->name), "virtio-net%u", index);
	n->nr_pairs = 1;
	n->ctrl_q = 2;
	n->active = 1;
	n->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->stop_fd < 0)
		goto err_mem;
	for (unsigned i = 0; i < nq; i++)
		if (net_pair_init(n, i))
			goto err_mem;
	memcpy(&n->config[NET_CFG_MAC], mac, 6);
	n->config[NET_CFG_STATUS] = NET_S_LINK_UP;
	n->config[NET_CFG_MAX_PAIRS] = nq;	/* le16, nq < 256 */
	ret = virtio_pci_init(&n->vdev, env, n->name, VIRTIO_ID_NET,
			      PCI_CLASS_NET_ETHERNET, net_features(be),
			      2 * nq + 1, n->config, NET_CFG_LEN, &net_ops, n);
	if (ret) {
		log_error("%s: %s", n->name, strerror(-ret));
		goto err;
	}
	*out = &n->vdev.dev;
	return 0;
err_mem:
	log_error("virtio-net: out of memory");
err:
	net_free(n);
	return ret;
}

int virtio_net_create(const struct dev_env *env, const struct net_config *cfg,
		      unsigned index, struct device **out)
{
	struct net_backend *be;
	struct net_opts o;
	uint8_t mac[6];
	char err[256];
	int ret;

	ret = net_parse(cfg->spec, &o, err, sizeof(err));
	if (!ret)
		ret = net_backend_open(&o, &be, err, sizeof(err));
	if (ret) {
		log_error("%s", err);
		return ret;
	}
	if (o.has_mac)
		memcpy(mac, o.mac, 6);
	else
		net_mac_derive(env->vm_name, index, mac);
	return virtio_net_create_on(env, be, mac, index, out);
}
