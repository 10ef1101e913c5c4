// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what a VNC client sends the server (ui/vnc.c and
 * the libvncserver it drives): the input is one connection's bytes. The
 * first byte chooses the server (bit 0: with a password) and whether the
 * target first says the RFB 3.8 handshake for it (bit 1: version, security
 * type None or VNC authentication, shared flag; the next 16 input bytes
 * are then the authentication response), so that the fuzzer reaches the
 * client messages (pixel formats, encodings, update requests, keys and
 * pointer events into a PS/2 controller, cut text) as well as the
 * handshake and websocket detection. After the connection ends the server
 * must have dropped it, and a new client must still get the handshake and
 * the server's 640x480 screen. With CVISOR_FUZZ_SEEDS=DIR set, the first
 * run writes into DIR a session of each client message and a websocket
 * upgrade request. Built by 'make fuzz':
 *
 *   build-fuzz/fuzz/vnc_client_fuzz -max_len=4096
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/legacy.h"
#include "ui/vnc.h"
#include "ui/vnc_opts.h"
#include "vmm/vm.h"
#include "../unit/fake_irq.h"
#include "fuzz_seed.h"

#define MAX_ROUNDS	20000

static struct vm_config cfg;
static struct vm vm;
static struct vnc_server *servers[2];

static void teardown(void)
{
	fake_destroy(&kbd_dev);
	fake_irq_vm_destroy(&vm);
}

static void setup(void)
{
	struct vnc_machine m = { 0 };
	char err[256];

	fake_irq_vm_init(&vm, &cfg);
	if (i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev))
		abort();
	m.i8042 = kbd_dev;
	for (int i = 0; i < 2; i++) {
		struct vnc_opts o;

		if (vnc_opts_parse(":0", &o, err, sizeof(err)))
			abort();
		if (i)
			strcpy(o.password, "secret");
		if (vnc_server_create_unbound(&o, &servers[i], err,
					      sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		vnc_server_attach(servers[i], &m);
	}
	atexit(teardown);
}

static void write_seeds(const char *dir)
{
	/* handshake by the target (2), then each client message */
	static const uint8_t session[] = {
		2,
		0, 0, 0, 0, 16, 16, 0, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0,
		0, 0, 0,			/* SetPixelFormat RGB565 */
		2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 16, 0xff, 0xff, 0xff, 0x21,
						/* SetEncodings raw ZRLE -223 */
		3, 0, 0, 0, 0, 0, 0, 64, 0, 48,	/* update request */
		3, 1, 0, 10, 0, 10, 0, 8, 0, 8,	/* incremental */
		4, 1, 0, 0, 0, 0, 0, 0x61,	/* KeyEvent 'a' down */
		4, 0, 0, 0, 0, 0, 0, 0x61,
		5, 1, 0, 100, 0, 50,		/* PointerEvent */
		5, 0, 0x7f, 0xff, 0x7f, 0xff,
		6, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c',	/* ClientCutText */
		0xfe, 0, 0, 0,			/* no such message */
	};
	static const char ws[] =
		"\0GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: "
		"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		"Sec-WebSocket-Protocol: binary\r\n\r\n";
	static const uint8_t auth[] = { 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
					12, 13, 14, 15, 16, 4, 1, 0, 0, 0, 0,
					0, 0x61 };

	fuzz_seed(dir, "session", session, sizeof(session));
	fuzz_seed(dir, "websocket", ws, sizeof(ws) - 1);
	fuzz_seed(dir, "auth", auth, sizeof(auth));
}

/* Whatever the server sent the client: read and dropped */
static size_t drain(int fd)
{
	char buf[65536];
	size_t n = 0;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		n += r;
	return n;
}

/*
 * Send len bytes on fd while the server runs, then close the sending side
 * and run it until it has dropped the client. Returns the rounds taken.
 */
static int converse(struct vnc_server *s, int fd, const uint8_t *p,
		    size_t len)
{
	bool shut = false;

	for (int round = 0; round < MAX_ROUNDS; round++) {
		if (len) {
			ssize_t w = write(fd, p, len);

			if (w > 0) {
				p += w;
				len -= w;
			} else if (errno != EAGAIN) {
				len = 0;	/* the server closed it */
			}
		}
		if (!len && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		drain(fd);
		if (!vnc_server_step(s))
			return round;
	}
	fprintf(stderr, "vnc_client_fuzz: the server kept a finished "
		"client for %d rounds\n", MAX_ROUNDS);
	abort();
}

/*
 * A client on a socket pair; returns our end. libvncserver drops a client
 * whose first write a signal interrupts (libFuzzer's timer): try again.
 */
static int connect_client(struct vnc_server *s)
{
	for (int tries = 0; tries < 5; tries++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			       SOCK_CLOEXEC, 0, sv))
			abort();
		if (!vnc_server_add_client(s, sv[1], "fuzz:0"))
			return sv[0];
		close(sv[0]);
	}
	fprintf(stderr, "vnc_client_fuzz: the server refuses clients\n");
	abort();
}

/* Read exactly len bytes the server sends, running it meanwhile */
static void expect(struct vnc_server *s, int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	for (int round = 0; got < len && round < MAX_ROUNDS; round++) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r > 0)
			got += r;
		else if (r == 0)
			break;
		if (got < len)
			vnc_server_step(s);
	}
	if (got < len) {
		fprintf(stderr, "vnc_client_fuzz: the server stopped "
			"answering a new client (%zu of %zu bytes)\n", got,
			len);
		abort();
	}
}

/* A well-behaved client afterwards: version, None, ServerInit 640x480 */
static void still_serves(struct vnc_server *s)
{
	static const uint8_t hello[] = "RFB 003.008\n";
	uint8_t buf[64];
	int fd;

	fd = connect_client(s);
	expect(s, fd, buf, 12);
	if (memcmp(buf, "RFB 003.008\n", 12))
		abort();
	if (write(fd, hello, 12) != 12)
		abort();
	expect(s, fd, buf, 2);		/* one security type: None */
	if (buf[0] != 1 || buf[1] != 1)
		abort();
	if (write(fd, "\x01", 1) != 1)
		abort();
	expect(s, fd, buf, 4);		/* SecurityResult OK */
	if (memcmp(buf, "\0\0\0\0", 4))
		abort();
	if (write(fd, "\x01", 1) != 1)	/* ClientInit: shared */
		abort();
	expect(s, fd, buf, 4);		/* ServerInit: width, height */
	if (buf[0] != 640 >> 8 || buf[1] != (640 & 0xff) ||
	    buf[2] != 480 >> 8 || buf[3] != (480 & 0xff))
		abort();
	converse(s, fd, NULL, 0);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t msg[4096 + 64];
	struct vnc_server *s;
	size_t len = 0;
	int fd;

	if (!kbd_dev) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		setup();
		if (seed)
			write_seeds(seed);
	}
	if (!size || size > 4096)
		return 0;
	s = servers[data[0] & 1];
	if (data[0] & 2) {
		memcpy(msg, "RFB 003.008\n", 12);
		msg[12] = data[0] & 1 ? 2 : 1;	/* VNC authentication : None */
		len = 13;
		if (data[0] & 1) {
			/* the 16-byte response */
			size_t n = size - 1 < 16 ? size - 1 : 16;

			memcpy(msg + len, data + 1, n);
			len += n;
			data += n;
			size -= n;
		}
		msg[len++] = 1;			/* ClientInit: shared */
	}
	memcpy(msg + len, data + 1, size - 1);
	len += size - 1;
	fd = connect_client(s);
	converse(s, fd, msg, len);
	close(fd);
	still_serves(servers[0]);
	return 0;
}
