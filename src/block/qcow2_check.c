// SPDX-License-Identifier: MIT
/*
 * qcow2 consistency check: count every reference to every host cluster
 * (header, tables, data of the active image and of each snapshot), compare
 * with the stored refcounts and, if asked, make the stored ones agree.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/qcow2_int.h"

struct walk {
	struct qcow2 *s;
	struct block_check_result *r;
	int fix;
	uint32_t *ref;
	uint64_t nclusters;
	void (*report)(void *ctx, const char *msg);
	void *ctx;
};

static void say(struct walk *w, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!w->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->report(w->ctx, msg);
}

static void inc(struct walk *w, uint64_t off, uint64_t len)
{
	uint64_t first, last;

	if (!len)
		return;
	first = off >> w->s->cluster_bits;
	last = (off + len - 1) >> w->s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= w->nclusters) {
			say(w, "ERROR: cluster %llu is referenced but lies "
			    "beyond the end of the image file",
			    (unsigned long long)c);
			w->r->corruptions++;
			return;
		}
		if (w->ref[c] != UINT32_MAX)
			w->ref[c]++;
	}
}

static bool aligned(struct walk *w, uint64_t off, const char *what)
{
	if (!(off & (w->s->cluster_size - 1)))
		return true;
	say(w, "ERROR: %s offset 0x%llx is not cluster aligned", what,
	    (unsigned long long)off);
	w->r->corruptions++;
	return false;
}

/*
 * An L2 entry pointing into the middle of a cluster: repairing makes it a
 * zero cluster (qemu-img cannot repair this).
 */
static int zero_entry(struct walk *w, uint64_t l2off, uint64_t j)
{
	struct qcow2 *s = w->s;
	uint8_t b[8];
	int ret;

	put_be64(b, s->version >= 3 ? QCOW2_OFLAG_ZERO : 0);
	ret = block_fd_pwrite(s->fd, b, 8, l2off + j * 8);
	qcow2_cache_drop(&s->l2_cache, l2off);
	if (!ret)
		w->r->corruptions_fixed++;
	return ret;
}

/*
 * Fragmentation counts as qemu-img counts it: within one L2 table, a
 * cluster not right after the previous one; compressed ones always.
 */
static int walk_l2(struct walk *w, uint64_t l2off, uint8_t *l2, bool active)
{
	struct qcow2 *s = w->s;
	uint64_t n = 1ull << s->l2_bits, off, len, prev = 0;
	int ret = block_fd_pread(s->fd, l2, s->cluster_size, l2off);

	if (ret)
		return ret;
	for (uint64_t j = 0; j < n; j++) {
		uint64_t e = get_be64(l2 + j * 8);

		switch (qcow2_entry_type(s, e)) {
		case QCOW2_COMPRESSED:
			qcow2_compressed_range(s, e, &off, &len);
			inc(w, off, len);
			if (active) {
				w->r->allocated_clusters++;
				w->r->compressed_clusters++;
				w->r->fragmented_clusters++;
			}
			break;
		case QCOW2_NORMAL:
		case QCOW2_ZERO_ALLOC:
			off = e & QCOW2_OFFSET_MASK;
			if (!aligned(w, off, "data cluster") &&
			    (w->fix & BLOCK_FIX_ERRORS)) {
				ret = zero_entry(w, l2off, j);
				if (ret)
					return ret;
				break;
			}
			/* unaligned, it still counts as qemu-img counts it */
			inc(w, off, s->cluster_size);
			if (!active)
				break;
			w->r->allocated_clusters++;
			if (prev && off != prev + s->cluster_size)
				w->r->fragmented_clusters++;
			prev = off;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int walk_l1(struct walk *w, uint64_t l1off, uint32_t l1_size,
		   bool active)
{
	struct qcow2 *s = w->s;
	uint8_t *l1 = malloc((size_t)l1_size * 8 + 8);
	uint8_t *l2 = malloc(s->cluster_size);
	int ret = -ENOMEM;

	if (!l1 || !l2)
		goto out;
	ret = 0;
	if (!aligned(w, l1off, "L1 table"))
		goto out;
	inc(w, l1off, (uint64_t)l1_size * 8);
	ret = block_fd_pread(s->fd, l1, (size_t)l1_size * 8, l1off);
	for (uint32_t i = 0; !ret && i < l1_size; i++) {
		uint64_t l2off = get_be64(l1 + i * 8) & QCOW2_OFFSET_MASK;

		if (!l2off || !aligned(w, l2off, "L2 table"))
			continue;
		inc(w, l2off, s->cluster_size);
		if ((l2off >> s->cluster_bits) >= w->nclusters)
			continue;
		ret = walk_l2(w, l2off, l2, active);
	}
out:
	free(l1);
	free(l2);
	return ret;
}

static int count_refs(struct walk *w)
{
	struct qcow2 *s = w->s;
	int ret;

	inc(w, 0, s->cluster_size);
	if (s->crypt_len)
		inc(w, s->crypt_off, s->crypt_len);
	ret = walk_l1(w, s->l1_offset, s->l1_size, true);
	for (uint32_t i = 0; !ret && i < s->nb_snapshots; i++)
		ret = walk_l1(w, s->snaps[i].l1_offset, s->snaps[i].l1_size,
			      false);
	if (ret)
		return ret;
	if (s->nb_snapshots && aligned(w, s->snapshots_offset, "snapshot table"))
		inc(w, s->snapshots_offset, s->snapshots_size);
	inc(w, s->reftable_offset,
	    (uint64_t)s->reftable_clusters << s->cluster_bits);
	for (uint64_t i = 0; i < s->reftable_entries; i++) {
		uint64_t rb = s->reftable[i] & QCOW2_OFFSET_MASK;

		if (rb && aligned(w, rb, "refcount block"))
			inc(w, rb, s->cluster_size);
	}
	return 0;
}

static int compare(struct walk *w, int fix)
{
	struct qcow2 *s = w->s;
	uint64_t end = w->nclusters;
	int ret;

	/*
	 * Refcounts just past the end of the file are leaks a crash left
	 * behind (allocated, never written). Look one refcount block range
	 * further, no more: a hostile table must not make this loop endless.
	 */
	for (uint64_t i = 0; i < s->reftable_entries; i++)
		if ((s->reftable[i] & QCOW2_OFFSET_MASK) &&
		    (i + 1) << s->rb_bits > end)
			end = (i + 1) << s->rb_bits;
	if (end > w->nclusters + (1ull << s->rb_bits))
		end = w->nclusters + (1ull << s->rb_bits);
	/*
	 * Past the end first: repairs below may allocate there, and what
	 * they allocate must not then look leaked.
	 */
	for (uint64_t k = 0; k < end; k++) {
		uint64_t c = (w->nclusters + k) % end, stored;
		uint64_t want = c < w->nclusters ? w->ref[c] : 0;
		bool leak;

		ret = qcow2_get_refcount(s, c, &stored);
		if (ret) {
			say(w, "ERROR: cannot read the refcount of cluster %llu",
			    (unsigned long long)c);
			w->r->check_errors++;
			continue;
		}
		/* as qemu-img: the last cluster referenced or counted */
		if ((stored || want) &&
		    (c + 1) << s->cluster_bits > w->r->image_end_offset)
			w->r->image_end_offset = (c + 1) << s->cluster_bits;
		if (stored == want)
			continue;
		leak = stored > want;
		say(w, "%s cluster %llu refcount=%llu reference=%llu",
		    leak ? ((fix & BLOCK_FIX_LEAKS) ? "Repairing" : "Leaked") :
			   ((fix & BLOCK_FIX_ERRORS) ? "Repairing" : "ERROR"),
		    (unsigned long long)c, (unsigned long long)stored,
		    (unsigned long long)want);
		if (leak)
			w->r->leaks++;
		else
			w->r->corruptions++;
		if (!(fix & (leak ? BLOCK_FIX_LEAKS : BLOCK_FIX_ERRORS)))
			continue;
		if (want > s->refcount_max)
			continue;
		ret = qcow2_set_refcount(s, c, want);
		if (ret)
			w->r->check_errors++;
		else if (leak)
			w->r->leaks_fixed++;
		else
			w->r->corruptions_fixed++;
	}
	return 0;
}

static int check_copied(struct walk *w)
{
	struct qcow2 *s = w->s;
	uint8_t *l2 = malloc(s->cluster_size);
	uint64_t rc, n = 1ull << s->l2_bits;
	int ret = l2 ? 0 : -ENOMEM;

	for (uint32_t i = 0; !ret && i < s->l1_size; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;

		if (!l2off || (l2off & (s->cluster_size - 1)) ||
		    (l2off >> s->cluster_bits) >= w->nclusters)
			continue;
		ret = qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc);
		if (ret)
			break;
		if ((rc == 1) != !!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
			say(w, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u "
			    "l1_entry=%llx refcount=%llu", i,
			    (unsigned long long)s->l1[i], (unsigned long long)rc);
			w->r->corruptions++;
		}
		ret = block_fd_pread(s->fd, l2, s->cluster_size, l2off);
		for (uint64_t j = 0; !ret && j < n; j++) {
			uint64_t e = get_be64(l2 + j * 8), off = e & QCOW2_OFFSET_MASK;
			enum qcow2_ctype t = qcow2_entry_type(s, e);

			if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
				continue;
			if ((off & (s->cluster_size - 1)) ||
			    (off >> s->cluster_bits) >= w->nclusters)
				continue;
			ret = qcow2_get_refcount(s, off >> s->cluster_bits, &rc);
			if (!ret && (rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
				say(w, "ERROR OFLAG_COPIED data cluster: "
				    "l2_entry=%llx refcount=%llu",
				    (unsigned long long)e, (unsigned long long)rc);
				w->r->corruptions++;
			}
		}
	}
	free(l2);
	return ret;
}

int qcow2_check(struct block_dev *dev, int fix, struct block_check_result *r,
		void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct qcow2 *s = dev->opaque;
	struct walk w = { .s = s, .r = r, .report = report, .ctx = ctx };
	uint64_t before;
	struct stat st;
	int ret;

	memset(r, 0, sizeof(*r));
	if (s->readonly)
		fix = 0;
	w.fix = fix;
	pthread_mutex_lock(&s->lock);
	if (fstat(s->fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	w.nclusters = qcow2_align_up((uint64_t)st.st_size, s->cluster_size) >>
		      s->cluster_bits;
	w.ref = calloc(w.nclusters + 1, sizeof(*w.ref));
	ret = w.ref ? count_refs(&w) : -ENOMEM;
	if (ret)
		goto out;
	r->total_clusters = (s->size + s->cluster_size - 1) >> s->cluster_bits;
	/* repairs allocate at the end, away from clusters in question */
	s->free_hint = w.nclusters;
	ret = compare(&w, fix);
	if (ret)
		goto out;
	/* freed leaks can leave clusters unshared: give them COPIED back */
	if (r->leaks_fixed) {
		ret = qcow2_fix_copied(s);
		if (ret)
			goto out;
	}
	before = r->corruptions;
	ret = check_copied(&w);
	if (!ret && (fix & BLOCK_FIX_ERRORS) && r->corruptions > before) {
		ret = qcow2_fix_copied(s);
		if (!ret)
			r->corruptions_fixed += r->corruptions - before;
	}
	if (!ret && fix && r->corruptions == r->corruptions_fixed &&
	    (s->incompat & (QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY)))
		ret = qcow2_update_incompat(s, s->incompat &
					~(QCOW2_INCOMPAT_CORRUPT |
					  QCOW2_INCOMPAT_DIRTY));
	s->free_hint = 0;
out:
	free(w.ref);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
