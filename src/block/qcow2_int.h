/* SPDX-License-Identifier: MIT */
/*
 * qcow2 driver internals, shared by the qcow2_*.c files. Layout facts follow
 * QEMU's docs/interop/qcow2.txt.
 *
 * Crash safety: metadata is written through (no write-back cache). Cluster
 * refcounts are raised before anything references the cluster, data is
 * written before the L2 entry, an L2 table before its L1 entry; references
 * are removed before refcounts drop. A crash therefore leaks clusters at
 * worst.
 */
#ifndef CVISOR_BLOCK_QCOW2_INT_H
#define CVISOR_BLOCK_QCOW2_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/qcow2.h"
#include "vmm/bytes.h"

struct sector_cipher;
struct luks_header;

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 112
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

#define QCOW2_INCOMPAT_DIRTY     (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT   (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2     (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN     0x1full
#define QCOW2_COMPAT_LAZY        (1ull << 0)

#define QCOW2_EXT_END        0x00000000u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_FEATURES   0x6803f857u
#define QCOW2_EXT_CRYPT      0x0537be77u /* where the LUKS area lies */

#define QCOW2_CRYPT_NONE 0
#define QCOW2_CRYPT_AES  1 /* legacy: AES-128-CBC, guest-sector IVs */
#define QCOW2_CRYPT_LUKS 2

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull

/* Header field offsets that are updated in place. */
#define QCOW2_HDR_SIZE       24
#define QCOW2_HDR_L1         36 /* l1_size(4) + l1_table_offset(8) */
#define QCOW2_HDR_REFTABLE   48 /* offset(8) + clusters(4) */
#define QCOW2_HDR_SNAPSHOTS  60 /* nb_snapshots(4) + offset(8) */
#define QCOW2_HDR_INCOMPAT   72

struct qcow2_ext {
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;
	uint32_t extra_len;
	uint8_t *extra; /* extra data kept verbatim beyond the known fields */
};

struct qcow2_cache_entry {
	uint64_t offset; /* 0: empty */
	uint64_t lru;
	uint8_t *buf;
};

/* Read cache of cluster-sized metadata tables; writes go through. */
struct qcow2_cache {
	unsigned n;
	uint64_t tick;
	struct qcow2_cache_entry *e;
};

enum qcow2_ctype {
	QCOW2_UNALLOCATED,
	QCOW2_ZERO_PLAIN,   /* zero flag, no host cluster */
	QCOW2_ZERO_ALLOC,   /* zero flag with a host cluster */
	QCOW2_NORMAL,
	QCOW2_COMPRESSED,
};

struct qcow2 {
	int fd;
	pthread_mutex_t lock;
	bool readonly;

	/* header */
	uint32_t version;
	uint64_t backing_offset;
	uint32_t backing_size;
	unsigned cluster_bits;
	uint64_t cluster_size;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_size; /* bytes of the table on disk */
	uint64_t incompat, compat, autoclear;
	unsigned refcount_order;
	uint32_t header_len;
	enum qcow2_compression compression;

	struct qcow2_ext *exts; /* header extensions other than backing fmt */
	unsigned nb_exts;
	char *backing_file;
	char *backing_fmt;
	struct block_dev *backing;

	unsigned l2_bits; /* entries per L2 table = 1 << l2_bits */
	uint64_t *l1;     /* host byte order */
	uint64_t *reftable;
	uint64_t reftable_entries; /* in memory, may exceed the on-disk table */
	unsigned refcount_bits;
	unsigned rb_bits; /* entries per refcount block = 1 << rb_bits */
	uint64_t refcount_max;
	struct qcow2_cache l2_cache, rb_cache;
	uint64_t free_hint;  /* no free cluster below this index */
	uint64_t file_end;   /* bytes: end of the highest allocated cluster */
	bool growing_reftable;

	/* byte-granular allocation for compressed clusters */
	uint64_t comp_next;

	bool sparse_checked, sparse; /* see qcow2_sparse.c */

	struct qcow2_snapshot *snaps;

	/* encryption, see qcow2_crypt.c */
	struct sector_cipher *cipher; /* NULL: plain, or opened without key */
	uint64_t crypt_off, crypt_len; /* the LUKS area */
	struct luks_header *luks;
	uint8_t *crypt_buf; /* writes encrypt here (under lock), BOUNCE bytes */
};

static inline uint64_t qcow2_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* qcow2_header.c */
int qcow2_parse_header(struct qcow2 *s, const uint8_t *buf, size_t len,
		       uint64_t file_size, char *err, size_t errlen);
int qcow2_write_header(struct qcow2 *s);
int qcow2_update_incompat(struct qcow2 *s, uint64_t incompat);

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, uint64_t size);
void qcow2_cache_destroy(struct qcow2_cache *c);
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off,
		    uint8_t **buf);
uint8_t *qcow2_cache_get_new(struct qcow2 *s, struct qcow2_cache *c,
			     uint64_t off);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);

/* qcow2_refcount.c */
int qcow2_load_reftable(struct qcow2 *s, char *err, size_t errlen);
int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *val);
int qcow2_update_refcount(struct qcow2 *s, uint64_t off, uint64_t len,
			  int64_t addend);
int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t val);
int64_t qcow2_alloc_clusters(struct qcow2 *s, uint64_t n);
int64_t qcow2_alloc_bytes(struct qcow2 *s, uint64_t len);
void qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t len);
uint64_t qcow2_refblock_get(const struct qcow2 *s, const uint8_t *rb,
			    uint64_t i);
void qcow2_refblock_set(const struct qcow2 *s, uint8_t *rb, uint64_t i,
			uint64_t v);

/* qcow2.c: the L1 table grows to map size, then the header says size */
int qcow2_set_size(struct qcow2 *s, uint64_t size);
/* While an image opens: 0 for the top, 1 for its backing file, ... */
int qcow2_chain_depth(void);

/*
 * qcow2_sparse.c: 1 if the file has a hole at host (then *pnum shrinks to
 * its length), 0 if data, as qemu-img sees it.
 */
int qcow2_host_hole(struct qcow2 *s, uint64_t host, uint64_t *pnum);

/* qcow2_l2.c */
enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t e);
void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *off,
			    uint64_t *len);
int qcow2_get_entry(struct qcow2 *s, uint64_t vofs, uint64_t *entry);
int qcow2_rw(struct qcow2 *s, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
	     uint64_t off);
int qcow2_zero_range(struct qcow2 *s, uint64_t off, uint64_t len, bool unmap);
int qcow2_grow_l1(struct qcow2 *s, uint64_t min_size);
int qcow2_write_l1_entries(struct qcow2 *s, uint64_t l1_offset,
			   const uint64_t *l1, uint32_t first, uint32_t n);
int qcow2_set_l2_entry(struct qcow2 *s, uint64_t vofs, uint64_t entry);
int qcow2_read_cluster(struct qcow2 *s, uint64_t vofs, uint64_t entry,
		       uint8_t *buf);

/* qcow2_compress.c */
int qcow2_decompress(enum qcow2_compression t, const uint8_t *in, size_t inlen,
		     uint8_t *out, size_t outlen);
/* Returns compressed length, or -ENOSPC when it does not shrink. */
long qcow2_compress(enum qcow2_compression t, const uint8_t *in, size_t inlen,
		    uint8_t *out, size_t outlen);

/* qcow2_crypt.c */
int qcow2_crypt_open(struct block_dev *dev, struct qcow2 *s, char *err,
		     size_t errlen);
void qcow2_crypt_close(struct qcow2 *s);
/* Data I/O of n bytes of guest offset vofs stored at host offset host. */
int qcow2_data_pread(struct qcow2 *s, uint8_t *buf, size_t n, uint64_t vofs,
		     uint64_t host);
int qcow2_data_pwrite(struct qcow2 *s, const uint8_t *buf, size_t n,
		      uint64_t vofs, uint64_t host);
/* qcow2_rw for encrypted images at any alignment (whole sectors inside). */
int qcow2_crypt_rw(struct qcow2 *s, uint8_t *rbuf, const uint8_t *wbuf,
		   size_t len, uint64_t off);
int qcow2_crypt_create(struct qcow2 *s, const struct qcow2_create_opts *o,
		       char *err, size_t errlen);

/* qcow2_snapshot.c */
int qcow2_read_snapshots(struct qcow2 *s, char *err, size_t errlen);
void qcow2_free_snapshots(struct qcow2 *s);
int qcow2_l1_refcounts(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		       int64_t addend);
int qcow2_fix_copied(struct qcow2 *s);

#endif
