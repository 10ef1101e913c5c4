/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_ACCEL_KVM_CPUID_H
#define CVISOR_ACCEL_KVM_CPUID_H

/* Give vCPU cpu the host's KVM-supported CPUID with cvisor's topology. */
int kvm_cpuid_setup(int kvm_fd, int vcpu_fd, int cpu, int nr_cpus);

#endif
