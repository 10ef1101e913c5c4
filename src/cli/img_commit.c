// SPDX-License-Identifier: MIT
/*
 * cvisor img commit / rebase: move data between an overlay and its backing
 * file.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/img.h"

#define CHUNK (1u << 20)

/* Copies what the overlay itself defines into its backing file. */
static int commit_data(struct block_dev *top, struct block_dev *base)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0, pnum, host;
	int st, ret = buf ? 0 : -ENOMEM;

	while (!ret && off < top->length) {
		uint64_t n = top->length - off < CHUNK ? top->length - off : CHUNK;

		st = block_status(top, off, n, &pnum, &host);
		if (st < 0) {
			ret = st;
			break;
		}
		if (st & BLOCK_STATUS_ALLOCATED) {
			if (off + pnum > base->length)
				ret = -ENOSPC;
			else if (st & BLOCK_STATUS_ZERO)
				ret = block_write_zeroes(base, off, pnum);
			else if (!(ret = block_pread(top, buf, pnum, off)))
				ret = block_pwrite(base, buf, pnum, off);
		}
		off += pnum;
	}
	if (!ret)
		ret = block_flush(base);
	free(buf);
	return ret;
}

int img_commit(int argc, char **argv)
{
	const char *fmt = NULL;
	char path[PATH_MAX];
	struct qcow2_info qi;
	struct block_dev *top, *base;
	bool keep = false;
	int opt, ret;

	while ((opt = getopt(argc, argv, "f:dqpt:")) != -1) {
		if (opt == 'f')
			fmt = optarg;
		else if (opt == 'd')
			keep = true;
		else if (opt == '?')
			return 1;
	}
	if (argc - optind != 1) {
		img_err("usage: commit [-f fmt] [-d] FILE");
		return 1;
	}
	top = img_open(argv[optind], fmt, BLOCK_NO_BACKING);
	if (!top)
		return 1;
	if (!qcow2_is(top) || (qcow2_get_info(top, &qi), !qi.backing_file)) {
		img_err("'%s' has no backing file to commit to", argv[optind]);
		block_close(top);
		return 1;
	}
	img_backing_path(img_filename(argv[optind]), qi.backing_file, path,
			 sizeof(path));
	base = img_open_backing_of(argv[optind], path, qi.backing_fmt, 0);
	if (!base) {
		block_close(top);
		return 1;
	}
	ret = commit_data(top, base);
	if (!ret && !keep)
		ret = qcow2_make_empty(top);
	if (ret) {
		img_err("committing '%s' into '%s': %s", argv[optind], path,
			strerror(-ret));
		block_close(base);
		block_close(top);
		return 1;
	}
	/* both were written: the base, and the top emptied */
	ret = img_close(base);
	if (img_close(top))
		ret = -1;
	if (!ret)
		printf("Image committed.\n");
	return ret ? 1 : 0;
}

/* Keeps the guest view of img while its backing changes to nb. */
static int rebase_data(struct block_dev *img, struct block_dev *nb)
{
	uint8_t *a = malloc(CHUNK), *b = malloc(CHUNK);
	uint64_t off = 0, pnum, host;
	int st, ret = (a && b) ? 0 : -ENOMEM;

	while (!ret && off < img->length) {
		uint64_t n = img->length - off < CHUNK ? img->length - off : CHUNK;

		st = block_status(img, off, n, &pnum, &host);
		if (st < 0) {
			ret = st;
			break;
		}
		if (!(st & BLOCK_STATUS_ALLOCATED)) {
			size_t m = (size_t)pnum;

			ret = block_pread(img, a, m, off);
			memset(b, 0, m);
			if (!ret && nb && off < nb->length)
				ret = block_pread(nb, b, off + m <= nb->length ?
						  m : (size_t)(nb->length - off), off);
			if (!ret && memcmp(a, b, m))
				ret = block_pwrite(img, a, m, off);
		}
		off += pnum;
	}
	free(a);
	free(b);
	return ret;
}

int img_rebase(int argc, char **argv)
{
	const char *fmt = NULL, *nbfile = NULL, *nbfmt = NULL;
	char path[PATH_MAX];
	struct block_dev *img, *nb = NULL;
	bool unsafe = false;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "f:b:F:uqpt:T:U")) != -1) {
		if (opt == 'f')
			fmt = optarg;
		else if (opt == 'b')
			nbfile = optarg;
		else if (opt == 'F')
			nbfmt = optarg;
		else if (opt == 'u')
			unsafe = true;
		else if (opt == '?')
			return 1;
	}
	if (argc - optind != 1 || !nbfile) {
		img_err("usage: rebase [-f fmt] [-u] -b NEW [-F fmt] FILE");
		return 1;
	}
	/* qemu-img 7.2 refuses this too (after copying); probing is unsafe */
	if (*nbfile && !nbfmt) {
		img_err("rebasing '%s' onto '%s': the backing format must be "
			"given (-F)", argv[optind], nbfile);
		return 1;
	}
	img = img_open(argv[optind], fmt, unsafe ? BLOCK_NO_BACKING : 0);
	if (!img)
		return 1;
	if (!qcow2_is(img)) {
		img_err("'%s' is not qcow2: only qcow2 has a backing file",
			argv[optind]);
		block_close(img);
		return 1;
	}
	if (*nbfile && !unsafe) {
		img_backing_path(img_filename(argv[optind]), nbfile, path,
				 sizeof(path));
		nb = img_open_key(path, nbfmt, BLOCK_RDONLY, NULL);
		if (!nb) {
			block_close(img);
			return 1;
		}
	}
	if (!unsafe)
		ret = rebase_data(img, nb);
	if (!ret)
		ret = qcow2_set_backing(img, *nbfile ? nbfile : NULL,
					*nbfile ? nbfmt : NULL);
	if (ret)
		img_err("rebasing '%s' onto '%s': %s", argv[optind], nbfile,
			strerror(-ret));
	block_close(nb);
	if (ret)
		block_close(img);
	else if (img_close(img))
		ret = -1;
	return ret ? 1 : 0;
}
