// SPDX-License-Identifier: MIT
/*
 * virtio-net without a VM: --net spec parsing, MAC derivation, and the
 * receive/transmit paths against hand-built rings in a small guest RAM,
 * with hostile chains among them. test_net_dev.c drives the whole device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "test.h"
#include "virtio/net_int.h"

#define RAM_SIZE	(2u << 20)
#define QSIZE		64
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x10000

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_elem elems[NET_RX_MAX_BUFS];
static uint8_t frame[NET_MAX_FRAME + 16];
static uint8_t out[NET_MAX_FRAME + 16];
static char err[256];

static struct virtq_desc *desc(unsigned i)
{
	return (struct virtq_desc *)gpa_to_hva(&mem, DESC_GPA, 16 * QSIZE) + i;
}

static uint16_t *avail(void)
{
	return gpa_to_hva(&mem, AVAIL_GPA, 6 + 2 * QSIZE);
}

static struct virtq_used_elem *used_elem(unsigned i)
{
	return (struct virtq_used_elem *)((uint8_t *)gpa_to_hva(&mem, USED_GPA,
								4 + 8 * QSIZE) + 4) + i;
}

static uint16_t used_idx(void)
{
	return ((uint16_t *)gpa_to_hva(&mem, USED_GPA, 4))[1];
}

static void *buf(unsigned i)
{
	return gpa_to_hva(&mem, BUF_GPA + i * 0x4000ull, 0x4000);
}

static void setup_idx(bool event_idx)
{
	guest_mem_destroy(&mem);
	CHECK_EQ(guest_mem_init(&mem, RAM_SIZE, NULL), 0);
	memset(&vq, 0, sizeof(vq));
	CHECK_EQ(virtq_setup(&vq, &mem, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA,
			     event_idx), 0);
}

static void setup(void)
{
	setup_idx(false);
}

/* One-descriptor chain i over buffer i. */
static void add_buf(unsigned i, uint32_t len, uint16_t flags)
{
	uint16_t *a = avail();

	*desc(i) = (struct virtq_desc){ BUF_GPA + i * 0x4000ull, len, flags, 0 };
	a[2 + a[1] % QSIZE] = i;
	a[1]++;
}

static void test_parse(void)
{
	struct net_opts o;

	CHECK_EQ(net_parse("user", &o, err, sizeof(err)), 0);
	CHECK_EQ(o.kind, NET_USER);
	CHECK_EQ(ntohl(o.net.s_addr), 0x0a000200);
	CHECK_EQ(o.prefix, 24);
	CHECK(!o.has_mac);
	CHECK_EQ(net_parse("user,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:8080-:80,"
			   "hostfwd=udp::5353-10.0.2.15:53,net=192.168.5.0/24",
			   &o, err, sizeof(err)), 0);
	CHECK_EQ(o.nr_fwd, 3);
	CHECK(!o.fwd[0].udp);
	CHECK_EQ(o.fwd[0].host_port, 2222);
	CHECK_EQ(o.fwd[0].guest_port, 22);
	CHECK_EQ(o.fwd[0].host.s_addr, htonl(INADDR_ANY));
	CHECK_EQ(ntohl(o.fwd[1].host.s_addr), 0x7f000001);
	CHECK_EQ(o.fwd[1].host_port, 8080);
	CHECK(o.fwd[2].udp);
	CHECK_EQ(ntohl(o.fwd[2].guest.s_addr), 0x0a00020f);
	CHECK_EQ(ntohl(o.net.s_addr), 0xc0a80500);
	CHECK_EQ(net_parse("tap,ifname=tap0,mac=52:54:00:12:34:56", &o, err,
			   sizeof(err)), 0);
	CHECK_EQ(o.kind, NET_TAP);
	CHECK(!strcmp(o.ifname, "tap0"));
	CHECK(o.has_mac);
	CHECK_EQ(o.mac[5], 0x56);
	CHECK_EQ(o.queues, 1);
	CHECK_EQ(net_parse("bridge,br=br0", &o, err, sizeof(err)), 0);
	CHECK(!strcmp(o.bridge, "br0"));
	CHECK_EQ(net_parse("tap,ifname=tap0,queues=16", &o, err, sizeof(err)),
		 0);
	CHECK_EQ(o.queues, 16);
	CHECK_EQ(net_parse("bridge,queues=2,br=br0", &o, err, sizeof(err)), 0);
	CHECK_EQ(o.queues, 2);
	CHECK_EQ(net_parse("user,queues=1", &o, err, sizeof(err)), 0);
}

static void test_parse_errors(void)
{
	static const char *const bad[] = {
		"", "slirp", ",user", "user,", "user,,mac=52:54:00:12:34:56",
		"user,hostfwd", "user,hostfwd=tcp::22",
		"user,hostfwd=tcp::0-:22", "user,hostfwd=tcp::65536-:22",
		"user,hostfwd=tcp:1.2.3:22-:22", "user,hostfwd=icmp::1-:2",
		"user,hostfwd=tcp::-1-:2", "user,net=10.0.2.0", "user,net=10.0.2.1/24",
		"user,net=10.0.2.0/31", "user,mac=52:54:00:12:34",
		"user,mac=52:54:00:12:34:567", "user,mac=53:54:00:12:34:56",
		"user,mac=52:54:00:12:34:5g", "tap", "tap,ifname=", "tap,br=x",
		"tap,ifname=waytoolongname0123", "bridge", "bridge,ifname=x",
		"user,ifname=tap0", "tap,ifname=t,queues=0",
		"tap,ifname=t,queues=17", "tap,ifname=t,queues=", "tap,ifname=t,queues=2x",
		"tap,ifname=t,queues=-1", "tap,ifname=t,queues=+2",
		"bridge,br=b,queues=99999999999999999999", "user,queues=2",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct net_opts o;

		err[0] = '\0';
		if (net_parse(bad[i], &o, err, sizeof(err)) != -EINVAL) {
			printf("  accepted '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(err[0]);
	}
}

static void test_mac(void)
{
	uint8_t a[6], b[6], c[6];

	net_mac_derive("vm1", 0, a);
	net_mac_derive("vm1", 0, b);
	net_mac_derive("vm1", 1, c);
	CHECK(!memcmp(a, b, 6));
	CHECK(memcmp(a, c, 6));
	CHECK(a[0] == 0x52 && a[1] == 0x54 && a[2] == 0x00);
	net_mac_derive("vm2", 0, b);
	CHECK(memcmp(a, b, 6));
	net_mac_derive(NULL, 0, b);
	CHECK_EQ(b[0], 0x52);
}

static void fill_frame(size_t len)
{
	for (size_t i = 0; i < len; i++)
		frame[i] = i * 7 + 3;
}

/* A frame over three 2 KiB buffers: data intact, num_buffers 3. */
static void test_rx_mergeable(void)
{
	uint8_t hdr[NET_HDR_LEN] = { 1, 0 };
	size_t len = 5000, got = 0;

	setup();
	for (unsigned i = 0; i < 4; i++)
		add_buf(i, 2048, VIRTQ_DESC_F_WRITE);
	fill_frame(len);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, len), 3);
	CHECK_EQ(used_idx(), 3);
	CHECK_EQ(used_elem(0)->len + used_elem(1)->len + used_elem(2)->len,
		 len + NET_HDR_LEN);
	for (unsigned i = 0; i < 3; i++) {
		memcpy(out + got, buf(used_elem(i)->id), used_elem(i)->len);
		got += used_elem(i)->len;
	}
	CHECK_EQ(out[0], 1);
	CHECK_EQ(out[NET_HDR_NUM_BUFFERS] | out[NET_HDR_NUM_BUFFERS + 1] << 8, 3);
	CHECK(!memcmp(out + NET_HDR_LEN, frame, len));
	/* one buffer left: a small frame still fits */
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 60), 1);
	CHECK_EQ(used_idx(), 4);
}

/* Out of buffers mid-frame: nothing consumed, the same buffers later. */
static void test_rx_no_room(void)
{
	uint8_t hdr[NET_HDR_LEN] = { 0 };

	setup();
	add_buf(0, 2048, VIRTQ_DESC_F_WRITE);
	fill_frame(3000);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 3000), -EAGAIN);
	CHECK_EQ(used_idx(), 0);
	add_buf(1, 2048, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 3000), 2);
	CHECK_EQ(used_elem(0)->id, 0);
	CHECK_EQ(used_idx(), 2);
	CHECK(!vq.broken);
}

/*
 * Short of buffers with some posted: the device must ask for a kick past
 * the avail index, not past its own position, or receive stalls.
 */
static void test_rx_want_buffers(void)
{
	uint8_t hdr[NET_HDR_LEN] = { 0 };
	uint16_t *avail_event;

	setup_idx(true);
	avail_event = (uint16_t *)gpa_to_hva(&mem, USED_GPA + 4 + 8 * QSIZE, 2);
	add_buf(0, 2048, VIRTQ_DESC_F_WRITE);
	add_buf(1, 2048, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 6000), -EAGAIN);
	CHECK(!net_rx_want_buffers(&vq));
	CHECK_EQ(*avail_event, 2);
	add_buf(2, 2048, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 6000), 3);
	/* a frame larger than the whole ring is dropped, not waited for */
	setup_idx(true);
	for (unsigned i = 0; i < QSIZE; i++)
		add_buf(i, 512, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 40000), 0);
	CHECK_EQ(used_idx(), 0);
}

/* Without MRG_RXBUF a frame that does not fit is dropped, buffer kept. */
static void test_rx_no_merge(void)
{
	uint8_t hdr[NET_HDR_LEN] = { 0 };

	setup();
	add_buf(0, 1526, VIRTQ_DESC_F_WRITE);
	fill_frame(4000);
	CHECK_EQ(net_rx_put(&vq, elems, false, hdr, frame, 4000), 0);
	CHECK_EQ(used_idx(), 0);
	CHECK_EQ(net_rx_put(&vq, elems, false, hdr, frame, 1514), 1);
	CHECK_EQ(used_elem(0)->len, 1514 + NET_HDR_LEN);
	/* tiny buffers: a 64 KiB frame needs too many, dropped */
	setup();
	for (unsigned i = 0; i < QSIZE; i++)
		add_buf(i, 256, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 65000), 0);
	CHECK_EQ(used_idx(), 0);
	CHECK(!vq.broken);
}

/* A receive buffer the device may not write breaks the queue. */
static void test_rx_hostile(void)
{
	uint8_t hdr[NET_HDR_LEN] = { 0 };

	setup();
	add_buf(0, 2048, 0);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 100), -EIO);
	CHECK(vq.broken);
	setup();
	add_buf(0, 4, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 100), -EIO);
	setup();
	avail()[1] = QSIZE + 5;		/* index ran ahead of the ring */
	CHECK_EQ(net_rx_put(&vq, elems, true, hdr, frame, 100), -EIO);
}

static ssize_t tx_one(uint32_t len, uint16_t flags, bool raw)
{
	struct virtq_elem e;

	setup();
	add_buf(0, len, flags);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	return net_tx_get(NULL, &e, raw, out);
}

static void test_tx(void)
{
	struct virtq_elem e;
	uint8_t *b;

	CHECK_EQ(tx_one(NET_HDR_LEN + 60, 0, true), NET_HDR_LEN + 60);
	CHECK_EQ(tx_one(NET_HDR_LEN + 2, 0, false), -EINVAL);	/* runt */
	CHECK_EQ(tx_one(100, VIRTQ_DESC_F_WRITE, false), -EINVAL);
	/* a header asking for TSO, to a backend without offloads */
	setup();
	b = buf(0);
	memset(b, 0, 100);
	b[NET_HDR_GSO_TYPE] = 1;
	add_buf(0, 100, 0);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(net_tx_get(NULL, &e, true, out), -EINVAL);
	CHECK_EQ(net_tx_get(NULL, &e, false, out), 100);
	/* oversized: two descriptors adding up past NET_MAX_FRAME */
	setup();
	*desc(0) = (struct virtq_desc){ BUF_GPA, 0x8000, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ BUF_GPA + 0x8000, 0x8100, 0, 0 };
	avail()[2] = 0;
	avail()[1] = 1;
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(net_tx_get(NULL, &e, false, out), -EINVAL);
	/* exactly the largest frame passes */
	desc(1)->len = NET_MAX_FRAME - 0x8000;
	setup();
	*desc(0) = (struct virtq_desc){ BUF_GPA, 0x8000, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ BUF_GPA + 0x8000, NET_MAX_FRAME - 0x8000,
					0, 0 };
	avail()[2] = 0;
	avail()[1] = 1;
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(net_tx_get(NULL, &e, false, out), NET_MAX_FRAME);
}

int main(void)
{
	RUN(test_parse);
	RUN(test_parse_errors);
	RUN(test_mac);
	RUN(test_rx_mergeable);
	RUN(test_rx_no_room);
	RUN(test_rx_want_buffers);
	RUN(test_rx_no_merge);
	RUN(test_rx_hostile);
	RUN(test_tx);
	guest_mem_destroy(&mem);
	return test_summary();
}
