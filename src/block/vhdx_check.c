// SPDX-License-Identifier: MIT
/*
 * "img check" of a VHDX image: BAT entries with an invalid state, blocks
 * past the end of the file or over metadata or the log, and two blocks
 * sharing file space. It repairs nothing (a corrupt BAT opens read-only);
 * "img check -r" opens the image read-write, which replays a log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/vhdx_int.h"

struct placed {
	uint64_t off, blk;
};

static int cmp_placed(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void say(void (*report)(void *, const char *), void *ctx,
		const char *fmt, unsigned long long a, unsigned long long b,
		const char *what)
{
	char msg[200];

	if (!report)
		return;
	snprintf(msg, sizeof(msg), fmt, a, b, what);
	report(ctx, msg);
}

int vhdx_check(struct block_dev *dev, int fix, struct block_check_result *r,
	       void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct vhdx *s = dev->opaque;
	struct placed *p;
	uint64_t n = 0;

	memset(r, 0, sizeof(*r));
	(void)fix; /* nothing here is repaired; a log is replayed by open */
	p = malloc((s->data_blocks ? s->data_blocks : 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	r->total_clusters = s->data_blocks;
	r->image_end_offset = s->file_size;
	for (uint64_t b = 0; b < s->data_blocks; b++) {
		uint64_t e = s->bat[vhdx_bat_index(s, b)];
		const char *bad = vhdx_bad_entry(s, b);

		if (bad) {
			say(report, ctx, "ERROR: BAT entry %llu (0x%llx): %s", b,
			    e, bad);
			r->corruptions++;
		} else if (VHDX_BAT_STATE(e) == VHDX_BAT_FULLY) {
			p[n].off = VHDX_BAT_OFF(e);
			p[n++].blk = b;
		}
	}
	r->allocated_clusters = n;
	qsort(p, n, sizeof(*p), cmp_placed);
	for (uint64_t i = 1; i < n; i++) {
		if (p[i].off - p[i - 1].off >= s->block_size)
			continue;
		say(report, ctx, "ERROR: blocks %llu and %llu %s",
		    p[i - 1].blk, p[i].blk, "overlap in the file");
		r->corruptions++;
	}
	pthread_mutex_unlock(&s->lock);
	free(p);
	return 0;
}
