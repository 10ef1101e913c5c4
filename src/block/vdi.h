/* SPDX-License-Identifier: MIT */
/*
 * VDI (VirtualBox) on-disk layout, header version 1.1: a 512-byte header
 * (a text line, then little-endian fields), the block map (one 32-bit
 * entry per 1 MiB disk block: its index in the data area, or unallocated
 * or discarded), the data area.
 */
#ifndef CVISOR_BLOCK_VDI_H
#define CVISOR_BLOCK_VDI_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "block/block.h"
#include "vmm/bytes.h"

#define VDI_SIGNATURE   0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_DYNAMIC     1u
#define VDI_STATIC      2u
#define VDI_BLOCK       (1u << 20)
#define VDI_UNALLOCATED 0xffffffffu
#define VDI_DISCARDED   0xfffffffeu
/* qemu-img's limit: the map stays under 128 MiB */
#define VDI_MAX_BLOCKS  0x1fffff8u
#define VDI_HEADER_LEN  512u
#define VDI_V11_LEN     0x180u /* header v1.1 without the LCHS geometry */

/* field offsets in the 512-byte header */
enum {
	H_SIGNATURE = 0x40,
	H_VERSION = 0x44,
	H_HEADER_SIZE = 0x48,
	H_TYPE = 0x4c,
	H_BMAP = 0x154,
	H_DATA = 0x158,
	H_SECTOR_SIZE = 0x168,
	H_DISK_SIZE = 0x170,
	H_BLOCK_SIZE = 0x178,
	H_BLOCK_EXTRA = 0x17c,
	H_BLOCKS = 0x180,
	H_ALLOCATED = 0x184,
	H_UUID_IMAGE = 0x188,
	H_UUID_SNAP = 0x198,
	H_UUID_LINK = 0x1a8,
	H_UUID_PARENT = 0x1b8,
};

/* "img create -f vdi" (vdi_create.c) */
int vdi_create(const char *path, uint64_t size, struct block_opts *o,
	       char *err, size_t errlen);

#endif
