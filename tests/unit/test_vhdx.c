// SPDX-License-Identifier: MIT
/*
 * VHDX driver: random writes and zeroing on dynamic and fixed images (8 MiB
 * and 1 MiB blocks) made by cvisor and (when installed) by qemu-img,
 * mirrored on a raw file; both must read the same after every batch and
 * after a reopen, "img check" must stay clean, and qemu-img must then
 * check the image clean and read it as the raw file. Writers on four
 * threads racing to allocate the same blocks lose nothing.
 */
#define IMG_TEST_DIR "/tmp/cvisor-test-vhdx-XXXXXX"
#include "img_test.h"

static void test_vhdx_random_io(void)
{
	random_round("vhdx", "", false, 1);
	random_round("vhdx", "subformat=fixed", false, 2);
	random_round("vhdx", "block_size=1M", false, 3);
	random_round("vhdx", "subformat=fixed,block_size=1M", false, 4);
}

static void test_qemu_made_random_io(void)
{
	if (!have_qemu_img()) {
		SKIP("qemu-img not installed");
		return;
	}
	random_round("vhdx", "", true, 6);
	random_round("vhdx", "subformat=fixed", true, 7);
	random_round("vhdx", "block_size=1M", true, 8);
	random_round("vhdx", "subformat=fixed,block_size=1M", true, 9);
}

/* A dynamic image with 1 MiB blocks: many blocks to race for. */
static void make(const char *fmt, const char *path, uint64_t size)
{
	struct block_opt v[1] = { { "block_size", "1M", false } };
	struct block_opts o = { v, 1 };
	char err[BLOCK_ERR_LEN];

	CHECK_EQ(block_find_driver(fmt)->create(path, size, &o, err,
						sizeof(err)), 0);
}

static void test_parallel_writers(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/par.vhdx", dir);
	make("vhdx", p, 24u << 20);
	par_round("vhdx", p);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp\n");
		return 1;
	}
	RUN(test_vhdx_random_io);
	RUN(test_qemu_made_random_io);
	RUN(test_parallel_writers);
	rmdir(dir);
	return test_summary();
}
