// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the emu translator: the input drives the random
 * program generator of the differential test (tests/unit/emu_jit_diff.h),
 * and the program runs on the interpreter and on the translator; any
 * difference in registers, flags or memory aborts. Build with `make fuzz`,
 * run e.g.
 *
 *   build-fuzz/fuzz/emu_jit_fuzz -max_len=4096 -max_total_time=60
 */
#include <stdio.h>
#include <stdlib.h>

#include "../unit/emu_jit_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jd_prog pg;
	struct jd_rand r = { .p = data, .n = size };
	char why[200];

	jd_build(&pg, &r);
	if (jd_compare(&pg, &r, why, sizeof(why), NULL, NULL)) {
		fprintf(stderr, "interpreter and translator differ: %s\n", why);
		abort();
	}
	return 0;
}
