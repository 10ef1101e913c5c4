// SPDX-License-Identifier: MIT
/*
 * virtio-console (virtio 1.2, 5.3) with a single port and no MULTIPORT:
 * receiveq 0 carries input to the guest's /dev/hvc0, transmitq 1 its
 * output. The backend is a pty (both ways) or a file (output only), like
 * QEMU's "-chardev pty" and "-chardev file". One thread serves both queues
 * between DRIVER_OK and reset.
 */
#include "virtio/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "virtio/virtio_pci.h"
#include "virtio/worker.h"
#include "vmm/log.h"

#define VCON_RXQ		0
#define VCON_TXQ		1
#define VCON_CFG_LEN		12	/* cols, rows, max_nr_ports, emerg_wr */
/*
 * Bytes written out per transmit chain at most: the guest's hvc driver
 * sends small chunks, and a chain of huge buffers must not keep this
 * thread (and a reset, which joins it) busy.
 */
#define VCON_MAX_WRITE		(1u << 20)

struct virtio_console {
	struct virtio_dev vdev;
	const struct vcon_backend *be;
	struct virtio_worker worker;
	bool rx_held;		/* rx is a popped receive buffer, unanswered */
	bool in_eof;		/* the backend's input ended */
	struct virtq_elem rx, tx;
	uint8_t config[VCON_CFG_LEN];
};

/*
 * Write one transmit chain out. A pty nobody reads fills up: what does not
 * fit is dropped, as on a serial line with nothing attached, rather than
 * stalling the guest.
 */
static void vcon_write(struct virtio_console *vc, const struct virtq_elem *e)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < e->nr_out && total < VCON_MAX_WRITE; i++) {
		const char *p = e->iov[i].iov_base;
		size_t left = e->iov[i].iov_len < VCON_MAX_WRITE - total ?
			      e->iov[i].iov_len : VCON_MAX_WRITE - total;

		total += left;
		while (left) {
			ssize_t n = write(vc->be->fd, p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (n < 0 && errno != EAGAIN)
					log_limited(&vc->vdev.dev.log,
						    "virtio-console: output lost: "
						    "%s", strerror(errno));
				return;
			}
			p += n;
			left -= n;
		}
	}
}

static void vcon_tx(struct virtio_console *vc)
{
	struct virtq *q = &vc->vdev.queues[VCON_TXQ].vq;
	int ret;

	do {
		while ((ret = virtq_pop(q, &vc->tx)) == 1) {
			vcon_write(vc, &vc->tx);
			virtq_push(q, &vc->tx, 0);
			virtio_queue_notify(&vc->vdev, VCON_TXQ);
		}
	} while (ret == 0 && virtq_enable_notify(q));
}

/* Hold a receive buffer for the next input, if the guest gave one. */
static void vcon_rx_arm(struct virtio_console *vc)
{
	struct virtq *q = &vc->vdev.queues[VCON_RXQ].vq;

	while (!vc->rx_held && vc->be->input && !vc->in_eof) {
		int ret = virtq_pop(q, &vc->rx);

		if (ret == 1 && vc->rx.in_len == 0) {
			/* nothing to fill: answer it empty */
			virtq_push(q, &vc->rx, 0);
			virtio_queue_notify(&vc->vdev, VCON_RXQ);
			continue;
		}
		if (ret == 1)
			vc->rx_held = true;
		else if (ret < 0 || !virtq_enable_notify(q))
			return;
	}
}

/* The backend has input and we hold a receive buffer: fill it. */
static void vcon_rx(struct virtio_console *vc)
{
	struct virtq *q = &vc->vdev.queues[VCON_RXQ].vq;
	ssize_t n;

	n = readv(vc->be->fd, vc->rx.iov + vc->rx.nr_out, vc->rx.nr_in);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_limited(&vc->vdev.dev.log,
			    "virtio-console: input ended: %s",
			    n < 0 ? strerror(errno) : "end of file");
		vc->in_eof = true;
		return;
	}
	virtq_push(q, &vc->rx, n);
	vc->rx_held = false;
	virtio_queue_notify(&vc->vdev, VCON_RXQ);
}

static void *vcon_thread(void *arg)
{
	struct virtio_console *vc = arg;
	struct virtio_queue *rxq = &vc->vdev.queues[VCON_RXQ];
	struct virtio_queue *txq = &vc->vdev.queues[VCON_TXQ];
	struct pollfd fds[4] = {
		{ .fd = vc->worker.stop_fd, .events = POLLIN },
		{ .fd = rxq->kick_fd, .events = POLLIN },
		{ .fd = txq->kick_fd, .events = POLLIN },
		{ .events = POLLIN },
	};

	for (;;) {
		vcon_tx(vc);
		vcon_rx_arm(vc);
		/* input waits in the backend until there is a buffer for it */
		fds[3].fd = vc->rx_held && !vc->in_eof ? vc->be->fd : -1;
		if (poll(fds, 4, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			virtio_kick_clear(rxq);
		if (fds[2].revents)
			virtio_kick_clear(txq);
		if (fds[3].fd >= 0 && fds[3].revents)
			vcon_rx(vc);
	}
	return NULL;
}

static int vcon_start(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;

	vc->rx_held = false;
	return virtio_worker_start(&vc->worker, vcon_thread, vc);
}

static void vcon_stop(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;

	virtio_worker_stop(&vc->worker);
}

static void vcon_destroy(struct virtio_dev *vdev)
{
	struct virtio_console *vc = vdev->opaque;

	virtio_pci_destroy(&vc->vdev);
	virtio_worker_destroy(&vc->worker);
	free(vc);
}

static const struct virtio_dev_ops vcon_ops = {
	.start = vcon_start,
	.stop = vcon_stop,
	.destroy = vcon_destroy,
};

int virtio_console_create(const struct dev_env *env,
			  const struct vcon_backend *be, struct device **out)
{
	struct virtio_console *vc = calloc(1, sizeof(*vc));
	int ret = -ENOMEM;

	if (!vc)
		goto err;
	vc->be = be;
	ret = virtio_worker_init(&vc->worker, "virtio-console");
	if (ret)
		goto err_free;
	ret = virtio_pci_init(&vc->vdev, env, "virtio-console",
			      VIRTIO_ID_CONSOLE, PCI_CLASS_COMMUNICATION_OTHER,
			      0, 2, vc->config, sizeof(vc->config), &vcon_ops,
			      vc);
	if (ret)
		goto err_fd;
	*out = &vc->vdev.dev;
	return 0;
err_fd:
	virtio_worker_destroy(&vc->worker);
err_free:
	free(vc);
err:
	log_error("virtio-console: %s", strerror(-ret));
	return ret;
}

/*
 * A pty in raw mode. We keep its slave open ourselves: without any opener
 * the master reports a hang-up and fails reads with EIO until a client
 * comes, and output written meanwhile waits in the pty for the first one.
 */
static int vcon_open_pty(struct vcon_backend *be)
{
	struct termios t;
	const char *name;
	int err, fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		goto err;
	if (grantpt(fd) || unlockpt(fd) || !(name = ptsname(fd)) ||
	    tcgetattr(fd, &t))
		goto err_close;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
		goto err_close;
	be->hold_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (be->hold_fd < 0)
		goto err_close;
	be->fd = fd;
	be->input = true;
	fprintf(stderr, "virtio-console: guest /dev/hvc0 is on %s\n", name);
	return 0;
err_close:
	err = errno;
	close(fd);
	errno = err;
err:
	err = errno;
	log_error("--virtio-console: cannot create a pty: %s", strerror(err));
	return -err;
}

int vcon_backend_open(const char *spec, struct vcon_backend *be)
{
	*be = (struct vcon_backend){ .fd = -1, .hold_fd = -1 };
	if (!strcmp(spec, "pty"))
		return vcon_open_pty(be);
	if (strncmp(spec, "file=", 5) || !spec[5]) {
		log_error("--virtio-console: '%s': expected pty or file=PATH",
			  spec);
		return -EINVAL;
	}
	/*
	 * Non-blocking: a FIFO without a reader is an error now rather than
	 * a hang, and one whose reader stops loses output (as a full pty
	 * does) instead of stalling the device thread and any reset.
	 */
	be->fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		      O_NONBLOCK, 0644);
	if (be->fd < 0) {
		int err = errno;

		log_error("--virtio-console: cannot open '%s': %s", spec + 5,
			  strerror(err));
		return -err;
	}
	return 0;
}

void vcon_backend_close(struct vcon_backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	if (be->hold_fd >= 0)
		close(be->hold_fd);
	*be = (struct vcon_backend){ .fd = -1, .hold_fd = -1 };
}
