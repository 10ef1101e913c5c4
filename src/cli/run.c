// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "cli/cli.h"

int cmd_run(int argc, char **argv)
{
	fprintf(stderr, "cvisor: run: under construction\n");
	return 1;
}
