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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "test.h"

static char dir[] = "/tmp/cvisor-test-vdivpc-XXXXXX";

static bool have_qemu_img(void)
{
	return system("qemu-img --version >/dev/null 2>&1") == 0;
}

static int sh(const char *fmt, const char *a, const char *b, const char *c,
	      const char *d)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b, c, d);
	return system(cmd);
}

static void compare(struct block_dev *img, struct block_dev *raw)
{
	static uint8_t a[1 << 20], b[1 << 20];

	for (uint64_t off = 0; off < img->length; off += sizeof(a)) {
		size_t n = img->length - off < sizeof(a) ?
				   (size_t)(img->length - off) : sizeof(a);

		CHECK_EQ(block_pread(img, a, n, off), 0);
		CHECK_EQ(block_pread(raw, b, n, off), 0);
		if (memcmp(a, b, n)) {
			CHECK(!"contents differ");
			return;
		}
	}
}

static void check_clean(struct block_dev *dev)
{
	struct block_check_result r;

	if (!dev->drv->check)
		return;
	CHECK_EQ(dev->drv->check(dev, 0, &r, NULL, NULL), 0);
	CHECK_EQ(r.corruptions, 0);
}

static void random_op(struct block_dev *img, struct block_dev *raw)
{
	static uint8_t buf[3 << 20];
	uint64_t size = img->length;
	uint64_t len = (uint64_t)rand() % (rand() % 4 ? 70000 : sizeof(buf)) + 1;
	uint64_t off = (uint64_t)rand() % size;

	if (rand() % 3 == 0)
		off &= ~511ull;
	if (len > size - off)
		len = size - off;
	if (rand() % 6) {
		uint8_t v = (uint8_t)rand();

		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(v + i / 512);
		CHECK_EQ(block_pwrite(img, buf, len, off), 0);
		CHECK_EQ(block_pwrite(raw, buf, len, off), 0);
	} else {
		CHECK_EQ(block_write_zeroes(img, off, len), 0);
		memset(buf, 0, len);
		CHECK_EQ(block_pwrite(raw, buf, len, off), 0);
	}
}

/*
 * Random I/O on an image of fmt made with opts ("" for none) by qemu-img
 * if qemu is set, else by the driver.
 */
static void random_round(const char *fmt, const char *opts, bool qemu,
			 unsigned seed)
{
	char ipath[128], rpath[128], err[BLOCK_ERR_LEN];
	const struct block_driver *drv = block_find_driver(fmt);
	uint64_t size = (9u << 20) + 1536;
	struct block_dev *img, *raw;

	srand(seed);
	snprintf(ipath, sizeof(ipath), "%s/r.%s", dir, fmt);
	snprintf(rpath, sizeof(rpath), "%s/r.raw", dir);
	if (qemu) {
		CHECK_EQ(sh("qemu-img create -q -f %s %s%s %s 9438720", fmt,
			    opts[0] ? "-o " : "", opts, ipath), 0);
	} else {
		struct block_opt v[2];
		struct block_opts o = { v, 0 };
		char buf[64], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", opts);
		for (char *kv = strtok_r(buf, ",", &save); kv;
		     kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');

			*eq = 0;
			v[o.n++] = (struct block_opt){ kv, eq + 1, false };
		}
		CHECK_EQ(drv->create(ipath, size, &o, err, sizeof(err)), 0);
	}
	CHECK_EQ(block_open(ipath, fmt, 0, &img, err, sizeof(err)), 0);
	if (test_case_failed)
		return;
	CHECK(img->length >= size);
	CHECK_EQ(sh("truncate -s 0 %s%s%s%s", rpath, "", "", ""), 0);
	CHECK_EQ(block_open(rpath, "raw", 0, &raw, err, sizeof(err)), 0);
	CHECK_EQ(block_truncate(raw, img->length), 0);
	for (int batch = 0; batch < 6; batch++) {
		for (int op = 0; op < 25; op++)
			random_op(img, raw);
		compare(img, raw);
		check_clean(img);
	}
	block_close(img);
	block_close(raw);
	CHECK_EQ(block_open(ipath, fmt, BLOCK_RDONLY, &img, err, sizeof(err)), 0);
	CHECK_EQ(block_open(rpath, "raw", BLOCK_RDONLY, &raw, err, sizeof(err)),
		 0);
	compare(img, raw);
	check_clean(img);
	block_close(img);
	block_close(raw);
	if (have_qemu_img()) {
		CHECK_EQ(sh("qemu-img compare -q -f %s -F raw %s %s", fmt, ipath,
			    rpath, ""), 0);
		if (!strcmp(fmt, "vdi"))
			CHECK_EQ(sh("qemu-img check -q -f %s %s%s%s", fmt, ipath,
				    "", ""), 0);
	}
	unlink(ipath);
	unlink(rpath);
}

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

#define PAR_CHUNK   (48u << 10) /* several chunks share each block */
#define PAR_THREADS 4

struct par_job {
	struct block_dev *dev;
	unsigned k;
	int ret;
};

static void par_fill(uint8_t *b, uint64_t i)
{
	for (size_t j = 0; j < PAR_CHUNK; j++)
		b[j] = (uint8_t)(i * 7 + j / 512 + 1);
}

/* Thread k writes chunks k, k+4, ...: neighbours race to allocate. */
static void *par_writer(void *arg)
{
	static __thread uint8_t b[PAR_CHUNK];
	struct par_job *j = arg;
	uint64_t n = j->dev->length / PAR_CHUNK;

	for (uint64_t i = j->k; i < n && !j->ret; i += PAR_THREADS) {
		par_fill(b, i);
		j->ret = block_pwrite(j->dev, b, PAR_CHUNK, i * PAR_CHUNK);
	}
	return NULL;
}

/*
 * Writers on several threads (as virtio-blk's queues are) allocating the
 * same blocks at once: every chunk must read back, and the map stay sane.
 */
static void test_parallel_writers(void)
{
	static const char *const fmts[] = { "vdi", "vpc" };
	static uint8_t want[PAR_CHUNK], got[PAR_CHUNK];
	char p[128], err[BLOCK_ERR_LEN];

	for (size_t f = 0; f < 2; f++) {
		struct par_job jobs[PAR_THREADS];
		pthread_t tid[PAR_THREADS];
		struct block_dev *dev;

		snprintf(p, sizeof(p), "%s/par.%s", dir, fmts[f]);
		make(fmts[f], p, 24u << 20, NULL, NULL);
		CHECK_EQ(block_open(p, fmts[f], 0, &dev, err, sizeof(err)), 0);
		if (test_case_failed)
			return;
		for (unsigned k = 0; k < PAR_THREADS; k++) {
			jobs[k] = (struct par_job){ dev, k, 0 };
			CHECK_EQ(pthread_create(&tid[k], NULL, par_writer, &jobs[k]),
				 0);
		}
		for (unsigned k = 0; k < PAR_THREADS; k++) {
			pthread_join(tid[k], NULL);
			CHECK_EQ(jobs[k].ret, 0);
		}
		block_close(dev);
		CHECK_EQ(block_open(p, fmts[f], BLOCK_RDONLY, &dev, err,
				    sizeof(err)), 0);
		for (uint64_t i = 0; i < dev->length / PAR_CHUNK; i++) {
			par_fill(want, i);
			CHECK_EQ(block_pread(dev, got, PAR_CHUNK, i * PAR_CHUNK), 0);
			if (memcmp(want, got, PAR_CHUNK)) {
				CHECK(!"a chunk written in parallel was lost");
				break;
			}
		}
		check_clean(dev);
		block_close(dev);
		if (have_qemu_img() && !strcmp(fmts[f], "vdi"))
			CHECK_EQ(sh("qemu-img check -q %s%s%s%s", p, "", "", ""), 0);
		unlink(p);
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
