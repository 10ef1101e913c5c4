/* SPDX-License-Identifier: MIT */
/*
 * Guest NUMA nodes (`--numa`, docs/cpu-memory.md): which vCPUs and how
 * much RAM each node has, the host nodes its RAM is bound to, and the
 * distances between nodes. Node 0's RAM comes first in guest physical
 * order, then node 1's, and so on (the MMIO hole splits whichever node
 * spans it). The guest learns all of it from the SRAT and SLIT
 * (acpi_numa.c); the host binding is in numa_host.c.
 */
#ifndef CVISOR_VMM_NUMA_H
#define CVISOR_VMM_NUMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUMA_MAX_NODES		8
#define NUMA_MAX_HOST_NODES	64
#define NUMA_LOCAL_DISTANCE	10	/* ACPI SLIT: a node to itself */
#define NUMA_REMOTE_DISTANCE	20	/* the default between two nodes */
/* Node sizes are whole 2 MiB pages, so each node is whole huge pages. */
#define NUMA_MEM_ALIGN		(2ULL << 20)

enum numa_policy {
	NUMA_POLICY_NONE,	/* no host-node: the host's default policy */
	NUMA_POLICY_BIND,
	NUMA_POLICY_PREFERRED,
	NUMA_POLICY_INTERLEAVE,
};

struct numa_node {
	bool defined;
	uint64_t mem;		/* bytes */
	uint64_t cpus;		/* bit i: vCPU i */
	uint64_t host_nodes;	/* bit n: host node n; 0 when not bound */
	enum numa_policy policy;
};

struct numa_config {
	int nr_nodes;		/* 0: no --numa, one implicit node */
	struct numa_node nodes[NUMA_MAX_NODES];
	/* distance[a][b] as given; 0 where not given */
	uint8_t distance[NUMA_MAX_NODES][NUMA_MAX_NODES];
};

/*
 * The nodes against the rest of the VM: every vCPU in exactly one node,
 * the sizes adding up to mem_size, nodes numbered from 0 without gaps,
 * host nodes that exist on this host. 0, or -EINVAL with a line in err.
 */
int numa_check(const struct numa_config *cfg, int nr_cpus, uint64_t mem_size,
	       char *err, size_t err_size);
/* The distance the SLIT gives from node a to node b. */
unsigned numa_node_distance(const struct numa_config *cfg, int a, int b);
/* The node vCPU cpu belongs to (0 without nodes). */
int numa_vcpu_node(const struct numa_config *cfg, int cpu);
/* A node's first byte in RAM order (offset into guest RAM, not a GPA). */
uint64_t numa_node_offset(const struct numa_config *cfg, int node);
const char *numa_policy_name(enum numa_policy p);

/* "0-1,4" for a 64-bit mask into buf. */
void numa_format_mask(uint64_t mask, char *buf, size_t size);

#endif
