// SPDX-License-Identifier: MIT
/* cvisor img check */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/img.h"

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static void print_human(const struct block_check_result *r)
{
	double total = r->total_clusters ? (double)r->total_clusters : 1;

	if (r->corruptions > r->corruptions_fixed)
		printf("\n%llu errors were found on the image.\nData may be "
		       "corrupted, or further writes to the image may corrupt "
		       "it.\n",
		       (unsigned long long)(r->corruptions - r->corruptions_fixed));
	if (r->leaks > r->leaks_fixed)
		printf("\n%llu leaked clusters were found on the image.\nThis "
		       "means waste of disk space, but no harm to data.\n",
		       (unsigned long long)(r->leaks - r->leaks_fixed));
	if (r->check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		       (unsigned long long)r->check_errors);
	if (r->corruptions == r->corruptions_fixed &&
	    r->leaks == r->leaks_fixed && !r->check_errors)
		printf("No errors were found on the image.\n");
	/* qemu-img leaves out the lines whose numbers are zero */
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, "
		       "%0.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters,
		       (unsigned long long)r->total_clusters,
		       100.0 * (double)r->allocated_clusters / total,
		       100.0 * (double)r->fragmented_clusters /
			       (double)r->allocated_clusters,
		       100.0 * (double)r->compressed_clusters /
			       (double)r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n",
		       (unsigned long long)r->image_end_offset);
}

/*
 * qemu-img prints a QDict, whose keys come out in the order of their hash
 * buckets; this is that order for the keys of a check result. Counts that
 * are zero are left out, as qemu-img does.
 */
static void print_json(const struct block_check_result *r, const char *path,
		       const char *fmt)
{
	const struct {
		const char *key;
		uint64_t v;
		bool always;
	} f[] = {
		{ "image-end-offset", r->image_end_offset, false },
		{ "compressed-clusters", r->compressed_clusters, false },
		{ "total-clusters", r->total_clusters, false },
		{ "corruptions", r->corruptions - r->corruptions_fixed, false },
		{ "corruptions-fixed", r->corruptions_fixed, false },
		{ "check-errors", r->check_errors, true },
		{ "leaks", r->leaks - r->leaks_fixed, false },
		{ "leaks-fixed", r->leaks_fixed, false },
		{ "allocated-clusters", r->allocated_clusters, false },
	};

	printf("{\n");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].v || f[i].always)
			printf("    \"%s\": %llu,\n", f[i].key,
			       (unsigned long long)f[i].v);
	printf("    \"filename\": ");
	img_json_str(stdout, path);
	printf(",\n    \"format\": \"%s\"", fmt);
	if (r->fragmented_clusters)
		printf(",\n    \"fragmented-clusters\": %llu",
		       (unsigned long long)r->fragmented_clusters);
	printf("\n}\n");
}

static int exit_code(const struct block_check_result *r)
{
	if (r->check_errors)
		return 1;
	if (r->corruptions > r->corruptions_fixed)
		return 2;
	if (r->leaks > r->leaks_fixed)
		return 3;
	return 0;
}

int img_check(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, 0, 'O' },
		{ "repair", required_argument, 0, 'r' },
		{ "force-share", no_argument, 0, 'U' },
		{ 0, 0, 0, 0 },
	};
	const char *fmt = NULL, *out = "human";
	struct block_check_result r, r2;
	struct block_dev *dev;
	int opt, fix = 0, ret;
	bool json, quiet = false;

	while ((opt = getopt_long(argc, argv, "f:r:qU", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			out = optarg;
			break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				fix = BLOCK_FIX_LEAKS;
			else if (!strcmp(optarg, "all"))
				fix = BLOCK_FIX_LEAKS | BLOCK_FIX_ERRORS;
			else {
				img_err("invalid -r '%s' (leaks or all)", optarg);
				return 1;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'U':
			break;
		default:
			return 1;
		}
	}
	json = !strcmp(out, "json");
	if ((!json && strcmp(out, "human")) || optind != argc - 1) {
		img_err("usage: check [-f fmt] [-r leaks|all] "
			"[--output=human|json] FILE");
		return 1;
	}
	dev = img_open(argv[optind], fmt,
		       BLOCK_NO_BACKING | BLOCK_NO_IO |
		       (fix ? BLOCK_REPAIR : BLOCK_RDONLY));
	if (!dev)
		return 1;
	if (!dev->drv->check) {
		img_err("This image format does not support checks");
		block_close(dev);
		return 63;
	}
	ret = dev->drv->check(dev, fix, &r, json ? NULL : report, NULL);
	if (ret == -ENOTSUP) {
		/* a checker that cannot repair (vdi), as qemu-img says it */
		img_err("This image format does not support checks");
		block_close(dev);
		return 63;
	}
	if (ret < 0) {
		img_err("check of '%s' failed: %s", argv[optind], strerror(-ret));
		block_close(dev);
		return 1;
	}
	if (r.leaks_fixed || r.corruptions_fixed) {
		if (!json && !quiet)
			printf("The following inconsistencies were found and "
			       "repaired:\n\n    %llu leaked clusters\n    %llu "
			       "corruptions\n\nDouble checking the fixed image "
			       "now...\n",
			       (unsigned long long)r.leaks_fixed,
			       (unsigned long long)r.corruptions_fixed);
		ret = dev->drv->check(dev, 0, &r2, json ? NULL : report, NULL);
		if (!ret) {
			r2.leaks_fixed = r.leaks_fixed;
			r2.corruptions_fixed = r.corruptions_fixed;
			r2.leaks += r.leaks_fixed;
			r2.corruptions += r.corruptions_fixed;
			r = r2;
		}
	}
	if (json)
		print_json(&r, argv[optind], dev->drv->name);
	else if (!quiet)
		print_human(&r);
	/* a repair wrote to the image */
	if (!fix)
		block_close(dev);
	else if (img_close(dev))
		return 1;
	return exit_code(&r);
}
