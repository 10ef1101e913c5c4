/* SPDX-License-Identifier: MIT */
/*
 * VM definitions as JSON (docs/config.md): read into a vm_config through
 * the parsers of the flags (src/cli/vm_options.h), written out of one.
 */
#ifndef CVISOR_CLI_CONFIG_H
#define CVISOR_CLI_CONFIG_H

#include <jansson.h>

#include "vmm/vm.h"

#define CONFIG_VERSION		1
#define CONFIG_MAX_BYTES	(1 << 20)

/*
 * What a definition says, as the flags that would say it ("--memory",
 * "1G,merge=on", ...), and the strings a vm_config read from it points
 * into. Both owned; config_args_free releases them.
 */
struct config_args {
	char **argv;
	int argc;
	char **keep;
	int nr_keep;
};

void config_args_free(struct config_args *a);

/*
 * Apply the definition root, read from file (named in messages), to cfg.
 * Bad input is one line naming the file, the key and the value; then
 * -EINVAL. args gets the flags and holds the strings cfg points into.
 */
int config_apply(json_t *root, const char *file, struct vm_config *cfg,
		 struct config_args *args);
/* Parse the text of a definition: NULL after one line naming file. */
json_t *config_parse(const char *text, size_t len, const char *file);
/* Read, parse and apply the definition in the file path. */
int config_load(const char *path, struct vm_config *cfg,
		struct config_args *args);

/*
 * What a stored definition needs beyond a run's flags: a name and a
 * kernel, and files that exist, which become absolute paths (kept in
 * args) so the definition means the same from any directory. src names
 * the input in messages. 0, or -EINVAL after one line.
 */
int config_check_files(struct vm_config *cfg, const char *src,
		       struct config_args *args);

/* cfg as a definition, with "version"; NULL when out of memory. */
json_t *config_to_json(const struct vm_config *cfg);
/* ... as text: indented, ending in a newline; free() it. */
char *config_to_text(const struct vm_config *cfg);

#endif
