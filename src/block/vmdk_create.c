// SPDX-License-Identifier: MIT
/*
 * "img create -f vmdk": the subformats qemu-img makes, laid out as it lays
 * them out so either tool reads the other's images. A hosted sparse extent
 * is header, descriptor room, redundant directory and tables, directory
 * and tables, padded to a grain; its tables are all preallocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "block/vmdk_int.h"

#define GRAIN_SECTORS 128u
#define GTES          512u
#define DESC_SECTORS  20u
#define TWO_GB        (2ull << 30)
#define MAX_SPARSE    (2ull << 40) /* table entries address 2 TiB of file */

const char vmdk_create_help[] =
	"  adapter_type=<str>     - Virtual adapter type, can be one of ide "
	"(default), lsilogic, buslogic or legacyESX\n"
	"  compat6=<bool (on/off)> - VMDK version 6 image\n"
	"  hwversion=<str>        - VMDK hardware version\n"
	"  subformat=<str>        - VMDK flat extent format, can be one of "
	"{monolithicSparse (default) | monolithicFlat | twoGbMaxExtentSparse "
	"| twoGbMaxExtentFlat | streamOptimized}\n"
	"  toolsversion=<str>     - VMware guest tools version\n"
	"  zeroed_grain=<bool (on/off)> - Enable efficient zero writes using "
	"the zeroed-grain GTE feature\n";

enum sub { MONO_SPARSE, MONO_FLAT, TWOGB_SPARSE, TWOGB_FLAT, STREAM };

static const char *const sub_names[] = {
	"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
	"twoGbMaxExtentFlat", "streamOptimized",
};

struct create {
	enum sub sub;
	const char *adapter, *hw, *tools;
	bool zeroed_grain;
	int heads;
};

static int write_file(const char *path, const void *b, size_t len,
		      uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (len)
		ret = block_fd_pwrite(fd, b, len, 0);
	if (!ret && ftruncate(fd, (off_t)(size > len ? size : len)) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* A sparse extent of capacity sectors, desc (if any) embedded. */
static int make_sparse(const char *path, uint64_t capacity, bool stream,
		       bool zeroed, const char *desc)
{
	uint64_t ngt = (capacity + GRAIN_SECTORS * GTES - 1) /
		       (GRAIN_SECTORS * GTES);
	uint64_t gd_sec = (ngt * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	uint64_t gt_sec = ngt * GTES * 4 / VMDK_SECTOR, end, len;
	struct vmdk_header h = {
		.version = 1, .flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD,
		.capacity = capacity, .grain = GRAIN_SECTORS,
		.desc_off = 1, .desc_size = DESC_SECTORS, .gtes = GTES,
	};
	uint8_t *b;
	int ret;

	if (stream) {
		/* an empty stream: a zero directory, the footer, the end */
		h.version = 3;
		h.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED |
			  VMDK_FLAG_MARKERS;
		h.compress = 1;
		h.gd_off = VMDK_GD_AT_END;
		h.overhead = GRAIN_SECTORS;
		len = (h.overhead + 1 + gd_sec + 3) * VMDK_SECTOR;
	} else {
		if (zeroed) {
			h.version = 2;
			h.flags |= VMDK_FLAG_ZERO_GRAIN;
		}
		h.rgd_off = 1 + DESC_SECTORS;
		h.gd_off = h.rgd_off + gd_sec + gt_sec;
		end = h.gd_off + gd_sec + gt_sec;
		h.overhead = (end + GRAIN_SECTORS - 1) / GRAIN_SECTORS *
			     GRAIN_SECTORS;
		len = h.gd_off * VMDK_SECTOR + gd_sec * VMDK_SECTOR;
	}
	b = calloc(1, len);
	if (!b)
		return -ENOMEM;
	vmdk_header_encode(b, &h);
	if (desc)
		memcpy(b + VMDK_SECTOR, desc, strlen(desc));
	if (stream) {
		uint8_t *p = b + h.overhead * VMDK_SECTOR;
		struct vmdk_header f = h;

		put_le64(p, gd_sec);
		put_le32(p + 12, VMDK_MARKER_GD);
		f.gd_off = h.overhead + 1;
		p += (1 + gd_sec) * VMDK_SECTOR;
		put_le64(p, 1);
		put_le32(p + 12, VMDK_MARKER_FOOTER);
		vmdk_header_encode(p + VMDK_SECTOR, &f);
	} else {
		for (uint64_t i = 0; i < ngt; i++) {
			put_le32(b + h.rgd_off * VMDK_SECTOR + i * 4,
				      (uint32_t)(h.rgd_off + gd_sec + i * 4));
			put_le32(b + h.gd_off * VMDK_SECTOR + i * 4,
				      (uint32_t)(h.gd_off + gd_sec + i * 4));
		}
	}
	ret = write_file(path, b, len, stream ? len : h.overhead * VMDK_SECTOR);
	free(b);
	return ret;
}

/* "dir/name.ext" -> "name" and ".ext", the parts extent names are made of */
static void split_name(const char *path, char *stem, char *ext, size_t n)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = base + strlen(base);
	snprintf(stem, n, "%.*s", (int)(dot - base), base);
	snprintf(ext, n, "%s", dot);
}

static int parse_opts(struct block_opts *o, struct create *c, char *err,
		      size_t errlen)
{
	const char *sub = block_opt_get(o, "subformat");
	const char *c6 = block_opt_get(o, "compat6");
	const char *zg = block_opt_get(o, "zeroed_grain");
	size_t i;

	c->adapter = block_opt_get(o, "adapter_type");
	c->hw = block_opt_get(o, "hwversion");
	c->tools = block_opt_get(o, "toolsversion");
	c->sub = MONO_SPARSE;
	for (i = 0; sub && i < sizeof(sub_names) / sizeof(sub_names[0]); i++)
		if (!strcmp(sub, sub_names[i]))
			break;
	if (sub && i == sizeof(sub_names) / sizeof(sub_names[0])) {
		snprintf(err, errlen, "unknown vmdk subformat '%s'", sub);
		return -EINVAL;
	}
	if (sub)
		c->sub = (enum sub)i;
	if (!c->adapter)
		c->adapter = "ide";
	if (strcmp(c->adapter, "ide") && strcmp(c->adapter, "lsilogic") &&
	    strcmp(c->adapter, "buslogic") && strcmp(c->adapter, "legacyESX")) {
		snprintf(err, errlen, "unknown vmdk adapter_type '%s'",
			 c->adapter);
		return -EINVAL;
	}
	c->heads = strcmp(c->adapter, "ide") ? 255 : 16;
	if (c6 && strcmp(c6, "on") && strcmp(c6, "off")) {
		snprintf(err, errlen, "compat6 must be on or off, not '%s'", c6);
		return -EINVAL;
	}
	if (zg && strcmp(zg, "on") && strcmp(zg, "off")) {
		snprintf(err, errlen, "zeroed_grain must be on or off, not '%s'",
			 zg);
		return -EINVAL;
	}
	c->zeroed_grain = zg && !strcmp(zg, "on");
	if (c6 && !strcmp(c6, "on")) {
		if (c->hw) {
			snprintf(err, errlen, "compat6 cannot be combined with "
				 "hwversion");
			return -EINVAL;
		}
		c->hw = "6";
	}
	if (!c->hw)
		c->hw = "4";
	if (!c->tools)
		c->tools = "2147483647";
	if (strchr(c->hw, '"') || strchr(c->hw, '\n') ||
	    strchr(c->tools, '"') || strchr(c->tools, '\n')) {
		snprintf(err, errlen, "hwversion and toolsversion cannot hold "
			 "quotes or newlines");
		return -EINVAL;
	}
	return 0;
}

static char *descriptor(const struct create *c, uint64_t sectors,
			const char *extents)
{
	uint32_t cid;
	char *d;

	if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
		cid = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	if (asprintf(&d, "# Disk DescriptorFile\nversion=1\nCID=%08x\n"
		     "parentCID=ffffffff\ncreateType=\"%s\"\n\n"
		     "# Extent description\n%s\n"
		     "# The Disk Data Base\n#DDB\n\n"
		     "ddb.virtualHWVersion = \"%s\"\n"
		     "ddb.geometry.cylinders = \"%llu\"\n"
		     "ddb.geometry.heads = \"%d\"\n"
		     "ddb.geometry.sectors = \"63\"\n"
		     "ddb.adapterType = \"%s\"\n"
		     "ddb.toolsVersion = \"%s\"\n",
		     cid, sub_names[c->sub], extents, c->hw,
		     (unsigned long long)(sectors / (uint64_t)(c->heads * 63)),
		     c->heads, c->adapter, c->tools) < 0)
		return NULL;
	return d;
}

/* The extent files and their lines in the descriptor. */
static int make_extents(const char *path, const struct create *c,
			uint64_t size, char **lines)
{
	char stem[PATH_MAX], ext[PATH_MAX], *dir = strdup(path), *d;
	char *l = NULL, *nl, *name = NULL, *full = NULL;
	bool flat = c->sub == MONO_FLAT || c->sub == TWOGB_FLAT;
	uint64_t piece = c->sub == MONO_FLAT ? size : TWO_GB, off;
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	split_name(path, stem, ext, sizeof(stem));
	d = dirname(dir);
	for (off = 0; off < size && !ret; off += piece) {
		uint64_t n = size - off < piece ? size - off : piece;
		unsigned k = (unsigned)(off / piece) + 1;

		if ((c->sub == MONO_FLAT ?
			     asprintf(&name, "%s-flat%s", stem, ext) :
			     asprintf(&name, "%s-%c%03u%s", stem,
				      flat ? 'f' : 's', k, ext)) < 0 ||
		    asprintf(&full, "%s/%s", d, name) < 0) {
			name = full = NULL;
			ret = -ENOMEM;
		}
		if (!ret)
			ret = flat ? write_file(full, NULL, 0, n) :
				     make_sparse(full, n / VMDK_SECTOR, false,
						 c->zeroed_grain, NULL);
		if (!ret && asprintf(&nl, "%sRW %llu %s \"%s\"%s\n",
				     l ? l : "",
				     (unsigned long long)(n / VMDK_SECTOR),
				     flat ? "FLAT" : "SPARSE", name,
				     flat ? " 0" : "") < 0)
			ret = -ENOMEM;
		if (!ret) {
			free(l);
			l = nl;
		}
		free(name);
		free(full);
		name = full = NULL;
	}
	free(dir);
	if (ret)
		free(l);
	else
		*lines = l;
	return ret;
}

int vmdk_create(const char *path, uint64_t size, struct block_opts *opts,
		char *err, size_t errlen)
{
	struct create c;
	char *lines = NULL, *desc = NULL, *name;
	int ret = parse_opts(opts, &c, err, errlen);

	if (ret)
		return ret;
	ret = block_opts_done(opts, "vmdk", err, errlen);
	if (ret)
		return ret;
	size = (size + VMDK_SECTOR - 1) & ~(VMDK_SECTOR - 1);
	/* an extent of 0 sectors is no valid descriptor line */
	if (!size) {
		snprintf(err, errlen, "vmdk %s needs a size above zero",
			 sub_names[c.sub]);
		return -EINVAL;
	}
	if ((c.sub == MONO_SPARSE || c.sub == STREAM) ? size > MAX_SPARSE :
	    size > VMDK_MAX_SECTORS * VMDK_SECTOR) {
		snprintf(err, errlen, "size %llu is too large for vmdk %s",
			 (unsigned long long)size, sub_names[c.sub]);
		return -EFBIG;
	}
	if (c.sub == MONO_SPARSE || c.sub == STREAM) {
		name = strrchr(path, '/');
		if (asprintf(&lines, "RW %llu SPARSE \"%s\"\n",
			     (unsigned long long)(size / VMDK_SECTOR),
			     name ? name + 1 : path) < 0)
			return -ENOMEM;
	} else {
		ret = make_extents(path, &c, size, &lines);
	}
	if (!ret) {
		desc = descriptor(&c, size / VMDK_SECTOR, lines);
		ret = desc ? 0 : -ENOMEM;
	}
	if (!ret && strlen(desc) > DESC_SECTORS * VMDK_SECTOR &&
	    (c.sub == MONO_SPARSE || c.sub == STREAM))
		ret = -ENAMETOOLONG;
	if (!ret)
		ret = (c.sub == MONO_SPARSE || c.sub == STREAM) ?
			      make_sparse(path, size / VMDK_SECTOR,
					  c.sub == STREAM, c.zeroed_grain, desc) :
			      write_file(path, desc, strlen(desc), 0);
	if (ret && !err[0])
		snprintf(err, errlen, "creating '%s': %s", path, strerror(-ret));
	free(lines);
	free(desc);
	return ret;
}
