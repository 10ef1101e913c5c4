// SPDX-License-Identifier: MIT
/*
 * virtio-balloon driven like a guest driver, without a VM: inflated pages
 * lose their host memory (they read back as zero), PFNs outside guest RAM
 * are ignored, the host's target shows in the config space, guest
 * statistics are decoded, and free page reports release host memory.
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

static int fake_balloon_create(struct vm *v)
{
	int ret = virtio_balloon_create(fake_env(v), true, &v->balloon);

	if (!ret)
		fake_new_dev = virtio_balloon_device(v->balloon);
	return fake_added(ret);
}

static struct vm vm;
static struct vm_config cfg = { .balloon = true };
static struct vdrv vd;

VDRV_ACCESSORS(vm)

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

/* Queue qi of 16 entries with its rings at base, base+0x1000, base+0x2000. */
static void setup_queue(unsigned qi, uint64_t base)
{
	memset(hva(base, 0x3000), 0, 0x3000);
	wr(vd.common + 0x16, qi, 2);
	wr(vd.common + 0x18, 16, 2);
	wr(vd.common + 0x20, base, 8);
	wr(vd.common + 0x28, base + 0x1000, 8);
	wr(vd.common + 0x30, base + 0x2000, 8);
	wr(vd.common + 0x1c, 1, 2);
}

static void kick(unsigned qi)
{
	wr(vd.common + 0x16, qi, 2);
	wr(vd.notify + rd(vd.common + 0x1e, 2) * vd.notify_mult, qi, 2);
}

/* Post one descriptor {gpa, len, flags} on the queue at base. */
static void post(unsigned qi, uint64_t base, uint64_t gpa, uint32_t len,
		 uint16_t flags)
{
	struct virtq_desc *d = hva(base, 16 * 16);
	uint16_t *avail = hva(base + 0x1000, 64);
	uint16_t idx = avail[1];

	d[idx % 16] = (struct virtq_desc){ gpa, len, flags, 0 };
	avail[2 + idx % 16] = idx % 16;
	__atomic_store_n(&avail[1], idx + 1, __ATOMIC_RELEASE);
	kick(qi);
}

static bool wait_used(uint64_t base, uint16_t n)
{
	uint16_t *used = hva(base + 0x2000, 256);

	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == n)
			return true;
		usleep(1000);
	}
	return false;
}

#define STATS_Q_GPA	0x30000
#define REPORT_Q_GPA	0x40000
#define STATS_BUF_GPA	0x50000
#define REPORT_GPA	0x200000

static void put_stat(uint8_t *p, uint16_t tag, uint64_t val)
{
	p[0] = tag;
	p[1] = tag >> 8;
	for (int i = 0; i < 8; i++)
		p[2 + i] = val >> (8 * i);
}

static bool has_stat(const struct balloon_info *bi, const char *name,
		     uint64_t val)
{
	for (unsigned i = 0; i < bi->nr_stats; i++)
		if (!strcmp(bi->stats[i].name, name))
			return bi->stats[i].value == val;
	return false;
}

static void test_balloon_stats_and_free_page_reporting(void)
{
	uint8_t *stats = hva(STATS_BUF_GPA, 64);
	uint8_t *rep = hva(REPORT_GPA, 3 * 4096);
	struct balloon_info before, bi;

	memset(rep, 0xee, 3 * 4096);
	/* Driver: VERSION_1, STATS_VQ and PAGE_REPORTING; queues 2 and 3. */
	wr(vd.common + 0x14, 0, 1);
	wr(vd.common + 0x14, 3, 1);
	wr(vd.common + 0x08, 0, 4);
	wr(vd.common + 0x0c, 1 << 1 | 1 << 5, 4);
	wr(vd.common + 0x08, 1, 4);
	wr(vd.common + 0x0c, 1, 4);
	wr(vd.common + 0x14, 0x0b, 1);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(2, STATS_Q_GPA);
	setup_queue(3, REPORT_Q_GPA);
	wr(vd.common + 0x14, 0x0f, 1);
	virtio_balloon_get_info(vm.balloon, &before);

	/* Stats: two known tags, one unknown (skipped), a truncated tail. */
	put_stat(stats, 4, 123 << 20);		/* free-memory */
	put_stat(stats + 10, 5, 456 << 20);	/* total-memory */
	put_stat(stats + 20, 999, 7);
	post(2, STATS_Q_GPA, STATS_BUF_GPA, 35, 0);
	/* The device keeps the buffer until it wants new stats. */
	for (int i = 0; i < 2000; i++) {
		virtio_balloon_get_info(vm.balloon, &bi);
		if (bi.nr_stats)
			break;
		usleep(1000);
	}
	CHECK_EQ(bi.nr_stats, 2);
	CHECK(has_stat(&bi, "free-memory", 123 << 20));
	CHECK(has_stat(&bi, "total-memory", 456 << 20));

	/* Report two free pages (device-writable); the third is kept. */
	post(3, REPORT_Q_GPA, REPORT_GPA, 2 * 4096, VIRTQ_DESC_F_WRITE);
	CHECK(wait_used(REPORT_Q_GPA, 1));
	CHECK_EQ(rep[0], 0);
	CHECK_EQ(rep[2 * 4096 - 1], 0);
	CHECK_EQ(rep[2 * 4096], 0xee);
	virtio_balloon_get_info(vm.balloon, &bi);
	CHECK_EQ(bi.reported_bytes - before.reported_bytes, 2 * 4096);
	CHECK_EQ(bi.inflated_bytes, before.inflated_bytes);
	CHECK_EQ(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET, 0);
	wr(vd.common + 0x14, 0, 1);
}

int main(void)
{
	vm.cfg = &cfg;
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, RAM_SIZE, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(fake_balloon_create(&vm), 0);
	RUN(test_balloon_discovery);
	RUN(test_balloon_target_in_config);
	RUN(test_balloon_inflate_releases_pages);
	RUN(test_balloon_stats_and_free_page_reporting);
	fake_pci_destroy(&vm);
	CHECK(vm.balloon == NULL);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
