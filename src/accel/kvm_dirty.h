/* SPDX-License-Identifier: MIT */
/*
 * KVM's dirty page log for live migration (kvm_dirty.c): the guest RAM
 * slots re-registered with KVM_MEM_LOG_DIRTY_PAGES and read with
 * KVM_GET_DIRTY_LOG (+ KVM_CLEAR_DIRTY_LOG when the kernel has manual
 * protection), reported as pages of the guest RAM mapping.
 */
#ifndef CVISOR_ACCEL_KVM_DIRTY_H
#define CVISOR_ACCEL_KVM_DIRTY_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem;
struct kvm_dirty;

/*
 * The log of the VM vm_fd, whose slot i is mem->regions[i] (as
 * kvm_map_memory registers them); NULL when out of memory. Nothing is
 * logged until kvm_dirty_start.
 */
struct kvm_dirty *kvm_dirty_create(int kvm_fd, int vm_fd,
				   const struct guest_mem *mem);
void kvm_dirty_destroy(struct kvm_dirty *d);

/*
 * The accel_ops dirty_log_* calls (accel.h), from any thread. start
 * returns 0 or a negative errno (-ENOTSUP when this KVM cannot log) with
 * a one-line reason in err.
 */
int kvm_dirty_start(struct kvm_dirty *d, char *err, size_t errlen);
int kvm_dirty_sync(struct kvm_dirty *d, uint64_t *bitmap);
void kvm_dirty_stop(struct kvm_dirty *d);

/*
 * Device memory as a logged slot (accel.h dev_slot_*): size bytes at hva
 * (both page-aligned) seen by the guest at gpa, every guest write to it
 * logged from now on. map returns a slot id >= 0 or a negative errno
 * (-ENOSPC: all device slots in use; KVM's -EEXIST: gpa overlaps another
 * slot). sync ORs the pages written since the last sync into bitmap (bit
 * i: page i of the slot) and clears them. Any thread.
 */
int kvm_dirty_dev_map(struct kvm_dirty *d, uint64_t gpa, void *hva,
		      uint64_t size);
void kvm_dirty_dev_unmap(struct kvm_dirty *d, int id);
int kvm_dirty_dev_sync(struct kvm_dirty *d, int id, uint64_t *bitmap);

#endif
