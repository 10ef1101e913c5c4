// SPDX-License-Identifier: MIT
/*
 * "img create -f vhdx": a dynamic image (every BAT entry NOT_PRESENT) or a
 * fixed one (every block FULLY_PRESENT, laid out in order, the file sparse
 * where nothing is written yet). Layout: file identifier, headers and
 * region tables in the first MiB, the log (empty, log GUID zero), the BAT,
 * the metadata region, then the payload blocks, each 1 MiB aligned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/vhdx_int.h"

/* "8M", "1048576", "1G": bytes, or -EINVAL. */
static int parse_bytes(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	if (!v || !*v || *v == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -EINVAL;
	switch (*end) {
	case 0: case 'b': case 'B': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (n > (~0ull >> shift))
		return -EINVAL;
	*out = (uint64_t)n << shift;
	return 0;
}

struct vhdx_layout {
	bool fixed;
	uint64_t size, block, log_len;
	uint64_t bat_off, bat_len, meta_off, data_off, entries, blocks, ratio;
};

static int take_opts(struct block_opts *o, struct vhdx_layout *l, char *err,
		     size_t errlen)
{
	const char *sub = block_opt_get(o, "subformat");
	const char *bs = block_opt_get(o, "block_size");
	const char *ls = block_opt_get(o, "log_size");

	l->block = 0;
	l->log_len = VHDX_MiB;
	if (sub && strcmp(sub, "dynamic") && strcmp(sub, "fixed")) {
		snprintf(err, errlen, "invalid subformat '%s' (dynamic or "
			 "fixed)", sub);
		return -EINVAL;
	}
	l->fixed = sub && !strcmp(sub, "fixed");
	if (bs && (parse_bytes(bs, &l->block) ||
		   (l->block && (l->block < VHDX_MIN_BLOCK ||
				 l->block > VHDX_MAX_BLOCK ||
				 (l->block & (l->block - 1)))))) {
		snprintf(err, errlen, "invalid block_size '%s' (a power of two "
			 "from 1M to 256M, or 0 for automatic)", bs);
		return -EINVAL;
	}
	if (ls && (parse_bytes(ls, &l->log_len) || l->log_len < VHDX_MiB ||
		   l->log_len % VHDX_MiB || l->log_len > (1ull << 32) - VHDX_MiB)) {
		snprintf(err, errlen, "invalid log_size '%s' (a multiple of 1M, "
			 "at least 1M)", ls);
		return -EINVAL;
	}
	return block_opts_done(o, "vhdx", err, errlen);
}

/* The layout of an image of l->size bytes, l->block 0 for automatic. */
static void plan(struct vhdx_layout *l)
{
	if (!l->block) /* as qemu-img picks it */
		l->block = l->size > (32ull << 40) ? 64 * VHDX_MiB :
			   l->size > (100ull << 30) ? 32 * VHDX_MiB :
			   l->size > (1ull << 30) ? 16 * VHDX_MiB : 8 * VHDX_MiB;
	l->ratio = ((1ull << 23) * 512) / l->block;
	l->blocks = (l->size + l->block - 1) / l->block;
	l->entries = l->blocks ? l->blocks + (l->blocks - 1) / l->ratio : 0;
	l->bat_off = VHDX_MiB + l->log_len;
	/*
	 * qemu-img counts 0xffffffff / ratio entries for an empty disk and
	 * will not open one whose BAT region is smaller: give it that room
	 * (sparse in the file).
	 */
	l->bat_len = ((l->blocks ? l->entries : 0xffffffffu / l->ratio) * 8 +
		      VHDX_MiB - 1) & ~(VHDX_MiB - 1);
	l->meta_off = l->bat_off + l->bat_len;
	l->data_off = l->meta_off + VHDX_MiB;
}

static int write_first_mib(int fd, const struct vhdx_layout *l)
{
	uint8_t *b = calloc(1, VHDX_MiB);
	uint8_t *h, *t;
	const char *creator = "cvisor";
	int ret;

	if (!b)
		return -ENOMEM;
	memcpy(b, "vhdxfile", 8);
	for (size_t i = 0; creator[i]; i++)
		b[8 + 2 * i] = (uint8_t)creator[i]; /* UTF-16LE */
	h = b + VHDX_HEADER1;
	memcpy(h, "head", 4);
	vhdx_put64(h + VH_SEQ, 1);
	vhdx_new_guid(h + VH_FILE_GUID);
	vhdx_new_guid(h + VH_DATA_GUID);
	vhdx_put16(h + VH_LOG_VERSION, 0);
	vhdx_put16(h + VH_VERSION, 1);
	vhdx_put32(h + VH_LOG_LEN, (uint32_t)l->log_len);
	vhdx_put64(h + VH_LOG_OFF, VHDX_MiB);
	memcpy(b + VHDX_HEADER2, h, VHDX_HEADER_LEN);
	vhdx_set_csum(h, VHDX_HEADER_LEN);
	vhdx_put64(b + VHDX_HEADER2 + VH_SEQ, 2);
	vhdx_set_csum(b + VHDX_HEADER2, VHDX_HEADER_LEN);

	t = b + VHDX_REGION1;
	memcpy(t, "regi", 4);
	vhdx_put32(t + 8, 2);
	memcpy(t + 16, vhdx_guid_bat, 16);
	vhdx_put64(t + 32, l->bat_off);
	vhdx_put32(t + 40, (uint32_t)l->bat_len);
	vhdx_put32(t + 44, 1); /* required */
	memcpy(t + 48, vhdx_guid_meta, 16);
	vhdx_put64(t + 64, l->meta_off);
	vhdx_put32(t + 72, VHDX_MiB);
	vhdx_put32(t + 76, 1);
	vhdx_set_csum(t, VHDX_REGION_LEN);
	memcpy(b + VHDX_REGION2, t, VHDX_REGION_LEN);
	ret = block_fd_pwrite(fd, b, VHDX_MiB, 0);
	free(b);
	return ret;
}

static int write_metadata(int fd, const struct vhdx_layout *l)
{
	static const struct {
		const uint8_t *guid;
		uint32_t len, flags;
	} items[5] = {
		{ vhdx_guid_file_params, 8, VHDX_META_REQUIRED },
		{ vhdx_guid_disk_size, 8, VHDX_META_VDISK | VHDX_META_REQUIRED },
		{ vhdx_guid_disk_id, 16, VHDX_META_VDISK | VHDX_META_REQUIRED },
		{ vhdx_guid_logical_sector, 4,
		  VHDX_META_VDISK | VHDX_META_REQUIRED },
		{ vhdx_guid_physical_sector, 4,
		  VHDX_META_VDISK | VHDX_META_REQUIRED },
	};
	uint8_t m[VHDX_META_TABLE_LEN + 64] = "metadata";
	uint32_t at = VHDX_META_TABLE_LEN;

	vhdx_put16(m + 10, 5);
	for (int i = 0; i < 5; i++) {
		uint8_t *e = m + 32 + 32 * i;

		memcpy(e, items[i].guid, 16);
		vhdx_put32(e + 16, at);
		vhdx_put32(e + 20, items[i].len);
		vhdx_put32(e + 24, items[i].flags);
		at += items[i].len;
	}
	at = VHDX_META_TABLE_LEN;
	vhdx_put32(m + at, (uint32_t)l->block);
	vhdx_put32(m + at + 4, l->fixed ? 1 : 0); /* leave blocks allocated */
	vhdx_put64(m + at + 8, l->size);
	vhdx_new_guid(m + at + 16);
	vhdx_put32(m + at + 32, 512);
	vhdx_put32(m + at + 36, 512);
	return block_fd_pwrite(fd, m, sizeof(m), l->meta_off);
}

/* A fixed image's BAT: every block in the file, in order. */
static int write_fixed_bat(int fd, const struct vhdx_layout *l)
{
	enum { CHUNK = 8192 };
	uint64_t *buf = malloc(CHUNK * 8);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < l->entries && !ret; i += CHUNK) {
		uint64_t n = l->entries - i < CHUNK ? l->entries - i : CHUNK;

		for (uint64_t k = 0; k < n; k++) {
			uint64_t idx = i + k, e = 0;

			if ((idx + 1) % (l->ratio + 1)) { /* a payload entry */
				uint64_t blk = idx - idx / (l->ratio + 1);

				e = (l->data_off + blk * l->block) |
				    VHDX_BAT_FULLY;
			}
			vhdx_put64((uint8_t *)&buf[k], e);
		}
		ret = block_fd_pwrite(fd, buf, n * 8, l->bat_off + i * 8);
	}
	free(buf);
	return ret;
}

int vhdx_create(const char *path, uint64_t size, struct block_opts *o,
		char *err, size_t errlen)
{
	struct vhdx_layout l;
	uint64_t end;
	int fd, ret;

	ret = take_opts(o, &l, err, errlen);
	if (ret)
		return ret;
	l.size = (size + 511) & ~511ull;
	if (l.size > VHDX_MAX_SIZE) {
		snprintf(err, errlen, "VHDX image size %llu is larger than the "
			 "64 TiB the format allows", (unsigned long long)size);
		return -EFBIG;
	}
	plan(&l);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "could not create '%s': %s", path,
			 strerror(errno));
		return ret;
	}
	end = l.data_off + (l.fixed ? l.size : 0);
	end = (end + VHDX_MiB - 1) & ~(VHDX_MiB - 1);
	ret = ftruncate(fd, (off_t)end) < 0 ? -errno : 0;
	if (!ret)
		ret = write_metadata(fd, &l);
	if (!ret && l.fixed)
		ret = write_fixed_bat(fd, &l);
	/* the headers last: until they are there, the file is no image */
	if (!ret)
		ret = write_first_mib(fd, &l);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret)
		snprintf(err, errlen, "writing '%s': %s", path, strerror(-ret));
	return ret;
}
