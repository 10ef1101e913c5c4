// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ctl.h"
#include "cli/define.h"

#define CVISOR_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "boot a VM" },
	{ "img", cmd_img, "create, inspect and convert disk images (qemu-img compatible)" },
	{ "list", cmd_list, "list running VMs (--all: and defined ones)" },
	{ "define", cmd_define, "store a VM definition (JSON file or run flags)" },
	{ "start", cmd_start, "boot a defined VM in the background" },
	{ "autostart", cmd_autostart, "start a defined VM at host boot (or --disable)" },
	{ "dumpconfig", cmd_dumpconfig, "print a VM's definition as JSON" },
	{ "edit", cmd_edit, "edit a VM's definition with $EDITOR" },
	{ "undefine", cmd_undefine, "remove a VM's definition" },
	{ "info", cmd_info, "show a running VM's devices, memory and vCPU threads" },
	{ "pause", cmd_pause, "pause a running VM's vCPUs" },
	{ "resume", cmd_resume, "resume a paused VM" },
	{ "stop", cmd_stop, "power a VM off (ACPI button, then force)" },
	{ "secret-set", cmd_secret_set,
	  "give a waiting VM a disk passphrase from a file (key-secret=ID)" },
	{ "balloon", cmd_balloon, "set a VM's memory target through virtio-balloon" },
	{ "console", cmd_console, "attach to the console of a --daemonize VM" },
	{ "snapshot", cmd_snapshot, "save a running VM to a directory (run --restore)" },
	{ "migrate", cmd_migrate, "move a running VM to another host (run --incoming)" },
	{ "screendump", cmd_screendump, "write a VM's screen (run --vnc) to a PNG file" },
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
