// SPDX-License-Identifier: MIT
/*
 * "img create" and "img convert -O" for the formats whose driver creates
 * its own images (everything but raw and qcow2, which img_create.c knows).
 * The -o options go to the driver as a list; a key it did not take is an
 * error, as in qemu-img.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/img.h"

static int collect_opt(void *ctx, const char *key, const char *val)
{
	struct block_opts *o = ctx;
	struct block_opt *v = realloc(o->v, (o->n + 1) * sizeof(*v));

	if (!v) {
		img_err("out of memory");
		return -ENOMEM;
	}
	o->v = v;
	v[o->n++] = (struct block_opt){ .key = key, .val = val };
	return 0;
}

/* "size" in the -o list, which qemu-img takes in place of the argument. */
static int size_opt(struct block_opts *o, uint64_t *size, bool *have_size)
{
	const char *s = block_opt_get(o, "size");
	unsigned long long v;

	if (!s)
		return 0;
	if (parse_size(s, &v)) {
		img_err("invalid size '%s'", s);
		return -EINVAL;
	}
	*size = v;
	*have_size = true;
	return 0;
}

int img_create_url(const char *path, const char *fmt, const char *optlist,
		   uint64_t size, bool quiet)
{
	struct block_dev *dev;
	int ret = 0;

	if (optlist && *optlist) {
		img_err("-o %s: a network disk takes no creation options",
			optlist);
		return -1;
	}
	dev = img_open(path, fmt, 0);
	if (!dev)
		return -1;
	if (dev->length < size) {
		img_err("'%s' holds %llu bytes, less than the %llu asked for",
			dev->path, (unsigned long long)dev->length,
			(unsigned long long)size);
		ret = -1;
	} else if (!quiet) {
		printf("Formatting '%s', fmt=%s size=%llu\n", dev->path, fmt,
		       (unsigned long long)size);
	}
	block_close(dev);
	return ret;
}

int img_create_with_driver(const struct block_driver *drv,
			   const struct img_create_args *a)
{
	struct block_opts o = { 0 };
	struct block_opt extra[2];
	char err[BLOCK_ERR_LEN] = "", *list = NULL;
	uint64_t size = a->size;
	bool have_size = a->have_size;
	int ret = -1;

	if (!drv->create) {
		img_err("format '%s' does not support image creation", drv->name);
		return -1;
	}
	if (a->optlist) {
		list = strdup(a->optlist);
		if (!list || img_parse_opts(list, collect_opt, &o)) {
			if (!list)
				img_err("out of memory");
			goto out;
		}
	}
	if (block_opt_get(&o, "help") || block_opt_get(&o, "?")) {
		printf("Supported options:\n%s"
		       "  size=<size>            - Virtual disk size\n",
		       drv->create_help ? drv->create_help : "");
		ret = 1;
		goto out;
	}
	if (size_opt(&o, &size, &have_size))
		goto out;
	if (!have_size && !a->backing_file) {
		img_err("create: image size must be given");
		goto out;
	}
	/* -b and -F reach the driver as qemu-img's option names */
	extra[0] = (struct block_opt){ .key = "backing_file", .val = a->backing_file };
	extra[1] = (struct block_opt){ .key = "backing_fmt", .val = a->backing_fmt };
	for (int i = 0; i < 2; i++) {
		if (extra[i].val && collect_opt(&o, extra[i].key, extra[i].val))
			goto out;
	}
	if (drv->create(a->path, size, &o, err, sizeof(err)) < 0) {
		img_err("%s", err[0] ? err : "could not create the image");
		goto out;
	}
	if (!a->quiet) {
		printf("Formatting '%s', fmt=%s size=%llu", a->path, drv->name,
		       (unsigned long long)size);
		for (size_t i = 0; i < o.n; i++)
			if (strcmp(o.v[i].key, "size"))
				printf(" %s=%s", o.v[i].key, o.v[i].val);
		printf("\n");
	}
	ret = 0;
out:
	free(o.v);
	free(list);
	return ret;
}
