// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport driven like a guest driver would, without a VM:
 * a virtio-rng on a bare PCI bus, rings in a small guest RAM, MSI-X and
 * ioeventfd calls stubbed. Covers capability discovery, feature
 * negotiation, a request round trip with an interrupt, reset, and guest
 * errors ending in DEVICE_NEEDS_RESET.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "virtio/rng.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

#define DEVFN		(1 << 3)
#define DESC_GPA	0x10000
#define AVAIL_GPA	0x11000
#define USED_GPA	0x12000
#define BUF_GPA		0x20000

static struct vm vm;
static struct vdrv vd;

/* The stubs run on device threads: read what they saw atomically. */
#define SEEN(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)

VDRV_ACCESSORS(vm)

static void test_discovery(void)
{
	unsigned pci_cap_off;

	CHECK_EQ(pci_config_read(vm.pci, DEVFN, 0, 4),
		 (0x1040u + VIRTIO_ID_RNG) << 16 | 0x1af4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_REVISION_ID, 1), 1);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_SUBSYSTEM_VENDOR_ID, 2),
		 0x1af4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_BAR0, 4) & 0x6,
		 PCI_BAR_MEM64);
	vd = vdrv_discover(&vm, DEVFN);
	CHECK(!vd.other_bar);
	pci_cap_off = vd.pci_cap;
	/* common, notify, ISR, PCI config window; rng has no config */
	CHECK_EQ(vd.types, 0x2e);
	CHECK(vd.notify_mult >= 2);
	CHECK_EQ(rd(vd.common + 0x12, 2), 1);	/* num_queues */

	/* the same register through the config-space window */
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 8, 0x12, 4);
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 12, 2, 4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, pci_cap_off + 16, 4), 1);
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 8, 0x16, 4);
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 16, 7, 4);
	CHECK_EQ(rd(vd.common + 0x16, 2), 7);		/* queue_select */
	wr(vd.common + 0x16, 0, 2);
	/* a window outside every region reads zero */
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 8, 0x7ffc, 4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, pci_cap_off + 16, 4), 0);
	pci_config_write(vm.pci, DEVFN, pci_cap_off + 12, 3, 4);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, pci_cap_off + 16, 4), 0);
}

static void test_features(void)
{
	wr(vd.common + 0x14, 0, 1);
	wr(vd.common + 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
	   1);
	wr(vd.common + 0x00, 1, 4);
	CHECK(rd(vd.common + 0x04, 4) & 1);	/* VERSION_1 */
	/* without VERSION_1 the device refuses FEATURES_OK */
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 0, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	CHECK(!(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK));
	wr(vd.common + 0x14, 0, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0);
	/* a feature the device lacks is refused too */
	wr(vd.common + 0x14, 3, 1);
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 1 | 0x80000000u, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	CHECK(!(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK));
	wr(vd.common + 0x14, 0, 1);
}

/* Negotiate, set up queue 0 with MSI-X vector 1, DRIVER_OK. */
static void bring_up(bool event_idx)
{
	unsigned cap = vm.pci->devs[1]->msix_cap;
	uint64_t table = (pci_config_read(vm.pci, DEVFN, PCI_BAR0, 4) &
			  ~0xfu) + (pci_config_read(vm.pci, DEVFN, cap + 4, 4) &
				    ~7u);

	wr(vd.common + 0x14, 0, 1);	/* reset before the rings */
	memset(hva(DESC_GPA, 0x3000), 0, 0x3000);
	wr(vd.common + 0x14, 3, 1);
	wr(vd.common + 0x08, 0, 4);
	wr(vd.common + 0x0c, event_idx ? 1u << VIRTIO_F_EVENT_IDX : 0, 4);
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 1, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	pci_config_write(vm.pci, DEVFN, cap + 2, 0x8000, 2);
	for (unsigned v = 0; v < 2; v++) {
		wr(table + 16 * v, 0xfee00000, 4);
		wr(table + 16 * v + 8, 0x30 + v, 4);
		wr(table + 16 * v + 12, 0, 4);
	}
	wr(vd.common + 0x10, 0, 2);		/* config vector 0 */
	CHECK_EQ(rd(vd.common + 0x10, 2), 0);
	wr(vd.common + 0x16, 0, 2);
	CHECK_EQ(rd(vd.common + 0x18, 2), VIRTQ_MAX_SIZE);
	wr(vd.common + 0x18, 16, 2);
	wr(vd.common + 0x1a, 1, 2);
	CHECK_EQ(rd(vd.common + 0x1a, 2), 1);
	wr(vd.common + 0x1a, 77, 2);		/* no such vector */
	CHECK_EQ(rd(vd.common + 0x1a, 2), VIRTIO_MSI_NO_VECTOR);
	wr(vd.common + 0x1a, 1, 2);
	wr(vd.common + 0x20, DESC_GPA, 4);
	wr(vd.common + 0x24, 0, 4);
	wr(vd.common + 0x28, AVAIL_GPA, 8);
	wr(vd.common + 0x30, USED_GPA, 4);
	wr(vd.common + 0x34, 0, 4);
	CHECK_EQ(rd(vd.common + 0x28, 4), AVAIL_GPA);
	wr(vd.common + 0x1c, 1, 2);
	CHECK_EQ(rd(vd.common + 0x1c, 2), 1);
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);
}

static void kick(void)
{
	wr(vd.notify + 0 * vd.notify_mult, 0, 2);
}

static void test_round_trip(void)
{
	struct virtq_desc *d = hva(DESC_GPA, 16 * 16);
	uint16_t *avail = hva(AVAIL_GPA, 64), *used = hva(USED_GPA, 256);
	uint8_t *buf = hva(BUF_GPA, 64), zero[64] = { 0 };
	unsigned before;

	bring_up(false);
	before = SEEN(fake_nr_msi);
	memset(buf, 0, 64);
	d[0] = (struct virtq_desc){ BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	kick();
	CHECK(vdrv_wait16(&used[1], 1));
	CHECK_EQ(used[2], 0);
	CHECK_EQ(used[4], 64);
	CHECK(memcmp(buf, zero, 64) != 0);
	for (int i = 0; i < 1000 && SEEN(fake_nr_msi) == before; i++)
		usleep(1000);
	CHECK_EQ(SEEN(fake_nr_msi), before + 1);
	CHECK_EQ(SEEN(fake_msi_data), 0x31);
	CHECK_EQ(rd(vd.isr, 1), 1);		/* read clears */
	CHECK_EQ(rd(vd.isr, 1), 0);

	/* reset stops the device and forgets the queue */
	wr(vd.common + 0x14, 0, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0);
	CHECK_EQ(rd(vd.common + 0x1c, 2), 0);
	CHECK_EQ(rd(vd.common + 0x20, 4), 0);
}

static void test_event_idx_round_trip(void)
{
	struct virtq_desc *d = hva(DESC_GPA, 16 * 16);
	uint16_t *avail = hva(AVAIL_GPA, 64), *used = hva(USED_GPA, 256);

	bring_up(true);
	for (unsigned i = 0; i < 3; i++) {
		d[i] = (struct virtq_desc){ BUF_GPA + 64 * i, 64,
					    VIRTQ_DESC_F_WRITE, 0 };
		avail[2 + i] = i;
		__atomic_store_n(&avail[1], i + 1, __ATOMIC_RELEASE);
		kick();
		CHECK(vdrv_wait16(&used[1], i + 1));
	}
	/* the device asked to be kicked at the next avail index */
	CHECK(vdrv_wait16(&used[2 + 4 * 16], 3));
	wr(vd.common + 0x14, 0, 1);
}

static void test_intx_round_trip(void)
{
	struct virtq_desc *d = hva(DESC_GPA, 16 * 16);
	uint16_t *avail = hva(AVAIL_GPA, 64), *used = hva(USED_GPA, 256);
	unsigned cap = vm.pci->devs[1]->msix_cap;

	bring_up(false);
	pci_config_write(vm.pci, DEVFN, cap + 2, 0, 2);	/* MSI-X off */
	__atomic_store_n(&fake_irq_level, -1, __ATOMIC_SEQ_CST);
	d[0] = (struct virtq_desc){ BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	kick();
	CHECK(vdrv_wait16(&used[1], 1));
	for (int i = 0; i < 1000 && SEEN(fake_irq_level) != 1; i++)
		usleep(1000);
	CHECK_EQ(SEEN(fake_irq_level), 1);
	CHECK_EQ(SEEN(fake_irq_gsi), PCI_INTX_GSI(1));
	CHECK_EQ(rd(vd.isr, 1), 1);
	CHECK_EQ(SEEN(fake_irq_level), 0);		/* reading the ISR lowers it */
	wr(vd.common + 0x14, 0, 1);
}

static void test_bad_ring(void)
{
	struct virtq_desc *d = hva(DESC_GPA, 16 * 16);
	uint16_t *avail = hva(AVAIL_GPA, 64);
	unsigned before;

	/* a looped chain: the device fails, tells the driver, keeps going */
	bring_up(false);
	before = SEEN(fake_nr_msi);
	d[0] = (struct virtq_desc){ BUF_GPA, 64,
				    VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	kick();
	for (int i = 0; i < 2000 && !(rd(vd.common + 0x14, 1) & 0x40); i++)
		usleep(1000);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	for (int i = 0; i < 1000 && SEEN(fake_nr_msi) == before; i++)
		usleep(1000);
	CHECK_EQ(SEEN(fake_msi_data), 0x30);		/* config vector */
	CHECK_EQ(rd(vd.isr, 1) & 2, 2);
	wr(vd.common + 0x14, 0, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0);

	/* rings outside RAM: refused at enable */
	wr(vd.common + 0x14, 3, 1);
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 1, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	wr(vd.common + 0x20, 0xfffff000, 4);
	wr(vd.common + 0x24, 0xffff, 4);
	wr(vd.common + 0x1c, 1, 2);
	CHECK_EQ(rd(vd.common + 0x1c, 2), 0);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* odd-sized and out-of-range register accesses are ignored */
	wr(vd.common + 0x16, 5, 2);
	CHECK_EQ(rd(vd.common + 0x18, 2), 0);
	wr(vd.common + 0x1c, 1, 2);
	wr(vd.common + 0x13, 0xff, 1);
	wr(vd.common + 0x00, ~0ULL, 8);
	wr(vd.notify + 64, 0, 2);
	wr(vd.common + 0x14, 0, 1);

	/* a queue enabled after DRIVER_OK stays off: the device runs */
	CHECK(vdrv_negotiate(&vm, vd.common, 1ULL << VIRTIO_F_VERSION_1));
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);
	wr(vd.common + 0x16, 0, 2);
	wr(vd.common + 0x20, DESC_GPA, 8);
	wr(vd.common + 0x28, AVAIL_GPA, 8);
	wr(vd.common + 0x30, USED_GPA, 8);
	wr(vd.common + 0x1c, 1, 2);
	CHECK_EQ(rd(vd.common + 0x1c, 2), 0);
	wr(vd.common + 0x14, 0, 1);
}

int main(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(fake_added(virtio_rng_create(fake_env(&vm), &fake_new_dev)), 0);
	RUN(test_discovery);
	RUN(test_features);
	RUN(test_round_trip);
	RUN(test_event_idx_round_trip);
	RUN(test_intx_round_trip);
	RUN(test_bad_ring);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
