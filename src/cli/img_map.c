// SPDX-License-Identifier: MIT
/* cvisor img map: where each guest range lives in the backing chain. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/img.h"

struct extent {
	uint64_t start, len, offset;
	int depth, flags;
	const char *file;
	bool valid;
};

struct mapper {
	bool json;
	bool first;
	bool failed; /* human output cannot show a compressed cluster */
	struct extent cur;
};

static void emit(struct mapper *m, const struct extent *e)
{
	bool present = e->flags & (BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_DATA);
	bool data = e->flags & BLOCK_STATUS_DATA;
	bool zero = e->flags & BLOCK_STATUS_ZERO;

	if (m->failed)
		return;
	if (!m->json) {
		if (data && !(e->flags & BLOCK_STATUS_OFFSET)) {
			img_err("File contains external, encrypted or compressed "
				"clusters.");
			m->failed = true;
			return;
		}
		if (data && !zero)
			printf("%#-16llx%#-16llx%#-16llx%s\n",
			       (unsigned long long)e->start,
			       (unsigned long long)e->len,
			       (unsigned long long)e->offset, e->file);
		return;
	}
	printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %d, "
	       "\"present\": %s, \"zero\": %s, \"data\": %s",
	       m->first ? "[" : ",\n", (unsigned long long)e->start,
	       (unsigned long long)e->len, e->depth, present ? "true" : "false",
	       zero ? "true" : "false", data ? "true" : "false");
	if (e->flags & BLOCK_STATUS_OFFSET)
		printf(", \"offset\": %llu", (unsigned long long)e->offset);
	printf("}");
	m->first = false;
}

static void add(struct mapper *m, const struct extent *e)
{
	struct extent *c = &m->cur;

	if (c->valid && c->depth == e->depth && c->flags == e->flags &&
	    c->start + c->len == e->start && c->file == e->file &&
	    (!(e->flags & BLOCK_STATUS_OFFSET) ||
	     c->offset + c->len == e->offset)) {
		c->len += e->len;
		return;
	}
	if (c->valid)
		emit(m, c);
	*c = *e;
	c->valid = true;
}

/* Maps [off, off+len) of dev (depth in the chain) into extents. */
static int map_range(struct mapper *m, struct block_dev *dev, int depth,
		     uint64_t off, uint64_t len)
{
	uint64_t pnum, host;
	struct block_dev *back;
	int st;

	while (len) {
		st = block_status(dev, off, len, &pnum, &host);
		if (st < 0)
			return st;
		back = qcow2_is(dev) ? qcow2_backing(dev) : NULL;
		if (!(st & BLOCK_STATUS_ALLOCATED) && back) {
			uint64_t in = off < back->length ?
				(pnum < back->length - off ? pnum : back->length - off) : 0;

			if (in && map_range(m, back, depth + 1, off, in))
				return -1;
			if (pnum > in)
				add(m, &(struct extent){ off + in, pnum - in, 0,
							 depth + 1, BLOCK_STATUS_ZERO,
							 dev->path, true });
		} else {
			if (!(st & BLOCK_STATUS_ALLOCATED))
				st = BLOCK_STATUS_ZERO;
			add(m, &(struct extent){ off, pnum, host, depth,
						 st & ~BLOCK_STATUS_COMPRESSED,
						 dev->path, true });
		}
		off += pnum;
		len -= pnum;
	}
	return 0;
}

int img_map(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "output", required_argument, 0, 'O' },
		{ 0, 0, 0, 0 },
	};
	const char *fmt = NULL, *out = "human";
	struct mapper m = { .first = true };
	struct block_dev *dev;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "f:U", lopts, NULL)) != -1) {
		if (opt == 'f')
			fmt = optarg;
		else if (opt == 'O')
			out = optarg;
		else if (opt == '?')
			return 1;
	}
	m.json = !strcmp(out, "json");
	if ((!m.json && strcmp(out, "human")) || argc - optind != 1) {
		img_err("usage: map [-f fmt] [--output=human|json] FILE");
		return 1;
	}
	dev = img_open(argv[optind], fmt, BLOCK_RDONLY);
	if (!dev)
		return 1;
	if (!m.json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
		       "File");
	ret = map_range(&m, dev, 0, 0, dev->length);
	if (m.cur.valid)
		emit(&m, &m.cur);
	if (m.json)
		printf(m.first ? "[]\n" : "]\n");
	block_close(dev);
	return ret || m.failed ? 1 : 0;
}
