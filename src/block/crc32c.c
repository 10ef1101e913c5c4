// SPDX-License-Identifier: MIT
/*
 * CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), table
 * driven, one byte at a time. A checksum, not cryptography: zlib has only
 * the IEEE CRC-32.
 */
#include <pthread.h>

#include "block/crc32c.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
}

uint32_t crc32c(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;

	pthread_once(&table_once, make_table);
	while (len--)
		c = table[(c ^ *b++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}
