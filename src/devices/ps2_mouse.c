// SPDX-License-Identifier: MIT
/*
 * The PS/2 mouse behind the i8042's aux port (see ps2_mouse.h). A packet
 * is three bytes: buttons with bit 3 always set and the sign bits of the
 * 9-bit X and Y movement (Y grows upwards), then the low bytes of X and
 * Y. With the wheel on (ID 3) a fourth byte holds the wheel movement as
 * a signed byte, positive towards the user.
 */
#include "devices/ps2_mouse.h"

#include <string.h>

#define PS2M_ACK		0xfa
#define PS2M_RESEND		0xfe
#define PS2M_BAT_OK		0xaa

#define CMD_SCALE_1_1		0xe6
#define CMD_SCALE_2_1		0xe7
#define CMD_SET_RES		0xe8
#define CMD_STATUS		0xe9
#define CMD_STREAM		0xea
#define CMD_READ_DATA		0xeb
#define CMD_RESET_WRAP		0xec
#define CMD_SET_WRAP		0xee
#define CMD_REMOTE		0xf0
#define CMD_GET_ID		0xf2
#define CMD_SET_RATE		0xf3
#define CMD_ENABLE		0xf4
#define CMD_DISABLE		0xf5
#define CMD_DEFAULTS		0xf6
#define CMD_RESEND		0xfe
#define CMD_RESET		0xff

/* mode bits, the first three where the status report has them */
#define PS2M_SCALE_2_1		0x10
#define PS2M_REPORTING		0x20
#define PS2M_REMOTE		0x40
#define PS2M_WRAP		0x80
#define PS2M_MODE_MASK		0xf0

#define PKT_ALWAYS		0x08
#define PKT_X_SIGN		0x10
#define PKT_Y_SIGN		0x20

#define ID_WHEEL		3
#define DEFAULT_RATE		100
#define DEFAULT_RES		2
#define MOVE_MAX		255	/* one packet's 9-bit range, symmetric */
#define WHEEL_MAX		7	/* the fourth byte's 4-bit range */
#define PENDING_MAX		(1 << 20)	/* movement kept at most */

static const uint8_t valid_rates[] = { 10, 20, 40, 60, 80, 100, 200 };

static void ps2_mouse_defaults(struct ps2_mouse *m)
{
	m->mode &= ~(PS2M_SCALE_2_1 | PS2M_REPORTING | PS2M_REMOTE);
	m->rate = DEFAULT_RATE;
	m->resolution = DEFAULT_RES;
	m->dx = m->dy = m->dz = 0;
}

void ps2_mouse_reset(struct ps2_mouse *m)
{
	uint8_t buttons = m->buttons;

	memset(m, 0, sizeof(*m));
	ps2_mouse_defaults(m);
	/* The physical buttons stay as they are. */
	m->buttons = buttons;
	m->buttons_sent = true;
}

bool ps2_mouse_reporting(const struct ps2_mouse *m)
{
	return (m->mode & (PS2M_REPORTING | PS2M_REMOTE | PS2M_WRAP)) ==
	       PS2M_REPORTING;
}

static bool rate_valid(uint8_t rate)
{
	for (unsigned i = 0; i < sizeof(valid_rates); i++)
		if (rate == valid_rates[i])
			return true;
	return false;
}

static int clamp(int64_t v, int lim)
{
	return v > lim ? lim : v < -lim ? -lim : v;
}

/* 2:1 scaling as the mouse applies it to stream reports. */
static int scale_2_1(int v)
{
	static const int small[] = { 0, 1, 1, 3, 6, 9 };
	int a = v < 0 ? -v : v;

	a = a < 6 ? small[a] : 2 * a;
	if (a > MOVE_MAX)
		a = MOVE_MAX;
	return v < 0 ? -a : a;
}

/* One packet from the movement held, which it takes out of. */
static unsigned build_packet(struct ps2_mouse *m, uint8_t *pkt, bool scale)
{
	int x = clamp(m->dx, MOVE_MAX), y = clamp(m->dy, MOVE_MAX);
	int z = clamp(m->dz, WHEEL_MAX);

	m->dx -= x;
	m->dy -= y;
	m->dz -= z;
	if (scale) {
		x = scale_2_1(x);
		y = scale_2_1(y);
	}
	pkt[0] = PKT_ALWAYS | (m->buttons & 7) | (x < 0 ? PKT_X_SIGN : 0) |
		 (y < 0 ? PKT_Y_SIGN : 0);
	pkt[1] = (uint8_t)x;
	pkt[2] = (uint8_t)y;
	m->buttons_sent = true;
	if (m->id != ID_WHEEL)
		return 3;
	pkt[3] = (uint8_t)(-z);
	return 4;
}

unsigned ps2_mouse_packet(struct ps2_mouse *m,
			  uint8_t pkt[PS2_MOUSE_REPLY_MAX])
{
	unsigned n;

	if (!ps2_mouse_reporting(m) ||
	    (!m->dx && !m->dy && !m->dz && m->buttons_sent))
		return 0;
	n = build_packet(m, pkt, m->mode & PS2M_SCALE_2_1);
	m->last = pkt[n - 1];
	return n;
}

void ps2_mouse_move(struct ps2_mouse *m, int dx, int dy, int dz,
		    unsigned buttons)
{
	if ((buttons & 7) != m->buttons) {
		m->buttons = buttons & 7;
		m->buttons_sent = false;
	}
	/* Movement while reporting is off is lost, as on the real thing. */
	if (!ps2_mouse_reporting(m)) {
		m->dx = m->dy = m->dz = 0;
		return;
	}
	m->dx = clamp((int64_t)m->dx + clamp(dx, PENDING_MAX), PENDING_MAX);
	m->dy = clamp((int64_t)m->dy - clamp(dy, PENDING_MAX), PENDING_MAX);
	m->dz = clamp((int64_t)m->dz + clamp(dz, PENDING_MAX), PENDING_MAX);
}

/* The status report: mode and buttons (left, middle, right), then
 * resolution and sample rate. */
static uint8_t status_byte(const struct ps2_mouse *m)
{
	return (m->mode & (PS2M_SCALE_2_1 | PS2M_REPORTING | PS2M_REMOTE)) |
	       (m->buttons & 1) << 2 | (m->buttons & 4) >> 1 |
	       (m->buttons & 2) >> 1;
}

static unsigned ps2_mouse_param(struct ps2_mouse *m, uint8_t cmd,
				uint8_t val, uint8_t *reply)
{
	if (cmd == CMD_SET_RATE) {
		if (!rate_valid(val))
			return reply[0] = PS2M_RESEND, 1;
		m->rate = val;
		memmove(m->rates, m->rates + 1, 2);
		m->rates[2] = val;
		if (m->rates[0] == 200 && m->rates[1] == 100 &&
		    m->rates[2] == 80)
			m->id = ID_WHEEL;
	} else {
		if (val > 3)
			return reply[0] = PS2M_RESEND, 1;
		m->resolution = val;
	}
	reply[0] = PS2M_ACK;
	return 1;
}

static unsigned ps2_mouse_command(struct ps2_mouse *m, uint8_t val,
				  uint8_t *reply)
{
	reply[0] = PS2M_ACK;
	switch (val) {
	case CMD_RESET:
		ps2_mouse_reset(m);
		reply[1] = PS2M_BAT_OK;
		reply[2] = 0x00;
		return 3;
	case CMD_RESEND:
		reply[0] = m->last;
		return 1;
	case CMD_DEFAULTS:
		ps2_mouse_defaults(m);
		return 1;
	case CMD_DISABLE:
		m->mode &= ~PS2M_REPORTING;
		m->dx = m->dy = m->dz = 0;
		return 1;
	case CMD_ENABLE:
		m->mode |= PS2M_REPORTING;
		return 1;
	case CMD_SET_RATE:
	case CMD_SET_RES:
		m->pending = val;
		return 1;
	case CMD_GET_ID:
		reply[1] = m->id;
		return 2;
	case CMD_REMOTE:
		m->mode |= PS2M_REMOTE;
		return 1;
	case CMD_STREAM:
		m->mode &= ~PS2M_REMOTE;
		return 1;
	case CMD_SET_WRAP:
		m->mode |= PS2M_WRAP;
		return 1;
	case CMD_RESET_WRAP:
		m->mode &= ~PS2M_WRAP;
		return 1;
	case CMD_READ_DATA:
		/* In remote mode, or polled in stream mode: a packet now. */
		return 1 + build_packet(m, reply + 1, false);
	case CMD_STATUS:
		reply[1] = status_byte(m);
		reply[2] = m->resolution;
		reply[3] = m->rate;
		return 4;
	case CMD_SCALE_1_1:
		m->mode &= ~PS2M_SCALE_2_1;
		return 1;
	case CMD_SCALE_2_1:
		m->mode |= PS2M_SCALE_2_1;
		return 1;
	default:
		reply[0] = PS2M_RESEND;
		return 1;
	}
}

unsigned ps2_mouse_write(struct ps2_mouse *m, uint8_t val,
			 uint8_t reply[PS2_MOUSE_REPLY_MAX])
{
	uint8_t cmd = m->pending;
	unsigned n;

	m->pending = 0;
	if (cmd) {
		n = ps2_mouse_param(m, cmd, val, reply);
	} else if ((m->mode & PS2M_WRAP) && val != CMD_RESET &&
		   val != CMD_RESET_WRAP) {
		/* Wrap mode echoes everything but its two ways out. */
		reply[0] = val;
		n = 1;
	} else {
		n = ps2_mouse_command(m, val, reply);
	}
	m->last = reply[n - 1];
	return n;
}

void ps2_mouse_save(const struct ps2_mouse *m, struct state_writer *w)
{
	state_put_u8(w, m->pending);
	state_put_u8(w, m->mode);
	state_put_u8(w, m->rate);
	state_put_u8(w, m->resolution);
	state_put_u8(w, m->id);
	state_put(w, m->rates, sizeof(m->rates));
	state_put_u8(w, m->last);
	state_put_u8(w, m->buttons);
	state_put_u8(w, m->buttons_sent);
	state_put_u32(w, (uint32_t)m->dx);
	state_put_u32(w, (uint32_t)m->dy);
	state_put_u32(w, (uint32_t)m->dz);
}

static bool move_valid(uint32_t v)
{
	int32_t s = (int32_t)v;

	return s >= -PENDING_MAX && s <= PENDING_MAX;
}

int ps2_mouse_load(struct ps2_mouse *m, struct state_reader *r)
{
	struct ps2_mouse n = { 0 };
	uint32_t dx, dy, dz;
	uint8_t sent;
	int ret;

	ret = state_get_u8(r, &n.pending);
	ret = ret ?: state_get_u8(r, &n.mode);
	ret = ret ?: state_get_u8(r, &n.rate);
	ret = ret ?: state_get_u8(r, &n.resolution);
	ret = ret ?: state_get_u8(r, &n.id);
	ret = ret ?: state_get(r, n.rates, sizeof(n.rates));
	ret = ret ?: state_get_u8(r, &n.last);
	ret = ret ?: state_get_u8(r, &n.buttons);
	ret = ret ?: state_get_u8(r, &sent);
	ret = ret ?: state_get_u32(r, &dx);
	ret = ret ?: state_get_u32(r, &dy);
	ret = ret ?: state_get_u32(r, &dz);
	if (ret)
		return ret;
	if ((n.pending && n.pending != CMD_SET_RATE &&
	     n.pending != CMD_SET_RES) || (n.mode & ~PS2M_MODE_MASK) ||
	    !rate_valid(n.rate) || n.resolution > 3 ||
	    (n.id != 0 && n.id != ID_WHEEL) || n.buttons > 7 || sent > 1 ||
	    !move_valid(dx) || !move_valid(dy) || !move_valid(dz))
		return state_fail(r, "i8042: bad PS/2 mouse state");
	n.buttons_sent = sent;
	n.dx = (int32_t)dx;
	n.dy = (int32_t)dy;
	n.dz = (int32_t)dz;
	*m = n;
	return 0;
}
