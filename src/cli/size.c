// SPDX-License-Identifier: MIT
/* Sizes as qemu-img spells them: bytes, or a binary suffix B K M G T P E. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "cli/cli.h"

static int suffix_shift(char c)
{
	static const char units[] = "BKMGTPE";
	const char *p = strchr(units, toupper((unsigned char)c));

	return (c && p) ? (int)(p - units) * 10 : -1;
}

int parse_size(const char *s, unsigned long long *out)
{
	unsigned long long whole = 0, frac_num = 0, frac_den = 1, v;
	const char *p = s;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (~0ull - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (unsigned long long)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_den < 1000000000000ull) {
				frac_num = frac_num * 10 + (unsigned long long)(*p - '0');
				frac_den *= 10;
			}
		}
	}
	if (*p) {
		shift = suffix_shift(*p);
		if (shift < 0)
			return -EINVAL;
		p++;
		/* accept "KiB"/"KB" spellings as well as "K" */
		if (shift && (*p == 'i' || *p == 'I'))
			p++;
		if (shift && (*p == 'b' || *p == 'B'))
			p++;
		if (*p)
			return -EINVAL;
	}
	if (frac_num && !shift)
		return -EINVAL; /* fractions of a byte */
	if (shift && whole > (~0ull >> shift))
		return -ERANGE;
	v = whole << shift;
	if (frac_num) {
		unsigned long long f = (unsigned long long)
			((long double)frac_num / frac_den * (long double)(1ull << shift));

		if (v > ~0ull - f)
			return -ERANGE;
		v += f;
	}
	if (v > (1ull << 63))
		return -ERANGE;
	*out = v;
	return 0;
}
