// SPDX-License-Identifier: MIT
#include "vmm/console.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "devices/uart.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define CTRL_A 0x01

struct console {
	int in_fd, out_fd;
	bool is_tty, raw;
	bool escape;		/* the last key was Ctrl-A */
	bool in_eof;
	struct termios saved;
	struct vm *vm;
};

static const char console_help[] =
	"\r\nC-a h    print this help\r\n"
	"C-a x    quit cvisor (the guest is stopped)\r\n"
	"C-a C-a  send C-a to the guest\r\n";

struct console *console_create(int in_fd, int out_fd)
{
	struct console *con = calloc(1, sizeof(*con));
	struct termios t;

	if (!con)
		return NULL;
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->is_tty = isatty(in_fd);
	if (con->is_tty && tcgetattr(in_fd, &con->saved) == 0) {
		t = con->saved;
		cfmakeraw(&t);
		/* Keep output post-processing so guest "\n" stays sane. */
		t.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(in_fd, TCSANOW, &t) == 0)
			con->raw = true;
	}
	return con;
}

void console_restore_terminal(struct console *con)
{
	if (con && con->raw) {
		tcsetattr(con->in_fd, TCSANOW, &con->saved);
		con->raw = false;
	}
}

void console_destroy(struct console *con)
{
	console_restore_terminal(con);
	free(con);
}

static void console_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

void console_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *con = opaque;

	console_write_all(con->out_fd, buf, len);
}

/* Feed input to the UART, handling the Ctrl-A escape on a terminal. */
static void console_key(struct console *con, uint8_t c, uint8_t *out,
			size_t *n)
{
	if (!con->is_tty) {
		out[(*n)++] = c;
		return;
	}
	if (!con->escape) {
		if (c == CTRL_A)
			con->escape = true;
		else
			out[(*n)++] = c;
		return;
	}
	con->escape = false;
	switch (c) {
	case 'x':
	case 'X':
		vm_request_exit(con->vm, VM_EXIT_QUIT, "quit from the console");
		break;
	case 'h':
	case 'H':
	case '?':
		console_write_all(con->out_fd, console_help,
				  sizeof(console_help) - 1);
		break;
	case CTRL_A:
		out[(*n)++] = CTRL_A;
		break;
	default:
		break;
	}
}

static void console_input(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint8_t buf[256], out[256];
	size_t n = 0;
	ssize_t len;

	(void)events;
	len = read(con->in_fd, buf, sizeof(buf));
	if (len <= 0) {
		if (len < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		/* End of input: the guest keeps running without it. */
		event_loop_del(con->vm->loop, con->in_fd);
		con->in_eof = true;
		return;
	}
	for (ssize_t i = 0; i < len; i++)
		console_key(con, buf[i], out, &n);
	if (n && con->vm->console_uart)
		uart_receive(con->vm->console_uart, out, n);
}

int console_attach(struct console *con, struct vm *vm)
{
	int ret;

	con->vm = vm;
	con->escape = false;
	if (con->in_eof)
		return 0;
	/* EPERM: a regular file or /dev/null, which epoll cannot watch. */
	ret = event_loop_add(vm->loop, con->in_fd, EPOLLIN, console_input, con);
	return ret == -EPERM ? 0 : ret;
}
