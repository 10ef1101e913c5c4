/* SPDX-License-Identifier: MIT */
/*
 * The guest's CPU topology: sockets of cores of threads, and the APIC ID
 * each vCPU gets from it. vCPU i is thread i % threads of core
 * (i / threads) % cores of socket i / (threads * cores); its APIC ID packs
 * the three into bit fields as wide as each count needs (Intel SDM vol. 3,
 * "Identification of Hierarchical Topology"), so IDs are sparse when a
 * count is not a power of two. CPUID (cpuid.c), the MADT and SRAT
 * (acpi.c) and both accelerators' LAPICs take the IDs from here.
 */
#ifndef CVISOR_ARCH_X86_TOPOLOGY_H
#define CVISOR_ARCH_X86_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

/* All zero means flat: one socket of one-thread cores, APIC ID = vCPU. */
struct cpu_topology {
	int sockets, cores, threads;
};

/*
 * Complete t for nr_cpus vCPUs: missing counts (0) become 1 (sockets,
 * threads) or what is left (cores). 0, or -EINVAL with a line in err
 * naming the counts when they do not multiply to nr_cpus.
 */
int topology_resolve(struct cpu_topology *t, int nr_cpus, char *err,
		     size_t err_size);

unsigned topology_thread_bits(const struct cpu_topology *t);
/* Bits of thread and core together: the package ID's shift. */
unsigned topology_package_shift(const struct cpu_topology *t);
uint32_t topology_apic_id(const struct cpu_topology *t, int cpu);
/* Logical processors a package's ID space addresses: 1 << package_shift */
unsigned topology_ids_per_package(const struct cpu_topology *t);
int topology_threads(const struct cpu_topology *t);
int topology_cores(const struct cpu_topology *t, int nr_cpus);

#endif
