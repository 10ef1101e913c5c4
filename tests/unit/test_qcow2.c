// SPDX-License-Identifier: MIT
/*
 * qcow2 driver unit tests: header validation, refcount entry packing, and
 * a randomized comparison of the qcow2 driver against a raw file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2_int.h"
#include "test.h"

static char dir[] = "/tmp/cvisor-test-qcow2-XXXXXX";

static void make_header(uint8_t *b, size_t len)
{
	memset(b, 0, len);
	put_be32(b, QCOW2_MAGIC);
	put_be32(b + 4, 3);
	put_be32(b + 20, 16);          /* 64 KiB clusters */
	put_be64(b + 24, 1ull << 30);  /* 1 GiB */
	put_be32(b + 36, 2);
	put_be64(b + 40, 3 * 65536);
	put_be64(b + 48, 65536);
	put_be32(b + 56, 1);
	put_be32(b + 96, 4);
	put_be32(b + 100, 112);
}

static int parse(uint8_t *b, size_t len)
{
	struct qcow2 s = { 0 };
	char err[BLOCK_ERR_LEN] = "";
	int ret = qcow2_parse_header(&s, b, len, 1 << 20, err, sizeof(err));

	if (ret)
		CHECK(err[0] != 0); /* every refusal says why */
	for (unsigned i = 0; i < s.nb_exts; i++)
		free(s.exts[i].data);
	free(s.exts);
	free(s.backing_file);
	free(s.backing_fmt);
	return ret;
}

static void test_header_valid(void)
{
	uint8_t b[4096], *short_hdr;

	make_header(b, sizeof(b));
	CHECK_EQ(parse(b, sizeof(b)), 0);
	/*
	 * A v3 header cut between the v2 and v3 lengths (found by fuzzing):
	 * in a buffer of its own length, so the sanitizers see any overread.
	 */
	short_hdr = malloc(80);
	memcpy(short_hdr, b, 80);
	CHECK(parse(short_hdr, 80) != 0);
	free(short_hdr);
	put_be32(b + 4, 2); /* v2 ignores the v3 fields */
	CHECK_EQ(parse(b, sizeof(b)), 0);
}

static void test_header_invalid(void)
{
	static const struct {
		unsigned off, width;
		uint64_t val;
	} bad[] = {
		{ 0, 4, 0x12345678 },  /* magic */
		{ 4, 4, 4 },           /* version */
		{ 20, 4, 8 },          /* cluster bits too small */
		{ 20, 4, 22 },         /* cluster bits too large */
		{ 32, 4, 3 },          /* unknown encryption method */
		{ 36, 4, 1 },          /* L1 too small for the size */
		{ 36, 4, 0xffffffff }, /* L1 absurdly large */
		{ 40, 8, 1000 },       /* L1 unaligned */
		{ 48, 8, 0 },          /* no refcount table */
		{ 48, 8, 1ull << 40 }, /* refcount table outside the file */
		{ 56, 4, 0 },          /* empty refcount table */
		{ 56, 4, 0x10000000 }, /* huge refcount table */
		{ 60, 4, 0x7fffffff }, /* too many snapshots */
		{ 72, 8, 1ull << 40 }, /* unknown incompatible feature */
		{ 72, 8, 1ull << 2 },  /* external data file */
		{ 96, 4, 7 },          /* refcount order */
		{ 100, 4, 50 },        /* header length */
		{ 100, 4, 1 << 20 },   /* header length beyond the buffer */
		{ 24, 8, ~0ull },      /* size */
		{ 8, 8, 4090 },        /* backing name crosses the end */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[4096];

		make_header(b, sizeof(b));
		if (bad[i].off == 8)
			put_be32(b + 16, 100);
		if (bad[i].width == 8)
			put_be64(b + bad[i].off, bad[i].val);
		else
			put_be32(b + bad[i].off, (uint32_t)bad[i].val);
		if (parse(b, sizeof(b)) == 0)
			printf("  header case %zu was accepted\n", i);
		CHECK(parse(b, sizeof(b)) != 0);
	}
}

static void test_header_extensions(void)
{
	uint8_t b[4096];
	struct qcow2 s = { 0 };
	char err[BLOCK_ERR_LEN];

	make_header(b, sizeof(b));
	put_be32(b + 112, QCOW2_EXT_BACKING_FMT);
	put_be32(b + 116, 5);
	memcpy(b + 120, "qcow2", 5);
	put_be32(b + 128, 0x12345678); /* unknown: kept */
	put_be32(b + 132, 3);
	memcpy(b + 136, "abc", 3);
	CHECK_EQ(qcow2_parse_header(&s, b, sizeof(b), 1 << 20, err, sizeof(err)),
		 0);
	CHECK(s.backing_fmt && !strcmp(s.backing_fmt, "qcow2"));
	CHECK_EQ(s.nb_exts, 1);
	CHECK(s.nb_exts == 1 && s.exts[0].len == 3 &&
	      !memcmp(s.exts[0].data, "abc", 3));
	for (unsigned i = 0; i < s.nb_exts; i++)
		free(s.exts[i].data);
	free(s.exts);
	free(s.backing_fmt);
	/* an unknown incompatible bit is refused by the name the image gives */
	make_header(b, sizeof(b));
	put_be64(b + 72, 1ull << 9);
	put_be32(b + 112, QCOW2_EXT_FEATURES);
	put_be32(b + 116, 48);
	b[120] = 0;
	b[121] = 9;
	memcpy(b + 122, "time travel", 11);
	memset(&s, 0, sizeof(s));
	err[0] = 0;
	CHECK_EQ(qcow2_parse_header(&s, b, sizeof(b), 1 << 20, err, sizeof(err)),
		 -ENOTSUP);
	CHECK(strstr(err, "time travel") != NULL);
	for (unsigned i = 0; i < s.nb_exts; i++)
		free(s.exts[i].data);
	free(s.exts);
	/* an extension claiming more bytes than the cluster holds */
	make_header(b, sizeof(b));
	put_be32(b + 112, 0x1);
	put_be32(b + 116, 100000);
	CHECK(parse(b, sizeof(b)) != 0);
}

static void test_refcount_packing(void)
{
	for (unsigned order = 0; order <= 6; order++) {
		struct qcow2 s = { .refcount_bits = 1u << order };
		uint8_t rb[512];
		uint64_t max = order == 6 ? ~0ull : (1ull << (1u << order)) - 1;
		uint64_t n = sizeof(rb) * 8 / s.refcount_bits;

		memset(rb, 0, sizeof(rb));
		for (uint64_t i = 0; i < n; i++)
			qcow2_refblock_set(&s, rb, i, (i * 7919) & max);
		for (uint64_t i = 0; i < n; i++)
			CHECK_EQ(qcow2_refblock_get(&s, rb, i), (i * 7919) & max);
		qcow2_refblock_set(&s, rb, 3, max);
		CHECK_EQ(qcow2_refblock_get(&s, rb, 3), max);
		CHECK_EQ(qcow2_refblock_get(&s, rb, 2), (2 * 7919) & max);
		CHECK_EQ(qcow2_refblock_get(&s, rb, 4), (4 * 7919) & max);
	}
	/* qcow2 puts sub-byte entries least significant bits first */
	{
		struct qcow2 s = { .refcount_bits = 2 };
		uint8_t rb[1] = { 0 };

		qcow2_refblock_set(&s, rb, 1, 3);
		CHECK_EQ(rb[0], 0x0c);
	}
}

static void show(void *ctx, const char *msg)
{
	(void)ctx;
	printf("  check: %s\n", msg);
}

static void check_clean(struct block_dev *dev)
{
	struct block_check_result r;

	CHECK_EQ(qcow2_check(dev, 0, &r, show, NULL), 0);
	CHECK_EQ(r.corruptions, 0);
	CHECK_EQ(r.leaks, 0);
}

static void compare(struct block_dev *q, struct block_dev *raw, uint64_t size)
{
	static uint8_t a[1 << 20], b[1 << 20];

	for (uint64_t off = 0; off < size; off += sizeof(a)) {
		size_t n = size - off < sizeof(a) ? size - off : sizeof(a);

		CHECK_EQ(block_pread(q, a, n, off), 0);
		CHECK_EQ(block_pread(raw, b, n, off), 0);
		if (memcmp(a, b, n)) {
			CHECK(!"contents differ");
			return;
		}
	}
}

/* One random operation, applied to both images. */
static void random_op(struct block_dev *q, struct block_dev *raw,
		      uint64_t size, uint64_t cs, int batch, int op,
		      bool snapshots)
{
	static uint8_t buf[256 << 10];
	uint64_t len = (uint64_t)(rand() % (int)sizeof(buf)) + 1;
	uint64_t off = (uint64_t)rand() % size, end;
	int kind = rand() % 12, ret;
	char name[32];

	if (off + len > size)
		len = size - off;
	if (kind < 7) {
		memset(buf, rand() & 0xff, len);
		buf[0] = (uint8_t)op;
		CHECK_EQ(block_pwrite(q, buf, len, off), 0);
		CHECK_EQ(block_pwrite(raw, buf, len, off), 0);
	} else if (kind < 9) {
		/* discard acts on whole clusters only; they then read zero */
		if (kind == 7) {
			off = qcow2_align_up(off, cs);
			end = (off + len) / cs * cs;
			if (off + len >= size)
				end = size;
			if (end <= off)
				return;
			len = end - off;
			CHECK_EQ(block_discard(q, off, len), 0);
		} else {
			CHECK_EQ(block_write_zeroes(q, off, len), 0);
		}
		memset(buf, 0, len);
		CHECK_EQ(block_pwrite(raw, buf, len, off), 0);
	} else if (kind < 11) {
		off = off / cs * cs;
		len = cs < size - off ? cs : size - off;
		if (len > sizeof(buf))
			return;
		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)((i / 64) * op);
		ret = qcow2_write_compressed(q, buf, off);
		/* narrow refcounts run out: the image must stay intact */
		if (ret == -ERANGE)
			return;
		CHECK_EQ(ret, 0);
		CHECK_EQ(block_pwrite(raw, buf, len, off), 0);
	} else if (snapshots) {
		snprintf(name, sizeof(name), "s%d-%d", batch, op);
		ret = qcow2_snapshot_create(q, name);
		if (ret == -ERANGE)
			return;
		CHECK_EQ(ret, 0);
		if (rand() & 1)
			CHECK_EQ(qcow2_snapshot_delete(q, name), 0);
	}
}

/*
 * Random writes, zeroing, discards, compressed writes and snapshots on a
 * qcow2 image (optionally over a raw backing file) and the same changes on
 * a raw file; both must read the same after every batch.
 */
static void random_round(unsigned cluster, unsigned refbits, unsigned seed,
			 bool backing)
{
	char qpath[128], rpath[128], bpath[128], err[BLOCK_ERR_LEN];
	struct qcow2_create_opts o = { .size = (8u << 20) + 1536,
				       .cluster_size = cluster,
				       .refcount_bits = refbits,
				       .backing_file = backing ? bpath : NULL,
				       .backing_fmt = "raw" };
	struct block_dev *q, *raw, *b;
	static uint8_t init[1 << 20];

	srand(seed);
	snprintf(qpath, sizeof(qpath), "%s/r.qcow2", dir);
	snprintf(rpath, sizeof(rpath), "%s/r.raw", dir);
	snprintf(bpath, sizeof(bpath), "%s/b.raw", dir);
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(i ? bpath : rpath, "w");

		CHECK(f && !ftruncate(fileno(f), (off_t)o.size));
		fclose(f);
	}
	CHECK_EQ(block_open(rpath, "raw", 0, &raw, err, sizeof(err)), 0);
	if (backing) {
		CHECK_EQ(block_open(bpath, "raw", 0, &b, err, sizeof(err)), 0);
		for (size_t i = 0; i < sizeof(init); i++)
			init[i] = (uint8_t)(rand() | 1);
		for (uint64_t off = 0; off < o.size; off += 3 * sizeof(init)) {
			size_t n = o.size - off < sizeof(init) ? o.size - off :
								 sizeof(init);

			CHECK_EQ(block_pwrite(b, init, n, off), 0);
			CHECK_EQ(block_pwrite(raw, init, n, off), 0);
		}
		block_close(b);
	}
	CHECK_EQ(qcow2_create(qpath, &o, err, sizeof(err)), 0);
	CHECK_EQ(block_open(qpath, NULL, 0, &q, err, sizeof(err)), 0);
	for (int batch = 0; batch < 8; batch++) {
		for (int op = 0; op < 40; op++)
			random_op(q, raw, o.size, cluster, batch, op, refbits > 1);
		compare(q, raw, o.size);
		check_clean(q);
	}
	block_close(q);
	block_close(raw);
	/* reopen: everything was on disk */
	CHECK_EQ(block_open(qpath, NULL, BLOCK_RDONLY, &q, err, sizeof(err)), 0);
	CHECK_EQ(block_open(rpath, "raw", BLOCK_RDONLY, &raw, err, sizeof(err)),
		 0);
	compare(q, raw, o.size);
	check_clean(q);
	block_close(q);
	block_close(raw);
	unlink(qpath);
	unlink(rpath);
	unlink(bpath);
}

static void test_random_io(void)
{
	random_round(65536, 16, 1, false);
	random_round(512, 1, 2, false);  /* tiny clusters, 1-bit refcounts */
	random_round(4096, 64, 3, false);
	random_round(512, 64, 5, false); /* 64-cluster ranges: table growth */
	random_round(2u << 20, 8, 4, false);
}

static void test_random_io_backing(void)
{
	random_round(65536, 16, 6, true);
	random_round(4096, 2, 7, true);
}

static void test_snapshot_revert(void)
{
	struct qcow2_create_opts o = { .size = 4 << 20, .cluster_size = 4096 };
	char path[128], err[BLOCK_ERR_LEN];
	uint8_t a[8192], b[8192];
	struct block_dev *q;

	snprintf(path, sizeof(path), "%s/s.qcow2", dir);
	CHECK_EQ(qcow2_create(path, &o, err, sizeof(err)), 0);
	CHECK_EQ(block_open(path, NULL, 0, &q, err, sizeof(err)), 0);
	memset(a, 0x11, sizeof(a));
	CHECK_EQ(block_pwrite(q, a, sizeof(a), 4096), 0);
	CHECK_EQ(qcow2_snapshot_create(q, "one"), 0);
	memset(b, 0x22, sizeof(b));
	CHECK_EQ(block_pwrite(q, b, sizeof(b), 4096), 0);
	/* qemu-img allows a second snapshot of the same name (ID 2) */
	CHECK_EQ(qcow2_snapshot_create(q, "one"), 0);
	CHECK_EQ(qcow2_snapshot_apply(q, "1"), 0); /* apply takes an ID */
	CHECK_EQ(block_pread(q, b, sizeof(b), 4096), 0);
	CHECK(!memcmp(a, b, sizeof(a)));
	check_clean(q);
	CHECK_EQ(qcow2_snapshot_delete(q, "1"), -ENOENT); /* delete: names only */
	CHECK_EQ(qcow2_snapshot_delete(q, "one"), 0); /* the first, ID 1 */
	CHECK_EQ(qcow2_snapshot_apply(q, "one"), 0); /* now ID 2 */
	CHECK_EQ(block_pread(q, b, sizeof(b), 4096), 0);
	CHECK(b[0] == 0x22 && b[sizeof(b) - 1] == 0x22);
	check_clean(q);
	CHECK_EQ(qcow2_snapshot_delete(q, "one"), 0);
	CHECK_EQ(qcow2_snapshot_delete(q, "one"), -ENOENT);
	check_clean(q);
	block_close(q);
	unlink(path);
}

static void test_compression_roundtrip(void)
{
	static uint8_t in[65536], c[65536], out[65536];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i / 100);
	for (int t = QCOW2_COMP_ZLIB; t <= QCOW2_COMP_ZSTD; t++) {
		long n = qcow2_compress(t, in, sizeof(in), c, sizeof(c) - 512);

		CHECK(n > 0);
		memset(c + n, 0xaa, 512); /* sector padding after the stream */
		CHECK_EQ(qcow2_decompress(t, c, (size_t)n + 512, out, sizeof(out)),
			 0);
		CHECK(!memcmp(in, out, sizeof(in)));
		CHECK(qcow2_decompress(t, c, 10, out, sizeof(out)) < 0);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp\n");
		return 1;
	}
	RUN(test_header_valid);
	RUN(test_header_invalid);
	RUN(test_header_extensions);
	RUN(test_refcount_packing);
	RUN(test_compression_roundtrip);
	RUN(test_snapshot_revert);
	RUN(test_random_io);
	RUN(test_random_io_backing);
	rmdir(dir);
	return test_summary();
}
