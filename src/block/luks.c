// SPDX-License-Identifier: MIT
/*
 * LUKS1 header: parsing untrusted bytes, writing it, unlocking a key slot
 * and making a new one. Field layout, slot states and the key-slot
 * procedure follow the LUKS1 On-Disk Format Specification; the slot layout
 * (4 KiB header, slots at 4 KiB-aligned strides, the payload right after
 * slot 7) is the one qemu-img and cryptsetup write. PBKDF2, the hashes and
 * the ciphers are OpenSSL's.
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
#include "vmm/bytes.h"

/* Offsets in the on-disk header (spec, figure 1). */
#define OFF_VERSION   6
#define OFF_CIPHER    8
#define OFF_MODE      40
#define OFF_HASH      72
#define OFF_PAYLOAD   104
#define OFF_KEYBYTES  108
#define OFF_DIGEST    112
#define OFF_MKSALT    132
#define OFF_MKITER    164
#define OFF_UUID      168
#define OFF_SLOTS     208
#define SLOT_SIZE     48

/* A header asking for more is taken as corrupt, not as hours of PBKDF2. */

static const uint8_t magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

/* dst is zeroed: what follows a terminator is dropped, as a writer would */
static void get_str(char *dst, const uint8_t *src, size_t field)
{
	memcpy(dst, src, strnlen((const char *)src, field));
}

/* The cipher works with some key of this length: checked by building it. */
static bool cipher_ok(const char *cipher, const char *mode, uint32_t kb)
{
	uint8_t key[LUKS_MAX_KEY];
	struct sector_cipher *c;

	if (!kb || kb > LUKS_MAX_KEY)
		return false;
	for (uint32_t i = 0; i < kb; i++)
		key[i] = (uint8_t)(i + 1);
	if (sector_cipher_new(cipher, mode, key, kb, &c))
		return false;
	sector_cipher_free(c);
	return true;
}

uint64_t luks_slot_bytes(const struct luks_header *h, unsigned slot)
{
	uint64_t n = (uint64_t)h->key_bytes * h->slots[slot].stripes;

	return (n + LUKS_SECTOR - 1) / LUKS_SECTOR * LUKS_SECTOR;
}

static int parse_slot(struct luks_header *h, unsigned i, const uint8_t *p,
		      uint64_t area_len, char *err, size_t errlen)
{
	struct luks_slot *s = &h->slots[i];
	uint32_t state = get_be32(p);
	uint64_t start;

	if (state != LUKS_SLOT_ACTIVE && state != LUKS_SLOT_DEAD) {
		snprintf(err, errlen, "LUKS key slot %u has invalid state "
			 "0x%08x", i, state);
		return -EINVAL;
	}
	s->active = state == LUKS_SLOT_ACTIVE;
	s->iterations = get_be32(p + 4);
	memcpy(s->salt, p + 8, LUKS_SALT_LEN);
	s->offset = get_be32(p + 40);
	s->stripes = get_be32(p + 44);
	if (!s->active)
		return 0;
	if (!s->iterations || s->iterations > LUKS_MAX_ITERS) {
		snprintf(err, errlen, "LUKS key slot %u has invalid iteration "
			 "count %u", i, s->iterations);
		return -EINVAL;
	}
	if (!s->stripes || s->stripes > LUKS_MAX_STRIPES) {
		snprintf(err, errlen, "LUKS key slot %u has invalid stripe "
			 "count %u", i, s->stripes);
		return -EINVAL;
	}
	start = (uint64_t)s->offset * LUKS_SECTOR;
	if (start < LUKS_PHDR_SIZE || start > area_len ||
	    luks_slot_bytes(h, i) > area_len - start) {
		snprintf(err, errlen, "LUKS key slot %u material at sector %u "
			 "lies outside the header area", i, s->offset);
		return -EINVAL;
	}
	return 0;
}

int luks_parse(struct luks_header *h, const uint8_t *buf, size_t len,
	       uint64_t area_len, char *err, size_t errlen)
{
	unsigned active = 0;
	int ret;

	memset(h, 0, sizeof(*h));
	if (len < LUKS_PHDR_SIZE || memcmp(buf, magic, sizeof(magic))) {
		snprintf(err, errlen, "no LUKS header (bad magic)");
		return -EINVAL;
	}
	if (buf[OFF_VERSION] != 0 || buf[OFF_VERSION + 1] != 1) {
		snprintf(err, errlen, "unsupported LUKS version %u",
			 (buf[OFF_VERSION] << 8) | buf[OFF_VERSION + 1]);
		return -ENOTSUP;
	}
	get_str(h->cipher, buf + OFF_CIPHER, 32);
	get_str(h->mode, buf + OFF_MODE, 32);
	get_str(h->hash, buf + OFF_HASH, 32);
	h->payload_offset = get_be32(buf + OFF_PAYLOAD);
	h->key_bytes = get_be32(buf + OFF_KEYBYTES);
	memcpy(h->mk_digest, buf + OFF_DIGEST, LUKS_DIGEST_LEN);
	memcpy(h->mk_salt, buf + OFF_MKSALT, LUKS_SALT_LEN);
	h->mk_iterations = get_be32(buf + OFF_MKITER);
	get_str(h->uuid, buf + OFF_UUID, 40);
	if (!EVP_get_digestbyname(h->hash) ||
	    EVP_MD_get_size(EVP_get_digestbyname(h->hash)) < LUKS_DIGEST_LEN) {
		snprintf(err, errlen, "unsupported LUKS hash '%.32s'", h->hash);
		return -ENOTSUP;
	}
	if (!cipher_ok(h->cipher, h->mode, h->key_bytes)) {
		snprintf(err, errlen, "unsupported LUKS cipher '%.32s-%.32s' "
			 "with a %u-byte key", h->cipher, h->mode, h->key_bytes);
		return -ENOTSUP;
	}
	if (!h->mk_iterations || h->mk_iterations > LUKS_MAX_ITERS) {
		snprintf(err, errlen, "invalid LUKS master key iteration count "
			 "%u", h->mk_iterations);
		return -EINVAL;
	}
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		ret = parse_slot(h, i, buf + OFF_SLOTS + i * SLOT_SIZE,
				 area_len, err, errlen);
		if (ret)
			return ret;
		active += h->slots[i].active;
	}
	if (!active) {
		snprintf(err, errlen, "LUKS header has no active key slot");
		return -EINVAL;
	}
	return 0;
}

static void put_str(uint8_t *dst, const char *s, size_t field)
{
	size_t n = strnlen(s, field);

	memcpy(dst, s, n);
}

void luks_serialize(const struct luks_header *h, uint8_t buf[LUKS_PHDR_SIZE])
{
	memset(buf, 0, LUKS_PHDR_SIZE);
	memcpy(buf, magic, sizeof(magic));
	buf[OFF_VERSION + 1] = 1;
	put_str(buf + OFF_CIPHER, h->cipher, 32);
	put_str(buf + OFF_MODE, h->mode, 32);
	put_str(buf + OFF_HASH, h->hash, 32);
	put_be32(buf + OFF_PAYLOAD, h->payload_offset);
	put_be32(buf + OFF_KEYBYTES, h->key_bytes);
	memcpy(buf + OFF_DIGEST, h->mk_digest, LUKS_DIGEST_LEN);
	memcpy(buf + OFF_MKSALT, h->mk_salt, LUKS_SALT_LEN);
	put_be32(buf + OFF_MKITER, h->mk_iterations);
	put_str(buf + OFF_UUID, h->uuid, 40);
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];
		uint8_t *p = buf + OFF_SLOTS + i * SLOT_SIZE;

		put_be32(p, s->active ? LUKS_SLOT_ACTIVE : LUKS_SLOT_DEAD);
		put_be32(p + 4, s->iterations);
		memcpy(p + 8, s->salt, LUKS_SALT_LEN);
		put_be32(p + 40, s->offset);
		put_be32(p + 44, s->stripes);
	}
}

int luks_pbkdf2(const char *hash, const uint8_t *pass, size_t passlen,
		  const uint8_t *salt, uint32_t iters, uint8_t *out,
		  size_t outlen)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);

	if (!md || iters > (uint32_t)INT32_MAX ||
	    PKCS5_PBKDF2_HMAC((const char *)pass, (int)passlen, salt,
			      LUKS_SALT_LEN, (int)iters, md, (int)outlen,
			      out) != 1)
		return -EIO;
	return 0;
}

/* The slot's key material, decrypted and merged: a candidate master key. */
static int open_slot(const struct luks_header *h, unsigned i,
		     const uint8_t *area, const uint8_t *pass, size_t passlen,
		     uint8_t *mk)
{
	const struct luks_slot *s = &h->slots[i];
	uint64_t bytes = luks_slot_bytes(h, i);
	uint8_t key[LUKS_MAX_KEY], *split = malloc(bytes);
	struct sector_cipher *c = NULL;
	int ret = -ENOMEM;

	if (!split)
		return -ENOMEM;
	memcpy(split, area + (uint64_t)s->offset * LUKS_SECTOR, bytes);
	ret = luks_pbkdf2(h->hash, pass, passlen, s->salt, s->iterations, key,
		     h->key_bytes);
	if (!ret)
		ret = sector_cipher_new(h->cipher, h->mode, key, h->key_bytes,
					&c);
	if (!ret)
		ret = sector_cipher_run(c, false, 0, split, bytes);
	if (!ret)
		ret = luks_af_merge(h->hash, split, h->key_bytes, s->stripes,
				    mk);
	sector_cipher_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(split, bytes);
	free(split);
	return ret;
}

int luks_unlock(const struct luks_header *h, const uint8_t *area,
		uint64_t area_len, const uint8_t *pass, size_t passlen,
		uint8_t *mk, char *err, size_t errlen)
{
	uint8_t digest[LUKS_DIGEST_LEN];
	int ret;

	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];

		if (!s->active || (uint64_t)s->offset * LUKS_SECTOR +
					  luks_slot_bytes(h, i) > area_len)
			continue;
		ret = open_slot(h, i, area, pass, passlen, mk);
		if (!ret)
			ret = luks_pbkdf2(h->hash, mk, h->key_bytes, h->mk_salt,
				     h->mk_iterations, digest, sizeof(digest));
		if (ret) {
			snprintf(err, errlen, "LUKS key slot %u: %s", i,
				 strerror(-ret));
			return ret;
		}
		if (!CRYPTO_memcmp(digest, h->mk_digest, sizeof(digest)))
			return 0;
	}
	OPENSSL_cleanse(mk, h->key_bytes);
	snprintf(err, errlen, "wrong passphrase: no LUKS key slot opens with it");
	return -EACCES;
}
