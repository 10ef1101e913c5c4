// SPDX-License-Identifier: MIT
#include "cli/numa_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "cli/cli.h"

static int parse_uint(const char *s, long max, long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || *out > max ? -EINVAL : 0;
}

/* "A" or "A-B" into *mask; every number below max. */
static int parse_list_item(const char *s, int max, uint64_t *mask)
{
	char buf[32], *dash;
	long lo, hi;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (parse_uint(buf, max - 1, &lo))
		return -EINVAL;
	hi = lo;
	if (dash && (parse_uint(dash + 1, max - 1, &hi) || hi < lo))
		return -EINVAL;
	for (long i = lo; i <= hi; i++)
		*mask |= 1ULL << i;
	return 0;
}

static int parse_policy(const char *v, enum numa_policy *p)
{
	static const enum numa_policy all[] = {
		NUMA_POLICY_BIND, NUMA_POLICY_PREFERRED, NUMA_POLICY_INTERLEAVE,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(v, numa_policy_name(all[i]))) {
			*p = all[i];
			return 0;
		}
	return -EINVAL;
}

/* "A:B=V" */
static int parse_distance(const char *v, struct numa_config *cfg, char *err,
			  size_t err_size)
{
	char buf[32], *colon, *eq;
	long a, b, d;

	if (strlen(v) >= sizeof(buf))
		goto bad;
	strcpy(buf, v);
	colon = strchr(buf, ':');
	eq = strchr(buf, '=');
	if (!colon || !eq || eq < colon)
		goto bad;
	*colon = *eq = 0;
	if (parse_uint(buf, NUMA_MAX_NODES - 1, &a) ||
	    parse_uint(colon + 1, NUMA_MAX_NODES - 1, &b) ||
	    parse_uint(eq + 1, 255, &d))
		goto bad;
	if (a == b) {
		snprintf(err, err_size, "--numa: distance=%s: a node's distance "
			 "to itself is %d", v, NUMA_LOCAL_DISTANCE);
		return -EINVAL;
	}
	/* SLIT: 10 is local, 0-9 reserved, 255 unreachable. */
	if (d <= NUMA_LOCAL_DISTANCE || d > 254) {
		snprintf(err, err_size, "--numa: distance=%s: %ld is not from "
			 "11 to 254", v, d);
		return -EINVAL;
	}
	cfg->distance[a][b] = d;
	return 0;
bad:
	snprintf(err, err_size, "--numa: distance=%s: expected A:B=DISTANCE "
		 "(e.g. 0:1=20; nodes 0-%d)", v, NUMA_MAX_NODES - 1);
	return -EINVAL;
}

int numa_opts_parse(char *arg, struct numa_config *cfg, char *err,
		    size_t err_size)
{
	struct numa_node n = { .defined = true };
	bool have_mem = false, have_policy = false;
	const char *list = NULL;	/* the key a bare item continues */
	char *s = arg, *tok;
	long id = -1;

	if (!strncmp(arg, "distance=", 9)) {
		if (strchr(arg, ','))
			goto unknown_after_distance;
		return parse_distance(arg + 9, cfg, err, err_size);
	}
	while ((tok = strsep(&s, ","))) {
		char *v = strchr(tok, '=');
		int ret = 0;

		if (!v && list) {
			ret = parse_list_item(tok, !strcmp(list, "cpus") ?
					      MAX_VCPUS : NUMA_MAX_HOST_NODES,
					      !strcmp(list, "cpus") ? &n.cpus :
					      &n.host_nodes);
			if (ret) {
				snprintf(err, err_size, "--numa: %s=...,%s: "
					 "invalid list item", list, tok);
				return -EINVAL;
			}
			continue;
		}
		if (!v || !v[1]) {
			snprintf(err, err_size, "--numa: '%s' needs a value "
				 "(key=value)", tok);
			return -EINVAL;
		}
		*v++ = 0;
		list = NULL;
		if (!strcmp(tok, "node")) {
			ret = parse_uint(v, NUMA_MAX_NODES - 1, &id);
			if (ret) {
				snprintf(err, err_size, "--numa: node=%s: not a "
					 "node from 0 to %d", v,
					 NUMA_MAX_NODES - 1);
				return -EINVAL;
			}
		} else if (!strcmp(tok, "cpus")) {
			list = "cpus";
			ret = parse_list_item(v, MAX_VCPUS, &n.cpus);
		} else if (!strcmp(tok, "host-node")) {
			list = "host-node";
			ret = parse_list_item(v, NUMA_MAX_HOST_NODES,
					      &n.host_nodes);
		} else if (!strcmp(tok, "mem")) {
			unsigned long long bytes;

			if (parse_size(v, &bytes) || !bytes ||
			    bytes % NUMA_MEM_ALIGN) {
				snprintf(err, err_size, "--numa: mem=%s: not a "
					 "size in whole 2M pages (e.g. 512M)",
					 v);
				return -EINVAL;
			}
			n.mem = bytes;
			have_mem = true;
		} else if (!strcmp(tok, "policy")) {
			have_policy = true;
			if (parse_policy(v, &n.policy)) {
				snprintf(err, err_size, "--numa: policy=%s: "
					 "expected bind, preferred or "
					 "interleave", v);
				return -EINVAL;
			}
		} else {
			snprintf(err, err_size, "--numa: unknown option '%s'",
				 tok);
			return -EINVAL;
		}
		if (ret) {
			snprintf(err, err_size, "--numa: %s=%s: invalid list "
				 "(use e.g. 0-1,4)", tok, v);
			return -EINVAL;
		}
	}
	if (id < 0 || !have_mem) {
		snprintf(err, err_size, "--numa: node=N and mem=SIZE are "
			 "required (or distance=A:B=V)");
		return -EINVAL;
	}
	if (cfg->nodes[id].defined) {
		snprintf(err, err_size, "--numa: node %ld is given twice", id);
		return -EINVAL;
	}
	if (have_policy && !n.host_nodes) {
		snprintf(err, err_size, "--numa: node %ld: policy=%s needs "
			 "host-node=", id, numa_policy_name(n.policy));
		return -EINVAL;
	}
	if (n.host_nodes && !have_policy)
		n.policy = NUMA_POLICY_BIND;
	if (n.policy == NUMA_POLICY_PREFERRED &&
	    (n.host_nodes & (n.host_nodes - 1))) {
		snprintf(err, err_size, "--numa: node %ld: policy=preferred "
			 "takes one host node", id);
		return -EINVAL;
	}
	cfg->nodes[id] = n;
	if (id + 1 > cfg->nr_nodes)
		cfg->nr_nodes = id + 1;
	return 0;
unknown_after_distance:
	snprintf(err, err_size, "--numa: %s: one distance=A:B=V per --numa",
		 arg);
	return -EINVAL;
}
