// SPDX-License-Identifier: MIT
/*
 * "img check" of a sparse extent: every grain table inside the file, every
 * grain inside the data area (after the metadata, before the end). Like
 * qemu-img, it reports errors only and repairs nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "block/vmdk_int.h"

static void say(void (*report)(void *ctx, const char *msg), void *ctx,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(void (*report)(void *ctx, const char *msg), void *ctx,
		const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(ctx, msg);
}

int vmdk_sparse_check(struct vmdk_extent *e, struct block_check_result *r,
		      void (*report)(void *ctx, const char *msg), void *ctx)
{
	uint64_t grains = (e->len + e->grain - 1) / e->grain;

	/* like qemu-img, errors only: no allocation statistics for vmdk */
	for (uint64_t gi = 0; gi < grains; gi++) {
		enum vmdk_grain_kind kind;
		uint32_t entry;
		int ret;

		if (gi % e->h.gtes == 0 && !e->gd[gi / e->h.gtes]) {
			gi += e->h.gtes - 1; /* no table: nothing allocated */
			continue;
		}
		if (gi % e->h.gtes == 0 &&
		    !vmdk_in_file(e, e->gd[gi / e->h.gtes], e->h.gtes * 4ull)) {
			say(report, ctx, "ERROR: '%s': grain table %llu past the "
			    "end of the file", e->path,
			    (unsigned long long)(gi / e->h.gtes));
			r->corruptions++;
			gi += e->h.gtes - 1;
			continue;
		}
		ret = vmdk_grain_entry(e, gi, &entry, &kind);
		if (ret == -EIO ||
		    (!ret && kind == GRAIN_DATA &&
		     (entry * VMDK_SECTOR < e->meta_end ||
		      e->grain > e->file_size - entry * VMDK_SECTOR))) {
			say(report, ctx, "ERROR: '%s': grain %llu at sector %u "
			    "is outside the data area", e->path,
			    (unsigned long long)gi, entry);
			r->corruptions++;
			continue;
		}
		if (ret)
			return ret;
	}
	return 0;
}
