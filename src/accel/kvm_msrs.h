/* SPDX-License-Identifier: MIT */
/*
 * The MSRs a KVM vCPU's snapshot carries (kvm_state.c): a fixed list of
 * architectural and KVM paravirtual MSRs, cut down to those this host's
 * KVM lists and, for the paravirtual ones, this guest's CPUID offers.
 */
#ifndef CVISOR_ACCEL_KVM_MSRS_H
#define CVISOR_ACCEL_KVM_MSRS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* The length of the list: no section holds more MSRs. */
#define KVM_STATE_MSRS_MAX	61

/*
 * The MSRs to save from vCPU vcpu_fd, their indices into out[0..*nr).
 * On failure *what names the ioctl.
 */
int kvm_msrs_pick(int kvm_fd, int vcpu_fd, struct kvm_msr_entry *out,
		  uint32_t *nr, const char **what);
/* KVM_GET_MSRS of e[0..nr); -EIO with *failed the MSR KVM cannot read. */
int kvm_msrs_get(int vcpu_fd, struct kvm_msr_entry *e, uint32_t nr,
		 uint32_t *failed);
/*
 * KVM_SET_MSRS of the entries of e[0..nr) that are IA32_TSC_DEADLINE
 * (late) or all the others (!late): the deadline is only taken once the
 * LAPIC's timer is in TSC-deadline mode. -EIO with *failed the entry KVM
 * refused.
 */
int kvm_msrs_set(int vcpu_fd, const struct kvm_msr_entry *e, uint32_t nr,
		 bool late, struct kvm_msr_entry *failed);
/* index's place in the list, or -1: a load takes no other MSR. */
int kvm_msrs_slot(uint32_t index);

#endif
