// SPDX-License-Identifier: MIT
/* Where control sockets live, and the client side of the protocol. */
#include "vmm/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int control_runtime_dir(char *buf, size_t size, bool create)
{
	const char *env = getenv("CVISOR_RUNTIME_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/cvisor");
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/cvisor", xdg);
	else
		n = snprintf(buf, size, "/tmp/cvisor-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (!create)
		return 0;
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(buf, &st))
		return -errno;
	/* Someone else's directory could hand our clients a fake VM. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 0777) != 0700 && chmod(buf, 0700))
		return -errno;
	return 0;
}

bool control_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONTROL_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int control_socket_path(const char *name, char *buf, size_t size)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int ret, n;

	if (!control_name_valid(name))
		return -EINVAL;
	ret = control_runtime_dir(dir, sizeof(dir), false);
	if (ret)
		return ret;
	n = snprintf(buf, size, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= size ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int control_dir_lock(void)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;

	if (control_runtime_dir(dir, sizeof(dir), false))
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) && errno == EINTR)
		;
	return fd;
}

void control_dir_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

bool control_remove_stale(const char *name)
{
	char err[256], path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lock = control_dir_lock(), fd;
	bool removed = false;

	fd = control_connect(name, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	else if (fd == -ECONNREFUSED &&
		 !control_socket_path(name, path, sizeof(path)))
		removed = unlink(path) == 0;
	control_dir_unlock(lock);
	return removed;
}

int control_connect(const char *name, char *err, size_t err_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	ret = control_socket_path(name, addr.sun_path, sizeof(addr.sun_path));
	if (ret) {
		snprintf(err, err_size, "invalid VM name '%s'", name);
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_size, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, err_size, "no running VM named '%s'", name);
		else
			snprintf(err, err_size, "%s: %s", addr.sun_path,
				 strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int control_call(int fd, const char *req, char *resp, size_t size,
		 int timeout_ms)
{
	size_t len = strlen(req), off = 0, have = 0;
	int ret;

	while (off <= len) {
		const char *p = off < len ? req + off : "\n";
		ssize_t n = send(fd, p, off < len ? len - off : 1, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += n;
	}
	/* Read byte-wise up to a newline: what follows is not ours. */
	for (;;) {
		char c;
		ssize_t n;

		ret = wait_fd(fd, POLLIN, timeout_ms);
		if (ret)
			return ret;
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (c != '\n') {
			if (have + 1 >= size)
				return -EMSGSIZE;
			resp[have++] = c;
			continue;
		}
		resp[have] = 0;
		if (!strncmp(resp, "{\"event\"", 8)) {
			have = 0;
			continue;
		}
		return have;
	}
}
