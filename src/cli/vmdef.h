/* SPDX-License-Identifier: MIT */
/*
 * The stored definitions: one JSON file per VM (NAME.json) in
 * /etc/cvisor/vms for root, $XDG_CONFIG_HOME/cvisor/vms otherwise
 * ($CVISOR_CONFIG_DIR overrides both), and autostart/NAME.json links to
 * the VMs that start at boot.
 */
#ifndef CVISOR_CLI_VMDEF_H
#define CVISOR_CLI_VMDEF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Is name a VM name? If not, says so in one line. */
bool vmdef_name_ok(const char *name);
/* The directory of definitions; create makes it. 0, or -1 after a line. */
int vmdef_dir(char *buf, size_t size, bool create);
/* dir/NAME.json; -1 after a line for a bad name. */
int vmdef_path(const char *name, char *buf, size_t size);
bool vmdef_exists(const char *name);
bool vmdef_autostart(const char *name);
int vmdef_set_autostart(const char *name, bool on);

/*
 * Hold the definition NAME against concurrent define/edit/undefine:
 * an fd to close when done, or -1 after a line.
 */
int vmdef_lock(const char *name);
/*
 * Replace NAME's definition with text, atomically: a temporary file in
 * the same directory, fsync, rename, fsync of the directory. A crash
 * leaves the old definition or the new one. 0, or -1 after a line.
 */
int vmdef_write(const char *name, const char *text);
int vmdef_remove(const char *name);

/* The names of every definition, sorted; *n of them. Free with vmdef_names_free. */
char **vmdef_names(int *n);
void vmdef_names_free(char **names, int n);

/* Is a VM of this name running (its control socket answers)? */
bool vm_running(const char *name);

#endif
