// SPDX-License-Identifier: MIT
/*
 * VMDK driver without qemu-img: random writes and reads against a shadow
 * copy for each writable subformat (grain allocation, partial grains,
 * extent boundaries), reopened between rounds; the stream writer's order
 * rule and its output read back; the descriptor parser on good and bad
 * lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/vmdk_int.h"
#include "test.h"

static char dir[] = "/tmp/cvisor-vmdk-test.XXXXXX";

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

static int create(const char *path, uint64_t size, const char *sub)
{
	struct block_opt o = { .key = "subformat", .val = sub };
	struct block_opts opts = { .v = &o, .n = 1 };
	char err[BLOCK_ERR_LEN] = "";
	int ret = block_vmdk_driver.create(path, size, &opts, err, sizeof(err));

	if (ret)
		printf("  create %s: %s\n", sub, err);
	return ret;
}

static struct block_dev *open_img(const char *path, int flags)
{
	char err[BLOCK_ERR_LEN];
	struct block_dev *dev = NULL;

	if (block_open(path, "vmdk", flags, &dev, err, sizeof(err)))
		printf("  open %s: %s\n", path, err);
	return dev;
}

static void random_io(const char *sub, uint64_t size)
{
	uint8_t *shadow = calloc(1, size), *buf = malloc(300000);
	char path[256];
	struct block_dev *dev;

	snprintf(path, sizeof(path), "%s/%s.vmdk", dir, sub);
	CHECK(shadow && buf);
	if (!shadow || !buf || create(path, size, sub))
		goto out;
	srand(1);
	for (int round = 0; round < 3; round++) {
		dev = open_img(path, 0);
		CHECK(dev != NULL);
		if (!dev)
			goto out;
		CHECK_EQ(dev->length, size);
		for (int i = 0; i < 200; i++) {
			uint64_t len = 1 + (uint64_t)rand() % 300000;
			uint64_t off = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) %
				       (size - len);

			if (rand() % 2) {
				memset(buf, rand(), len);
				memcpy(shadow + off, buf, len);
				CHECK_EQ(block_pwrite(dev, buf, len, off), 0);
			} else {
				CHECK_EQ(block_pread(dev, buf, len, off), 0);
				CHECK(!memcmp(buf, shadow + off, len));
			}
		}
		block_close(dev);
	}
	dev = open_img(path, BLOCK_RDONLY);
	CHECK(dev != NULL);
	for (uint64_t off = 0; dev && off < size; off += 262144) {
		uint64_t n = size - off < 262144 ? size - off : 262144;

		CHECK_EQ(block_pread(dev, buf, n, off), 0);
		CHECK(!memcmp(buf, shadow + off, n));
	}
	block_close(dev);
out:
	free(shadow);
	free(buf);
}

static void test_random_io_sparse(void)
{
	random_io("monolithicSparse", 24 << 20);
}

static void test_random_io_flat(void)
{
	random_io("monolithicFlat", 24 << 20);
}

static void test_stream_writer(void)
{
	uint64_t size = 8 << 20;
	uint8_t *a = malloc(size), *b = malloc(size);
	char path[256];
	struct block_dev *dev;

	snprintf(path, sizeof(path), "%s/s.vmdk", dir);
	CHECK(a && b && !create(path, size, "streamOptimized"));
	if (!a || !b)
		goto out;
	for (uint64_t i = 0; i < size; i++)
		a[i] = (uint8_t)(i % 251 * (i / 100000 % 3));
	memset(a + 3 * 65536, 0, 65536); /* an all-zero grain is left out */
	dev = open_img(path, 0);
	CHECK(dev != NULL);
	if (!dev)
		goto out;
	/* whole batches, a grain in pieces, then the rest */
	CHECK_EQ(block_pwrite(dev, a, 4 << 20, 0), 0);
	CHECK_EQ(block_pwrite(dev, a + (4 << 20) + 1000, 5000, (4 << 20) + 1000), 0);
	CHECK_EQ(block_pwrite(dev, a + (4 << 20), 1000, 4 << 20), 0);
	CHECK_EQ(block_pwrite(dev, a + (4 << 20) + 6000, (4 << 20) - 6000,
			      (4 << 20) + 6000), 0);
	/* behind what was written: refused, the stream stays whole */
	CHECK_EQ(block_pwrite(dev, a, 512, 65536), -EINVAL);
	block_close(dev);
	dev = open_img(path, BLOCK_RDONLY);
	CHECK(dev != NULL);
	if (dev) {
		CHECK_EQ(block_pread(dev, b, size, 0), 0);
		CHECK(!memcmp(a, b, size));
		block_close(dev);
	}
	/* with data, it opens read-only only */
	{
		char err[BLOCK_ERR_LEN];

		CHECK_EQ(block_open(path, "vmdk", 0, &dev, err, sizeof(err)),
			 -EROFS);
		CHECK(strstr(err, "read-only") != NULL);
	}
out:
	free(a);
	free(b);
}

static void test_descriptor(void)
{
	static const char good[] =
		"# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
		"parentCID=ffffffff\ncreateType=twoGbMaxExtentFlat\r\n"
		"RW 4194304 FLAT \"a b-f001.vmdk\" 0\n"
		"RDONLY 100 FLAT \"x.vmdk\" 7\nRW 8 ZERO\n";
	static const char *const bad[] = {
		"RW 10 FLAT \"/etc/passwd\" 0 junk\n", "RW -1 FLAT \"a\" 0\n",
		"RW 10 FLAT \"\" 0\n", "RW 10 SESPARSE \"a\"\n",
		"RW 10 SPARSE \"a\" 5\n", "CID=123456789\n", "RW 10 FLAT \"a\n",
		"NOACCESS 10 FLAT \"a\" 0\n",
	};
	char text[256], err[BLOCK_ERR_LEN];
	struct vmdk_desc d;

	CHECK_EQ(vmdk_desc_parse(good, sizeof(good) - 1, &d, err, sizeof(err)), 0);
	CHECK_EQ(d.cid, 0xfffffffe);
	CHECK_EQ(d.n, 3);
	if (d.n == 3) {
		CHECK(!strcmp(d.ext[0].file, "a b-f001.vmdk"));
		CHECK(d.ext[1].readonly && d.ext[1].offset == 7);
		CHECK(d.ext[2].type == VMDK_EXT_ZERO && !d.ext[2].file);
	}
	CHECK(d.create_type && !strcmp(d.create_type, "twoGbMaxExtentFlat"));
	vmdk_desc_free(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# Disk DescriptorFile\n%s", bad[i]);
		err[0] = 0;
		CHECK(vmdk_desc_parse(text, strlen(text), &d, err, sizeof(err)) < 0);
		CHECK(err[0] != 0);
	}
	CHECK(vmdk_desc_parse("hello", 5, &d, err, sizeof(err)) < 0);
}

/*
 * A sparse file of 64 MiB (4 KiB on disk) whose header claims 1 PiB in
 * grains of two sectors and an empty directory: mapping it is one step per
 * grain table, not 2^39 steps per grain. SIGALRM fails a hang.
 */
static void test_status_empty_directory(void)
{
	struct vmdk_header h = { .version = 1, .flags = 3,
				 .capacity = VMDK_MAX_SECTORS, .grain = 2,
				 .gtes = VMDK_MAX_GTES, .gd_off = 1,
				 .overhead = 1 + (64 << 20) / 512 };
	uint8_t b[VMDK_SECTOR];
	uint64_t pnum = 0, host;
	struct block_dev *dev;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/huge.vmdk", dir);
	vmdk_header_encode(b, &h);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, b, sizeof(b)) == (ssize_t)sizeof(b));
	CHECK_EQ(ftruncate(fd, VMDK_SECTOR + (64 << 20)), 0);
	close(fd);
	dev = open_img(path, BLOCK_RDONLY);
	CHECK(dev != NULL);
	if (!dev)
		return;
	alarm(60);
	CHECK_EQ(block_status(dev, 0, dev->length, &pnum, &host),
		 BLOCK_STATUS_ZERO);
	alarm(0);
	CHECK_EQ(pnum, dev->length);
	block_close(dev);
}

/*
 * A fresh streamOptimized disk opened read-write (as a VM's disk would
 * be) takes writes for its stream; reading them back before close must
 * not answer zeroes for data that was written.
 */
static void test_stream_read_while_writing(void)
{
	uint8_t *a = malloc(65536), *b = malloc(65536);
	char path[256];
	struct block_dev *dev;
	int ret;

	snprintf(path, sizeof(path), "%s/s2.vmdk", dir);
	CHECK(a && b && !create(path, 1 << 20, "streamOptimized"));
	if (!a || !b)
		goto out;
	memset(a, 0x5a, 65536);
	dev = open_img(path, 0);
	CHECK(dev != NULL);
	if (!dev)
		goto out;
	CHECK_EQ(block_pwrite(dev, a, 65536, 0), 0);
	memset(b, 0, 65536);
	ret = block_pread(dev, b, 65536, 0);
	CHECK(ret < 0 || !memcmp(a, b, 65536));
	block_close(dev);
out:
	free(a);
	free(b);
}

/*
 * The last grain cut short by a truncated copy: writing it must not grow
 * the file under the next grain allocated there, or the two grains would
 * share bytes.
 */
static void test_write_truncated_grain(void)
{
	uint8_t *a = malloc(65536), *b = malloc(65536), *c = malloc(65536);
	struct block_dev *dev;
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/cut.vmdk", dir);
	CHECK(a && b && c && !create(path, 1 << 20, "monolithicSparse"));
	if (!a || !b || !c)
		goto out;
	memset(a, 0x11, 65536);
	memset(c, 0x22, 65536);
	dev = open_img(path, 0);
	CHECK(dev != NULL);
	if (!dev)
		goto out;
	CHECK_EQ(block_pwrite(dev, a, 65536, 0), 0);
	block_close(dev);
	CHECK_EQ(truncate(path, file_size(path) - 32768), 0);
	dev = open_img(path, 0);
	CHECK(dev != NULL);
	if (!dev)
		goto out;
	ret = block_pwrite(dev, a, 65536, 0);
	CHECK_EQ(block_pwrite(dev, c, 65536, 65536), 0);
	if (!ret) {
		CHECK_EQ(block_pread(dev, b, 65536, 0), 0);
		CHECK(!memcmp(a, b, 65536));
	}
	CHECK_EQ(block_pread(dev, b, 65536, 65536), 0);
	CHECK(!memcmp(c, b, 65536));
	block_close(dev);
out:
	free(a);
	free(b);
	free(c);
}

/*
 * Every directory entry naming one table (the directory itself), every
 * entry of it the zeroed grain: 2^36 grains from a 4 MiB file. It is
 * refused at open, or mapped at once; SIGALRM fails a hang.
 */
static void test_tables_aliased(void)
{
	struct vmdk_header h = { .version = 2, .flags = 5,
				 .capacity = 1ull << 36, .grain = 1,
				 .gtes = VMDK_MAX_GTES, .gd_off = 1,
				 .overhead = 1 + (4 << 20) / 512 };
	uint8_t b[VMDK_SECTOR], *gd = malloc(4 << 20);
	char path[256], err[BLOCK_ERR_LEN] = "";
	uint64_t pnum = 0, host;
	struct block_dev *dev = NULL;
	int fd, ret;

	CHECK(gd != NULL);
	if (!gd)
		return;
	for (size_t i = 0; i < (4 << 20); i += 4)
		put_le32(gd + i, 1);
	snprintf(path, sizeof(path), "%s/alias.vmdk", dir);
	vmdk_header_encode(b, &h);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, b, sizeof(b)) == (ssize_t)sizeof(b));
		CHECK(write(fd, gd, 4 << 20) == (4 << 20));
		close(fd);
	}
	free(gd);
	ret = block_open(path, "vmdk", BLOCK_RDONLY, &dev, err, sizeof(err));
	if (ret) {
		CHECK(strstr(err, "grain tables") != NULL);
		return;
	}
	alarm(60);
	CHECK(block_status(dev, 0, dev->length, &pnum, &host) >= 0);
	alarm(0);
	block_close(dev);
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_descriptor);
	RUN(test_random_io_sparse);
	RUN(test_random_io_flat);
	RUN(test_stream_writer);
	RUN(test_status_empty_directory);
	RUN(test_stream_read_while_writing);
	RUN(test_write_truncated_grain);
	RUN(test_tables_aliased);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) < 0)
		perror("rm");
	return test_summary();
}
