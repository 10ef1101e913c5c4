// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.2, 5.4): one request queue whose writable buffers
 * are filled from getrandom(). Served on its own thread between DRIVER_OK
 * and reset.
 */
#include "virtio/rng.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "virtio/virtio_pci.h"
#include "virtio/worker.h"
#include "vmm/log.h"

/*
 * Bytes filled per request at most: the device may answer with fewer than
 * the buffers hold, and a chain of huge buffers would otherwise keep this
 * thread (and a reset, which joins it) busy for minutes.
 */
#define RNG_MAX_FILL		(1u << 20)

struct virtio_rng {
	struct virtio_dev vdev;
	struct virtio_worker worker;
	struct virtq_elem elem;
};

/* Fill the writable buffers of the chain in order; returns the bytes written. */
static uint32_t rng_fill(const struct virtq_elem *e)
{
	uint64_t total = 0;

	for (unsigned i = e->nr_out;
	     i < e->nr_out + e->nr_in && total < RNG_MAX_FILL; i++) {
		char *p = e->iov[i].iov_base;
		size_t left = e->iov[i].iov_len < RNG_MAX_FILL - total ?
			      e->iov[i].iov_len : RNG_MAX_FILL - total;

		while (left) {
			ssize_t n = getrandom(p, left, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return total;
			}
			p += n;
			left -= n;
			total += n;
		}
	}
	return total;
}

static void rng_process(struct virtio_rng *rng)
{
	struct virtio_queue *q = &rng->vdev.queues[0];
	int ret;

	do {
		while ((ret = virtq_pop(&q->vq, &rng->elem)) == 1) {
			virtq_push(&q->vq, &rng->elem, rng_fill(&rng->elem));
			virtio_queue_notify(&rng->vdev, 0);
		}
	} while (ret == 0 && virtq_enable_notify(&q->vq));
}

static void *rng_thread(void *arg)
{
	struct virtio_rng *rng = arg;
	struct pollfd fds[2] = {
		{ .fd = rng->vdev.queues[0].kick_fd, .events = POLLIN },
		{ .fd = rng->worker.stop_fd, .events = POLLIN },
	};

	rng_process(rng);
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents) {
			virtio_kick_clear(&rng->vdev.queues[0]);
			rng_process(rng);
		}
	}
	return NULL;
}

static int rng_start(struct virtio_dev *vdev)
{
	struct virtio_rng *rng = vdev->opaque;

	if (!vdev->queues[0].enabled)
		return 0;
	return virtio_worker_start(&rng->worker, rng_thread, rng);
}

static void rng_stop(struct virtio_dev *vdev)
{
	struct virtio_rng *rng = vdev->opaque;

	virtio_worker_stop(&rng->worker);
}

static void rng_destroy(struct virtio_dev *vdev)
{
	struct virtio_rng *rng = vdev->opaque;

	virtio_pci_destroy(&rng->vdev);
	virtio_worker_destroy(&rng->worker);
	free(rng);
}

static const struct virtio_dev_ops rng_ops = {
	.start = rng_start,
	.stop = rng_stop,
	.destroy = rng_destroy,
};

int virtio_rng_create(const struct dev_env *env, struct device **out)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int ret = -ENOMEM;

	if (!rng)
		goto err;
	ret = virtio_worker_init(&rng->worker, "virtio-rng");
	if (ret)
		goto err_free;
	ret = virtio_pci_init(&rng->vdev, env, "virtio-rng", VIRTIO_ID_RNG,
			      PCI_CLASS_OTHERS, 0, 1, NULL, 0, &rng_ops, rng);
	if (ret)
		goto err_fd;
	*out = &rng->vdev.dev;
	return 0;
err_fd:
	virtio_worker_destroy(&rng->worker);
err_free:
	free(rng);
err:
	log_error("virtio-rng: %s", strerror(-ret));
	return ret;
}
