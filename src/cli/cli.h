/* SPDX-License-Identifier: MIT */
/* Subcommands of the cvisor binary: each returns the process exit status. */
#ifndef CVISOR_CLI_CLI_H
#define CVISOR_CLI_CLI_H

int cmd_run(int argc, char **argv);
int cmd_img(int argc, char **argv);

/* Parse "512M", "2G", "4096" (bytes) into *out; -EINVAL if malformed. */
int parse_size(const char *s, unsigned long long *out);

#endif
