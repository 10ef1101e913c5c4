// SPDX-License-Identifier: MIT
/*
 * VMDK driver: a disk is one sparse file (monolithicSparse,
 * streamOptimized) or a text descriptor naming its extents (monolithicFlat,
 * twoGbMaxExtentSparse/Flat). The descriptor is as hostile as the rest of
 * the image: extent files are taken relative to it, never by an absolute
 * path or through "..", must be regular files, and must not alias the
 * descriptor or each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "block/vmdk_int.h"

static struct vmdk *vmdk_of(struct block_dev *dev)
{
	return dev->opaque;
}

/* 0, or the first error closing a file (-errno). */
static int vmdk_free(struct vmdk *s)
{
	int ret = 0;

	for (unsigned i = 0; i < s->n; i++) {
		struct vmdk_extent *e = &s->ext[i];

		vmdk_sparse_close(e);
		if (e->fd >= 0 && close(e->fd) < 0 && !ret)
			ret = -errno;
		free(e->path);
	}
	free(s->ext);
	free(s->create_type);
	if (s->fd >= 0 && close(s->fd) < 0 && !ret)
		ret = -errno;
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

static struct vmdk_extent *add_extent(struct vmdk *s)
{
	struct vmdk_extent *v = realloc(s->ext, (s->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	s->ext = v;
	v = &s->ext[s->n++];
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	return v;
}

static int take_desc(struct vmdk *s, struct vmdk_desc *d, const char *path,
		     char *err, size_t errlen)
{
	if (d->parent_hint) {
		snprintf(err, errlen, "'%s' is a delta disk of '%.64s': VMDK "
			 "backing files are not supported", path,
			 d->parent_hint);
		return -ENOTSUP;
	}
	s->cid = d->cid;
	s->parent_cid = d->parent_cid;
	s->create_type = d->create_type;
	d->create_type = NULL;
	return 0;
}

/* A file that is itself a sparse extent, its descriptor embedded. */
static int open_monolithic(struct block_dev *dev, struct vmdk *s, int fd,
			   char *err, size_t errlen)
{
	struct vmdk_extent *e = add_extent(s);
	struct vmdk_desc d;
	char *text;
	int ret;

	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->type = VMDK_EXT_SPARSE;
	e->type_name = "";
	e->path = strdup(dev->path);
	if (!e->path)
		return -ENOMEM;
	ret = vmdk_sparse_open(e, !s->readonly, err, errlen);
	if (ret)
		return ret;
	s->size = e->len;
	s->parent_cid = UINT32_MAX;
	if (!e->h.desc_off || !e->h.desc_size ||
	    e->h.desc_size > VMDK_MAX_DESC / VMDK_SECTOR ||
	    e->h.desc_off > e->file_size / VMDK_SECTOR)
		return 0;
	text = malloc(e->h.desc_size * VMDK_SECTOR);
	if (!text)
		return -ENOMEM;
	ret = block_fd_pread(fd, text, e->h.desc_size * VMDK_SECTOR,
			     e->h.desc_off * VMDK_SECTOR);
	/* the extents of twoGbMaxExtentSparse carry an empty descriptor */
	if (!ret && !strncmp(text, "# Disk DescriptorFile", 21)) {
		ret = vmdk_desc_parse(text, e->h.desc_size * VMDK_SECTOR, &d,
				      err, errlen);
		if (!ret) {
			ret = take_desc(s, &d, dev->path, err, errlen);
			vmdk_desc_free(&d);
		}
	}
	free(text);
	return ret;
}

static bool safe_name(const char *name)
{
	const char *p = name;

	if (!*name || name[0] == '/' || strlen(name) >= PATH_MAX / 2)
		return false;
	while (*p) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return false;
		p = strchr(p, '/');
		if (!p)
			break;
		p++;
	}
	return true;
}

/*
 * name under dir, never through a symbolic link, "..", or an absolute
 * path: a descriptor (or an archive it came in) must not reach other host
 * files. O_NONBLOCK: a FIFO planted as an extent must not hang the open.
 */
static int open_beneath(const char *dir, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (dfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) /* before Linux 5.6: the last step */
		fd = openat(dfd, name, (int)how.flags | O_NOFOLLOW);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

static int open_extent_file(struct block_dev *dev, struct vmdk *s,
			    struct vmdk_extent *e, const char *name,
			    const struct stat *desc_st, char *err,
			    size_t errlen)
{
	char *dir, *d, full[PATH_MAX];
	struct stat st;
	int fl, ret;

	if (!safe_name(name)) {
		snprintf(err, errlen, "'%s': extent file '%.64s' is not a "
			 "relative name inside the descriptor's directory",
			 dev->path, name);
		return -EPERM;
	}
	dir = strdup(dev->path);
	if (!dir)
		return -ENOMEM;
	d = strchr(dev->path, '/') ? dirname(dir) : NULL;
	if (d)
		snprintf(full, sizeof(full), "%s/%s", d, name);
	else
		snprintf(full, sizeof(full), "%s", name);
	e->path = strdup(full);
	e->fd = e->path ? open_beneath(d ? d : ".", name,
				       s->readonly || e->readonly ? O_RDONLY :
								    O_RDWR) :
			  -ENOMEM;
	free(dir);
	if (e->fd < 0) {
		if (e->fd == -ELOOP || e->fd == -EXDEV)
			snprintf(err, errlen, "'%s': extent '%s' is or goes "
				 "through a symbolic link: name the file itself",
				 dev->path, full);
		else
			snprintf(err, errlen, "'%s': extent '%s': %s", dev->path,
				 full, strerror(-e->fd));
		ret = e->fd;
		e->fd = -1;
		return ret;
	}
	if (fstat(e->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s': extent '%s' is not a regular file",
			 dev->path, full);
		return -EPERM;
	}
	fl = fcntl(e->fd, F_GETFL);
	if (fl >= 0)
		fcntl(e->fd, F_SETFL, fl & ~O_NONBLOCK);
	if (st.st_dev == desc_st->st_dev && st.st_ino == desc_st->st_ino) {
		snprintf(err, errlen, "'%s': extent '%s' is the descriptor "
			 "itself", dev->path, full);
		return -EINVAL;
	}
	for (unsigned i = 0; i + 1 < s->n; i++) {
		struct vmdk_extent *o = &s->ext[i];
		struct stat ost;

		if (o->fd < 0 || fstat(o->fd, &ost) < 0 ||
		    ost.st_dev != st.st_dev || ost.st_ino != st.st_ino)
			continue;
		/* flat pieces of one file are fine if they do not overlap */
		if (o->type == VMDK_EXT_FLAT && e->type == VMDK_EXT_FLAT &&
		    (o->flat_off >= e->flat_off + e->len ||
		     e->flat_off >= o->flat_off + o->len))
			continue;
		snprintf(err, errlen, "'%s': extents %u and %u overlap in '%s'",
			 dev->path, i, s->n - 1, full);
		return -EINVAL;
	}
	return 0;
}

static int open_extents(struct block_dev *dev, struct vmdk *s,
			struct vmdk_desc *d, const struct stat *desc_st,
			char *err, size_t errlen)
{
	int ret;

	if (!d->n) {
		snprintf(err, errlen, "'%s': descriptor lists no extents",
			 dev->path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < d->n; i++) {
		struct vmdk_desc_extent *x = &d->ext[i];
		struct vmdk_extent *e = add_extent(s);

		if (!e)
			return -ENOMEM;
		e->type = x->type;
		e->type_name = x->type_name;
		e->readonly = x->readonly;
		e->start = s->size;
		e->len = x->sectors * VMDK_SECTOR;
		e->flat_off = x->offset * VMDK_SECTOR;
		if (s->size + e->len > VMDK_MAX_SECTORS * VMDK_SECTOR) {
			snprintf(err, errlen, "'%s': disk larger than %llu "
				 "sectors", dev->path, VMDK_MAX_SECTORS);
			return -EFBIG;
		}
		s->size += e->len;
		if (x->type == VMDK_EXT_ZERO)
			continue;
		ret = open_extent_file(dev, s, e, x->file, desc_st, err, errlen);
		if (!ret && x->type == VMDK_EXT_SPARSE)
			ret = vmdk_sparse_open(e, !s->readonly && !e->readonly,
					       err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int open_descriptor(struct block_dev *dev, struct vmdk *s, int fd,
			   const struct stat *st, char *err, size_t errlen)
{
	struct vmdk_desc d;
	char *text;
	int ret;

	s->fd = fd;
	if (st->st_size > VMDK_MAX_DESC) {
		snprintf(err, errlen, "'%s' is neither a VMDK sparse extent nor "
			 "a descriptor of at most 1 MiB", dev->path);
		return -EINVAL;
	}
	text = malloc((size_t)st->st_size + 1);
	if (!text)
		return -ENOMEM;
	ret = block_fd_pread(fd, text, (size_t)st->st_size, 0);
	if (!ret)
		ret = vmdk_desc_parse(text, (size_t)st->st_size, &d, err,
				      errlen);
	free(text);
	if (ret)
		return ret;
	ret = take_desc(s, &d, dev->path, err, errlen);
	if (!ret)
		ret = open_extents(dev, s, &d, st, err, errlen);
	vmdk_desc_free(&d);
	return ret;
}

static int vmdk_open(struct block_dev *dev, int fd, char *err, size_t errlen)
{
	struct vmdk *s = calloc(1, sizeof(*s));
	int ret, fl = fcntl(fd, F_GETFL);
	uint8_t magic[4] = { 0 };
	struct stat st;

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	/* grain tables are small unaligned I/O: through the page cache */
	if (fl >= 0 && (fl & O_DIRECT))
		fcntl(fd, F_SETFL, fl & ~O_DIRECT);
	pthread_mutex_init(&s->lock, NULL);
	s->fd = -1;
	s->readonly = dev->flags & BLOCK_RDONLY;
	ret = fstat(fd, &st) < 0 ? -errno : block_fd_pread(fd, magic, 4, 0);
	if (ret) {
		close(fd);
		goto err;
	}
	if (!memcmp(magic, VMDK_MAGIC, 4))
		ret = open_monolithic(dev, s, fd, err, errlen);
	else
		ret = open_descriptor(dev, s, fd, &st, err, errlen);
	if (ret)
		goto err;
	dev->length = s->size;
	dev->opaque = s;
	return 0;
err:
	if (!err[0])
		snprintf(err, errlen, "'%s': %s", dev->path, strerror(-ret));
	vmdk_free(s);
	return ret;
}

/*
 * A stream being written gets its last grain table, directory, footer and
 * end-of-stream marker here: an error is data lost, and the caller's. A
 * caller that flushed before (convert -t writeback) has them synced too.
 */
static int vmdk_close(struct block_dev *dev)
{
	struct vmdk *s = vmdk_of(dev);
	int ret = 0, r;

	for (unsigned i = 0; i < s->n; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (!e->stream)
			continue;
		r = vmdk_stream_finish(e);
		if (!r && s->flushed && fdatasync(e->fd) < 0)
			r = -errno;
		if (r && !ret)
			ret = r;
	}
	r = vmdk_free(s);
	return ret ? ret : r;
}

/* The extent holding byte off of the disk. */
static struct vmdk_extent *find_extent(struct vmdk *s, uint64_t off)
{
	unsigned lo = 0, hi = s->n;

	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (s->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &s->ext[lo];
}

static int vmdk_rw(struct vmdk *s, uint8_t *rbuf, const uint8_t *wbuf,
		   uint64_t len, uint64_t off)
{
	int ret = 0;

	while (len && !ret) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t in = off - e->start;
		uint64_t n = e->len - in < len ? e->len - in : len;

		if (wbuf && (e->readonly || e->type == VMDK_EXT_ZERO))
			return -EROFS;
		switch (e->type) {
		case VMDK_EXT_ZERO:
			memset(rbuf, 0, n);
			break;
		case VMDK_EXT_FLAT:
			ret = rbuf ? block_fd_pread(e->fd, rbuf, n, e->flat_off + in) :
				     block_fd_pwrite(e->fd, wbuf, n, e->flat_off + in);
			break;
		case VMDK_EXT_SPARSE:
			ret = rbuf ? vmdk_sparse_read(e, rbuf, n, in) :
				     vmdk_sparse_write(e, wbuf, n, in);
			break;
		}
		if (rbuf)
			rbuf += n;
		else
			wbuf += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int vmdk_pread(struct block_dev *dev, void *buf, size_t len,
		      uint64_t off)
{
	struct vmdk *s = vmdk_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = vmdk_rw(s, buf, NULL, len, off);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int vmdk_pwrite(struct block_dev *dev, const void *buf, size_t len,
		       uint64_t off)
{
	struct vmdk *s = vmdk_of(dev);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = vmdk_rw(s, NULL, buf, len, off);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int vmdk_flush(struct block_dev *dev)
{
	struct vmdk *s = vmdk_of(dev);

	pthread_mutex_lock(&s->lock);
	s->flushed = true;
	pthread_mutex_unlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		if (s->ext[i].fd >= 0 && fdatasync(s->ext[i].fd) < 0)
			return -errno;
	return 0;
}

/* Holes in a flat extent's file read as zeroes: convert skips them. */
static int flat_status(struct vmdk_extent *e, uint64_t in, uint64_t *pnum,
		       uint64_t *host_off)
{
	off_t pos = (off_t)(e->flat_off + in), data, hole;

	*host_off = (uint64_t)pos;
	data = lseek(e->fd, pos, SEEK_DATA);
	if ((data < 0 && errno == ENXIO) || (data > pos)) {
		if (data > pos && (uint64_t)(data - pos) < *pnum)
			*pnum = (uint64_t)(data - pos);
		/* data that reads as zeroes, as qemu-img maps a flat hole */
		return BLOCK_STATUS_DATA | BLOCK_STATUS_ZERO |
		       BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
	}
	hole = data < 0 ? -1 : lseek(e->fd, pos, SEEK_HOLE);
	if (hole > pos && (uint64_t)(hole - pos) < *pnum)
		*pnum = (uint64_t)(hole - pos);
	return BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET;
}

static int vmdk_block_status(struct block_dev *dev, uint64_t off,
			     uint64_t len, uint64_t *pnum, uint64_t *host_off)
{
	struct vmdk *s = vmdk_of(dev);
	struct vmdk_extent *e;
	uint64_t in;
	int ret;

	pthread_mutex_lock(&s->lock);
	e = find_extent(s, off);
	in = off - e->start;
	*pnum = e->len - in < len ? e->len - in : len;
	*host_off = 0;
	switch (e->type) {
	case VMDK_EXT_ZERO:
		ret = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
		break;
	case VMDK_EXT_FLAT:
		ret = flat_status(e, in, pnum, host_off);
		break;
	default:
		ret = vmdk_sparse_status(e, in, *pnum, pnum, host_off);
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static uint64_t vmdk_allocated_size(struct block_dev *dev)
{
	struct vmdk *s = vmdk_of(dev);
	uint64_t total = 0;
	struct stat st;

	if (s->fd >= 0 && fstat(s->fd, &st) == 0)
		total += (uint64_t)st.st_blocks * 512;
	for (unsigned i = 0; i < s->n; i++)
		if (s->ext[i].fd >= 0 && fstat(s->ext[i].fd, &st) == 0)
			total += (uint64_t)st.st_blocks * 512;
	return total;
}

static uint64_t vmdk_cluster_size(struct block_dev *dev)
{
	struct vmdk *s = vmdk_of(dev);

	return s->ext[0].type == VMDK_EXT_SPARSE ? s->ext[0].grain : 0;
}

static json_t *extent_info(const struct vmdk_extent *e)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (e->compressed)
		json_object_set_new(o, "compressed", json_true());
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)e->len));
	json_object_set_new(o, "filename", json_string(e->path ? e->path : ""));
	if (e->type == VMDK_EXT_SPARSE)
		json_object_set_new(o, "cluster-size",
				    json_integer((json_int_t)e->grain));
	json_object_set_new(o, "format", json_string(e->type_name));
	return o;
}

static int vmdk_info(struct block_dev *dev, json_t **data)
{
	struct vmdk *s = vmdk_of(dev);
	json_t *o = json_object(), *a = json_array();

	if (!o || !a) {
		json_decref(o);
		json_decref(a);
		return -ENOMEM;
	}
	json_object_set_new(o, "cid", json_integer(s->cid));
	json_object_set_new(o, "parent-cid", json_integer(s->parent_cid));
	json_object_set_new(o, "create-type",
			    json_string(s->create_type ? s->create_type :
				       s->ext[0].compressed ? "streamOptimized" :
				       "monolithicSparse"));
	for (unsigned i = 0; i < s->n; i++)
		json_array_append_new(a, extent_info(&s->ext[i]));
	json_object_set_new(o, "extents", a);
	*data = o;
	return 0;
}

static int vmdk_check(struct block_dev *dev, int fix,
		      struct block_check_result *r,
		      void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct vmdk *s = vmdk_of(dev);
	int ret = 0;

	(void)fix; /* nothing to repair: the tables are checked, not rebuilt */
	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->n && !ret; i++)
		if (s->ext[i].type == VMDK_EXT_SPARSE)
			ret = vmdk_sparse_check(&s->ext[i], r, report, ctx);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int vmdk_probe(const uint8_t *buf, size_t len)
{
	return (len >= 4 && !memcmp(buf, VMDK_MAGIC, 4)) ||
	       (len >= 21 && !memcmp(buf, "# Disk DescriptorFile", 21));
}

const struct block_driver block_vmdk_driver = {
	.name = "vmdk",
	.open = vmdk_open,
	.close = vmdk_close,
	.pread = vmdk_pread,
	.pwrite = vmdk_pwrite,
	.flush = vmdk_flush,
	.block_status = vmdk_block_status,
	.allocated_size = vmdk_allocated_size,
	.probe = vmdk_probe,
	.create = vmdk_create,
	.create_help = vmdk_create_help,
	.info = vmdk_info,
	.cluster_size = vmdk_cluster_size,
	.check = vmdk_check,
};
