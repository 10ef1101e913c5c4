/* SPDX-License-Identifier: MIT */
/* CPUID policy shared by the accelerators: topology and feature masking. */
#ifndef CVISOR_ARCH_X86_CPUID_H
#define CVISOR_ARCH_X86_CPUID_H

#include <stdint.h>

struct cpuid_leaf {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
};

/*
 * Rewrite the topology leaves (1, 4, 0xB, 0x1F) for CPU cpu of nr_cpus:
 * one socket of nr_cpus cores, one thread each, APIC ID = cpu. Also sets
 * the hypervisor bit and drops features cvisor does not offer guests.
 */
void cpuid_apply_policy(struct cpuid_leaf *leaves, int n, int cpu,
			int nr_cpus);

/* Bits needed to number n items (ceil(log2(n))). */
unsigned cpuid_order(unsigned n);

#endif
