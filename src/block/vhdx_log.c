// SPDX-License-Identifier: MIT
/*
 * VHDX log replay (MS-VHDX "log"). A header with a non-zero log GUID may
 * have metadata updates in its log not yet in place. Every 4 KiB of the
 * log is tried as an entry (signature, length, this log GUID, CRC-32C over
 * the whole entry); the valid one with the highest sequence number is the
 * head, and its tail field names the oldest entry still to apply. The
 * entries from the tail to the head, each one sequence number after the
 * last, are applied in order: data descriptors write 4 KiB sectors (the
 * descriptor's leading and trailing bytes around the data sector's 4084),
 * zero descriptors write zeroes. The log may only change the BAT and
 * metadata regions here; anything else is refused. Then the file is
 * synced and the other header slot gets the header with a zero log GUID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/crc32c.h"
#include "block/vhdx_int.h"

#define SECTOR 4096u
#define MAX_LOG (64 * VHDX_MiB)

/* entry header fields */
enum {
	LE_LEN = 8, LE_TAIL = 12, LE_SEQ = 16, LE_DESCS = 24, LE_GUID = 32,
	LE_LAST = 56, LE_HDR = 64,
};

/* The length of a valid entry at log offset at, or 0. */
static uint32_t entry_ok(const struct vhdx *s, uint8_t *log, uint64_t at)
{
	uint8_t *e = log + at;
	uint32_t len = vhdx_le32(e + LE_LEN), descs, sum;
	uint64_t seq, hdr_sectors, data = 0;
	bool ok;

	if (memcmp(e, "loge", 4) || !len || len % SECTOR ||
	    len > s->log_len - at)
		return 0;
	if (memcmp(e + LE_GUID, s->header + VH_LOG_GUID, 16))
		return 0;
	sum = vhdx_le32(e + 4);
	vhdx_put32(e + 4, 0);
	ok = crc32c(e, len) == sum;
	vhdx_put32(e + 4, sum);
	if (!ok)
		return 0;
	seq = vhdx_le64(e + LE_SEQ);
	descs = vhdx_le32(e + LE_DESCS);
	hdr_sectors = (LE_HDR + 32ull * descs + SECTOR - 1) / SECTOR;
	if (vhdx_le32(e + LE_TAIL) % SECTOR ||
	    vhdx_le32(e + LE_TAIL) >= s->log_len || hdr_sectors > len / SECTOR)
		return 0;
	for (uint32_t i = 0; i < descs; i++) {
		const uint8_t *d = e + LE_HDR + 32 * i;

		if (vhdx_le64(d + 24) != seq)
			return 0;
		if (!memcmp(d, "desc", 4)) {
			const uint8_t *ds = e + (hdr_sectors + data) * SECTOR;

			if (hdr_sectors + data >= len / SECTOR ||
			    memcmp(ds, "data", 4) ||
			    vhdx_le32(ds + 4) != (uint32_t)(seq >> 32) ||
			    vhdx_le32(ds + 4092) != (uint32_t)seq)
				return 0;
			data++;
		} else if (memcmp(d, "zero", 4)) {
			return 0;
		}
	}
	return len;
}

/* May the log write [off, off+len)? Only within the BAT or metadata. */
static bool target_ok(const struct vhdx *s, uint64_t off, uint64_t len)
{
	if (off % SECTOR || len % SECTOR)
		return false;
	return (off >= s->bat_off && len <= s->bat_len &&
		off - s->bat_off <= s->bat_len - len) ||
	       (off >= s->meta_off && len <= s->meta_len &&
		off - s->meta_off <= s->meta_len - len);
}

static int apply(struct vhdx *s, const uint8_t *e, bool write)
{
	static const uint8_t zero[SECTOR];
	uint32_t descs = vhdx_le32(e + LE_DESCS);
	uint64_t hdr_sectors = (LE_HDR + 32ull * descs + SECTOR - 1) / SECTOR;
	uint64_t data = 0;
	int ret;

	for (uint32_t i = 0; i < descs; i++) {
		const uint8_t *d = e + LE_HDR + 32 * i;
		uint64_t off = vhdx_le64(d + 16);

		if (!memcmp(d, "desc", 4)) {
			const uint8_t *ds = e + (hdr_sectors + data++) * SECTOR;
			uint8_t sec[SECTOR];

			if (!target_ok(s, off, SECTOR))
				return -EINVAL;
			memcpy(sec, d + 8, 8);           /* leading bytes */
			memcpy(sec + 8, ds + 8, 4084);
			memcpy(sec + 4092, d + 4, 4);    /* trailing bytes */
			ret = write ? block_fd_pwrite(s->fd, sec, SECTOR, off) : 0;
		} else {
			uint64_t n = vhdx_le64(d + 8);

			if (!target_ok(s, off, n))
				return -EINVAL;
			ret = 0;
			for (uint64_t k = 0; write && k < n && !ret; k += SECTOR)
				ret = block_fd_pwrite(s->fd, zero, SECTOR, off + k);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* The header with a zero log GUID into the other slot, synced. */
static int clear_log_guid(struct vhdx *s)
{
	uint8_t h[VHDX_HEADER_LEN];

	memcpy(h, s->header, sizeof(h));
	memset(h + VH_LOG_GUID, 0, 16);
	return vhdx_header_advance(s, h);
}

/* Walks tail to head; applies each entry when write. */
static int walk(struct vhdx *s, uint8_t *log, uint64_t head, bool write)
{
	uint64_t at = vhdx_le32(log + head + LE_TAIL);
	uint64_t seq = 0;
	int ret;

	for (uint64_t n = 0; n <= s->log_len / SECTOR; n++) {
		uint32_t len = entry_ok(s, log, at);
		uint64_t es = vhdx_le64(log + at + LE_SEQ);

		if (!len || (n && es != seq + 1))
			return -EINVAL;
		ret = apply(s, log + at, write);
		if (ret)
			return ret;
		if (at == head)
			return 0;
		seq = es;
		at = (at + len) % s->log_len;
	}
	return -EINVAL;
}

int vhdx_replay_log(struct vhdx *s)
{
	uint64_t head = 0, best = 0;
	bool found = false;
	uint8_t *log;
	int ret;

	if (!s->log_len || s->log_len > MAX_LOG)
		return -EINVAL;
	log = malloc(s->log_len);
	if (!log)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, log, s->log_len, s->log_off);
	if (ret)
		goto out;
	for (uint64_t at = 0; at < s->log_len; at += SECTOR) {
		uint64_t seq;

		if (!entry_ok(s, log, at))
			continue;
		seq = vhdx_le64(log + at + LE_SEQ);
		if (!found || seq > best) {
			best = seq;
			head = at;
			found = true;
		}
	}
	/* no entry at all: nothing to apply, only the GUID to clear */
	if (found) {
		ret = walk(s, log, head, false); /* all valid before a write */
		if (!ret)
			ret = walk(s, log, head, true);
		if (!ret && fdatasync(s->fd) < 0)
			ret = -errno;
	}
	if (!ret)
		ret = clear_log_guid(s);
out:
	free(log);
	return ret;
}
