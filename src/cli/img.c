// SPDX-License-Identifier: MIT
/* "cvisor img": qemu-img compatible image tool; dispatch and helpers. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/qcow2.h"
#include "cli/cli.h"
#include "cli/img.h"
#include "cli/secret.h"

bool img_image_opts;

struct img_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct img_cmd cmds[] = {
	{ "create", img_create,
	  "create [-f fmt] [-b backing [-F backing_fmt]] [-o opts] [-u] FILE [SIZE]" },
	{ "info", img_info,
	  "info [-f fmt] [--output=human|json] [--backing-chain] FILE" },
	{ "check", img_check,
	  "check [-f fmt] [-r leaks|all] [--output=human|json] FILE" },
	{ "convert", img_convert,
	  "convert [-f fmt] [-O fmt] [-c] [-p] [-o opts] SRC DST" },
	{ "resize", img_resize, "resize [-f fmt] [--shrink] FILE [+|-]SIZE" },
	{ "snapshot", img_snapshot, "snapshot [-l | -c|-a|-d NAME] FILE" },
	{ "commit", img_commit, "commit [-f fmt] [-d] FILE" },
	{ "rebase", img_rebase, "rebase [-f fmt] [-u] -b NEW [-F fmt] FILE" },
	{ "compare", img_compare, "compare [-f fmt] [-F fmt] [-s] A B" },
	{ "map", img_map, "map [-f fmt] [--output=human|json] FILE" },
	{ "amend", img_amend,
	  "amend [-f fmt] -o encrypt.state=active|inactive,... FILE" },
	{ "measure", img_measure,
	  "measure [-O fmt] [-o opts] [--output=human|json] (--size SIZE | FILE)" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

void img_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cvisor img: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int img_close(struct block_dev *dev)
{
	char path[PATH_MAX];
	int ret;

	if (!dev)
		return 0;
	snprintf(path, sizeof(path), "%s", dev->path);
	ret = block_close(dev);
	if (ret)
		img_err("finishing '%s': %s", path, strerror(-ret));
	return ret ? -1 : 0;
}

/*
 * The chain from path, which is level base of the chain the user's
 * options name (1: the backing file of an image "img commit" names), so
 * that messages name its options as the user gives them.
 */
static struct block_dev *open_chain_at(const char *path, const char *fmt,
				       int flags, const char *const *ids,
				       int n, int base)
{
	struct block_open_opts o[IMG_MAX_KEYS] = { 0 };
	struct block_dev *dev;
	char err[BLOCK_ERR_LEN];

	/* o[i] is the i-th file of the chain: the top, its backing, ... */
	for (int i = 0; i < n && i < IMG_MAX_KEYS; i++) {
		if (i + 1 < n)
			o[i].backing = &o[i + 1];
		o[i].level = base ? base + i : 0;
		if (ids[i] && !(o[i].key = secret_get(ids[i], &o[i].key_len))) {
			img_err("no secret with id '%s' (give it with --object "
				"secret,id=%s,file=FILE)", ids[i], ids[i]);
			return NULL;
		}
	}
	if (block_open_opts(path, fmt, flags, o, &dev, err, sizeof(err)) < 0) {
		img_err("%s", err);
		return NULL;
	}
	return dev;
}

struct block_dev *img_open_chain(const char *path, const char *fmt,
				 int flags, const char *const *ids, int n)
{
	return open_chain_at(path, fmt, flags, ids, n, 0);
}

struct block_dev *img_open_key(const char *path, const char *fmt, int flags,
			       const char *secret_id)
{
	return img_open_chain(path, fmt, flags, &secret_id, 1);
}

struct block_dev *img_open_backing_of(const char *spec, const char *path,
				      const char *fmt, int flags)
{
	char key[8 * IMG_MAX_KEYS + 32], id[IMG_MAX_KEYS][256];
	const char *ids[IMG_MAX_KEYS] = { 0 };

	/* the top's level l is level l - 1 of its backing file */
	for (int l = 1; img_image_opts && l < IMG_MAX_KEYS; l++) {
		key[0] = 0;
		for (int k = 0; k < l; k++)
			strcat(key, "backing.");
		strcat(key, "encrypt.key-secret");
		img_opt_value(spec, key, id[l - 1], sizeof(id[l - 1]));
		if (id[l - 1][0])
			ids[l - 1] = id[l - 1];
	}
	return open_chain_at(path, fmt, flags, ids, IMG_MAX_KEYS - 1, 1);
}

/*
 * "backing.encrypt.key-secret" is the backing file's secret (level 1),
 * "backing.backing.encrypt.key-secret" its backing's: the level, or -1.
 */
static int backing_level(const char **key)
{
	int n = 0;

	while (!strncmp(*key, "backing.", 8)) {
		*key += 8;
		n++;
	}
	return n < IMG_MAX_KEYS ? n : -1;
}

/*
 * qemu-img's options of an iSCSI LUN, "driver=iscsi,transport=tcp,
 * portal=HOST:PORT,target=IQN,lun=N[,user=U,password-secret=ID]", as the
 * URL the block layer opens; the password comes from the secret.
 */
struct iscsi_opts {
	const char *portal, *target, *lun, *user, *secret;
};

static bool iscsi_opt(struct iscsi_opts *io, const char *key, const char *val)
{
	if (!strcmp(key, "portal"))
		io->portal = val;
	else if (!strcmp(key, "target"))
		io->target = val;
	else if (!strcmp(key, "lun"))
		io->lun = val;
	else if (!strcmp(key, "user"))
		io->user = val;
	else if (!strcmp(key, "password-secret"))
		io->secret = val;
	else
		return !strcmp(key, "transport") && !strcmp(val, "tcp");
	return true;
}

static int iscsi_url_of(const struct iscsi_opts *io, char *url, size_t len)
{
	if (!io->portal || !io->target || !io->lun) {
		img_err("--image-opts: driver=iscsi needs portal=, target= and lun=");
		return -1;
	}
	snprintf(url, len, "iscsi://%s%s%s/%s/%s", io->user ? io->user : "",
		 io->user ? "@" : "", io->portal, io->target, io->lun);
	return 0;
}

/* "driver=qcow2,file.filename=PATH,encrypt.key-secret=ID" */
static struct block_dev *open_image_opts(const char *spec, int flags)
{
	char *copy = strdup(spec), *s = copy, *tok, url[1100];
	const char *file = NULL, *drv = NULL, *secret[IMG_MAX_KEYS] = { 0 };
	struct block_dev *dev = NULL;
	struct iscsi_opts io = { 0 };
	int levels = 1;

	if (!copy)
		return NULL;
	while ((tok = strsep(&s, ","))) {
		char *eq = strchr(tok, '=');
		const char *key = tok;
		int level;

		if (!eq) {
			img_err("--image-opts: '%s' needs a value", tok);
			goto out;
		}
		*eq++ = 0;
		level = backing_level(&key);
		if (level < 0) {
			img_err("--image-opts: '%s': a backing chain takes keys "
				"for at most %d levels (backing. %d times)", tok,
				IMG_MAX_KEYS, IMG_MAX_KEYS - 1);
			goto out;
		}
		if (level > 0 && !strcmp(key, "encrypt.key-secret")) {
			secret[level] = eq;
			levels = level + 1 > levels ? level + 1 : levels;
		} else if (level) {
			img_err("--image-opts: unknown option '%s' (a backing "
				"file takes only %.*sencrypt.key-secret=)", tok,
				(int)(key - tok), tok);
			goto out;
		} else if (!strcmp(tok, "file.filename") || !strcmp(tok, "filename"))
			file = eq;
		else if (!strcmp(tok, "driver"))
			drv = eq;
		else if (!strcmp(tok, "encrypt.key-secret"))
			secret[0] = eq;
		else if (iscsi_opt(&io, tok, eq))
			continue;
		else if (!strcmp(tok, "transport")) {
			img_err("--image-opts: transport=%s: only tcp", eq);
			goto out;
		}
		else if (strcmp(tok, "file.driver") && strcmp(tok, "encrypt.format")) {
			img_err("--image-opts: unknown option '%s'", tok);
			goto out;
		}
	}
	if (drv && !strcmp(drv, "iscsi")) {
		if (iscsi_url_of(&io, url, sizeof(url)))
			goto out;
		file = url;
		secret[0] = io.secret;
	}
	if (!file) {
		img_err("--image-opts: file.filename= is missing in '%s'", spec);
		goto out;
	}
	dev = img_open_chain(file, drv, flags, secret, levels);
out:
	free(copy);
	return dev;
}

struct block_dev *img_open(const char *path, const char *fmt, int flags)
{
	if (img_image_opts)
		return open_image_opts(path, flags);
	return img_open_key(path, fmt, flags, NULL);
}

void img_opt_value(const char *list, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = list;

	out[0] = 0;
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=')
			snprintf(out, len, "%.*s", (int)strcspn(p + klen + 1, ","),
				 p + klen + 1);
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
}

const char *img_filename(const char *path)
{
	static char name[4096];
	const char *p;

	if (!img_image_opts || !(p = strstr(path, "filename=")))
		return path;
	p += strlen("filename=");
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, ","), p);
	return name;
}

/* data=TEXT of a secret: blanked in our argv, so ps shows it no longer. */
static void scrub_data(char *spec)
{
	char *p = strstr(spec, "data=");

	if (!p || (p != spec && p[-1] != ','))
		return;
	for (p += 5; *p && *p != ','; p++)
		*p = '*';
}

/*
 * Takes the options every command shares out of argv: --object (secrets)
 * and --image-opts. Returns the new argc, or -1 after an error message.
 */
static int common_opts(int argc, char **argv)
{
	char err[BLOCK_ERR_LEN];
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *spec = NULL;

		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--image-opts")) {
			img_image_opts = true;
			continue;
		}
		if (!strncmp(argv[i], "--object=", 9)) {
			spec = argv[i] + 9;
		} else if (!strcmp(argv[i], "--object")) {
			if (i + 1 >= argc) {
				img_err("--object needs an argument");
				return -1;
			}
			spec = argv[++i];
		} else {
			argv[out++] = argv[i];
			continue;
		}
		if (secret_object_add(spec, err, sizeof(err))) {
			img_err("%s", err);
			return -1;
		}
		scrub_data((char *)spec);
	}
	argv[out] = NULL;
	return out;
}

void img_human_size(uint64_t v, char *buf, size_t len)
{
	static const char *const unit[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi",
					    "Ei" };
	int i = 0;

	/* switch unit once the integer part would reach 1000 */
	while (i < 6 && (double)v >= 1000.0 * (double)(1ull << (i * 10)))
		i++;
	snprintf(buf, len, "%0.3g %sB", (double)v / (double)(1ull << (i * 10)),
		 unit[i]);
}

void img_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int img_parse_opts(char *list, int (*fn)(void *ctx, const char *key,
					 const char *val),
		   void *ctx)
{
	char *save = NULL, *tok;
	int ret = 0;

	for (tok = strtok_r(list, ",", &save); tok && !ret;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq++ = 0;
		ret = fn(ctx, tok, eq ? eq : "on");
	}
	return ret;
}

void img_print_snapshots(const struct qcow2_snapshot_info *l, unsigned n)
{
	printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG",
	       "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (unsigned i = 0; i < n; i++) {
		char vs[32], date[32], ic[24] = "";
		time_t t = l[i].date_sec;
		uint64_t secs = l[i].vm_clock_nsec / 1000000000ull;
		struct tm tm;

		img_human_size(l[i].vm_state_size, vs, sizeof(vs));
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		if (l[i].icount != UINT64_MAX)
			snprintf(ic, sizeof(ic), "%llu",
				 (unsigned long long)l[i].icount);
		printf("%-9s %-17s%8s%20s %02llu:%02llu:%02llu.%03llu%11s\n",
		       l[i].id, l[i].name, vs, date,
		       (unsigned long long)(secs / 3600),
		       (unsigned long long)(secs / 60 % 60),
		       (unsigned long long)(secs % 60),
		       (unsigned long long)(l[i].vm_clock_nsec / 1000000 % 1000),
		       ic);
	}
}

void img_backing_path(const char *image, const char *backing, char *out,
		      size_t len)
{
	char *dir;

	if (backing[0] == '/' || !strchr(image, '/') || !(dir = strdup(image))) {
		snprintf(out, len, "%s", backing);
		return;
	}
	snprintf(out, len, "%s/%s", dirname(dir), backing);
	free(dir);
}

static void usage(FILE *f)
{
	const struct block_driver *d;
	char names[256] = "";
	size_t n = 0;

	for (size_t i = 0; (d = block_driver_at(i)) && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
				      i ? ", " : "", d->name);
	fprintf(f, "usage: cvisor img COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nSIZE takes the suffixes K, M, G, T, P, E (powers of 1024).\n"
		   "Formats: %s. Options (-o) for qcow2: cluster_size, "
		   "compression_type=zlib|zstd,\n"
		   "preallocation=off|metadata, lazy_refcounts=on|off, "
		   "refcount_bits, compat=0.10|1.1.\n", names);
}

int cmd_img(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "--help") ||
				 !strcmp(argv[2], "-h"))) {
			printf("usage: cvisor img %s\n", cmds[i].usage);
			return 0;
		}
		int n = common_opts(argc - 1, argv + 1), ret;

		if (n < 0)
			return 1;
		ret = cmds[i].fn(n, argv + 1);
		secret_clear_all();
		return ret;
	}
	img_err("unknown command '%s' (try 'cvisor img --help')", argv[1]);
	return 1;
}
