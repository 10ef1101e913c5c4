// SPDX-License-Identifier: MIT
/*
 * A new LUKS1 area, and qemu-img's parameter names for an existing one.
 * Iterations are scaled as cryptsetup and QEMU scale them: a key slot
 * costs iter-time of PBKDF2 on this host, the master-key digest an eighth
 * of it, neither fewer than 1000.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "block/luks.h"
#include "block/sector_cipher.h"

#define FIRST_SLOT_SECTOR 8 /* the header padded to 4 KiB */
#define SLOT_ALIGN 8        /* slots start on 4 KiB boundaries */

static int names(const struct luks_params *p, struct luks_header *h,
		 char *err, size_t errlen)
{
	const char *alg = p->cipher_alg ? p->cipher_alg : "aes-256";
	const char *mode = p->cipher_mode ? p->cipher_mode : "xts";
	const char *iv = p->ivgen_alg ? p->ivgen_alg : "plain64";
	const char *hash = p->hash_alg ? p->hash_alg : "sha256";
	unsigned bits = 0;

	if (sscanf(alg, "aes-%u", &bits) != 1 ||
	    (bits != 128 && bits != 192 && bits != 256)) {
		snprintf(err, errlen, "unsupported encrypt.cipher-alg '%s' "
			 "(aes-128, aes-192, aes-256)", alg);
		return -EINVAL;
	}
	if (strcmp(mode, "xts") && strcmp(mode, "cbc")) {
		snprintf(err, errlen, "unsupported encrypt.cipher-mode '%s' "
			 "(xts, cbc)", mode);
		return -EINVAL;
	}
	if (strcmp(iv, "plain64") && strcmp(iv, "plain") &&
	    strcmp(iv, "essiv")) {
		snprintf(err, errlen, "unsupported encrypt.ivgen-alg '%s' "
			 "(plain64, plain, essiv)", iv);
		return -EINVAL;
	}
	if (strlen(hash) > 31 || !EVP_get_digestbyname(hash) ||
	    EVP_MD_get_size(EVP_get_digestbyname(hash)) < LUKS_DIGEST_LEN) {
		snprintf(err, errlen, "unsupported encrypt.hash-alg '%s'", hash);
		return -EINVAL;
	}
	strcpy(h->cipher, "aes");
	strcpy(h->hash, hash);
	if (!strcmp(iv, "essiv"))
		snprintf(h->mode, sizeof(h->mode), "%s-essiv:%.20s", mode,
			 p->ivgen_hash ? p->ivgen_hash : "sha256");
	else
		snprintf(h->mode, sizeof(h->mode), "%s-%s", mode, iv);
	h->key_bytes = bits / 8 * (strcmp(mode, "xts") ? 1 : 2);
	return 0;
}

static void make_uuid(char *out, size_t len)
{
	uint8_t u[16];

	if (RAND_bytes(u, sizeof(u)) != 1)
		memset(u, 0, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40; /* version 4, random */
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		 u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

static uint32_t clamp_iters(uint64_t n)
{
	if (n < LUKS_MIN_ITERS)
		return LUKS_MIN_ITERS;
	return n > 100000000u ? 100000000u : (uint32_t)n;
}

/* Slot 0: the master key split, encrypted under the passphrase's key. */
static int fill_slot(struct luks_header *h, uint8_t *area,
		     const uint8_t *pass, size_t passlen, const uint8_t *mk)
{
	struct luks_slot *s = &h->slots[0];
	uint64_t bytes = luks_slot_bytes(h, 0);
	uint8_t *dst = area + (uint64_t)s->offset * LUKS_SECTOR;
	uint8_t key[LUKS_MAX_KEY];
	struct sector_cipher *c = NULL;
	int ret;

	if (RAND_bytes(s->salt, LUKS_SALT_LEN) != 1)
		return -EIO;
	ret = luks_pbkdf2(h->hash, pass, passlen, s->salt, s->iterations, key,
			  h->key_bytes);
	if (!ret)
		ret = luks_af_split(h->hash, mk, h->key_bytes, s->stripes, dst);
	if (!ret)
		ret = sector_cipher_new(h->cipher, h->mode, key, h->key_bytes,
					&c);
	if (!ret)
		ret = sector_cipher_run(c, true, 0, dst, bytes);
	sector_cipher_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ret)
		s->active = true;
	return ret;
}

static uint64_t slot_stride(uint32_t key_bytes)
{
	uint64_t per_slot = ((uint64_t)key_bytes * LUKS_STRIPES + LUKS_SECTOR -
			     1) / LUKS_SECTOR;

	return (per_slot + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN;
}

int luks_area_bytes(const struct luks_params *p, uint64_t *bytes, char *err,
		    size_t errlen)
{
	struct luks_header h = { 0 };
	int ret = names(p, &h, err, errlen);

	if (!ret)
		*bytes = (FIRST_SLOT_SECTOR + LUKS_NUM_SLOTS *
			  slot_stride(h.key_bytes)) * LUKS_SECTOR;
	return ret;
}

int luks_create(const struct luks_params *p, const uint8_t *pass,
		size_t passlen, uint8_t **area, uint64_t *area_len,
		uint8_t *mk, char *err, size_t errlen)
{
	struct luks_header h = { 0 };
	uint64_t stride, rate;
	struct sector_cipher *c;
	uint8_t *buf;
	int ret = names(p, &h, err, errlen);

	if (ret)
		return ret;
	if (RAND_bytes(mk, (int)h.key_bytes) != 1 ||
	    RAND_bytes(h.mk_salt, LUKS_SALT_LEN) != 1) {
		snprintf(err, errlen, "no random bytes for the master key");
		return -EIO;
	}
	ret = sector_cipher_new(h.cipher, h.mode, mk, h.key_bytes, &c);
	if (ret) {
		snprintf(err, errlen, "unsupported cipher %s-%s", h.cipher,
			 h.mode);
		return ret;
	}
	sector_cipher_free(c);
	make_uuid(h.uuid, sizeof(h.uuid));
	rate = luks_pbkdf2_rate(h.hash, p->iter_time_ms ? p->iter_time_ms :
							   2000);
	h.mk_iterations = clamp_iters(rate / 8);
	stride = slot_stride(h.key_bytes);
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		h.slots[i].offset = (uint32_t)(FIRST_SLOT_SECTOR + i * stride);
		h.slots[i].stripes = LUKS_STRIPES;
	}
	h.slots[0].iterations = clamp_iters(rate);
	h.payload_offset = (uint32_t)(FIRST_SLOT_SECTOR +
				      LUKS_NUM_SLOTS * stride);
	*area_len = (uint64_t)h.payload_offset * LUKS_SECTOR;
	buf = calloc(1, *area_len);
	if (!buf)
		return -ENOMEM;
	ret = luks_pbkdf2(h.hash, mk, h.key_bytes, h.mk_salt, h.mk_iterations,
			  h.mk_digest, LUKS_DIGEST_LEN);
	if (!ret)
		ret = fill_slot(&h, buf, pass, passlen, mk);
	if (ret) {
		snprintf(err, errlen, "making the LUKS key slot: %s",
			 strerror(-ret));
		free(buf);
		return ret;
	}
	luks_serialize(&h, buf);
	*area = buf;
	return 0;
}

void luks_describe(const struct luks_header *h, struct luks_params *p,
		   char *alg, size_t alglen, char *mode, size_t modelen,
		   char *ivgen, size_t ivlen, char *ivhash, size_t ivhlen)
{
	const char *dash = strchr(h->mode, '-');
	const char *colon = dash ? strchr(dash, ':') : NULL;
	size_t mlen = dash ? (size_t)(dash - h->mode) : strlen(h->mode);
	unsigned bits = h->key_bytes * 8;

	if (!strncmp(h->mode, "xts", 3))
		bits /= 2;
	snprintf(alg, alglen, "%s-%u", h->cipher, bits);
	snprintf(mode, modelen, "%.*s", (int)mlen, h->mode);
	if (colon)
		snprintf(ivgen, ivlen, "%.*s", (int)(colon - dash - 1), dash + 1);
	else
		snprintf(ivgen, ivlen, "%s", dash ? dash + 1 : "");
	snprintf(ivhash, ivhlen, "%s", colon ? colon + 1 : "");
	p->cipher_alg = alg;
	p->cipher_mode = mode;
	p->ivgen_alg = ivgen;
	p->ivgen_hash = colon ? ivhash : NULL;
	p->hash_alg = h->hash;
	p->iter_time_ms = 0;
}
