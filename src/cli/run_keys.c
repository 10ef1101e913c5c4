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

/* The passphrase from file or, over the control socket, secret. */
static int get_key(const char *path, const char *what, const char *file,
		   const char *secret, struct control *ctl, uint8_t **key,
		   size_t *len)
{
	char err[256];

	if (file) {
		if (secret_read_file(file, key, len, err, sizeof(err))) {
			log_error("disk '%s': %s%s", path, what, err);
			return -1;
		}
	} else if (!ctl) {
		log_error("disk '%s': %skey-secret=%s needs the control socket "
			  "(give --name)", path, what, secret);
		return -1;
	} else {
		log_info("disk '%s': %swaiting for secret '%s' (cvisor "
			 "secret-set NAME %s FILE)", path, what, secret, secret);
		if (control_secret_wait(ctl, secret, key, len, term_pending,
					NULL)) {
			log_error("disk '%s': %sno secret '%s' came", path,
				  what, secret);
			return -1;
		}
	}
	return 0;
}

int run_disk_keys(struct vm_config *cfg, struct control *ctl)
{
	for (int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];
		uint8_t *key = NULL;
		size_t len = 0;

		if (!d->key && (d->key_file || d->key_secret)) {
			if (get_key(d->path, "", d->key_file, d->key_secret,
				    ctl, &key, &len))
				return -1;
			d->key = key;
			d->key_len = len;
		}
		for (int l = 0; l < DISK_MAX_BACKING_KEYS; l++) {
			struct disk_key *k = &d->backing[l];
			char what[8 * DISK_MAX_BACKING_KEYS + 4] = "";

			if (k->key || (!k->file && !k->secret))
				continue;
			for (int j = 0; j <= l; j++)
				strcat(what, "backing.");
			strcpy(what + strlen(what) - 1, ": ");
			if (get_key(d->path, what, k->file, k->secret, ctl,
				    &key, &len))
				return -1;
			k->key = key;
			k->len = len;
		}
	}
	return 0;
}

bool run_disk_keys_held(const struct vm_config *cfg)
{
	for (int i = 0; i < cfg->nr_disks; i++) {
		if (cfg->disks[i].key)
			return true;
		for (int l = 0; l < DISK_MAX_BACKING_KEYS; l++)
			if (cfg->disks[i].backing[l].key)
				return true;
	}
	return false;
}

void run_disk_keys_free(struct vm_config *cfg)
{
	for (int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];

		secret_free((uint8_t *)d->key, d->key_len);
		d->key = NULL;
		d->key_len = 0;
		for (int l = 0; l < DISK_MAX_BACKING_KEYS; l++) {
			secret_free((uint8_t *)d->backing[l].key,
				    d->backing[l].len);
			d->backing[l].key = NULL;
			d->backing[l].len = 0;
		}
	}
}
