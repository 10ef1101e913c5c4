/* SPDX-License-Identifier: MIT */
/*
 * Block layer: an image format (raw, qcow2) over a file or block device,
 * or a network disk named by a URL (iscsi://). Used by virtio-blk and by
 * "cvisor img". All I/O calls transfer the whole length or fail; errors
 * are negative errno values.
 */
#ifndef CVISOR_BLOCK_BLOCK_H
#define CVISOR_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define BLOCK_RDONLY     (1 << 0)
#define BLOCK_DIRECT     (1 << 1)
#define BLOCK_NO_BACKING (1 << 2) /* do not open the backing chain */
#define BLOCK_REPAIR     (1 << 3) /* open images marked corrupt, to fix them */
/* metadata only (info, check): an encrypted image opens without its key */
#define BLOCK_NO_IO      (1 << 4)

#define BLOCK_ERR_LEN 256
#define BLOCK_MAX_CHAIN 64 /* bounds a backing chain (and loops in it) */

/* block_status() results */
#define BLOCK_STATUS_DATA      (1 << 0) /* may contain non-zero data */
#define BLOCK_STATUS_ZERO      (1 << 1) /* reads as zeroes */
#define BLOCK_STATUS_ALLOCATED (1 << 2) /* this layer defines the content */
#define BLOCK_STATUS_OFFSET    (1 << 3) /* *host_off is valid */
#define BLOCK_STATUS_COMPRESSED (1 << 4)

struct block_dev;
struct json_t;

/* What "img check" found and fixed, for any format with metadata. */
struct block_check_result {
	uint64_t corruptions, leaks, check_errors;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters, allocated_clusters;
	uint64_t fragmented_clusters, compressed_clusters;
};

#define BLOCK_FIX_LEAKS  1
#define BLOCK_FIX_ERRORS 2

/*
 * The -o options of "img create" for a format, in the order given. A driver
 * takes the keys it knows with block_opt_get(); a key no one took is an
 * error the caller reports.
 */
struct block_opt {
	const char *key, *val;
	bool used;
};

struct block_opts {
	struct block_opt *v;
	size_t n;
};

/* The value of key (marking it taken), or NULL. */
const char *block_opt_get(struct block_opts *o, const char *key);
/* The first key no driver took, or NULL. */
const char *block_opt_unused(const struct block_opts *o);
/*
 * A create op calls this after taking its options and before it writes
 * anything: -EINVAL with a message naming the first key it did not take.
 */
int block_opts_done(const struct block_opts *o, const char *fmt, char *err,
		    size_t errlen);

/* What an open may need besides the path, format and flags. */
struct block_open_opts {
	/* a network disk's password (iSCSI CHAP), one line; NULL for none */
	const char *secret_file;
	/*
	 * an encrypted image's passphrase (its bytes), or a network disk's
	 * password ("img --image-opts ...,password-secret="); NULL for none
	 */
	const uint8_t *key;
	size_t key_len;
	/* the backing file's options (its own backing's in turn); NULL: none */
	const struct block_open_opts *backing;
	/*
	 * the image's depth in the chain the user's options name, when not
	 * its depth in this open ("img commit" opens the top's backing file
	 * as level 1): messages name its options so; 0: the open's depth
	 */
	unsigned level;
};

struct block_driver {
	const char *name;
	int (*open)(struct block_dev *dev, int fd, char *err, size_t errlen);
	/*
	 * A protocol driver opens "scheme://..." itself instead of a file
	 * descriptor: the disk it names is the raw image. Its content exists
	 * before any "create" (not_zeroed: convert writes zeroes too).
	 */
	const char *scheme;
	int (*open_url)(struct block_dev *dev, const char *url,
			const struct block_open_opts *o, char *err,
			size_t errlen);
	bool not_zeroed;
	/*
	 * Optional: a request in pieces (a guest's scatter list) as one
	 * transfer, where one round trip per piece would cost (iSCSI).
	 */
	int (*preadv)(struct block_dev *dev, const struct iovec *iov, int n,
		      uint64_t off);
	int (*pwritev)(struct block_dev *dev, const struct iovec *iov, int n,
		       uint64_t off);
	/*
	 * Frees the driver's state, finishing what the format writes last
	 * (a stream-optimized VMDK's tables and footer): 0 or -errno.
	 */
	int (*close)(struct block_dev *dev);
	int (*pread)(struct block_dev *dev, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct block_dev *dev, const void *buf, size_t len,
		      uint64_t off);
	int (*flush)(struct block_dev *dev);
	int (*discard)(struct block_dev *dev, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct block_dev *dev, uint64_t off, uint64_t len);
	int (*truncate)(struct block_dev *dev, uint64_t size);
	/* Status of [off, off+len): returns flags, *pnum bytes share them. */
	int (*block_status)(struct block_dev *dev, uint64_t off, uint64_t len,
			    uint64_t *pnum, uint64_t *host_off);
	/* Bytes the image occupies on the host. */
	uint64_t (*allocated_size)(struct block_dev *dev);

	/*
	 * Optional hooks; NULL where the format has no such thing.
	 *
	 * probe: nonzero if buf, the first len bytes of the file (at most 4096,
	 * fewer for a short file), is this format.
	 */
	int (*probe)(const uint8_t *buf, size_t len);
	/* Creates an image of size bytes at path ("img create", "convert -O"). */
	int (*create)(const char *path, uint64_t size, struct block_opts *opts,
		      char *err, size_t errlen);
	/* The lines "img create -o help" prints for this format. */
	const char *create_help;
	/*
	 * "img info": sets *data to a new JSON object of the format-specific
	 * information, named as qemu-img names it ("create-type", "extents").
	 */
	int (*info)(struct block_dev *dev, struct json_t **data);
	/* Cluster, grain or block size for "img info", 0 if none. */
	uint64_t (*cluster_size)(struct block_dev *dev);
	/* "img check": fix is BLOCK_FIX_*; messages go to report. */
	int (*check)(struct block_dev *dev, int fix, struct block_check_result *r,
		     void (*report)(void *ctx, const char *msg), void *ctx);
};

struct block_dev {
	const struct block_driver *drv;
	char *path; /* for a URL, without its password: safe to print */
	int flags;
	uint64_t length; /* virtual size in bytes */
	void *opaque;    /* driver state */
	/* an encrypted image's passphrase, seen by the driver's open only */
	const uint8_t *key;
	size_t key_len;
	const struct block_open_opts *backing_opts; /* likewise, for its backing */
	unsigned level; /* likewise, its block_open_opts level */
};

extern const struct block_driver block_raw_driver;
extern const struct block_driver block_qcow2_driver;
extern const struct block_driver block_iscsi_driver;
extern const struct block_driver block_vmdk_driver;
extern const struct block_driver block_vdi_driver;
extern const struct block_driver block_vpc_driver;
extern const struct block_driver block_vhdx_driver;

/* Format name from the first bytes of the file; "raw" if no driver claims it. */
const char *block_probe(int fd);
/* The format whose magic starts buf (len bytes of a file's start), or NULL. */
const char *block_probe_buf(const uint8_t *buf, size_t len);
const struct block_driver *block_find_driver(const char *fmt);
/* The i-th known driver, NULL past the last. */
const struct block_driver *block_driver_at(size_t i);

/*
 * Opens path as fmt (NULL probes). On failure returns -errno and leaves a
 * one-line message naming the problem in err.
 */
int block_open(const char *path, const char *fmt, int flags,
	       struct block_dev **out, char *err, size_t errlen);
/* The same with options; o may be NULL. */
int block_open_opts(const char *path, const char *fmt, int flags,
		    const struct block_open_opts *o, struct block_dev **out,
		    char *err, size_t errlen);
/* The protocol driver of a "scheme://" path, or NULL for a file path. */
const struct block_driver *block_url_driver(const char *path);
/* path with any password in it removed, for messages. */
void block_redact(const char *path, char *out, size_t outlen);
/*
 * Closes and frees dev (NULL is a no-op). Not 0 (-errno) when what the
 * format writes at close, or closing its file, failed: data written since
 * the open may be lost, and a caller that wrote reports it.
 */
int block_close(struct block_dev *dev);

int block_pread(struct block_dev *dev, void *buf, size_t len, uint64_t off);
int block_pwrite(struct block_dev *dev, const void *buf, size_t len,
		 uint64_t off);
/* The pieces iov[0..n) back to back from off: one call where the driver can. */
int block_preadv(struct block_dev *dev, const struct iovec *iov, int n,
		 uint64_t off);
int block_pwritev(struct block_dev *dev, const struct iovec *iov, int n,
		  uint64_t off);
int block_flush(struct block_dev *dev);
int block_discard(struct block_dev *dev, uint64_t off, uint64_t len);
int block_write_zeroes(struct block_dev *dev, uint64_t off, uint64_t len);
int block_truncate(struct block_dev *dev, uint64_t size);
uint64_t block_getlength(struct block_dev *dev);
int block_status(struct block_dev *dev, uint64_t off, uint64_t len,
		 uint64_t *pnum, uint64_t *host_off);
uint64_t block_allocated_size(struct block_dev *dev);

/*
 * Is [off, off+len) of a file a hole (1) or data (0)? *pnum bytes from off
 * are alike. Data when the file system cannot tell.
 */
int block_fd_extent(int fd, uint64_t off, uint64_t len, uint64_t *pnum);
/*
 * block_status of data at host_off in the file fd, *pnum bytes at most:
 * DATA | ALLOCATED | OFFSET, and ZERO where the file has a hole there
 * (*pnum shrinks to the part alike).
 */
int block_fd_data_status(int fd, uint64_t host_off, uint64_t *pnum);
/* Writes len bytes of zeroes at off in the file fd: 0 or -errno. */
int block_fd_write_zeroes(int fd, uint64_t off, uint64_t len);
/* Bytes the file takes on disk (st_blocks), 0 if fstat fails. */
uint64_t block_fd_allocated(int fd);
/*
 * For a block table's block_status: the run from off (at most len bytes)
 * of blocks of bs bytes that lookup(opaque, block, &host) sees alike, all
 * unmapped (0) or mapped (1) one after another in the file. Returns the
 * first block's lookup (< 0 on error); sets *pnum to the run's length and,
 * if mapped, *host_off to where off lies in the file.
 */
int block_map_run(int (*lookup)(void *opaque, uint64_t blk, uint64_t *host),
		  void *opaque, uint64_t bs, uint64_t off, uint64_t len,
		  uint64_t *pnum, uint64_t *host_off);
/* Full-length pread/pwrite on a file descriptor; short reads past EOF fill 0. */
int block_fd_pread(int fd, void *buf, size_t len, uint64_t off);
int block_fd_pwrite(int fd, const void *buf, size_t len, uint64_t off);

#endif
