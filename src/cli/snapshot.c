// SPDX-License-Identifier: MIT
/* cvisor snapshot NAME DIR [--stop]: save a running VM (vmm/snapshot.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "vmm/control.h"
#include "vmm/json.h"

/* Writing guest memory can take a while on a slow disk. */
#define SNAPSHOT_TIMEOUT_MS	(30 * 60 * 1000)

static const char snapshot_usage[] =
	"usage: cvisor snapshot NAME DIR [--stop]\n"
	"Pause VM NAME, write its configuration, device and vCPU state and\n"
	"memory into the new directory DIR, then let it go on (--stop: end\n"
	"it). 'cvisor run --restore DIR' brings it back.\n";

/* DIR as an absolute path: the VM process has its own working directory. */
static int snapshot_abs(const char *dir, char *out, size_t size)
{
	char cwd[PATH_MAX];

	if (dir[0] == '/')
		return snprintf(out, size, "%s", dir) < (int)size ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, size, "%s/%s", cwd, dir) < (int)size ? 0 : -1;
}

int cmd_snapshot(int argc, char **argv)
{
	const char *name = NULL, *dir = NULL;
	char path[PATH_MAX], req[PATH_MAX + 128], resp[4096], err[256];
	struct json_out o;
	bool stop = false;
	int fd, len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(snapshot_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--stop")) {
			stop = true;
		} else if (argv[i][0] == '-' || (name && dir)) {
			fputs(snapshot_usage, stderr);
			return 2;
		} else if (!name) {
			name = argv[i];
		} else {
			dir = argv[i];
		}
	}
	if (!name || !dir) {
		fputs(snapshot_usage, stderr);
		return 2;
	}
	if (snapshot_abs(dir, path, sizeof(path))) {
		fprintf(stderr, "cvisor snapshot: path too long: %s\n", dir);
		return 2;
	}
	json_out_init(&o, req, sizeof(req));
	json_out_raw(&o, "{\"id\":1,\"cmd\":\"snapshot\",\"path\":");
	json_out_str(&o, path);
	json_out_fmt(&o, ",\"stop\":%s}", stop ? "true" : "false");
	if (!json_out_ok(&o)) {
		fprintf(stderr, "cvisor snapshot: path too long: %s\n", dir);
		return 2;
	}
	fd = control_connect(name, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "cvisor: %s\n", err);
		return 1;
	}
	len = control_call(fd, req, resp, sizeof(resp), SNAPSHOT_TIMEOUT_MS);
	close(fd);
	return ctl_check_answer(name, resp, len, NULL);
}
