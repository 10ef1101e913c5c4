/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_WORKER_H
#define CVISOR_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>

/*
 * A device's service thread, started when the driver sets DRIVER_OK and
 * stopped (joined) on reset and teardown. The thread polls stop_fd with
 * its queues' kick fds and returns once stop_fd is readable.
 */
struct virtio_worker {
	const char *name;	/* thread name and error messages */
	pthread_t thread;
	int stop_fd;		/* an eventfd */
	bool running;
};

/* Returns 0 or a negative errno; stop_fd is -1 after a failure. */
int virtio_worker_init(struct virtio_worker *w, const char *name);
int virtio_worker_start(struct virtio_worker *w, void *(*fn)(void *),
			void *arg);
void virtio_worker_stop(struct virtio_worker *w);
void virtio_worker_destroy(struct virtio_worker *w);

#endif
