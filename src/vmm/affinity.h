/* SPDX-License-Identifier: MIT */
/*
 * vCPU thread affinity from `--cpus N,affinity=SPEC`:
 *   SPEC = LIST            every vCPU may run on the host CPUs in LIST
 *   SPEC = V:LIST,V:LIST   vCPU V runs on LIST; unnamed vCPUs float
 * LIST is comma-separated CPUs or ranges ("0-3,6"); in the second form a
 * bare item after V:LIST continues V's list ("0:0,2,1:1").
 */
#ifndef CVISOR_VMM_AFFINITY_H
#define CVISOR_VMM_AFFINITY_H

#include <sched.h>
#include <stddef.h>

struct vcpu;

/*
 * Parse spec for nr_vcpus vCPUs into sets[nr_vcpus] (an empty set means
 * unpinned). Returns 0 or -EINVAL with a message in err.
 */
int affinity_parse(const char *spec, int nr_vcpus, cpu_set_t *sets,
		   char *err, size_t err_size);
/* Pin a started vCPU thread as its VM's configuration says. */
int affinity_apply(struct vcpu *vcpu);
/* "0-1,3" for set into buf. */
void affinity_format(const cpu_set_t *set, char *buf, size_t size);

#endif
