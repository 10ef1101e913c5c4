/* SPDX-License-Identifier: MIT */
/*
 * VHDX (Hyper-V) images, after Microsoft's MS-VHDX specification: the
 * on-disk layout shared by the reader/writer (vhdx.c), "img create"
 * (vhdx_create.c) and "img check" (vhdx_check.c).
 */
#ifndef CVISOR_BLOCK_VHDX_INT_H
#define CVISOR_BLOCK_VHDX_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"

#define VHDX_MiB            (1ull << 20)
#define VHDX_HEADER1        (64 * 1024ull)  /* two headers, 4 KiB each */
#define VHDX_HEADER2        (128 * 1024ull)
#define VHDX_HEADER_LEN     4096u
#define VHDX_REGION1        (192 * 1024ull) /* two region tables, 64 KiB */
#define VHDX_REGION2        (256 * 1024ull)
#define VHDX_REGION_LEN     (64 * 1024u)
#define VHDX_META_TABLE_LEN (64 * 1024u)
#define VHDX_MAX_ENTRIES    2047u
#define VHDX_MAX_SIZE       (64ull << 40)   /* 64 TiB */
#define VHDX_MIN_BLOCK      VHDX_MiB
#define VHDX_MAX_BLOCK      (256 * VHDX_MiB)

/* header fields */
enum {
	VH_SIG = 0, VH_CSUM = 4, VH_SEQ = 8, VH_FILE_GUID = 16,
	VH_DATA_GUID = 32, VH_LOG_GUID = 48, VH_LOG_VERSION = 64,
	VH_VERSION = 66, VH_LOG_LEN = 68, VH_LOG_OFF = 72,
};

/* BAT entry states (the low 3 bits); the file offset in MiB above bit 20 */
#define VHDX_BAT_NOT_PRESENT  0u
#define VHDX_BAT_UNDEFINED    1u
#define VHDX_BAT_ZERO         2u
#define VHDX_BAT_UNMAPPED     3u
#define VHDX_BAT_FULLY        6u
#define VHDX_BAT_PARTIALLY    7u
#define VHDX_BAT_STATE(e)     ((unsigned)((e) & 7))
#define VHDX_BAT_OFF(e)       ((e) & ~0xfffffull)

/* metadata item flags */
#define VHDX_META_USER     1u
#define VHDX_META_VDISK    2u
#define VHDX_META_REQUIRED 4u

/* GUIDs as stored (the first three fields little-endian) */
extern const uint8_t vhdx_guid_bat[16], vhdx_guid_meta[16];
extern const uint8_t vhdx_guid_file_params[16], vhdx_guid_disk_size[16];
extern const uint8_t vhdx_guid_disk_id[16], vhdx_guid_logical_sector[16];
extern const uint8_t vhdx_guid_physical_sector[16];
extern const uint8_t vhdx_guid_parent_locator[16];

struct vhdx {
	int fd;
	pthread_mutex_t lock;
	uint8_t header[VHDX_HEADER_LEN]; /* the current one */
	uint64_t header_at;              /* where it is: 64 or 128 KiB */
	bool guids_updated;              /* new write GUIDs are on disk */
	uint64_t log_off, log_len;
	uint64_t bat_off, bat_len, meta_off, meta_len;
	uint32_t block_size, logical_sector, physical_sector;
	bool leave_allocated;
	uint8_t disk_id[16];
	uint64_t disk_size;
	uint64_t chunk_ratio;
	uint64_t data_blocks, bat_entries;
	uint64_t file_size;  /* bytes, as far as we know it */
	uint64_t blocks_end; /* past the last block in the file, whole */
	bool corrupt;        /* bad BAT entries: no writes */
	uint64_t *bat;       /* host byte order */
};

uint16_t vhdx_le16(const uint8_t *p);
uint32_t vhdx_le32(const uint8_t *p);
uint64_t vhdx_le64(const uint8_t *p);
void vhdx_put16(uint8_t *p, uint16_t v);
void vhdx_put32(uint8_t *p, uint32_t v);
void vhdx_put64(uint8_t *p, uint64_t v);
/* A random GUID. */
void vhdx_new_guid(uint8_t *g);
/* Sets the CRC-32C at p+4 of the len bytes at p (the field zero in it). */
void vhdx_set_csum(uint8_t *p, size_t len);
/*
 * h, the current header as the caller changed it, with the next sequence
 * number into the other slot, synced; then it is the current header.
 */
int vhdx_header_advance(struct vhdx *s, uint8_t *h);

/* Index in the BAT of data block blk's entry. */
static inline uint64_t vhdx_bat_index(const struct vhdx *s, uint64_t blk)
{
	return blk + blk / s->chunk_ratio;
}

/* Why entry idx (a payload block's) cannot be, or NULL. */
const char *vhdx_bad_entry(const struct vhdx *s, uint64_t blk);
/* Do [a, a+alen) and [b, b+blen) share a byte? */
bool vhdx_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/* Applies the log (the header names it) and clears the log GUID. */
int vhdx_replay_log(struct vhdx *s);
int vhdx_create(const char *path, uint64_t size, struct block_opts *o,
		char *err, size_t errlen);
int vhdx_check(struct block_dev *dev, int fix, struct block_check_result *r,
	       void (*report)(void *ctx, const char *msg), void *ctx);

#endif
