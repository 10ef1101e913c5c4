/* SPDX-License-Identifier: MIT */
/* qcow2 operations beyond plain I/O, used by "cvisor img". */
#ifndef CVISOR_BLOCK_QCOW2_H
#define CVISOR_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "block/luks.h"

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

struct qcow2_create_opts {
	uint64_t size;
	unsigned cluster_size;  /* 0: 64 KiB */
	unsigned refcount_bits; /* 0: 16 */
	int version;            /* 2 or 3; 0: 3 */
	enum qcow2_compression compression;
	bool lazy_refcounts;
	bool prealloc_metadata;
	/* encrypt.format=luks: the LUKS parameters and the passphrase */
	bool encrypt;
	struct luks_params luks;
	const uint8_t *key;
	size_t key_len;
	const char *backing_file;
	const char *backing_fmt;
};

int qcow2_create(const char *path, const struct qcow2_create_opts *o,
		 char *err, size_t errlen);

struct qcow2_info {
	int version;
	uint64_t cluster_size;
	unsigned refcount_bits;
	bool lazy_refcounts;
	bool corrupt;
	bool dirty;
	enum qcow2_compression compression;
	const char *backing_file; /* owned by the image */
	const char *backing_fmt;
	unsigned nb_snapshots;
	unsigned crypt_method; /* 0 none, 1 legacy aes, 2 luks */
	const struct luks_header *luks; /* owned by the image, or NULL */
	uint64_t luks_offset;           /* of the LUKS area in the file */
};

bool qcow2_is(struct block_dev *dev);
void qcow2_get_info(struct block_dev *dev, struct qcow2_info *info);
/* The backing file as opened (may be NULL). */
struct block_dev *qcow2_backing(struct block_dev *dev);

/*
 * Compressed write of one whole cluster at a cluster-aligned offset; stored
 * plainly if it does not shrink. Safe to call from several threads.
 */
int qcow2_write_compressed(struct block_dev *dev, const void *buf,
			   uint64_t off);
uint64_t qcow2_cluster_size(struct block_dev *dev);

/* Drops every cluster so all reads go to the backing file (commit). */
int qcow2_make_empty(struct block_dev *dev);

/* Changes the backing file name in the header (rebase, commit). */
int qcow2_set_backing(struct block_dev *dev, const char *file,
		      const char *fmt);

/*
 * "img amend" of a LUKS-encrypted image's key slots, with qemu-img's
 * encrypt.* amend options. key opens the image (its encrypt.key-secret).
 */
struct qcow2_luks_amend {
	bool activate;      /* encrypt.state=active (add), else inactive */
	const uint8_t *key; /* the image's passphrase */
	size_t key_len;
	const uint8_t *new_key; /* encrypt.new-secret, to add */
	size_t new_len;
	const uint8_t *old_key; /* encrypt.old-secret: erase the slots it opens */
	size_t old_len;
	int slot;               /* encrypt.keyslot, -1: any */
	uint64_t iter_time_ms;  /* encrypt.iter-time, 0: 2000 */
};

int qcow2_luks_amend(struct block_dev *dev, const struct qcow2_luks_amend *a,
		     char *err, size_t errlen);

struct qcow2_snapshot_info {
	char *id;
	char *name;
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size;
	uint64_t icount; /* UINT64_MAX: not recorded */
};

int qcow2_snapshot_list(struct block_dev *dev, struct qcow2_snapshot_info **out,
			unsigned *count);
void qcow2_snapshot_list_free(struct qcow2_snapshot_info *s, unsigned count);
int qcow2_snapshot_create(struct block_dev *dev, const char *name);
int qcow2_snapshot_apply(struct block_dev *dev, const char *name);
int qcow2_snapshot_delete(struct block_dev *dev, const char *name);

/* Verifies refcounts against all references; messages go to report. */
int qcow2_check(struct block_dev *dev, int fix, struct block_check_result *r,
		void (*report)(void *ctx, const char *msg), void *ctx);

#endif
