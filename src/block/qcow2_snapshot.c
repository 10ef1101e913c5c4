// SPDX-License-Identifier: MIT
/*
 * qcow2 internal snapshots. A snapshot is a copy of the L1 table; every
 * cluster reachable from it gains one reference, and writes to shared
 * clusters copy them first (qcow2_l2.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/qcow2_int.h"

#define SN_FIXED 40
#define SN_MAX_EXTRA 1024
#define SN_MAX_TABLE (64u << 20)

void qcow2_free_snapshots(struct qcow2 *s)
{
	for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
		free(s->snaps[i].extra);
	}
	free(s->snaps);
	s->snaps = NULL;
}

static int read_one(struct qcow2 *s, uint64_t *pos, struct qcow2_snapshot *sn,
		    char *err, size_t errlen)
{
	uint8_t h[SN_FIXED], ex[SN_MAX_EXTRA];
	uint16_t id_len, name_len;
	int ret = block_fd_pread(s->fd, h, SN_FIXED, *pos);

	if (ret)
		return ret;
	sn->l1_offset = get_be64(h);
	sn->l1_size = get_be32(h + 8);
	id_len = get_be16(h + 12);
	name_len = get_be16(h + 14);
	sn->date_sec = get_be32(h + 16);
	sn->date_nsec = get_be32(h + 20);
	sn->vm_clock_nsec = get_be64(h + 24);
	sn->vm_state_size = get_be32(h + 32);
	sn->extra_len = get_be32(h + 36);
	if (sn->extra_len > SN_MAX_EXTRA ||
	    (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
	    (sn->l1_offset & (s->cluster_size - 1)) ||
	    sn->l1_offset > QCOW2_OFFSET_MASK) {
		snprintf(err, errlen, "invalid snapshot table entry at 0x%llx",
			 (unsigned long long)*pos);
		return -EINVAL;
	}
	*pos += SN_FIXED;
	ret = block_fd_pread(s->fd, ex, sn->extra_len, *pos);
	if (ret)
		return ret;
	sn->disk_size = s->size;
	if (sn->extra_len >= 8)
		sn->vm_state_size = get_be64(ex);
	if (sn->extra_len >= 16)
		sn->disk_size = get_be64(ex + 8);
	sn->icount = sn->extra_len >= 24 ? get_be64(ex + 16) : UINT64_MAX;
	if (sn->extra_len > 16) {
		sn->extra = malloc(sn->extra_len - 16);
		if (!sn->extra)
			return -ENOMEM;
		memcpy(sn->extra, ex + 16, sn->extra_len - 16);
	}
	*pos += sn->extra_len;
	sn->id = calloc(1, id_len + 1u);
	sn->name = calloc(1, name_len + 1u);
	if (!sn->id || !sn->name)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, sn->id, id_len, *pos);
	if (!ret)
		ret = block_fd_pread(s->fd, sn->name, name_len, *pos + id_len);
	*pos = qcow2_align_up(*pos + id_len + name_len, 8);
	return ret;
}

int qcow2_read_snapshots(struct qcow2 *s, char *err, size_t errlen)
{
	uint64_t pos = s->snapshots_offset;
	int ret;

	if (!s->nb_snapshots)
		return 0;
	s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
	if (!s->snaps)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		ret = read_one(s, &pos, &s->snaps[i], err, errlen);
		if (ret)
			return ret;
		if (pos - s->snapshots_offset > SN_MAX_TABLE) {
			snprintf(err, errlen, "snapshot table is too large");
			return -EFBIG;
		}
	}
	s->snapshots_size = pos - s->snapshots_offset;
	return 0;
}

static size_t entry_size(const struct qcow2_snapshot *sn)
{
	uint32_t extra = sn->extra_len > 16 ? sn->extra_len : 16;

	return qcow2_align_up(SN_FIXED + extra + strlen(sn->id) +
			      strlen(sn->name), 8);
}

static size_t table_size(const struct qcow2_snapshot *sn, uint32_t n)
{
	size_t t = 0;

	for (uint32_t i = 0; i < n; i++)
		t += entry_size(&sn[i]);
	return t;
}

static void put_entry(uint8_t *p, const struct qcow2_snapshot *sn)
{
	uint32_t extra = sn->extra_len > 16 ? sn->extra_len : 16;
	size_t il = strlen(sn->id), nl = strlen(sn->name);

	memset(p, 0, entry_size(sn));
	put_be64(p, sn->l1_offset);
	put_be32(p + 8, sn->l1_size);
	put_be16(p + 12, (uint16_t)il);
	put_be16(p + 14, (uint16_t)nl);
	put_be32(p + 16, sn->date_sec);
	put_be32(p + 20, sn->date_nsec);
	put_be64(p + 24, sn->vm_clock_nsec);
	put_be32(p + 32, sn->vm_state_size > UINT32_MAX ? 0 :
						      (uint32_t)sn->vm_state_size);
	put_be32(p + 36, extra);
	put_be64(p + 40, sn->vm_state_size);
	put_be64(p + 48, sn->disk_size);
	if (extra > 16)
		memcpy(p + 56, sn->extra, extra - 16);
	memcpy(p + SN_FIXED + extra, sn->id, il);
	memcpy(p + SN_FIXED + extra + il, sn->name, nl);
}

/* Writes a new table for sn[0..n) and switches the header to it. */
static int write_table(struct qcow2 *s, struct qcow2_snapshot *sn, uint32_t n)
{
	uint64_t old_size = s->snapshots_size;
	size_t size = table_size(sn, n), p = 0;
	uint64_t old_off = s->snapshots_offset;
	uint8_t *buf, hdr[12];
	int64_t off = 0;
	int ret = 0;

	if (size > SN_MAX_TABLE)
		return -EFBIG;
	buf = calloc(1, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		put_entry(buf + p, &sn[i]);
		p += entry_size(&sn[i]);
	}
	if (size) {
		off = qcow2_alloc_clusters(s, qcow2_align_up(size, s->cluster_size) >>
						      s->cluster_bits);
		if (off < 0) {
			ret = (int)off;
			goto out;
		}
		ret = block_fd_pwrite(s->fd, buf, size, (uint64_t)off);
		if (ret)
			goto err_free;
	}
	put_be32(hdr, n);
	put_be64(hdr + 4, (uint64_t)off);
	ret = block_fd_pwrite(s->fd, hdr, 12, QCOW2_HDR_SNAPSHOTS);
	if (ret)
		goto err_free;
	if (old_size)
		qcow2_free_clusters(s, old_off,
				    qcow2_align_up(old_size, s->cluster_size));
	s->snapshots_offset = (uint64_t)off;
	s->snapshots_size = size;
	goto out;
err_free:
	if (size)
		qcow2_free_clusters(s, (uint64_t)off,
				    qcow2_align_up(size, s->cluster_size));
out:
	free(buf);
	return ret;
}

/*
 * Adds addend to the refcount of every cluster reachable from l1, stopping
 * after *steps updates (each L2 entry or table is one step); *steps returns
 * how many were done.
 */
static int l1_walk(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		   int64_t addend, uint64_t *steps)
{
	uint64_t off, len, e, l2off, n = 1ull << s->l2_bits, done = 0;
	uint8_t *l2;
	int ret = 0;

	for (uint32_t i = 0; i < l1_size && done < *steps; i++) {
		l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		if (l2off & (s->cluster_size - 1)) {
			ret = -EIO;
			goto out;
		}
		for (uint64_t j = 0; j < n && done < *steps; j++) {
			ret = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
			if (ret)
				goto out;
			e = get_be64(l2 + j * 8);
			switch (qcow2_entry_type(s, e)) {
			case QCOW2_NORMAL:
			case QCOW2_ZERO_ALLOC:
				ret = qcow2_update_refcount(s, e & QCOW2_OFFSET_MASK,
							    1, addend);
				break;
			case QCOW2_COMPRESSED:
				qcow2_compressed_range(s, e, &off, &len);
				ret = qcow2_update_refcount(s, off, len, addend);
				break;
			default:
				continue;
			}
			if (ret)
				goto out;
			done++;
		}
		if (done >= *steps)
			break;
		ret = qcow2_update_refcount(s, l2off, 1, addend);
		if (ret)
			goto out;
		done++;
	}
out:
	*steps = done;
	return ret;
}

/* Like l1_walk over everything, undoing its steps if one fails. */
int qcow2_l1_refcounts(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		       int64_t addend)
{
	uint64_t steps = UINT64_MAX;
	int ret = l1_walk(s, l1, l1_size, addend, &steps);

	if (ret)
		l1_walk(s, l1, l1_size, -addend, &steps);
	return ret;
}

/*
 * Sets each COPIED flag of the L2 table at l2off to "refcount is 1", or
 * clears them all when every cluster is about to be shared.
 */
static int fix_l2(struct qcow2 *s, uint64_t l2off, bool shared)
{
	uint64_t n = 1ull << s->l2_bits, e, want, rc;
	uint8_t *l2;
	int ret;

	for (uint64_t j = 0; j < n; j++) {
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
		if (ret)
			return ret;
		e = get_be64(l2 + j * 8);
		switch (qcow2_entry_type(s, e)) {
		case QCOW2_NORMAL:
		case QCOW2_ZERO_ALLOC:
			if (shared) {
				want = e & ~QCOW2_OFLAG_COPIED;
				break;
			}
			ret = qcow2_get_refcount(s, (e & QCOW2_OFFSET_MASK) >>
							    s->cluster_bits, &rc);
			if (ret)
				return ret;
			want = rc == 1 ? e | QCOW2_OFLAG_COPIED :
					 e & ~QCOW2_OFLAG_COPIED;
			break;
		case QCOW2_COMPRESSED:
			want = e & ~QCOW2_OFLAG_COPIED;
			break;
		default:
			want = e;
		}
		if (want == e)
			continue;
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, &l2);
		if (ret)
			return ret;
		put_be64(l2 + j * 8, want);
		ret = block_fd_pwrite(s->fd, l2 + j * 8, 8, l2off + j * 8);
		if (ret)
			return ret;
	}
	return 0;
}

/* fix_l2 over the active tables, L1 entries included. */
static int fix_copied(struct qcow2 *s, bool shared)
{
	uint64_t l2off, rc = 0, want;
	int ret;

	for (uint32_t i = 0; i < s->l1_size; i++) {
		l2off = s->l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		ret = shared ? 0 : qcow2_get_refcount(s, l2off >> s->cluster_bits,
						      &rc);
		if (ret)
			return ret;
		want = !shared && rc == 1 ? s->l1[i] | QCOW2_OFLAG_COPIED :
					    s->l1[i] & ~QCOW2_OFLAG_COPIED;
		if (want != s->l1[i]) {
			s->l1[i] = want;
			ret = qcow2_write_l1_entries(s, s->l1_offset, s->l1, i, 1);
			if (ret)
				return ret;
		}
		/* flags only: a shared L2 table may be edited in place */
		ret = fix_l2(s, l2off, shared);
		if (ret)
			return ret;
	}
	return 0;
}

/* Makes the COPIED flags of the active tables say "refcount is 1". */
int qcow2_fix_copied(struct qcow2 *s)
{
	return fix_copied(s, false);
}

/*
 * As qemu-img looks snapshots up: "apply" takes an ID before a name,
 * "delete" only a name. Names need not be unique; the first one wins.
 */
static int find(struct qcow2 *s, const char *name, bool by_id)
{
	for (uint32_t i = 0; by_id && i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].id, name))
			return (int)i;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].name, name))
			return (int)i;
	return -ENOENT;
}

static struct qcow2 *lock_rw(struct block_dev *dev)
{
	struct qcow2 *s = dev->opaque;

	pthread_mutex_lock(&s->lock);
	return s;
}

int qcow2_snapshot_list(struct block_dev *dev, struct qcow2_snapshot_info **out,
			unsigned *count)
{
	struct qcow2 *s = lock_rw(dev);
	struct qcow2_snapshot_info *l = calloc(s->nb_snapshots + 1, sizeof(*l));
	int ret = 0;

	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		l[i].id = strdup(s->snaps[i].id);
		l[i].name = strdup(s->snaps[i].name);
		l[i].vm_state_size = s->snaps[i].vm_state_size;
		l[i].date_sec = s->snaps[i].date_sec;
		l[i].date_nsec = s->snaps[i].date_nsec;
		l[i].vm_clock_nsec = s->snaps[i].vm_clock_nsec;
		l[i].disk_size = s->snaps[i].disk_size;
		l[i].icount = s->snaps[i].icount;
		if (!l[i].id || !l[i].name)
			ret = -ENOMEM;
	}
	*out = l;
	*count = s->nb_snapshots;
	if (ret) {
		qcow2_snapshot_list_free(l, s->nb_snapshots);
		*out = NULL;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void qcow2_snapshot_list_free(struct qcow2_snapshot_info *l, unsigned count)
{
	for (unsigned i = 0; l && i < count; i++) {
		free(l[i].id);
		free(l[i].name);
	}
	free(l);
}

static int copy_l1(struct qcow2 *s, uint64_t *off)
{
	uint64_t bytes = qcow2_align_up((uint64_t)s->l1_size * 8, s->cluster_size);
	uint64_t *l1 = malloc(bytes ? bytes : 8);
	int64_t o;
	int ret;

	*off = 0;
	if (!l1)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->l1_size; i++)
		l1[i] = s->l1[i] & ~QCOW2_OFLAG_COPIED;
	o = bytes ? qcow2_alloc_clusters(s, bytes >> s->cluster_bits) : 0;
	if (o < 0) {
		ret = (int)o;
		goto out;
	}
	ret = qcow2_write_l1_entries(s, (uint64_t)o, l1, 0, s->l1_size);
	if (ret && bytes)
		qcow2_free_clusters(s, (uint64_t)o, bytes);
	*off = (uint64_t)o;
out:
	free(l1);
	return ret;
}

int qcow2_snapshot_create(struct block_dev *dev, const char *name)
{
	struct qcow2 *s = lock_rw(dev);
	struct qcow2_snapshot *sn, *t;
	unsigned long max_id = 0;
	struct timespec now;
	char id[16];
	int ret;

	if (strlen(name) > UINT16_MAX || s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
		ret = -EINVAL;
		goto out;
	}
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		unsigned long v = strtoul(s->snaps[i].id, NULL, 10);

		if (v > max_id)
			max_id = v;
	}
	snprintf(id, sizeof(id), "%lu", max_id + 1);
	t = calloc(s->nb_snapshots + 1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	if (s->nb_snapshots)
		memcpy(t, s->snaps, s->nb_snapshots * sizeof(*t));
	sn = &t[s->nb_snapshots];
	clock_gettime(CLOCK_REALTIME, &now);
	sn->date_sec = (uint32_t)now.tv_sec;
	sn->date_nsec = (uint32_t)now.tv_nsec;
	sn->disk_size = s->size;
	sn->icount = UINT64_MAX;
	sn->l1_size = s->l1_size;
	sn->id = strdup(id);
	sn->name = strdup(name);
	/*
	 * The COPIED flags go before the refcounts rise, and both before the
	 * snapshot is published: a crash in between leaves a flag missing
	 * (writes copy, which is safe) or leaked references, never a flag
	 * on a cluster whose refcount is above 1.
	 */
	ret = (sn->id && sn->name) ? fix_copied(s, true) : -ENOMEM;
	if (!ret) {
		ret = qcow2_l1_refcounts(s, s->l1, s->l1_size, 1);
		if (ret)
			qcow2_fix_copied(s);
	}
	if (!ret)
		ret = copy_l1(s, &sn->l1_offset);
	if (!ret)
		ret = write_table(s, t, s->nb_snapshots + 1);
	if (ret) {
		free(sn->id);
		free(sn->name);
		free(t);
		goto out;
	}
	free(s->snaps);
	s->snaps = t;
	s->nb_snapshots++;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int read_l1(struct qcow2 *s, const struct qcow2_snapshot *sn,
		   uint64_t **out)
{
	uint64_t *l1 = calloc(sn->l1_size + 1, 8);
	uint8_t *raw = malloc((size_t)sn->l1_size * 8 + 8);
	int ret = -ENOMEM;

	if (l1 && raw)
		ret = block_fd_pread(s->fd, raw, (size_t)sn->l1_size * 8,
				     sn->l1_offset);
	for (uint32_t i = 0; !ret && i < sn->l1_size; i++)
		l1[i] = get_be64(raw + i * 8);
	free(raw);
	if (ret)
		free(l1);
	else
		*out = l1;
	return ret;
}

int qcow2_snapshot_apply(struct block_dev *dev, const char *name)
{
	struct qcow2 *s = lock_rw(dev);
	uint64_t *snl1 = NULL, *old = NULL;
	struct qcow2_snapshot *sn;
	uint8_t b[8];
	int i = find(s, name, true), ret = i;

	if (i < 0)
		goto out;
	sn = &s->snaps[i];
	ret = qcow2_grow_l1(s, sn->l1_size);
	if (!ret)
		ret = read_l1(s, sn, &snl1);
	if (ret)
		goto out;
	old = malloc((size_t)s->l1_size * 8 + 8);
	ret = old ? qcow2_l1_refcounts(s, snl1, sn->l1_size, 1) : -ENOMEM;
	if (ret)
		goto out;
	memcpy(old, s->l1, (size_t)s->l1_size * 8);
	for (uint32_t k = 0; k < s->l1_size; k++)
		s->l1[k] = k < sn->l1_size ? snl1[k] : 0;
	ret = qcow2_write_l1_entries(s, s->l1_offset, s->l1, 0, s->l1_size);
	if (ret) {
		memcpy(s->l1, old, (size_t)s->l1_size * 8);
		goto out;
	}
	ret = qcow2_l1_refcounts(s, old, s->l1_size, -1);
	if (!ret && sn->disk_size != s->size) {
		put_be64(b, sn->disk_size);
		ret = block_fd_pwrite(s->fd, b, 8, QCOW2_HDR_SIZE);
		if (!ret) {
			s->size = sn->disk_size;
			dev->length = s->size;
		}
	}
	if (!ret)
		ret = qcow2_fix_copied(s);
out:
	free(snl1);
	free(old);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_snapshot_delete(struct block_dev *dev, const char *name)
{
	struct qcow2 *s = lock_rw(dev);
	struct qcow2_snapshot gone, *t;
	uint64_t *l1 = NULL;
	int i = find(s, name, false), ret = i;

	if (i < 0)
		goto out;
	gone = s->snaps[i];
	ret = read_l1(s, &gone, &l1);
	if (ret)
		goto out;
	t = calloc(s->nb_snapshots, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(t, s->snaps, i * sizeof(*t));
	memcpy(t + i, s->snaps + i + 1, (s->nb_snapshots - i - 1) * sizeof(*t));
	ret = write_table(s, t, s->nb_snapshots - 1);
	if (ret) {
		free(t);
		goto out;
	}
	free(s->snaps);
	s->snaps = t;
	s->nb_snapshots--;
	ret = qcow2_l1_refcounts(s, l1, gone.l1_size, -1);
	if (!ret && gone.l1_size)
		qcow2_free_clusters(s, gone.l1_offset,
				    qcow2_align_up((uint64_t)gone.l1_size * 8,
						   s->cluster_size));
	free(gone.id);
	free(gone.name);
	free(gone.extra);
	if (!ret)
		ret = qcow2_fix_copied(s);
out:
	free(l1);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
