/* SPDX-License-Identifier: MIT */
/* The iSCSI driver's state, shared by its session and command halves. */
#ifndef CVISOR_BLOCK_ISCSI_INT_H
#define CVISOR_BLOCK_ISCSI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "block/iscsi_lib.h"
#include "block/iscsi_url.h"

/*
 * Longest wait for the commands of one call (and for a login): then the
 * session is taken down, the call fails with EIO, and the next call logs
 * in again. A dead or stopped target costs each caller at most this.
 */
#define ISCSI_WAIT_S		30
#define ISCSI_LOGIN_S		10
/* Commands in flight for one large transfer. */
#define ISCSI_MAX_INFLIGHT	8

struct iscsi_disk {
	const struct iscsi_lib *lib;
	struct iscsi_context *ctx;	/* NULL while the session is down */
	struct iscsi_url_parts url;		/* with the secret file's password */
	const char *name;		/* the URL without password */
	uint32_t block_size;
	uint64_t nr_blocks;
	uint32_t max_xfer;		/* bytes per READ/WRITE */
	uint32_t max_unmap;		/* blocks per UNMAP, 0: no UNMAP */
	uint32_t max_ws;		/* blocks per WRITE SAME, 0: none */
	bool lbpme, lbprz;		/* thin provisioned; unmapped reads 0 */
	bool no_sync16, no_lba_status;
	bool opened;			/* the first session is up */
	bool lost;			/* the session failed and was said so */
	int64_t last_login_ms;		/* of the last attempt, to pace them */
	int pending;			/* commands not yet called back */
	uint8_t *zero_block;
};

/* One SCSI command in flight and, once called back, its status. */
struct iscsi_cmd {
	struct scsi_task *task;
	struct scsi_iovec *iovs;	/* the pieces of a READ/WRITE */
	int niov;
	struct unmap_list unmap;
	int *pending;
	bool done;
	int status;
};

void iscsi_cmd_cb(struct iscsi_context *ctx, int status, void *data,
		  void *priv);
/*
 * A finished command as 0 or -errno; -EAGAIN: worth sending again. A
 * READ or WRITE (c->iovs set) with a residual underflow is -EIO.
 */
int iscsi_cmd_errno(const struct iscsi_cmd *c);
/*
 * Counts c (whose task the caller just queued; NULL is -ENOMEM) as
 * pending, waits for every pending command and returns c's result as 0
 * or -errno. The caller frees c->task.
 */
int iscsi_cmd_one(struct iscsi_disk *s, struct iscsi_cmd *c);
/*
 * Logs in to the target (again); on failure one line in err and no
 * session. Reads the capacity: a reconnect to a LUN that shrank fails.
 */
int iscsi_session_open(struct iscsi_disk *s, char *err, size_t errlen);
/* Waits for every pending command; a session that fails is dropped. */
int iscsi_wait_all(struct iscsi_disk *s);
/* Logs out (if the target still answers) and ends the session. */
void iscsi_session_close(struct iscsi_disk *s);
/* Before a command: a session, logging in again at most once a second. */
int iscsi_session_ensure(struct iscsi_disk *s);
/* Ends the session; why (or NULL) is logged once per outage. */
void iscsi_session_drop(struct iscsi_disk *s, const char *why);

extern const struct block_driver block_iscsi_driver;

#endif
