// SPDX-License-Identifier: MIT
/*
 * Key slots of an existing LUKS1 area, as "qemu-img amend" and cryptsetup
 * luksAddKey / luksKillSlot change them: which slots a passphrase opens,
 * a passphrase put into a free slot, a slot erased. These work on the area
 * in memory; the container writes the key material before the header that
 * makes a slot active, and the header before it wipes a slot's material.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "block/luks.h"
#include "block/sector_cipher.h"

int luks_match_slots(const struct luks_header *h, const uint8_t *area,
		     uint64_t area_len, const uint8_t *pass, size_t passlen,
		     unsigned *mask, uint8_t *mk, char *err, size_t errlen)
{
	struct luks_header one = *h;
	uint8_t cand[LUKS_MAX_KEY];
	int ret = 0;

	*mask = 0;
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		if (!h->slots[i].active)
			continue;
		/* the same unlock, one slot at a time */
		for (unsigned j = 0; j < LUKS_NUM_SLOTS; j++)
			one.slots[j].active = i == j;
		ret = luks_unlock(&one, area, area_len, pass, passlen, cand,
				  err, errlen);
		if (ret == -EACCES) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		if (mk && !*mask)
			memcpy(mk, cand, h->key_bytes);
		*mask |= 1u << i;
	}
	/* no copy of a key left behind, on any way out */
	OPENSSL_cleanse(cand, sizeof(cand));
	if (ret) {
		if (mk && *mask)
			OPENSSL_cleanse(mk, h->key_bytes);
		*mask = 0;
		return ret;
	}
	if (!*mask)
		snprintf(err, errlen, "wrong passphrase: no LUKS key slot opens "
			 "with it");
	return *mask ? 0 : -EACCES;
}

/*
 * Where slot i's material lies: inside the area, after the header, clear
 * of every active slot's. An inactive slot's fields were never checked by
 * luks_parse, so they are checked here before anything is written there.
 */
int luks_slot_range(const struct luks_header *h, unsigned i,
		    uint64_t area_len, uint64_t *off, uint64_t *len,
		    char *err, size_t errlen)
{
	const struct luks_slot *s = &h->slots[i];
	uint64_t start = (uint64_t)s->offset * LUKS_SECTOR, n;

	if (!s->stripes || s->stripes > LUKS_MAX_STRIPES || !h->key_bytes ||
	    h->key_bytes > LUKS_MAX_KEY) {
		snprintf(err, errlen, "LUKS key slot %u has invalid stripe "
			 "count %u", i, s->stripes);
		return -EINVAL;
	}
	n = luks_slot_bytes(h, i);
	if (start < LUKS_PHDR_SIZE || start > area_len || n > area_len - start) {
		snprintf(err, errlen, "LUKS key slot %u material at sector %u "
			 "lies outside the header area", i, s->offset);
		return -EINVAL;
	}
	for (unsigned j = 0; j < LUKS_NUM_SLOTS; j++) {
		uint64_t o = (uint64_t)h->slots[j].offset * LUKS_SECTOR;

		if (j == i || !h->slots[j].active)
			continue;
		if (start < o + luks_slot_bytes(h, j) && o < start + n) {
			snprintf(err, errlen, "LUKS key slot %u material "
				 "overlaps slot %u's", i, j);
			return -EINVAL;
		}
	}
	*off = start;
	*len = n;
	return 0;
}

int luks_set_slot(struct luks_header *h, uint8_t *area, uint64_t area_len,
		  unsigned i, const uint8_t *pass, size_t passlen,
		  const uint8_t *mk, uint32_t iterations, char *err,
		  size_t errlen)
{
	struct luks_slot *s = &h->slots[i];
	struct sector_cipher *c = NULL;
	uint8_t key[LUKS_MAX_KEY];
	uint64_t off, len;
	int ret;

	if (i >= LUKS_NUM_SLOTS || s->active) {
		snprintf(err, errlen, "LUKS key slot %u is in use", i);
		return -EBUSY;
	}
	ret = luks_slot_range(h, i, area_len, &off, &len, err, errlen);
	if (ret)
		return ret;
	s->iterations = iterations < LUKS_MIN_ITERS ? LUKS_MIN_ITERS :
			iterations > LUKS_MAX_ITERS ? LUKS_MAX_ITERS :
						      iterations;
	if (RAND_bytes(s->salt, LUKS_SALT_LEN) != 1) {
		snprintf(err, errlen, "no random bytes for the key slot salt");
		return -EIO;
	}
	memset(area + off, 0, len);
	ret = luks_pbkdf2(h->hash, pass, passlen, s->salt, s->iterations, key,
			  h->key_bytes);
	if (!ret)
		ret = luks_af_split(h->hash, mk, h->key_bytes, s->stripes,
				    area + off);
	if (!ret)
		ret = sector_cipher_new(h->cipher, h->mode, key, h->key_bytes,
					&c);
	if (!ret)
		ret = sector_cipher_run(c, true, 0, area + off, len);
	sector_cipher_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	if (ret) {
		snprintf(err, errlen, "making LUKS key slot %u: %s", i,
			 strerror(-ret));
		return ret;
	}
	s->active = true;
	return 0;
}

int luks_kill_slot(struct luks_header *h, uint8_t *area, uint64_t area_len,
		   unsigned i, char *err, size_t errlen)
{
	uint64_t off, len;
	int ret;

	if (i >= LUKS_NUM_SLOTS || !h->slots[i].active) {
		snprintf(err, errlen, "LUKS key slot %u is not in use", i);
		return -ENOENT;
	}
	ret = luks_slot_range(h, i, area_len, &off, &len, err, errlen);
	if (ret)
		return ret;
	if (RAND_bytes(area + off, (int)len) != 1) {
		snprintf(err, errlen, "no random bytes to wipe key slot %u", i);
		return -EIO;
	}
	h->slots[i].active = false;
	h->slots[i].iterations = 0;
	memset(h->slots[i].salt, 0, LUKS_SALT_LEN);
	return 0;
}
