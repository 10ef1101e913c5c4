/* SPDX-License-Identifier: MIT */
/*
 * The bodies (what follows the common table header) of the SRAT and SLIT
 * (ACPI 6.x, 5.2.16 and 5.2.17) for the guest NUMA nodes of numa.h; acpi.c
 * wraps them into tables. Each returns its length; buf NULL only measures.
 */
#ifndef CVISOR_ARCH_X86_ACPI_NUMA_H
#define CVISOR_ARCH_X86_ACPI_NUMA_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/topology.h"
#include "vmm/numa.h"

/*
 * Processor affinity for each of nr_cpus vCPUs (its APIC ID from t) and
 * memory affinity for each node's RAM, in guest physical addresses: RAM
 * offsets below low_end lie at the same address, the rest from 4 GiB
 * (a node spanning the MMIO hole gets two ranges).
 */
size_t acpi_srat_body(uint8_t *buf, const struct numa_config *numa,
		      const struct cpu_topology *t, int nr_cpus,
		      uint64_t low_end);
/* The node-to-node distance matrix. */
size_t acpi_slit_body(uint8_t *buf, const struct numa_config *numa);

#endif
