/* SPDX-License-Identifier: MIT */
/* Parsers for the compound options of cvisor run ("512M,merge=on", ...). */
#ifndef CVISOR_CLI_RUN_OPTS_H
#define CVISOR_CLI_RUN_OPTS_H

#include "vmm/vm.h"

#define RUN_MIN_MEMORY	(16ULL << 20)

/* Each returns 0, or -EINVAL after printing one line naming the value. */
int run_parse_memory(char *arg, struct vm_config *cfg);
int run_parse_cpus(char *arg, struct vm_config *cfg);
int run_parse_numa(char *arg, struct vm_config *cfg);
int run_parse_disk(char *arg, struct vm_config *cfg);
int run_parse_net(const char *arg, struct vm_config *cfg);
int run_parse_virtio_console(const char *arg, struct vm_config *cfg);
/*
 * What one option cannot check alone (--numa against --cpus and
 * --memory), once all are parsed: 0, or -EINVAL after one line.
 */
int run_check_config(const struct vm_config *cfg);
/* Open the --virtio-console backend of a parsed cfg, if any. */
int run_open_virtio_console(struct vm_config *cfg);
/* --vnc: checked now; its server listens from run_open_vnc on. */
int run_parse_vnc(const char *arg, struct vm_config *cfg);
int run_open_vnc(struct vm_config *cfg);

#endif
