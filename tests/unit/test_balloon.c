// SPDX-License-Identifier: MIT
/*
 * virtio-balloon driven like a guest driver, without a VM: inflated pages
 * lose their host memory (they read back as zero), PFNs outside guest RAM
 * are ignored, and the host's target shows in the config space.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "virtio/balloon.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

#define DEVFN		(1 << 3)
#define DESC_GPA	0x10000
#define AVAIL_GPA	0x11000
#define USED_GPA	0x12000
#define PFN_GPA		0x20000
#define PAGE_GPA	0x100000
#define RAM_SIZE	(16 << 20)

static struct vm vm;
static struct vm_config cfg = { .balloon = true };
static struct vdrv vd;

static uint64_t rd(uint64_t addr, unsigned size)
{
	return vdrv_rd(&vm, addr, size);
}

static void wr(uint64_t addr, uint64_t val, unsigned size)
{
	vdrv_wr(&vm, addr, val, size);
}

static void *hva(uint64_t gpa, uint64_t len)
{
	return gpa_to_hva(&vm.mem, gpa, len);
}

static void discover(void)
{
	vd = vdrv_discover(&vm, DEVFN);
}

static void test_balloon_discovery(void)
{
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, 0, 4), (0x1040u + 5) << 16 | 0x1af4);
	discover();
	CHECK(vd.common && vd.notify && vd.devcfg);
	CHECK_EQ(rd(vd.common + 0x12, 2), 4);		/* num_queues */
	wr(vd.common + 0x00, 0, 4);
	/* STATS_VQ, DEFLATE_ON_OOM, PAGE_REPORTING */
	CHECK_EQ(rd(vd.common + 0x04, 4) & 0x26, 0x26);
}

static void test_balloon_target_in_config(void)
{
	struct balloon_info bi;

	CHECK_EQ(virtio_balloon_set_target(vm.balloon, RAM_SIZE - (4 << 20)), 0);
	CHECK_EQ(rd(vd.devcfg + 0, 4), (4 << 20) / 4096);	/* num_pages */
	CHECK_EQ(virtio_balloon_set_target(vm.balloon, RAM_SIZE + 4096), -EINVAL);
	/* The driver reports how far it got. */
	wr(vd.devcfg + 4, 256, 4);
	virtio_balloon_get_info(vm.balloon, &bi);
	CHECK_EQ(bi.target_bytes, RAM_SIZE - (4 << 20));
	CHECK_EQ(bi.actual_bytes, RAM_SIZE - (256 << 12));
}

static void test_balloon_inflate_releases_pages(void)
{
	struct virtq_desc *d = hva(DESC_GPA, 16 * 16);
	uint16_t *avail = hva(AVAIL_GPA, 64), *used = hva(USED_GPA, 256);
	uint32_t *pfns = hva(PFN_GPA, 16);
	uint8_t *page = hva(PAGE_GPA, 4096), *next = hva(PAGE_GPA + 4096, 4096);
	struct balloon_info bi;
	int i;

	memset(page, 0xab, 4096);
	memset(next, 0xcd, 4096);
	/* Driver: VERSION_1 only, inflate queue 0 of 16 entries. */
	wr(vd.common + 0x14, 0, 1);
	memset(hva(DESC_GPA, 0x3000), 0, 0x3000);
	wr(vd.common + 0x14, 3, 1);
	wr(vd.common + 0x08, 0, 4);
	wr(vd.common + 0x0c, 0, 4);
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 1, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	wr(vd.common + 0x16, 0, 2);
	wr(vd.common + 0x18, 16, 2);
	wr(vd.common + 0x20, DESC_GPA, 8);
	wr(vd.common + 0x28, AVAIL_GPA, 8);
	wr(vd.common + 0x30, USED_GPA, 8);
	wr(vd.common + 0x1c, 1, 2);
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);

	/* One good PFN, one past the end of RAM, one far outside. */
	pfns[0] = htole32(PAGE_GPA >> 12);
	pfns[1] = htole32(RAM_SIZE >> 12);
	pfns[2] = htole32(0xffffffff);
	d[0] = (struct virtq_desc){ PFN_GPA, 12, 0, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	wr(vd.notify, 0, 2);
	for (i = 0; i < 2000 && __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) != 1; i++)
		usleep(1000);
	CHECK_EQ(used[1], 1);
	CHECK_EQ(page[0], 0);			/* the host dropped it */
	CHECK_EQ(page[4095], 0);
	CHECK_EQ(next[0], 0xcd);		/* its neighbour is intact */
	virtio_balloon_get_info(vm.balloon, &bi);
	CHECK_EQ(bi.inflated_bytes, 4096);
	CHECK_EQ(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
	wr(vd.common + 0x14, 0, 1);
}

int main(void)
{
	vm.cfg = &cfg;
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, RAM_SIZE, NULL), 0);
	CHECK_EQ(pci_init(&vm), 0);
	CHECK_EQ(virtio_balloon_create(&vm), 0);
	RUN(test_balloon_discovery);
	RUN(test_balloon_target_in_config);
	RUN(test_balloon_inflate_releases_pages);
	pci_destroy(&vm);
	CHECK(vm.balloon == NULL);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
