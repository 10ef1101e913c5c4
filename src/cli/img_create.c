// SPDX-License-Identifier: MIT
/* cvisor img create */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "cli/cli.h"
#include "cli/img.h"
#include "cli/secret.h"

struct create_ctx {
	struct qcow2_create_opts o;
	bool have_size, help;
	const char *compat, *prealloc; /* as given, for the summary line */
	const char *qcow2_only; /* first option raw does not take */
	const char *encrypt_format, *key_secret;
	bool encrypt_opts; /* some encrypt.* option was given */
};

/* encrypt.*, as qemu-img takes them for qcow2 (LUKS only). */
static int encrypt_opt(struct create_ctx *c, const char *key, const char *val)
{
	struct luks_params *l = &c->o.luks;
	unsigned long long v;
	char *end;

	if (!strcmp(key, "encryption")) {
		if (strcmp(val, "off") && strcmp(val, "false")) {
			img_err("encryption=on means legacy AES, which cvisor "
				"does not create (qemu-img deprecated it); use "
				"encrypt.format=luks");
			return -ENOTSUP;
		}
		return 0;
	}
	c->encrypt_opts = true;
	if (!strcmp(key, "encrypt.format")) {
		if (!strcmp(val, "aes")) {
			img_err("encrypt.format=aes (legacy qcow2 AES) is not "
				"created, only read; use encrypt.format=luks");
			return -ENOTSUP;
		}
		if (strcmp(val, "luks")) {
			img_err("invalid encrypt.format '%s' (luks)", val);
			return -EINVAL;
		}
		c->encrypt_format = val;
	} else if (!strcmp(key, "encrypt.key-secret")) {
		c->key_secret = val;
	} else if (!strcmp(key, "encrypt.cipher-alg")) {
		l->cipher_alg = val;
	} else if (!strcmp(key, "encrypt.cipher-mode")) {
		l->cipher_mode = val;
	} else if (!strcmp(key, "encrypt.ivgen-alg")) {
		l->ivgen_alg = val;
	} else if (!strcmp(key, "encrypt.ivgen-hash-alg")) {
		l->ivgen_hash = val;
	} else if (!strcmp(key, "encrypt.hash-alg")) {
		l->hash_alg = val;
	} else if (!strcmp(key, "encrypt.iter-time")) {
		errno = 0;
		v = strtoull(val, &end, 10);
		if (errno || *end || !v || v > 3600000) {
			img_err("invalid encrypt.iter-time '%s' (milliseconds)",
				val);
			return -EINVAL;
		}
		l->iter_time_ms = v;
	} else {
		img_err("unknown option '%s'", key);
		return -EINVAL;
	}
	return 0;
}

/* The passphrase for encrypt.key-secret, once all options are known. */
static int encrypt_key(struct create_ctx *c)
{
	if (!c->encrypt_opts)
		return 0;
	if (!c->encrypt_format) {
		img_err("encrypt options need encrypt.format=luks");
		return -EINVAL;
	}
	if (!c->key_secret) {
		img_err("encrypt.format=luks needs encrypt.key-secret=ID "
			"(with --object secret,id=ID,file=FILE)");
		return -EINVAL;
	}
	c->o.key = secret_get(c->key_secret, &c->o.key_len);
	if (!c->o.key) {
		img_err("no secret with id '%s' (give it with --object "
			"secret,id=%s,file=FILE)", c->key_secret, c->key_secret);
		return -EINVAL;
	}
	c->o.encrypt = true;
	return 0;
}

static int bool_opt(const char *key, const char *val, bool *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(val, "off") || !strcmp(val, "false")) {
		*out = false;
		return 0;
	}
	img_err("invalid value '%s' for option %s (on or off)", val, key);
	return -EINVAL;
}

static int create_opt(void *ctx, const char *key, const char *val)
{
	struct create_ctx *c = ctx;
	unsigned long long v;

	if (!strcmp(key, "help") || !strcmp(key, "?")) {
		c->help = true;
		return 0;
	}
	if (strcmp(key, "size") && strcmp(key, "preallocation") && !c->qcow2_only)
		c->qcow2_only = key;
	if (!strcmp(key, "cluster_size") || !strcmp(key, "refcount_bits") ||
	    !strcmp(key, "size")) {
		if (parse_size(val, &v) || (*key != 's' && v > UINT32_MAX)) {
			img_err("invalid %s '%s'", key, val);
			return -EINVAL;
		}
		if (*key == 'c')
			c->o.cluster_size = (unsigned)v;
		else if (*key == 'r')
			c->o.refcount_bits = (unsigned)v;
		else {
			c->o.size = v;
			c->have_size = true;
		}
	} else if (!strcmp(key, "compression_type")) {
		if (!strcmp(val, "zlib"))
			c->o.compression = QCOW2_COMP_ZLIB;
		else if (!strcmp(val, "zstd"))
			c->o.compression = QCOW2_COMP_ZSTD;
		else {
			img_err("invalid compression_type '%s' (zlib or zstd)", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "preallocation")) {
		/* checked against the format in check_opts() */
		c->o.prealloc_metadata = !strcmp(val, "metadata");
		c->prealloc = val;
	} else if (!strcmp(key, "lazy_refcounts")) {
		return bool_opt(key, val, &c->o.lazy_refcounts);
	} else if (!strcmp(key, "compat")) {
		c->compat = val;
		if (!strcmp(val, "0.10") || !strcmp(val, "v2"))
			c->o.version = 2;
		else if (!strcmp(val, "1.1") || !strcmp(val, "v3"))
			c->o.version = 3;
		else {
			img_err("invalid compat '%s' (0.10 or 1.1)", val);
			return -EINVAL;
		}
	} else if (!strcmp(key, "backing_file")) {
		c->o.backing_file = val;
	} else if (!strcmp(key, "backing_fmt")) {
		c->o.backing_fmt = val;
	} else if (!strncmp(key, "encrypt.", 8) || !strcmp(key, "encryption")) {
		return encrypt_opt(c, key, val);
	} else if (!strcmp(key, "extended_l2")) {
		bool on;

		if (bool_opt(key, val, &on))
			return -EINVAL;
		if (on) {
			img_err("extended_l2=on is not supported");
			return -ENOTSUP;
		}
	} else {
		img_err("unknown option '%s'", key);
		return -EINVAL;
	}
	return 0;
}

/* The options of fmt, as "qemu-img create -f FMT -o help" lists them. */
static void print_opts_help(const char *fmt)
{
	printf("Supported options:\n");
	if (!strcmp(fmt, "qcow2"))
		printf("  backing_file=<str>     - File name of a base image\n"
		       "  backing_fmt=<str>      - Image format of the base image\n"
		       "  cluster_size=<size>    - qcow2 cluster size\n"
		       "  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
		       "  compression_type=<str> - Compression method used for image cluster compression\n"
		       "  extended_l2=<bool (on/off)> - Extended L2 tables (off only)\n"
		       "  lazy_refcounts=<bool (on/off)> - Postpone refcount updates\n"
		       "  preallocation=<str>    - Preallocation mode (allowed values: off, metadata)\n"
		       "  refcount_bits=<num>    - Width of a reference count entry in bits\n");
	else
		printf("  preallocation=<str>    - Preallocation mode (allowed values: off, falloc, full)\n");
	printf("  size=<size>            - Virtual disk size\n");
}

/* What qemu-img refuses once the format is known. */
static int check_opts(const char *fmt, const struct create_ctx *c)
{
	bool raw = !strcmp(fmt, "raw");

	if (raw && c->qcow2_only) {
		img_err("invalid parameter '%s' for format raw", c->qcow2_only);
		return -EINVAL;
	}
	if (c->prealloc && strcmp(c->prealloc, "off") &&
	    strcmp(c->prealloc, raw ? "falloc" : "metadata") &&
	    (!raw || strcmp(c->prealloc, "full"))) {
		img_err("unsupported preallocation '%s' (%s)", c->prealloc,
			raw ? "off, falloc or full" : "off or metadata");
		return -EINVAL;
	}
	if (c->o.backing_fmt && !c->o.backing_file) {
		img_err("a backing format needs a backing file (-b)");
		return -EINVAL;
	}
	return 0;
}

/* Zeroes written, so a full raw file has every block on the disk. */
static int write_zeroes(int fd, uint64_t size)
{
	static const uint8_t zero[65536];
	uint64_t off = 0;

	while (off < size) {
		size_t n = size - off < sizeof(zero) ? (size_t)(size - off) :
						       sizeof(zero);

		if (block_fd_pwrite(fd, zero, n, off))
			return -1;
		off += n;
	}
	return 0;
}

static int create_raw(const char *path, uint64_t size, const char *prealloc)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = fd < 0 ? -1 : ftruncate(fd, (off_t)size);

	if (!ret && size && prealloc && !strcmp(prealloc, "falloc"))
		ret = posix_fallocate(fd, 0, (off_t)size) ? -1 : 0;
	else if (!ret && prealloc && !strcmp(prealloc, "full"))
		ret = write_zeroes(fd, size);
	if (ret < 0) {
		img_err("could not create '%s': %m", path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

/* The "Formatting ..." line, in qemu-img's order of options. */
static void print_summary(const char *path, const char *fmt,
			  const struct create_ctx *c)
{
	const struct qcow2_create_opts *o = &c->o;

	printf("Formatting '%s', fmt=%s", path, fmt);
	if (!strcmp(fmt, "qcow2")) {
		printf(" cluster_size=%u extended_l2=off",
		       o->cluster_size ? o->cluster_size : 65536);
		if (c->prealloc)
			printf(" preallocation=%s", c->prealloc);
		printf(" compression_type=%s",
		       o->compression == QCOW2_COMP_ZSTD ? "zstd" : "zlib");
	}
	printf(" size=%llu", (unsigned long long)o->size);
	if (c->prealloc && strcmp(fmt, "qcow2"))
		printf(" preallocation=%s", c->prealloc);
	if (c->compat)
		printf(" compat=%s", c->compat);
	if (o->backing_file)
		printf(" backing_file=%s", o->backing_file);
	if (o->backing_fmt)
		printf(" backing_fmt=%s", o->backing_fmt);
	if (c->encrypt_format)
		printf(" encrypt.format=%s", c->encrypt_format);
	if (c->key_secret)
		printf(" encrypt.key-secret=%s", c->key_secret);
	if (!strcmp(fmt, "qcow2"))
		printf(" lazy_refcounts=%s refcount_bits=%u",
		       o->lazy_refcounts ? "on" : "off",
		       o->refcount_bits ? o->refcount_bits : 16);
	printf("\n");
}

/* Size and, if not given, the probed format of the backing file. */
static int backing_defaults(const char *path, struct create_ctx *c,
			    char *fmtbuf, size_t fmtlen)
{
	char full[PATH_MAX];
	struct block_dev *b;

	img_backing_path(path, c->o.backing_file, full, sizeof(full));
	b = img_open_key(full, c->o.backing_fmt, BLOCK_RDONLY | BLOCK_NO_IO,
			 NULL);
	if (!b)
		return -1;
	if (!c->o.backing_fmt)
		snprintf(fmtbuf, fmtlen, "%s", b->drv->name);
	if (!c->have_size)
		c->o.size = b->length;
	c->have_size = true;
	block_close(b);
	return 0;
}

/* qemu-img takes -o more than once; the lists are joined with commas. */
static int append_opts(char **list, const char *more)
{
	size_t a = *list ? strlen(*list) : 0, b = strlen(more);
	char *p = realloc(*list, a + b + 2);

	if (!p) {
		img_err("out of memory");
		return -1;
	}
	if (a)
		p[a++] = ',';
	memcpy(p + a, more, b + 1);
	*list = p;
	return 0;
}

int img_make(const char *path, const char *fmt, char *optlist,
	     uint64_t size)
{
	struct create_ctx c = { 0 };
	char err[BLOCK_ERR_LEN];

	if (block_url_driver(path))
		return img_create_url(path, fmt, optlist, size, true);
	if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
		const struct block_driver *drv = block_find_driver(fmt);
		struct img_create_args a = { .path = path, .optlist = optlist,
					     .size = size, .have_size = true,
					     .quiet = true };

		if (!drv) {
			img_err("unknown output format '%s'", fmt);
			return -1;
		}
		return img_create_with_driver(drv, &a) ? -1 : 0;
	}
	if (optlist && img_parse_opts(optlist, create_opt, &c))
		return -1;
	if (c.help) {
		print_opts_help(fmt);
		return -1;
	}
	if (check_opts(fmt, &c) || encrypt_key(&c))
		return -1;
	if (!strcmp(fmt, "raw"))
		return create_raw(path, size, c.prealloc) ? -1 : 0;
	c.o.size = size;
	if (qcow2_create(path, &c.o, err, sizeof(err))) {
		img_err("%s", err);
		return -1;
	}
	return 0;
}

/* The format-independent part of img create: FILE [SIZE]. */
static int file_and_size(int argc, char **argv, struct img_create_args *a)
{
	unsigned long long size;
	int r;

	if (optind >= argc || argc - optind > 2) {
		img_err("create: expected FILE [SIZE]");
		return -1;
	}
	a->path = argv[optind];
	if (argc - optind < 2)
		return 0;
	r = parse_size(argv[optind + 1], &size);
	if (r) {
		img_err("invalid image size '%s'%s", argv[optind + 1],
			r == -ERANGE ? ": too large" : "");
		return -1;
	}
	a->size = size;
	a->have_size = true;
	return 0;
}

/* raw and qcow2, whose options this file knows. */
static int create_builtin(const char *fmt, char *olist, struct create_ctx *c,
			  const struct img_create_args *a, bool unsafe)
{
	char err[BLOCK_ERR_LEN], fmtbuf[16] = "";

	if (olist && img_parse_opts(olist, create_opt, c))
		return 1;
	if (c->help) {
		print_opts_help(fmt);
		return 0;
	}
	if (!a->path)
		return 1;
	if (a->have_size) {
		c->o.size = a->size;
		c->have_size = true;
	}
	if (c->o.backing_file && !strcmp(fmt, "raw")) {
		img_err("format raw does not support backing files");
		return 1;
	}
	if (check_opts(fmt, c) || encrypt_key(c))
		return 1;
	if (c->o.backing_file && (!unsafe || !c->have_size) &&
	    backing_defaults(a->path, c, fmtbuf, sizeof(fmtbuf)))
		return 1;
	/* qemu-img 7.2 no longer guesses: probing a backing file is unsafe */
	if (c->o.backing_file && !c->o.backing_fmt) {
		img_err("backing file '%s' specified without its format (-F)%s%s",
			c->o.backing_file, fmtbuf[0] ? "; detected " : "",
			fmtbuf);
		return 1;
	}
	if (!strcmp(fmt, "raw"))
		c->o.prealloc_metadata = false;
	if (!c->have_size) {
		img_err("create: image size must be given");
		return 1;
	}
	if (!strcmp(fmt, "raw")) {
		if (create_raw(a->path, c->o.size, c->prealloc))
			return 1;
	} else if (qcow2_create(a->path, &c->o, err, sizeof(err))) {
		img_err("%s", err);
		return 1;
	}
	/* after the options were accepted, unlike qemu-img's early line */
	if (!a->quiet)
		print_summary(a->path, fmt, c);
	return 0;
}

int img_create(int argc, char **argv)
{
	static const struct option lopts[] = { { "help", no_argument, 0, 'h' },
					       { 0, 0, 0, 0 } };
	struct create_ctx c = { 0 };
	struct img_create_args a = { 0 };
	const struct block_driver *drv;
	const char *fmt = "raw";
	char *olist = NULL;
	bool unsafe = false;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "f:b:F:o:uqh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'b':
			c.o.backing_file = a.backing_file = optarg;
			break;
		case 'F':
			c.o.backing_fmt = a.backing_fmt = optarg;
			break;
		case 'o':
			if (append_opts(&olist, optarg))
				goto out;
			break;
		case 'u':
			unsafe = true;
			break;
		case 'q':
			a.quiet = true;
			break;
		default:
			fprintf(stderr, "usage: cvisor img create [-f fmt] [-b backing "
				"[-F fmt]] [-o opts] [-u] FILE [SIZE]\n");
			ret = opt == 'h' ? 0 : 1;
			goto out;
		}
	}
	a.optlist = olist;
	drv = block_find_driver(fmt);
	if (!drv) {
		img_err("unknown format '%s'", fmt);
		goto out;
	}
	/* "-o help" needs no FILE */
	if ((optind < argc || !olist || !strstr(olist, "help")) &&
	    file_and_size(argc, argv, &a))
		goto out;
	if (a.path && block_url_driver(a.path)) {
		if (!a.have_size) {
			img_err("create: image size must be given");
			goto out;
		}
		ret = img_create_url(a.path, fmt, olist, a.size, a.quiet) ? 1 : 0;
	} else if (!strcmp(fmt, "raw") || !strcmp(fmt, "qcow2")) {
		ret = create_builtin(fmt, olist, &c, &a, unsafe);
	} else {
		ret = img_create_with_driver(drv, &a) < 0 ? 1 : 0;
	}
out:
	free(olist);
	return ret;
}
