/* SPDX-License-Identifier: MIT */
/*
 * Disk-sector encryption as dm-crypt and LUKS name it: a cipher ("aes"), a
 * chaining mode and an IV generator ("xts-plain64", "cbc-essiv:sha256"),
 * each 512-byte sector encrypted on its own with the sector number as IV.
 * The block ciphers are OpenSSL's (EVP); this file only picks them and
 * makes the IVs.
 */
#ifndef CVISOR_BLOCK_SECTOR_CIPHER_H
#define CVISOR_BLOCK_SECTOR_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECTOR_CIPHER_SECTOR 512

struct sector_cipher;

/*
 * Loads the host's OpenSSL configuration and the providers or engines it
 * names, which the seccomp filter (vmm/sandbox.h) would keep from loading
 * later: called before it by a VM that will open an encrypted disk. A VM
 * without one never touches OpenSSL's tables (1.4 MiB resident).
 */
void sector_cipher_preload(void);

/* -EINVAL for an unsupported cipher/mode/key length, -ENOMEM. */
int sector_cipher_new(const char *cipher, const char *mode,
		      const uint8_t *key, size_t keylen,
		      struct sector_cipher **out);
void sector_cipher_free(struct sector_cipher *c);

/*
 * En- or decrypts len bytes in place, the first sector numbered sector.
 * len is a multiple of 16; a last partial sector is processed as one unit.
 * Not thread-safe: one caller at a time per cipher.
 */
int sector_cipher_run(struct sector_cipher *c, bool encrypt, uint64_t sector,
		      uint8_t *buf, size_t len);

#endif
