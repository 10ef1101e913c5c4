/* SPDX-License-Identifier: MIT */
/*
 * MSI routes delivered by KVM itself: a GSI routing entry per message and
 * an eventfd bound to that GSI with KVM_IRQFD (kvm_msi.c).
 */
#ifndef CVISOR_ACCEL_KVM_MSI_H
#define CVISOR_ACCEL_KVM_MSI_H

#include <stdint.h>

struct kvm_msi_routes;

/*
 * The routes of the VM vm_fd (created with KVM_CREATE_IRQCHIP). Returns 0
 * with *out NULL when KVM lacks irqfd or GSI routing: callers then use
 * KVM_SIGNAL_MSI. Negative errno on failure.
 */
int kvm_msi_routes_create(int vm_fd, struct kvm_msi_routes **out);
void kvm_msi_routes_destroy(struct kvm_msi_routes *r);

/* An eventfd that raises (addr, data) when written, or negative errno. */
int kvm_msi_route_add(struct kvm_msi_routes *r, uint64_t addr, uint32_t data);
int kvm_msi_route_update(struct kvm_msi_routes *r, int fd, uint64_t addr,
			 uint32_t data);
/* Unbinds and closes fd. */
void kvm_msi_route_del(struct kvm_msi_routes *r, int fd);

#endif
