/* SPDX-License-Identifier: MIT */
/*
 * The VNC server (libvncserver) behind `cvisor run --vnc`. It outlives the
 * VM instances of one run: the listening sockets open once the command
 * line is parsed, before anything starts (so a busy port is a usage error,
 * and they survive --daemonize),
 * its thread starts with the first VM, and each VM built (at start and on
 * every reboot) attaches its display and input devices, and detaches them
 * before they are destroyed. Clients stay connected across a reboot.
 *
 * The thread sends only what changed: the display's dirty pages say which
 * scanout lines may differ, and 64-pixel tiles of those lines are compared
 * with what clients were sent. A client that stops reading is dropped
 * after a second; the guest never waits for the server.
 */
#ifndef CVISOR_UI_VNC_H
#define CVISOR_UI_VNC_H

#include <stdbool.h>
#include <stddef.h>

struct display;
struct virtio_input;
struct device;
struct json_out;
struct vnc_server;

/* The devices a VM gives the server; any of them may be NULL. */
struct vnc_machine {
	struct display *display;
	struct virtio_input *keyboard;
	struct virtio_input *tablet;
	struct device *i8042;
};

/*
 * Parse ":N" or "ADDR:N" with options ",password-file=F", ",websocket=P",
 * and listen. Returns 0, or -errno with a one-line reason in err.
 */
int vnc_server_create(const char *spec, struct vnc_server **out, char *err,
		      size_t errlen);
/*
 * For fuzzers and tests: a server that listens nowhere and has no thread
 * (o as vnc_opts_parse leaves it); a connected socket given to it as a
 * client (0, or -1 when refused: fd is closed then); and one round of the
 * server's work without waiting (the screen's changes, then whatever the
 * clients sent), which returns how many clients are still connected.
 */
struct vnc_opts;
int vnc_server_create_unbound(const struct vnc_opts *o,
			      struct vnc_server **out, char *err,
			      size_t errlen);
int vnc_server_add_client(struct vnc_server *s, int fd, const char *addr);
unsigned vnc_server_step(struct vnc_server *s);
void vnc_server_attach(struct vnc_server *s, const struct vnc_machine *m);
void vnc_server_detach(struct vnc_server *s);
/* "vnc" member value for `info`: address, websocket port, clients. */
void vnc_server_info(struct vnc_server *s, struct json_out *o);

#endif
