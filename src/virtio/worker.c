// SPDX-License-Identifier: MIT
#include "virtio/worker.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

int virtio_worker_init(struct virtio_worker *w, const char *name)
{
	w->name = name;
	w->running = false;
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return w->stop_fd < 0 ? -errno : 0;
}

int virtio_worker_start(struct virtio_worker *w, void *(*fn)(void *),
			void *arg)
{
	uint64_t v;
	int ret;

	/* a stop request left over from the last run */
	while (read(w->stop_fd, &v, sizeof(v)) == sizeof(v))
		;
	ret = -pthread_create(&w->thread, NULL, fn, arg);
	w->running = ret == 0;
	if (w->running)
		pthread_setname_np(w->thread, w->name);
	return ret;
}

void virtio_worker_stop(struct virtio_worker *w)
{
	uint64_t one = 1;

	if (!w->running)
		return;
	w->running = false;
	if (write(w->stop_fd, &one, sizeof(one)) < 0)
		log_error("%s: cannot stop its thread", w->name);
	pthread_join(w->thread, NULL);
}

void virtio_worker_destroy(struct virtio_worker *w)
{
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	w->stop_fd = -1;
}
