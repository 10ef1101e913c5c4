// SPDX-License-Identifier: MIT
#include "vmm/affinity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"
#include "vmm/numa_host.h"
#include "vmm/vm.h"

static int parse_num(const char **p, long max, long *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	*out = strtol(*p, &end, 10);
	if (errno || *out > max)
		return -EINVAL;
	*p = end;
	return 0;
}

/* One "A" or "A-B" item at *p into set. */
static int parse_range(const char **p, cpu_set_t *set)
{
	long lo, hi;

	if (parse_num(p, CPU_SETSIZE - 1, &lo))
		return -EINVAL;
	hi = lo;
	if (**p == '-') {
		(*p)++;
		if (parse_num(p, CPU_SETSIZE - 1, &hi) || hi < lo)
			return -EINVAL;
	}
	for (long c = lo; c <= hi; c++)
		CPU_SET(c, set);
	return 0;
}

int affinity_parse(const char *spec, int nr_vcpus, cpu_set_t *sets,
		   char *err, size_t err_size)
{
	bool per_vcpu = strchr(spec, ':') != NULL;
	const char *p = spec;
	long v = -1;

	for (int i = 0; i < nr_vcpus; i++)
		CPU_ZERO(&sets[i]);
	if (!*p)
		goto bad;
	while (*p) {
		const char *item = p;

		if (per_vcpu && strchr(p, ':') &&
		    (!strchr(p, ',') || strchr(p, ':') < strchr(p, ','))) {
			if (parse_num(&p, INT32_MAX, &v) || *p != ':')
				goto bad;
			if (v >= nr_vcpus) {
				snprintf(err, err_size,
					 "affinity: vCPU %ld does not exist (--cpus %d)",
					 v, nr_vcpus);
				return -EINVAL;
			}
			p++;
		}
		if (per_vcpu && v < 0)
			goto bad;
		if (parse_range(&p, &sets[per_vcpu ? v : 0]) ||
		    (*p && *p != ','))
			goto bad_item;
		if (*p == ',' && !*++p)
			goto bad;
		continue;
bad_item:
		snprintf(err, err_size, "affinity: invalid item '%.*s'",
			 (int)strcspn(item, ","), item);
		return -EINVAL;
	}
	if (!per_vcpu)
		for (int i = 1; i < nr_vcpus; i++)
			sets[i] = sets[0];
	return 0;
bad:
	snprintf(err, err_size,
		 "affinity: invalid '%s' (use e.g. 0-1 or 0:0,1:1)", spec);
	return -EINVAL;
}

/*
 * With no affinity= for it, a vCPU of a guest node bound to host nodes
 * runs on those nodes' CPUs. 0 (set filled or left empty) or -errno.
 */
static int affinity_of_node(const struct vm_config *cfg, int cpu,
			    cpu_set_t *set)
{
	const struct numa_node *n;

	CPU_ZERO(set);
	if (!cfg->numa.nr_nodes)
		return 0;
	n = &cfg->numa.nodes[numa_vcpu_node(&cfg->numa, cpu)];
	if (!n->host_nodes)
		return 0;
	return numa_host_cpus(n->host_nodes, set);
}

int affinity_apply(struct vcpu *vcpu)
{
	const struct vm_config *cfg = vcpu->vm->cfg;
	cpu_set_t sets[MAX_VCPUS], *set = &sets[vcpu->id];
	char err[128], list[128];
	int ret;

	if (cfg->affinity) {
		ret = affinity_parse(cfg->affinity, cfg->nr_cpus, sets, err,
				     sizeof(err));
		if (ret) {
			log_error("%s", err);
			return ret;
		}
	} else {
		CPU_ZERO(set);
	}
	if (!CPU_COUNT(set)) {
		ret = affinity_of_node(cfg, vcpu->id, set);
		if (ret) {
			log_error("cannot find the host CPUs of vCPU %d's host "
				  "node: %s", vcpu->id, strerror(-ret));
			return ret;
		}
	}
	if (!CPU_COUNT(set))
		return 0;
	ret = pthread_setaffinity_np(vcpu->thread, sizeof(cpu_set_t), set);
	if (ret) {
		affinity_format(set, list, sizeof(list));
		log_error("cannot pin vCPU %d to host CPUs %s: %s", vcpu->id,
			  list, strerror(ret));
		return -ret;
	}
	return 0;
}

void affinity_format(const cpu_set_t *set, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (int c = 0; c < CPU_SETSIZE && n < size; c++) {
		int e = c;
		int k;

		if (!CPU_ISSET(c, set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		if (e == c)
			k = snprintf(buf + n, size - n, "%s%d", n ? "," : "", c);
		else
			k = snprintf(buf + n, size - n, "%s%d-%d", n ? "," : "",
				     c, e);
		if (k < 0 || (size_t)k >= size - n)
			break;
		n += k;
		c = e;
	}
}
