// SPDX-License-Identifier: MIT
#include "arch/x86/cpuid.h"

#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)
#define CPUID_B_LEVEL_SMT	1u
#define CPUID_B_LEVEL_CORE	2u

unsigned cpuid_order(unsigned n)
{
	unsigned order = 0;

	while ((1u << order) < n)
		order++;
	return order;
}

static void cpuid_topology_level(struct cpuid_leaf *l, int cpu, int nr_cpus)
{
	switch (l->index) {
	case 0:	/* SMT: one thread per core */
		l->eax = 0;
		l->ebx = 1;
		l->ecx = (CPUID_B_LEVEL_SMT << 8) | l->index;
		break;
	case 1:	/* cores in the package */
		l->eax = cpuid_order(nr_cpus);
		l->ebx = nr_cpus;
		l->ecx = (CPUID_B_LEVEL_CORE << 8) | l->index;
		break;
	default:
		l->eax = l->ebx = 0;
		l->ecx = l->index;
		break;
	}
	l->edx = cpu;
}

void cpuid_apply_policy(struct cpuid_leaf *leaves, int n, int cpu,
			int nr_cpus)
{
	for (int i = 0; i < n; i++) {
		struct cpuid_leaf *l = &leaves[i];

		switch (l->function) {
		case 1:
			l->ebx = (l->ebx & 0xffff) | (cpu << 24) |
				 ((1u << cpuid_order(nr_cpus)) << 16);
			l->ecx |= CPUID_1_ECX_HYPERVISOR;
			l->edx |= CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Cores per package minus one; caches private. */
			l->eax = (l->eax & 0x3ff) |
				 (((1u << cpuid_order(nr_cpus)) - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			cpuid_topology_level(l, cpu, nr_cpus);
			break;
		default:
			break;
		}
	}
}
