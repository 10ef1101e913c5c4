/* SPDX-License-Identifier: MIT */
/*
 * The control socket of a running VM (protocol: docs/api.md).
 *
 * Each VM listens on <runtime dir>/<name>.sock, a Unix stream socket in a
 * directory only its owner can enter; peers are checked with SO_PEERCRED.
 * Requests and responses are single JSON objects, one per line; events are
 * pushed to every connected client. Commands run on the control thread.
 */
#ifndef CVISOR_VMM_CONTROL_H
#define CVISOR_VMM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct control;

#define CONTROL_NAME_MAX	64
#define CONTROL_LINE_MAX	4096	/* longest request line */

/*
 * The directory holding the sockets: $CVISOR_RUNTIME_DIR, else /run/cvisor
 * for root, else $XDG_RUNTIME_DIR/cvisor, else /tmp/cvisor-<uid>. With
 * create, it is made (mode 0700) and checked to be ours and private.
 */
int control_runtime_dir(char *buf, size_t size, bool create);
/* Names are 1-64 characters of [A-Za-z0-9._-], not starting with '.'. */
bool control_name_valid(const char *name);
int control_socket_path(const char *name, char *buf, size_t size);

/*
 * Bind name's socket. A socket nobody answers on is stale and replaced;
 * a live one means the name is taken (-EADDRINUSE). Errors go to err.
 */
struct control *control_create(const char *name, char *err, size_t err_size);
/* Start the control thread (after any fork). */
int control_start(struct control *ctl);
/* Stop the thread, close clients, remove the socket. */
void control_destroy(struct control *ctl);
/* Free an unstarted ctl but leave its socket (a daemon's parent). */
void control_release(struct control *ctl);

/*
 * Waits for {"cmd":"secret-set","secret":id,"data":BASE64} (the passphrase of
 * a disk given as key-secret=ID) and hands its bytes over (*data is
 * malloc'd; wipe before freeing). Returns -EINTR when cancel(opaque) says
 * so (a termination signal) or the control socket shuts down.
 */
int control_secret_wait(struct control *ctl, const char *id, uint8_t **data,
			size_t *len, bool (*cancel)(void *opaque),
			void *opaque);

/* The VM commands act on; NULL between a reset and the next boot. */
void control_set_vm(struct control *ctl, struct vm *vm);
/* Push {"event":"<event>",<fields>} to every client; fields may be "". */
void control_event(struct control *ctl, const char *event,
		   const char *fields_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * For --daemonize: guest console output (a uart_out_fn with ctl as
 * opaque) goes to clients attached with the "console" command and to a
 * replay buffer of the latest output.
 */
void control_console_out(void *opaque, const uint8_t *buf, size_t len);
void control_enable_console(struct control *ctl);

/*
 * A socket is bound before it listens, and a connect in between is
 * refused as if it were stale: creating a socket and removing a stale one
 * both happen under this lock on the directory. Returns a lock fd (or -1
 * when the directory cannot be opened; then nothing is locked).
 */
int control_dir_lock(void);
void control_dir_unlock(int fd);
/* Remove name's socket if nobody listens on it; true when removed. */
bool control_remove_stale(const char *name);

/* Client side: connect to name's socket; -errno, message in err. */
int control_connect(const char *name, char *err, size_t err_size);
/*
 * Send one request line and read its response line into resp (events
 * before it are skipped). Returns the response length or -errno.
 */
int control_call(int fd, const char *req, char *resp, size_t size,
		 int timeout_ms);

#endif
