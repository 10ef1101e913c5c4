/* SPDX-License-Identifier: MIT */
/*
 * VHD (Virtual PC, Hyper-V; qemu-img's "vpc") on-disk layout, from
 * Microsoft's "Virtual Hard Disk Image Format Specification". All fields
 * are big-endian. A fixed image is the disk followed by a 512-byte footer;
 * a dynamic image is a copy of the footer, a 1 KiB dynamic header, the
 * block allocation table (BAT: one 32-bit sector number per block), the
 * blocks (a sector bitmap, then the data) and the footer.
 */
#ifndef CVISOR_BLOCK_VPC_H
#define CVISOR_BLOCK_VPC_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "block/block.h"
#include "vmm/bytes.h"

#define VHD_FOOTER_LEN  512u
#define VHD_DYN_LEN     1024u
#define VHD_FIXED       2u
#define VHD_DYNAMIC     3u
#define VHD_DIFF        4u
#define VHD_BAT_UNUSED  0xffffffffu
#define VHD_BLOCK       (2u << 20) /* the block size of new images */
/* the largest disk the spec allows: 2040 GiB */
#define VHD_MAX_SECTORS 0xff000000ull
#define VHD_CHS_MAX     (65535ull * 16 * 255)
#define VHD_NO_OFFSET   0xffffffffffffffffull

/* footer fields */
enum {
	F_COOKIE = 0,      /* "conectix" */
	F_FEATURES = 8,
	F_VERSION = 12,
	F_DATA_OFFSET = 16, /* the dynamic header; all ones when fixed */
	F_TIMESTAMP = 24,  /* seconds since 2000-01-01 00:00 UTC */
	F_CREATOR_APP = 28,
	F_CREATOR_VER = 32,
	F_CREATOR_OS = 36,
	F_ORIG_SIZE = 40,
	F_CUR_SIZE = 48,
	F_CYLS = 56,       /* 16 bits, then heads and sectors, 8 bits each */
	F_HEADS = 58,
	F_SECTORS = 59,
	F_TYPE = 60,
	F_CHECKSUM = 64,
	F_UUID = 68,
};

/* dynamic header fields */
enum {
	D_COOKIE = 0,      /* "cxsparse" */
	D_DATA_OFFSET = 8,
	D_TABLE_OFFSET = 16,
	D_VERSION = 24,
	D_MAX_ENTRIES = 28,
	D_BLOCK_SIZE = 32,
	D_CHECKSUM = 36,
};

/* The ones' complement of the byte sum, the checksum field counted as 0. */
static inline uint32_t vhd_checksum(const uint8_t *p, size_t len,
				    size_t field)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < field || i >= field + 4)
			sum += p[i];
	return ~sum;
}

/* "img create -f vpc" (vpc_create.c) */
int vpc_create(const char *path, uint64_t size, struct block_opts *o,
	       char *err, size_t errlen);

#endif
