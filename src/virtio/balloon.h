/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon (virtio 1.2, 5.5), added by `cvisor run --balloon`.
 * The host sets a target guest memory size; the guest driver gives pages
 * back (inflate), whose host memory is released with MADV_DONTNEED.
 */
#ifndef CVISOR_VIRTIO_BALLOON_H
#define CVISOR_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"

struct virtio_balloon;

#define BALLOON_MAX_STATS	16

struct balloon_info {
	uint64_t target_bytes;		/* guest memory the host asked for */
	uint64_t actual_bytes;		/* guest memory left, as the guest says */
	/* Host memory given back so far (cumulative, pages may repeat). */
	uint64_t inflated_bytes;	/* pages put in the balloon */
	uint64_t reported_bytes;	/* free pages the guest reported */
	unsigned nr_stats;
	struct {
		const char *name;	/* "free-memory", "total-memory", ... */
		uint64_t value;
	} stats[BALLOON_MAX_STATS];
};

/* Put a balloon on env->pci; free page reporting offered if asked. */
int virtio_balloon_create(const struct dev_env *env, bool page_reporting,
			  struct virtio_balloon **out);
/* The balloon as a device (destroyed through its ops). */
struct device *virtio_balloon_device(struct virtio_balloon *b);
/* Ask the guest to shrink or grow to bytes of usable memory. */
int virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes);
void virtio_balloon_get_info(struct virtio_balloon *b,
			     struct balloon_info *info);
/*
 * fn(opaque, actual_bytes) runs on the device thread whenever the guest
 * reports a new balloon size. Set it to NULL before the VM is destroyed.
 */
void virtio_balloon_set_notify(struct virtio_balloon *b,
			       void (*fn)(void *opaque, uint64_t actual),
			       void *opaque);

#endif
