// SPDX-License-Identifier: MIT
/* Block layer unit tests: probing, the raw driver, size parsing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "cli/cli.h"
#include "test.h"

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int ret;
		unsigned long long v;
	} cases[] = {
		{ "4096", 0, 4096 },
		{ "0", 0, 0 },
		{ "512M", 0, 512ull << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "2g", 0, 2ull << 30 },
		{ "1k", 0, 1024 },
		{ "3T", 0, 3ull << 40 },
		{ "1P", 0, 1ull << 50 },
		{ "1E", 0, 1ull << 60 },
		{ "1.5G", 0, 3ull << 29 },
		{ "64KiB", 0, 65536 },
		{ "10B", 0, 10 },
		{ "", -EINVAL, 0 },
		{ "G", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "12X", -EINVAL, 0 },
		{ "1GG", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "16E", -ERANGE, 0 },
		{ "100000P", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long long v = 0;
		int ret = parse_size(cases[i].s, &v);

		if (ret != cases[i].ret || (!ret && v != cases[i].v))
			printf("  parse_size(\"%s\") = %d, %llu\n", cases[i].s,
			       ret, v);
		CHECK_EQ(ret, cases[i].ret);
		if (!ret)
			CHECK_EQ(v, cases[i].v);
	}
}

static void test_raw(void)
{
	char path[] = "/tmp/cvisor-test-block-XXXXXX", err[BLOCK_ERR_LEN];
	uint8_t buf[8192], back[8192];
	struct block_dev *dev;
	uint64_t pnum, host;
	int fd = mkstemp(path), st;

	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
	close(fd);
	CHECK_EQ(block_open(path, NULL, 0, &dev, err, sizeof(err)), 0);
	CHECK(!strcmp(dev->drv->name, "raw"));
	CHECK_EQ(block_getlength(dev), 1 << 20);
	memset(buf, 0xab, sizeof(buf));
	CHECK_EQ(block_pwrite(dev, buf, sizeof(buf), 65536), 0);
	CHECK_EQ(block_pread(dev, back, sizeof(back), 65536), 0);
	CHECK(!memcmp(buf, back, sizeof(buf)));
	/* out of range requests are refused, not clipped */
	CHECK_EQ(block_pread(dev, back, 2, (1 << 20) - 1), -EINVAL);
	CHECK_EQ(block_pwrite(dev, buf, 1, ~0ull), -EINVAL);
	st = block_status(dev, 0, 1 << 20, &pnum, &host);
	CHECK(st & BLOCK_STATUS_ZERO);
	CHECK_EQ(pnum, 65536);
	CHECK_EQ(block_write_zeroes(dev, 65536, 4096), 0);
	CHECK_EQ(block_pread(dev, back, 4096, 65536), 0);
	memset(buf, 0, 4096);
	CHECK(!memcmp(buf, back, 4096));
	CHECK_EQ(block_discard(dev, 69632, 4096), 0);
	/* a scatter list: the pieces back to back, the range checked whole */
	{
		struct iovec v[3] = { { buf, 512 }, { buf + 512, 0 },
				      { buf + 1024, 3584 } };
		struct iovec r[2] = { { back, 1000 }, { back + 1000, 3096 } };

		for (int i = 0; i < 4096; i++)
			buf[i] = (uint8_t)(i * 7);
		CHECK_EQ(block_pwritev(dev, v, 3, 131072), 0);
		CHECK_EQ(block_preadv(dev, r, 2, 131072), 0);
		CHECK(!memcmp(back, buf, 512) &&
		      !memcmp(back + 512, buf + 1024, 3584));
		CHECK_EQ(block_preadv(dev, r, 2, (1 << 20) - 4095), -EINVAL);
	}
	CHECK_EQ(block_truncate(dev, 2 << 20), 0);
	CHECK_EQ(block_getlength(dev), 2 << 20);
	block_close(dev);
	CHECK_EQ(block_open(path, NULL, BLOCK_RDONLY, &dev, err, sizeof(err)), 0);
	CHECK_EQ(block_pwrite(dev, buf, 1, 0), -EROFS);
	block_close(dev);
	unlink(path);
}

static void test_open_errors(void)
{
	char err[BLOCK_ERR_LEN];
	struct block_dev *dev;

	CHECK(block_open("/nonexistent/x", NULL, 0, &dev, err, sizeof(err)) < 0);
	CHECK(strstr(err, "/nonexistent/x") != NULL);
	CHECK_EQ(block_open("/dev/null", "nosuchfmt", BLOCK_RDONLY, &dev, err,
			    sizeof(err)), -EINVAL);
	CHECK(strstr(err, "nosuchfmt") != NULL);
}

int main(void)
{
	RUN(test_parse_size);
	RUN(test_raw);
	RUN(test_open_errors);
	return test_summary();
}
