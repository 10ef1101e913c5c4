/* SPDX-License-Identifier: MIT */
/*
 * Live migration over TCP, pre-copy. The stream is the snapshot's state
 * stream (state.h) on a socket:
 *
 *   "config"    the snapshot's config.json text: how to build the VM
 *   "ram-info"  u64 pages of guest RAM
 *   "ram" ...   pages: u64 first page, u32 count, then per page u8 kind
 *               (0 zero, 1 raw 4096 bytes, 2 zstd: u32 length, bytes)
 *   "ram-end"   the source is paused, its disks flushed and released
 *   "vm", accelerator, "cpuN", devices: as in a snapshot; then "end"
 *
 * and one line back from the destination once its VM is built and
 * loaded: "ok" (the source ends) or "error: why" (the source goes on).
 * docs/migration.md describes it.
 */
#ifndef CVISOR_VMM_MIGRATION_H
#define CVISOR_VMM_MIGRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct vm;
struct json_out;
struct state_reader;

#define MIGRATION_RAM_BATCH	256	/* pages per "ram" section */

struct migration_params {
	char host[256];
	uint16_t port;
	uint64_t downtime_ms;	/* the pause the guest may see (300) */
	uint64_t bandwidth;	/* bytes per second, 0: unlimited */
	uint64_t timeout_s;	/* give up after (0: never) */
	bool compress;		/* zstd for pages that are not zero */
	/* Progress and the end, for the control socket's events. */
	void (*event)(void *opaque, const char *status, const char *detail);
	void *event_opaque;
};

/*
 * "tcp:HOST:PORT" into host and port; -EINVAL with one line in err.
 * HOST may be empty (listening: every address).
 */
int migration_parse_uri(const char *uri, char *host, size_t hostlen,
			uint16_t *port, char *err, size_t errlen);

/*
 * Source: start migrating vm on a thread of its own; -EBUSY if one runs.
 * On success the VM ends (exit status 0, "migrated"); on failure or
 * cancel it goes on and the reason is in migration_info.
 */
int migration_start(struct vm *vm, const struct migration_params *p,
		    char *err, size_t errlen);
int migration_cancel(struct vm *vm);
/* The "migration" member of `info`: status, iteration, bytes, rates. */
void migration_info(struct vm *vm, struct json_out *o);
/* Join a finished migration's thread and free it (vm_destroy). */
void migration_destroy(struct vm *vm);

/*
 * Destination: listen on uri, accept one source and read its "config"
 * section. Returns the incoming stream with the config text in *config
 * (owned by it), or NULL with one line in err.
 */
struct migration_in;
struct migration_in *migration_accept(const char *uri, const char **config,
				      size_t *config_len, char *err,
				      size_t errlen);
/*
 * The same over a stream already open (taken over, closed on failure);
 * for the fuzz target, which has no socket.
 */
struct migration_in *migration_in_open(FILE *f, const char **config,
				       size_t *config_len, char *err,
				       size_t errlen);
void migration_in_close(struct migration_in *in);

/*
 * The destination half of vm_create (cfg->incoming): guest RAM from the
 * stream, then (after the devices exist) the state. One line in err.
 */
int migration_recv_ram(struct vm *vm, struct migration_in *in, char *err,
		       size_t errlen);
int migration_recv_state(struct vm *vm, struct migration_in *in, char *err,
			 size_t errlen);
/* Tell the source how it went (err NULL: ok). */
void migration_reply(struct migration_in *in, const char *err);

#endif
