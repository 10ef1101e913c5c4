// SPDX-License-Identifier: MIT
/*
 * VHDX (Hyper-V) images, after Microsoft's MS-VHDX specification: a file
 * identifier, two headers (the valid one with the higher sequence number
 * is current), two copies of a region table naming the BAT and metadata
 * regions, metadata items (block size, virtual disk size, sector sizes,
 * disk ID) and a BAT of 64-bit entries: one per payload block, with a
 * sector bitmap entry after every chunk_ratio of them. Headers and region
 * tables carry CRC-32C checksums.
 *
 * Dynamic and fixed images are read and written; differencing images (a
 * parent) are refused. A header whose log GUID is set may have a log to
 * replay before the file is consistent: a writable open replays it
 * (vhdx_log.c), a read-only one is refused rather than read stale.
 *
 * A write to a block not in the file puts the whole block at the end of
 * the file (1 MiB aligned): its data first, synced, then its BAT entry,
 * so a crash leaves at worst an unreferenced block after the last one,
 * never an entry pointing at unwritten data. Before the first write the
 * other header slot gets the current header with new file and data write
 * GUIDs and the next sequence number, as the specification asks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/crc32c.h"
#include "block/vhdx_int.h"

static struct vhdx *vhdx_of(struct block_dev *dev)
{
	return dev->opaque;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* A header at buf that is one: signature, checksum, version. */
static bool header_ok(uint8_t *h)
{
	uint32_t sum = vhdx_le32(h + VH_CSUM);
	bool ok;

	if (memcmp(h, "head", 4))
		return false;
	vhdx_put32(h + VH_CSUM, 0);
	ok = crc32c(h, VHDX_HEADER_LEN) == sum;
	vhdx_put32(h + VH_CSUM, sum);
	return ok && vhdx_le16(h + VH_VERSION) == 1 &&
	       vhdx_le16(h + VH_LOG_VERSION) == 0;
}

static int read_headers(struct vhdx *s, char *err, size_t errlen,
			const char *path)
{
	static const uint64_t at[2] = { VHDX_HEADER1, VHDX_HEADER2 };
	uint8_t h[2][VHDX_HEADER_LEN];
	int best = -1, ret;

	for (int i = 0; i < 2; i++) {
		ret = block_fd_pread(s->fd, h[i], VHDX_HEADER_LEN, at[i]);
		if (ret) {
			snprintf(err, errlen, "'%s': reading the VHDX header: %s",
				 path, strerror(-ret));
			return ret;
		}
		if (!header_ok(h[i]))
			continue;
		if (best < 0 || vhdx_le64(h[i] + VH_SEQ) >
					vhdx_le64(h[best] + VH_SEQ))
			best = i;
	}
	if (best < 0) {
		snprintf(err, errlen, "'%s': corrupt VHDX image: no valid header "
			 "(bad signature, checksum or version)", path);
		return -EINVAL;
	}
	memcpy(s->header, h[best], VHDX_HEADER_LEN);
	s->header_at = at[best];
	s->log_off = vhdx_le64(s->header + VH_LOG_OFF);
	s->log_len = vhdx_le32(s->header + VH_LOG_LEN);
	if (s->log_off % VHDX_MiB || s->log_len % VHDX_MiB ||
	    (s->log_len && s->log_off < VHDX_MiB) ||
	    s->log_off > s->file_size || s->log_len > s->file_size - s->log_off) {
		snprintf(err, errlen, "'%s': corrupt VHDX header: invalid log "
			 "offset or length", path);
		return -EINVAL;
	}
	return 0;
}

/* Takes the BAT and metadata regions from a region table that checks. */
static const char *parse_regions(struct vhdx *s, uint8_t *t)
{
	uint32_t sum = vhdx_le32(t + 4), n = vhdx_le32(t + 8);
	bool ok;

	if (memcmp(t, "regi", 4))
		return "bad signature";
	vhdx_put32(t + 4, 0);
	ok = crc32c(t, VHDX_REGION_LEN) == sum;
	vhdx_put32(t + 4, sum);
	if (!ok)
		return "bad checksum";
	if (n > VHDX_MAX_ENTRIES)
		return "too many entries";
	s->bat_len = s->meta_len = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = t + 16 + 32 * i;
		uint64_t off = vhdx_le64(e + 16), len = vhdx_le32(e + 24);
		bool required = vhdx_le32(e + 28) & 1;

		if (!memcmp(e, vhdx_guid_bat, 16) ||
		    !memcmp(e, vhdx_guid_meta, 16)) {
			bool bat = !memcmp(e, vhdx_guid_bat, 16);

			if (bat ? s->bat_len : s->meta_len)
				return "a region twice";
			if (off % VHDX_MiB || off < VHDX_MiB || !len ||
			    len % VHDX_MiB || off > s->file_size ||
			    len > s->file_size - off)
				return "region offset or length (outside the "
				       "file or not 1 MiB aligned)";
			if (bat) {
				s->bat_off = off;
				s->bat_len = len;
			} else {
				s->meta_off = off;
				s->meta_len = len;
			}
		} else if (required) {
			return "an unknown required region";
		}
	}
	if (!s->bat_len || !s->meta_len)
		return "no BAT or metadata region";
	if (vhdx_overlap(s->bat_off, s->bat_len, s->meta_off, s->meta_len) ||
	    vhdx_overlap(s->bat_off, s->bat_len, s->log_off, s->log_len) ||
	    vhdx_overlap(s->meta_off, s->meta_len, s->log_off, s->log_len))
		return "regions overlapping each other or the log";
	return NULL;
}

static int read_regions(struct vhdx *s, char *err, size_t errlen,
			const char *path)
{
	static const uint64_t at[2] = { VHDX_REGION1, VHDX_REGION2 };
	uint8_t *t = malloc(VHDX_REGION_LEN);
	const char *bad = NULL;
	int ret = 0;

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		ret = block_fd_pread(s->fd, t, VHDX_REGION_LEN, at[i]);
		if (ret)
			break;
		bad = parse_regions(s, t);
		if (!bad)
			break;
	}
	free(t);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VHDX region table: %s",
			 path, strerror(-ret));
		return ret;
	}
	if (bad) {
		snprintf(err, errlen, "'%s': corrupt VHDX region table: %s",
			 path, bad);
		return -EINVAL;
	}
	return 0;
}

/* Item bytes: a pointer into the region copy, or NULL if absent. */
static const char *find_items(struct vhdx *s, const uint8_t *m,
			      const uint8_t *item[6], uint32_t len[6])
{
	const uint8_t *const guids[6] = {
		vhdx_guid_file_params, vhdx_guid_disk_size,
		vhdx_guid_disk_id, vhdx_guid_logical_sector,
		vhdx_guid_physical_sector, vhdx_guid_parent_locator,
	};
	static const uint32_t want[5] = { 8, 8, 16, 4, 4 };
	uint16_t n = vhdx_le16(m + 10);

	if (memcmp(m, "metadata", 8))
		return "bad signature";
	if (n > VHDX_MAX_ENTRIES)
		return "too many entries";
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = m + 32 + 32 * i;
		uint64_t off = vhdx_le32(e + 16), l = vhdx_le32(e + 20);
		uint32_t flags = vhdx_le32(e + 24);
		int k;

		for (k = 0; k < 6; k++)
			if (!memcmp(e, guids[k], 16))
				break;
		if (k == 6) {
			if (flags & VHDX_META_REQUIRED)
				return "an unknown required item";
			continue;
		}
		if (item[k])
			return "an item twice";
		if (l && (off < VHDX_META_TABLE_LEN || off > s->meta_len ||
			  l > s->meta_len - off))
			return "an item outside its region";
		if (k < 5 && l != want[k])
			return "an item of the wrong length";
		item[k] = l ? m + off : m;
		len[k] = (uint32_t)l;
	}
	for (int k = 0; k < 5; k++)
		if (!item[k])
			return "a required item missing";
	return NULL;
}

static int read_metadata(struct vhdx *s, char *err, size_t errlen,
			 const char *path)
{
	const uint8_t *item[6] = { NULL };
	uint32_t len[6] = { 0 }, flags;
	const char *bad;
	uint8_t *m;
	int ret;

	/* a metadata region is small: the items live in its first MiBs */
	if (s->meta_len > 64 * VHDX_MiB) {
		snprintf(err, errlen, "'%s': corrupt VHDX image: metadata region "
			 "too large", path);
		return -EINVAL;
	}
	m = malloc(s->meta_len);
	if (!m)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, m, s->meta_len, s->meta_off);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VHDX metadata: %s", path,
			 strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	bad = find_items(s, m, item, len);
	if (bad) {
		snprintf(err, errlen, "'%s': corrupt VHDX metadata: %s", path,
			 bad);
		goto out;
	}
	s->block_size = vhdx_le32(item[0]);
	flags = vhdx_le32(item[0] + 4);
	s->leave_allocated = flags & 1;
	s->disk_size = vhdx_le64(item[1]);
	memcpy(s->disk_id, item[2], 16);
	s->logical_sector = vhdx_le32(item[3]);
	s->physical_sector = vhdx_le32(item[4]);
	if ((flags & 2) || item[5]) {
		ret = -ENOTSUP;
		snprintf(err, errlen, "'%s': differencing VHDX images (with a "
			 "parent) are not supported", path);
		goto out;
	}
	bad = NULL;
	if (s->block_size < VHDX_MIN_BLOCK || s->block_size > VHDX_MAX_BLOCK ||
	    (s->block_size & (s->block_size - 1)))
		bad = "block size";
	else if (s->logical_sector != 512 && s->logical_sector != 4096)
		bad = "logical sector size";
	else if (s->physical_sector != 512 && s->physical_sector != 4096)
		bad = "physical sector size";
	else if (s->disk_size > VHDX_MAX_SIZE ||
		 s->disk_size % s->logical_sector)
		bad = "virtual disk size";
	if (bad) {
		snprintf(err, errlen, "'%s': corrupt VHDX metadata: invalid %s",
			 path, bad);
		goto out;
	}
	ret = 0;
out:
	free(m);
	return ret;
}

bool vhdx_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

const char *vhdx_bad_entry(const struct vhdx *s, uint64_t blk)
{
	uint64_t e = s->bat[vhdx_bat_index(s, blk)];
	uint64_t off = VHDX_BAT_OFF(e), used = s->block_size;

	switch (VHDX_BAT_STATE(e)) {
	case VHDX_BAT_NOT_PRESENT:
	case VHDX_BAT_UNDEFINED:
	case VHDX_BAT_ZERO:
	case VHDX_BAT_UNMAPPED:
		return NULL;
	case VHDX_BAT_FULLY:
		break;
	case VHDX_BAT_PARTIALLY:
		return "partially present block in an image without a parent";
	default:
		return "invalid block state";
	}
	/* the last block may end past the file where the disk ends first */
	if (s->disk_size - blk * s->block_size < used)
		used = s->disk_size - blk * s->block_size;
	if (off < VHDX_MiB || off > s->file_size || used > s->file_size - off)
		return "block past the end of the file";
	if (vhdx_overlap(off, s->block_size, s->bat_off, s->bat_len) ||
	    vhdx_overlap(off, s->block_size, s->meta_off, s->meta_len) ||
	    vhdx_overlap(off, s->block_size, s->log_off, s->log_len))
		return "block overlapping metadata or the log";
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Marks the image corrupt for entries that cannot be, or blocks sharing. */
static int scan_bat(struct vhdx *s)
{
	uint64_t *offs = malloc((s->data_blocks ? s->data_blocks : 1) * 8);
	uint64_t n = 0;

	if (!offs)
		return -ENOMEM;
	for (uint64_t b = 0; b < s->data_blocks; b++) {
		uint64_t e = s->bat[vhdx_bat_index(s, b)];

		if (vhdx_bad_entry(s, b))
			s->corrupt = true;
		else if (VHDX_BAT_STATE(e) == VHDX_BAT_FULLY)
			offs[n++] = VHDX_BAT_OFF(e);
		if (VHDX_BAT_STATE(e) == VHDX_BAT_FULLY &&
		    VHDX_BAT_OFF(e) + s->block_size > s->blocks_end)
			s->blocks_end = VHDX_BAT_OFF(e) + s->block_size;
	}
	qsort(offs, n, 8, cmp_u64);
	for (uint64_t i = 1; i < n; i++)
		if (offs[i] - offs[i - 1] < s->block_size)
			s->corrupt = true;
	free(offs);
	return 0;
}

static int read_bat(struct vhdx *s, char *err, size_t errlen, const char *path)
{
	uint64_t bytes;
	int ret;

	s->chunk_ratio = ((1ull << 23) * s->logical_sector) / s->block_size;
	s->data_blocks = (s->disk_size + s->block_size - 1) / s->block_size;
	s->bat_entries = s->data_blocks ?
		s->data_blocks + (s->data_blocks - 1) / s->chunk_ratio : 0;
	bytes = s->bat_entries * 8;
	if (bytes > s->bat_len) {
		snprintf(err, errlen, "'%s': corrupt VHDX image: the BAT region "
			 "is too small for the disk size", path);
		return -EINVAL;
	}
	s->bat = malloc(bytes ? bytes : 1);
	if (!s->bat)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, s->bat, bytes, s->bat_off);
	if (ret) {
		snprintf(err, errlen, "'%s': reading the VHDX BAT: %s", path,
			 strerror(-ret));
		return ret;
	}
	for (uint64_t i = 0; i < s->bat_entries; i++)
		s->bat[i] = vhdx_le64((uint8_t *)&s->bat[i]);
	return scan_bat(s);
}

/* A log to apply before anything else is read: only on a writable open. */
static int replay(struct vhdx *s, struct block_dev *dev, char *err,
		  size_t errlen)
{
	int ret;

	if (dev->flags & BLOCK_RDONLY) {
		snprintf(err, errlen, "'%s': the VHDX log needs replay: open the "
			 "image read-write once (e.g. 'cvisor img check -r all')",
			 dev->path);
		return -EPERM;
	}
	ret = vhdx_replay_log(s);
	if (ret)
		snprintf(err, errlen, "'%s': the VHDX log cannot be replayed "
			 "(corrupt, or writing outside the BAT and metadata): %s",
			 dev->path, strerror(-ret));
	return ret;
}

static int vhdx_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	uint8_t id[8];
	struct vhdx *s;
	struct stat st;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(errno));
		goto err;
	}
	s->file_size = (uint64_t)st.st_size;
	ret = block_fd_pread(fd, id, sizeof(id), 0);
	if (ret) {
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(-ret));
		goto err;
	}
	if (memcmp(id, "vhdxfile", 8) || s->file_size < VHDX_MiB) {
		ret = -EINVAL;
		snprintf(err, errlen, "'%s' is not a VHDX image (no file "
			 "identifier, or shorter than its headers)", dev->path);
		goto err;
	}
	ret = read_headers(s, err, errlen, dev->path);
	if (!ret)
		ret = read_regions(s, err, errlen, dev->path);
	if (!ret && !is_zero(s->header + VH_LOG_GUID, 16))
		ret = replay(s, dev, err, errlen);
	if (!ret)
		ret = read_metadata(s, err, errlen, dev->path);
	if (!ret)
		ret = read_bat(s, err, errlen, dev->path);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "'%s': out of memory", dev->path);
		goto err;
	}
	if (s->corrupt && !(dev->flags & (BLOCK_RDONLY | BLOCK_REPAIR))) {
		ret = -EUCLEAN;
		snprintf(err, errlen, "'%s': the VHDX BAT is corrupt; see "
			 "'cvisor img check' or open it read-only", dev->path);
		goto err;
	}
	pthread_mutex_init(&s->lock, NULL);
	dev->length = s->disk_size;
	dev->opaque = s;
	return 0;
err:
	free(s->bat);
	free(s);
	close(fd);
	return ret;
}

static int vhdx_close(struct block_dev *dev)
{
	struct vhdx *s = vhdx_of(dev);
	int ret = close(s->fd) < 0 ? -errno : 0;

	pthread_mutex_destroy(&s->lock);
	free(s->bat);
	free(s);
	return ret;
}

/* 1 and *host if block blk is in the file, 0 if it reads as zeroes. */
static int vhdx_lookup(struct vhdx *s, uint64_t blk, uint64_t *host)
{
	uint64_t e = s->bat[vhdx_bat_index(s, blk)];

	if (vhdx_bad_entry(s, blk))
		return -EIO; /* a corrupt BAT opened read-only */
	if (VHDX_BAT_STATE(e) != VHDX_BAT_FULLY)
		return 0;
	*host = VHDX_BAT_OFF(e);
	return 1;
}

static int locked_lookup(struct vhdx *s, uint64_t blk, uint64_t *host)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = vhdx_lookup(s, blk, host);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Bytes of [off, off+len) within off's block. */
static size_t in_block(const struct vhdx *s, uint64_t off, size_t len)
{
	uint64_t left = s->block_size - off % s->block_size;

	return len < left ? len : (size_t)left;
}

static int vhdx_pread(struct block_dev *dev, void *buf, size_t len,
		      uint64_t off)
{
	struct vhdx *s = vhdx_of(dev);
	uint8_t *p = buf;

	while (len) {
		size_t n = in_block(s, off, len);
		uint64_t host = 0;
		int ret = locked_lookup(s, off / s->block_size, &host);

		if (ret < 0)
			return ret;
		if (ret)
			ret = block_fd_pread(s->fd, p, n,
					     host + off % s->block_size);
		else
			memset(p, 0, n);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vhdx_header_advance(struct vhdx *s, uint8_t *h)
{
	uint64_t at = s->header_at == VHDX_HEADER1 ? VHDX_HEADER2 : VHDX_HEADER1;
	int ret;

	vhdx_put64(h + VH_SEQ, vhdx_le64(h + VH_SEQ) + 1);
	vhdx_set_csum(h, VHDX_HEADER_LEN);
	ret = block_fd_pwrite(s->fd, h, VHDX_HEADER_LEN, at);
	if (!ret && fdatasync(s->fd) < 0)
		ret = -errno;
	if (ret)
		return ret;
	memcpy(s->header, h, VHDX_HEADER_LEN);
	s->header_at = at;
	return 0;
}

/*
 * Before the first change: the current header, with new file and data
 * write GUIDs and the next sequence number, into the other slot. Called
 * with the lock held.
 */
static int update_guids(struct vhdx *s)
{
	uint8_t h[VHDX_HEADER_LEN];
	int ret;

	if (s->guids_updated)
		return 0;
	memcpy(h, s->header, sizeof(h));
	vhdx_new_guid(h + VH_FILE_GUID);
	vhdx_new_guid(h + VH_DATA_GUID);
	ret = vhdx_header_advance(s, h);
	if (!ret)
		s->guids_updated = true;
	return ret;
}

/*
 * Maps block blk to a new block at the end of the file holding p[0..n) at
 * in-block offset at and zeroes elsewhere: the data, synced, then the BAT
 * entry. Called with the lock held.
 */
static int vhdx_alloc(struct vhdx *s, uint64_t blk, const uint8_t *p,
		      size_t n, uint64_t at)
{
	uint64_t end = s->file_size > s->blocks_end ? s->file_size : s->blocks_end;
	uint64_t host = (end + VHDX_MiB - 1) & ~(VHDX_MiB - 1);
	uint64_t idx = vhdx_bat_index(s, blk), e;
	uint8_t le[8];
	int ret;

	if (host > VHDX_BAT_OFF(~0ull) - s->block_size)
		return -EFBIG;
	ret = block_fd_pwrite(s->fd, p, n, host + at);
	if (!ret && ftruncate(s->fd, (off_t)(host + s->block_size)) < 0)
		ret = -errno;
	if (!ret && fdatasync(s->fd) < 0)
		ret = -errno;
	if (ret)
		return ret;
	s->file_size = s->blocks_end = host + s->block_size;
	e = host | VHDX_BAT_FULLY;
	vhdx_put64(le, e);
	ret = block_fd_pwrite(s->fd, le, 8, s->bat_off + idx * 8);
	if (ret)
		return ret;
	s->bat[idx] = e;
	return 0;
}

static int vhdx_pwrite(struct block_dev *dev, const void *buf, size_t len,
		       uint64_t off)
{
	struct vhdx *s = vhdx_of(dev);
	const uint8_t *p = buf;

	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(s, off, len);
		uint64_t blk = off / s->block_size, host = 0;
		int ret;

		pthread_mutex_lock(&s->lock);
		ret = update_guids(s);
		if (!ret)
			ret = vhdx_lookup(s, blk, &host);
		if (!ret)
			ret = vhdx_alloc(s, blk, p, n, off % s->block_size);
		else if (ret > 0)
			ret = 2;
		pthread_mutex_unlock(&s->lock);
		if (ret == 2)
			ret = block_fd_pwrite(s->fd, p, n,
					      host + off % s->block_size);
		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Blocks not in the file already read as zeroes; others get them written. */
static int vhdx_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536];
	struct vhdx *s = vhdx_of(dev);

	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = in_block(s, off, len > s->block_size ?
						    s->block_size : (size_t)len);
		uint64_t host = 0;
		int ret = locked_lookup(s, off / s->block_size, &host);

		if (ret < 0)
			return ret;
		host += off % s->block_size;
		for (size_t i = 0; ret > 0 && i < n; i += sizeof(zero)) {
			size_t m = n - i < sizeof(zero) ? n - i : sizeof(zero);
			int w;

			pthread_mutex_lock(&s->lock);
			w = update_guids(s);
			pthread_mutex_unlock(&s->lock);
			if (!w)
				w = block_fd_pwrite(s->fd, zero, m, host + i);
			if (w)
				return w;
		}
		off += n;
		len -= n;
	}
	return 0;
}

static int vhdx_flush(struct block_dev *dev)
{
	return fdatasync(vhdx_of(dev)->fd) < 0 ? -errno : 0;
}

static int vhdx_lookup_cb(void *opaque, uint64_t blk, uint64_t *host)
{
	return vhdx_lookup(opaque, blk, host);
}

static int vhdx_block_status(struct block_dev *dev, uint64_t off, uint64_t len,
			     uint64_t *pnum, uint64_t *host_off)
{
	struct vhdx *s = vhdx_of(dev);
	int mapped;

	pthread_mutex_lock(&s->lock);
	mapped = block_map_run(vhdx_lookup_cb, s, s->block_size, off, len, pnum,
			       host_off);
	pthread_mutex_unlock(&s->lock);
	if (mapped < 0)
		return mapped;
	if (!mapped)
		return BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED; /* no parent */
	return block_fd_data_status(s->fd, *host_off, pnum);
}

static uint64_t vhdx_allocated_size(struct block_dev *dev)
{
	return block_fd_allocated(vhdx_of(dev)->fd);
}

static uint64_t vhdx_cluster_size(struct block_dev *dev)
{
	return vhdx_of(dev)->block_size;
}

static int vhdx_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && !memcmp(buf, "vhdxfile", 8);
}

const struct block_driver block_vhdx_driver = {
	.name = "vhdx",
	.open = vhdx_open,
	.close = vhdx_close,
	.pread = vhdx_pread,
	.pwrite = vhdx_pwrite,
	.flush = vhdx_flush,
	.write_zeroes = vhdx_write_zeroes,
	.block_status = vhdx_block_status,
	.allocated_size = vhdx_allocated_size,
	.probe = vhdx_probe,
	.create = vhdx_create,
	.create_help =
		"  block_size=<size>      - Block Size; min 1MB, max 256MB. 0 "
		"means auto-calculate based on image size.\n"
		"  log_size=<size>        - Log size; min 1MB.\n"
		"  subformat=<str>        - VHDX format type, can be either "
		"'dynamic' or 'fixed'. Default is 'dynamic'.\n",
	.cluster_size = vhdx_cluster_size,
	.check = vhdx_check,
};
