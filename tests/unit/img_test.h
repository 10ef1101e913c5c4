/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests of the image formats (test_vdi_vpc.c,
 * test_vhdx.c): random writes and zeroing on an image mirrored on a raw
 * file, compared after every batch and after a reopen, and writers on
 * several threads racing to allocate the same blocks. qemu-img, when
 * installed, is the oracle. The including file defines IMG_TEST_DIR, the
 * mkdtemp template of its scratch directory, and calls mkdtemp(dir).
 */
#ifndef CVISOR_IMG_TEST_H
#define CVISOR_IMG_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "test.h"

static char dir[] = IMG_TEST_DIR;

/* qemu-img check knows fmt (it has no check for vpc). */
static inline bool qemu_img_checks(const char *fmt)
{
	return strcmp(fmt, "vpc") != 0;
}

static inline bool have_qemu_img(void)
{
	return system("qemu-img --version >/dev/null 2>&1") == 0;
}

static inline int sh(const char *fmt, const char *a, const char *b,
		     const char *c, const char *d)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b, c, d);
	return system(cmd);
}

static inline void compare(struct block_dev *img, struct block_dev *raw)
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

static inline void check_clean(struct block_dev *dev)
{
	struct block_check_result r;

	if (!dev->drv->check)
		return;
	CHECK_EQ(dev->drv->check(dev, 0, &r, NULL, NULL), 0);
	CHECK_EQ(r.corruptions, 0);
}

static inline void random_op(struct block_dev *img, struct block_dev *raw)
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
static inline void random_round(const char *fmt, const char *opts, bool qemu,
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
		if (qemu_img_checks(fmt))
			CHECK_EQ(sh("qemu-img check -q -f %s %s%s%s", fmt, ipath,
				    "", ""), 0);
	}
	unlink(ipath);
	unlink(rpath);
}

#define PAR_CHUNK   (48u << 10) /* several chunks share each block */
#define PAR_THREADS 4

struct par_job {
	struct block_dev *dev;
	unsigned k;
	int ret;
};

static inline void par_fill(uint8_t *b, uint64_t i)
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
 * same blocks of the fresh image p of fmt at once: every chunk must read
 * back, and the map stay sane.
 */
static inline void par_round(const char *fmt, const char *p)
{
	static uint8_t want[PAR_CHUNK], got[PAR_CHUNK];
	char err[BLOCK_ERR_LEN];
	struct par_job jobs[PAR_THREADS];
	pthread_t tid[PAR_THREADS];
	struct block_dev *dev;

	CHECK_EQ(block_open(p, fmt, 0, &dev, err, sizeof(err)), 0);
	if (test_case_failed)
		return;
	for (unsigned k = 0; k < PAR_THREADS; k++) {
		jobs[k] = (struct par_job){ dev, k, 0 };
		CHECK_EQ(pthread_create(&tid[k], NULL, par_writer, &jobs[k]), 0);
	}
	for (unsigned k = 0; k < PAR_THREADS; k++) {
		pthread_join(tid[k], NULL);
		CHECK_EQ(jobs[k].ret, 0);
	}
	block_close(dev);
	CHECK_EQ(block_open(p, fmt, BLOCK_RDONLY, &dev, err, sizeof(err)), 0);
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
	if (have_qemu_img() && qemu_img_checks(fmt))
		CHECK_EQ(sh("qemu-img check -q %s%s%s%s", p, "", "", ""), 0);
	unlink(p);
}

#endif
