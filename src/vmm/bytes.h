/* SPDX-License-Identifier: MIT */
/*
 * Little- and big-endian integers at any byte address: image headers and
 * tables (qcow2, VMDK, VHD, VDI, LUKS), the boot protocol's setup header,
 * the state stream, the x87 environment image in guest memory.
 */
#ifndef CVISOR_VMM_BYTES_H
#define CVISOR_VMM_BYTES_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define BYTES_ACCESSORS(bits)						\
static inline uint##bits##_t get_le##bits(const void *p)		\
{									\
	uint##bits##_t v;						\
									\
	memcpy(&v, p, sizeof(v));					\
	return le##bits##toh(v);					\
}									\
static inline uint##bits##_t get_be##bits(const void *p)		\
{									\
	uint##bits##_t v;						\
									\
	memcpy(&v, p, sizeof(v));					\
	return be##bits##toh(v);					\
}									\
static inline void put_le##bits(void *p, uint##bits##_t v)		\
{									\
	v = htole##bits(v);						\
	memcpy(p, &v, sizeof(v));					\
}									\
static inline void put_be##bits(void *p, uint##bits##_t v)		\
{									\
	v = htobe##bits(v);						\
	memcpy(p, &v, sizeof(v));					\
}

BYTES_ACCESSORS(16)
BYTES_ACCESSORS(32)
BYTES_ACCESSORS(64)

#undef BYTES_ACCESSORS

#endif
