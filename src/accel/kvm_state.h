/* SPDX-License-Identifier: MIT */
/*
 * KVM's vCPU and VM-wide state in snapshot sections (vmm/state.h), for
 * kvm.c's accel_ops. The saves fill err (one line naming the ioctl) and
 * return a negative errno when KVM refuses; the loads validate what they
 * read, then hand it to KVM, and report both kinds of failure through
 * state_fail. An ioctl this host's KVM lacks is an error naming it, never
 * a part of the state left out. docs/snapshot.md lists the fields.
 */
#ifndef CVISOR_ACCEL_KVM_STATE_H
#define CVISOR_ACCEL_KVM_STATE_H

#include <stddef.h>
#include <stdint.h>

struct state_writer;
struct state_reader;

/* Format version of the "kvm" section KVM writes */
#define KVM_STATE_VERSION	1
/*
 * Format version of the "cpu<id>" sections KVM writes: 2 may carry the
 * MTRRs among the MSRs; a version 1 section (no MTRRs) still loads.
 */
#define KVM_CPU_STATE_VERSION		2
#define KVM_CPU_STATE_MIN_VERSION	1

/*
 * "cpu<id>" of the vCPU whose fd is vcpu_fd; kvm_fd is /dev/kvm's. A
 * loaded LAPIC must have the vCPU's APIC ID, apic_id.
 */
int kvm_vcpu_state_save(int kvm_fd, int vcpu_fd, int id,
			struct state_writer *w, char *err, size_t errlen);
int kvm_vcpu_state_load(int kvm_fd, int vcpu_fd, int id, uint32_t apic_id,
			struct state_reader *r, uint32_t version);

/* "kvm": PIC pair, IOAPIC, PIT and kvmclock of the VM vm_fd. */
int kvm_vm_state_save(int vm_fd, struct state_writer *w, char *err,
		      size_t errlen);
int kvm_vm_state_load(int vm_fd, struct state_reader *r, uint32_t version);

#endif
