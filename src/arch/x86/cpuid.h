/* SPDX-License-Identifier: MIT */
/* CPUID policy shared by the accelerators: topology and feature masking. */
#ifndef CVISOR_ARCH_X86_CPUID_H
#define CVISOR_ARCH_X86_CPUID_H

#include <stdint.h>

struct cpu_topology;

struct cpuid_leaf {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
};

/*
 * Rewrite the topology fields of leaf l (1, 4, 0xB, 0x1F, and AMD's
 * 0x80000008 and 0x8000001E; others are left alone) for vCPU cpu of
 * topology t (resolved, topology.h): its APIC ID, the thread and core
 * fields' widths, which CPUs share each cache level. Both accelerators
 * fill these fields through here.
 */
void cpuid_topology_leaf(struct cpuid_leaf *l, const struct cpu_topology *t,
			 int cpu);

/*
 * The topology leaves as above, plus the hypervisor bit, for the n leaves
 * KVM offers vCPU cpu.
 */
void cpuid_apply_policy(struct cpuid_leaf *leaves, int n,
			const struct cpu_topology *t, int cpu);

/* Bits needed to number n items (ceil(log2(n))). */
unsigned cpuid_order(unsigned n);

#endif
