// SPDX-License-Identifier: MIT
/*
 * virtio-blk over a raw temporary file, driven through the PCI transport
 * the way a guest driver would, without a VM: config space, reads and
 * writes landing in the file, flush, GET_ID, discard and write zeroes,
 * out-of-range and read-only requests failing with IOERR, multiqueue, image
 * locking and open errors, cache=none opening with O_DIRECT, and a host
 * block device (a loop device) as the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "virtio/blk.h"
#include "virtio/virtio_pci.h"
#include "vmm/vm.h"
#include "fake_vm.h"
#include "virtio_driver.h"

#define DISK_SIZE	(1 << 20)
#define QSIZE		16
#define RING_GPA(q)	(0x10000 + (q) * 0x4000)
#define HDR_GPA		0x40000
#define DATA_GPA	0x41000
#define STATUS_GPA	0x48000

static struct vm vm;
static char path[64];
static int file_fd;
static unsigned devfn;
static struct vdrv vd;
static uint16_t avail_idx[4];

VDRV_ACCESSORS(vm)

static void discover(void)
{
	vd = vdrv_discover(&vm, devfn);
}

static uint64_t device_features(void)
{
	wr(vd.common + 0x00, 0, 4);
	uint64_t f = rd(vd.common + 0x04, 4);

	wr(vd.common + 0x00, 1, 4);
	return f | rd(vd.common + 0x04, 4) << 32;
}

static void bring_up(unsigned nr_queues)
{
	uint64_t f = device_features() & ~(1ULL << VIRTIO_F_EVENT_IDX);

	CHECK(vdrv_negotiate(&vm, vd.common, f));	/* resets first */
	memset(hva(RING_GPA(0), 4 * 0x4000), 0, 4 * 0x4000);
	memset(avail_idx, 0, sizeof(avail_idx));
	for (unsigned q = 0; q < nr_queues; q++)
		vdrv_queue_setup(&vm, vd.common, q, QSIZE, RING_GPA(q));
	wr(vd.common + 0x14, 0x0f, 1);
	CHECK_EQ(rd(vd.common + 0x14, 1), 0x0f);
}

/*
 * One request: header, optional data (device-readable for writes,
 * writable for reads), status. Returns the status byte, or -1 on timeout;
 * *used_len gets the length the device reported.
 */
static int request(unsigned q, uint32_t type, uint64_t sector, uint32_t len,
		   bool data_in, uint32_t *used_len)
{
	struct virtq_desc *d = hva(RING_GPA(q), 16 * QSIZE);
	uint16_t *avail = hva(RING_GPA(q) + 0x1000, 6 + 2 * QSIZE);
	uint16_t *used = hva(RING_GPA(q) + 0x2000, 6 + 8 * QSIZE);
	uint8_t *hdr = hva(HDR_GPA, 16), *status = hva(STATUS_GPA, 1);
	unsigned n = 0;

	memcpy(hdr, &type, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &sector, 8);
	*status = 0xff;
	d[n] = (struct virtq_desc){ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, n + 1 };
	n++;
	if (len) {
		d[n] = (struct virtq_desc){ DATA_GPA, len, VIRTQ_DESC_F_NEXT |
					    (data_in ? VIRTQ_DESC_F_WRITE : 0),
					    n + 1 };
		n++;
	}
	d[n] = (struct virtq_desc){ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 };
	avail[2 + avail_idx[q] % QSIZE] = 0;
	__atomic_store_n(&avail[1], ++avail_idx[q], __ATOMIC_RELEASE);
	wr(vd.notify + q * vd.notify_mult, q, 2);
	for (int i = 0; i < 3000; i++) {
		if (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) ==
		    avail_idx[q]) {
			if (used_len)
				*used_len = used[2 + 4 * ((avail_idx[q] - 1) %
							  QSIZE) + 2];
			return *status;
		}
		usleep(1000);
	}
	return -1;
}

static int add_disk(struct disk_config *disk)
{
	int ret = fake_added(virtio_blk_create(fake_env(&vm), disk, 0, &fake_new_dev));

	if (ret == 0)
		for (devfn = 8; devfn < 256; devfn += 8)
			if (vm.pci->devs[devfn >> 3] &&
			    !vm.pci->devs[(devfn >> 3) + 1])
				break;
	return ret;
}

static void test_config(void)
{
	uint64_t f = device_features();

	CHECK(f & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(f & (1ULL << 9));		/* FLUSH */
	CHECK(f & (1ULL << 12));	/* MQ */
	CHECK(f & (1ULL << 13));	/* DISCARD */
	CHECK(f & (1ULL << 14));	/* WRITE_ZEROES */
	CHECK(!(f & (1ULL << 5)));	/* not RO */
	CHECK_EQ(rd(vd.devcfg + 0, 4), DISK_SIZE / 512);
	CHECK_EQ(rd(vd.devcfg + 4, 4), 0);
	CHECK_EQ(rd(vd.devcfg + 20, 4), 512);
	CHECK_EQ(rd(vd.devcfg + 34, 2), 2);	/* one queue per vCPU */
	CHECK(rd(vd.devcfg + 12, 4) >= 2);		/* seg_max */
	CHECK_EQ(pci_config_read(vm.pci, devfn, 2, 2), 0x1042);
}

static void test_read_write(void)
{
	uint8_t *data = hva(DATA_GPA, 4096), back[1024];
	uint32_t used;

	bring_up(2);
	for (int i = 0; i < 1024; i++)
		data[i] = i * 7;
	CHECK_EQ(request(0, 1, 10, 1024, false, &used), 0);
	CHECK_EQ(used, 1);
	CHECK_EQ(pread(file_fd, back, 1024, 10 * 512), 1024);
	CHECK(memcmp(back, data, 1024) == 0);
	memset(data, 0, 1024);
	CHECK_EQ(request(1, 0, 10, 1024, true, &used), 0);	/* queue 1 */
	CHECK_EQ(used, 1025);
	CHECK(memcmp(back, data, 1024) == 0);
	CHECK_EQ(request(0, 4, 0, 0, false, NULL), 0);		/* flush */
}

static void test_bad_requests(void)
{
	uint8_t *data = hva(DATA_GPA, 4096);

	bring_up(1);
	/* last sector is fine, one past is not, nor a wrapping sector */
	CHECK_EQ(request(0, 0, DISK_SIZE / 512 - 1, 512, true, NULL), 0);
	CHECK_EQ(request(0, 0, DISK_SIZE / 512 - 1, 1024, true, NULL), 1);
	CHECK_EQ(request(0, 1, DISK_SIZE / 512, 512, false, NULL), 1);
	CHECK_EQ(request(0, 0, ~0ULL, 512, true, NULL), 1);
	CHECK_EQ(request(0, 0, (~0ULL) / 512, 1024, true, NULL), 1);
	CHECK_EQ(request(0, 0, 0, 100, true, NULL), 1);	/* partial sector */
	CHECK_EQ(request(0, 99, 0, 0, false, NULL), 2);	/* unsupported */
	/* GET_ID */
	memset(data, 0xff, 20);
	CHECK_EQ(request(0, 8, 0, 20, true, NULL), 0);
	CHECK(memcmp(data, "cvisor-test\0\0\0", 14) == 0);
	/* discard: sector 5, 2 sectors; write zeroes over sector 10 */
	memset(data, 0, 16);
	data[0] = 5;
	data[8] = 2;
	CHECK_EQ(request(0, 11, 0, 16, false, NULL), 0);
	data[0] = 10;
	CHECK_EQ(request(0, 13, 0, 16, false, NULL), 0);
	{
		uint8_t back[1024], zero[1024] = { 0 };

		CHECK_EQ(pread(file_fd, back, 1024, 10 * 512), 1024);
		CHECK(memcmp(back, zero, 1024) == 0);
	}
	/* a discard range past the end */
	memset(data, 0, 16);
	data[1] = 0x08;		/* sector 2048 */
	data[8] = 1;
	CHECK_EQ(request(0, 11, 0, 16, false, NULL), 1);
	CHECK_EQ(request(0, 11, 0, 15, false, NULL), 1);
	CHECK(!(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET));
	wr(vd.common + 0x14, 0, 1);
}

static void test_readonly(void)
{
	struct disk_config ro = { .path = path, .readonly = true };
	struct disk_config rw = { .path = path };
	unsigned rw_devfn = devfn;

	/* the running read-write disk holds the lock */
	CHECK_EQ(add_disk(&ro), -EBUSY);
	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(add_disk(&ro), 0);
	CHECK_EQ(devfn, rw_devfn);
	discover();
	CHECK(device_features() & (1ULL << 5));
	CHECK(!(device_features() & (1ULL << 13)));
	bring_up(1);
	CHECK_EQ(request(0, 0, 0, 512, true, NULL), 0);
	CHECK_EQ(request(0, 1, 0, 512, false, NULL), 1);
	/* readers share, a writer is refused */
	CHECK_EQ(add_disk(&ro), 0);
	CHECK_EQ(add_disk(&rw), -EBUSY);
}

static void test_open_errors(void)
{
	struct disk_config missing = { .path = "/nonexistent/disk.img" };
	struct disk_config dir = { .path = "/tmp" };

	CHECK_EQ(add_disk(&missing), -ENOENT);
	CHECK_EQ(add_disk(&dir), -EISDIR);
}

static void test_no_status(void)
{
	struct virtq_desc *d;
	uint16_t *avail;

	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	{
		struct disk_config rw = { .path = path };

		CHECK_EQ(add_disk(&rw), 0);
	}
	discover();
	bring_up(1);
	d = hva(RING_GPA(0), 16 * QSIZE);
	avail = hva(RING_GPA(0) + 0x1000, 6 + 2 * QSIZE);
	d[0] = (struct virtq_desc){ HDR_GPA, 16, 0, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	wr(vd.notify, 0, 2);
	for (int i = 0; i < 2000 && !(rd(vd.common + 0x14, 1) & 0x40); i++)
		usleep(1000);
	CHECK(rd(vd.common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
	wr(vd.common + 0x14, 0, 1);
}

/* Does this process hold file name open with O_DIRECT? */
static bool open_direct(const char *name)
{
	char link[64], target[256], line[128];
	bool found = false;

	for (int fd = 0; fd < 1024 && !found; fd++) {
		ssize_t n;
		FILE *f;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strcmp(target, name))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fdinfo/%d", fd);
		f = fopen(link, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6) &&
			    (strtoul(line + 6, NULL, 8) & O_DIRECT))
				found = true;
		if (f)
			fclose(f);
	}
	return found;
}

/* A fresh bus with one disk on it, brought up with one queue. */
static int fresh_disk(struct disk_config *disk)
{
	int ret;

	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	ret = add_disk(disk);
	if (ret == 0) {
		discover();
		bring_up(1);
	}
	return ret;
}

static void test_direct(void)
{
	char dpath[] = "/var/tmp/cvisor-blk-direct-XXXXXX";
	struct disk_config disk = { .path = dpath, .direct = true };
	uint8_t *data = hva(DATA_GPA, 8192), back[8192];
	int fd = mkstemp(dpath);

	CHECK(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0);
	CHECK_EQ(fresh_disk(&disk), 0);
	CHECK(open_direct(dpath));
	for (int i = 0; i < 8192; i++)
		data[i] = i * 13 + 1;
	CHECK_EQ(request(0, 1, 64, 8192, false, NULL), 0);
	CHECK_EQ(request(0, 4, 0, 0, false, NULL), 0);
	CHECK_EQ(pread(fd, back, 8192, 64 * 512), 8192);
	CHECK(memcmp(back, data, 8192) == 0);
	memset(data, 0, 8192);
	CHECK_EQ(request(0, 0, 64, 8192, true, NULL), 0);
	CHECK(memcmp(back, data, 8192) == 0);
	wr(vd.common + 0x14, 0, 1);
	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	close(fd);
	unlink(dpath);
}

/* Attach a 1 MiB temporary file to a free loop device; -1 if none. */
static int loop_attach(char *dev, size_t len, int backing)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, fd;

	n = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (n < 0)
		return -1;
	snprintf(dev, len, "/dev/loop%d", n);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && ioctl(fd, LOOP_SET_FD, backing) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void test_block_device(void)
{
	char bpath[] = "/var/tmp/cvisor-blk-loop-XXXXXX", dev[32];
	struct disk_config disk = { .path = dev };
	uint8_t *data = hva(DATA_GPA, 4096), back[4096];
	int fd = mkstemp(bpath), loop;

	CHECK(fd >= 0 && ftruncate(fd, DISK_SIZE / 2) == 0);
	loop = loop_attach(dev, sizeof(dev), fd);
	if (loop < 0) {
		SKIP("no loop device here");
		goto out;
	}
	CHECK_EQ(fresh_disk(&disk), 0);
	CHECK_EQ(rd(vd.devcfg + 0, 4), DISK_SIZE / 2 / 512);
	for (int i = 0; i < 4096; i++)
		data[i] = i * 3 + 5;
	CHECK_EQ(request(0, 1, 16, 4096, false, NULL), 0);
	/* the flush pushes the device's cache down to the file */
	CHECK_EQ(request(0, 4, 0, 0, false, NULL), 0);
	CHECK_EQ(pread(fd, back, 4096, 16 * 512), 4096);
	CHECK(memcmp(back, data, 4096) == 0);
	CHECK_EQ(request(0, 0, DISK_SIZE / 2 / 512, 512, true, NULL), 1);
	/* a second writer of the same device is refused */
	CHECK_EQ(add_disk(&disk), -EBUSY);
	wr(vd.common + 0x14, 0, 1);
	fake_pci_destroy(&vm);
	CHECK_EQ(fake_pci_init(&vm), 0);
	ioctl(loop, LOOP_CLR_FD, 0);
	close(loop);
out:
	close(fd);
	unlink(bpath);
}

int main(void)
{
	struct disk_config disk = { .path = path, .serial = "cvisor-test" };

	strcpy(path, "/tmp/cvisor-blk-XXXXXX");
	file_fd = mkstemp(path);
	if (file_fd < 0 || ftruncate(file_fd, DISK_SIZE) < 0) {
		printf("FAIL: cannot create a temporary disk\n");
		return 1;
	}
	vm.nr_vcpus = 2;
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(add_disk(&disk), 0);
	discover();
	RUN(test_config);
	RUN(test_read_write);
	RUN(test_bad_requests);
	RUN(test_readonly);
	RUN(test_open_errors);
	RUN(test_no_status);
	RUN(test_direct);
	RUN(test_block_device);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	close(file_fd);
	unlink(path);
	return test_summary();
}
