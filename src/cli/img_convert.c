// SPDX-License-Identifier: MIT
/*
 * cvisor img convert: copies the guest-visible content of SRC (through its
 * backing chain) into a new image. Ranges that read as zero are skipped so
 * sparse stays sparse; -c stores qcow2 clusters compressed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "block/workers.h"
#include "cli/img.h"
#include "cli/img_readahead.h"

#define CHUNK (2u << 20)

struct conv {
	struct block_dev *src, *dst;
	uint64_t gran; /* unit of zero detection and compression */
	bool compress, progress;
	struct workers *workers; /* compressing threads, made when needed */
	uint8_t *buf; /* the chunk being written */
	uint64_t off; /* where it goes */
	size_t n;     /* its length */
};

static bool is_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

static void show_progress(struct conv *c, uint64_t done)
{
	if (c->progress)
		printf("    (%.2f/100%%)\r", c->src->length ?
		       100.0 * (double)done / (double)c->src->length : 100.0);
	if (c->progress)
		fflush(stdout);
}

/* Granule i of the chunk, compressed unless it is all zeroes. */
static int compress_one(void *ctx, unsigned i, unsigned t)
{
	struct conv *c = ctx;
	size_t at = (size_t)(i * c->gran);
	size_t m = c->n - at < c->gran ? c->n - at : (size_t)c->gran;

	(void)t; /* qcow2_write_compressed keeps no per-thread state */
	if (is_zero(c->buf + at, m))
		return 0;
	return qcow2_write_compressed(c->dst, c->buf + at, c->off + at);
}

static int write_compressed(struct conv *c, uint64_t off, size_t n)
{
	/* the last granule of the image may be short: pad it with zeroes */
	if (n % c->gran)
		memset(c->buf + n, 0, c->gran - n % c->gran);
	c->off = off;
	c->n = n;
	return workers_run(&c->workers, (unsigned)((n + c->gran - 1) / c->gran),
			   compress_one, c);
}

/*
 * A range that reads as zero: nothing to write on a new image, zeroes on
 * one that holds old data (a network disk).
 */
static int write_zero_range(struct conv *c, uint64_t off, uint64_t len)
{
	return c->dst->drv->not_zeroed ? block_write_zeroes(c->dst, off, len) : 0;
}

/* Writes buf[0..n) at off, skipping all-zero granules. */
static int write_chunk(struct conv *c, uint64_t off, size_t n)
{
	size_t i = 0, j;
	int ret;

	if (c->compress)
		return write_compressed(c, off, n);
	while (i < n) {
		size_t g = n - i < c->gran ? n - i : (size_t)c->gran;

		if (is_zero(c->buf + i, g)) {
			ret = write_zero_range(c, off + i, g);
			if (ret)
				return ret;
			i += g;
			continue;
		}
		for (j = i + g; j < n; j += g) {
			size_t h = n - j < c->gran ? n - j : (size_t)c->gran;

			if (is_zero(c->buf + j, h))
				break;
		}
		if (j > n)
			j = n;
		ret = block_pwrite(c->dst, c->buf + i, j - i, off + i);
		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

/* SRC is read a few chunks ahead on another thread while DST is written. */
static int copy(struct conv *c)
{
	struct readahead *r;
	struct ra_chunk *ch;
	int ret = readahead_start(&r, c->src, CHUNK, c->gran,
				  CHUNK > c->gran ? CHUNK : c->gran);

	if (ret)
		return ret;
	while ((ret = readahead_next(r, &ch)) > 0) {
		uint64_t end = ch->off + ch->len;

		if (ch->zero) {
			ret = write_zero_range(c, ch->off, ch->len);
		} else {
			c->buf = ch->buf;
			ret = write_chunk(c, ch->off, ch->len);
		}
		readahead_release(r);
		if (ret)
			break;
		show_progress(c, end);
	}
	readahead_stop(r);
	return ret;
}

int img_convert(int argc, char **argv)
{
	static const struct option lopts[] = { { 0, 0, 0, 0 } };
	const char *fmt = NULL, *ofmt = "raw";
	char *opts = NULL, secret[256];
	struct conv c = { 0 };
	bool sync = false; /* qemu-img's default cache mode "unsafe" */
	bool create = true;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "f:O:o:cnpqt:T:W", lopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			ofmt = optarg;
			break;
		case 'o':
			opts = optarg;
			break;
		case 'c':
			c.compress = true;
			break;
		case 'n': /* the target exists: write into it */
			create = false;
			break;
		case 'p':
			c.progress = isatty(STDOUT_FILENO);
			break;
		case 't':
			sync = strcmp(optarg, "unsafe") != 0;
			break;
		case 'q':
		case 'T':
		case 'W':
			break;
		default:
			return 1;
		}
	}
	if (argc - optind != 2) {
		img_err("convert: expected SRC DST");
		return 1;
	}
	if (c.compress && strcmp(ofmt, "qcow2")) {
		img_err("compression (-c) needs -O qcow2, not '%s'", ofmt);
		return 1;
	}
	c.src = img_open(argv[optind], fmt, BLOCK_RDONLY);
	if (!c.src)
		return 1;
	img_opt_value(opts, "encrypt.key-secret", secret, sizeof(secret));
	if (create && img_make(argv[optind + 1], ofmt, opts, c.src->length))
		goto out_src;
	c.dst = img_open_key(argv[optind + 1], ofmt, BLOCK_NO_BACKING,
			     secret[0] ? secret : NULL);
	if (!c.dst)
		goto out_src;
	c.gran = qcow2_is(c.dst) ? qcow2_cluster_size(c.dst) : 4096;
	ret = copy(&c);
	workers_free(c.workers);
	if (!ret && sync)
		ret = block_flush(c.dst);
	if (c.progress)
		printf("\n");
	if (ret)
		img_err("converting '%s' to '%s': %s", c.src->path,
			c.dst->path, strerror(-ret));
	/* what the format writes last (a VMDK stream's footer) can fail too */
	if (ret)
		block_close(c.dst);
	else if (img_close(c.dst))
		ret = -EIO;
	ret = ret ? 1 : 0;
out_src:
	block_close(c.src);
	return ret;
}
