// SPDX-License-Identifier: MIT
/*
 * i8042 keyboard controller with a keyboard and a PS/2 mouse on its aux
 * port (ps2_mouse.c), both fed by the VNC server when the guest has no
 * virtio input driver. Every command that expects a reply gets one, so a
 * guest kernel's probe finishes at once, and the 0xFE "pulse reset line"
 * command reboots the VM, the reset method of last resort on a PC.
 *
 * Port 0x64 reads status and takes controller commands; port 0x60 reads
 * the output buffer and takes command parameters or bytes for the keyboard
 * (or, after 0xD4, for the mouse). Bytes of both devices queue in one
 * small output FIFO, each marked with its source; the keyboard's interrupt
 * (IRQ 1) is asserted while a keyboard byte is at the head and the command
 * byte enables it, the mouse's (IRQ 12) likewise for a mouse byte. Mouse
 * movement waits in the mouse until no mouse byte is queued, so a guest
 * that reads slowly gets fewer, larger packets instead of lost ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "devices/legacy.h"
#include "devices/ps2_mouse.h"
#include "vmm/log.h"
#include "arch/x86/layout.h"
#include "vmm/bus.h"
#include "ui/keymap.h"

/* Status register */
#define STS_OBF			0x01	/* output buffer full */
#define STS_SYS			0x04	/* self-test passed */
#define STS_CMD			0x08	/* last write went to port 0x64 */
#define STS_UNINHIBITED		0x10
#define STS_AUX_OBF		0x20	/* output byte is from the aux port */

/* Command byte (controller configuration) */
#define CTR_KBD_INT		0x01
#define CTR_AUX_INT		0x02
#define CTR_SYS			0x04
#define CTR_KBD_DISABLE		0x10
#define CTR_AUX_DISABLE		0x20
#define CTR_XLATE		0x40

/* Controller commands (port 0x64) */
#define CMD_READ_CTR		0x20
#define CMD_WRITE_CTR		0x60
#define CMD_AUX_DISABLE		0xa7
#define CMD_AUX_ENABLE		0xa8
#define CMD_AUX_TEST		0xa9
#define CMD_SELF_TEST		0xaa
#define CMD_KBD_TEST		0xab
#define CMD_KBD_DISABLE		0xad
#define CMD_KBD_ENABLE		0xae
#define CMD_READ_OUTPORT	0xd0
#define CMD_WRITE_OUTPORT	0xd1
#define CMD_WRITE_KBD_OBUF	0xd2
#define CMD_WRITE_AUX_OBUF	0xd3	/* Linux's AUX loopback test */
#define CMD_WRITE_AUX		0xd4
#define CMD_PULSE_BASE		0xf0	/* 0xF0..0xFF: pulse output lines */

/* Keyboard commands and replies (port 0x60) */
#define KBD_SET_LEDS		0xed
#define KBD_ECHO		0xee
#define KBD_SCANSET		0xf0
#define KBD_GET_ID		0xf2
#define KBD_SET_REP		0xf3
#define KBD_RESET		0xff
#define KBD_ACK			0xfa
#define KBD_BAT_OK		0xaa

#define SELF_TEST_OK		0x55
#define AUX_TEST_OK		0x00
#define OUTPORT_RESET_HIGH	0x01	/* low means "hold CPU in reset" */
#define OUTPORT_A20		0x02

#define I8042_FIFO_SIZE		16

struct i8042 {
	struct device dev;
	struct bus *pio;
	struct irq_line irq;
	struct irq_line aux_irq;
	struct power_sink power;
	pthread_mutex_t lock;
	uint8_t ctr;
	uint8_t status;		/* STS_SYS, STS_CMD; OBF bits are derived */
	uint8_t pending_cmd;	/* controller command awaiting its parameter */
	uint8_t kbd_cmd;	/* keyboard command awaiting its parameter */
	uint8_t kbd_scanset;
	struct {
		uint8_t data;
		bool aux;
	} fifo[I8042_FIFO_SIZE];
	unsigned head, count;
	bool irq_level;
	bool aux_irq_level;
	struct ps2_mouse mouse;
};

static void i8042_set_line(const struct irq_line *line, bool *cur,
			   bool level)
{
	if (level == *cur)
		return;
	*cur = level;
	irq_line_set(line, level);
}

/* Each line as the byte at the head of the FIFO and the command byte say. */
static void i8042_update_irq(struct i8042 *kbc)
{
	bool aux = kbc->count && kbc->fifo[kbc->head].aux;

	i8042_set_line(&kbc->irq, &kbc->irq_level,
		       kbc->count && !aux && (kbc->ctr & CTR_KBD_INT));
	i8042_set_line(&kbc->aux_irq, &kbc->aux_irq_level,
		       aux && (kbc->ctr & CTR_AUX_INT));
}

static void i8042_push(struct i8042 *kbc, uint8_t data, bool aux)
{
	unsigned tail;

	/* A full FIFO drops the byte, as a full real buffer would. */
	if (kbc->count == I8042_FIFO_SIZE)
		return;
	tail = (kbc->head + kbc->count) % I8042_FIFO_SIZE;
	kbc->fifo[tail].data = data;
	kbc->fifo[tail].aux = aux;
	kbc->count++;
	i8042_update_irq(kbc);
}

static bool i8042_aux_queued(const struct i8042 *kbc)
{
	for (unsigned i = 0; i < kbc->count; i++)
		if (kbc->fifo[(kbc->head + i) % I8042_FIFO_SIZE].aux)
			return true;
	return false;
}

/*
 * Queue one movement packet if the aux port is enabled, no mouse byte
 * waits and the packet fits whole.
 */
static void i8042_mouse_flush(struct i8042 *kbc)
{
	uint8_t pkt[PS2_MOUSE_REPLY_MAX];
	unsigned n;

	if ((kbc->ctr & CTR_AUX_DISABLE) || i8042_aux_queued(kbc) ||
	    I8042_FIFO_SIZE - kbc->count < PS2_MOUSE_PACKET_MAX)
		return;
	n = ps2_mouse_packet(&kbc->mouse, pkt);
	for (unsigned i = 0; i < n; i++)
		i8042_push(kbc, pkt[i], true);
}

/* A byte for the mouse (after 0xD4): its replies queue whole or not at all. */
static void i8042_aux_write(struct i8042 *kbc, uint8_t val)
{
	uint8_t reply[PS2_MOUSE_REPLY_MAX];
	unsigned n = ps2_mouse_write(&kbc->mouse, val, reply);

	if (I8042_FIFO_SIZE - kbc->count < n)
		return;
	for (unsigned i = 0; i < n; i++)
		i8042_push(kbc, reply[i], true);
}

static void i8042_kbd_reply(struct i8042 *kbc, uint8_t data)
{
	i8042_push(kbc, data, false);
}

/* A byte for the keyboard: a command, or the parameter of the last one. */
static void i8042_kbd_write(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->kbd_cmd;

	if (cmd) {
		kbc->kbd_cmd = 0;
		i8042_kbd_reply(kbc, KBD_ACK);
		if (cmd == KBD_SCANSET) {
			if (val == 0)
				i8042_kbd_reply(kbc, kbc->kbd_scanset);
			else if (val <= 3)
				kbc->kbd_scanset = val;
		}
		return;
	}
	switch (val) {
	case KBD_SET_LEDS:
	case KBD_SCANSET:
	case KBD_SET_REP:
		kbc->kbd_cmd = val;
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	case KBD_ECHO:
		i8042_kbd_reply(kbc, KBD_ECHO);
		break;
	case KBD_GET_ID:
		/* MF2 keyboard; the second byte as the translator sends it */
		i8042_kbd_reply(kbc, KBD_ACK);
		i8042_kbd_reply(kbc, 0xab);
		i8042_kbd_reply(kbc, kbc->ctr & CTR_XLATE ? 0x41 : 0x83);
		break;
	case KBD_RESET:
		kbc->kbd_scanset = 2;
		i8042_kbd_reply(kbc, KBD_ACK);
		i8042_kbd_reply(kbc, KBD_BAT_OK);
		break;
	default:
		/* enable, disable, set defaults, typematic modes: all ACKed */
		i8042_kbd_reply(kbc, KBD_ACK);
		break;
	}
}

static void i8042_reset_line(struct i8042 *kbc, const char *how)
{
	char why[64];

	snprintf(why, sizeof(why), "guest reset (i8042 %s)", how);
	power_event(&kbc->power, POWER_RESET, why);
}

/* The parameter byte of a controller command, written to port 0x60. */
static void i8042_cmd_param(struct i8042 *kbc, uint8_t cmd, uint8_t val)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		kbc->ctr = val;
		kbc->status = (kbc->status & ~STS_SYS) | (val & CTR_SYS);
		i8042_update_irq(kbc);
		i8042_mouse_flush(kbc);
		break;
	case CMD_WRITE_OUTPORT:
		if (!(val & OUTPORT_RESET_HIGH))
			i8042_reset_line(kbc, "output port");
		break;
	case CMD_WRITE_KBD_OBUF:
		i8042_push(kbc, val, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		/* as if the mouse sent it: Linux's AUX IRQ test */
		i8042_push(kbc, val, true);
		break;
	case CMD_WRITE_AUX:
		i8042_aux_write(kbc, val);
		break;
	}
}

static void i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(kbc, kbc->ctr, false);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		kbc->pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		kbc->ctr |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		kbc->ctr &= ~CTR_AUX_DISABLE;
		i8042_mouse_flush(kbc);
		break;
	case CMD_AUX_TEST:
		i8042_push(kbc, AUX_TEST_OK, false);
		break;
	case CMD_SELF_TEST:
		kbc->status |= STS_SYS;
		i8042_push(kbc, SELF_TEST_OK, false);
		break;
	case CMD_KBD_TEST:
		i8042_push(kbc, 0x00, false);
		break;
	case CMD_KBD_DISABLE:
		kbc->ctr |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		kbc->ctr &= ~CTR_KBD_DISABLE;
		break;
	case CMD_READ_OUTPORT:
		i8042_push(kbc, OUTPORT_RESET_HIGH | OUTPORT_A20, false);
		break;
	default:
		/* Bit n clear pulses output line n; line 0 is CPU reset. */
		if (cmd >= CMD_PULSE_BASE && !(cmd & 1))
			i8042_reset_line(kbc, "pulse reset");
		break;
	}
}

static uint8_t i8042_status(const struct i8042 *kbc)
{
	uint8_t s = kbc->status | STS_UNINHIBITED;

	if (kbc->count) {
		s |= STS_OBF;
		if (kbc->fifo[kbc->head].aux)
			s |= STS_AUX_OBF;
	}
	return s;
}

static uint8_t i8042_pop(struct i8042 *kbc)
{
	uint8_t data;

	if (!kbc->count)
		return kbc->fifo[(kbc->head + I8042_FIFO_SIZE - 1) %
				 I8042_FIFO_SIZE].data;
	data = kbc->fifo[kbc->head].data;
	kbc->head = (kbc->head + 1) % I8042_FIFO_SIZE;
	kbc->count--;
	/* Drop the lines between bytes so each one is a new edge. */
	i8042_set_line(&kbc->irq, &kbc->irq_level, false);
	i8042_set_line(&kbc->aux_irq, &kbc->aux_irq_level, false);
	i8042_update_irq(kbc);
	i8042_mouse_flush(kbc);
	return data;
}

static uint64_t i8042_data_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *kbc = opaque;
	uint8_t val;

	(void)off;
	(void)size;
	pthread_mutex_lock(&kbc->lock);
	val = i8042_pop(kbc);
	pthread_mutex_unlock(&kbc->lock);
	return val;
}

static void i8042_data_write(void *opaque, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct i8042 *kbc = opaque;
	uint8_t cmd;

	(void)off;
	(void)size;
	pthread_mutex_lock(&kbc->lock);
	kbc->status &= ~STS_CMD;
	cmd = kbc->pending_cmd;
	kbc->pending_cmd = 0;
	if (cmd)
		i8042_cmd_param(kbc, cmd, val);
	else
		i8042_kbd_write(kbc, val);
	pthread_mutex_unlock(&kbc->lock);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t off, unsigned size)
{
	struct i8042 *kbc = opaque;
	uint8_t val;

	(void)off;
	(void)size;
	pthread_mutex_lock(&kbc->lock);
	val = i8042_status(kbc);
	pthread_mutex_unlock(&kbc->lock);
	return val;
}

static void i8042_cmd_write(void *opaque, uint64_t off, uint64_t val,
			    unsigned size)
{
	struct i8042 *kbc = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&kbc->lock);
	kbc->status |= STS_CMD;
	kbc->pending_cmd = 0;
	i8042_command(kbc, val);
	pthread_mutex_unlock(&kbc->lock);
}

static const struct bus_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct bus_ops i8042_cmd_ops = {
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};

static void i8042_destroy(struct device *dev)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);

	bus_unregister(kbc->pio, PORT_I8042_DATA, kbc);
	bus_unregister(kbc->pio, PORT_I8042_CMD, kbc);
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

static int i8042_save(struct device *dev, struct state_writer *w)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);

	pthread_mutex_lock(&kbc->lock);
	state_put_u8(w, kbc->ctr);
	state_put_u8(w, kbc->status);
	state_put_u8(w, kbc->pending_cmd);
	state_put_u8(w, kbc->kbd_cmd);
	state_put_u8(w, kbc->kbd_scanset);
	state_put_u8(w, kbc->irq_level);
	state_put_u8(w, kbc->aux_irq_level);
	state_put_u8(w, kbc->count);
	for (unsigned i = 0; i < kbc->count; i++) {
		unsigned at = (kbc->head + i) % I8042_FIFO_SIZE;

		state_put_u8(w, kbc->fifo[at].data);
		state_put_u8(w, kbc->fifo[at].aux);
	}
	ps2_mouse_save(&kbc->mouse, w);
	pthread_mutex_unlock(&kbc->lock);
	return 0;
}

static int i8042_load(struct device *dev, struct state_reader *r,
		      uint32_t version)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);
	uint8_t irq_level, aux_level = 0, count, aux;
	int ret;

	ret = state_get_u8(r, &kbc->ctr);
	ret = ret ?: state_get_u8(r, &kbc->status);
	ret = ret ?: state_get_u8(r, &kbc->pending_cmd);
	ret = ret ?: state_get_u8(r, &kbc->kbd_cmd);
	ret = ret ?: state_get_u8(r, &kbc->kbd_scanset);
	ret = ret ?: state_get_u8(r, &irq_level);
	/* Version 1 had no mouse: it stays as created, line low. */
	if (version >= 2)
		ret = ret ?: state_get_u8(r, &aux_level);
	ret = ret ?: state_get_u8(r, &count);
	if (ret)
		return ret;
	if (count > I8042_FIFO_SIZE || irq_level > 1 || aux_level > 1 ||
	    kbc->kbd_scanset < 1 || kbc->kbd_scanset > 3)
		return state_fail(r, "i8042: bad state (fifo %u, scan set %u)",
				  count, kbc->kbd_scanset);
	kbc->head = 0;
	kbc->count = count;
	kbc->irq_level = irq_level;
	kbc->aux_irq_level = aux_level;
	for (unsigned i = 0; i < count; i++) {
		ret = state_get_u8(r, &kbc->fifo[i].data);
		ret = ret ?: state_get_u8(r, &aux);
		if (ret)
			return ret;
		if (aux > 1)
			return state_fail(r, "i8042: bad state (fifo byte source %u)",
					  aux);
		kbc->fifo[i].aux = aux;
	}
	return version >= 2 ? ps2_mouse_load(&kbc->mouse, r) : 0;
}

void i8042_key(struct device *dev, unsigned key, bool down)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);
	uint8_t code[2];
	unsigned n = keymap_to_set1(key, down, code);

	pthread_mutex_lock(&kbc->lock);
	/* A key's bytes go in whole or not at all. */
	if (n && !(kbc->ctr & CTR_KBD_DISABLE) &&
	    ((kbc->ctr & CTR_XLATE) || kbc->kbd_scanset == 1) &&
	    I8042_FIFO_SIZE - kbc->count >= n) {
		for (unsigned i = 0; i < n; i++)
			i8042_push(kbc, code[i], false);
	}
	pthread_mutex_unlock(&kbc->lock);
}

void i8042_mouse(struct device *dev, int dx, int dy, int dz,
		 unsigned buttons)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);

	pthread_mutex_lock(&kbc->lock);
	ps2_mouse_move(&kbc->mouse, dx, dy, dz, buttons);
	i8042_mouse_flush(kbc);
	pthread_mutex_unlock(&kbc->lock);
}

bool i8042_mouse_active(struct device *dev)
{
	struct i8042 *kbc = container_of(dev, struct i8042, dev);
	bool on;

	pthread_mutex_lock(&kbc->lock);
	on = ps2_mouse_reporting(&kbc->mouse);
	pthread_mutex_unlock(&kbc->lock);
	return on;
}

/* Version 2 added the mouse and its interrupt line; 1 still loads. */
static const struct device_ops i8042_dev_ops = {
	.state_version = 2,
	.min_state_version = 1,
	.save = i8042_save,
	.load = i8042_load,
	.destroy = i8042_destroy,
};

/* Two ranges: 0x61 between them (PIT gate/speaker) belongs to the PIT. */
int i8042_create(const struct dev_env *env, unsigned gsi, unsigned aux_gsi,
		 struct device **out)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));
	int ret;

	if (!kbc)
		return -ENOMEM;
	kbc->dev.ops = &i8042_dev_ops;
	snprintf(kbc->dev.name, sizeof(kbc->dev.name), "i8042");
	kbc->pio = env->pio;
	kbc->irq = (struct irq_line){ env->irq, gsi };
	kbc->aux_irq = (struct irq_line){ env->irq, aux_gsi };
	kbc->power = env->power;
	pthread_mutex_init(&kbc->lock, NULL);
	/* As firmware leaves it: self-test passed, translation on. */
	kbc->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
	kbc->status = STS_SYS;
	kbc->kbd_scanset = 2;
	ps2_mouse_reset(&kbc->mouse);
	ret = bus_register(env->pio, PORT_I8042_DATA, 1, &i8042_data_ops, kbc,
			   "i8042-data");
	if (ret)
		goto err_free;
	ret = bus_register(env->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, kbc,
			   "i8042-cmd");
	if (ret)
		goto err_data;
	*out = &kbc->dev;
	return 0;

err_data:
	bus_unregister(env->pio, PORT_I8042_DATA, kbc);
err_free:
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
	return ret;
}
