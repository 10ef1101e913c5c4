// SPDX-License-Identifier: MIT
#include "vmm/numa.h"

#include <errno.h>
#include <stdio.h>

#include "vmm/affinity.h"
#include "vmm/numa_host.h"

const char *numa_policy_name(enum numa_policy p)
{
	switch (p) {
	case NUMA_POLICY_BIND:
		return "bind";
	case NUMA_POLICY_PREFERRED:
		return "preferred";
	case NUMA_POLICY_INTERLEAVE:
		return "interleave";
	case NUMA_POLICY_NONE:
		break;
	}
	return "none";
}

/* The bits of mask as a list ("0-3,6"), written as affinity lists are. */
void numa_format_mask(uint64_t mask, char *buf, size_t size)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < 64; i++)
		if (mask >> i & 1)
			CPU_SET(i, &set);
	affinity_format(&set, buf, size);
}

int numa_check(const struct numa_config *cfg, int nr_cpus, uint64_t mem_size,
	       char *err, size_t err_size)
{
	uint64_t all_cpus = nr_cpus >= 64 ? ~0ULL : (1ULL << nr_cpus) - 1;
	uint64_t seen = 0, total = 0, host = numa_host_nodes();
	char list[256];

	if (!cfg->nr_nodes)
		return 0;
	for (int i = 0; i < cfg->nr_nodes; i++) {
		const struct numa_node *n = &cfg->nodes[i];

		if (!n->defined) {
			snprintf(err, err_size, "--numa: node %d is missing "
				 "(nodes are numbered from 0, up to node %d "
				 "given)", i, cfg->nr_nodes - 1);
			return -EINVAL;
		}
		if (n->cpus & ~all_cpus) {
			numa_format_mask(n->cpus & ~all_cpus, list, sizeof(list));
			snprintf(err, err_size, "--numa: node %d: vCPUs %s do "
				 "not exist (--cpus %d)", i, list, nr_cpus);
			return -EINVAL;
		}
		if (n->cpus & seen) {
			numa_format_mask(n->cpus & seen, list, sizeof(list));
			snprintf(err, err_size, "--numa: node %d: vCPUs %s are "
				 "in another node too", i, list);
			return -EINVAL;
		}
		if (n->host_nodes & ~host) {
			char have[256];

			numa_format_mask(n->host_nodes & ~host, list,
					 sizeof(list));
			numa_format_mask(host, have, sizeof(have));
			snprintf(err, err_size, "--numa: node %d: host-node=%s "
				 "does not exist on this host (its nodes: %s)",
				 i, list, have);
			return -EINVAL;
		}
		seen |= n->cpus;
		if (n->mem > mem_size - total) {
			snprintf(err, err_size, "--numa: nodes 0-%d have more "
				 "mem than --memory (%llu MiB)", i,
				 (unsigned long long)(mem_size >> 20));
			return -EINVAL;
		}
		total += n->mem;
	}
	if (seen != all_cpus) {
		numa_format_mask(all_cpus & ~seen, list, sizeof(list));
		snprintf(err, err_size, "--numa: vCPUs %s are in no node", list);
		return -EINVAL;
	}
	if (total != mem_size) {
		snprintf(err, err_size, "--numa: the nodes' mem adds up to %llu "
			 "MiB, --memory is %llu MiB",
			 (unsigned long long)(total >> 20),
			 (unsigned long long)(mem_size >> 20));
		return -EINVAL;
	}
	for (int a = 0; a < NUMA_MAX_NODES; a++)
		for (int b = 0; b < NUMA_MAX_NODES; b++)
			if (cfg->distance[a][b] &&
			    (a >= cfg->nr_nodes || b >= cfg->nr_nodes)) {
				snprintf(err, err_size, "--numa: distance=%d:%d"
					 "=%d: node %d does not exist", a, b,
					 cfg->distance[a][b],
					 a >= cfg->nr_nodes ? a : b);
				return -EINVAL;
			}
	return 0;
}

unsigned numa_node_distance(const struct numa_config *cfg, int a, int b)
{
	if (a == b)
		return NUMA_LOCAL_DISTANCE;
	if (cfg->distance[a][b])
		return cfg->distance[a][b];
	/* Given one way only: the same the other way. */
	if (cfg->distance[b][a])
		return cfg->distance[b][a];
	return NUMA_REMOTE_DISTANCE;
}

int numa_vcpu_node(const struct numa_config *cfg, int cpu)
{
	for (int i = 0; i < cfg->nr_nodes; i++)
		if (cfg->nodes[i].cpus >> cpu & 1)
			return i;
	return 0;
}

uint64_t numa_node_offset(const struct numa_config *cfg, int node)
{
	uint64_t off = 0;

	for (int i = 0; i < node && i < cfg->nr_nodes; i++)
		off += cfg->nodes[i].mem;
	return off;
}
