// SPDX-License-Identifier: MIT
/* cvisor img info */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/img.h"

static void print_human(struct block_dev *dev, const char *path)
{
	char vs[32], ds[32], full[PATH_MAX];
	struct qcow2_info qi;
	struct qcow2_snapshot_info *l;
	unsigned n;

	img_human_size(dev->length, vs, sizeof(vs));
	/* a network disk is a raw image whose host usage is not known */
	if (dev->drv->scheme)
		snprintf(ds, sizeof(ds), "unavailable");
	else
		img_human_size(block_allocated_size(dev), ds, sizeof(ds));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\n"
	       "disk size: %s\n", path, dev->drv->scheme ? "raw" : dev->drv->name, vs,
	       (unsigned long long)dev->length, ds);
	if (!qcow2_is(dev)) {
		img_info_driver_human(dev);
		return;
	}
	qcow2_get_info(dev, &qi);
	if (qi.crypt_method)
		printf("encrypted: yes\n");
	printf("cluster_size: %llu\n", (unsigned long long)qi.cluster_size);
	if (qi.backing_file) {
		img_backing_path(path, qi.backing_file, full, sizeof(full));
		printf("backing file: %s", qi.backing_file);
		if (strcmp(full, qi.backing_file))
			printf(" (actual path: %s)", full);
		printf("\n");
	}
	if (qi.backing_fmt)
		printf("backing file format: %s\n", qi.backing_fmt);
	if (!qcow2_snapshot_list(dev, &l, &n)) {
		if (n)
			img_print_snapshots(l, n);
		qcow2_snapshot_list_free(l, n);
	}
	printf("Format specific information:\n    compat: %s\n"
	       "    compression type: %s\n",
	       qi.version == 2 ? "0.10" : "1.1",
	       qi.compression == QCOW2_COMP_ZSTD ? "zstd" : "zlib");
	if (qi.version >= 3)
		printf("    lazy refcounts: %s\n",
		       qi.lazy_refcounts ? "true" : "false");
	printf("    refcount bits: %u\n", qi.refcount_bits);
	img_info_encrypt_human(&qi);
	if (qi.version >= 3)
		printf("    corrupt: %s\n    extended l2: false\n",
		       qi.corrupt ? "true" : "false");
}

static void print_snapshots_json(FILE *f, struct block_dev *dev)
{
	struct qcow2_snapshot_info *l;
	unsigned n;

	if (qcow2_snapshot_list(dev, &l, &n))
		return;
	if (n) {
		fprintf(f, "    \"snapshots\": [\n");
		for (unsigned i = 0; i < n; i++) {
			fprintf(f, "        {\n");
			if (l[i].icount != UINT64_MAX)
				fprintf(f, "            \"icount\": %llu,\n",
				       (unsigned long long)l[i].icount);
			fprintf(f, "            \"vm-clock-nsec\": %llu,\n"
			       "            \"name\": ",
			       (unsigned long long)(l[i].vm_clock_nsec %
						    1000000000ull));
			img_json_str(f, l[i].name);
			fprintf(f, ",\n            \"date-sec\": %u,\n"
			       "            \"date-nsec\": %u,\n"
			       "            \"vm-clock-sec\": %llu,\n"
			       "            \"id\": ",
			       l[i].date_sec, l[i].date_nsec,
			       (unsigned long long)(l[i].vm_clock_nsec /
						    1000000000ull));
			img_json_str(f, l[i].id);
			fprintf(f, ",\n            \"vm-state-size\": %llu\n        }%s\n",
			       (unsigned long long)l[i].vm_state_size,
			       i + 1 < n ? "," : "");
		}
		fprintf(f, "    ],\n");
	}
	qcow2_snapshot_list_free(l, n);
}

static void print_json(FILE *f, struct block_dev *dev, const char *path)
{
	struct qcow2_info qi;
	char full[PATH_MAX];

	fprintf(f, "{\n");
	if (qcow2_is(dev)) {
		qcow2_get_info(dev, &qi);
		if (qi.backing_fmt) {
			fprintf(f, "    \"backing-filename-format\": ");
			img_json_str(f, qi.backing_fmt);
			fprintf(f, ",\n");
		}
		print_snapshots_json(f, dev);
	}
	fprintf(f, "    \"virtual-size\": %llu,\n    \"filename\": ",
	       (unsigned long long)dev->length);
	img_json_str(f, path);
	/* after the filename, where qemu-img puts it, for every format */
	if (qcow2_is(dev))
		fprintf(f, ",\n    \"cluster-size\": %llu",
		       (unsigned long long)qi.cluster_size);
	else if (dev->drv->cluster_size && dev->drv->cluster_size(dev))
		fprintf(f, ",\n    \"cluster-size\": %llu",
			(unsigned long long)dev->drv->cluster_size(dev));
	if (dev->drv->scheme)
		fprintf(f, ",\n    \"format\": \"raw\",\n");
	else
		fprintf(f, ",\n    \"format\": \"%s\",\n    \"actual-size\": %llu,\n",
			dev->drv->name,
			(unsigned long long)block_allocated_size(dev));
	if (!qcow2_is(dev))
		img_info_driver_json(f, dev);
	if (qcow2_is(dev)) {
		fprintf(f, "    \"format-specific\": {\n        \"type\": \"qcow2\",\n"
		       "        \"data\": {\n            \"compat\": \"%s\",\n",
		       qi.version == 2 ? "0.10" : "1.1");
		fprintf(f, "            \"compression-type\": \"%s\",\n",
			qi.compression == QCOW2_COMP_ZSTD ? "zstd" : "zlib");
		if (qi.version >= 3)
			fprintf(f, "            \"lazy-refcounts\": %s,\n",
				qi.lazy_refcounts ? "true" : "false");
		fprintf(f, "            \"refcount-bits\": %u", qi.refcount_bits);
		img_info_encrypt_json(f, &qi);
		if (qi.version >= 3)
			fprintf(f, ",\n            \"corrupt\": %s,\n"
				"            \"extended-l2\": false",
				qi.corrupt ? "true" : "false");
		fprintf(f, "\n        }\n    },\n");
		if (qi.backing_file) {
			img_backing_path(path, qi.backing_file, full, sizeof(full));
			fprintf(f, "    \"full-backing-filename\": ");
			img_json_str(f, qi.backing_file[0] == '/' ? qi.backing_file : full);
			fprintf(f, ",\n    \"backing-filename\": ");
			img_json_str(f, qi.backing_file);
			fprintf(f, ",\n");
		}
	}
	if (qcow2_is(dev) && qi.crypt_method)
		fprintf(f, "    \"encrypted\": true,\n");
	fprintf(f, "    \"dirty-flag\": %s\n}",
	       qcow2_is(dev) && qi.dirty ? "true" : "false");
}

/* The JSON object of one image, each line prefixed with indent. */
static void print_json_at(struct block_dev *dev, const char *path,
			  const char *indent)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool first = true;

	if (!f)
		return;
	print_json(f, dev, path);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		printf("%s%s%s", first ? "" : "\n", indent, line);
		first = false;
	}
	free(text);
}

int img_info(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, 0, 'O' },
		{ "backing-chain", no_argument, 0, 'B' },
		{ "force-share", no_argument, 0, 'U' },
		{ 0, 0, 0, 0 },
	};
	const char *fmt = NULL, *out = "human";
	char path[PATH_MAX], next[PATH_MAX], fmtbuf[32];
	bool chain = false, json;
	int opt, depth = 0;

	while ((opt = getopt_long(argc, argv, "f:U", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			out = optarg;
			break;
		case 'B':
			chain = true;
			break;
		case 'U':
			break;
		default:
			return 1;
		}
	}
	json = !strcmp(out, "json");
	if (!json && strcmp(out, "human")) {
		img_err("--output must be human or json, not '%s'", out);
		return 1;
	}
	if (optind != argc - 1) {
		img_err("info: expected one FILE");
		return 1;
	}
	/* with --image-opts the first image is an option list: show its file */
	snprintf(path, sizeof(path), "%s", img_filename(argv[optind]));
	if (json && chain)
		printf("[\n");
	for (;;) {
		int fl = BLOCK_RDONLY | BLOCK_NO_BACKING | BLOCK_NO_IO;
		struct block_dev *dev = depth ? img_open_key(path, fmt, fl, NULL) :
						img_open(argv[optind], fmt, fl);
		struct qcow2_info qi = { 0 };

		if (!dev)
			return 1;
		if (depth)
			printf(json ? ",\n" : "\n");
		/* dev->path: a URL's password is not printed */
		if (json)
			print_json_at(dev, dev->path, chain ? "    " : "");
		else
			print_human(dev, dev->path);
		if (qcow2_is(dev))
			qcow2_get_info(dev, &qi);
		if (qi.backing_file)
			img_backing_path(path, qi.backing_file, next, sizeof(next));
		snprintf(fmtbuf, sizeof(fmtbuf), "%s",
			 qi.backing_fmt ? qi.backing_fmt : "");
		fmt = fmtbuf[0] ? fmtbuf : NULL;
		block_close(dev);
		if (!chain || !qi.backing_file || ++depth >= BLOCK_MAX_CHAIN)
			break;
		memcpy(path, next, sizeof(path));
	}
	printf(json && chain ? "\n]\n" : json ? "\n" : "");
	return 0;
}
