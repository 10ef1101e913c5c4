// SPDX-License-Identifier: MIT
/*
 * iSCSI disks through libiscsi: "iscsi://[USER@]HOST[:PORT]/IQN/LUN" is a
 * raw image. Calls are synchronous for the caller (virtio-blk runs them on
 * its I/O threads under the device's lock, "cvisor img" on its own thread)
 * but a large transfer goes out as up to ISCSI_MAX_INFLIGHT commands at
 * once, straight from and into the caller's buffer. A command that fails
 * because the session went away is sent once more on a new session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/iscsi_int.h"
#include "vmm/log.h"

static struct iscsi_disk *disk_of(struct block_dev *dev)
{
	return dev->opaque;
}

int iscsi_cmd_errno(const struct iscsi_cmd *c)
{
	const struct scsi_sense *sense;

	if (!c->done)
		return -EAGAIN;
	switch (c->status) {
	case SCSI_STATUS_GOOD:
		/*
		 * A READ or WRITE the target answered with fewer bytes than
		 * asked left part of the buffer as it was.
		 */
		if (c->iovs && c->task->residual_status ==
				       SCSI_RESIDUAL_UNDERFLOW &&
		    c->task->residual)
			return -EIO;
		return 0;
	case SCSI_STATUS_CHECK_CONDITION:
		break;
	case SCSI_STATUS_BUSY:
	case SCSI_STATUS_TASK_SET_FULL:
	case SCSI_STATUS_CANCELLED:
	case SCSI_STATUS_ERROR:
	case SCSI_STATUS_TIMEOUT:
		return -EAGAIN;
	case SCSI_STATUS_RESERVATION_CONFLICT:
		return -EBUSY;
	default:
		return -EIO;
	}
	sense = &c->task->sense;
	switch (sense->key) {
	case SCSI_SENSE_UNIT_ATTENTION:
		return -EAGAIN;
	case SCSI_SENSE_DATA_PROTECTION:
		return -EROFS;
	case SCSI_SENSE_ILLEGAL_REQUEST:
		/* invalid operation code or field: the target lacks it */
		if ((sense->ascq >> 8) == 0x20 || (sense->ascq >> 8) == 0x24)
			return -EOPNOTSUPP;
		return -EINVAL;
	default:
		return -EIO;
	}
}

typedef struct scsi_task *(*issue_fn)(struct iscsi_disk *s,
				      struct iscsi_cmd *c, void *arg,
				      uint64_t i);

/* Commands first..first+n at once; the first error, -EAGAIN if retryable. */
static int wave(struct iscsi_disk *s, struct iscsi_cmd *cmds, uint64_t first,
		unsigned n, issue_fn issue, void *arg)
{
	unsigned queued = 0;
	int ret = iscsi_session_ensure(s), r;

	if (ret)
		return ret;
	for (; queued < n; queued++) {
		struct iscsi_cmd *c = &cmds[queued];

		memset(c, 0, sizeof(*c));
		c->pending = &s->pending;
		c->task = issue(s, c, arg, first + queued);
		if (!c->task) {
			free(c->iovs);
			ret = -ENOMEM;
			break;
		}
		s->pending++;
	}
	/* a lost session calls back what is left as cancelled: -EAGAIN */
	if (queued)
		iscsi_wait_all(s);
	for (unsigned i = 0; i < queued; i++) {
		r = iscsi_cmd_errno(&cmds[i]);
		if (r && (!ret || r == -EAGAIN))
			ret = r;
		s->lib->free_scsi_task(cmds[i].task);
		free(cmds[i].iovs);
	}
	return ret;
}

/* Commands 0..nr-1, ISCSI_MAX_INFLIGHT at a time, each wave tried thrice. */
static int run(struct iscsi_disk *s, uint64_t nr, issue_fn issue, void *arg)
{
	struct iscsi_cmd cmds[ISCSI_MAX_INFLIGHT];

	for (uint64_t first = 0; first < nr; first += ISCSI_MAX_INFLIGHT) {
		unsigned n = nr - first < ISCSI_MAX_INFLIGHT ?
			     (unsigned)(nr - first) : ISCSI_MAX_INFLIGHT;
		int ret;

		for (int tries = 0;; tries++) {
			ret = wave(s, cmds, first, n, issue, arg);
			if (ret != -EAGAIN || tries == 2)
				break;
			/* a busy target (the session is still up) gets a moment */
			if (s->ctx)
				usleep(10000u << tries);
		}
		if (ret)
			return ret == -EAGAIN ? -EIO : ret;
	}
	return 0;
}

/* A transfer of whole blocks from or into the pieces iov[0..n). */
struct rw {
	const struct iovec *iov;
	int n;
	uint64_t off, len;
	bool write;
};

/* The pieces of bytes [at, at+len) of the transfer, in c->iovs. */
static int slice(const struct rw *a, uint64_t at, uint64_t len,
		 struct iscsi_cmd *c)
{
	int first = 0, k = 0;
	uint64_t skip = at;

	while (first < a->n && skip >= a->iov[first].iov_len)
		skip -= a->iov[first++].iov_len;
	c->iovs = calloc(first < a->n ? (unsigned)(a->n - first) : 1u,
			 sizeof(*c->iovs));
	if (!c->iovs)
		return -ENOMEM;
	for (int i = first; i < a->n && len; i++, skip = 0) {
		uint64_t n = a->iov[i].iov_len - skip;

		if (n > len)
			n = len;
		if (!n)
			continue;
		c->iovs[k++] = (struct scsi_iovec){
			(uint8_t *)a->iov[i].iov_base + skip, n };
		len -= n;
	}
	c->niov = k;
	return 0;
}

static struct scsi_task *issue_rw(struct iscsi_disk *s, struct iscsi_cmd *c,
				  void *arg, uint64_t i)
{
	const struct iscsi_lib *l = s->lib;
	struct rw *a = arg;
	uint64_t at = i * s->max_xfer;
	uint32_t n = a->len - at < s->max_xfer ? (uint32_t)(a->len - at) :
						 s->max_xfer;
	uint64_t lba = (a->off + at) / s->block_size;

	if (slice(a, at, n, c))
		return NULL;
	if (a->write)
		return l->write16_iov_task(s->ctx, s->url.lun, lba, NULL, n,
					   (int)s->block_size, 0, 0, 0, 0, 0,
					   iscsi_cmd_cb, c, c->iovs, c->niov);
	return l->read16_iov_task(s->ctx, s->url.lun, lba, n,
				  (int)s->block_size, 0, 0, 0, 0, 0,
				  iscsi_cmd_cb, c, c->iovs, c->niov);
}

static int rw_blocks(struct iscsi_disk *s, const struct iovec *iov, int n,
		     uint64_t len, uint64_t off, bool write)
{
	struct rw a = { iov, n, off, len, write };

	return run(s, (len + s->max_xfer - 1) / s->max_xfer, issue_rw, &a);
}

/*
 * Any byte range: whole blocks go straight from and into the pieces; a
 * range that does not cover whole blocks (a LUN with 4 KiB blocks) goes
 * through a bounce buffer, read-modify-write for a write.
 */
static int rw(struct iscsi_disk *s, const struct iovec *iov, int n,
	      uint64_t off, bool write)
{
	uint64_t bs = s->block_size, len = 0, a0, a1, done = 0;
	struct iovec whole;
	uint8_t *bounce;
	int ret;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (!len)
		return 0;
	a0 = off / bs * bs;
	a1 = (off + len + bs - 1) / bs * bs;
	if (a0 == off && a1 == off + len)
		return rw_blocks(s, iov, n, len, off, write);
	/* zeroed: a target that sends less must not hand out our heap */
	bounce = calloc(1, a1 - a0);
	if (!bounce)
		return -ENOMEM;
	whole = (struct iovec){ bounce, a1 - a0 };
	ret = rw_blocks(s, &whole, 1, a1 - a0, a0, false);
	for (int i = 0; i < n && !ret; i++) {
		if (write)
			memcpy(bounce + (off - a0) + done, iov[i].iov_base,
			       iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, bounce + (off - a0) + done,
			       iov[i].iov_len);
		done += iov[i].iov_len;
	}
	if (!ret && write)
		ret = rw_blocks(s, &whole, 1, a1 - a0, a0, true);
	free(bounce);
	return ret;
}

static int iscsi_preadv(struct block_dev *dev, const struct iovec *iov, int n,
			uint64_t off)
{
	return rw(disk_of(dev), iov, n, off, false);
}

static int iscsi_pwritev(struct block_dev *dev, const struct iovec *iov,
			 int n, uint64_t off)
{
	return rw(disk_of(dev), iov, n, off, true);
}

static int iscsi_pread(struct block_dev *dev, void *buf, size_t len,
		       uint64_t off)
{
	struct iovec v = { buf, len };

	return rw(disk_of(dev), &v, 1, off, false);
}

/* the buffer is only read: libiscsi's iovec is not const */
static int iscsi_pwrite(struct block_dev *dev, const void *buf, size_t len,
			uint64_t off)
{
	struct iovec v = { (void *)buf, len };

	return rw(disk_of(dev), &v, 1, off, true);
}

static struct scsi_task *issue_sync(struct iscsi_disk *s, struct iscsi_cmd *c,
				    void *arg, uint64_t i)
{
	(void)arg;
	(void)i;
	if (s->no_sync16)
		return s->lib->synchronizecache10_task(s->ctx, s->url.lun, 0, 0,
						       0, 0, iscsi_cmd_cb, c);
	return s->lib->synchronizecache16_task(s->ctx, s->url.lun, 0, 0, 0, 0,
					       iscsi_cmd_cb, c);
}

static int iscsi_flush(struct block_dev *dev)
{
	struct iscsi_disk *s = disk_of(dev);
	int ret = run(s, 1, issue_sync, NULL);

	if (ret == -EOPNOTSUPP && !s->no_sync16) {
		s->no_sync16 = true;
		ret = run(s, 1, issue_sync, NULL);
	}
	/* a target without SYNCHRONIZE CACHE has no cache to write back */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

struct range {
	uint64_t lba, nr;	/* blocks */
	uint32_t per_cmd;
};

static struct scsi_task *issue_unmap(struct iscsi_disk *s, struct iscsi_cmd *c,
				     void *arg, uint64_t i)
{
	struct range *r = arg;
	uint64_t at = i * r->per_cmd;

	c->unmap.lba = r->lba + at;
	c->unmap.num = r->nr - at < r->per_cmd ? (uint32_t)(r->nr - at) :
						r->per_cmd;
	return s->lib->unmap_task(s->ctx, s->url.lun, 0, 0, &c->unmap, 1,
				  iscsi_cmd_cb, c);
}

static struct scsi_task *issue_ws(struct iscsi_disk *s, struct iscsi_cmd *c,
				  void *arg, uint64_t i)
{
	struct range *r = arg;
	uint64_t at = i * r->per_cmd;
	uint32_t n = r->nr - at < r->per_cmd ? (uint32_t)(r->nr - at) :
					      r->per_cmd;

	return s->lib->writesame16_task(s->ctx, s->url.lun, r->lba + at,
					s->zero_block, s->block_size, n, 0, 0, 0,
					0, iscsi_cmd_cb, c);
}

/* The whole blocks inside [off, off+len), as a range of per_cmd pieces. */
static bool inner_blocks(struct iscsi_disk *s, uint64_t off, uint64_t len,
			 uint32_t per_cmd, struct range *r)
{
	uint64_t bs = s->block_size, first = (off + bs - 1) / bs;
	uint64_t end = (off + len) / bs;

	if (end <= first || !per_cmd)
		return false;
	*r = (struct range){ first, end - first, per_cmd };
	return true;
}

/* Discarding is advisory: a target without UNMAP keeps the data. */
static int iscsi_discard(struct block_dev *dev, uint64_t off, uint64_t len)
{
	struct iscsi_disk *s = disk_of(dev);
	struct range r;
	int ret;

	if (!inner_blocks(s, off, len, s->max_unmap, &r))
		return 0;
	ret = run(s, (r.nr + r.per_cmd - 1) / r.per_cmd, issue_unmap, &r);
	if (ret == -EOPNOTSUPP) {
		s->max_unmap = 0;
		return 0;
	}
	return ret;
}

static int write_zero_bytes(struct iscsi_disk *s, uint64_t off, uint64_t len)
{
	size_t chunk = len < s->max_xfer ? (size_t)len : s->max_xfer;
	uint8_t *zero = calloc(1, chunk);
	int ret = 0;

	if (!zero)
		return -ENOMEM;
	while (len && !ret) {
		struct iovec v = { zero, len < chunk ? (size_t)len : chunk };

		ret = rw(s, &v, 1, off, true);
		off += v.iov_len;
		len -= v.iov_len;
	}
	free(zero);
	return ret;
}

static int iscsi_write_zeroes(struct block_dev *dev, uint64_t off,
			      uint64_t len)
{
	struct iscsi_disk *s = disk_of(dev);
	uint64_t bs = s->block_size;
	struct range r;
	int ret;

	if (!inner_blocks(s, off, len, s->max_ws, &r))
		return write_zero_bytes(s, off, len);
	ret = run(s, (r.nr + r.per_cmd - 1) / r.per_cmd, issue_ws, &r);
	if (ret == -EOPNOTSUPP) {
		s->max_ws = 0;
		return write_zero_bytes(s, off, len);
	}
	/* the partial blocks at either end */
	if (!ret && off < r.lba * bs)
		ret = write_zero_bytes(s, off, r.lba * bs - off);
	if (!ret && (r.lba + r.nr) * bs < off + len)
		ret = write_zero_bytes(s, (r.lba + r.nr) * bs,
				       off + len - (r.lba + r.nr) * bs);
	return ret;
}

static int iscsi_truncate(struct block_dev *dev, uint64_t size)
{
	(void)dev;
	(void)size;
	return -ENOTSUP; /* a LUN's size is the target's to change */
}

/*
 * On a thin-provisioned LUN (LBPME), GET LBA STATUS tells unmapped ranges,
 * which read as zeroes where the target says so (LBPRZ); everything else
 * is data. "img convert" and "img map" use this, as qemu-img does.
 */
static int iscsi_block_status(struct block_dev *dev, uint64_t off,
			      uint64_t len, uint64_t *pnum, uint64_t *host_off)
{
	const int data = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED |
			 BLOCK_STATUS_OFFSET;
	struct iscsi_disk *s = disk_of(dev);
	struct scsi_get_lba_status *st;
	struct iscsi_cmd c = { 0 };
	uint64_t bs = s->block_size, lba = off / bs, end;
	int ret = data;

	*pnum = len;
	*host_off = off;
	if (!s->lbpme || !s->lbprz || s->no_lba_status ||
	    iscsi_session_ensure(s))
		return data;
	c.task = s->lib->get_lba_status_task(s->ctx, s->url.lun, lba, 8 + 16,
					     iscsi_cmd_cb, &c);
	if (iscsi_cmd_one(s, &c)) {
		if (c.task && iscsi_cmd_errno(&c) == -EOPNOTSUPP)
			s->no_lba_status = true;
		goto out;
	}
	st = s->lib->datain_unmarshall(c.task);
	if (!st || !st->num_descriptors || st->descriptors[0].lba > lba ||
	    st->descriptors[0].lba + st->descriptors[0].num_blocks <= lba)
		goto out;
	end = (st->descriptors[0].lba + st->descriptors[0].num_blocks) * bs;
	if (end - off < len)
		*pnum = end - off;
	if (st->descriptors[0].provisioning != SCSI_PROVISIONING_TYPE_MAPPED)
		ret = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED |
		      BLOCK_STATUS_OFFSET;
out:
	if (c.task)
		s->lib->free_scsi_task(c.task);
	return ret;
}

/* Not known from the initiator's side ("disk size: unavailable"). */
static uint64_t iscsi_allocated_size(struct block_dev *dev)
{
	(void)dev;
	return 0;
}

/* libiscsi's own convention, which its tools (iscsi-ls, iscsi-inq) share. */
static int password_from_env(struct iscsi_disk *s, char *err, size_t errlen)
{
	const char *pw = getenv("LIBISCSI_CHAP_PASSWORD");

	if (!pw || !*pw) {
		snprintf(err, errlen, "'%s': user %s needs a password: "
			 "secret-file=FILE (or LIBISCSI_CHAP_PASSWORD in the "
			 "environment)", s->name, s->url.user);
		return -EINVAL;
	}
	return iscsi_secret_parse(pw, strlen(pw), s->url.password,
				  sizeof(s->url.password), err, errlen);
}

static int iscsi_open_url(struct block_dev *dev, const char *url,
			  const struct block_open_opts *o, char *err,
			  size_t errlen)
{
	struct iscsi_disk *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->name = dev->path;
	s->lib = iscsi_lib_get(err, errlen);
	if (!s->lib) {
		free(s);
		return -ENOPKG;
	}
	ret = iscsi_url_parse(url, &s->url, err, errlen);
	if (ret)
		goto fail;
	if (o && o->key) {
		/* qemu-img's password-secret: the secret's bytes */
		if (!s->url.user[0]) {
			snprintf(err, errlen, "'%s': a password needs a user",
				 s->name);
			ret = -EINVAL;
			goto fail;
		}
		ret = iscsi_secret_parse((const char *)o->key, o->key_len,
					 s->url.password,
					 sizeof(s->url.password), err, errlen);
		if (ret)
			goto fail;
	} else if (o && o->secret_file) {
		if (!s->url.user[0]) {
			snprintf(err, errlen, "'%s': a secret file needs the "
				 "user in the URL (iscsi://USER@HOST/...)",
				 s->name);
			ret = -EINVAL;
			goto fail;
		}
		ret = iscsi_secret_read(o->secret_file, s->url.password,
					sizeof(s->url.password), err, errlen);
		if (ret)
			goto fail;
	} else if (s->url.has_password) {
		log_warn("%s: the iSCSI password in the URL is visible to "
			 "every user in ps; give it in a file (secret-file=)",
			 s->name);
	} else if (s->url.user[0]) {
		ret = password_from_env(s, err, errlen);
		if (ret)
			goto fail;
	}
	ret = iscsi_session_open(s, err, errlen);
	if (ret)
		goto fail;
	s->zero_block = calloc(1, s->block_size);
	if (!s->zero_block) {
		iscsi_session_drop(s, NULL);
		ret = -ENOMEM;
		goto fail;
	}
	dev->length = s->nr_blocks * s->block_size;
	dev->opaque = s;
	return 0;
fail:
	explicit_bzero(s->url.password, sizeof(s->url.password));
	free(s);
	return ret;
}

static int iscsi_close(struct block_dev *dev)
{
	struct iscsi_disk *s = disk_of(dev);

	iscsi_session_close(s);
	explicit_bzero(s->url.password, sizeof(s->url.password));
	free(s->zero_block);
	free(s);
	return 0; /* every write was done (or failed) before it returned */
}

const struct block_driver block_iscsi_driver = {
	.name = "iscsi",
	.scheme = "iscsi",
	.open_url = iscsi_open_url,
	.not_zeroed = true,
	.close = iscsi_close,
	.pread = iscsi_pread,
	.pwrite = iscsi_pwrite,
	.preadv = iscsi_preadv,
	.pwritev = iscsi_pwritev,
	.flush = iscsi_flush,
	.discard = iscsi_discard,
	.write_zeroes = iscsi_write_zeroes,
	.truncate = iscsi_truncate,
	.block_status = iscsi_block_status,
	.allocated_size = iscsi_allocated_size,
};
