/* SPDX-License-Identifier: MIT */
/* Shared between the virtio-pci transport files; not for devices. */
#ifndef CVISOR_VIRTIO_VIRTIO_PCI_INT_H
#define CVISOR_VIRTIO_VIRTIO_PCI_INT_H

#include "virtio/virtio_pci.h"

#define VPCI_COMMON_LEN		0x40

/* The COMMON_CFG region's callbacks (virtio_pci_common.c). */
extern const struct bus_ops virtio_pci_common_ops;

/* Back to the initial state; stops the device. vdev->lock held. */
void virtio_pci_reset(struct virtio_dev *vdev);

/* One MSI-X vector for configuration changes plus one per queue. */
static inline unsigned vpci_nr_vectors(const struct virtio_dev *vdev)
{
	return vdev->nr_queues + 1;
}

static inline uint8_t vpci_status(const struct virtio_dev *vdev)
{
	return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
}

#endif
