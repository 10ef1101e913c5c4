/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_NET_H
#define CVISOR_VIRTIO_NET_H

#include "devices/device.h"

struct net_config {
	const char *spec;	/* the --net argument as given */
};

/*
 * A virtio-net NIC for one --net option (index: its position, for the
 * device name and a stable MAC). Opens the backend; on a bad spec or an
 * unusable interface prints one line naming it and returns < 0.
 */
int virtio_net_create(const struct dev_env *env, const struct net_config *cfg,
		      unsigned index, struct device **out);

#endif
