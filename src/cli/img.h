/* SPDX-License-Identifier: MIT */
/* Helpers shared by the "cvisor img" subcommands (src/cli/img_*.c). */
#ifndef CVISOR_CLI_IMG_H
#define CVISOR_CLI_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "block/block.h"

void img_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --image-opts was given: FILE arguments are option lists. */
extern bool img_image_opts;
/*
 * Opens an image, printing the reason on failure; returns NULL then. With
 * --image-opts, path is "driver=qcow2,file.filename=F,encrypt.key-secret=ID".
 */
struct block_dev *img_open(const char *path, const char *fmt, int flags);
/* Opens path (never an option list) with the secret of that id, if any. */
struct block_dev *img_open_key(const char *path, const char *fmt, int flags,
			       const char *secret_id);
/* The same with the secrets of a backing chain: ids[0] the top's, ... */
#define IMG_MAX_KEYS 16
struct block_dev *img_open_chain(const char *path, const char *fmt,
				 int flags, const char *const *ids, int n);
/*
 * Opens path, the backing file of the image spec names, with the secrets
 * spec gives its chain (backing.encrypt.key-secret= ...) when it is an
 * --image-opts list.
 */
struct block_dev *img_open_backing_of(const char *spec, const char *path,
				      const char *fmt, int flags);
/* The value of key in a -o list (not changed), "" if absent. */
/*
 * Closes an image the command wrote: 0, or -1 after one line naming it and
 * the error (what the format writes last, or closing its file, failed).
 */
int img_close(struct block_dev *dev);
void img_opt_value(const char *list, const char *key, char *out, size_t len);
/* The file name in path, whether it is a name or an --image-opts list. */
const char *img_filename(const char *path);
/* "516 KiB", "10 MiB", "1.5 GiB": three significant digits like qemu-img. */
void img_human_size(uint64_t v, char *buf, size_t len);

/* s as a JSON string, quotes included. */
void img_json_str(FILE *f, const char *s);

/*
 * Calls fn for each key=value of a -o list, which is split in place (values
 * point into it); stops at the first error.
 */
int img_parse_opts(char *list, int (*fn)(void *ctx, const char *key,
					 const char *val),
		   void *ctx);
struct qcow2_snapshot_info;
/* The "Snapshot list:" table of qemu-img info / snapshot -l. */
void img_print_snapshots(const struct qcow2_snapshot_info *l, unsigned n);
/* Resolves a backing file name relative to the image that names it. */
void img_backing_path(const char *image, const char *backing, char *out,
		      size_t len);

/* "img create" for a format whose driver creates images (not raw/qcow2). */
struct img_create_args {
	const char *path, *optlist, *backing_file, *backing_fmt;
	uint64_t size;
	bool have_size, quiet;
};

int img_create_with_driver(const struct block_driver *drv,
			   const struct img_create_args *a);

/*
 * "Creating" on a network disk (iscsi://): it exists already; checks that
 * it opens as fmt and holds size bytes, as qemu-img does.
 */
int img_create_url(const char *path, const char *fmt, const char *optlist,
		   uint64_t size, bool quiet);

/* Creates an image of fmt with -o options optlist (may be NULL). */
int img_make(const char *path, const char *fmt, char *optlist,
	     uint64_t size);

/* "img info" lines from the driver hooks, for formats other than qcow2. */
void img_info_driver_human(struct block_dev *dev);
void img_info_driver_json(FILE *f, struct block_dev *dev);
struct qcow2_info;
/* The "encrypt" block of an encrypted qcow2 (img_info_crypt.c). */
void img_info_encrypt_human(const struct qcow2_info *qi);
void img_info_encrypt_json(FILE *f, const struct qcow2_info *qi);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_check(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_map(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_amend(int argc, char **argv);

#endif
