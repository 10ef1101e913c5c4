/* SPDX-License-Identifier: MIT */
/* Subcommands over stored VM definitions (src/cli/vmdef.h, docs/config.md). */
#ifndef CVISOR_CLI_DEFINE_H
#define CVISOR_CLI_DEFINE_H

#include "cli/config.h"

int cmd_define(int argc, char **argv);
int cmd_undefine(int argc, char **argv);
int cmd_autostart(int argc, char **argv);
int cmd_dumpconfig(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_start(int argc, char **argv);

/*
 * Read NAME's definition into cfg (strings held by args): 0, 1 if there
 * is none (after a line), 2 if it is broken (after a line).
 */
int define_load(const char *name, struct vm_config *cfg,
		struct config_args *args);

#endif
