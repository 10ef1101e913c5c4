/* SPDX-License-Identifier: MIT */
/*
 * A PS/2 mouse (three buttons, optionally a wheel) as the i8042's aux
 * device sees it: bytes from the host in, replies and movement packets
 * out. It holds no lock and knows no controller; the i8042 calls it under
 * its own lock and queues what it returns.
 *
 * Commands (from the PS/2 mouse interface as Linux's psmouse drives it):
 * 0xFF reset (ACK, 0xAA, ID 0x00), 0xFE resend, 0xF6 set defaults,
 * 0xF5/0xF4 disable/enable data reporting, 0xF3 set sample rate + rate,
 * 0xF2 get device ID, 0xF0 remote mode, 0xEE/0xEC set/reset wrap mode,
 * 0xEB read data, 0xEA stream mode, 0xE9 status request, 0xE8 set
 * resolution + 0..3, 0xE7/0xE6 scaling 2:1/1:1. Anything else, or a bad
 * parameter, is answered 0xFE (resend) at once so no driver waits for a
 * timeout. The sample rates 200, 100, 80 in a row switch on the
 * IntelliMouse wheel: the ID becomes 3 and packets grow a fourth byte.
 */
#ifndef CVISOR_DEVICES_PS2_MOUSE_H
#define CVISOR_DEVICES_PS2_MOUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/state.h"

/* Enough for any reply: ACK plus a status report or a 4-byte packet. */
#define PS2_MOUSE_REPLY_MAX	5
#define PS2_MOUSE_PACKET_MAX	4

struct ps2_mouse {
	uint8_t pending;	/* command awaiting its parameter, 0: none */
	uint8_t mode;		/* PS2M_* flags */
	uint8_t rate;		/* samples per second */
	uint8_t resolution;	/* 0..3: 1, 2, 4, 8 counts per mm */
	uint8_t id;		/* 0, or 3 with the wheel on */
	uint8_t rates[3];	/* the last three sample rates set */
	uint8_t last;		/* the last byte sent, for 0xFE */
	uint8_t buttons;	/* bit 0 left, 1 right, 2 middle */
	bool buttons_sent;	/* the guest has seen buttons as they are */
	int32_t dx, dy, dz;	/* movement not yet sent (y grows upwards) */
};

void ps2_mouse_reset(struct ps2_mouse *m);
/* A byte the host wrote to the mouse: its reply bytes, how many. */
unsigned ps2_mouse_write(struct ps2_mouse *m, uint8_t val,
			 uint8_t reply[PS2_MOUSE_REPLY_MAX]);
/*
 * Movement (dy grows downwards, as on a screen; dz is wheel steps, up
 * positive) and the button state: kept until packets carry it.
 */
void ps2_mouse_move(struct ps2_mouse *m, int dx, int dy, int dz,
		    unsigned buttons);
/*
 * The next movement packet if data reporting is on in stream mode and
 * something is left to send: its length (3 or 4), or 0. Consumes at most
 * what one packet can carry.
 */
unsigned ps2_mouse_packet(struct ps2_mouse *m,
			  uint8_t pkt[PS2_MOUSE_REPLY_MAX]);
/* Whether the guest turned data reporting on. */
bool ps2_mouse_reporting(const struct ps2_mouse *m);

void ps2_mouse_save(const struct ps2_mouse *m, struct state_writer *w);
/* Read and validate; errors recorded with state_fail. */
int ps2_mouse_load(struct ps2_mouse *m, struct state_reader *r);

#endif
