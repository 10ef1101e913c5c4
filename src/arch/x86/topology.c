// SPDX-License-Identifier: MIT
#include "arch/x86/topology.h"

#include <errno.h>
#include <stdio.h>

#include "arch/x86/cpuid.h"

int topology_resolve(struct cpu_topology *t, int nr_cpus, char *err,
		     size_t err_size)
{
	int s = t->sockets ? t->sockets : 1;
	int th = t->threads ? t->threads : 1;
	int c = t->cores;

	if (!c)
		c = nr_cpus % (s * th) ? 0 : nr_cpus / (s * th);
	if (!c || (long)s * c * th != nr_cpus) {
		snprintf(err, err_size,
			 "sockets=%d x cores=%d x threads=%d is not %d vCPUs",
			 s, t->cores ? t->cores : c, th, nr_cpus);
		return -EINVAL;
	}
	*t = (struct cpu_topology){ s, c, th };
	return 0;
}

int topology_threads(const struct cpu_topology *t)
{
	return t->threads ? t->threads : 1;
}

int topology_cores(const struct cpu_topology *t, int nr_cpus)
{
	return t->cores ? t->cores : nr_cpus;
}

unsigned topology_thread_bits(const struct cpu_topology *t)
{
	return cpuid_order(topology_threads(t));
}

unsigned topology_package_shift(const struct cpu_topology *t)
{
	/* Flat: every vCPU in one package, whatever their number. */
	if (!t->cores)
		return cpuid_order(64);
	return cpuid_order(t->cores) + cpuid_order(t->threads);
}

unsigned topology_ids_per_package(const struct cpu_topology *t)
{
	return 1u << topology_package_shift(t);
}

uint32_t topology_apic_id(const struct cpu_topology *t, int cpu)
{
	int thread, core, socket;

	if (!t->cores)
		return cpu;
	thread = cpu % t->threads;
	core = cpu / t->threads % t->cores;
	socket = cpu / (t->threads * t->cores);
	return ((uint32_t)socket << topology_package_shift(t)) |
	       ((uint32_t)core << topology_thread_bits(t)) | thread;
}
