// SPDX-License-Identifier: MIT
/*
 * The whole virtio-net device without a VM, driven through its PCI
 * transport over a backend of socketpairs: multiqueue features and
 * configuration, VQ_PAIRS_SET, receive steering and transmit per pair,
 * offload negotiation, link status, and hostile transmit, receive and
 * control chains against the running device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/pci.h"
#include "net/net.h"
#include "test.h"
#include "virtio/net_int.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

/*
 * The device through its PCI transport, over a backend whose queues are
 * socketpairs: the test holds the other ends (peer[q]), so a frame the
 * device sends on backend queue q is read from peer[q], and one written
 * to peer[q] is what the device reads from queue q.
 */
struct fake_be {
	struct net_backend be;
	int peer[NET_MAX_QUEUES];
	unsigned queues_on;	/* the last set_queues */
	unsigned nr_set;	/* set_queues calls */
	int fail;		/* the next set_queues returns it, if nonzero */
	int offload;		/* the last set_offload, or -1 */
};

static struct vm vm;
static struct fake_be *fbe;
static unsigned devfn;
static uint64_t common, notify, devcfg;
static uint32_t notify_mult;
static unsigned msix_cap;

/* what the test reads back from the backend */
static uint8_t out[NET_MAX_FRAME + 16];

#define DEV_QSIZE	32
#define DEV_QUEUES	9		/* 4 pairs + control */
#define RING(q)		(0x100000 + (q) * 0x4000ull)
#define BUFS(q)		(0x200000 + (q) * 0x10000ull)
static uint16_t dev_avail[DEV_QUEUES];

static int fake_send(struct net_backend *be, unsigned q,
		     const struct iovec *iov, unsigned cnt, size_t len)
{
	(void)len;
	return writev(be->fd[q], iov, cnt) < 0 ? -errno : 0;
}

static ssize_t fake_recv(struct net_backend *be, unsigned q, void *buf,
			 size_t len)
{
	ssize_t n = recv(be->fd[q], buf, len, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

static int fake_set_queues(struct net_backend *be, unsigned n)
{
	struct fake_be *f = (struct fake_be *)be;

	int fail = f->fail;

	__atomic_fetch_add(&f->nr_set, 1, __ATOMIC_SEQ_CST);
	f->fail = 0;
	if (fail)
		return fail;
	__atomic_store_n(&f->queues_on, n, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_set_offload(struct net_backend *be, unsigned tun_flags)
{
	struct fake_be *f = (struct fake_be *)be;

	__atomic_store_n(&f->offload, (int)tun_flags, __ATOMIC_SEQ_CST);
	return 0;
}

static void fake_close(struct net_backend *be)
{
	struct fake_be *f = (struct fake_be *)be;

	for (unsigned q = 0; q < be->nr_queues; q++) {
		close(be->fd[q]);
		close(f->peer[q]);
	}
	free(f);
}

static const struct net_backend_ops fake_ops = {
	.send = fake_send,
	.recv = fake_recv,
	.set_queues = fake_set_queues,
	.set_offload = fake_set_offload,
	.close = fake_close,
};

VDRV_ACCESSORS(vm)

/*
 * A fresh bus with one NIC over a fake backend of nq queues; vnet_hdr:
 * the backend takes the virtio-net header (a tap), else not (slirp).
 */
static void add_nic_be(unsigned nq, bool vnet_hdr)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	uint64_t bar;
	int sv[2];

	if (vm.pci)
		fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	fbe = calloc(1, sizeof(*fbe));
	fbe->be = (struct net_backend){ .ops = &fake_ops, .name = "fake",
					.vnet_hdr = vnet_hdr, .nr_queues = nq };
	fbe->offload = -1;
	for (unsigned q = 0; q < nq; q++) {
		CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv),
			 0);
		fbe->be.fd[q] = sv[0];
		fbe->peer[q] = sv[1];
	}
	fbe->queues_on = 1;
	CHECK_EQ(fake_added(virtio_net_create_on(fake_env(&vm), &fbe->be, mac, 0,
					    &fake_new_dev)), 0);
	for (devfn = 8; devfn < 256; devfn += 8)
		if (vm.pci->devs[devfn >> 3])
			break;
	bar = pci_config_read(vm.pci, devfn, PCI_BAR0, 4) & ~0xfu;
	bar |= (uint64_t)pci_config_read(vm.pci, devfn, PCI_BAR0 + 4, 4) << 32;
	for (unsigned ptr = pci_config_read(vm.pci, devfn, PCI_CAPABILITY_LIST, 1);
	     ptr; ptr = pci_config_read(vm.pci, devfn, ptr + 1, 1)) {
		unsigned id = pci_config_read(vm.pci, devfn, ptr, 1);
		unsigned type = pci_config_read(vm.pci, devfn, ptr + 3, 1);
		uint64_t off = pci_config_read(vm.pci, devfn, ptr + 8, 4);

		if (id == PCI_CAP_ID_MSIX)
			msix_cap = ptr;
		if (id != PCI_CAP_ID_VNDR)
			continue;
		if (type == 1)
			common = bar + off;
		if (type == 2) {
			notify = bar + off;
			notify_mult = pci_config_read(vm.pci, devfn, ptr + 16, 4);
		}
		if (type == 4)
			devcfg = bar + off;
	}
}

static void add_nic(unsigned nq)
{
	add_nic_be(nq, true);
}

static uint64_t dev_features(void)
{
	uint64_t f;

	wr(common + 0x00, 0, 4);
	f = rd(common + 0x04, 4);
	wr(common + 0x00, 1, 4);
	return f | rd(common + 0x04, 4) << 32;
}

/* Negotiate all offered features but drop; set up nq queues; DRIVER_OK. */
static void dev_up(uint64_t drop, unsigned nq)
{
	uint64_t f = dev_features() & ~drop;

	vdrv_negotiate(&vm, common, f);
	memset(hva(RING(0), DEV_QUEUES * 0x4000), 0, DEV_QUEUES * 0x4000);
	memset(dev_avail, 0, sizeof(dev_avail));
	for (unsigned q = 0; q < nq; q++)
		vdrv_queue_setup(&vm, common, q, DEV_QSIZE, RING(q));
	wr(common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(common + 0x14, 1), 0x0f);
}

static uint16_t dev_used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)hva(RING(q) + 0x2002, 2),
			       __ATOMIC_ACQUIRE);
}

/*
 * Post a chain on queue q: out bytes (none if !out), then an in buffer of
 * in_len (none if 0); notify. Returns the buffer slot (data at
 * BUFS(q) + slot * 0x1000, in buffer at + 0x800).
 */
static unsigned dev_post(unsigned q, const void *out, uint32_t out_len,
			 uint32_t in_len)
{
	struct virtq_desc *d = hva(RING(q), 16 * DEV_QSIZE);
	uint16_t *a = hva(RING(q) + 0x1000, 6 + 2 * DEV_QSIZE);
	unsigned slot = dev_avail[q] % 16, head = 2 * slot, n = head;
	uint64_t data = BUFS(q) + slot * 0x1000ull;

	if (out) {
		memcpy(hva(data, out_len), out, out_len);
		d[n] = (struct virtq_desc){ data, out_len,
					    in_len ? VIRTQ_DESC_F_NEXT : 0,
					    n + 1 };
		n++;
	}
	if (in_len)
		d[n] = (struct virtq_desc){ data + 0x800, in_len,
					    VIRTQ_DESC_F_WRITE, 0 };
	a[2 + dev_avail[q] % DEV_QSIZE] = head;
	__atomic_store_n(&a[1], ++dev_avail[q], __ATOMIC_RELEASE);
	wr(notify + q * notify_mult, q, 2);
	return slot;
}

static bool dev_wait_used(unsigned q, uint16_t idx)
{
	for (int i = 0; i < 3000 && dev_used_idx(q) != idx; i++)
		usleep(1000);
	return dev_used_idx(q) == idx;
}

/* One control command; the ack, or -1 if none came. */
static int dev_ctrl(unsigned q, uint8_t class, uint8_t cmd, const void *data,
		    size_t len)
{
	uint8_t req[2 + 16] = { class, cmd }, *ack;
	unsigned slot;

	memcpy(req + 2, data, len);
	slot = dev_avail[q] % 16;	/* the one dev_post takes */
	ack = hva(BUFS(q) + slot * 0x1000ull + 0x800, 1);
	*ack = 0xff;
	dev_post(q, req, 2 + len, 1);
	if (!dev_wait_used(q, dev_avail[q]))
		return -1;
	return *ack;
}

static int set_pairs(unsigned q, uint16_t pairs)
{
	uint8_t le[2] = { pairs & 0xff, pairs >> 8 };

	return dev_ctrl(q, 4, 0, le, 2);
}

/* A frame from the host on backend queue bq: is it on receive queue rq? */
static bool rx_lands(unsigned bq, unsigned rq, uint8_t tag)
{
	uint8_t pkt[NET_HDR_LEN + 60] = { 0 };
	uint16_t idx = dev_used_idx(rq);
	unsigned slot;

	slot = dev_post(rq, NULL, 0, 2048);
	pkt[NET_HDR_LEN + 59] = tag;
	CHECK_EQ(send(fbe->peer[bq], pkt, sizeof(pkt), 0), sizeof(pkt));
	if (!dev_wait_used(rq, idx + 1))
		return false;
	return ((uint8_t *)hva(BUFS(rq) + slot * 0x1000ull + 0x800,
			       2048))[NET_HDR_LEN + 59] == tag;
}

/* A frame the guest sends on transmit queue tq: from which backend queue? */
static int tx_leaves(unsigned tq, uint8_t tag)
{
	uint8_t pkt[NET_HDR_LEN + 60] = { 0 }, got[sizeof(pkt)];
	struct pollfd pfd[NET_MAX_QUEUES];
	unsigned nq = fbe->be.nr_queues;

	pkt[NET_HDR_LEN + 59] = tag;
	dev_post(tq, pkt, sizeof(pkt), 0);
	for (unsigned q = 0; q < nq; q++)
		pfd[q] = (struct pollfd){ .fd = fbe->peer[q], .events = POLLIN };
	if (poll(pfd, nq, 3000) <= 0)
		return -1;
	for (unsigned q = 0; q < nq; q++)
		if (pfd[q].revents && recv(fbe->peer[q], got, sizeof(got), 0) ==
		    sizeof(got) && got[NET_HDR_LEN + 59] == tag)
			return q;
	return -1;
}

/* MQ, max_virtqueue_pairs, 2N+1 queues and 2N+2 MSI-X vectors, or none. */
static void test_mq_config(void)
{
	add_nic(4);
	CHECK(dev_features() & (1ULL << VIRTIO_NET_F_MQ));
	CHECK(dev_features() & (1ULL << VIRTIO_NET_F_CTRL_VQ));
	CHECK_EQ(rd(devcfg + NET_CFG_MAX_PAIRS, 2), 4);
	CHECK_EQ(rd(common + 0x12, 2), 9);
	CHECK_EQ((pci_config_read(vm.pci, devfn, msix_cap + 2, 2) & 0x7ff) + 1,
		 10);
	CHECK_EQ(rd(devcfg + 0, 4), 0x01005452);
	/* until a driver asks, the backend keeps queue 0 only */
	CHECK_EQ(fbe->nr_set, 0);
	add_nic(1);
	CHECK(!(dev_features() & (1ULL << VIRTIO_NET_F_MQ)));
	CHECK_EQ(rd(devcfg + NET_CFG_MAX_PAIRS, 2), 1);
	CHECK_EQ(rd(common + 0x12, 2), 3);
	CHECK_EQ((pci_config_read(vm.pci, devfn, msix_cap + 2, 2) & 0x7ff) + 1,
		 4);
}

/* VQ_PAIRS_SET: 1..N accepted, 0, N+1 and a short command refused. */
static void test_mq_pairs_set(void)
{
	const unsigned ctrl = 8;
	uint8_t half = 2;

	add_nic(4);
	dev_up(0, DEV_QUEUES);
	for (unsigned p = 1; p <= 4; p++) {
		CHECK_EQ(set_pairs(ctrl, p), 0);
		CHECK_EQ(fbe->queues_on, p);
	}
	CHECK_EQ(dev_ctrl(ctrl, 4, 0, &half, 1), 1);	/* short */
	CHECK_EQ(set_pairs(ctrl, 0), 1);
	CHECK_EQ(set_pairs(ctrl, 5), 1);
	CHECK_EQ(set_pairs(ctrl, 0x8000), 1);
	CHECK_EQ(dev_ctrl(ctrl, 4, 1, "\2\0", 2), 1);	/* RSS: not offered */
	CHECK_EQ(fbe->queues_on, 4);
	CHECK_EQ(set_pairs(ctrl, 2), 0);
	CHECK_EQ(fbe->queues_on, 2);
	/* the backend refuses: the command fails, the old count is back */
	fbe->fail = -EIO;
	CHECK_EQ(set_pairs(ctrl, 3), 1);
	CHECK_EQ(fbe->queues_on, 2);
	fbe->fail = -EIO;
	CHECK_EQ(set_pairs(ctrl, 1), 1);
	CHECK_EQ(fbe->queues_on, 2);
	CHECK(rx_lands(1, 2, 0x30));	/* pair 1 still on */
	CHECK(!(rd(common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET));
	/* a reset leaves pair 0 only */
	CHECK_EQ(set_pairs(ctrl, 4), 0);
	wr(common + 0x14, 0, 1);
	CHECK_EQ(fbe->queues_on, 1);
}

/* Frames from backend queue i reach receive queue i; transmit likewise. */
static void test_mq_steering(void)
{
	const unsigned ctrl = 8;

	add_nic(4);
	dev_up(0, DEV_QUEUES);
	CHECK(rx_lands(0, 0, 0x10));
	CHECK_EQ(tx_leaves(1, 0x11), 0);
	CHECK_EQ(set_pairs(ctrl, 4), 0);
	CHECK(rx_lands(2, 4, 0x12));
	CHECK(rx_lands(3, 6, 0x13));
	CHECK(rx_lands(0, 0, 0x14));
	CHECK_EQ(tx_leaves(3, 0x15), 1);
	CHECK_EQ(tx_leaves(7, 0x16), 3);
	/* pair 3 off: what is still on its transmit queue goes via queue 0 */
	CHECK_EQ(set_pairs(ctrl, 3), 0);
	CHECK_EQ(tx_leaves(7, 0x17), 0);
	CHECK_EQ(tx_leaves(5, 0x18), 2);
	CHECK(rx_lands(2, 4, 0x19));
	/* nothing reaches the receive queue of a pair that is off */
	{
		uint16_t idx = dev_used_idx(6);
		uint8_t pkt[NET_HDR_LEN + 60] = { 0 };

		dev_post(6, NULL, 0, 2048);
		CHECK_EQ(send(fbe->peer[3], pkt, sizeof(pkt), 0), sizeof(pkt));
		usleep(200000);
		CHECK_EQ(dev_used_idx(6), idx);
	}
	wr(common + 0x14, 0, 1);
}

/* A driver without MQ: one pair, the control queue at 2, no MQ commands. */
static void test_mq_not_negotiated(void)
{
	uint8_t on = 1;

	add_nic(4);
	dev_up(1ULL << VIRTIO_NET_F_MQ, 3);
	CHECK_EQ(dev_ctrl(2, 0, 0, &on, 1), 0);		/* promiscuous */
	CHECK_EQ(set_pairs(2, 1), 1);
	CHECK(rx_lands(0, 0, 0x20));
	CHECK_EQ(tx_leaves(1, 0x21), 0);
	CHECK_EQ(fbe->nr_set, 0);
	wr(common + 0x14, 0, 1);
}

#define F(bit)		(1ULL << (bit))
#define OFFLOADS	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |	\
			 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |	\
			 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))

/*
 * Offloads are offered over a backend that keeps the header, and the
 * backend is told exactly what the driver accepted for receive.
 */
static void test_offloads(void)
{
	uint64_t always = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
			  F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
			  F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR);

	add_nic(1);
	CHECK_EQ(dev_features() & (always | OFFLOADS), always | OFFLOADS);
	dev_up(0, 3);
	CHECK_EQ(fbe->offload, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	wr(common + 0x14, 0, 1);
	dev_up(F(VIRTIO_NET_F_GUEST_TSO6), 3);
	CHECK_EQ(fbe->offload, TUN_F_CSUM | TUN_F_TSO4);
	wr(common + 0x14, 0, 1);
	dev_up(OFFLOADS, 3);
	CHECK_EQ(fbe->offload, 0);
	wr(common + 0x14, 0, 1);
	/* slirp: whole frames only */
	add_nic_be(1, false);
	CHECK_EQ(dev_features() & (always | OFFLOADS), always);
	wr(common + 0x14, 0, 1);
}

/* A header asking for segmentation passes to a tap and never to slirp. */
static void test_tx_gso_header(void)
{
	uint8_t pkt[NET_HDR_LEN + 60] = { 0 }, got[sizeof(pkt)];

	add_nic(1);
	dev_up(0, 3);
	pkt[NET_HDR_FLAGS] = NET_HDR_F_NEEDS_CSUM;
	pkt[NET_HDR_GSO_TYPE] = 1;	/* TCPv4 */
	dev_post(1, pkt, sizeof(pkt), 0);
	CHECK(dev_wait_used(1, 1));
	CHECK_EQ(recv(fbe->peer[0], got, sizeof(got), MSG_DONTWAIT),
		 sizeof(got));
	CHECK(!memcmp(got, pkt, sizeof(pkt)));
	wr(common + 0x14, 0, 1);
	add_nic_be(1, false);
	dev_up(0, 3);
	dev_post(1, pkt, sizeof(pkt), 0);
	CHECK(dev_wait_used(1, 1));
	CHECK_EQ(recv(fbe->peer[0], got, sizeof(got), MSG_DONTWAIT), -1);
	CHECK_EQ(tx_leaves(1, 0x41), 0);
	wr(common + 0x14, 0, 1);
}

/* STATUS is offered and the link reads as up. */
static void test_link_status(void)
{
	add_nic(1);
	CHECK(dev_features() & F(VIRTIO_NET_F_STATUS));
	CHECK_EQ(rd(devcfg + NET_CFG_STATUS, 2), NET_S_LINK_UP);
	dev_up(0, 3);
	CHECK_EQ(rd(devcfg + NET_CFG_STATUS, 2), NET_S_LINK_UP);
	wr(common + 0x14, 0, 1);
}

/* Post raw descriptors (at most two, chained by the test) on queue q. */
static void dev_post_descs(unsigned q, const struct virtq_desc *d,
			   unsigned nd)
{
	struct virtq_desc *t = hva(RING(q), 16 * DEV_QSIZE);
	uint16_t *a = hva(RING(q) + 0x1000, 6 + 2 * DEV_QSIZE);
	unsigned head = 2 * (dev_avail[q] % 16);

	for (unsigned i = 0; i < nd; i++) {
		t[head + i] = d[i];
		t[head + i].next = head + i + 1;
	}
	a[2 + dev_avail[q] % DEV_QSIZE] = head;
	__atomic_store_n(&a[1], ++dev_avail[q], __ATOMIC_RELEASE);
	wr(notify + q * notify_mult, q, 2);
}

static bool peer_quiet(unsigned q)
{
	struct pollfd pfd = { .fd = fbe->peer[q], .events = POLLIN };

	return poll(&pfd, 1, 100) == 0;
}

static bool needs_reset(void)
{
	return rd(common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

/* The device's thread runs on its own time: give it up to 3 s. */
static bool wait_needs_reset(void)
{
	for (int i = 0; i < 3000 && !needs_reset(); i++)
		usleep(1000);
	return needs_reset();
}

/*
 * Malformed transmit chains on the running device: each is dropped and
 * used, nothing reaches the backend, the next good frame does; a
 * descriptor outside guest RAM breaks the queue (NEEDS_RESET) until a
 * reset.
 */
static void test_tx_hostile_dev(void)
{
	const uint64_t b = BUFS(1);
	struct virtq_desc runt = { b, NET_HDR_LEN + 4, 0, 0 };
	struct virtq_desc big = { b, NET_MAX_FRAME + 1, 0, 0 };
	struct virtq_desc rw[2] = { { b, 100, VIRTQ_DESC_F_NEXT, 0 },
				    { b + 0x800, 100, VIRTQ_DESC_F_WRITE, 0 } };
	struct virtq_desc split[2] = { { b, 0x8000, VIRTQ_DESC_F_NEXT, 0 },
				       { b + 0x8000, 0x8000, 0, 0 } };
	struct virtq_desc wild = { 1ULL << 40, 100, 0, 0 };
	struct virtq_desc wrap = { ~0ULL - 50, 100, 0, 0 };

	add_nic(1);
	dev_up(0, 3);
	memset(hva(b, 0x10000), 0, 0x10000);
	dev_post_descs(1, &runt, 1);
	dev_post_descs(1, &big, 1);
	dev_post_descs(1, rw, 2);
	dev_post_descs(1, split, 2);	/* 64 KiB: not over the limit */
	CHECK(dev_wait_used(1, 4));
	CHECK_EQ(recv(fbe->peer[0], out, sizeof(out), MSG_DONTWAIT), 0x10000);
	CHECK(peer_quiet(0));
	split[1].len = NET_MAX_FRAME - 0x8000 + 1;
	dev_post_descs(1, split, 2);
	CHECK(dev_wait_used(1, 5));
	CHECK(peer_quiet(0));
	CHECK(!needs_reset());
	CHECK_EQ(tx_leaves(1, 0x51), 0);
	dev_post_descs(1, &wild, 1);
	CHECK(wait_needs_reset());
	CHECK(peer_quiet(0));
	wr(common + 0x14, 0, 1);
	dev_up(0, 3);
	CHECK(!needs_reset());
	CHECK_EQ(tx_leaves(1, 0x52), 0);
	dev_post_descs(1, &wrap, 1);
	CHECK(wait_needs_reset());
	wr(common + 0x14, 0, 1);
}

/* A read-only receive buffer breaks the receive queue, not the VMM. */
static void test_rx_hostile_dev(void)
{
	struct virtq_desc ro = { BUFS(0), 2048, 0, 0 };
	uint8_t pkt[NET_HDR_LEN + 60] = { 0 };

	add_nic(1);
	dev_up(0, 3);
	dev_post_descs(0, &ro, 1);
	CHECK_EQ(send(fbe->peer[0], pkt, sizeof(pkt), 0), sizeof(pkt));
	CHECK(wait_needs_reset());
	CHECK_EQ(dev_used_idx(0), 0);
	wr(common + 0x14, 0, 1);
	dev_up(0, 3);
	CHECK(rx_lands(0, 0, 0x61));
	wr(common + 0x14, 0, 1);
}

/* Control requests: good ones take effect, malformed ones are refused. */
static void test_ctrl(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0xab, 0xcd, 0xef };
	struct virtq_desc d[2] = { { BUFS(2), 1, VIRTQ_DESC_F_NEXT, 0 },
				   { BUFS(2) + 0x800, 1, VIRTQ_DESC_F_WRITE, 0 } };
	uint8_t *req = hva(BUFS(2), 0x800), *ack = hva(BUFS(2) + 0x800, 1);
	uint8_t on = 1, two[2] = { 1, 1 };

	add_nic(1);
	dev_up(0, 3);
	CHECK_EQ(dev_ctrl(2, 0, 0, &on, 1), 0);		/* promiscuous */
	CHECK_EQ(dev_ctrl(2, 0, 1, &on, 1), 0);		/* all-multicast */
	CHECK_EQ(dev_ctrl(2, 0, 0, two, 2), 1);		/* too long */
	CHECK_EQ(dev_ctrl(2, 0, 6, &on, 1), 1);		/* no such mode */
	CHECK_EQ(dev_ctrl(2, 1, 1, mac, 5), 1);		/* short MAC */
	CHECK_EQ(dev_ctrl(2, 1, 1, mac, 6), 0);
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ(rd(devcfg + NET_CFG_MAC + i, 1), mac[i]);
	CHECK_EQ(dev_ctrl(2, 4, 0, two, 2), 1);		/* MQ not offered */
	CHECK_EQ(dev_ctrl(2, 9, 0, &on, 0), 1);	/* no such class */
	/* a MAC table longer than any buffer the device copies */
	memset(req, 0, 0x800);
	req[0] = 1;
	d[0].len = 0x700;
	*ack = 0xff;
	dev_post_descs(2, d, 2);
	CHECK(dev_wait_used(2, dev_avail[2]));
	CHECK_EQ(*ack, 0);
	/* one byte of request; then no room for the ack: used, unanswered */
	d[0].len = 1;
	*ack = 0xff;
	dev_post_descs(2, d, 2);
	CHECK(dev_wait_used(2, dev_avail[2]));
	CHECK_EQ(*ack, 0xff);
	d[0].len = 8;
	d[0].flags = 0;
	dev_post_descs(2, d, 1);
	CHECK(dev_wait_used(2, dev_avail[2]));
	CHECK(!needs_reset());
	CHECK(rx_lands(0, 0, 0x71));
	CHECK_EQ(tx_leaves(1, 0x72), 0);
	wr(common + 0x14, 0, 1);
}

/*
 * Requests longer than the 64 bytes of data the device copies: a command
 * that reads its data is refused rather than handed a length past what
 * was copied; the MAC table, which is not read, is still accepted.
 */
static void test_ctrl_long_requests(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct virtq_desc d[2] = { { BUFS(2), 0, VIRTQ_DESC_F_NEXT, 0 },
				   { BUFS(2) + 0x800, 1, VIRTQ_DESC_F_WRITE, 0 } };
	static const uint32_t lens[] = { 2 + 64, 2 + 65, 0x700 };
	uint8_t *req = hva(BUFS(2), 0x800), *ack = hva(BUFS(2) + 0x800, 1);

	add_nic(1);
	dev_up(0, 3);
	CHECK_EQ(dev_ctrl(2, 1, 1, mac, 6), 0);
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* MAC_ADDR_SET, RX promiscuous, MAC_TABLE_SET */
		static const uint8_t cmds[3][2] = { { 1, 1 }, { 0, 0 }, { 1, 0 } };

		for (unsigned c = 0; c < 3; c++) {
			memset(req, 0xee, 0x800);
			req[0] = cmds[c][0];
			req[1] = cmds[c][1];
			d[0].len = lens[i];
			*ack = 0xff;
			dev_post_descs(2, d, 2);
			CHECK(dev_wait_used(2, dev_avail[2]));
			CHECK_EQ(*ack, c == 2 ? 0 : 1);
		}
	}
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ(rd(devcfg + NET_CFG_MAC + i, 1), mac[i]);
	CHECK(!needs_reset());
	CHECK(rx_lands(0, 0, 0x73));
	wr(common + 0x14, 0, 1);
}

int main(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 4 << 20, NULL), 0);
	RUN(test_mq_config);
	RUN(test_mq_pairs_set);
	RUN(test_mq_steering);
	RUN(test_mq_not_negotiated);
	RUN(test_offloads);
	RUN(test_tx_gso_header);
	RUN(test_link_status);
	RUN(test_tx_hostile_dev);
	RUN(test_rx_hostile_dev);
	RUN(test_ctrl);
	RUN(test_ctrl_long_requests);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
