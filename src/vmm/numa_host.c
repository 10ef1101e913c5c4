// SPDX-License-Identifier: MIT
#include "vmm/numa_host.h"

#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t numa_host_nodes(void)
{
	uint64_t mask = 0;

	/* A kernel without NUMA: all memory is node 0's. */
	if (numa_available() < 0)
		return 1;
	for (int i = 0; i < NUMA_MAX_HOST_NODES; i++)
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, i))
			mask |= 1ULL << i;
	return mask;
}

int numa_host_bind(void *p, uint64_t len, const struct numa_node *n)
{
	static const int mode[] = {
		[NUMA_POLICY_BIND] = MPOL_BIND,
		[NUMA_POLICY_PREFERRED] = MPOL_PREFERRED,
		[NUMA_POLICY_INTERLEAVE] = MPOL_INTERLEAVE,
	};
	unsigned long mask = n->host_nodes;

	if (n->policy == NUMA_POLICY_NONE || !len)
		return 0;
	/* maxnode counts one past the highest bit the kernel reads. */
	if (mbind(p, len, mode[n->policy], &mask, NUMA_MAX_HOST_NODES + 1, 0))
		return -errno;
	return 0;
}

int numa_host_cpus(uint64_t mask, cpu_set_t *set)
{
	struct bitmask *cpus;

	CPU_ZERO(set);
	if (numa_available() < 0)
		return -ENOSYS;
	cpus = numa_allocate_cpumask();
	if (!cpus)
		return -ENOMEM;
	for (int node = 0; node < NUMA_MAX_HOST_NODES; node++) {
		if (!(mask >> node & 1))
			continue;
		if (numa_node_to_cpus(node, cpus)) {
			numa_bitmask_free(cpus);
			return -EINVAL;
		}
		for (unsigned c = 0; c < cpus->size && c < CPU_SETSIZE; c++)
			if (numa_bitmask_isbitset(cpus, c))
				CPU_SET(c, set);
	}
	numa_bitmask_free(cpus);
	return 0;
}

/* Digits at *p as an unsigned number; advances *p. false if none. */
static bool read_num(const char **p, const char *end, int base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	while (s < end) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*out = v;
	return true;
}

/*
 * One numa_maps line: "START POLICY key=value ... N0=pages N1=pages ...
 * kernelpagesize_kB=4" (proc(5)). Adds its pages to bytes when START is
 * in [start, end).
 */
static void resident_line(const char *s, const char *end, uintptr_t start,
			  uintptr_t stop, uint64_t *bytes)
{
	uint64_t addr, pages[NUMA_MAX_HOST_NODES] = { 0 }, page_kb = 4;

	if (!read_num(&s, end, 16, &addr) || addr < start || addr >= stop)
		return;
	while (s < end) {
		uint64_t node, v;

		while (s < end && *s == ' ')
			s++;
		if (s < end && *s == 'N') {
			s++;
			if (read_num(&s, end, 10, &node) && s < end &&
			    *s == '=' && (s++, read_num(&s, end, 10, &v)) &&
			    node < NUMA_MAX_HOST_NODES)
				pages[node] = v;
		} else if (end - s > 18 &&
			   !memcmp(s, "kernelpagesize_kB=", 18)) {
			s += 18;
			if (!read_num(&s, end, 10, &page_kb) ||
			    page_kb > (1u << 30))
				page_kb = 4;
		}
		while (s < end && *s != ' ')
			s++;
	}
	for (int i = 0; i < NUMA_MAX_HOST_NODES; i++)
		if (pages[i] <= UINT64_MAX / 1024 / page_kb)
			bytes[i] += pages[i] * page_kb * 1024;
}

int numa_host_resident(const char *text, size_t len, uintptr_t start,
		       uintptr_t end, uint64_t *bytes)
{
	const char *s = text, *stop = text + len;

	memset(bytes, 0, NUMA_MAX_HOST_NODES * sizeof(*bytes));
	while (s < stop) {
		const char *nl = memchr(s, '\n', stop - s);
		const char *eol = nl ? nl : stop;

		resident_line(s, eol, start, end, bytes);
		s = eol + 1;
	}
	return 0;
}

int numa_host_resident_self(uintptr_t start, uintptr_t end, uint64_t *bytes)
{
	size_t cap = 64 << 10, len = 0;
	char *buf = malloc(cap);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open("/proc/self/numa_maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		len += n;
	}
	close(fd);
	if (!ret)
		ret = numa_host_resident(buf, len, start, end, bytes);
out:
	free(buf);
	return ret;
}
