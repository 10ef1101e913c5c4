// SPDX-License-Identifier: MIT
/* cvisor screendump NAME FILE.png: the guest's screen (ui/screendump.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "vmm/json.h"

static const char screendump_usage[] =
	"usage: cvisor screendump NAME FILE.png\n"
	"Write what VM NAME's display shows (run --vnc) to FILE as a PNG.\n";

int cmd_screendump(int argc, char **argv)
{
	char path[PATH_MAX], cwd[PATH_MAX], req[PATH_MAX + 128], resp[1024];
	struct json_out o;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(screendump_usage, stdout);
		return 0;
	}
	if (argc != 3 || argv[1][0] == '-' || !argv[2][0]) {
		fputs(screendump_usage, stderr);
		return 2;
	}
	/* The VM process has its own working directory. */
	if (argv[2][0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		perror("cvisor screendump: getcwd");
		return 1;
	}
	if (snprintf(path, sizeof(path), "%s%s%s",
		     argv[2][0] == '/' ? "" : cwd,
		     argv[2][0] == '/' ? "" : "/", argv[2]) >= (int)sizeof(path)) {
		fprintf(stderr, "cvisor screendump: path too long: %s\n", argv[2]);
		return 2;
	}
	json_out_init(&o, req, sizeof(req));
	json_out_raw(&o, "{\"id\":1,\"cmd\":\"screendump\",\"path\":");
	json_out_str(&o, path);
	json_out_raw(&o, "}");
	if (!json_out_ok(&o)) {
		fprintf(stderr, "cvisor screendump: path too long: %s\n", argv[2]);
		return 2;
	}
	return ctl_request(argv[1], req, resp, sizeof(resp), NULL);
}
