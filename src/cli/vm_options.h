/* SPDX-License-Identifier: MIT */
/*
 * The one configuration model: every option of a VM, once. Each is a
 * `cvisor run` flag (--NAME) and a definition key (NAME): both go through
 * the same parser into struct vm_config, and a definition is written back
 * out of vm_config by the same entry, so flags and files cannot drift.
 * Options of one run only (--daemonize, --restore, --config, ...) are not
 * here: they live in src/cli/run.c.
 */
#ifndef CVISOR_CLI_VM_OPTIONS_H
#define CVISOR_CLI_VM_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "vmm/vm.h"

struct vm_option {
	const char *name;	/* the flag without "--", and the JSON key */
	int has_arg;		/* getopt's no_argument, required_argument, ... */
	bool repeat;		/* may be given again: a JSON array */
	/* In a definition's object form, the key of the leading value
	 * ("size" in {"size": "1G", "merge": true} for "1G,merge=on"). */
	const char *lead_key;
	bool kv;		/* the value is KEY=VALUE pairs: a JSON object */
	/* arg is NULL for a flag without a value; it may be cut up in place
	 * and cfg keeps pointers into it. 0, or -EINVAL after one line. */
	int (*parse)(char *arg, struct vm_config *cfg);
	/* The option's value in cfg as JSON, or NULL when not set. */
	json_t *(*dump)(const struct vm_config *cfg);
};

extern const struct vm_option vm_options[];
extern const int vm_nr_options;

const struct vm_option *vm_option_find(const char *name);

/*
 * getopt_long's table into out (n entries): every VM option, with val
 * VM_OPT_BASE + its index, "append" as "cmdline", then the entries of
 * extra up to its { 0 } end, and the end.
 */
#define VM_OPT_BASE	1000
struct option;
void vm_options_getopt(struct option *out, int n, const struct option *extra);

/*
 * Parse VM flags only (argv[0] is skipped), as `cvisor define NAME --`
 * takes them: 0, or -EINVAL after one line.
 */
int vm_options_parse(int argc, char **argv, struct vm_config *cfg);

/* A vm_config with the defaults of `cvisor run`. */
void vm_config_defaults(struct vm_config *cfg);

#endif
