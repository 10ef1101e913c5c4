// SPDX-License-Identifier: MIT
/*
 * Every virtio device as the device model sees it: quiesce stops the
 * device's threads (in-flight requests complete, see virtio_dev_ops.stop)
 * without resetting it, save writes the transport - features, status,
 * queues with their ring addresses and indices, PCI config and MSI-X - and
 * then the device's own state; load puts a freshly created device into
 * that state, and resume starts it again when the driver had it running.
 */
#include <errno.h>
#include <unistd.h>

#include "virtio/virtio_pci_int.h"
#include "vmm/log.h"

#define VIRTIO_STATE_VERSION	1

static struct virtio_dev *vdev_of(struct device *dev)
{
	return container_of(dev, struct virtio_dev, dev);
}

static void virtio_quiesce(struct device *dev)
{
	struct virtio_dev *vdev = vdev_of(dev);

	pthread_mutex_lock(&vdev->lock);
	if (vdev->started) {
		vdev->quiesced = true;
		vdev->ops->stop(vdev);
		vdev->started = false;
	}
	/*
	 * The used areas also hold the notification suppression fields the
	 * device wrote: a migration's last pass sends them all.
	 */
	for (unsigned q = 0; q < vdev->nr_queues; q++) {
		struct virtq *vq = &vdev->queues[q].vq;

		if (vdev->queues[q].enabled && vq->used_hdr)
			guest_mem_log_mark(vdev->env.mem, vq->used_hdr,
					   4 + 8 * vq->size + 2);
	}
	pthread_mutex_unlock(&vdev->lock);
}

/*
 * Start again if the driver had the device running. A kick on every
 * enabled queue picks up buffers the guest made available while the
 * device was stopped (its notification may have been consumed already).
 */
static void virtio_resume(struct device *dev)
{
	struct virtio_dev *vdev = vdev_of(dev);
	uint8_t status;
	uint64_t one = 1;

	pthread_mutex_lock(&vdev->lock);
	status = vpci_status(vdev);
	vdev->quiesced = false;
	if (!vdev->started && (status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(status & VIRTIO_STATUS_NEEDS_RESET)) {
		if (vdev->ops->start(vdev) == 0)
			vdev->started = true;
		else
			virtio_set_needs_reset(vdev);
	}
	for (unsigned q = 0; vdev->started && q < vdev->nr_queues; q++)
		if (vdev->queues[q].enabled &&
		    write(vdev->queues[q].kick_fd, &one, sizeof(one)) < 0)
			log_limited(&vdev->dev.log, "%s: cannot kick queue %u",
				    vdev->name, q);
	pthread_mutex_unlock(&vdev->lock);
}

static void virtio_save_queue(struct state_writer *w,
			      const struct virtio_queue *q)
{
	state_put_u16(w, q->size);
	state_put_u16(w, q->msix_vector);
	state_put_u8(w, q->enabled);
	state_put_u64(w, q->desc);
	state_put_u64(w, q->driver);
	state_put_u64(w, q->device);
	state_put_u16(w, q->vq.last_avail);
	state_put_u16(w, q->vq.used_idx);
	state_put_u16(w, q->vq.signalled_used);
	state_put_u8(w, q->vq.signalled_valid);
	state_put_u8(w, q->vq.broken);
}

static int virtio_save(struct device *dev, struct state_writer *w)
{
	struct virtio_dev *vdev = vdev_of(dev);
	int ret;

	pthread_mutex_lock(&vdev->lock);
	state_put_u64(w, vdev->host_features);
	state_put_u64(w, vdev->guest_features);
	state_put_u32(w, vdev->dfselect);
	state_put_u32(w, vdev->gfselect);
	state_put_u8(w, vpci_status(vdev));
	state_put_u8(w, __atomic_load_n(&vdev->isr, __ATOMIC_ACQUIRE));
	state_put_u8(w, vdev->config_generation);
	state_put_u16(w, vdev->msix_config);
	state_put_u16(w, vdev->queue_select);
	state_put_u32(w, vdev->nr_queues);
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		virtio_save_queue(w, &vdev->queues[q]);
	pthread_mutex_unlock(&vdev->lock);
	ret = pci_device_save(&vdev->pci, w);
	if (!ret && vdev->ops->save)
		ret = vdev->ops->save(vdev, w);
	return ret;
}

static int virtio_load_queue(struct virtio_dev *vdev, unsigned i,
			     struct state_reader *r)
{
	struct virtio_queue *q = &vdev->queues[i];
	uint8_t enabled, sig_valid, broken;
	uint16_t last_avail, used_idx, sig_used;
	int ret;

	ret = state_get_u16(r, &q->size);
	ret = ret ?: state_get_u16(r, &q->msix_vector);
	ret = ret ?: state_get_u8(r, &enabled);
	ret = ret ?: state_get_u64(r, &q->desc);
	ret = ret ?: state_get_u64(r, &q->driver);
	ret = ret ?: state_get_u64(r, &q->device);
	ret = ret ?: state_get_u16(r, &last_avail);
	ret = ret ?: state_get_u16(r, &used_idx);
	ret = ret ?: state_get_u16(r, &sig_used);
	ret = ret ?: state_get_u8(r, &sig_valid);
	ret = ret ?: state_get_u8(r, &broken);
	if (ret)
		return ret;
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE ||
	    (q->size & (q->size - 1)))
		return state_fail(r, "%s: queue %u has bad size %u",
				  vdev->name, i, q->size);
	if (q->msix_vector != VIRTIO_MSI_NO_VECTOR &&
	    q->msix_vector >= vpci_nr_vectors(vdev))
		return state_fail(r, "%s: queue %u has bad MSI-X vector %u",
				  vdev->name, i, q->msix_vector);
	if (!enabled)
		return 0;
	if (virtq_setup(&q->vq, vdev->env.mem, q->size, q->desc, q->driver,
			q->device, virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX)))
		return state_fail(r, "%s: queue %u rings are outside guest "
				  "memory", vdev->name, i);
	q->enabled = true;
	q->vq.last_avail = last_avail;
	q->vq.used_idx = used_idx;
	q->vq.signalled_used = sig_used;
	q->vq.signalled_valid = sig_valid != 0;
	q->vq.broken = broken != 0;
	return 0;
}

static int virtio_load(struct device *dev, struct state_reader *r,
		       uint32_t version)
{
	struct virtio_dev *vdev = vdev_of(dev);
	uint64_t host_features;
	uint8_t status, isr;
	uint32_t nr_queues;
	int ret;

	(void)version;
	pthread_mutex_lock(&vdev->lock);
	virtio_pci_reset(vdev);
	ret = state_get_u64(r, &host_features);
	ret = ret ?: state_get_u64(r, &vdev->guest_features);
	ret = ret ?: state_get_u32(r, &vdev->dfselect);
	ret = ret ?: state_get_u32(r, &vdev->gfselect);
	ret = ret ?: state_get_u8(r, &status);
	ret = ret ?: state_get_u8(r, &isr);
	ret = ret ?: state_get_u8(r, &vdev->config_generation);
	ret = ret ?: state_get_u16(r, &vdev->msix_config);
	ret = ret ?: state_get_u16(r, &vdev->queue_select);
	ret = ret ?: state_get_u32(r, &nr_queues);
	if (ret)
		goto out;
	if (host_features != vdev->host_features ||
	    (vdev->guest_features & ~host_features)) {
		ret = state_fail(r, "%s: features %#llx do not match this "
				 "device's %#llx", vdev->name,
				 (unsigned long long)host_features,
				 (unsigned long long)vdev->host_features);
		goto out;
	}
	if (nr_queues != vdev->nr_queues) {
		ret = state_fail(r, "%s: %u queues, expected %u", vdev->name,
				 nr_queues, vdev->nr_queues);
		goto out;
	}
	if (vdev->msix_config != VIRTIO_MSI_NO_VECTOR &&
	    vdev->msix_config >= vpci_nr_vectors(vdev)) {
		ret = state_fail(r, "%s: bad config MSI-X vector", vdev->name);
		goto out;
	}
	for (unsigned q = 0; !ret && q < nr_queues; q++)
		ret = virtio_load_queue(vdev, q, r);
	if (ret)
		goto out;
	__atomic_store_n(&vdev->isr, isr & 3, __ATOMIC_RELEASE);
	__atomic_store_n(&vdev->status, status, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&vdev->lock);
	if (ret)
		return ret;
	ret = pci_device_load(&vdev->pci, r);
	if (!ret && vdev->ops->load)
		ret = vdev->ops->load(vdev, r);
	return ret;
}

static int virtio_release(struct device *dev)
{
	struct virtio_dev *vdev = vdev_of(dev);

	return vdev->ops->release ? vdev->ops->release(vdev) : 0;
}

static int virtio_reacquire(struct device *dev)
{
	struct virtio_dev *vdev = vdev_of(dev);

	return vdev->ops->reacquire ? vdev->ops->reacquire(vdev) : 0;
}

static void virtio_destroy(struct device *dev)
{
	struct virtio_dev *vdev = vdev_of(dev);

	vdev->ops->destroy(vdev);
}

const struct device_ops virtio_device_ops = {
	.state_version = VIRTIO_STATE_VERSION,
	.quiesce = virtio_quiesce,
	.resume = virtio_resume,
	.save = virtio_save,
	.load = virtio_load,
	.release = virtio_release,
	.reacquire = virtio_reacquire,
	.destroy = virtio_destroy,
};
