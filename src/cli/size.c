// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"

/*
 * Sizes as qemu-img reads them: a number with an optional binary suffix
 * (k, M, G, T, P, E; either case; an optional trailing B), bytes without.
 */
int parse_size(const char *s, unsigned long long *out)
{
	static const char suffixes[] = "KMGTPE";
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (*end) {
		for (int i = 0; suffixes[i]; i++)
			if (toupper((unsigned char)*end) == suffixes[i])
				shift = 10 * (i + 1);
		if (!shift)
			return -EINVAL;
		end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}
