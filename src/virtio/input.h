/* SPDX-License-Identifier: MIT */
/*
 * virtio-input (virtio 1.2, 5.8): a keyboard, or a tablet (absolute
 * pointer, no drift) with three buttons and a wheel. Events from the UI
 * queue in the device and reach the guest's event queue on the device's
 * thread; status messages from the driver (LEDs) are taken and dropped.
 */
#ifndef CVISOR_VIRTIO_INPUT_H
#define CVISOR_VIRTIO_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"

enum virtio_input_kind {
	VIRTIO_INPUT_KEYBOARD,
	VIRTIO_INPUT_TABLET,
};

/* The tablet's axes run from 0 to this, whatever the screen size. */
#define VIRTIO_INPUT_ABS_MAX	32767

struct virtio_input;

int virtio_input_create(const struct dev_env *env, enum virtio_input_kind kind,
			struct virtio_input **out);
struct device *virtio_input_device(struct virtio_input *in);

/* The driver is up: events sent now reach the guest. */
bool virtio_input_ready(struct virtio_input *in);
/*
 * Queue events (type, code, value as Linux's struct input_event); the
 * caller ends a group with EV_SYN/SYN_REPORT. Any thread. Dropped when
 * the queue is full: a guest that does not read loses input, nothing else.
 */
void virtio_input_send(struct virtio_input *in, uint16_t type, uint16_t code,
		       uint32_t value);

#endif
