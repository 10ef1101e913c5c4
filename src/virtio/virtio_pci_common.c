// SPDX-License-Identifier: MIT
/*
 * virtio-pci common configuration (virtio 1.2, 4.1.4.3): feature
 * negotiation, device status and reset, queue setup. The driver reaches it
 * through the COMMON_CFG region of BAR 0 (virtio_pci.c).
 */
#include <string.h>

#include "virtio/virtio_pci_int.h"
#include "vmm/log.h"

/* common configuration register offsets */
#define VC_DFSELECT		0x00
#define VC_DF			0x04
#define VC_GFSELECT		0x08
#define VC_GF			0x0c
#define VC_MSIX_CONFIG		0x10
#define VC_NUM_QUEUES		0x12
#define VC_STATUS		0x14
#define VC_CONFIG_GEN		0x15
#define VC_Q_SELECT		0x16
#define VC_Q_SIZE		0x18
#define VC_Q_MSIX		0x1a
#define VC_Q_ENABLE		0x1c
#define VC_Q_NOTIFY_OFF		0x1e
#define VC_Q_DESC		0x20
#define VC_Q_DRIVER		0x28
#define VC_Q_DEVICE		0x30

/* Reset the device to its initial state; vdev->lock held. */
void virtio_pci_reset(struct virtio_dev *vdev)
{
	if (vdev->started) {
		vdev->ops->stop(vdev);
		vdev->started = false;
	}
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		virtq_reset(&q->vq);
		q->size = VIRTQ_MAX_SIZE;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->enabled = false;
		q->desc = q->driver = q->device = 0;
		virtio_kick_clear(q);
	}
	vdev->guest_features = 0;
	vdev->dfselect = vdev->gfselect = 0;
	vdev->msix_config = VIRTIO_MSI_NO_VECTOR;
	vdev->queue_select = 0;
	__atomic_store_n(&vdev->isr, 0, __ATOMIC_RELEASE);
	pci_set_intx(&vdev->pci, false);
	__atomic_store_n(&vdev->status, 0, __ATOMIC_RELEASE);
}

static void vpci_queue_enable(struct virtio_dev *vdev, struct virtio_queue *q)
{
	int ret;

	if (q->enabled)
		return;
	ret = virtq_setup(&q->vq, vdev->env.mem, q->size, q->desc,
			  q->driver, q->device,
			  virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX));
	if (ret) {
		log_limited(&vdev->dev.log,
			    "%s: queue rings invalid (size %u, desc %#llx); "
			    "device needs reset", vdev->name, q->size,
			    (unsigned long long)q->desc);
		virtio_set_needs_reset(vdev);
		return;
	}
	q->enabled = true;
}

static void vpci_set_status(struct virtio_dev *vdev, uint8_t val)
{
	uint8_t old = vpci_status(vdev);
	uint64_t f = vdev->guest_features;

	if (val == 0) {
		virtio_pci_reset(vdev);
		return;
	}
	if ((val & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((f & ~vdev->host_features) ||
	     !(f & (1ULL << VIRTIO_F_VERSION_1))))
		val &= ~VIRTIO_STATUS_FEATURES_OK;	/* refuse */
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(val & VIRTIO_STATUS_FEATURES_OK))
		val &= ~VIRTIO_STATUS_DRIVER_OK;
	/* The driver only adds bits; clearing needs a reset. */
	__atomic_fetch_or(&vdev->status, val, __ATOMIC_ACQ_REL);
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !vdev->started &&
	    !(vpci_status(vdev) & VIRTIO_STATUS_NEEDS_RESET)) {
		if (vdev->ops->start(vdev) == 0)
			vdev->started = true;
		else
			virtio_set_needs_reset(vdev);
	}
}

static struct virtio_queue *vpci_cur_queue(struct virtio_dev *vdev)
{
	if (vdev->queue_select >= vdev->nr_queues)
		return NULL;
	return &vdev->queues[vdev->queue_select];
}

/* A snapshot of the common configuration registers; lock held. */
static void vpci_common_snapshot(struct virtio_dev *vdev, uint8_t *c)
{
	struct virtio_queue *q = vpci_cur_queue(vdev);
	uint64_t df = 0;

	memset(c, 0, VPCI_COMMON_LEN);
	if (vdev->dfselect < 2)
		df = vdev->host_features >> (32 * vdev->dfselect);
	put_le32(c + VC_DFSELECT, vdev->dfselect);
	put_le32(c + VC_DF, df);
	put_le32(c + VC_GFSELECT, vdev->gfselect);
	if (vdev->gfselect < 2)
		put_le32(c + VC_GF,
			    vdev->guest_features >> (32 * vdev->gfselect));
	put_le16(c + VC_MSIX_CONFIG, vdev->msix_config);
	put_le16(c + VC_NUM_QUEUES, vdev->nr_queues);
	c[VC_STATUS] = vpci_status(vdev);
	c[VC_CONFIG_GEN] = __atomic_load_n(&vdev->config_generation,
					   __ATOMIC_RELAXED);
	put_le16(c + VC_Q_SELECT, vdev->queue_select);
	if (!q)
		return;
	put_le16(c + VC_Q_SIZE, q->size);
	put_le16(c + VC_Q_MSIX, q->msix_vector);
	put_le16(c + VC_Q_ENABLE, q->enabled);
	put_le16(c + VC_Q_NOTIFY_OFF, vdev->queue_select);
	put_le32(c + VC_Q_DESC, q->desc);
	put_le32(c + VC_Q_DESC + 4, q->desc >> 32);
	put_le32(c + VC_Q_DRIVER, q->driver);
	put_le32(c + VC_Q_DRIVER + 4, q->driver >> 32);
	put_le32(c + VC_Q_DEVICE, q->device);
	put_le32(c + VC_Q_DEVICE + 4, q->device >> 32);
}

static uint64_t vpci_common_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_dev *vdev = opaque;
	uint8_t c[VPCI_COMMON_LEN];
	uint64_t val = 0;

	pthread_mutex_lock(&vdev->lock);
	vpci_common_snapshot(vdev, c);
	pthread_mutex_unlock(&vdev->lock);
	for (unsigned i = 0; i < size && off + i < VPCI_COMMON_LEN; i++)
		val |= (uint64_t)c[off + i] << (8 * i);
	return val;
}

/* Write part of a 64-bit queue address: 4 bytes at either half, or 8. */
static void vpci_set_addr(struct virtio_queue *q, uint64_t *addr,
			  unsigned half, uint64_t val, unsigned size)
{
	if (q->enabled)
		return;
	if (size == 8)
		*addr = val;
	else if (half)
		*addr = (*addr & 0xffffffffULL) | val << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | (uint32_t)val;
}

static uint16_t vpci_vector(struct virtio_dev *vdev, uint64_t val)
{
	return val < vpci_nr_vectors(vdev) ? val : VIRTIO_MSI_NO_VECTOR;
}

static void vpci_common_write_locked(struct virtio_dev *vdev, unsigned off,
				     uint64_t val, unsigned size)
{
	struct virtio_queue *q = vpci_cur_queue(vdev);
	bool features_locked = vpci_status(vdev) & VIRTIO_STATUS_FEATURES_OK;
	unsigned field = off & ~7u;

	switch (off) {
	case VC_DFSELECT:
		vdev->dfselect = val;
		return;
	case VC_GFSELECT:
		vdev->gfselect = val;
		return;
	case VC_GF:
		if (features_locked || vdev->gfselect >= 2)
			return;
		if (vdev->gfselect)
			vdev->guest_features = (uint32_t)vdev->guest_features |
					       val << 32;
		else
			vdev->guest_features = (vdev->guest_features &
						~0xffffffffULL) | (uint32_t)val;
		return;
	case VC_MSIX_CONFIG:
		__atomic_store_n(&vdev->msix_config, vpci_vector(vdev, val),
				 __ATOMIC_RELAXED);
		return;
	case VC_STATUS:
		vpci_set_status(vdev, val);
		return;
	case VC_Q_SELECT:
		vdev->queue_select = val;
		return;
	}
	if (!q)
		return;
	switch (off) {
	case VC_Q_SIZE:
		if (!q->enabled)
			q->size = val;
		return;
	case VC_Q_MSIX:
		__atomic_store_n(&q->msix_vector, vpci_vector(vdev, val),
				 __ATOMIC_RELAXED);
		return;
	case VC_Q_ENABLE:
		/*
		 * Queues go live before DRIVER_OK (3.1.1): the device thread
		 * may already be reading the ones that are, so a late enable
		 * must not set up rings under it.
		 */
		if (__atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE) &
		    VIRTIO_STATUS_DRIVER_OK) {
			log_limited(&vdev->dev.log,
				    "%s: queue enabled after DRIVER_OK; ignored",
				    vdev->name);
			return;
		}
		if (val == 1)
			vpci_queue_enable(vdev, q);
		return;
	}
	if (field == VC_Q_DESC || field == VC_Q_DESC + 8 ||
	    field == VC_Q_DESC + 16) {
		uint64_t *addr = field == VC_Q_DESC ? &q->desc :
				 field == VC_Q_DRIVER ? &q->driver : &q->device;

		vpci_set_addr(q, addr, off & 4, val, size);
	}
}

static unsigned vpci_common_width(unsigned off)
{
	if (off >= VC_Q_DESC)
		return 4;	/* 64-bit fields are written in halves */
	if (off == VC_STATUS || off == VC_CONFIG_GEN)
		return 1;
	if (off < VC_MSIX_CONFIG)
		return 4;
	return 2;
}

static void vpci_common_write(void *opaque, uint64_t off, uint64_t val,
			      unsigned size)
{
	struct virtio_dev *vdev = opaque;
	unsigned w = off < VPCI_COMMON_LEN ? vpci_common_width(off) : 0;
	bool whole64 = size == 8 && off >= VC_Q_DESC && !(off & 7);

	if ((size != w || off % w) && !whole64) {
		log_limited(&vdev->dev.log,
			    "%s: common config write of size %u at %#llx "
			    "ignored", vdev->name, size,
			    (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	vpci_common_write_locked(vdev, off, val, size);
	pthread_mutex_unlock(&vdev->lock);
}

const struct bus_ops virtio_pci_common_ops = {
	.read = vpci_common_read,
	.write = vpci_common_write,
};
