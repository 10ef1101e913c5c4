// SPDX-License-Identifier: MIT
/* The control server: socket, clients, events and the console stream. */
#include "vmm/control_int.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/uart.h"
#include "vmm/json.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* Bind path, replacing a stale socket; -EADDRINUSE if a VM answers. */
static int control_bind_locked(struct control *ctl, char *err,
			       size_t err_size)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, ret;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", ctl->path);
	fd = control_connect(ctl->name, err, err_size);
	if (fd >= 0) {
		close(fd);
		snprintf(err, err_size,
			 "a VM named '%s' is already running (%s)", ctl->name,
			 ctl->path);
		return -EADDRINUSE;
	}
	if (fd == -ECONNREFUSED) {
		log_debug("removing stale control socket %s", ctl->path);
		unlink(ctl->path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto err;
	old_umask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret && errno == EADDRINUSE) {
		/* Another VM of that name won the race between check and bind. */
		close(fd);
		snprintf(err, err_size, "a VM named '%s' is already running (%s)",
			 ctl->name, ctl->path);
		return -EADDRINUSE;
	}
	if (ret || chmod(ctl->path, 0600) || listen(fd, 8))
		goto err_close;
	ctl->listen_fd = fd;
	return 0;
err_close:
	ret = -errno;
	close(fd);
	snprintf(err, err_size, "%s: %s", ctl->path, strerror(-ret));
	return ret;
err:
	ret = -errno;
	snprintf(err, err_size, "socket: %s", strerror(-ret));
	return ret;
}

static int control_bind(struct control *ctl, char *err, size_t err_size)
{
	int lock = control_dir_lock();
	int ret = control_bind_locked(ctl, err, err_size);

	control_dir_unlock(lock);
	return ret;
}

struct control *control_create(const char *name, char *err, size_t err_size)
{
	struct control *ctl;
	char dir[108];
	int ret;

	if (!control_name_valid(name)) {
		snprintf(err, err_size,
			 "--name: '%s' is not a valid name (1-64 of A-Z a-z 0-9 . _ -)",
			 name);
		return NULL;
	}
	ret = control_runtime_dir(dir, sizeof(dir), true);
	if (ret) {
		snprintf(err, err_size, "control socket directory %s: %s", dir,
			 strerror(-ret));
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	snprintf(ctl->name, sizeof(ctl->name), "%s", name);
	ctl->listen_fd = ctl->wake_fd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		ctl->clients[i].fd = -1;
		ctl->console_fds[i] = -1;
	}
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_mutex_init(&ctl->out_lock, NULL);
	pthread_cond_init(&ctl->secret_cond, NULL);
	if (control_socket_path(name, ctl->path, sizeof(ctl->path))) {
		snprintf(err, err_size, "control socket path too long in %s", dir);
		goto err;
	}
	if (control_bind(ctl, err, err_size))
		goto err;
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctl->wake_fd < 0) {
		snprintf(err, err_size, "eventfd: %s", strerror(errno));
		goto err_unlink;
	}
	return ctl;
err_unlink:
	close(ctl->listen_fd);
	unlink(ctl->path);
err:
	pthread_mutex_destroy(&ctl->lock);
	pthread_mutex_destroy(&ctl->out_lock);
	free(ctl);
	return NULL;
}

void control_close_client(struct control *ctl, struct control_client *c)
{
	if (c->console) {
		pthread_mutex_lock(&ctl->out_lock);
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
			if (ctl->console_fds[i] == c->fd)
				ctl->console_fds[i] = -1;
		pthread_mutex_unlock(&ctl->out_lock);
	}
	close(c->fd);
	c->fd = -1;
	c->console = false;
	c->len = 0;
}

void control_send(struct control *ctl, struct control_client *c,
		  const char *line)
{
	size_t len = strlen(line), off = 0;
	bool nl = false;

	while (c->fd >= 0 && !nl) {
		const char *p = off < len ? line + off : "\n";
		ssize_t n = send(c->fd, p, off < len ? len - off : 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		if (n > 0) {
			if (off >= len)
				nl = true;
			off += n;
			continue;
		}
		/* A client that does not read for a second is dropped. */
		if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
		    poll(&pfd, 1, 1000) > 0)
			continue;
		control_close_client(ctl, c);
	}
}

void control_event(struct control *ctl, const char *event,
		   const char *fields_fmt, ...)
{
	char line[1024], fields[768];
	struct json_out o;
	va_list ap;

	va_start(ap, fields_fmt);
	vsnprintf(fields, sizeof(fields), fields_fmt, ap);
	va_end(ap);
	json_out_init(&o, line, sizeof(line));
	json_out_raw(&o, "{\"event\":");
	json_out_str(&o, event);
	if (fields[0]) {
		json_out_raw(&o, ",");
		json_out_raw(&o, fields);
	}
	json_out_fmt(&o, ",\"timestamp_ms\":%llu}",
		     (unsigned long long)(vm_now_ns() / 1000000));
	if (!json_out_ok(&o))
		return;
	pthread_mutex_lock(&ctl->lock);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0 && !ctl->clients[i].console)
			control_send(ctl, &ctl->clients[i], line);
	pthread_mutex_unlock(&ctl->lock);
}

void control_set_vm(struct control *ctl, struct vm *vm)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->vm = vm;
	ctl->stop_deadline = 0;
	pthread_mutex_unlock(&ctl->lock);
}

void control_enable_console(struct control *ctl)
{
	ctl->console_enabled = true;
}

void control_console_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct control *ctl = opaque;

	pthread_mutex_lock(&ctl->out_lock);
	for (size_t i = 0; i < len; i++) {
		ctl->replay[ctl->replay_pos] = buf[i];
		ctl->replay_pos = (ctl->replay_pos + 1) % CONTROL_REPLAY_SIZE;
	}
	ctl->replay_len += len;
	if (ctl->replay_len > CONTROL_REPLAY_SIZE)
		ctl->replay_len = CONTROL_REPLAY_SIZE;
	/* Never block a vCPU: a console client that lags loses output. */
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->console_fds[i] >= 0 &&
		    send(ctl->console_fds[i], buf, len,
			 MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			ctl->console_fds[i] = -1;
	pthread_mutex_unlock(&ctl->out_lock);
}

int control_console_attach(struct control *ctl, struct control_client *c)
{
	size_t start;
	int ret = -EBUSY;

	if (!ctl->console_enabled)
		return -ENOTTY;
	pthread_mutex_lock(&ctl->out_lock);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (ctl->console_fds[i] >= 0)
			continue;
		ctl->console_fds[i] = c->fd;
		c->console = true;
		ret = 0;
		break;
	}
	if (!ret && ctl->replay_len) {
		start = (ctl->replay_pos + CONTROL_REPLAY_SIZE - ctl->replay_len) %
			CONTROL_REPLAY_SIZE;
		for (size_t done = 0; done < ctl->replay_len;) {
			size_t chunk = CONTROL_REPLAY_SIZE - (start + done) %
				       CONTROL_REPLAY_SIZE;

			if (chunk > ctl->replay_len - done)
				chunk = ctl->replay_len - done;
			if (send(c->fd, ctl->replay + (start + done) %
				 CONTROL_REPLAY_SIZE, chunk,
				 MSG_NOSIGNAL | MSG_DONTWAIT) <= 0)
				break;
			done += chunk;
		}
	}
	pthread_mutex_unlock(&ctl->out_lock);
	return ret;
}

static bool control_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void control_accept(struct control *ctl)
{
	int fd = accept4(ctl->listen_fd, NULL, NULL,
			 SOCK_CLOEXEC | SOCK_NONBLOCK);
	static const char refused[] =
		"{\"id\":null,\"ok\":false,\"error\":\"permission denied\"}\n";
	static const char busy[] =
		"{\"id\":null,\"ok\":false,\"error\":\"too many clients\"}\n";

	if (fd < 0)
		return;
	if (!control_peer_allowed(fd)) {
		log_debug("control: refused a client of another user");
		if (send(fd, refused, sizeof(refused) - 1, MSG_NOSIGNAL |
			 MSG_DONTWAIT) < 0)
			log_debug("control: %s", strerror(errno));
		close(fd);
		return;
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (ctl->clients[i].fd < 0) {
			ctl->clients[i].fd = fd;
			ctl->clients[i].len = 0;
			return;
		}
	}
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	close(fd);
}

static void control_console_input(struct control *ctl,
				  struct control_client *c)
{
	uint8_t buf[256];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			control_close_client(ctl, c);
		return;
	}
	if (ctl->vm && ctl->vm->console_uart)
		uart_receive(ctl->vm->console_uart, buf, n);
}

static void control_read(struct control *ctl, struct control_client *c)
{
	static const char too_long[] =
		"{\"id\":null,\"ok\":false,\"error\":\"request line too long\"}";
	ssize_t n;
	char *nl;

	if (c->console) {
		control_console_input(ctl, c);
		return;
	}
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			control_close_client(ctl, c);
		return;
	}
	c->len += n;
	while (c->fd >= 0 && !c->console &&
	       (nl = memchr(c->buf, '\n', c->len))) {
		size_t line = nl - c->buf;

		control_dispatch(ctl, c, c->buf, line);
		if (c->fd < 0)
			return;
		memmove(c->buf, nl + 1, c->len - line - 1);
		c->len -= line + 1;
	}
	if (c->fd >= 0 && c->len == sizeof(c->buf)) {
		control_send(ctl, c, too_long);
		if (c->fd >= 0)
			control_close_client(ctl, c);
	}
}

static void control_check_stop(struct control *ctl)
{
	if (!ctl->stop_deadline || vm_now_ns() < ctl->stop_deadline)
		return;
	ctl->stop_deadline = 0;
	if (ctl->vm)
		vm_request_exit(ctl->vm, VM_EXIT_QUIT,
				"forced stop: the guest did not power off within %d s",
				ctl->stop_timeout);
}

static void *control_thread(void *arg)
{
	struct control *ctl = arg;
	struct pollfd fds[CONTROL_MAX_CLIENTS + 2];
	int idx[CONTROL_MAX_CLIENTS + 2];

	for (;;) {
		int nfds = 2, timeout = -1, n;

		pthread_mutex_lock(&ctl->lock);
		if (ctl->quit) {
			pthread_mutex_unlock(&ctl->lock);
			break;
		}
		fds[0] = (struct pollfd){ .fd = ctl->listen_fd, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = ctl->wake_fd, .events = POLLIN };
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (ctl->clients[i].fd < 0)
				continue;
			idx[nfds] = i;
			fds[nfds++] = (struct pollfd){ .fd = ctl->clients[i].fd,
						       .events = POLLIN };
		}
		if (ctl->stop_deadline) {
			uint64_t now = vm_now_ns();

			timeout = now >= ctl->stop_deadline ? 0 :
				  (ctl->stop_deadline - now) / 1000000 + 1;
		}
		pthread_mutex_unlock(&ctl->lock);

		n = poll(fds, nfds, timeout);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&ctl->lock);
		if (n > 0 && fds[1].revents) {
			uint64_t v;

			if (read(ctl->wake_fd, &v, sizeof(v)) < 0)
				log_debug("control: %s", strerror(errno));
		}
		for (int i = 2; n > 0 && i < nfds; i++) {
			struct control_client *c = &ctl->clients[idx[i]];

			if (fds[i].revents && c->fd == fds[i].fd)
				control_read(ctl, c);
		}
		if (n > 0 && fds[0].revents)
			control_accept(ctl);
		control_check_stop(ctl);
		pthread_mutex_unlock(&ctl->lock);
	}
	return NULL;
}

int control_start(struct control *ctl)
{
	int ret = pthread_create(&ctl->thread, NULL, control_thread, ctl);

	if (ret)
		return -ret;
	pthread_setname_np(ctl->thread, "control");
	ctl->started = true;
	return 0;
}

void control_release(struct control *ctl)
{
	close(ctl->listen_fd);
	close(ctl->wake_fd);
	control_secrets_clear(ctl);
	pthread_mutex_destroy(&ctl->lock);
	pthread_mutex_destroy(&ctl->out_lock);
	free(ctl);
}

void control_destroy(struct control *ctl)
{
	uint64_t one = 1;

	if (!ctl)
		return;
	if (ctl->started) {
		pthread_mutex_lock(&ctl->lock);
		ctl->quit = true;
		pthread_mutex_unlock(&ctl->lock);
		if (write(ctl->wake_fd, &one, sizeof(one)) < 0)
			log_error("control: cannot stop its thread");
		pthread_join(ctl->thread, NULL);
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			control_close_client(ctl, &ctl->clients[i]);
	unlink(ctl->path);
	control_release(ctl);
}
