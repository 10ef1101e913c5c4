/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_BLK_H
#define CVISOR_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

#define DISK_MAX_BACKING_KEYS 8

struct disk_config {
	const char *path;	/* a file or block device, or NULL: */
	const char *url;	/* a network disk (iscsi://), not locked */
	const char *secret_file; /* its password (iSCSI CHAP), or NULL */
	bool readonly;
	bool direct;		/* cache=none: O_DIRECT */
	const char *serial;
	const char *format;	/* "raw", "qcow2" or NULL to probe */
	/* encrypted qcow2: where the passphrase comes from (never itself) */
	const char *key_file;	/* read at start and at each restore */
	const char *key_secret;	/* set over the control socket (secret-set) */
	const uint8_t *key;	/* the passphrase once read; not saved */
	size_t key_len;
	/* the same for the backing chain: [0] its backing file, [1] that's */
	struct disk_key {
		const char *file, *secret;
		const uint8_t *key;
		size_t len;
	} backing[DISK_MAX_BACKING_KEYS];
};

/*
 * Open and lock the image of --disk number index and put a virtio-blk
 * device for it on env->pci. Prints one error line on failure.
 */
int virtio_blk_create(const struct dev_env *env,
		      const struct disk_config *disk, int index,
		      struct device **out);

#endif
