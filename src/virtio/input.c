// SPDX-License-Identifier: MIT
/*
 * virtio-input (virtio 1.2, 5.8). The driver learns what the device is by
 * writing select/subsel into the config space and reading the answer from
 * the same bytes: its name, ids, and bitmaps of the event codes it sends.
 * Queue 0 (eventq) takes 8-byte events into buffers the guest posts;
 * queue 1 (statusq) brings LED changes, which a VNC client cannot show.
 */
#include "virtio/input.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ui/keymap.h"
#include "virtio/virtio_pci.h"
#include "virtio/worker.h"
#include "vmm/log.h"

#define VIN_EVENTQ		0
#define VIN_STATUSQ		1

/* Config selectors */
#define VIN_CFG_UNSET		0x00
#define VIN_CFG_ID_NAME		0x01
#define VIN_CFG_ID_SERIAL	0x02
#define VIN_CFG_ID_DEVIDS	0x03
#define VIN_CFG_PROP_BITS	0x10
#define VIN_CFG_EV_BITS		0x11
#define VIN_CFG_ABS_INFO	0x12

#define VIN_CFG_SELECT		0
#define VIN_CFG_SUBSEL		1
#define VIN_CFG_SIZE		2
#define VIN_CFG_UNION		8
#define VIN_CFG_LEN		(VIN_CFG_UNION + 128)

#define BUS_VIRTUAL		0x06
#define VIN_VENDOR		0x1af4

/* Events waiting for guest buffers: a few screens of typing. */
#define VIN_PENDING		1024

struct vin_event {
	uint16_t type, code;
	uint32_t value;
};

struct virtio_input {
	struct virtio_dev vdev;
	enum virtio_input_kind kind;
	struct virtio_worker worker;
	struct virtq_elem elem;
	uint8_t config[VIN_CFG_LEN];

	pthread_mutex_t lock;	/* the pending events */
	struct vin_event pending[VIN_PENDING];
	unsigned head, count;
	int event_fd;		/* wakes the thread for new events */
	_Atomic bool ready;
};

static void set_bit(uint8_t *map, unsigned bit)
{
	map[bit / 8] |= 1u << (bit % 8);
}

/* Fill the config union for the selector the driver wrote. */
static void vin_config_select(struct virtio_input *in)
{
	uint8_t sel = in->config[VIN_CFG_SELECT];
	uint8_t sub = in->config[VIN_CFG_SUBSEL];
	uint8_t *u = in->config + VIN_CFG_UNION;
	bool kbd = in->kind == VIRTIO_INPUT_KEYBOARD;
	unsigned size = 0;

	memset(u, 0, 128);
	switch (sel) {
	case VIN_CFG_ID_NAME:
		size = snprintf((char *)u, 128, "cvisor %s",
				kbd ? "keyboard" : "tablet");
		break;
	case VIN_CFG_ID_SERIAL:
		size = snprintf((char *)u, 128, "cvisor-%s",
				kbd ? "kbd" : "tablet");
		break;
	case VIN_CFG_ID_DEVIDS:
		/* bustype, vendor, product, version (le16 each) */
		u[0] = BUS_VIRTUAL;
		u[2] = VIN_VENDOR & 0xff;
		u[3] = VIN_VENDOR >> 8;
		u[4] = kbd ? 1 : 2;
		u[6] = 1;
		size = 8;
		break;
	case VIN_CFG_EV_BITS:
		if (kbd && sub == EV_KEY) {
			for (unsigned k = 1; k <= KEY_MAX_CODE; k++)
				set_bit(u, k);
			size = KEY_MAX_CODE / 8 + 1;
		} else if (kbd && sub == EV_REP) {
			size = 1;	/* the guest repeats held keys */
		} else if (!kbd && sub == EV_KEY) {
			set_bit(u, BTN_LEFT);
			set_bit(u, BTN_RIGHT);
			set_bit(u, BTN_MIDDLE);
			size = BTN_MIDDLE / 8 + 1;
		} else if (!kbd && sub == EV_ABS) {
			set_bit(u, ABS_X);
			set_bit(u, ABS_Y);
			size = 1;
		} else if (!kbd && sub == EV_REL) {
			set_bit(u, REL_WHEEL);
			size = 2;
		}
		break;
	case VIN_CFG_ABS_INFO:
		if (!kbd && (sub == ABS_X || sub == ABS_Y)) {
			/* min 0, max, fuzz 0, flat 0, res 0 (le32 each) */
			u[4] = VIRTIO_INPUT_ABS_MAX & 0xff;
			u[5] = VIRTIO_INPUT_ABS_MAX >> 8;
			size = 20;
		}
		break;
	}
	in->config[VIN_CFG_SIZE] = size;
}

/* Under vdev->lock, after the guest wrote config bytes. */
static void vin_config_write(struct virtio_dev *vdev, unsigned off,
			     unsigned len)
{
	(void)off;
	(void)len;
	vin_config_select(vdev->opaque);
}

/* Move pending events into guest buffers while both last. */
static void vin_flush(struct virtio_input *in)
{
	struct virtq *q = &in->vdev.queues[VIN_EVENTQ].vq;
	bool pushed = false;

	for (;;) {
		struct vin_event ev;
		uint8_t buf[8];
		size_t done = 0;
		int ret;

		pthread_mutex_lock(&in->lock);
		if (!in->count) {
			pthread_mutex_unlock(&in->lock);
			break;
		}
		ev = in->pending[in->head];
		pthread_mutex_unlock(&in->lock);
		ret = virtq_pop(q, &in->elem);
		if (ret == 0 && virtq_enable_notify(q))
			continue;
		if (ret != 1)
			break;
		buf[0] = ev.type;
		buf[1] = ev.type >> 8;
		buf[2] = ev.code;
		buf[3] = ev.code >> 8;
		for (int i = 0; i < 4; i++)
			buf[4 + i] = ev.value >> (8 * i);
		for (unsigned i = in->elem.nr_out;
		     i < in->elem.nr_out + in->elem.nr_in && done < 8; i++) {
			size_t n = in->elem.iov[i].iov_len < 8 - done ?
				   in->elem.iov[i].iov_len : 8 - done;

			memcpy(in->elem.iov[i].iov_base, buf + done, n);
			done += n;
		}
		virtq_push(q, &in->elem, done);
		pushed = true;
		pthread_mutex_lock(&in->lock);
		in->head = (in->head + 1) % VIN_PENDING;
		in->count--;
		pthread_mutex_unlock(&in->lock);
	}
	if (pushed)
		virtio_queue_notify(&in->vdev, VIN_EVENTQ);
}

/* Status messages (LEDs): taken and answered. */
static void vin_status(struct virtio_input *in)
{
	struct virtq *q = &in->vdev.queues[VIN_STATUSQ].vq;
	int ret;

	do {
		while ((ret = virtq_pop(q, &in->elem)) == 1) {
			virtq_push(q, &in->elem, 0);
			virtio_queue_notify(&in->vdev, VIN_STATUSQ);
		}
	} while (ret == 0 && virtq_enable_notify(q));
}

static void *vin_thread(void *arg)
{
	struct virtio_input *in = arg;
	struct virtio_queue *evq = &in->vdev.queues[VIN_EVENTQ];
	struct virtio_queue *stq = &in->vdev.queues[VIN_STATUSQ];
	struct pollfd fds[4] = {
		{ .fd = in->worker.stop_fd, .events = POLLIN },
		{ .fd = evq->kick_fd, .events = POLLIN },
		{ .fd = stq->kick_fd, .events = POLLIN },
		{ .fd = in->event_fd, .events = POLLIN },
	};
	uint64_t v;

	for (;;) {
		if (evq->enabled)
			vin_flush(in);
		if (stq->enabled)
			vin_status(in);
		if (poll(fds, 4, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			virtio_kick_clear(evq);
		if (fds[2].revents)
			virtio_kick_clear(stq);
		if (fds[3].revents && read(in->event_fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			break;
	}
	return NULL;
}

static int vin_start(struct virtio_dev *vdev)
{
	struct virtio_input *in = vdev->opaque;
	int ret = virtio_worker_start(&in->worker, vin_thread, in);

	atomic_store(&in->ready, ret == 0 && vdev->queues[VIN_EVENTQ].enabled);
	return ret;
}

static void vin_stop(struct virtio_dev *vdev)
{
	struct virtio_input *in = vdev->opaque;

	atomic_store(&in->ready, false);
	virtio_worker_stop(&in->worker);
	/* Input typed for a driver that reset is stale for the next one. */
	pthread_mutex_lock(&in->lock);
	in->count = 0;
	pthread_mutex_unlock(&in->lock);
}

static void vin_destroy(struct virtio_dev *vdev)
{
	struct virtio_input *in = vdev->opaque;

	virtio_pci_destroy(&in->vdev);
	virtio_worker_destroy(&in->worker);
	close(in->event_fd);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/* What the driver selected; the answer is derived again on load. */
static int vin_save(struct virtio_dev *vdev, struct state_writer *w)
{
	struct virtio_input *in = vdev->opaque;

	state_put_u8(w, in->config[VIN_CFG_SELECT]);
	state_put_u8(w, in->config[VIN_CFG_SUBSEL]);
	return 0;
}

static int vin_load(struct virtio_dev *vdev, struct state_reader *r)
{
	struct virtio_input *in = vdev->opaque;
	int ret;

	ret = state_get_u8(r, &in->config[VIN_CFG_SELECT]);
	ret = ret ?: state_get_u8(r, &in->config[VIN_CFG_SUBSEL]);
	if (!ret)
		vin_config_select(in);
	return ret;
}

static const struct virtio_dev_ops vin_ops = {
	.start = vin_start,
	.stop = vin_stop,
	.destroy = vin_destroy,
	.save = vin_save,
	.load = vin_load,
	.config_write = vin_config_write,
};

bool virtio_input_ready(struct virtio_input *in)
{
	return atomic_load(&in->ready);
}

void virtio_input_send(struct virtio_input *in, uint16_t type, uint16_t code,
		       uint32_t value)
{
	uint64_t one = 1;

	pthread_mutex_lock(&in->lock);
	if (in->count < VIN_PENDING) {
		in->pending[(in->head + in->count) % VIN_PENDING] =
			(struct vin_event){ type, code, value };
		in->count++;
	}
	pthread_mutex_unlock(&in->lock);
	if (type == EV_SYN && write(in->event_fd, &one, sizeof(one)) < 0)
		log_limited(&in->vdev.dev.log,
			    "virtio-input: cannot wake the device: %s",
			    strerror(errno));
}

struct device *virtio_input_device(struct virtio_input *in)
{
	return &in->vdev.dev;
}

int virtio_input_create(const struct dev_env *env, enum virtio_input_kind kind,
			struct virtio_input **out)
{
	struct virtio_input *in = calloc(1, sizeof(*in));
	const char *name = kind == VIRTIO_INPUT_KEYBOARD ?
			   "virtio-keyboard" : "virtio-tablet";
	int ret = -ENOMEM;

	if (!in)
		goto err;
	in->kind = kind;
	pthread_mutex_init(&in->lock, NULL);
	in->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (in->event_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	ret = virtio_worker_init(&in->worker, name);
	if (ret)
		goto err_fd;
	ret = virtio_pci_init(&in->vdev, env, name, VIRTIO_ID_INPUT,
			      PCI_CLASS_INPUT_OTHER, 0, 2, in->config,
			      sizeof(in->config), &vin_ops, in);
	if (ret)
		goto err_worker;
	*out = in;
	return 0;
err_worker:
	virtio_worker_destroy(&in->worker);
err_fd:
	close(in->event_fd);
err_free:
	pthread_mutex_destroy(&in->lock);
	free(in);
err:
	log_error("virtio-input: %s", strerror(-ret));
	return ret;
}
