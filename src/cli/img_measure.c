// SPDX-License-Identifier: MIT
/* cvisor img measure: file size a conversion to qcow2 or raw would need. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/cli.h"
#include "cli/img.h"

struct measure_opts {
	uint64_t cluster_size;
	unsigned refcount_bits;
	bool luks;
	struct luks_params lp; /* encrypt.* as create takes them */
};

static int measure_opt(void *ctx, const char *key, const char *val)
{
	struct measure_opts *o = ctx;
	unsigned long long v;

	if (!strcmp(key, "cluster_size") || !strcmp(key, "refcount_bits")) {
		if (parse_size(val, &v) || !v || (v & (v - 1))) {
			img_err("invalid %s '%s'", key, val);
			return -1;
		}
		if (*key == 'c')
			o->cluster_size = v;
		else
			o->refcount_bits = (unsigned)v;
	} else if (!strcmp(key, "encrypt.format")) {
		o->luks = !strcmp(val, "luks");
	} else if (!strcmp(key, "encrypt.cipher-alg")) {
		o->lp.cipher_alg = val;
	} else if (!strcmp(key, "encrypt.cipher-mode")) {
		o->lp.cipher_mode = val;
	} else if (!strcmp(key, "encrypt.ivgen-alg")) {
		o->lp.ivgen_alg = val;
	} else if (!strcmp(key, "encrypt.hash-alg")) {
		o->lp.hash_alg = val;
	}
	return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/*
 * Whether [off, off+*pnum) holds data, looking through dev's backing chain
 * (1 data, 0 zero or unallocated, negative errno).
 */
static int chain_data(struct block_dev *dev, uint64_t off, uint64_t len,
		      uint64_t *pnum)
{
	struct block_dev *back = qcow2_is(dev) ? qcow2_backing(dev) : NULL;
	uint64_t host;
	int st = block_status(dev, off, len, pnum, &host);

	if (st < 0)
		return st;
	if (!(st & BLOCK_STATUS_ALLOCATED) && back) {
		if (off >= back->length)
			return 0;
		if (*pnum > back->length - off)
			*pnum = back->length - off;
		return chain_data(back, off, *pnum, pnum);
	}
	return (st & BLOCK_STATUS_DATA) && !(st & BLOCK_STATUS_ZERO);
}

/* Bytes of whole cs-sized clusters that hold data, as qemu-img counts. */
static int data_bytes(struct block_dev *dev, uint64_t cs, uint64_t *data)
{
	uint64_t pnum;
	int st;

	for (uint64_t off = 0; off < dev->length; off += pnum) {
		st = chain_data(dev, off, dev->length - off, &pnum);
		if (st < 0)
			return st;
		if (st) {
			/* the rest of this cluster is written anyway */
			pnum = div_up(off + pnum, cs) * cs - off;
			*data += off % cs + pnum;
		}
	}
	return 0;
}

/* Header, tables and refcounts for data_clusters of a size-byte disk. */
static uint64_t qcow2_bytes(const struct measure_opts *o, uint64_t size,
			    uint64_t data_clusters)
{
	uint64_t cs = o->cluster_size, per_l2 = cs / 8;
	uint64_t l2 = div_up(div_up(size, cs), per_l2);
	uint64_t l1 = div_up(l2 * 8, cs);
	uint64_t per_rb = cs * 8 / o->refcount_bits, rb = 1, rt = 1, base, nrb;

	if (!l1)
		l1 = 1;
	base = 1 + l1 + l2 + data_clusters;
	for (;;) {
		nrb = div_up(base + rb + rt, per_rb);
		if (nrb == rb && div_up(nrb * 8, cs) == rt)
			break;
		rb = nrb;
		rt = div_up(nrb * 8, cs);
	}
	return (base + rb + rt) * cs;
}

int img_measure(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, 0, 'J' },
		{ "size", required_argument, 0, 'S' },
		{ 0, 0, 0, 0 },
	};
	struct measure_opts o = { .cluster_size = 65536, .refcount_bits = 16 };
	const char *ofmt = "raw", *fmt = NULL, *out = "human";
	unsigned long long size = 0;
	uint64_t data = 0, req, full, cs, luks = 0;
	char err[BLOCK_ERR_LEN];
	bool have_size = false, json, bitmaps = false;
	struct block_dev *dev;
	int opt, st;

	while ((opt = getopt_long(argc, argv, "f:O:o:U", lopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			fmt = optarg;
			break;
		case 'O':
			ofmt = optarg;
			break;
		case 'o':
			if (img_parse_opts(optarg, measure_opt, &o))
				return 1;
			break;
		case 'J':
			out = optarg;
			break;
		case 'S':
			if (parse_size(optarg, &size)) {
				img_err("invalid size '%s'", optarg);
				return 1;
			}
			have_size = true;
			break;
		case 'U':
			break;
		default:
			return 1;
		}
	}
	json = !strcmp(out, "json");
	if (!block_find_driver(ofmt)) {
		img_err("Unknown file format '%s'", ofmt);
		return 1;
	}
	if (strcmp(ofmt, "raw") && strcmp(ofmt, "qcow2")) {
		/* as qemu-img: vmdk, vdi, vpc and the rest have no measure */
		img_err("Block driver '%s' does not support size measurement",
			ofmt);
		return 1;
	}
	if (have_size == (argc - optind == 1) || argc - optind > 1) {
		img_err("measure: give either --size SIZE or FILE");
		return 1;
	}
	if (!have_size) {
		dev = img_open(argv[optind], fmt, BLOCK_RDONLY);
		if (!dev)
			return 1;
		size = dev->length;
		cs = o.cluster_size;
		/* qemu-img reports bitmaps when both sides could carry them */
		bitmaps = qcow2_is(dev) && !strcmp(ofmt, "qcow2");
		st = data_bytes(dev, cs, &data);
		block_close(dev);
		if (st < 0) {
			img_err("reading '%s' failed: %s", argv[optind],
				strerror(-st));
			return 1;
		}
	}
	if (o.luks && luks_area_bytes(&o.lp, &luks, err, sizeof(err))) {
		img_err("%s", err);
		return 1;
	}
	if (!strcmp(ofmt, "qcow2")) {
		/* like qemu-img: metadata of the fully allocated image */
		full = qcow2_bytes(&o, size, div_up(size, o.cluster_size) +
						     div_up(luks, o.cluster_size));
		req = full - div_up(size, o.cluster_size) * o.cluster_size +
		      data;
	} else {
		req = full = size;
	}
	if (json)
		printf("{\n%s    \"required\": %llu,\n"
		       "    \"fully-allocated\": %llu\n}\n",
		       bitmaps ? "    \"bitmaps\": 0,\n" : "",
		       (unsigned long long)req, (unsigned long long)full);
	else
		printf("required size: %llu\nfully allocated size: %llu\n%s",
		       (unsigned long long)req, (unsigned long long)full,
		       bitmaps ? "bitmaps size: 0\n" : "");
	return 0;
}
