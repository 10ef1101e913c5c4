/* SPDX-License-Identifier: MIT */
/*
 * The host side of guest NUMA nodes, through libnuma: which host nodes
 * exist, binding a node's RAM with mbind(2), the host CPUs of host nodes,
 * and where a range's pages are (/proc/self/numa_maps).
 */
#ifndef CVISOR_VMM_NUMA_HOST_H
#define CVISOR_VMM_NUMA_HOST_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/numa.h"

/* Host nodes with memory, as a mask (node 0 alone without NUMA support). */
uint64_t numa_host_nodes(void);
/* Bind [p, p+len) as node n says (nothing for NUMA_POLICY_NONE). */
int numa_host_bind(void *p, uint64_t len, const struct numa_node *n);
/* The host CPUs of the nodes in mask into set; 0 or -errno. */
int numa_host_cpus(uint64_t mask, cpu_set_t *set);

/*
 * The bytes resident on each host node (bytes[NUMA_MAX_HOST_NODES]) of
 * the mappings that start in [start, end), from the numa_maps text f
 * (/proc/self/numa_maps). Returns 0 or -errno.
 */
int numa_host_resident(const char *text, size_t len, uintptr_t start,
		       uintptr_t end, uint64_t *bytes);
/* The same, reading /proc/self/numa_maps. */
int numa_host_resident_self(uintptr_t start, uintptr_t end, uint64_t *bytes);

#endif
