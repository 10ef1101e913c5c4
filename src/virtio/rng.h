/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_RNG_H
#define CVISOR_VIRTIO_RNG_H

#include "devices/device.h"

/* Put a virtio-rng device on env->pci. */
int virtio_rng_create(const struct dev_env *env, struct device **out);

#endif
