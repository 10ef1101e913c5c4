// SPDX-License-Identifier: MIT
/*
 * cvisor start NAME [--console] | --all-autostart: a definition booted as
 * `cvisor run --config FILE --daemonize` would, in a process of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "cli/define.h"
#include "cli/vmdef.h"
#include "vmm/log.h"

static const char start_usage[] =
"usage: cvisor start NAME [--console]\n"
"       cvisor start --all-autostart\n"
"Boots a defined VM in the background; --console attaches to it.\n";

/* An exit status: 0 once the VM booted. */
static int start_one(const char *name)
{
	char path[PATH_MAX];
	int status;
	pid_t pid;

	if (vmdef_path(name, path, sizeof(path)))
		return 2;
	if (access(path, F_OK)) {
		log_error("%s: no such VM defined (cvisor list --all)", name);
		return 1;
	}
	if (vm_running(name)) {
		log_error("%s is running", name);
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execl("/proc/self/exe", "cvisor", "run", "--config", path,
		      "--name", name, "--daemonize", (char *)NULL);
		log_error("cannot run cvisor: %s", strerror(errno));
		_exit(1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (!status)
		printf("started %s\n", name);
	fflush(stdout);
	return status;
}

/* Every autostart VM that is not running; 1 if any failed to start. */
static int start_autostart(void)
{
	int n, ret = 0;
	char **names = vmdef_names(&n);

	for (int i = 0; i < n; i++)
		if (vmdef_autostart(names[i]) && !vm_running(names[i]) &&
		    start_one(names[i]))
			ret = 1;
	vmdef_names_free(names, n);
	return ret;
}

int cmd_start(int argc, char **argv)
{
	bool console = false, all = false;
	const char *name = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			fputs(start_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--console")) {
			console = true;
		} else if (!strcmp(argv[i], "--all-autostart")) {
			all = true;
		} else if (!name && argv[i][0] != '-') {
			name = argv[i];
		} else {
			fputs(start_usage, stderr);
			return 2;
		}
	}
	if (all == !!name || (all && console)) {
		fputs(start_usage, stderr);
		return 2;
	}
	if (all)
		return start_autostart();
	if (!vmdef_name_ok(name))
		return 2;
	ret = start_one(name);
	if (!ret && console) {
		char *cargv[] = { "console", (char *)name, NULL };

		ret = cmd_console(2, cargv);
	}
	return ret;
}
