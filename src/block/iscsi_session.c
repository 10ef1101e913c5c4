// SPDX-License-Identifier: MIT
/*
 * iSCSI sessions through libiscsi's asynchronous interface, driven by our
 * own poll loop so every wait has a deadline: a target that dies, hangs or
 * refuses costs a caller at most ISCSI_WAIT_S, never a hang. libiscsi's own
 * reconnection is off; a lost session is dropped (its commands fail) and
 * the next call logs in again.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "block/iscsi_int.h"
#include "vmm/log.h"

#define INITIATOR_NAME "iqn.2026-01.org.cvisor:initiator"

/* libiscsi's last error as one line (some end in a newline). */
static const char *last_error(struct iscsi_disk *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s", s->lib->get_error(s->ctx));
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = *(p + 1) ? ' ' : 0;
	return buf;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void iscsi_cmd_cb(struct iscsi_context *ctx, int status, void *data,
		  void *priv)
{
	struct iscsi_cmd *c = priv;

	(void)ctx;
	(void)data; /* the task, which c already holds */
	c->status = status;
	c->done = true;
	(*c->pending)--;
}

/* For login and logout, whose callbacks carry no task. */
static void login_cb(struct iscsi_context *ctx, int status, void *data,
		     void *priv)
{
	(void)data;
	iscsi_cmd_cb(ctx, status, NULL, priv);
}

void iscsi_session_drop(struct iscsi_disk *s, const char *why)
{
	if (!s->ctx)
		return;
	if (why && s->opened && !s->lost) {
		log_warn("%s: lost the iSCSI session (%s); requests fail until "
			 "the target answers again", s->name, why);
		s->lost = true;
	}
	/* calls back every command in flight with SCSI_STATUS_CANCELLED */
	s->lib->destroy_context(s->ctx);
	s->ctx = NULL;
	s->pending = 0;
}

/* Services the session until nothing is pending or timeout_s passed. */
static int wait_pending(struct iscsi_disk *s, int timeout_s, char *why,
			size_t whylen)
{
	int64_t end = now_ms() + (int64_t)timeout_s * 1000;

	while (s->pending) {
		struct pollfd pfd = {
			.fd = s->lib->get_fd(s->ctx),
			.events = (short)s->lib->which_events(s->ctx),
		};
		int64_t left = end - now_ms();
		int n;

		if (left <= 0) {
			snprintf(why, whylen, "no answer for %d s", timeout_s);
			return -ETIMEDOUT;
		}
		/* no events: libiscsi waits for something, try again soon */
		n = poll(&pfd, pfd.events ? 1 : 0, left < 100 ? (int)left : 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -EIO;
		}
		/* libiscsi's own words here are about its reconnect logic */
		if (s->lib->service(s->ctx, n > 0 ? pfd.revents : 0) < 0) {
			snprintf(why, whylen, "the connection broke");
			return -EIO;
		}
	}
	return 0;
}

int iscsi_wait_all(struct iscsi_disk *s)
{
	char why[256];
	int ret = wait_pending(s, ISCSI_WAIT_S, why, sizeof(why));

	if (ret)
		iscsi_session_drop(s, why);
	return ret;
}

int iscsi_cmd_one(struct iscsi_disk *s, struct iscsi_cmd *c)
{
	if (!c->task)
		return -ENOMEM;
	c->pending = &s->pending;
	s->pending++;
	iscsi_wait_all(s);
	if (!c->done || c->status != SCSI_STATUS_GOOD)
		return -EIO;
	return 0;
}

void iscsi_session_close(struct iscsi_disk *s)
{
	struct iscsi_cmd c = { .pending = &s->pending };
	char why[256];

	if (s->ctx && !s->lib->logout_async(s->ctx, login_cb, &c)) {
		s->pending++;
		wait_pending(s, 5, why, sizeof(why));
	}
	iscsi_session_drop(s, NULL);
}

static int login(struct iscsi_disk *s, char *err, size_t errlen)
{
	const struct iscsi_lib *l = s->lib;
	struct iscsi_cmd c = { .pending = &s->pending };
	char why[256], msg[256];
	int ret;

	s->ctx = l->create_context(INITIATOR_NAME);
	if (!s->ctx) {
		snprintf(err, errlen, "'%s': out of memory", s->name);
		return -ENOMEM;
	}
	l->set_noautoreconnect(s->ctx, 1);
	if (l->set_targetname(s->ctx, s->url.target) ||
	    l->set_session_type(s->ctx, ISCSI_SESSION_NORMAL) ||
	    l->set_header_digest(s->ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C) ||
	    (s->url.user[0] &&
	     l->set_initiator_username_pwd(s->ctx, s->url.user,
					   s->url.password))) {
		snprintf(err, errlen, "'%s': %s", s->name,
			 last_error(s, msg, sizeof(msg)));
		ret = -EINVAL;
		goto fail;
	}
	if (l->full_connect_async(s->ctx, s->url.portal, s->url.lun, login_cb,
				  &c)) {
		snprintf(err, errlen, "'%s': cannot connect to %s: %s", s->name,
			 s->url.portal, last_error(s, msg, sizeof(msg)));
		ret = -ECONNREFUSED;
		goto fail;
	}
	s->pending++;
	ret = wait_pending(s, ISCSI_LOGIN_S, why, sizeof(why));
	if (ret) {
		/* libiscsi says little more than that the socket failed */
		snprintf(err, errlen, "'%s': cannot connect to %s%s%s", s->name,
			 s->url.portal, ret == -ETIMEDOUT ? ": " : "",
			 ret == -ETIMEDOUT ? why : " (no target listening?)");
		goto fail;
	}
	if (c.status != SCSI_STATUS_GOOD) {
		last_error(s, msg, sizeof(msg));
		ret = strstr(msg, "uthenticat") || strstr(msg, "uthoriz") ?
			      -EACCES : -ECONNREFUSED;
		snprintf(err, errlen, "'%s': login failed: %s%s", s->name, msg,
			 ret == -EACCES ? " (wrong CHAP user or password?)" : "");
		goto fail;
	}
	return 0;
fail:
	iscsi_session_drop(s, NULL);
	return ret;
}

/* A command during login, retried past the unit attentions a new session sees. */
typedef struct scsi_task *(*setup_fn)(struct iscsi_disk *s,
				      struct iscsi_cmd *c, int arg);

static struct scsi_task *setup_cmd(struct iscsi_disk *s, setup_fn fn, int arg)
{
	for (int tries = 0; tries < 4 && s->ctx; tries++) {
		struct iscsi_cmd c = { 0 };

		c.task = fn(s, &c, arg);
		if (!iscsi_cmd_one(s, &c))
			return c.task;
		if (!c.task)
			return NULL;
		if (c.status != SCSI_STATUS_CHECK_CONDITION ||
		    c.task->sense.key != SCSI_SENSE_UNIT_ATTENTION) {
			s->lib->free_scsi_task(c.task);
			return NULL;
		}
		s->lib->free_scsi_task(c.task);
	}
	return NULL;
}

static struct scsi_task *tur(struct iscsi_disk *s, struct iscsi_cmd *c,
			     int arg)
{
	(void)arg;
	return s->lib->testunitready_task(s->ctx, s->url.lun, iscsi_cmd_cb, c);
}

static struct scsi_task *inquiry(struct iscsi_disk *s, struct iscsi_cmd *c,
				 int page)
{
	return s->lib->inquiry_task(s->ctx, s->url.lun, page >= 0,
				    page < 0 ? 0 : page, 255, iscsi_cmd_cb, c);
}

static struct scsi_task *capacity16(struct iscsi_disk *s, struct iscsi_cmd *c,
				    int arg)
{
	(void)arg;
	return s->lib->readcapacity16_task(s->ctx, s->url.lun, iscsi_cmd_cb, c);
}

static struct scsi_task *capacity10(struct iscsi_disk *s, struct iscsi_cmd *c,
				    int arg)
{
	(void)arg;
	return s->lib->readcapacity10_task(s->ctx, s->url.lun, 0, 0,
					   iscsi_cmd_cb, c);
}

static int read_capacity(struct iscsi_disk *s, uint32_t *bs, uint64_t *nr)
{
	struct scsi_task *t = setup_cmd(s, capacity16, 0);

	if (t) {
		struct scsi_readcapacity16 *rc = s->lib->datain_unmarshall(t);

		if (rc) {
			*bs = rc->block_length;
			*nr = rc->returned_lba + 1;
			s->lbpme = rc->lbpme;
			s->lbprz = rc->lbprz;
		}
		s->lib->free_scsi_task(t);
		if (rc)
			return 0;
	}
	t = setup_cmd(s, capacity10, 0);
	if (t) {
		struct scsi_readcapacity10 *rc = s->lib->datain_unmarshall(t);

		if (rc) {
			*bs = rc->block_size;
			*nr = (uint64_t)rc->lba + 1;
		}
		s->lib->free_scsi_task(t);
		if (rc)
			return 0;
	}
	return -EIO;
}

/* Transfer and unmap limits from the VPD pages, where the target has them. */
static void read_limits(struct iscsi_disk *s)
{
	struct scsi_task *t;
	uint64_t max = 4u << 20;

	s->max_xfer = 1u << 20;
	s->max_ws = 0xffff;
	t = setup_cmd(s, inquiry, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS);
	if (t) {
		struct scsi_inquiry_block_limits *bl =
			s->lib->datain_unmarshall(t);

		if (bl && bl->max_xfer_len &&
		    (uint64_t)bl->max_xfer_len * s->block_size < max)
			max = (uint64_t)bl->max_xfer_len * s->block_size;
		if (bl && bl->max_xfer_len)
			s->max_xfer = (uint32_t)max;
		if (bl && bl->max_unmap)
			s->max_unmap = bl->max_unmap;
		if (bl && bl->max_ws_len && bl->max_ws_len < s->max_ws)
			s->max_ws = (uint32_t)bl->max_ws_len;
		s->lib->free_scsi_task(t);
	}
	if (s->max_xfer < s->block_size)
		s->max_xfer = s->block_size;
	s->max_xfer -= s->max_xfer % s->block_size;
	if (!s->lbpme) {
		s->max_unmap = 0;
		return;
	}
	t = setup_cmd(s, inquiry, SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING);
	if (t) {
		struct scsi_inquiry_logical_block_provisioning *lbp =
			s->lib->datain_unmarshall(t);

		if (!lbp || !lbp->lbpu)
			s->max_unmap = 0;
		else if (!s->max_unmap)
			s->max_unmap = 0xffff;
		s->lib->free_scsi_task(t);
	} else {
		s->max_unmap = 0;
	}
}

static int check_disk(struct iscsi_disk *s, char *err, size_t errlen)
{
	struct scsi_task *t;
	struct scsi_inquiry_standard *inq;
	uint64_t nr = 0;
	uint32_t bs = 0;
	int type;

	t = setup_cmd(s, inquiry, -1);
	inq = t ? s->lib->datain_unmarshall(t) : NULL;
	type = inq ? (int)inq->device_type : -1;
	if (t)
		s->lib->free_scsi_task(t);
	if (type != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS) {
		if (type < 0)
			snprintf(err, errlen, "'%s': no answer to INQUIRY",
				 s->name);
		else
			snprintf(err, errlen, "'%s': LUN %d is not a disk (SCSI "
				 "device type %d)", s->name, s->url.lun, type);
		return -ENODEV;
	}
	/* clears the unit attention a new session starts with */
	t = setup_cmd(s, tur, 0);
	if (t)
		s->lib->free_scsi_task(t);
	if (read_capacity(s, &bs, &nr) || bs < 512 || bs > (1u << 16) ||
	    bs & (bs - 1) || nr > UINT64_MAX / bs) {
		snprintf(err, errlen, "'%s': cannot read a sane capacity", s->name);
		return -EIO;
	}
	if (s->block_size && (bs != s->block_size || nr < s->nr_blocks)) {
		snprintf(err, errlen, "'%s': the LUN changed (block size or "
			 "capacity) since it was opened", s->name);
		return -ESTALE;
	}
	s->block_size = bs;
	s->nr_blocks = nr;
	read_limits(s);
	return 0;
}

int iscsi_session_open(struct iscsi_disk *s, char *err, size_t errlen)
{
	int ret;

	s->last_login_ms = now_ms();
	ret = login(s, err, errlen);
	if (ret)
		return ret;
	ret = check_disk(s, err, errlen);
	if (ret) {
		iscsi_session_drop(s, NULL);
		return ret;
	}
	if (s->lost)
		log_info("%s: iSCSI session back", s->name);
	s->lost = false;
	s->opened = true;
	return 0;
}

int iscsi_session_ensure(struct iscsi_disk *s)
{
	char err[256];

	if (s->ctx)
		return 0;
	if (now_ms() - s->last_login_ms < 1000)
		return -EIO;
	if (iscsi_session_open(s, err, sizeof(err)))
		return -EIO;
	return 0;
}
