/* SPDX-License-Identifier: MIT */
/*
 * For the fuzz targets that write their own seed inputs (with
 * CVISOR_FUZZ_SEEDS=DIR, see tests/integration/fuzz_targets.sh).
 */
#ifndef CVISOR_FUZZ_SEED_H
#define CVISOR_FUZZ_SEED_H

#include <stdio.h>
#include <stdlib.h>

/* len bytes at p as the file DIR/NAME; aborts when it cannot */
static inline void fuzz_seed(const char *dir, const char *name,
			     const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f))
		abort();
}

#endif
