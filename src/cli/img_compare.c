// SPDX-License-Identifier: MIT
/* cvisor img compare: guest-visible content of two images. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/img.h"

#define CHUNK (1u << 20)

static int first_diff(const uint8_t *a, const uint8_t *b, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i += 512) {
		size_t m = n - i < 512 ? n - i : 512;

		if (memcmp(a + i, b + i, m)) {
			*at = i;
			return 1;
		}
	}
	return 0;
}

static int tail_zero(struct block_dev *d, uint64_t from, uint8_t *buf,
		     uint64_t *at)
{
	for (uint64_t off = from; off < d->length; off += CHUNK) {
		size_t n = d->length - off < CHUNK ? (size_t)(d->length - off) :
						     CHUNK;

		if (block_pread(d, buf, n, off))
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (buf[i]) {
				*at = (off + i) & ~511ull;
				return 1;
			}
		}
	}
	return 0;
}

int img_compare(int argc, char **argv)
{
	const char *fa = NULL, *fb = NULL;
	struct block_dev *a, *b = NULL;
	uint8_t *ba = malloc(CHUNK), *bb = malloc(CHUNK);
	bool strict = false;
	uint64_t common, at = 0;
	int opt, ret = 2, d = 0;
	size_t where;

	while ((opt = getopt(argc, argv, "f:F:sqpU")) != -1) {
		if (opt == 'f')
			fa = optarg;
		else if (opt == 'F')
			fb = optarg;
		else if (opt == 's')
			strict = true;
		else if (opt == '?')
			goto out_usage;
	}
	if (argc - optind != 2) {
		img_err("usage: compare [-f fmt] [-F fmt] [-s] A B");
		goto out_usage;
	}
	if (!ba || !bb) {
		img_err("out of memory");
		goto out_buf;
	}
	a = img_open(argv[optind], fa, BLOCK_RDONLY);
	if (!a)
		goto out_buf;
	b = img_open(argv[optind + 1], fb, BLOCK_RDONLY);
	if (!b)
		goto out;
	if (strict && a->length != b->length) {
		printf("Strict mode: Image size mismatch!\n");
		ret = 1;
		goto out;
	}
	common = a->length < b->length ? a->length : b->length;
	for (uint64_t off = 0; off < common; off += CHUNK) {
		size_t n = common - off < CHUNK ? (size_t)(common - off) : CHUNK;

		if (block_pread(a, ba, n, off) || block_pread(b, bb, n, off)) {
			img_err("error reading at offset %llu",
				(unsigned long long)off);
			goto out;
		}
		if (first_diff(ba, bb, n, &where)) {
			at = off + where;
			d = 1;
			break;
		}
	}
	if (!d && a->length != b->length)
		d = tail_zero(a->length > b->length ? a : b, common, ba, &at);
	if (d < 0)
		goto out;
	if (d)
		printf("Content mismatch at offset %llu!\n",
		       (unsigned long long)at);
	else
		printf("Images are identical.\n");
	ret = d;
out:
	block_close(b);
	block_close(a);
out_buf:
	free(ba);
	free(bb);
	return ret;
out_usage:
	ret = 1; /* qemu-img: bad arguments exit 1, unreadable images 2 */
	goto out_buf;
}
