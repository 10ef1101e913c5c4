/* SPDX-License-Identifier: MIT */
/* CRC-32C (Castagnoli), the checksum of VHDX headers, tables and log. */
#ifndef CVISOR_BLOCK_CRC32C_H
#define CVISOR_BLOCK_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of len bytes at p (initial value ~0, final xor ~0). */
uint32_t crc32c(const void *p, size_t len);

#endif
