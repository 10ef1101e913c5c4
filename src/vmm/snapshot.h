/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a running VM: a directory holding
 *   config.json  the `cvisor run` arguments, working directory, and the
 *                size and modification time of each disk image
 *   state        the state stream (state.h): "vm", the accelerator's
 *                section, "cpu0".., then every device in machine order
 *   memory       guest RAM, sparse: pages that are zero are holes
 * docs/snapshot.md describes the format. A restored VM maps memory
 * copy-on-write from the file, so it starts without reading it all.
 */
#ifndef CVISOR_VMM_SNAPSHOT_H
#define CVISOR_VMM_SNAPSHOT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define SNAPSHOT_CONFIG		"config.json"
#define SNAPSHOT_STATE		"state"
#define SNAPSHOT_MEMORY		"memory"
#define SNAPSHOT_VERSION	1
#define SNAPSHOT_MAX_ARGS	256

/*
 * Write the VM into the new directory dir: pauses the vCPUs and quiesces
 * the devices, writes, then lets the VM go on (unless stop, which ends it
 * with status 0). On failure the VM goes on, the partial directory is
 * removed and err holds one line.
 */
int vm_snapshot(struct vm *vm, const char *dir, bool stop, char *err,
		size_t errlen);

/* What a snapshot's config.json says. */
struct snapshot_config {
	int argc;
	char **argv;		/* allocated; argv[argc] is NULL */
	char cwd[PATH_MAX];
};

/*
 * Read and check dir/config.json: a readable file of this version whose
 * disks still have the size and mtime they had (unless force). Returns 0
 * or a negative errno with one line in err.
 */
int snapshot_read_config(const char *dir, bool force,
			 struct snapshot_config *sc, char *err, size_t errlen);
void snapshot_config_free(struct snapshot_config *sc);

/* vm_create's two steps of a restore (cfg->restore_dir set). */
int snapshot_map_memory(struct vm *vm, char *err, size_t errlen);
int snapshot_load_state(struct vm *vm, char *err, size_t errlen);

/*
 * The pieces live migration shares: the configuration as JSON text
 * (malloc'ed, NULL on error), its parser (disks are only checked to exist
 * when check_disks is false), every state section after the memory, and
 * loading them from a reader (devices resumed on success).
 */
struct state_writer;
struct state_reader;
char *snapshot_config_text(struct vm *vm, size_t *len);
int snapshot_config_parse(const char *text, size_t len, bool check_disks,
			  struct snapshot_config *sc, char *err, size_t errlen);
int snapshot_write_state(struct vm *vm, struct state_writer *w);
int snapshot_load_stream(struct vm *vm, struct state_reader *r);

#endif
