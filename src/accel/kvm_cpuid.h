/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_ACCEL_KVM_CPUID_H
#define CVISOR_ACCEL_KVM_CPUID_H

struct cpu_topology;

/* Give vCPU cpu the host's KVM-supported CPUID with topology t. */
int kvm_cpuid_setup(int kvm_fd, int vcpu_fd, const struct cpu_topology *t,
		    int cpu);

#endif
