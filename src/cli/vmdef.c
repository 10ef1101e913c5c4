// SPDX-License-Identifier: MIT
#include "cli/vmdef.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/log.h"

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

int vmdef_dir(char *buf, size_t size, bool create)
{
	const char *env = getenv("CVISOR_CONFIG_DIR");
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/etc/cvisor/vms");
	else if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/cvisor/vms", xdg);
	else if (home && *home)
		n = snprintf(buf, size, "%s/.config/cvisor/vms", home);
	else {
		log_error("no directory for definitions: set HOME or CVISOR_CONFIG_DIR");
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		log_error("the directory of definitions is too long a path");
		return -1;
	}
	if (create && mkdirs(buf)) {
		log_error("cannot create %s: %s", buf, strerror(errno));
		return -1;
	}
	return 0;
}

bool vmdef_name_ok(const char *name)
{
	if (control_name_valid(name))
		return true;
	log_error("'%s' is not a VM name (letters, digits, '-', '_', '.', at most %d)",
		  name, CONTROL_NAME_MAX);
	return false;
}

static int vmdef_file(const char *name, const char *fmt, char *buf,
		      size_t size, bool create)
{
	char dir[PATH_MAX - 128];

	if (!vmdef_name_ok(name))
		return -1;
	if (vmdef_dir(dir, sizeof(dir), create))
		return -1;
	snprintf(buf, size, fmt, dir, name);
	return 0;
}

int vmdef_path(const char *name, char *buf, size_t size)
{
	return vmdef_file(name, "%s/%s.json", buf, size, false);
}

bool vmdef_exists(const char *name)
{
	char path[PATH_MAX];

	return control_name_valid(name) &&
	       !vmdef_path(name, path, sizeof(path)) && !access(path, F_OK);
}

bool vmdef_autostart(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return control_name_valid(name) &&
	       !vmdef_file(name, "%s/autostart/%s.json", path, sizeof(path),
			   false) &&
	       !stat(path, &st);
}

int vmdef_set_autostart(const char *name, bool on)
{
	char dir[PATH_MAX - 128], path[PATH_MAX], target[PATH_MAX];

	if (vmdef_file(name, "%s/autostart/%s.json", path, sizeof(path), true) ||
	    vmdef_file(name, "%s/autostart", dir, sizeof(dir), false))
		return -1;
	if (!on) {
		if (unlink(path) && errno != ENOENT) {
			log_error("%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(target, sizeof(target), "../%s.json", name);
	if (symlink(target, path) && errno != EEXIST) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int vmdef_lock(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (vmdef_file(name, "%s/.%s.lock", path, sizeof(path), true))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		log_error("cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= n;
	}
	return 0;
}

int vmdef_write(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
	int fd, dfd;

	if (vmdef_file(name, "%s/%s.json", path, sizeof(path), true) ||
	    vmdef_dir(dir, sizeof(dir), false))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.XXXXXX", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) || write_all(fd, text, strlen(text)) ||
	    fsync(fd)) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		log_error("cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path)) {
		log_error("cannot replace %s: %s", path, strerror(errno));
		goto fail;
	}
	/* The rename itself must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int vmdef_remove(const char *name)
{
	char path[PATH_MAX];

	if (vmdef_set_autostart(name, false) ||
	    vmdef_path(name, path, sizeof(path)))
		return -1;
	if (unlink(path)) {
		log_error("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **vmdef_names(int *n)
{
	char dir[PATH_MAX], **names = NULL;
	struct dirent *de;
	DIR *d;

	*n = 0;
	if (vmdef_dir(dir, sizeof(dir), false))
		return NULL;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **nn, *name;

		if (len < 6 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 5, ".json"))
			continue;
		name = strndup(de->d_name, len - 5);
		if (!name || !control_name_valid(name)) {
			free(name);
			continue;
		}
		nn = realloc(names, (*n + 1) * sizeof(char *));
		if (!nn) {
			free(name);
			break;
		}
		names = nn;
		names[(*n)++] = name;
	}
	if (d)
		closedir(d);
	if (names)
		qsort(names, *n, sizeof(char *), cmp_names);
	return names;
}

void vmdef_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

bool vm_running(const char *name)
{
	char err[256];
	int fd = control_connect(name, err, sizeof(err));

	if (fd == -ECONNREFUSED)
		control_remove_stale(name);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}
