/* SPDX-License-Identifier: MIT */
/* --numa's value into struct numa_config (src/vmm/numa.h). */
#ifndef CVISOR_CLI_NUMA_OPTS_H
#define CVISOR_CLI_NUMA_OPTS_H

#include <stddef.h>

#include "vmm/numa.h"

/*
 * One --numa value into cfg: "node=N,cpus=LIST,mem=SIZE[,host-node=LIST]
 * [,policy=bind|preferred|interleave]" or "distance=A:B=V". A bare item
 * after cpus= or host-node= continues that list ("cpus=0-1,4"). Cut up
 * in place. 0, or -EINVAL with a line in err naming the value.
 */
int numa_opts_parse(char *arg, struct numa_config *cfg, char *err,
		    size_t err_size);

#endif
