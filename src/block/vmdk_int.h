/* SPDX-License-Identifier: MIT */
/*
 * VMDK internals shared by vmdk*.c. Facts from VMware's "Virtual Disk
 * Format 5.0" technical note: a disk is a text descriptor naming extents;
 * a sparse extent (magic "KDMV") maps grains through a grain directory (GD)
 * of grain tables (GT), optionally with a redundant copy (RGD), and in the
 * streamOptimized variant stores grains deflated behind markers.
 */
#ifndef CVISOR_BLOCK_VMDK_INT_H
#define CVISOR_BLOCK_VMDK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block/block.h"
#include "block/workers.h"
#include "vmm/bytes.h"

#define VMDK_SECTOR 512ull
#define VMDK_MAGIC "KDMV"
#define VMDK_GD_AT_END 0xffffffffffffffffull

/* SparseExtentHeader.flags */
#define VMDK_FLAG_NL_DETECT  (1u << 0)
#define VMDK_FLAG_RGD        (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS    (1u << 17)

/* Metadata marker types of stream-optimized extents */
#define VMDK_MARKER_EOS    0
#define VMDK_MARKER_GT     1
#define VMDK_MARKER_GD     2
#define VMDK_MARKER_FOOTER 3

/* Bounds on what a hostile file may ask of us */
#define VMDK_MAX_GRAIN_SECTORS  2048u          /* 1 MiB grains */
#define VMDK_MAX_GTES           65536u         /* 256 KiB grain tables */
#define VMDK_MAX_GD_BYTES       (64u << 20)
#define VMDK_MAX_SECTORS        (1ull << 41)   /* 1 PiB disks */
#define VMDK_MAX_EXTENTS        4096u
#define VMDK_MAX_DESC           (1u << 20)
#define VMDK_GT_CACHE           16u
#define VMDK_PAR_GRAINS         32u  /* grains per parallel batch */
#define VMDK_DEFLATE_LEVEL      6    /* zlib's default, as qemu-img's */

/* The fields of a SparseExtentHeader, in host order. */
struct vmdk_header {
	uint32_t version, flags;
	uint64_t capacity, grain, desc_off, desc_size;
	uint32_t gtes;
	uint64_t rgd_off, gd_off, overhead;
	uint16_t compress;
};

enum vmdk_ext_type { VMDK_EXT_FLAT, VMDK_EXT_SPARSE, VMDK_EXT_ZERO };

struct vmdk_gt_slot {
	uint32_t index; /* GD index held, UINT32_MAX when empty */
	uint32_t *gt;
};

struct vmdk_stream;
struct libdeflate_decompressor;

struct vmdk_extent {
	enum vmdk_ext_type type;
	const char *type_name; /* as qemu-img reports it: "SPARSE", "FLAT", "" */
	char *path;            /* as opened, for info */
	int fd;                /* -1 for ZERO */
	bool readonly;         /* RDONLY in the descriptor */
	uint64_t start, len;   /* virtual range, bytes */
	uint64_t flat_off;     /* FLAT: where the range starts in the file */

	/* SPARSE */
	struct vmdk_header h;
	uint64_t grain;        /* bytes */
	uint64_t file_size;    /* at open, and grown by allocation */
	uint64_t meta_end;     /* grains live at or after this offset */
	uint32_t ngt;          /* GD entries */
	uint32_t *gd, *rgd;    /* sectors of each GT (rgd NULL if none) */
	struct vmdk_gt_slot cache[VMDK_GT_CACHE];
	unsigned next_victim;
	bool compressed;
	uint8_t *gbuf;         /* the last compressed grain read alone */
	uint64_t gbuf_lba;     /* grain held in gbuf, UINT64_MAX if none */
	/* each thread's compressed bytes and decompressor (vmdk_inflate.c) */
	uint8_t *zbuf[WORKERS_MAX];
	struct libdeflate_decompressor *dec[WORKERS_MAX];
	bool stream_ok;        /* empty stream-optimized: may be written */
	struct vmdk_stream *stream; /* stream-optimized writing, or NULL */
	struct workers *pool;  /* threads for batches of grains, or NULL */
};

struct vmdk {
	pthread_mutex_t lock;
	int fd; /* the file opened (descriptor or sparse extent) */
	bool readonly;
	bool flushed; /* a flush was asked: close syncs what it writes */
	uint32_t cid, parent_cid;
	char *create_type;
	struct vmdk_extent *ext;
	unsigned n;
	uint64_t size;
};

/* vmdk_desc.c: the text descriptor */
struct vmdk_desc_extent {
	bool readonly;
	uint64_t sectors;
	enum vmdk_ext_type type;
	const char *type_name; /* the word in the descriptor */
	char *file;        /* NULL for ZERO */
	uint64_t offset;   /* FLAT: sectors into the file */
};

struct vmdk_desc {
	uint32_t cid, parent_cid;
	char *create_type;
	char *parent_hint; /* parentFileNameHint: a delta disk's parent */
	struct vmdk_desc_extent *ext;
	unsigned n;
};

int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d,
		    char *err, size_t errlen);
void vmdk_desc_free(struct vmdk_desc *d);

/* vmdk_header.c: opening one sparse extent */
void vmdk_header_decode(const uint8_t *b, struct vmdk_header *h);
void vmdk_header_encode(uint8_t *b, const struct vmdk_header *h);
int vmdk_sparse_open(struct vmdk_extent *e, bool rw, char *err, size_t errlen);
void vmdk_sparse_close(struct vmdk_extent *e);
bool vmdk_in_file(const struct vmdk_extent *e, uint64_t sector,
		  uint64_t bytes);

/* vmdk_sparse.c: its grains (vmdk_check.c: its check) */
int vmdk_sparse_read(struct vmdk_extent *e, uint8_t *buf, uint64_t len,
		     uint64_t off);
int vmdk_sparse_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t len,
		      uint64_t off);
int vmdk_sparse_status(struct vmdk_extent *e, uint64_t off, uint64_t len,
		       uint64_t *pnum, uint64_t *host_off);
int vmdk_sparse_check(struct vmdk_extent *e, struct block_check_result *r,
		      void (*report)(void *ctx, const char *msg), void *ctx);
int vmdk_gt_get(struct vmdk_extent *e, uint32_t idx, uint32_t **gt);

enum vmdk_grain_kind { GRAIN_UNALLOC, GRAIN_ZERO, GRAIN_DATA, GRAIN_COMPRESSED };

/* What the table says of grain grain_idx; -EIO for a grain past the end. */
int vmdk_grain_entry(struct vmdk_extent *e, uint64_t grain_idx,
		     uint32_t *entry, enum vmdk_grain_kind *kind);

/* vmdk_inflate.c: reading compressed grains */
/* Grain grain_idx, stored at host, inflated into out (a grain). */
int vmdk_read_compressed(struct vmdk_extent *e, uint64_t grain_idx,
			 uint64_t host, uint8_t *out);
/* k (at most VMDK_PAR_GRAINS) whole grains from gi on into buf. */
int vmdk_read_compressed_batch(struct vmdk_extent *e, uint8_t *buf,
			       uint64_t gi, unsigned k);
void vmdk_inflate_free(struct vmdk_extent *e);

/* vmdk_stream.c: the stream-optimized writer */
int vmdk_stream_begin(struct vmdk_extent *e);
int vmdk_stream_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t len,
		      uint64_t off);
int vmdk_stream_finish(struct vmdk_extent *e);
void vmdk_stream_free(struct vmdk_extent *e);
bool vmdk_stream_empty(struct vmdk_extent *e);


/* vmdk_create.c */
extern const char vmdk_create_help[];
int vmdk_create(const char *path, uint64_t size, struct block_opts *opts,
		char *err, size_t errlen);

#endif
