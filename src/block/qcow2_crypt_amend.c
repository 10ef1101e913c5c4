// SPDX-License-Identifier: MIT
/*
 * Key slots of a LUKS-encrypted qcow2 ("img amend -o encrypt.state=...").
 * Crash safety as in cryptsetup: a new slot's material reaches the disk
 * before the header that makes the slot active; an erased slot leaves the
 * header before its material is wiped. A crash between the two leaves
 * either an unused slot with material in it or an inactive slot with
 * material still present: every active slot opens, and the data is safe.
 * The qcow2 metadata does not change: the LUKS area keeps its clusters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "block/qcow2_int.h"

static int sync_write(struct qcow2 *s, const uint8_t *buf, uint64_t len,
		      uint64_t off)
{
	int ret = block_fd_pwrite(s->fd, buf, len, s->crypt_off + off);

	if (!ret && fdatasync(s->fd) < 0)
		ret = -errno;
	return ret;
}

static int write_header(struct qcow2 *s, const struct luks_header *h)
{
	uint8_t raw[LUKS_PHDR_SIZE];

	luks_serialize(h, raw);
	return sync_write(s, raw, sizeof(raw), 0);
}

static unsigned active_mask(const struct luks_header *h)
{
	unsigned m = 0;

	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++)
		if (h->slots[i].active)
			m |= 1u << i;
	return m;
}

static int add_slot(struct qcow2 *s, struct luks_header *h, uint8_t *area,
		    const uint8_t *mk, const struct qcow2_luks_amend *a,
		    char *err, size_t errlen)
{
	int slot = a->slot;
	uint64_t off, len, iters;
	int ret;

	if (!a->new_key) {
		snprintf(err, errlen, "encrypt.state=active needs "
			 "encrypt.new-secret=ID");
		return -EINVAL;
	}
	if (slot >= 0 && h->slots[slot].active) {
		snprintf(err, errlen, "LUKS key slot %d is in use: erase it "
			 "first (encrypt.state=inactive,encrypt.keyslot=%d)",
			 slot, slot);
		return -EBUSY;
	}
	for (int i = 0; slot < 0 && i < LUKS_NUM_SLOTS; i++)
		if (!h->slots[i].active)
			slot = i;
	if (slot < 0) {
		snprintf(err, errlen, "all %d LUKS key slots are in use",
			 LUKS_NUM_SLOTS);
		return -ENOSPC;
	}
	/* as at create: iter-time worth of PBKDF2 on this host */
	iters = luks_pbkdf2_rate(h->hash, a->iter_time_ms ? a->iter_time_ms :
							     2000);
	ret = luks_set_slot(h, area, s->crypt_len, (unsigned)slot, a->new_key,
			    a->new_len, mk,
			    iters > LUKS_MAX_ITERS ? LUKS_MAX_ITERS :
						     (uint32_t)iters,
			    err, errlen);
	if (!ret)
		ret = luks_slot_range(h, (unsigned)slot, s->crypt_len, &off,
				      &len, err, errlen);
	if (!ret)
		ret = sync_write(s, area + off, len, off);
	if (!ret)
		ret = write_header(s, h);
	return ret;
}

static int erase_slots(struct qcow2 *s, struct luks_header *h, uint8_t *area,
		       const struct qcow2_luks_amend *a, char *err,
		       size_t errlen)
{
	unsigned mask = 0, active = active_mask(h);
	uint64_t off, len;
	int ret;

	if (!a->old_key && a->slot < 0) {
		snprintf(err, errlen, "encrypt.state=inactive needs "
			 "encrypt.old-secret=ID or encrypt.keyslot=N");
		return -EINVAL;
	}
	if (a->old_key) {
		ret = luks_match_slots(h, area, s->crypt_len, a->old_key,
				       a->old_len, &mask, NULL, err, errlen);
		if (ret == -EACCES)
			snprintf(err, errlen, "no LUKS key slot opens with "
				 "encrypt.old-secret");
		if (ret)
			return ret;
	}
	if (a->slot >= 0) {
		if (!(active & (1u << a->slot))) {
			snprintf(err, errlen, "LUKS key slot %d is not in use",
				 a->slot);
			return -ENOENT;
		}
		if (a->old_key && !(mask & (1u << a->slot))) {
			snprintf(err, errlen, "LUKS key slot %d does not open "
				 "with encrypt.old-secret", a->slot);
			return -EACCES;
		}
		mask = 1u << a->slot;
	}
	if (mask == active) {
		snprintf(err, errlen, "refusing to erase the last active LUKS "
			 "key slot%s: no passphrase would open the image",
			 __builtin_popcount(mask) > 1 ? "s" : "");
		return -EPERM;
	}
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		if (!(mask & (1u << i)))
			continue;
		ret = luks_kill_slot(h, area, s->crypt_len, i, err, errlen);
		if (ret)
			return ret;
	}
	ret = write_header(s, h);
	for (unsigned i = 0; !ret && i < LUKS_NUM_SLOTS; i++) {
		if (!(mask & (1u << i)))
			continue;
		/* the same range luks_kill_slot wiped; offsets are unchanged */
		ret = luks_slot_range(h, i, s->crypt_len, &off, &len, err,
				      errlen);
		if (!ret)
			ret = sync_write(s, area + off, len, off);
	}
	return ret;
}

int qcow2_luks_amend(struct block_dev *dev, const struct qcow2_luks_amend *a,
		     char *err, size_t errlen)
{
	struct qcow2 *s = dev->opaque;
	struct luks_header h;
	uint8_t *area, mk[LUKS_MAX_KEY];
	int ret;

	err[0] = 0;
	if (!qcow2_is(dev) || s->crypt_method != QCOW2_CRYPT_LUKS || !s->luks) {
		snprintf(err, errlen, "'%s' is not LUKS-encrypted: encrypt.* "
			 "options change LUKS key slots only", dev->path);
		return -ENOTSUP;
	}
	if (s->readonly)
		return -EROFS;
	if (a->slot >= LUKS_NUM_SLOTS) {
		snprintf(err, errlen, "encrypt.keyslot=%d: slots are 0 to %d",
			 a->slot, LUKS_NUM_SLOTS - 1);
		return -EINVAL;
	}
	if (!a->key) {
		snprintf(err, errlen, "'%s' is encrypted: give its passphrase "
			 "(encrypt.key-secret with --image-opts)", dev->path);
		return -EACCES;
	}
	area = malloc(s->crypt_len);
	if (!area)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	ret = block_fd_pread(s->fd, area, s->crypt_len, s->crypt_off);
	if (!ret)
		ret = luks_parse(&h, area, s->crypt_len, s->crypt_len, err,
				 errlen);
	if (!ret)
		ret = luks_unlock(&h, area, s->crypt_len, a->key, a->key_len,
				  mk, err, errlen);
	if (!ret && a->activate)
		ret = add_slot(s, &h, area, mk, a, err, errlen);
	else if (!ret)
		ret = erase_slots(s, &h, area, a, err, errlen);
	if (!ret)
		*s->luks = h;
	pthread_mutex_unlock(&s->lock);
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(area, s->crypt_len);
	free(area);
	if (ret && !err[0])
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(-ret));
	return ret;
}
