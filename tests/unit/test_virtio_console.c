// SPDX-License-Identifier: MIT
/*
 * virtio-console driven through the PCI transport like the guest's driver,
 * without a VM: output on the transmit queue reaches the pty, typed input
 * fills receive buffers, a file backend takes output, a hostile receive
 * buffer ends in DEVICE_NEEDS_RESET, and bad backend specs are errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "virtio/console.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

#define DEVFN		(1 << 3)
#define QSIZE		16
#define RING_GPA(q)	(0x10000 + (q) * 0x4000)
#define BUF_GPA		0x40000

static struct vm vm;
static struct vdrv vd;
static struct vcon_backend pty;	/* the device under test's backend */
static uint16_t avail_idx[2];

VDRV_ACCESSORS(vm)

static struct virtq_desc *desc(unsigned q)
{
	return hva(RING_GPA(q), 16 * QSIZE);
}

static uint16_t *used(unsigned q)
{
	return hva(RING_GPA(q) + 0x2000, 6 + 8 * QSIZE);
}

/* Both queues, no event index, DRIVER_OK. */
static void bring_up(bool event_idx)
{
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1;

	if (event_idx)
		f |= 1ULL << VIRTIO_F_EVENT_IDX;
	CHECK(vdrv_negotiate(&vm, vd.common, f));
	memset(hva(RING_GPA(0), 2 * 0x4000), 0, 2 * 0x4000);
	memset(avail_idx, 0, sizeof(avail_idx));
	for (unsigned q = 0; q < 2; q++)
		vdrv_queue_setup(&vm, vd.common, q, QSIZE, RING_GPA(q));
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);
}

/* Offer the chain starting at descriptor head on queue q and kick. */
static void offer(unsigned q, uint16_t head)
{
	uint16_t *avail = hva(RING_GPA(q) + 0x1000, 6 + 2 * QSIZE);

	avail[2 + avail_idx[q] % QSIZE] = head;
	__atomic_store_n(&avail[1], ++avail_idx[q], __ATOMIC_RELEASE);
	wr(vd.notify + q * vd.notify_mult, q, 2);
}

/* Read what arrived on fd within a second, up to len bytes. */
static size_t read_some(int fd, char *buf, size_t len, size_t want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < want && poll(&p, 1, 1000) == 1) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

static void test_discovery(void)
{
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, 0, 4),
		 (0x1040u + VIRTIO_ID_CONSOLE) << 16 | 0x1af4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_REVISION_ID, 4) >> 8,
		 0x078000);
	vd = vdrv_discover(&vm, DEVFN);
	CHECK_EQ(vd.types, 0x3e);	/* with device config */
	CHECK_EQ(rd(vd.common + 0x12, 2), 2);
	wr(vd.common + 0x00, 0, 4);
	CHECK_EQ(rd(vd.common + 0x04, 4) & 7, 0);	/* no MULTIPORT etc. */
}

static void test_output(void)
{
	uint8_t *buf = hva(BUF_GPA, 64);
	char got[64];

	bring_up(false);
	memcpy(buf, "hello, ", 7);
	memcpy(buf + 32, "host\n", 5);
	desc(1)[0] = (struct virtq_desc){ BUF_GPA, 7, VIRTQ_DESC_F_NEXT, 1 };
	desc(1)[1] = (struct virtq_desc){ BUF_GPA + 32, 5, 0, 0 };
	offer(1, 0);
	CHECK(vdrv_wait16(&used(1)[1], 1));
	CHECK_EQ(used(1)[2], 0);		/* head */
	CHECK_EQ(used(1)[4], 0);		/* nothing written */
	CHECK_EQ(read_some(pty.hold_fd, got, sizeof(got), 12), 12);
	CHECK(memcmp(got, "hello, host\n", 12) == 0);
}

static void test_input(void)
{
	uint8_t *buf = hva(BUF_GPA, 64);
	char got[4];

	bring_up(true);
	/* typed before the guest gave a buffer: waits in the pty */
	CHECK_EQ(write(pty.hold_fd, "ping", 4), 4);
	usleep(20000);
	CHECK_EQ(used(0)[1], 0);
	memset(buf, 0, 64);
	desc(0)[0] = (struct virtq_desc){ BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0 };
	offer(0, 0);
	CHECK(vdrv_wait16(&used(0)[1], 1));
	CHECK_EQ(used(0)[4], 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	/* the next buffer is used only when more input comes */
	desc(0)[1] = (struct virtq_desc){ BUF_GPA + 32, 16,
					  VIRTQ_DESC_F_WRITE, 0 };
	offer(0, 1);
	usleep(20000);
	CHECK_EQ(used(0)[1], 1);
	CHECK_EQ(write(pty.hold_fd, "pong!", 5), 5);
	CHECK(vdrv_wait16(&used(0)[1], 2));
	CHECK_EQ(used(0)[2 + 4], 1);		/* second used entry: head 1 */
	CHECK_EQ(used(0)[2 + 4 + 2], 5);
	CHECK(memcmp(buf + 32, "pong!", 5) == 0);
	/* output still flows with event index on */
	memcpy(buf + 48, "x", 1);
	desc(1)[0] = (struct virtq_desc){ BUF_GPA + 48, 1, 0, 0 };
	offer(1, 0);
	CHECK(vdrv_wait16(&used(1)[1], 1));
	CHECK_EQ(read_some(pty.hold_fd, got, sizeof(got), 1), 1);
}

static void test_hostile(void)
{
	char got[8];

	bring_up(false);
	/* a receive buffer outside guest RAM */
	desc(0)[0] = (struct virtq_desc){ 0xfffff000, 16, VIRTQ_DESC_F_WRITE,
					  0 };
	offer(0, 0);
	for (int i = 0; i < 2000 && !(rd(vd.common + 0x14, 1) & 0x40); i++)
		usleep(1000);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* a transmit chain that loops, after a reset */
	bring_up(false);
	desc(1)[0] = (struct virtq_desc){ BUF_GPA, 4, VIRTQ_DESC_F_NEXT, 0 };
	offer(1, 0);
	for (int i = 0; i < 2000 && !(rd(vd.common + 0x14, 1) & 0x40); i++)
		usleep(1000);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(read_some(pty.hold_fd, got, sizeof(got), 1), 0);
	/* and the device works again after the next reset */
	test_output();
	wr(vd.common + 0x14, 0, 1);
}

static void test_file_backend(void)
{
	struct vcon_backend fbe;
	char path[] = "/tmp/cvisor-vcon-XXXXXX", spec[64], got[16] = { 0 };
	uint8_t *buf = hva(BUF_GPA, 64);
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	snprintf(spec, sizeof(spec), "file=%s", path);
	CHECK_EQ(vcon_backend_open(spec, &fbe), 0);
	CHECK(!fbe.input);
	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(fake_added(virtio_console_create(fake_env(&vm), &fbe, &fake_new_dev)), 0);
	vd = vdrv_discover(&vm, DEVFN);
	bring_up(false);
	/* receive buffers wait: a file has no input */
	desc(0)[0] = (struct virtq_desc){ BUF_GPA + 32, 16,
					  VIRTQ_DESC_F_WRITE, 0 };
	offer(0, 0);
	memcpy(buf, "to file", 7);
	desc(1)[0] = (struct virtq_desc){ BUF_GPA, 7, 0, 0 };
	offer(1, 0);
	CHECK(vdrv_wait16(&used(1)[1], 1));
	CHECK_EQ(pread(fd, got, sizeof(got), 0), 7);
	CHECK(memcmp(got, "to file", 7) == 0);
	CHECK_EQ(used(0)[1], 0);
	wr(vd.common + 0x14, 0, 1);
	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	vcon_backend_close(&fbe);
	close(fd);
	unlink(path);
}

static void test_bad_specs(void)
{
	struct vcon_backend b;

	CHECK_EQ(vcon_backend_open("tty", &b), -EINVAL);
	CHECK_EQ(vcon_backend_open("file=", &b), -EINVAL);
	CHECK_EQ(vcon_backend_open("file=/nonexistent/dir/log", &b), -ENOENT);
	CHECK_EQ(vcon_backend_open("file=/tmp", &b), -EISDIR);
	CHECK_EQ(b.fd, -1);
}

int main(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(vcon_backend_open("pty", &pty), 0);
	CHECK(pty.input && pty.hold_fd >= 0);
	CHECK_EQ(fake_added(virtio_console_create(fake_env(&vm), &pty, &fake_new_dev)), 0);
	RUN(test_discovery);
	RUN(test_output);
	RUN(test_input);
	RUN(test_hostile);
	RUN(test_file_backend);
	RUN(test_bad_specs);
	fake_pci_destroy(&vm);
	vcon_backend_close(&pty);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
