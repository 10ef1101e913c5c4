/* SPDX-License-Identifier: MIT */
/* The passphrases of encrypted --disk images, read before the VM is built. */
#ifndef CVISOR_CLI_RUN_KEYS_H
#define CVISOR_CLI_RUN_KEYS_H

#include <stdbool.h>

struct vm_config;
struct control;

/*
 * key-file=: read now. key-secret=ID: wait for "secret-set" on the control
 * socket (ctl; NULL is an error then). Prints one line on failure.
 */
int run_disk_keys(struct vm_config *cfg, struct control *ctl);
/* Whether a passphrase is held for any disk or backing file. */
bool run_disk_keys_held(const struct vm_config *cfg);
/* Wipes and frees them. */
void run_disk_keys_free(struct vm_config *cfg);

#endif
