// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define CVISOR_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "boot a VM" },
	{ "img", cmd_img, "create, inspect and convert disk images (qemu-img compatible)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cvisor COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name,
			subcommands[i].help);
	fprintf(f, "\n'cvisor COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("cvisor %s\n", CVISOR_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "cvisor: unknown command '%s' (try 'cvisor --help')\n",
		argv[1]);
	return 2;
}
