// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the queues of the virtio devices that have no
 * target of their own: virtio-net (its control queue above all), the
 * balloon, the keyboard and the console, each on a bare PCI bus with a
 * fake interrupt controller, driven through the transport as a guest
 * driver would: reset, features, every queue set up, DRIVER_OK (the
 * device's thread serves each queue once as it starts), reset again
 * (which joins the thread). The input is that driver and its RAM:
 *
 *   byte 0      the device (net, balloon, keyboard, console)
 *   bytes 1-4   the features the driver accepts, of those offered
 *               (VERSION_1 always)
 *   256 bytes   the avail rings of queues 0-7 (32 bytes each, 8 entries)
 *   the rest    RAM from 0: descriptor tables (queue q at q * 256),
 *               indirect tables and buffers; all else is zeros
 *
 * The device must fail a bad chain (drop it, or NEEDS_RESET) and never
 * read or write outside guest RAM. With CVISOR_FUZZ_SEEDS=DIR set, the
 * first run writes one input per device into DIR, each with a
 * well-formed request on every queue (on the net, a control command).
 * Build with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/virtio_dev_fuzz -max_len=8192
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "net/net.h"
#include "virtio/balloon.h"
#include "virtio/console.h"
#include "virtio/input.h"
#include "virtio/net_int.h"
#include "virtio/virtqueue.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"
#include "../unit/virtio_driver.h"
#include "fuzz_seed.h"

#define RAM_SIZE	(1 << 20)
#define NR_DEVS		4
#define MAX_QUEUES	8
#define QSIZE		8
#define DESC_GPA(q)	((q) * 0x100ull)
#define AVAIL_BASE	0x8000ull
#define AVAIL_STRIDE	0x20
#define AVAIL_GPA(q)	(AVAIL_BASE + (q) * AVAIL_STRIDE)
#define USED_GPA(q)	(0xc000 + (q) * 0x100ull)
#define HDR_LEN		(1 + 4 + MAX_QUEUES * AVAIL_STRIDE)

static struct vm vm;
static unsigned devfns[NR_DEVS];
static struct vdrv drv[NR_DEVS];
static const char *const dev_names[NR_DEVS] = {
	"net", "balloon", "keyboard", "console",
};

/* A backend that drops what the NIC sends and never has a frame for it. */
static int drop_send(struct net_backend *be, unsigned q,
		     const struct iovec *iov, unsigned cnt, size_t len)
{
	(void)be;
	(void)q;
	(void)iov;
	(void)cnt;
	(void)len;
	return 0;
}

static ssize_t none_recv(struct net_backend *be, unsigned q, void *buf,
			 size_t len)
{
	(void)be;
	(void)q;
	(void)buf;
	(void)len;
	return -EAGAIN;
}

static int any_queues(struct net_backend *be, unsigned n)
{
	(void)be;
	(void)n;
	return 0;
}

static int any_offload(struct net_backend *be, unsigned tun_flags)
{
	(void)be;
	(void)tun_flags;
	return 0;
}

static void free_backend(struct net_backend *be)
{
	free(be);
}

static const struct net_backend_ops drop_ops = {
	.send = drop_send,
	.recv = none_recv,
	.set_queues = any_queues,
	.set_offload = any_offload,
	.close = free_backend,
};

static int add_net(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0xf, 0xf, 0xf };
	struct net_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -1;
	/* two queue pairs, so VIRTIO_NET_CTRL_MQ has something to do */
	*be = (struct net_backend){ .ops = &drop_ops, .name = "drop",
				    .nr_queues = 2, .fd = { -1, -1 } };
	return fake_added(virtio_net_create_on(fake_env(&vm), be, mac, 0,
					       &fake_new_dev));
}

static int add_balloon(void)
{
	struct virtio_balloon *b;
	int ret = virtio_balloon_create(fake_env(&vm), true, &b);

	if (!ret)
		fake_new_dev = virtio_balloon_device(b);
	return fake_added(ret);
}

static int add_keyboard(void)
{
	struct virtio_input *in;
	int ret = virtio_input_create(fake_env(&vm), VIRTIO_INPUT_KEYBOARD,
				      &in);

	if (!ret)
		fake_new_dev = virtio_input_device(in);
	return fake_added(ret);
}

static int add_console(void)
{
	static struct vcon_backend con;

	return vcon_backend_open("file=/dev/null", &con) ||
	       fake_added(virtio_console_create(fake_env(&vm), &con,
						&fake_new_dev));
}

static void setup(void)
{
	int (*const add[NR_DEVS])(void) = {
		add_net, add_balloon, add_keyboard, add_console,
	};

	vm.nr_vcpus = 1;
	if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
	    guest_mem_init(&vm.mem, RAM_SIZE, NULL) || fake_pci_init(&vm))
		abort();
	for (int i = 0; i < NR_DEVS; i++) {
		unsigned devfn;

		if (add[i]())
			abort();
		/* the newest device is in the highest slot taken */
		for (devfn = 31 << 3; devfn && !vm.pci->devs[devfn >> 3];
		     devfn -= 8)
			;
		devfns[i] = devfn;
		drv[i] = vdrv_discover(&vm, devfn);
		if (!drv[i].common)
			abort();
	}
}

static uint64_t dev_features(const struct vdrv *d)
{
	uint64_t f;

	vdrv_wr(&vm, d->common + 0x00, 0, 4);
	f = vdrv_rd(&vm, d->common + 0x04, 4);
	vdrv_wr(&vm, d->common + 0x00, 1, 4);
	return f | vdrv_rd(&vm, d->common + 0x04, 4) << 32;
}

/*
 * One input per device: features as offered, and on every queue one
 * chain of a readable buffer and a writable one. The readable buffer is
 * a control command for the NIC's control queue (two queue pairs, then
 * its MAC), page numbers for the balloon, bytes for the console.
 */
static void write_seeds(const char *dir)
{
	static const uint8_t cmd[8] = { 4, 0, 2, 0 };	/* MQ: 2 pairs */
	uint8_t buf[HDR_LEN + 0x8000];

	for (int i = 0; i < NR_DEVS; i++) {
		uint64_t f = dev_features(&drv[i]);
		uint8_t *ram = buf + HDR_LEN;

		memset(buf, 0, sizeof(buf));
		buf[0] = i;
		memcpy(buf + 1, &f, 4);
		for (unsigned q = 0; q < MAX_QUEUES; q++) {
			struct virtq_desc d[2] = {
				{ .addr = 0x4000 + q * 0x100, .len = 8,
				  .flags = VIRTQ_DESC_F_NEXT, .next = 1 },
				{ .addr = 0x6000 + q * 0x100, .len = 64,
				  .flags = VIRTQ_DESC_F_WRITE },
			};
			uint16_t avail[3] = { 0, 1, 0 };

			memcpy(ram + DESC_GPA(q), d, sizeof(d));
			memcpy(ram + 0x4000 + q * 0x100, cmd, sizeof(cmd));
			memcpy(buf + 5 + q * AVAIL_STRIDE, avail,
			       sizeof(avail));
		}
		fuzz_seed(dir, dev_names[i], buf, sizeof(buf));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *ram;
	const struct vdrv *d;
	uint32_t mask;
	unsigned nq;

	if (!vm.pci) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		setup();
		if (seed)
			write_seeds(seed);
	}
	if (size < 5)
		return 0;
	d = &drv[data[0] % NR_DEVS];
	memcpy(&mask, data + 1, 4);
	ram = gpa_to_hva(&vm.mem, 0, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	data += 5;
	size -= 5;
	memcpy(ram + AVAIL_BASE, data,
	       size < MAX_QUEUES * AVAIL_STRIDE ? size : MAX_QUEUES * AVAIL_STRIDE);
	if (size > MAX_QUEUES * AVAIL_STRIDE) {
		size -= MAX_QUEUES * AVAIL_STRIDE;
		memcpy(ram, data + MAX_QUEUES * AVAIL_STRIDE,
		       size < AVAIL_BASE ? size : AVAIL_BASE);
	}

	if (!vdrv_negotiate(&vm, d->common, (dev_features(d) & mask) |
			    1ull << VIRTIO_F_VERSION_1))
		goto reset;
	nq = vdrv_rd(&vm, d->common + 0x12, 2);
	for (unsigned q = 0; q < nq && q < MAX_QUEUES; q++) {
		vdrv_wr(&vm, d->common + 0x16, q, 2);
		vdrv_wr(&vm, d->common + 0x18, QSIZE, 2);
		vdrv_wr(&vm, d->common + 0x20, DESC_GPA(q), 8);
		vdrv_wr(&vm, d->common + 0x28, AVAIL_GPA(q), 8);
		vdrv_wr(&vm, d->common + 0x30, USED_GPA(q), 8);
		vdrv_wr(&vm, d->common + 0x1c, 1, 2);
	}
	vdrv_wr(&vm, d->common + 0x14, 0x0f, 1);
	/* and a kick on each, as a driver would after filling its rings */
	for (unsigned q = 0; q < nq && q < MAX_QUEUES; q++)
		vdrv_wr(&vm, d->notify + q * d->notify_mult, q, 2);
reset:
	vdrv_wr(&vm, d->common + 0x14, 0, 1);
	return 0;
}
