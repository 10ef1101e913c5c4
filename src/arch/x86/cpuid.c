// SPDX-License-Identifier: MIT
#include "arch/x86/cpuid.h"

#include "arch/x86/topology.h"

#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)
#define CPUID_B_LEVEL_SMT	1u
#define CPUID_B_LEVEL_CORE	2u
#define CPUID_4_LEVEL(eax)	(((eax) >> 5) & 7)

unsigned cpuid_order(unsigned n)
{
	unsigned order = 0;

	while ((1u << order) < n)
		order++;
	return order;
}

/* Leaf 0xB or 0x1F: the SMT level, then the core level (no dies). */
static void cpuid_topology_level(struct cpuid_leaf *l,
				 const struct cpu_topology *t, uint32_t apic_id)
{
	switch (l->index) {
	case 0:
		l->eax = topology_thread_bits(t);
		l->ebx = topology_threads(t);
		l->ecx = (CPUID_B_LEVEL_SMT << 8) | l->index;
		break;
	case 1:
		l->eax = topology_package_shift(t);
		l->ebx = t->cores * topology_threads(t);
		l->ecx = (CPUID_B_LEVEL_CORE << 8) | l->index;
		break;
	default:
		l->eax = l->ebx = 0;
		l->ecx = l->index;
		break;
	}
	l->edx = apic_id;
}

void cpuid_topology_leaf(struct cpuid_leaf *l, const struct cpu_topology *t,
			 int cpu)
{
	uint32_t apic_id = topology_apic_id(t, cpu);
	uint32_t sharing;

	switch (l->function) {
	case 1:
		l->ebx = (l->ebx & 0xffff) | (apic_id << 24) |
			 (topology_ids_per_package(t) << 16);
		if (topology_ids_per_package(t) > 1)
			l->edx |= CPUID_1_EDX_HTT;
		break;
	case 4:
		if (!(l->eax & 0x1f))	/* no more caches */
			break;
		/* L1 and L2 per core, L3 per package. */
		sharing = CPUID_4_LEVEL(l->eax) >= 3 ?
			  topology_ids_per_package(t) :
			  1u << topology_thread_bits(t);
		l->eax = (l->eax & 0x3ff) | ((sharing - 1) << 14) |
			 (((1u << (topology_package_shift(t) -
				   topology_thread_bits(t))) - 1) << 26);
		break;
	case 0xb:
	case 0x1f:
		cpuid_topology_level(l, t, apic_id);
		break;
	case 0x80000008:
		/* AMD: logical processors per package - 1, their ID bits */
		l->ecx = (l->ecx & ~0xf0ffu) |
			 (topology_package_shift(t) << 12) |
			 (t->cores * topology_threads(t) - 1);
		break;
	case 0x8000001e:
		/* AMD: extended APIC ID, core and threads per core, node */
		l->eax = apic_id;
		l->ebx = (l->ebx & ~0xffffu) |
			 ((topology_threads(t) - 1) << 8) |
			 ((apic_id >> topology_thread_bits(t)) &
			  ((1u << (topology_package_shift(t) -
				   topology_thread_bits(t))) - 1));
		l->ecx = (l->ecx & ~0x7ffu) |
			 (apic_id >> topology_package_shift(t));
		break;
	default:
		break;
	}
}

void cpuid_apply_policy(struct cpuid_leaf *leaves, int n,
			const struct cpu_topology *t, int cpu)
{
	for (int i = 0; i < n; i++) {
		cpuid_topology_leaf(&leaves[i], t, cpu);
		if (leaves[i].function == 1) {
			leaves[i].ecx |= CPUID_1_ECX_HYPERVISOR;
			leaves[i].edx |= CPUID_1_EDX_HTT;
		}
	}
}
