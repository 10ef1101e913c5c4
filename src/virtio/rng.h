/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_RNG_H
#define CVISOR_VIRTIO_RNG_H

struct vm;

/* Add a virtio-rng device to vm->pci; pci_destroy frees it. */
int virtio_rng_create(struct vm *vm);

#endif
