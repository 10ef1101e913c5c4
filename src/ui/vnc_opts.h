/* SPDX-License-Identifier: MIT */
/*
 * The --vnc option: ":N" (127.0.0.1, port 5900+N as in QEMU) or
 * "ADDR:N" (IPv4, or IPv6 in brackets), then ",password-file=F" (the first
 * line is the password; VNC authentication uses its first 8 bytes) and
 * ",websocket=P" (a second port, for noVNC).
 */
#ifndef CVISOR_UI_VNC_OPTS_H
#define CVISOR_UI_VNC_OPTS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define VNC_BASE_PORT		5900
#define VNC_PASSWORD_MAX	64

struct vnc_opts {
	char host[64];		/* as given, for messages and info */
	bool ipv6;
	struct in_addr addr4;
	struct in6_addr addr6;
	bool local;		/* loopback: no warning without a password */
	int port;
	int websocket_port;	/* 0: none */
	char password[VNC_PASSWORD_MAX + 1];	/* "": none */
};

/* Returns 0, or -EINVAL with a one-line reason naming the value in err. */
int vnc_opts_parse(const char *spec, struct vnc_opts *o, char *err,
		   size_t errlen);

#endif
