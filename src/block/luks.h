/* SPDX-License-Identifier: MIT */
/*
 * LUKS1 key setup, after the LUKS1 On-Disk Format Specification (1.2.3):
 * a 592-byte big-endian header, eight key slots each holding the master
 * key behind a passphrase (PBKDF2, then the anti-forensic splitter, then
 * the payload cipher), and a PBKDF2 digest that tells the right master key
 * from a wrong one. Used inside qcow2 (crypt_method 2) the way QEMU stores
 * it: the key-material offsets count from the start of the LUKS area.
 */
#ifndef CVISOR_BLOCK_LUKS_H
#define CVISOR_BLOCK_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LUKS_PHDR_SIZE    592
#define LUKS_NUM_SLOTS    8
#define LUKS_SALT_LEN     32
#define LUKS_DIGEST_LEN   20
#define LUKS_STRIPES      4000
#define LUKS_MAX_KEY      64
#define LUKS_SLOT_ACTIVE  0x00ac71f3u
#define LUKS_SLOT_DEAD    0x0000deadu
#define LUKS_MIN_ITERS    1000
#define LUKS_SECTOR       512
#define LUKS_MAX_ITERS    100000000u /* bounds hostile headers' PBKDF2 */
#define LUKS_MAX_STRIPES  65536u

struct luks_slot {
	bool active;
	uint32_t iterations;
	uint8_t salt[LUKS_SALT_LEN];
	uint32_t offset; /* sectors from the start of the LUKS area */
	uint32_t stripes;
};

struct luks_header {
	char cipher[33], mode[33], hash[33]; /* "aes", "xts-plain64", "sha256" */
	uint32_t payload_offset; /* sectors */
	uint32_t key_bytes;
	uint8_t mk_digest[LUKS_DIGEST_LEN];
	uint8_t mk_salt[LUKS_SALT_LEN];
	uint32_t mk_iterations;
	char uuid[41];
	struct luks_slot slots[LUKS_NUM_SLOTS];
};

/*
 * Parses and validates a header from untrusted bytes. area_len bounds the
 * key material (the whole LUKS area the container gives it). One line in
 * err on failure.
 */
int luks_parse(struct luks_header *h, const uint8_t *buf, size_t len,
	       uint64_t area_len, char *err, size_t errlen);
void luks_serialize(const struct luks_header *h, uint8_t buf[LUKS_PHDR_SIZE]);

/* Bytes of one slot's key material on disk, rounded to whole sectors. */
uint64_t luks_slot_bytes(const struct luks_header *h, unsigned slot);

/*
 * Tries every active slot with the passphrase; the master key goes to mk
 * (key_bytes). area holds the LUKS area (area_len bytes). -EACCES when no
 * slot opens.
 */
int luks_unlock(const struct luks_header *h, const uint8_t *area,
		uint64_t area_len, const uint8_t *pass, size_t passlen,
		uint8_t *mk, char *err, size_t errlen);

/* qemu-img's names for the parameters (encrypt.cipher-alg=aes-256 ...). */
struct luks_params {
	const char *cipher_alg;  /* "aes-256" */
	const char *cipher_mode; /* "xts" */
	const char *ivgen_alg;   /* "plain64" */
	const char *ivgen_hash;  /* for essiv: "sha256" */
	const char *hash_alg;    /* "sha256" */
	uint64_t iter_time_ms;   /* 0: 2000 */
};

/*
 * A new LUKS area: header with a random master key in slot 0 under pass,
 * PBKDF2 iterations scaled to iter_time on this host. *area is malloc'd,
 * *area_len = payload offset in bytes.
 */
int luks_create(const struct luks_params *p, const uint8_t *pass,
		size_t passlen, uint8_t **area, uint64_t *area_len,
		uint8_t *mk, char *err, size_t errlen);

/* Bytes of the LUKS area luks_create would make for these parameters. */
int luks_area_bytes(const struct luks_params *p, uint64_t *bytes, char *err,
		    size_t errlen);

/* qemu-img's names back from a header ("aes-256", "xts", "plain64", ...). */
void luks_describe(const struct luks_header *h, struct luks_params *p,
		   char *alg, size_t alglen, char *mode, size_t modelen,
		   char *ivgen, size_t ivlen, char *ivhash, size_t ivhlen);

/*
 * luks_amend.c: key slots of an existing area (in memory; the caller writes
 * the material before the header that activates a slot, and the header
 * before it wipes one). luks_match_slots: the active slots pass opens, as
 * a bit mask, and the master key (key_bytes) into mk if mk is not NULL;
 * -EACCES for none.
 */
int luks_match_slots(const struct luks_header *h, const uint8_t *area,
		     uint64_t area_len, const uint8_t *pass, size_t passlen,
		     unsigned *mask, uint8_t *mk, char *err, size_t errlen);
/* Where slot i's material lies (bytes from the area's start), checked. */
int luks_slot_range(const struct luks_header *h, unsigned i,
		    uint64_t area_len, uint64_t *off, uint64_t *len,
		    char *err, size_t errlen);
/* Puts mk into inactive slot i under pass with PBKDF2 iterations. */
int luks_set_slot(struct luks_header *h, uint8_t *area, uint64_t area_len,
		  unsigned i, const uint8_t *pass, size_t passlen,
		  const uint8_t *mk, uint32_t iterations, char *err,
		  size_t errlen);
/* Marks active slot i inactive and fills its material with random bytes. */
int luks_kill_slot(struct luks_header *h, uint8_t *area, uint64_t area_len,
		   unsigned i, char *err, size_t errlen);

/* luks_af.c: the anti-forensic splitter with the header's hash. */
int luks_af_split(const char *hash, const uint8_t *key, size_t keylen,
		  unsigned stripes, uint8_t *out);
int luks_af_merge(const char *hash, const uint8_t *in, size_t keylen,
		  unsigned stripes, uint8_t *key);
/* PBKDF2 with a LUKS_SALT_LEN salt. */
int luks_pbkdf2(const char *hash, const uint8_t *pass, size_t passlen,
		const uint8_t *salt, uint32_t iters, uint8_t *out,
		size_t outlen);
/* PBKDF2 iterations this host computes in ms milliseconds (at least 1). */
uint64_t luks_pbkdf2_rate(const char *hash, uint64_t ms);

#endif
