/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x over PCI, modern interface only (virtio 1.2, 4.1): common,
 * notify, ISR, device and PCI-config-access capabilities in one 64-bit
 * memory BAR, MSI-X for the configuration and queue interrupts.
 *
 * A device embeds struct virtio_dev, fills in its ops and config bytes,
 * and serves its queues on its own threads between ops->start (the driver
 * set DRIVER_OK) and ops->stop (reset). Guest notifications arrive on each
 * queue's kick_fd, an eventfd wired with dev_env_add_ioeventfd.
 */
#ifndef CVISOR_VIRTIO_VIRTIO_PCI_H
#define CVISOR_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "virtio/virtqueue.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040

#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4
#define VIRTIO_ID_BALLOON	5
#define VIRTIO_ID_INPUT		18

#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_MSI_NO_VECTOR	0xffff
#define VIRTIO_MAX_QUEUES	33	/* virtio-net: 16 queue pairs + control */

struct virtio_dev;

struct virtio_dev_ops {
	/* DRIVER_OK: the enabled queues are ready; start serving them. */
	int (*start)(struct virtio_dev *vdev);
	/*
	 * Reset (or teardown): after return no device thread touches a queue
	 * or guest memory. Only called after a successful start.
	 */
	void (*stop)(struct virtio_dev *vdev);
	/* Free the device (virtio_pci_destroy first). */
	void (*destroy)(struct virtio_dev *vdev);
	/*
	 * Optional: the device's own state beyond the transport (config
	 * the driver wrote, backend state), after the transport's in the
	 * device's section. Called with the device stopped.
	 */
	int (*save)(struct virtio_dev *vdev, struct state_writer *w);
	int (*load)(struct virtio_dev *vdev, struct state_reader *r);
	/* Optional: device_ops release and reacquire. */
	int (*release)(struct virtio_dev *vdev);
	int (*reacquire)(struct virtio_dev *vdev);
	/* Optional: the driver wrote device config bytes [off, off+len). */
	void (*config_write)(struct virtio_dev *vdev, unsigned off,
			     unsigned len);
};

struct virtio_queue {
	struct virtq vq;
	uint16_t size;		/* as set by the driver */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
	int kick_fd;		/* eventfd signalled by guest notifications */
};

struct virtio_dev {
	struct device dev;	/* its name is the device's name */
	struct dev_env env;
	struct pci_device pci;
	const struct virtio_dev_ops *ops;
	void *opaque;
	const char *name;
	uint16_t device_id;

	pthread_mutex_t lock;	/* transport registers, config bytes */
	uint64_t host_features;
	uint64_t guest_features;
	uint32_t dfselect, gfselect;
	uint8_t status;		/* atomic: device threads set NEEDS_RESET */
	uint8_t isr;		/* atomic */
	uint8_t config_generation;
	uint16_t msix_config;
	uint16_t queue_select;
	bool started;
	/* Stopped for a snapshot, not reset: stop keeps what the driver set. */
	bool quiesced;
	bool registered;
	uint8_t pci_cfg_cap;	/* config offset of VIRTIO_PCI_CAP_PCI_CFG */

	unsigned nr_queues;
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];

	uint8_t *config;	/* device config space, owned by the device */
	unsigned config_len;
};

/*
 * Set up the transport for a device with nr_queues queues and put it on
 * the PCI bus. features are the device's own bits; the transport adds
 * VERSION_1, EVENT_IDX and INDIRECT_DESC.
 */
int virtio_pci_init(struct virtio_dev *vdev, const struct dev_env *env,
		    const char *name,
		    uint16_t device_id, uint32_t class_code, uint64_t features,
		    unsigned nr_queues, uint8_t *config, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *opaque);
void virtio_pci_destroy(struct virtio_dev *vdev);
/* The device model's ops for every virtio device (virtio_state.c). */
extern const struct device_ops virtio_device_ops;

static inline bool virtio_has_feature(const struct virtio_dev *vdev,
				      unsigned bit)
{
	return vdev->guest_features & (1ULL << bit);
}

/* After pushing used buffers on queue q: interrupt if the guest wants. */
void virtio_queue_notify(struct virtio_dev *vdev, unsigned q);
/* The device config changed: bump the generation and interrupt. */
void virtio_config_changed(struct virtio_dev *vdev);
/* A guest error: set DEVICE_NEEDS_RESET and tell the driver. */
void virtio_set_needs_reset(struct virtio_dev *vdev);
/* Drain a queue's kick eventfd; true if it had been signalled. */
bool virtio_kick_clear(struct virtio_queue *q);

#endif
