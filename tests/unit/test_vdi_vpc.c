// SPDX-License-Identifier: MIT
/*
 * VDI and VPC (VHD) drivers: random writes and zeroing on images of every
 * subformat, made by cvisor and (when installed) by qemu-img, mirrored on
 * a raw file; both must read the same after every batch and after a
 * reopen, and qemu-img must then read the image as the raw file. Damaged
 * headers and tables must be refused with a message.
 */
#include <endian.h>
#include <errno.h>

#define IMG_TEST_DIR "/tmp/cvisor-test-vdivpc-XXXXXX"
#include "img_test.h"

static void test_vdi_random_io(void)
{
	random_round("vdi", "", false, 1);
	random_round("vdi", "static=on", false, 2);
}

static void test_vpc_random_io(void)
{
	random_round("vpc", "", false, 3);
	random_round("vpc", "subformat=fixed", false, 4);
	random_round("vpc", "force_size=on", false, 5);
}

static void test_qemu_made_random_io(void)
{
	if (!have_qemu_img()) {
		SKIP("qemu-img not installed");
		return;
	}
	random_round("vdi", "", true, 6);
	random_round("vdi", "static=on", true, 7);
	random_round("vpc", "", true, 8);
	random_round("vpc", "subformat=fixed", true, 9);
}

static void make(const char *fmt, const char *path, uint64_t size,
		 const char *key, const char *val);

static void test_parallel_writers(void)
{
	static const char *const fmts[] = { "vdi", "vpc" };
	char p[128];

	for (size_t f = 0; f < 2; f++) {
		snprintf(p, sizeof(p), "%s/par.%s", dir, fmts[f]);
		make(fmts[f], p, 24u << 20, NULL, NULL);
		par_round(fmts[f], p);
	}
}

/* Writes len bytes of p at off into path. */
static void patch(const char *path, uint64_t off, const void *p, size_t len)
{
	FILE *f = fopen(path, "r+b");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fseek(f, (long)off, SEEK_SET) == 0);
	CHECK_EQ(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void patch32(const char *path, uint64_t off, uint32_t v, bool big)
{
	v = big ? htobe32(v) : htole32(v);
	patch(path, off, &v, 4);
}

/* Opening path as fmt with flags: 0 or -errno, with a message on error. */
static int try_open(const char *path, const char *fmt, int flags)
{
	char err[BLOCK_ERR_LEN] = "";
	struct block_dev *dev;
	int ret = block_open(path, fmt, flags, &dev, err, sizeof(err));

	if (ret)
		CHECK(err[0] != 0);
	else
		block_close(dev);
	return ret;
}

static void make(const char *fmt, const char *path, uint64_t size,
		 const char *key, const char *val)
{
	struct block_opt v = { key, val, false };
	struct block_opts o = { &v, key ? 1 : 0 };
	char err[BLOCK_ERR_LEN];

	CHECK_EQ(block_find_driver(fmt)->create(path, size, &o, err,
						sizeof(err)), 0);
}

static void test_vdi_damage(void)
{
	char p[128];
	struct block_dev *dev;
	char err[BLOCK_ERR_LEN];
	uint8_t b[4096];

	snprintf(p, sizeof(p), "%s/d.vdi", dir);
	make("vdi", p, 4 << 20, NULL, NULL);
	CHECK_EQ(try_open(p, "vdi", 0), 0);
	patch32(p, 0x178, 4096, false); /* block size */
	CHECK(try_open(p, "vdi", 0) < 0);
	make("vdi", p, 4 << 20, NULL, NULL);
	patch32(p, 0x180, 100000, false); /* map past the end of the file */
	CHECK(try_open(p, "vdi", 0) < 0);
	make("vdi", p, 4 << 20, NULL, NULL);
	patch32(p, 0x170, 0, false); /* disk size over the blocks */
	patch32(p, 0x174, 1, false);
	CHECK(try_open(p, "vdi", 0) < 0);
	make("vdi", p, 4 << 20, NULL, NULL);
	patch32(p, 0x44, 0x00010000, false);
	CHECK(try_open(p, "vdi", 0) < 0);
	make("vdi", p, 4 << 20, NULL, NULL);
	patch32(p, 0x1b8, 1, false); /* a parent */
	CHECK(try_open(p, "vdi", 0) < 0);

	/* two blocks on one data block: read-only, and check finds it */
	make("vdi", p, 4 << 20, "static", "on");
	patch32(p, 0x204, 0, false);
	CHECK_EQ(try_open(p, "vdi", 0), -EUCLEAN);
	CHECK_EQ(block_open(p, "vdi", BLOCK_RDONLY, &dev, err, sizeof(err)), 0);
	if (!test_case_failed) {
		struct block_check_result r;

		CHECK_EQ(dev->drv->check(dev, 0, &r, NULL, NULL), 0);
		CHECK_EQ(r.corruptions, 1);
		CHECK_EQ(block_pread(dev, b, sizeof(b), 1 << 20), 0);
		block_close(dev);
	}
	/* an entry past the block count */
	make("vdi", p, 4 << 20, "static", "on");
	patch32(p, 0x208, 77, false);
	CHECK_EQ(try_open(p, "vdi", 0), -EUCLEAN);
	CHECK_EQ(block_open(p, "vdi", BLOCK_RDONLY, &dev, err, sizeof(err)), 0);
	if (!test_case_failed) {
		CHECK_EQ(block_pread(dev, b, sizeof(b), 2 << 20), -EIO);
		block_close(dev);
	}
	unlink(p);
}

static void test_vpc_damage(void)
{
	char p[128];
	uint8_t one = 1;

	snprintf(p, sizeof(p), "%s/d.vhd", dir);
	make("vpc", p, 8 << 20, NULL, NULL);
	CHECK_EQ(try_open(p, "vpc", 0), 0);
	patch(p, 0x50, &one, 1); /* a UUID byte: the checksum fails */
	CHECK(try_open(p, "vpc", 0) < 0);
	make("vpc", p, 8 << 20, "subformat", "fixed");
	CHECK_EQ(try_open(p, "vpc", 0), 0);
	CHECK_EQ(truncate(p, 4 << 20), 0); /* no footer any more */
	CHECK(try_open(p, "vpc", 0) < 0);

	/* a BAT entry past the end, then two entries on one block */
	make("vpc", p, 8 << 20, NULL, NULL);
	patch32(p, 1536, 100000, true);
	CHECK(try_open(p, "vpc", 0) < 0);
	make("vpc", p, 8 << 20, NULL, NULL);
	CHECK_EQ(truncate(p, 16 << 20), 0);
	patch32(p, 1536, 4, true);
	patch32(p, 1540, 4, true);
	CHECK_EQ(try_open(p, "vpc", 0), -EUCLEAN);
	CHECK_EQ(try_open(p, "vpc", BLOCK_RDONLY), 0);
	/* a block over the BAT */
	make("vpc", p, 8 << 20, NULL, NULL);
	CHECK_EQ(truncate(p, 16 << 20), 0);
	patch32(p, 1536, 3, true);
	CHECK_EQ(try_open(p, "vpc", 0), -EUCLEAN);
	/* a block size that is no power of two */
	make("vpc", p, 8 << 20, NULL, NULL);
	patch32(p, 512 + 32, 3 << 20, true);
	CHECK(try_open(p, "vpc", 0) < 0);
	/* a table too small for the disk */
	make("vpc", p, 8 << 20, NULL, NULL);
	patch32(p, 512 + 28, 1, true);
	CHECK(try_open(p, "vpc", 0) < 0);
	unlink(p);
}

/*
 * A block whose sector bitmap is not all ones (as Hyper-V leaves them):
 * a write sets exactly the bits of the sectors it fills, MSB first.
 */
static void test_vpc_bitmap(void)
{
	char p[128], err[BLOCK_ERR_LEN];
	static uint8_t buf[4096], bm[512], zero[512];
	struct block_dev *dev;
	uint32_t sec;
	FILE *f;

	snprintf(p, sizeof(p), "%s/b.vhd", dir);
	make("vpc", p, 8 << 20, NULL, NULL);
	memset(buf, 0x33, sizeof(buf));
	CHECK_EQ(block_open(p, "vpc", 0, &dev, err, sizeof(err)), 0);
	if (test_case_failed)
		return;
	CHECK_EQ(block_pwrite(dev, buf, sizeof(buf), 0), 0);
	block_close(dev);
	f = fopen(p, "rb");
	CHECK(f && !fseek(f, 1536, SEEK_SET) && fread(&sec, 4, 1, f) == 1);
	if (f)
		fclose(f);
	sec = be32toh(sec);
	patch(p, (uint64_t)sec * 512, zero, sizeof(zero));
	CHECK_EQ(block_open(p, "vpc", 0, &dev, err, sizeof(err)), 0);
	if (test_case_failed)
		return;
	CHECK_EQ(block_pwrite(dev, buf, 1024, 5 * 512), 0); /* sectors 5, 6 */
	CHECK_EQ(block_pwrite(dev, buf, 512, 16 * 512), 0); /* sector 16 */
	block_close(dev);
	f = fopen(p, "rb");
	CHECK(f && !fseek(f, (long)sec * 512, SEEK_SET) &&
	      fread(bm, 1, sizeof(bm), f) == sizeof(bm));
	if (f)
		fclose(f);
	CHECK_EQ(bm[0], 0x06);
	CHECK_EQ(bm[1], 0);
	CHECK_EQ(bm[2], 0x80);
	CHECK(!memcmp(bm + 3, zero, sizeof(bm) - 3));
	unlink(p);
}

/* Sizes as qemu-img makes them: rounded up to a whole CHS geometry. */
static void test_vpc_sizes(void)
{
	static const struct {
		uint64_t asked, got;
		const char *force;
	} t[] = {
		{ 10 << 20, 10514432, NULL },
		{ 1000001, 1009664, NULL },
		{ 127ull << 30, 136365219840ull, NULL },
		{ 200ull << 30, 200ull << 30, NULL },
		{ 1000001, 1000448, "on" },
		{ 0, 0, NULL },
	};
	char p[128], err[BLOCK_ERR_LEN];
	struct block_dev *dev;

	snprintf(p, sizeof(p), "%s/s.vhd", dir);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		make("vpc", p, t[i].asked, t[i].force ? "force_size" : NULL,
		     t[i].force);
		CHECK_EQ(block_open(p, "vpc", BLOCK_RDONLY, &dev, err,
				    sizeof(err)), 0);
		if (test_case_failed)
			break;
		CHECK_EQ(dev->length, t[i].got);
		block_close(dev);
	}
	/* over 2040 GiB */
	{
		struct block_opts o = { NULL, 0 };

		CHECK(block_find_driver("vpc")->create(p, 2041ull << 30, &o, err,
						       sizeof(err)) < 0);
	}
	unlink(p);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp\n");
		return 1;
	}
	RUN(test_vdi_random_io);
	RUN(test_vpc_random_io);
	RUN(test_qemu_made_random_io);
	RUN(test_vdi_damage);
	RUN(test_vpc_damage);
	RUN(test_vpc_sizes);
	RUN(test_parallel_writers);
	RUN(test_vpc_bitmap);
	rmdir(dir);
	return test_summary();
}
