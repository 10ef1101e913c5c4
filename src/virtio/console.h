/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_CONSOLE_H
#define CVISOR_VIRTIO_CONSOLE_H

#include <stdbool.h>

#include "devices/device.h"

/*
 * Where a virtio-console's bytes go: opened once for the whole run, since
 * the VM (and its devices) is built anew on every guest reboot.
 */
struct vcon_backend {
	int fd;		/* pty master or output file */
	int hold_fd;	/* our own open pty slave, or -1 (see .c) */
	bool input;	/* fd can be read: a pty */
};

/*
 * Open spec ("pty" or "file=PATH"). Prints one line naming the value and
 * returns -errno on failure; for a pty prints the path to attach to.
 */
int vcon_backend_open(const char *spec, struct vcon_backend *be);
void vcon_backend_close(struct vcon_backend *be);

/* Put a virtio-console over be on env->pci. */
int virtio_console_create(const struct dev_env *env,
			  const struct vcon_backend *be, struct device **out);

#endif
