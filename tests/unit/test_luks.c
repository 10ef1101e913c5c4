// SPDX-License-Identifier: MIT
/*
 * Encrypted-disk building blocks: XTS-AES known answers (IEEE 1619-2007
 * vectors 4 and 10) through the sector-cipher wrapper with plain64 IVs,
 * the anti-forensic splitter, and a LUKS1 header made, written, parsed
 * back and unlocked (and refused with a wrong passphrase or a damaged
 * header); an encrypted qcow2 taking writes at any alignment, compared
 * with a plain copy in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "block/luks.h"
#include "block/qcow2.h"
#include "block/sector_cipher.h"
#include "test.h"

static int nibble(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)(nibble(h[0]) << 4 | nibble(h[1]));
	return n;
}

static void pattern512(uint8_t *b)
{
	for (int i = 0; i < 512; i++)
		b[i] = (uint8_t)i;
}

/* Vector 4: XTS-AES-128, data unit 0; its first and last two blocks. */
static void test_xts_vector4(void)
{
	uint8_t key[32], buf[512], want[32], orig[512];
	struct sector_cipher *c;

	unhex("27182818284590452353602874713526"
	      "31415926535897932384626433832795", key);
	pattern512(buf);
	memcpy(orig, buf, sizeof(buf));
	CHECK_EQ(sector_cipher_new("aes", "xts-plain64", key, 32, &c), 0);
	CHECK_EQ(sector_cipher_run(c, true, 0, buf, sizeof(buf)), 0);
	unhex("27a7479befa1d476489f308cd4cfa6e2"
	      "a96e4bbe3208ff25287dd3819616e89c", want);
	CHECK(!memcmp(buf, want, 32));
	unhex("eb4a427d1923ce3ff262735779a418f2"
	      "0a282df920147beabe421ee5319d0568", want);
	CHECK(!memcmp(buf + 480, want, 32));
	CHECK_EQ(sector_cipher_run(c, false, 0, buf, sizeof(buf)), 0);
	CHECK(!memcmp(buf, orig, sizeof(buf)));
	sector_cipher_free(c);
}

/* Vector 10: XTS-AES-256, data unit 0xff: plain64 puts it in byte 0. */
static void test_xts_vector10(void)
{
	static const char ct[] =
		"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
		"5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
		"5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
		"c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
		"2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
		"b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
		"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
		"583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
		"84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
		"505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
		"9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
		"a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
		"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
		"645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
		"1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
		"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";
	uint8_t key[64], buf[1024], want[512];
	struct sector_cipher *c;

	unhex("2718281828459045235360287471352662497757247093699959574966967627"
	      "3141592653589793238462643383279502884197169399375105820974944592",
	      key);
	CHECK_EQ(unhex(ct, want), 512);
	/* two sectors: the second, numbered 0xff, is the vector */
	pattern512(buf);
	pattern512(buf + 512);
	CHECK_EQ(sector_cipher_new("aes", "xts-plain64", key, 64, &c), 0);
	CHECK_EQ(sector_cipher_run(c, true, 0xfe, buf, sizeof(buf)), 0);
	CHECK(!memcmp(buf + 512, want, 512));
	CHECK(memcmp(buf, want, 512)); /* sector 0xfe differs */
	sector_cipher_free(c);
}

static void test_cipher_refusals(void)
{
	uint8_t key[64] = { 1 };
	struct sector_cipher *c;

	CHECK_EQ(sector_cipher_new("aes", "xts-plain64", key, 48, &c), -EINVAL);
	CHECK_EQ(sector_cipher_new("twofish", "xts-plain64", key, 64, &c),
		 -EINVAL);
	CHECK_EQ(sector_cipher_new("aes", "xts-essiv:sha256", key, 64, &c),
		 -EINVAL);
	CHECK_EQ(sector_cipher_new("aes", "cbc-bogus", key, 32, &c), -EINVAL);
	CHECK_EQ(sector_cipher_new("aes", "cbc-essiv:sha256", key, 32, &c), 0);
	sector_cipher_free(c);
}

static void test_af_roundtrip(void)
{
	uint8_t key[64], back[64], *split = malloc(64 * 4000);

	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ(luks_af_split("sha256", key, 64, 4000, split), 0);
	CHECK_EQ(luks_af_merge("sha256", split, 64, 4000, back), 0);
	CHECK(!memcmp(key, back, 64));
	split[1000] ^= 1; /* one flipped bit anywhere loses the key */
	CHECK_EQ(luks_af_merge("sha256", split, 64, 4000, back), 0);
	CHECK(memcmp(key, back, 64));
	free(split);
}

static const uint8_t pass[] = "correct horse\n";

static void test_header_roundtrip(void)
{
	struct luks_params p = { .iter_time_ms = 1 };
	struct luks_header h, h2;
	uint8_t *area, mk[64], got[64], raw[LUKS_PHDR_SIZE];
	uint64_t len;
	char err[256] = "";

	CHECK_EQ(luks_create(&p, pass, sizeof(pass) - 1, &area, &len, mk, err,
			     sizeof(err)), 0);
	/* qemu-img's layout: 8 slots of 504 sectors after a 4 KiB header */
	CHECK_EQ(len, 2068480);
	CHECK_EQ(luks_parse(&h, area, len, len, err, sizeof(err)), 0);
	CHECK(!strcmp(h.cipher, "aes") && !strcmp(h.mode, "xts-plain64"));
	CHECK(!strcmp(h.hash, "sha256"));
	CHECK_EQ(h.key_bytes, 64);
	CHECK(h.slots[0].active && !h.slots[1].active);
	CHECK_EQ(h.slots[0].offset, 8);
	CHECK_EQ(h.slots[7].offset, 8 + 7 * 504);
	CHECK(h.slots[0].iterations >= LUKS_MIN_ITERS);
	CHECK(h.mk_iterations >= LUKS_MIN_ITERS);
	luks_serialize(&h, raw);
	CHECK(!memcmp(raw, area, LUKS_PHDR_SIZE));
	CHECK_EQ(luks_parse(&h2, raw, sizeof(raw), len, err, sizeof(err)), 0);
	CHECK(!memcmp(&h, &h2, sizeof(h)));
	CHECK_EQ(luks_unlock(&h, area, len, pass, sizeof(pass) - 1, got, err,
			     sizeof(err)), 0);
	CHECK(!memcmp(got, mk, 64));
	CHECK_EQ(luks_unlock(&h, area, len, pass, sizeof(pass) - 2, got, err,
			     sizeof(err)), -EACCES);
	CHECK(strstr(err, "wrong passphrase") != NULL);
	/* damaged key material: the digest tells the key is wrong */
	area[8 * 512 + 100] ^= 0x40;
	CHECK_EQ(luks_unlock(&h, area, len, pass, sizeof(pass) - 1, got, err,
			     sizeof(err)), -EACCES);
	free(area);
}

static void test_header_corrupt(void)
{
	struct luks_params p = { .iter_time_ms = 1, .cipher_alg = "aes-128",
				 .cipher_mode = "cbc", .ivgen_alg = "essiv" };
	static const struct {
		unsigned off;
		uint8_t val;
	} bad[] = {
		{ 0, 'X' },          /* magic */
		{ 7, 2 },            /* version */
		{ 8, 'z' },          /* cipher name */
		{ 72, 'q' },         /* hash */
		{ 111, 7 },          /* key bytes */
		{ 164, 0xff },       /* master-key iterations */
		{ 208, 0x12 },       /* slot 0 state */
		{ 212, 0xff },       /* slot 0 iterations */
		{ 248, 0x7f },       /* slot 0 offset past the area */
		{ 252, 0xff },       /* slot 0 stripes */
	};
	struct luks_header h;
	uint8_t *area, mk[64], copy[LUKS_PHDR_SIZE];
	uint64_t len;
	char err[256];

	CHECK_EQ(luks_create(&p, pass, 4, &area, &len, mk, err, sizeof(err)), 0);
	CHECK_EQ(luks_parse(&h, area, len, len, err, sizeof(err)), 0);
	CHECK(!strcmp(h.mode, "cbc-essiv:sha256"));
	CHECK_EQ(h.key_bytes, 16);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, area, sizeof(copy));
		copy[bad[i].off] = bad[i].val;
		err[0] = 0;
		CHECK(luks_parse(&h, copy, sizeof(copy), len, err,
				 sizeof(err)) < 0);
		CHECK(err[0] != 0);
	}
	/* a short buffer and an area too small for the key material */
	CHECK(luks_parse(&h, area, 100, len, err, sizeof(err)) < 0);
	CHECK(luks_parse(&h, area, len, 4096, err, sizeof(err)) < 0);
	CHECK_EQ(luks_unlock(&(struct luks_header){ 0 }, area, len, pass, 4, mk,
			     err, sizeof(err)), -EACCES);
	free(area);
}

/* Random writes (sector-unaligned ones too) and reads against a model. */
static void test_qcow2_encrypted_io(void)
{
	char path[] = "/tmp/cvisor-test-luks-XXXXXX", err[BLOCK_ERR_LEN];
	const uint64_t size = 4 << 20;
	struct qcow2_create_opts o = {
		.size = size, .cluster_size = 4096, .encrypt = true,
		.luks = { .iter_time_ms = 1 }, .key = pass, .key_len = 5,
	};
	struct block_open_opts key = { .key = pass, .key_len = 5 };
	uint8_t *model = calloc(1, size), *buf = malloc(70000), *raw;
	struct block_dev *dev;
	struct qcow2_info qi;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(qcow2_create(path, &o, err, sizeof(err)), 0);
	CHECK_EQ(block_open_opts(path, "qcow2", 0, &key, &dev, err,
				 sizeof(err)), 0);
	qcow2_get_info(dev, &qi);
	CHECK_EQ(qi.crypt_method, 2);
	srand(7);
	for (int i = 0; i < 300; i++) {
		size_t n = 1 + (size_t)rand() % 70000;
		uint64_t off = (uint64_t)rand() % (size - n);

		if (rand() % 3) {
			for (size_t k = 0; k < n; k++)
				buf[k] = (uint8_t)rand();
			CHECK_EQ(block_pwrite(dev, buf, n, off), 0);
			memcpy(model + off, buf, n);
		} else {
			CHECK_EQ(block_pread(dev, buf, n, off), 0);
			CHECK(!memcmp(buf, model + off, n));
		}
	}
	/* a recognizable plaintext, unaligned, must not be in the file */
	for (int k = 0; k < 1000; k++)
		buf[k] = "plaintext!"[k % 10];
	CHECK_EQ(block_pwrite(dev, buf, 1000, 12345), 0);
	memcpy(model + 12345, buf, 1000);
	block_close(dev);
	raw = malloc(size + (4 << 20));
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, raw, size + (4 << 20)) > 0);
	close(fd);
	CHECK(memmem(raw, size + (4 << 20), buf, 64) == NULL);
	free(raw);
	CHECK_EQ(block_open_opts(path, "qcow2", BLOCK_RDONLY, &key, &dev, err,
				 sizeof(err)), 0);
	for (uint64_t off = 0; off < size; off += 65536) {
		CHECK_EQ(block_pread(dev, buf, 65536, off), 0);
		CHECK(!memcmp(buf, model + off, 65536));
	}
	block_close(dev);
	key.key_len = 4;
	CHECK_EQ(block_open_opts(path, "qcow2", 0, &key, &dev, err, sizeof(err)),
		 -EACCES);
	CHECK(strstr(err, "wrong passphrase") != NULL);
	CHECK(block_open(path, "qcow2", 0, &dev, err, sizeof(err)) < 0);
	CHECK_EQ(block_open(path, "qcow2", BLOCK_RDONLY | BLOCK_NO_IO, &dev,
			    err, sizeof(err)), 0);
	CHECK(block_pread(dev, buf, 512, 0) < 0); /* no key: no data */
	block_close(dev);
	unlink(path);
	free(model);
	free(buf);
}

/* Key slots added and erased in memory, as "img amend" does. */
static void test_slot_amend(void)
{
	static const uint8_t pass2[] = "second";
	struct luks_params p = { .iter_time_ms = 1 };
	struct luks_header h;
	uint8_t *area, mk[64], got[64];
	uint64_t len, off, n;
	unsigned mask;
	char err[256] = "";

	CHECK_EQ(luks_create(&p, pass, sizeof(pass) - 1, &area, &len, mk, err,
			     sizeof(err)), 0);
	CHECK_EQ(luks_parse(&h, area, len, len, err, sizeof(err)), 0);
	CHECK_EQ(luks_set_slot(&h, area, len, 0, pass2, 6, mk, LUKS_MIN_ITERS,
			       err, sizeof(err)), -EBUSY);
	CHECK_EQ(luks_set_slot(&h, area, len, 3, pass2, 6, mk, LUKS_MIN_ITERS,
			       err, sizeof(err)), 0);
	CHECK(h.slots[3].active && h.slots[3].iterations == LUKS_MIN_ITERS);
	CHECK_EQ(luks_match_slots(&h, area, len, pass2, 6, &mask, got, err,
				  sizeof(err)), 0);
	CHECK_EQ(mask, 1u << 3);
	CHECK(!memcmp(got, mk, 64));
	CHECK_EQ(luks_match_slots(&h, area, len, pass, sizeof(pass) - 1, &mask,
				  NULL, err, sizeof(err)), 0);
	CHECK_EQ(mask, 1u << 0);
	CHECK_EQ(luks_match_slots(&h, area, len, pass, 3, &mask, NULL, err,
				  sizeof(err)), -EACCES);
	/* erased: the passphrase opens nothing, the other one still does */
	CHECK_EQ(luks_kill_slot(&h, area, len, 0, err, sizeof(err)), 0);
	CHECK(!h.slots[0].active);
	CHECK_EQ(luks_unlock(&h, area, len, pass, sizeof(pass) - 1, got, err,
			     sizeof(err)), -EACCES);
	CHECK_EQ(luks_unlock(&h, area, len, pass2, 6, got, err, sizeof(err)), 0);
	CHECK_EQ(luks_kill_slot(&h, area, len, 0, err, sizeof(err)), -ENOENT);
	/* an inactive slot's fields come from the file: checked before use */
	h.slots[5].offset = h.slots[3].offset + 1;
	CHECK_EQ(luks_slot_range(&h, 5, len, &off, &n, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "overlaps slot 3") != NULL);
	h.slots[5].offset = (uint32_t)(len / 512);
	CHECK_EQ(luks_set_slot(&h, area, len, 5, pass2, 6, mk, LUKS_MIN_ITERS,
			       err, sizeof(err)), -EINVAL);
	h.slots[5].offset = 0;
	CHECK_EQ(luks_slot_range(&h, 5, len, &off, &n, err, sizeof(err)),
		 -EINVAL);
	h.slots[5].offset = 8 + 5 * 504;
	h.slots[5].stripes = 0;
	CHECK_EQ(luks_slot_range(&h, 5, len, &off, &n, err, sizeof(err)),
		 -EINVAL);
	h.slots[5].stripes = LUKS_STRIPES;
	CHECK_EQ(luks_slot_range(&h, 5, len, &off, &n, err, sizeof(err)), 0);
	CHECK_EQ(off, (8 + 5 * 504) * 512ull);
	CHECK_EQ(n, 64 * LUKS_STRIPES);
	free(area);
}

int main(void)
{
	RUN(test_xts_vector4);
	RUN(test_xts_vector10);
	RUN(test_cipher_refusals);
	RUN(test_af_roundtrip);
	RUN(test_header_roundtrip);
	RUN(test_header_corrupt);
	RUN(test_slot_amend);
	RUN(test_qcow2_encrypted_io);
	return test_summary();
}
