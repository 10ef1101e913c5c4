// SPDX-License-Identifier: MIT
/*
 * virtio-input keyboard and tablet driven through the PCI transport like
 * the guest's driver, without a VM: the config space answers what the
 * driver selects, events wait for buffers and arrive as 8-byte events,
 * status messages are taken, and hostile config writes are harmless.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "ui/keymap.h"
#include "virtio/input.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

#define KBD_DEVFN	(1 << 3)
#define TAB_DEVFN	(2 << 3)
#define QSIZE		16
#define RING_GPA(q)	(0x10000 + (q) * 0x4000)
#define BUF_GPA		0x40000

static struct vm vm;
static struct vdrv vd;
static struct virtio_input *kbd, *tablet;
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

static void bring_up(void)
{
	CHECK(vdrv_negotiate(&vm, vd.common, 1ULL << VIRTIO_F_VERSION_1));
	memset(hva(RING_GPA(0), 2 * 0x4000), 0, 2 * 0x4000);
	memset(avail_idx, 0, sizeof(avail_idx));
	for (unsigned q = 0; q < 2; q++)
		vdrv_queue_setup(&vm, vd.common, q, QSIZE, RING_GPA(q));
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);
}

static void offer(unsigned q, uint16_t head)
{
	uint16_t *avail = hva(RING_GPA(q) + 0x1000, 6 + 2 * QSIZE);

	avail[2 + avail_idx[q] % QSIZE] = head;
	__atomic_store_n(&avail[1], ++avail_idx[q], __ATOMIC_RELEASE);
	wr(vd.notify + q * vd.notify_mult, q, 2);
}

/* Select (sel, sub) and return the size the device answers. */
static unsigned cfg_select(uint8_t sel, uint8_t sub)
{
	wr(vd.devcfg + 0, sel, 1);
	wr(vd.devcfg + 1, sub, 1);
	return rd(vd.devcfg + 2, 1);
}

static bool cfg_bit(unsigned bit)
{
	return rd(vd.devcfg + 8 + bit / 8, 1) & (1u << (bit % 8));
}

static void test_keyboard_config(void)
{
	char name[32] = "";

	CHECK_EQ(pci_config_read(vm.pci, KBD_DEVFN, 0, 4),
		 (0x1040u + VIRTIO_ID_INPUT) << 16 | 0x1af4);
	CHECK_EQ(pci_config_read(vm.pci, KBD_DEVFN, PCI_REVISION_ID, 4) >> 8,
		 0x098000);
	vd = vdrv_discover(&vm, KBD_DEVFN);
	CHECK(vd.types & (1u << 4));
	CHECK_EQ(cfg_select(0x01, 0), strlen("cvisor keyboard"));
	for (unsigned i = 0; i < 15; i++)
		name[i] = rd(vd.devcfg + 8 + i, 1);
	CHECK(!strcmp(name, "cvisor keyboard"));
	CHECK(cfg_select(0x11, EV_KEY) > 0);
	CHECK(cfg_bit(30));			/* KEY_A */
	CHECK(cfg_bit(KEY_ENTER));
	CHECK(!cfg_bit(0));
	CHECK(cfg_select(0x11, EV_REP) > 0);
	CHECK_EQ(cfg_select(0x11, EV_ABS), 0);
	CHECK_EQ(cfg_select(0x12, ABS_X), 0);
	CHECK_EQ(cfg_select(0x03, 0), 8);
	CHECK_EQ(cfg_select(0x7f, 0), 0);	/* unknown: nothing */
	/* the driver scribbling over the answer changes nothing lasting */
	wr(vd.devcfg + 2, 0xff, 1);
	wr(vd.devcfg + 100, 0xffffffff, 4);
	CHECK_EQ(cfg_select(0x01, 0), strlen("cvisor keyboard"));
}

static void test_keyboard_events(void)
{
	uint8_t *buf = hva(BUF_GPA, 8 * QSIZE);

	CHECK(!virtio_input_ready(kbd));
	bring_up();
	CHECK(virtio_input_ready(kbd));
	/* events before buffers wait in the device */
	virtio_input_send(kbd, EV_KEY, 30, 1);
	virtio_input_send(kbd, EV_SYN, SYN_REPORT, 0);
	usleep(20000);
	CHECK_EQ(used(0)[1], 0);
	memset(buf, 0xaa, 8 * QSIZE);
	for (unsigned i = 0; i < 4; i++) {
		desc(0)[i] = (struct virtq_desc){ BUF_GPA + 8 * i, 8,
						  VIRTQ_DESC_F_WRITE, 0 };
		offer(0, i);
	}
	CHECK(vdrv_wait16(&used(0)[1], 2));
	CHECK_EQ(used(0)[4], 8);
	/* type 1, code 30, value 1; then EV_SYN */
	CHECK(!memcmp(buf, "\x01\x00\x1e\x00\x01\x00\x00\x00", 8));
	CHECK(!memcmp(buf + 8, "\0\0\0\0\0\0\0\0", 8));
	virtio_input_send(kbd, EV_KEY, 30, 0);
	virtio_input_send(kbd, EV_SYN, SYN_REPORT, 0);
	CHECK(vdrv_wait16(&used(0)[1], 4));
	CHECK(!memcmp(buf + 16, "\x01\x00\x1e\x00\x00\x00\x00\x00", 8));
	/* an LED status message is taken */
	desc(1)[0] = (struct virtq_desc){ BUF_GPA + 0x100, 8, 0, 0 };
	offer(1, 0);
	CHECK(vdrv_wait16(&used(1)[1], 1));
	/* more events than the device holds: the rest are dropped */
	for (unsigned i = 0; i < 5000; i++)
		virtio_input_send(kbd, EV_KEY, 30, i & 1);
	virtio_input_send(kbd, EV_SYN, SYN_REPORT, 0);
	/* a reset forgets them */
	wr(vd.common + 0x14, 0, 1);
	CHECK(!virtio_input_ready(kbd));
}

static void test_tablet(void)
{
	uint8_t *buf = hva(BUF_GPA, 8 * QSIZE);

	vd = vdrv_discover(&vm, TAB_DEVFN);
	CHECK(cfg_select(0x11, EV_ABS) > 0);
	CHECK(cfg_bit(ABS_X) && cfg_bit(ABS_Y));
	CHECK(cfg_select(0x11, EV_KEY) > 0);
	CHECK(cfg_bit(BTN_LEFT) && cfg_bit(BTN_RIGHT) && cfg_bit(BTN_MIDDLE));
	CHECK(!cfg_bit(30));
	CHECK_EQ(cfg_select(0x12, ABS_Y), 20);
	CHECK_EQ(rd(vd.devcfg + 8, 4), 0);		/* min */
	CHECK_EQ(rd(vd.devcfg + 12, 4), VIRTIO_INPUT_ABS_MAX);
	bring_up();
	memset(buf, 0, 8 * QSIZE);
	for (unsigned i = 0; i < 3; i++) {
		desc(0)[i] = (struct virtq_desc){ BUF_GPA + 8 * i, 8,
						  VIRTQ_DESC_F_WRITE, 0 };
		offer(0, i);
	}
	virtio_input_send(tablet, EV_ABS, ABS_X, 1234);
	virtio_input_send(tablet, EV_ABS, ABS_Y, 32767);
	virtio_input_send(tablet, EV_SYN, SYN_REPORT, 0);
	CHECK(vdrv_wait16(&used(0)[1], 3));
	CHECK(!memcmp(buf, "\x03\x00\x00\x00\xd2\x04\x00\x00", 8));
	CHECK(!memcmp(buf + 8, "\x03\x00\x01\x00\xff\x7f\x00\x00", 8));
	wr(vd.common + 0x14, 0, 1);
}

int main(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(virtio_input_create(fake_env(&vm), VIRTIO_INPUT_KEYBOARD,
				     &kbd), 0);
	fake_new_dev = virtio_input_device(kbd);
	fake_added(0);
	CHECK_EQ(virtio_input_create(fake_env(&vm), VIRTIO_INPUT_TABLET,
				     &tablet), 0);
	fake_new_dev = virtio_input_device(tablet);
	fake_added(0);
	RUN(test_keyboard_config);
	RUN(test_keyboard_events);
	RUN(test_tablet);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
