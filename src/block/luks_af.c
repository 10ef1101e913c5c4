// SPDX-License-Identifier: MIT
/*
 * LUKS anti-forensic splitter (spec section 2.4): the key is spread over
 * stripes blocks so that wiping any one of them loses it. The diffusion
 * step hashes each digest-sized piece of a block with its big-endian index
 * in front; a last partial piece keeps as many bytes of its hash. Also the
 * PBKDF2 benchmark used to pick iteration counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "block/luks.h"

static int diffuse(const EVP_MD *md, uint8_t *buf, size_t len)
{
	size_t ds = (size_t)EVP_MD_get_size(md), done = 0;
	uint8_t out[EVP_MAX_MD_SIZE], iv[4];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (uint32_t i = 0; done < len; i++) {
		size_t n = len - done < ds ? len - done : ds;

		iv[0] = (uint8_t)(i >> 24);
		iv[1] = (uint8_t)(i >> 16);
		iv[2] = (uint8_t)(i >> 8);
		iv[3] = (uint8_t)i;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, iv, 4) != 1 ||
		    EVP_DigestUpdate(ctx, buf + done, n) != 1 ||
		    EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
			ret = -EIO;
			break;
		}
		memcpy(buf + done, out, n);
		done += n;
	}
	EVP_MD_CTX_free(ctx);
	return ret;
}

static void xor_into(uint8_t *d, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] ^= s[i];
}

int luks_af_split(const char *hash, const uint8_t *key, size_t keylen,
		  unsigned stripes, uint8_t *out)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	uint8_t *d = calloc(1, keylen);
	int ret = 0;

	if (!md || !stripes) {
		free(d);
		return -EINVAL;
	}
	if (!d)
		return -ENOMEM;
	for (unsigned i = 0; i + 1 < stripes && !ret; i++) {
		uint8_t *s = out + (size_t)i * keylen;

		if (RAND_bytes(s, (int)keylen) != 1) {
			ret = -EIO;
			break;
		}
		xor_into(d, s, keylen);
		ret = diffuse(md, d, keylen);
	}
	if (!ret) {
		uint8_t *last = out + (size_t)(stripes - 1) * keylen;

		memcpy(last, d, keylen);
		xor_into(last, key, keylen);
	}
	OPENSSL_cleanse(d, keylen);
	free(d);
	return ret;
}

int luks_af_merge(const char *hash, const uint8_t *in, size_t keylen,
		  unsigned stripes, uint8_t *key)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	int ret = 0;

	if (!md || !stripes)
		return -EINVAL;
	memset(key, 0, keylen);
	for (unsigned i = 0; i + 1 < stripes && !ret; i++) {
		xor_into(key, in + (size_t)i * keylen, keylen);
		ret = diffuse(md, key, keylen);
	}
	xor_into(key, in + (size_t)(stripes - 1) * keylen, keylen);
	return ret;
}

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Like cryptsetup and QEMU: time PBKDF2 on this thread's CPU clock (so a
 * busy host does not inflate the count), doubling the iterations until one
 * run takes a measurable while, then scale.
 */
uint64_t luks_pbkdf2_rate(const char *hash, uint64_t ms)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	static const uint8_t pass[] = "cvisor-benchmark", salt[32];
	uint8_t out[LUKS_DIGEST_LEN];
	uint64_t iters = 1 << 12, t, rate;

	if (!md)
		return 1;
	for (;;) {
		t = thread_ns();
		if (PKCS5_PBKDF2_HMAC((const char *)pass, sizeof(pass) - 1,
				      salt, sizeof(salt), (int)iters, md,
				      sizeof(out), out) != 1)
			return 1;
		t = thread_ns() - t;
		if (t >= 100000000ull || iters >= (1u << 30))
			break;
		iters *= 2;
	}
	rate = iters * 1000000000ull / (t ? t : 1); /* per second */
	if (ms && rate > UINT64_MAX / ms)
		return UINT64_MAX;
	rate = rate * ms / 1000;
	return rate ? rate : 1;
}
