// SPDX-License-Identifier: MIT
/*
 * MSI routes for irqfd. KVM_SET_GSI_ROUTING replaces the whole GSI table,
 * so this file owns all of it: first the routes KVM_CREATE_IRQCHIP sets up
 * by default (GSI 0-15 to a PIC and the IOAPIC, 16-23 to the IOAPIC only),
 * which KVM_IRQ_LINE and the in-kernel PIT keep using, then one GSI per MSI
 * route from MSI_GSI_BASE on. Each MSI GSI has an eventfd bound with
 * KVM_IRQFD, so a device thread raises its interrupt with one write and
 * KVM injects it without a round trip through a vCPU thread.
 */
#include "accel/kvm_msi.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

#define NR_ISA_GSIS		16
#define MSI_GSI_BASE		KVM_IOAPIC_NUM_PINS
#define NR_IRQCHIP_ROUTES	(KVM_IOAPIC_NUM_PINS + NR_ISA_GSIS)

struct kvm_msi_slot {
	int fd;			/* -1: free */
	struct kvm_irq_routing_msi msg;
};

struct kvm_msi_routes {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned max;		/* slots that fit in KVM's routing table */
	unsigned nr;		/* slots allocated; slot i is GSI base + i */
	struct kvm_msi_slot *slots;
};

static struct kvm_irq_routing_entry irqchip_route(unsigned gsi, unsigned chip,
						  unsigned pin)
{
	return (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/* Hand KVM the full table; lock held. */
static int routes_commit(struct kvm_msi_routes *r)
{
	struct kvm_irq_routing *t;
	unsigned n = 0;
	int ret = 0;

	t = calloc(1, sizeof(*t) +
		   (NR_IRQCHIP_ROUTES + r->nr) * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		t->entries[n++] = irqchip_route(gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < NR_ISA_GSIS)
			t->entries[n++] = irqchip_route(gsi, gsi < 8 ?
				KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				gsi % 8);
	}
	for (unsigned i = 0; i < r->nr; i++) {
		if (r->slots[i].fd < 0)
			continue;
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = MSI_GSI_BASE + i,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = r->slots[i].msg,
		};
	}
	t->nr = n;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		ret = -errno;
	free(t);
	return ret;
}

static int irqfd(struct kvm_msi_routes *r, int fd, unsigned slot, bool bind)
{
	struct kvm_irqfd req = {
		.fd = fd,
		.gsi = MSI_GSI_BASE + slot,
		.flags = bind ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(r->vm_fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

static struct kvm_irq_routing_msi msi_msg(uint64_t addr, uint32_t data)
{
	return (struct kvm_irq_routing_msi){
		.address_lo = (uint32_t)addr,
		.address_hi = addr >> 32,
		.data = data,
	};
}

/* A free slot, growing the array within KVM's limit; lock held. */
static int slot_alloc(struct kvm_msi_routes *r)
{
	struct kvm_msi_slot *s;
	unsigned first = r->nr, nr;

	for (unsigned i = 0; i < r->nr; i++)
		if (r->slots[i].fd < 0)
			return i;
	if (r->nr == r->max)
		return -ENOSPC;
	nr = r->nr ? r->nr * 2 : 32;
	if (nr > r->max)
		nr = r->max;
	s = realloc(r->slots, nr * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (unsigned i = first; i < nr; i++)
		s[i].fd = -1;
	r->slots = s;
	r->nr = nr;
	return first;
}

static int slot_of(struct kvm_msi_routes *r, int fd)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (r->slots[i].fd == fd)
			return i;
	return -ENOENT;
}

int kvm_msi_route_add(struct kvm_msi_routes *r, uint64_t addr, uint32_t data)
{
	struct kvm_msi_slot *s;
	int fd, slot, ret;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&r->lock);
	slot = slot_alloc(r);
	if (slot < 0) {
		ret = slot;
		goto err_fd;
	}
	s = &r->slots[slot];
	s->fd = fd;
	s->msg = msi_msg(addr, data);
	ret = routes_commit(r);
	if (ret)
		goto err_slot;
	ret = irqfd(r, fd, slot, true);
	if (ret)
		goto err_slot;
	pthread_mutex_unlock(&r->lock);
	log_debug("KVM: MSI %#llx/%#x on GSI %u through irqfd",
		  (unsigned long long)addr, data, MSI_GSI_BASE + slot);
	return fd;
err_slot:
	s->fd = -1;
	routes_commit(r);
err_fd:
	pthread_mutex_unlock(&r->lock);
	close(fd);
	return ret;
}

int kvm_msi_route_update(struct kvm_msi_routes *r, int fd, uint64_t addr,
			 uint32_t data)
{
	struct kvm_irq_routing_msi old;
	int slot, ret;

	pthread_mutex_lock(&r->lock);
	slot = slot_of(r, fd);
	if (slot < 0) {
		pthread_mutex_unlock(&r->lock);
		return slot;
	}
	old = r->slots[slot].msg;
	r->slots[slot].msg = msi_msg(addr, data);
	ret = routes_commit(r);
	if (ret)
		r->slots[slot].msg = old;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void kvm_msi_route_del(struct kvm_msi_routes *r, int fd)
{
	int slot, ret;

	pthread_mutex_lock(&r->lock);
	slot = slot_of(r, fd);
	if (slot >= 0) {
		ret = irqfd(r, fd, slot, false);
		r->slots[slot].fd = -1;
		if (!ret)
			ret = routes_commit(r);
		if (ret)
			log_once("KVM: removing the MSI route on GSI %u: %s",
				 MSI_GSI_BASE + slot, strerror(-ret));
	}
	pthread_mutex_unlock(&r->lock);
	close(fd);
}

int kvm_msi_routes_create(int vm_fd, struct kvm_msi_routes **out)
{
	struct kvm_msi_routes *r;
	int max;

	*out = NULL;
	max = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    max <= NR_IRQCHIP_ROUTES) {
		log_once("KVM has no irqfd or GSI routing: "
			 "MSI-X interrupts go through KVM_SIGNAL_MSI");
		return 0;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm_fd = vm_fd;
	r->max = max - NR_IRQCHIP_ROUTES;
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

void kvm_msi_routes_destroy(struct kvm_msi_routes *r)
{
	if (!r)
		return;
	/* Closing an eventfd also unbinds its irqfd in KVM. */
	for (unsigned i = 0; i < r->nr; i++)
		if (r->slots[i].fd >= 0)
			close(r->slots[i].fd);
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r);
}
