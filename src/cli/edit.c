// SPDX-License-Identifier: MIT
/*
 * cvisor edit NAME: $VISUAL or $EDITOR on a copy of the definition; the
 * copy replaces it only once it reads as a valid one. The definition is
 * locked for the whole session, so a concurrent define or edit waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/define.h"
#include "cli/vm_options.h"
#include "cli/vmdef.h"
#include "vmm/log.h"

/* The whole of a small file, NUL-terminated; NULL after a line. */
static char *edit_read(const char *path)
{
	char *buf = malloc(CONFIG_MAX_BYTES + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r = 0;

	while (buf && fd >= 0 && n < CONFIG_MAX_BYTES &&
	       (r = read(fd, buf + n, CONFIG_MAX_BYTES - n)) > 0)
		n += r;
	if (!buf || fd < 0 || r < 0) {
		log_error("%s: %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else {
		buf[n] = 0;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* A private copy of text to edit, its path in tmp; 0 or -1. */
static int edit_copy(const char *name, const char *text, char *tmp,
		     size_t size)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, size, "%s/cvisor-%s-XXXXXX.json",
		 dir && *dir ? dir : "/tmp", name);
	fd = mkstemps(tmp, 5);
	if (fd < 0) {
		log_error("cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return 0;
}

static int edit_run_editor(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exec ${VISUAL:-${EDITOR:-vi}} \"$1\"",
		      "sh", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		log_error("the editor failed (status %d)",
			  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* Read the edited copy as NAME's definition; its text, or NULL. */
static char *edit_check(const char *name, const char *tmp)
{
	struct config_args args = { 0 };
	struct vm_config cfg;
	char *text = NULL;

	vm_config_defaults(&cfg);
	if (config_load(tmp, &cfg, &args))
		goto out;
	if (cfg.name && strcmp(cfg.name, name)) {
		log_error("%s: name: '%s': edit cannot rename %s", tmp, cfg.name,
			  name);
		goto out;
	}
	cfg.name = name;
	if (!config_check_files(&cfg, tmp, &args))
		text = config_to_text(&cfg);
out:
	config_args_free(&args);
	return text;
}

int cmd_edit(int argc, char **argv)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	char *old = NULL, *new = NULL;
	const char *name = argv[1];
	int lock, ret = 1;

	if (argc == 2 && !strcmp(name, "--help")) {
		printf("usage: cvisor edit NAME\n");
		return 0;
	}
	if (argc != 2 || name[0] == '-') {
		fprintf(stderr, "usage: cvisor edit NAME\n");
		return 2;
	}
	if (!vmdef_name_ok(name) || vmdef_path(name, path, sizeof(path)))
		return 2;
	lock = vmdef_lock(name);
	if (lock < 0)
		return 1;
	if (access(path, F_OK)) {
		log_error("%s: no such VM defined (cvisor list --all)", name);
		goto out;
	}
	old = edit_read(path);
	if (!old || edit_copy(name, old, tmp, sizeof(tmp)))
		goto out;
	if (edit_run_editor(tmp)) {
		log_error("%s unchanged", name);
		unlink(tmp);
		goto out;
	}
	new = edit_check(name, tmp);
	if (!new) {
		log_error("%s unchanged; the edited copy is %s", name, tmp);
		ret = 2;
		goto out;
	}
	unlink(tmp);
	if (!strcmp(old, new)) {
		printf("%s unchanged\n", name);
		ret = 0;
	} else if (!vmdef_write(name, new)) {
		printf("edited %s\n", name);
		ret = 0;
	}
out:
	free(old);
	free(new);
	close(lock);
	return ret;
}
