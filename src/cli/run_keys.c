// SPDX-License-Identifier: MIT
/*
 * Disk passphrases for "cvisor run": from a key file (the path may be
 * shown and saved, the contents never are) or from the control socket.
 * Each restore and each incoming migration reads them again: a snapshot
 * holds the key file's path, not the key.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run_keys.h"
#include "cli/secret.h"
#include "vmm/control.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* SIGTERM and friends are blocked for the signalfd: look for them. */
static bool term_pending(void *opaque)
{
	sigset_t set;

	(void)opaque;
	return !sigpending(&set) && (sigismember(&set, SIGTERM) == 1 ||
				     sigismember(&set, SIGINT) == 1 ||
				     sigismember(&set, SIGHUP) == 1);
}

int run_disk_keys(struct vm_config *cfg, struct control *ctl)
{
	char err[256];

	for (int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];
		uint8_t *key = NULL;
		size_t len = 0;

		if (d->key || (!d->key_file && !d->key_secret))
			continue;
		if (d->key_file) {
			if (secret_read_file(d->key_file, &key, &len, err,
					     sizeof(err))) {
				log_error("disk '%s': %s", d->path, err);
				return -1;
			}
		} else if (!ctl) {
			log_error("disk '%s': key-secret=%s needs the control "
				  "socket (give --name)", d->path, d->key_secret);
			return -1;
		} else {
			log_info("disk '%s': waiting for secret '%s' (cvisor "
				 "secret-set NAME %s FILE)", d->path,
				 d->key_secret, d->key_secret);
			if (control_secret_wait(ctl, d->key_secret, &key, &len,
						term_pending, NULL)) {
				log_error("disk '%s': no secret '%s' came",
					  d->path, d->key_secret);
				return -1;
			}
		}
		d->key = key;
		d->key_len = len;
	}
	return 0;
}

void run_disk_keys_free(struct vm_config *cfg)
{
	for (int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];

		secret_free((uint8_t *)d->key, d->key_len);
		d->key = NULL;
		d->key_len = 0;
	}
}
