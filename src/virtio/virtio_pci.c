// SPDX-License-Identifier: MIT
/*
 * virtio-pci modern transport (virtio 1.2, 4.1). Register layout and
 * capability formats are from the specification.
 *
 * BAR 0 (64-bit memory, 32 KiB):
 *   0x0000 common configuration
 *   0x1000 ISR status
 *   0x2000 device configuration
 *   0x3000 notifications, NOTIFY_MULT bytes per queue
 *   0x4000 MSI-X table, 0x5000 MSI-X PBA
 */
#include "virtio/virtio_pci_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

#define VPCI_BAR		0
#define VPCI_BAR_SIZE		0x8000
#define VPCI_COMMON_OFF		0x0000
#define VPCI_ISR_OFF		0x1000
#define VPCI_ISR_LEN		4
#define VPCI_DEVICE_OFF		0x2000
#define VPCI_DEVICE_MAX		0x1000
#define VPCI_NOTIFY_OFF		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_MSIX_TABLE_OFF	0x4000
#define VPCI_MSIX_PBA_OFF	0x5000

/* virtio_pci_cap.cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

#define VPCI_TRANSPORT_FEATURES						\
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_EVENT_IDX) |	\
	 (1ULL << VIRTIO_F_INDIRECT_DESC))

static void vpci_raise(struct virtio_dev *vdev, uint8_t isr_bit,
		       uint16_t vector)
{
	__atomic_fetch_or(&vdev->isr, isr_bit, __ATOMIC_ACQ_REL);
	if (!pci_msix_enabled(&vdev->pci))
		pci_set_intx(&vdev->pci, true);	/* until the ISR is read */
	else if (vector != VIRTIO_MSI_NO_VECTOR)
		pci_msix_notify(&vdev->pci, vector);
}

void virtio_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_queue *vq = &vdev->queues[q];

	if (!virtq_should_notify(&vq->vq))
		return;
	vpci_raise(vdev, 1, __atomic_load_n(&vq->msix_vector,
					    __ATOMIC_RELAXED));
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	__atomic_fetch_add(&vdev->config_generation, 1, __ATOMIC_RELAXED);
	vpci_raise(vdev, 2, __atomic_load_n(&vdev->msix_config,
					    __ATOMIC_RELAXED));
}

void virtio_set_needs_reset(struct virtio_dev *vdev)
{
	uint8_t old = __atomic_fetch_or(&vdev->status,
					VIRTIO_STATUS_NEEDS_RESET,
					__ATOMIC_ACQ_REL);

	if (!(old & VIRTIO_STATUS_NEEDS_RESET) &&
	    (old & VIRTIO_STATUS_DRIVER_OK))
		virtio_config_changed(vdev);
}

static void vpci_queue_error(void *opaque)
{
	virtio_set_needs_reset(opaque);
}

bool virtio_kick_clear(struct virtio_queue *q)
{
	uint64_t v;

	return read(q->kick_fd, &v, sizeof(v)) == sizeof(v);
}


/* Reading the ISR acknowledges it (4.1.4.5). */
static uint64_t vpci_isr_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_dev *vdev = opaque;
	uint8_t isr;

	(void)size;
	if (off != 0)
		return 0;
	isr = __atomic_exchange_n(&vdev->isr, 0, __ATOMIC_ACQ_REL);
	pci_set_intx(&vdev->pci, false);
	return isr;
}

static const struct bus_ops vpci_isr_ops = {
	.read = vpci_isr_read,
};

static uint64_t vpci_device_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_dev *vdev = opaque;
	uint64_t val = 0;

	pthread_mutex_lock(&vdev->lock);
	for (unsigned i = 0; i < size && off + i < vdev->config_len; i++)
		val |= (uint64_t)vdev->config[off + i] << (8 * i);
	pthread_mutex_unlock(&vdev->lock);
	return val;
}

static void vpci_device_write(void *opaque, uint64_t off, uint64_t val,
			      unsigned size)
{
	struct virtio_dev *vdev = opaque;

	if (!vdev->ops->config_write || off >= vdev->config_len ||
	    size > vdev->config_len - off)
		return;
	pthread_mutex_lock(&vdev->lock);
	for (unsigned i = 0; i < size; i++)
		vdev->config[off + i] = val >> (8 * i);
	vdev->ops->config_write(vdev, off, size);
	pthread_mutex_unlock(&vdev->lock);
}

static const struct bus_ops vpci_device_ops = {
	.read = vpci_device_read,
	.write = vpci_device_write,
};

/*
 * Notifications normally reach the kick eventfd through the accelerator's
 * ioeventfd and never get here; this handler covers accelerators without
 * one and writes of an unexpected width.
 */
static void vpci_notify_write(void *opaque, uint64_t off, uint64_t val,
			      unsigned size)
{
	struct virtio_dev *vdev = opaque;
	unsigned q = off / VPCI_NOTIFY_MULT;
	uint64_t one = 1;

	(void)val;
	(void)size;
	if (q >= vdev->nr_queues)
		return;
	if (write(vdev->queues[q].kick_fd, &one, sizeof(one)) < 0)
		log_limited(&vdev->dev.log,
			    "%s: cannot signal queue %u: eventfd write failed",
			    vdev->name, q);
}

static const struct bus_ops vpci_notify_ops = {
	.write = vpci_notify_write,
};

static void vpci_bar_mapped(struct pci_device *dev, int bar, uint64_t addr)
{
	struct virtio_dev *vdev = dev->opaque;

	(void)bar;
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		dev_env_add_ioeventfd(&vdev->env, addr + VPCI_NOTIFY_OFF +
				      q * VPCI_NOTIFY_MULT, 2, false,
				      vdev->queues[q].kick_fd);
}

static void vpci_bar_unmapped(struct pci_device *dev, int bar, uint64_t addr)
{
	struct virtio_dev *vdev = dev->opaque;

	(void)bar;
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		dev_env_del_ioeventfd(&vdev->env, addr + VPCI_NOTIFY_OFF +
				      q * VPCI_NOTIFY_MULT, 2, false,
				      vdev->queues[q].kick_fd);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window into the BAR through config
 * space. The driver sets bar, offset and length in the capability, then
 * reads or writes pci_cfg_data. Runs under the PCI bus lock.
 */
static const struct pci_bar_region *vpci_cfg_window(struct virtio_dev *vdev,
						    uint64_t *off,
						    unsigned *len)
{
	const uint8_t *cap = vdev->pci.cfg + vdev->pci_cfg_cap;
	const struct pci_bar *b;

	*off = get_le32(cap + 8);
	*len = get_le32(cap + 12);
	if (cap[4] != VPCI_BAR || (*len != 1 && *len != 2 && *len != 4))
		return NULL;
	b = &vdev->pci.bars[VPCI_BAR];
	for (int i = 0; i < b->nr_regions; i++) {
		const struct pci_bar_region *r = &b->regions[i];

		if (*off >= r->offset && *off - r->offset + *len <= r->len) {
			*off -= r->offset;
			return r;
		}
	}
	return NULL;
}

static bool vpci_cfg_data_hit(struct virtio_dev *vdev, unsigned off,
			      unsigned size)
{
	unsigned data = vdev->pci_cfg_cap + 16;

	return vdev->pci_cfg_cap && off < data + 4 && data < off + size;
}

static uint32_t vpci_config_read(struct pci_device *dev, unsigned off,
				 uint32_t val, unsigned size)
{
	struct virtio_dev *vdev = dev->opaque;
	const struct pci_bar_region *r;
	unsigned len, n;
	uint64_t roff;

	if (!vpci_cfg_data_hit(vdev, off, size))
		return val;
	r = vpci_cfg_window(vdev, &roff, &len);
	if (!r || !r->ops->read || off != vdev->pci_cfg_cap + 16u)
		return 0;
	val = r->ops->read(r->opaque, roff, len);
	n = len < size ? len : size;
	return n == 4 ? val : val & ((1u << (8 * n)) - 1);
}

static void vpci_config_write(struct pci_device *dev, unsigned off,
			      uint32_t val, unsigned size)
{
	struct virtio_dev *vdev = dev->opaque;
	const struct pci_bar_region *r;
	unsigned len;
	uint64_t roff;

	if (!vpci_cfg_data_hit(vdev, off, size) ||
	    off != vdev->pci_cfg_cap + 16u)
		return;
	r = vpci_cfg_window(vdev, &roff, &len);
	if (r && r->ops->write && size >= len)
		r->ops->write(r->opaque, roff, val, len);
}

static const struct pci_device_ops vpci_pci_ops = {
	.config_read = vpci_config_read,
	.config_write = vpci_config_write,
	.bar_mapped = vpci_bar_mapped,
	.bar_unmapped = vpci_bar_unmapped,
};

static int vpci_add_cap(struct virtio_dev *vdev, uint8_t type, uint32_t off,
			uint32_t len, unsigned extra)
{
	uint8_t cap[20] = { 0 };

	cap[2] = 16 + extra;
	cap[3] = type;
	cap[4] = VPCI_BAR;
	put_le32(cap + 8, off);
	put_le32(cap + 12, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put_le32(cap + 16, VPCI_NOTIFY_MULT);
	return pci_device_add_cap(&vdev->pci, PCI_CAP_ID_VNDR, cap,
				  16 + extra);
}

static int vpci_setup_pci(struct virtio_dev *vdev, uint32_t class_code)
{
	struct pci_device *pci = &vdev->pci;
	uint16_t id = VIRTIO_PCI_DEVICE_BASE + vdev->device_id;
	int ret;

	pci_device_init(pci, vdev->name, VIRTIO_PCI_VENDOR, id, class_code, 1,
			PCI_CFG_SIZE);
	put_le16(pci->cfg + PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	put_le16(pci->cfg + PCI_SUBSYSTEM_ID, id);
	pci->ops = &vpci_pci_ops;
	pci->opaque = vdev;
	ret = pci_device_add_bar(pci, VPCI_BAR, VPCI_BAR_SIZE, PCI_BAR_MEM64);
	if (ret)
		return ret;
	ret = pci_device_add_bar_region(pci, VPCI_BAR, VPCI_COMMON_OFF,
					VPCI_COMMON_LEN, &virtio_pci_common_ops,
					vdev, "virtio-common");
	ret = ret ?: pci_device_add_bar_region(pci, VPCI_BAR, VPCI_ISR_OFF,
					       VPCI_ISR_LEN, &vpci_isr_ops,
					       vdev, "virtio-isr");
	ret = ret ?: pci_device_add_bar_region(pci, VPCI_BAR, VPCI_NOTIFY_OFF,
					       vdev->nr_queues *
					       VPCI_NOTIFY_MULT,
					       &vpci_notify_ops, vdev,
					       "virtio-notify");
	if (!ret && vdev->config_len)
		ret = pci_device_add_bar_region(pci, VPCI_BAR, VPCI_DEVICE_OFF,
						vdev->config_len,
						&vpci_device_ops, vdev,
						"virtio-device");
	if (ret)
		return ret;
	ret = vpci_add_cap(vdev, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
			   VPCI_COMMON_LEN, 0);
	if (ret >= 0)
		ret = vpci_add_cap(vdev, VIRTIO_PCI_CAP_NOTIFY_CFG,
				   VPCI_NOTIFY_OFF,
				   vdev->nr_queues * VPCI_NOTIFY_MULT, 4);
	if (ret >= 0)
		ret = vpci_add_cap(vdev, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF,
				   VPCI_ISR_LEN, 0);
	if (ret >= 0 && vdev->config_len)
		ret = vpci_add_cap(vdev, VIRTIO_PCI_CAP_DEVICE_CFG,
				   VPCI_DEVICE_OFF, vdev->config_len, 0);
	if (ret >= 0)
		ret = vpci_add_cap(vdev, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4);
	if (ret < 0)
		return ret;
	/* bar, offset, length and data of the window are the driver's */
	vdev->pci_cfg_cap = ret;
	pci->wmask[ret + 4] = 0xff;
	put_le32(pci->wmask + ret + 8, 0xffffffff);
	put_le32(pci->wmask + ret + 12, 0xffffffff);
	put_le32(pci->wmask + ret + 16, 0xffffffff);
	return pci_msix_init(pci, vpci_nr_vectors(vdev), VPCI_BAR,
			     VPCI_MSIX_TABLE_OFF, VPCI_MSIX_PBA_OFF);
}

int virtio_pci_init(struct virtio_dev *vdev, const struct dev_env *env,
		    const char *name,
		    uint16_t device_id, uint32_t class_code, uint64_t features,
		    unsigned nr_queues, uint8_t *config, unsigned config_len,
		    const struct virtio_dev_ops *ops, void *opaque)
{
	unsigned q;
	int ret;

	if (!env->pci || nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES ||
	    config_len > VPCI_DEVICE_MAX)
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	vdev->env = *env;
	vdev->dev.ops = &virtio_device_ops;
	snprintf(vdev->dev.name, sizeof(vdev->dev.name), "%s", name);
	vdev->name = vdev->dev.name;
	vdev->device_id = device_id;
	vdev->ops = ops;
	vdev->opaque = opaque;
	vdev->host_features = features | VPCI_TRANSPORT_FEATURES;
	vdev->nr_queues = nr_queues;
	vdev->config = config;
	vdev->config_len = config_len;
	pthread_mutex_init(&vdev->lock, NULL);
	for (q = 0; q < nr_queues; q++) {
		struct virtio_queue *vq = &vdev->queues[q];

		vq->vq.on_error = vpci_queue_error;
		vq->vq.err_opaque = vdev;
		vq->vq.log = &vdev->dev.log;
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0) {
			ret = -errno;
			goto err_fds;
		}
	}
	virtio_pci_reset(vdev);
	ret = vpci_setup_pci(vdev, class_code);
	if (ret)
		goto err_msix;
	ret = pci_register_device(env->pci, &vdev->pci);
	if (ret)
		goto err_msix;
	vdev->registered = true;
	return 0;
err_msix:
	pci_msix_destroy(&vdev->pci);
err_fds:
	while (q-- > 0)
		close(vdev->queues[q].kick_fd);
	pthread_mutex_destroy(&vdev->lock);
	return ret;
}

void virtio_pci_destroy(struct virtio_dev *vdev)
{
	if (vdev->registered) {
		pci_unregister_device(vdev->pci.bus, &vdev->pci);
		vdev->registered = false;
	}
	pthread_mutex_lock(&vdev->lock);
	virtio_pci_reset(vdev);
	pthread_mutex_unlock(&vdev->lock);
	pci_msix_destroy(&vdev->pci);
	for (unsigned q = 0; q < vdev->nr_queues; q++)
		close(vdev->queues[q].kick_fd);
	pthread_mutex_destroy(&vdev->lock);
}
