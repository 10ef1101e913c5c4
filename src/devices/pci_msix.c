// SPDX-License-Identifier: MIT
/*
 * MSI-X for PCI devices (PCI Local Bus 3.0, 6.8.2): the capability, the
 * vector table and the pending bit array, the latter two as regions of one
 * memory BAR. A vector raised while masked (per vector or function-wide)
 * sets its pending bit and is delivered when unmasked.
 *
 * When the accelerator offers in-kernel MSI routes (irqfd under KVM), a
 * vector gets one as soon as it is enabled and unmasked, carrying the
 * message the guest programmed; raising the vector is then a write to the
 * route's eventfd. Masking stays here: a masked vector's eventfd is never
 * written. Without routes, vectors go through send_msi.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "vmm/log.h"

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_ENTRY_MASKED	0x1
#define MSIX_MAX_VECTORS	2048

struct msix_entry {
	uint32_t addr_lo;
	uint32_t addr_hi;
	uint32_t data;
	uint32_t ctrl;
};

/* A vector's in-kernel route and the message it was set up with. */
struct msix_route {
	int fd;			/* -1: none, deliver with send_msi */
	uint64_t addr;
	uint32_t data;
};

struct pci_msix {
	struct pci_device *dev;
	pthread_mutex_t lock;
	unsigned nr;
	bool enabled;
	bool masked;		/* function mask */
	struct msix_entry *table;
	uint64_t *pba;
	struct msix_route *routes;
};

static bool msix_pending(struct pci_msix *m, unsigned v)
{
	return m->pba[v / 64] & (1ULL << (v % 64));
}

static void msix_set_pending(struct pci_msix *m, unsigned v, bool on)
{
	if (on)
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		m->pba[v / 64] &= ~(1ULL << (v % 64));
}

static bool msix_deliverable(struct pci_msix *m, unsigned v)
{
	return m->enabled && !m->masked &&
	       !(m->table[v].ctrl & MSIX_ENTRY_MASKED);
}

static uint64_t msix_addr(const struct msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

/* Lock held. */
static void msix_route_release(struct pci_msix *m, unsigned v)
{
	struct msix_route *r = &m->routes[v];
	const struct irq_chip *irq = m->dev->bus->irq;

	if (r->fd < 0)
		return;
	irq->ops->msi_route_del(irq->opaque, r->fd);
	r->fd = -1;
}

/*
 * Make the route of a deliverable vector carry the message now in its
 * table entry: created the first time, moved when the guest rewrote the
 * entry. A vector without a route falls back to send_msi. Lock held.
 */
static void msix_route_sync(struct pci_msix *m, unsigned v)
{
	const struct msix_entry *e = &m->table[v];
	struct msix_route *r = &m->routes[v];
	const struct irq_chip *irq = m->dev->bus->irq;
	uint64_t addr = msix_addr(e);
	int fd;

	if (!msix_deliverable(m, v))
		return;
	if (r->fd >= 0) {
		if (r->addr == addr && r->data == e->data)
			return;
		if (irq->ops->msi_route_update(irq->opaque, r->fd, addr,
						  e->data)) {
			log_limited(&m->dev->log,
				    "pci: %s: cannot move the route of MSI-X vector %u",
				    m->dev->name, v);
			msix_route_release(m, v);
			return;
		}
	} else {
		fd = irq->ops->msi_route_add ?
		     irq->ops->msi_route_add(irq->opaque, addr, e->data) :
		     -ENOSYS;
		if (fd == -ENOSYS)		/* emu: none, quietly */
			return;
		if (fd < 0) {
			log_limited(&m->dev->log,
				    "pci: %s: no in-kernel route for MSI-X vector %u: %s",
				    m->dev->name, v, strerror(-fd));
			return;
		}
		r->fd = fd;
	}
	r->addr = addr;
	r->data = e->data;
}

/* Lock held; v is deliverable, so a route it has is up to date. */
static void msix_send(struct pci_msix *m, unsigned v)
{
	const struct msix_entry *e = &m->table[v];
	uint64_t one = 1;

	if (m->routes[v].fd >= 0 &&
	    write(m->routes[v].fd, &one, sizeof(one)) == sizeof(one))
		return;
	m->dev->bus->irq->ops->send_msi(m->dev->bus->irq->opaque,
					msix_addr(e), e->data);
}

/* Deliver every pending vector that became deliverable; lock held. */
static void msix_flush_pending(struct pci_msix *m)
{
	for (unsigned v = 0; v < m->nr; v++) {
		if (msix_pending(m, v) && msix_deliverable(m, v)) {
			msix_set_pending(m, v, false);
			msix_send(m, v);
		}
	}
}

bool pci_msix_notify(struct pci_device *dev, unsigned vector)
{
	struct pci_msix *m = dev->msix;
	bool ok = true;

	if (!m || vector >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	if (!m->enabled)
		ok = false;
	else if (msix_deliverable(m, vector))
		msix_send(m, vector);
	else
		msix_set_pending(m, vector, true);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

bool pci_msix_enabled(struct pci_device *dev)
{
	struct pci_msix *m = dev->msix;
	bool on;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

/* Called with the PCI bus lock held, so the config bytes are stable. */
void pci_msix_control_written(struct pci_device *dev)
{
	struct pci_msix *m = dev->msix;
	uint16_t ctrl = get_le16(dev->cfg + dev->msix_cap + 2);

	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->masked = ctrl & MSIX_CTRL_MASKALL;
	/* A driver turns MSI-X off when it resets or lets go of the device. */
	for (unsigned v = 0; v < m->nr; v++) {
		if (m->enabled)
			msix_route_sync(m, v);
		else
			msix_route_release(m, v);
	}
	msix_flush_pending(m);
	pthread_mutex_unlock(&m->lock);
}

static uint64_t msix_table_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_msix *m = opaque;
	uint32_t *words = (uint32_t *)m->table;
	unsigned w = off / 4;
	uint64_t val;

	if ((size != 4 && size != 8) || off % size)
		return 0;
	pthread_mutex_lock(&m->lock);
	val = words[w];
	if (size == 8)
		val |= (uint64_t)words[w + 1] << 32;
	pthread_mutex_unlock(&m->lock);
	return val;
}

static void msix_table_write_word(struct msix_entry *e, unsigned w,
				  uint32_t val)
{
	switch (w % 4) {
	case 0:
		e->addr_lo = val & ~3u;
		break;
	case 1:
		e->addr_hi = val;
		break;
	case 2:
		e->data = val;
		break;
	case 3:
		e->ctrl = val & MSIX_ENTRY_MASKED;
		break;
	}
}

static void msix_table_write(void *opaque, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct pci_msix *m = opaque;
	unsigned w = off / 4, v = w / 4;
	struct msix_entry *e = &m->table[v];

	if ((size != 4 && size != 8) || off % size) {
		log_limited(&m->dev->log,
			    "pci: %s: MSI-X table access of size %u at %#llx "
			    "ignored", m->dev->name, size,
			    (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&m->lock);
	msix_table_write_word(e, w, val);
	if (size == 8)
		msix_table_write_word(e, w + 1, val >> 32);
	/*
	 * Unmasking sets up the route; rewriting an unmasked entry is
	 * undefined (6.8.2.9), the route follows it.
	 */
	msix_route_sync(m, v);
	if (msix_pending(m, v) && msix_deliverable(m, v)) {
		msix_set_pending(m, v, false);
		msix_send(m, v);
	}
	pthread_mutex_unlock(&m->lock);
}

static const struct bus_ops msix_table_ops = {
	.read = msix_table_read,
	.write = msix_table_write,
};

static uint64_t msix_pba_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_msix *m = opaque;
	uint64_t val;

	if ((size != 4 && size != 8) || off % size)
		return 0;
	pthread_mutex_lock(&m->lock);
	val = m->pba[off / 8];
	pthread_mutex_unlock(&m->lock);
	if (size == 4)
		val = (uint32_t)(val >> (8 * (off % 8)));
	return val;
}

static const struct bus_ops msix_pba_ops = {
	.read = msix_pba_read,
	/* The PBA is read-only; writes are dropped by the bus. */
};

int pci_msix_init(struct pci_device *dev, unsigned nr_vectors, int bar,
		  uint32_t table_off, uint32_t pba_off)
{
	uint8_t cap[12] = { 0 };
	struct pci_msix *m;
	int ret, off, nr_regions;

	if (!nr_vectors || nr_vectors > MSIX_MAX_VECTORS || dev->msix ||
	    (table_off | pba_off) & 7)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->dev = dev;
	m->nr = nr_vectors;
	m->table = calloc(nr_vectors, sizeof(*m->table));
	m->pba = calloc(PCI_MSIX_PBA_SIZE(nr_vectors), 1);
	m->routes = calloc(nr_vectors, sizeof(*m->routes));
	ret = -ENOMEM;
	if (!m->table || !m->pba || !m->routes)
		goto err_free;
	for (unsigned v = 0; v < nr_vectors; v++) {
		m->table[v].ctrl = MSIX_ENTRY_MASKED;
		m->routes[v].fd = -1;
	}
	pthread_mutex_init(&m->lock, NULL);

	if (bar < 0 || bar >= PCI_NR_BARS) {
		ret = -EINVAL;
		goto err_lock;
	}
	nr_regions = dev->bars[bar].nr_regions;
	ret = pci_device_add_bar_region(dev, bar, table_off,
					PCI_MSIX_TABLE_SIZE(nr_vectors),
					&msix_table_ops, m, "msix-table");
	if (ret)
		goto err_lock;
	ret = pci_device_add_bar_region(dev, bar, pba_off,
					PCI_MSIX_PBA_SIZE(nr_vectors),
					&msix_pba_ops, m, "msix-pba");
	if (ret)
		goto err_regions;
	put_le16(cap + 2, nr_vectors - 1);
	put_le32(cap + 4, table_off | bar);
	put_le32(cap + 8, pba_off | bar);
	off = pci_device_add_cap(dev, PCI_CAP_ID_MSIX, cap, sizeof(cap));
	if (off < 0) {
		ret = off;
		goto err_regions;
	}
	dev->wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	dev->msix_cap = off;
	dev->msix = m;
	return 0;
err_regions:
	dev->bars[bar].nr_regions = nr_regions;
err_lock:
	pthread_mutex_destroy(&m->lock);
err_free:
	free(m->routes);
	free(m->pba);
	free(m->table);
	free(m);
	return ret;
}

void pci_msix_destroy(struct pci_device *dev)
{
	struct pci_msix *m = dev->msix;

	if (!m)
		return;
	dev->msix = NULL;
	for (unsigned v = 0; v < m->nr; v++)
		msix_route_release(m, v);
	pthread_mutex_destroy(&m->lock);
	free(m->routes);
	free(m->pba);
	free(m->table);
	free(m);
}

int pci_msix_save(struct pci_device *dev, struct state_writer *w)
{
	struct pci_msix *m = dev->msix;

	pthread_mutex_lock(&m->lock);
	state_put_u32(w, m->nr);
	for (unsigned v = 0; v < m->nr; v++) {
		state_put_u32(w, m->table[v].addr_lo);
		state_put_u32(w, m->table[v].addr_hi);
		state_put_u32(w, m->table[v].data);
		state_put_u32(w, m->table[v].ctrl);
	}
	for (unsigned i = 0; i < (m->nr + 63) / 64; i++)
		state_put_u64(w, m->pba[i]);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* After the config space: the control word decides enable and mask. */
int pci_msix_load(struct pci_device *dev, struct state_reader *r)
{
	struct pci_msix *m = dev->msix;
	uint32_t nr;
	int ret;

	ret = state_get_u32(r, &nr);
	if (ret)
		return ret;
	if (nr != m->nr)
		return state_fail(r, "pci: %s: %u MSI-X vectors, expected %u",
				  dev->name, nr, m->nr);
	pthread_mutex_lock(&m->lock);
	for (unsigned v = 0; !ret && v < nr; v++) {
		struct msix_entry *e = &m->table[v];

		ret = state_get_u32(r, &e->addr_lo);
		ret = ret ?: state_get_u32(r, &e->addr_hi);
		ret = ret ?: state_get_u32(r, &e->data);
		ret = ret ?: state_get_u32(r, &e->ctrl);
		e->ctrl &= MSIX_ENTRY_MASKED;
	}
	for (unsigned i = 0; !ret && i < (nr + 63) / 64; i++)
		ret = state_get_u64(r, &m->pba[i]);
	if (!ret && nr % 64)
		m->pba[nr / 64] &= (1ULL << (nr % 64)) - 1;
	pthread_mutex_unlock(&m->lock);
	if (ret)
		return ret;
	pci_msix_control_written(dev);
	return 0;
}
