// SPDX-License-Identifier: MIT
/*
 * The 8254 programmable interval timer (Intel 8254 datasheet): three 16-bit
 * counters at 1.193182 MHz on ports 0x40-0x42, the control word (and
 * read-back command) on 0x43, and the AT's system control port B (0x61)
 * with channel 2's gate and OUT. Counter values are computed from
 * guest time (emu_irqchip_now) when read; channel 0's OUT rising edges drive IRQ 0 (PIC
 * IRQ 0, IOAPIC pin 2) from the irqchip's timer thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "accel/emu/irqchip_priv.h"
#include "accel/emu/tsc.h"
#include "accel/state_read.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PIT_HZ			1193182ull
#define PIT_IOAPIC_PIN		2	/* ISA IRQ 0 per the MADT override */
/* Channel 0 interrupts faster than this are slowed down to it. */
#define PIT_MIN_PERIOD_NS	100000ull

#define RW_LATCH		0
#define RW_LSB			1
#define RW_MSB			2
#define RW_WORD			3

struct pit_channel {
	uint8_t mode, rw;
	bool bcd;
	uint32_t count;			/* reload value, 1..65536 */
	bool counting;			/* a count was written */
	bool gate;
	bool armed;			/* modes 1, 5: gate rose since load */
	uint64_t load_ns;		/* counting from count since then */
	bool held;			/* gate low: counting suspended */
	uint64_t held_ticks;
	bool null_count;
	/* access state */
	bool write_msb, read_msb;
	uint8_t write_lsb;
	int latch_bytes;		/* latched count bytes left to read */
	uint16_t latch;
	bool status_latched;
	uint8_t status;
};

struct pit {
	struct emu_irqchip *chip;
	pthread_mutex_t lock;
	struct log_limit log;		/* the guest errors it reports */
	struct pit_channel ch[3];
	bool speaker;			/* port 0x61 bit 1 */
	uint8_t port61_other;		/* bits 2, 3: stored, unused */
	atomic_uint_fast64_t irq_ns;	/* channel 0's next rising edge */
};

static uint64_t pit_ticks_to_ns(uint64_t ticks)
{
	return ((unsigned __int128)ticks * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t pit_ticks(const struct pit_channel *ch, uint64_t now)
{
	if (ch->held)
		return ch->held_ticks;
	if (now < ch->load_ns)
		return 0;
	return (unsigned __int128)(now - ch->load_ns) * PIT_HZ / 1000000000ull;
}

static bool pit_running(const struct pit_channel *ch)
{
	return ch->counting && ((ch->mode != 1 && ch->mode != 5) || ch->armed);
}

static bool pit_out(const struct pit_channel *ch, uint64_t now)
{
	uint64_t t = pit_ticks(ch, now), n = ch->count;

	if (!pit_running(ch))
		return ch->mode != 0;
	switch (ch->mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
		return !ch->gate || t % n != n - 1;
	case 3:
		return !ch->gate || t % n < (n + 1) / 2;
	default:			/* 4, 5: one low tick at terminal count */
		return t != n;
	}
}

static uint16_t pit_value(const struct pit_channel *ch, uint64_t now)
{
	uint64_t t = pit_ticks(ch, now), n = ch->count;

	if (!pit_running(ch))
		return n;
	switch (ch->mode) {
	case 2:
		return n - t % n;
	case 3:
		return n - (2 * t) % n;
	default:			/* 0, 1, 4, 5 wrap after terminal count */
		return n - t;
	}
}

static uint8_t pit_status(const struct pit_channel *ch, uint64_t now)
{
	return pit_out(ch, now) << 7 | ch->null_count << 6 | ch->rw << 4 |
	       ch->mode << 1 | ch->bcd;
}

/* Channel 0: the next OUT rising edge after now, 0 if none. */
static void pit_arm_irq(struct pit *pit, uint64_t now)
{
	struct pit_channel *ch = &pit->ch[0];
	uint64_t t = pit_ticks(ch, now), n = ch->count, next = 0, k;

	if (pit_running(ch)) {
		if (ch->mode == 2 || ch->mode == 3) {
			k = t / n + 1;
			next = ch->load_ns + pit_ticks_to_ns(k * n);
			if (pit_ticks_to_ns(n) < PIT_MIN_PERIOD_NS &&
			    next < now + PIT_MIN_PERIOD_NS)
				next = now + PIT_MIN_PERIOD_NS;
		} else if (t < n) {
			next = ch->load_ns + pit_ticks_to_ns(n);
		}
	}
	atomic_store(&pit->irq_ns, next);
	irqchip_timer_kick(pit->chip);
}

static void pit_load_count(struct pit *pit, int idx, uint32_t val,
			   uint64_t now)
{
	struct pit_channel *ch = &pit->ch[idx];

	if (ch->bcd)
		log_limited(&pit->log, "pit: BCD counting not supported, "
			    "counting binary");
	ch->count = val ? val : 0x10000;
	ch->counting = true;
	ch->null_count = false;
	ch->armed = false;
	ch->load_ns = now;
	/* Modes 0, 2, 3, 4 do not count while the gate is low. */
	ch->held = !ch->gate && ch->mode != 1 && ch->mode != 5;
	ch->held_ticks = 0;
	if (idx == 0)
		pit_arm_irq(pit, now);
}

static void pit_set_gate(struct pit_channel *ch, bool gate, uint64_t now)
{
	if (gate == ch->gate)
		return;
	ch->gate = gate;
	if (!ch->counting)
		return;
	if (ch->mode == 1 || ch->mode == 5) {
		if (gate) {		/* trigger: (re)start the count */
			ch->armed = true;
			ch->load_ns = now;
		}
	} else if (!gate) {
		ch->held_ticks = pit_ticks(ch, now);
		ch->held = true;
	} else if (ch->mode == 0 || ch->mode == 4) {
		ch->load_ns = now - pit_ticks_to_ns(ch->held_ticks);
		ch->held = false;
	} else {			/* 2, 3: reload on the gate's rise */
		ch->load_ns = now;
		ch->held = false;
	}
}

static void pit_control(struct pit *pit, uint8_t val, uint64_t now)
{
	unsigned sc = val >> 6, rw = (val >> 4) & 3;
	struct pit_channel *ch;

	if (sc == 3) {			/* read-back */
		for (int i = 0; i < 3; i++) {
			ch = &pit->ch[i];
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20) && !ch->latch_bytes) {
				ch->latch = pit_value(ch, now);
				ch->latch_bytes = ch->rw == RW_WORD ? 2 : 1;
			}
			if (!(val & 0x10) && !ch->status_latched) {
				ch->status = pit_status(ch, now);
				ch->status_latched = true;
			}
		}
		return;
	}
	ch = &pit->ch[sc];
	if (rw == RW_LATCH) {
		if (!ch->latch_bytes) {
			ch->latch = pit_value(ch, now);
			ch->latch_bytes = ch->rw == RW_WORD ? 2 : 1;
		}
		return;
	}
	ch->rw = rw;
	ch->mode = (val >> 1) & 7;
	if (ch->mode > 5)
		ch->mode -= 4;		/* 6, 7 are aliases of 2, 3 */
	ch->bcd = val & 1;
	ch->counting = false;
	ch->null_count = true;
	ch->write_msb = ch->read_msb = false;
	ch->latch_bytes = 0;
	ch->status_latched = false;
	if (sc == 0)
		pit_arm_irq(pit, now);
}

static void pit_write_counter(struct pit *pit, int idx, uint8_t val,
			      uint64_t now)
{
	struct pit_channel *ch = &pit->ch[idx];

	switch (ch->rw) {
	case RW_LSB:
		pit_load_count(pit, idx, val, now);
		break;
	case RW_MSB:
		pit_load_count(pit, idx, (uint32_t)val << 8, now);
		break;
	case RW_WORD:
		if (!ch->write_msb) {
			ch->write_lsb = val;
			ch->write_msb = true;
			/* Mode 0 stops counting at the first byte. */
			if (ch->mode == 0) {
				ch->counting = false;
				if (idx == 0)
					pit_arm_irq(pit, now);
			}
			break;
		}
		ch->write_msb = false;
		pit_load_count(pit, idx, ch->write_lsb | (uint32_t)val << 8, now);
		break;
	default:
		log_limited(&pit->log, "pit: counter %d written before its "
			    "control word", idx);
		break;
	}
}

static uint8_t pit_read_counter(struct pit_channel *ch, uint64_t now)
{
	uint16_t v;

	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->latch_bytes) {
		v = ch->latch;
		if (ch->rw == RW_WORD && ch->latch_bytes == 2) {
			ch->latch_bytes = 1;
			return v & 0xff;
		}
		ch->latch_bytes = 0;
		return ch->rw == RW_LSB ? v & 0xff : v >> 8;
	}
	v = pit_value(ch, now);
	switch (ch->rw) {
	case RW_LSB:
		return v & 0xff;
	case RW_MSB:
		return v >> 8;
	default:
		ch->read_msb = !ch->read_msb;
		return ch->read_msb ? v & 0xff : v >> 8;
	}
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pit *pit = opaque;
	uint64_t now = emu_irqchip_now(pit->chip);
	uint8_t val = 0xff;

	(void)size;
	pthread_mutex_lock(&pit->lock);
	if (off < 3)
		val = pit_read_counter(&pit->ch[off], now);
	pthread_mutex_unlock(&pit->lock);
	return val;
}

static void pit_io_write(void *opaque, uint64_t off, uint64_t val,
			 unsigned size)
{
	struct pit *pit = opaque;
	uint64_t now = emu_irqchip_now(pit->chip);

	(void)size;
	pthread_mutex_lock(&pit->lock);
	if (off < 3)
		pit_write_counter(pit, off, val, now);
	else
		pit_control(pit, val, now);
	pthread_mutex_unlock(&pit->lock);
}

/*
 * Port 0x61: bit 0 gate 2, bit 1 speaker data, bit 4 the refresh request
 * toggle (every 15 us), bit 5 OUT2.
 */
static uint64_t pit_port61_read(void *opaque, uint64_t off, unsigned size)
{
	struct pit *pit = opaque;
	uint64_t now = emu_irqchip_now(pit->chip);
	uint8_t val;

	(void)off;
	(void)size;
	pthread_mutex_lock(&pit->lock);
	val = pit->ch[2].gate | pit->speaker << 1 | pit->port61_other |
	      ((now / 15085) & 1) << 4 | pit_out(&pit->ch[2], now) << 5;
	pthread_mutex_unlock(&pit->lock);
	return val;
}

static void pit_port61_write(void *opaque, uint64_t off, uint64_t val,
			     unsigned size)
{
	struct pit *pit = opaque;

	(void)off;
	(void)size;
	pthread_mutex_lock(&pit->lock);
	pit_set_gate(&pit->ch[2], val & 1, emu_irqchip_now(pit->chip));
	pit->speaker = val & 2;
	pit->port61_other = val & 0x0c;
	pthread_mutex_unlock(&pit->lock);
}

static const struct bus_ops pit_ops = {
	.read = pit_io_read,
	.write = pit_io_write,
};

static const struct bus_ops pit_port61_ops = {
	.read = pit_port61_read,
	.write = pit_port61_write,
};

uint64_t pit_timer_deadline(struct pit *pit)
{
	return atomic_load(&pit->irq_ns);
}

void pit_timer_expire(struct pit *pit, uint64_t now_ns)
{
	struct emu_irqchip *chip = pit->chip;
	uint64_t due;

	pthread_mutex_lock(&pit->lock);
	due = atomic_load(&pit->irq_ns);
	if (!due || due > now_ns) {
		pthread_mutex_unlock(&pit->lock);
		return;
	}
	pit_arm_irq(pit, now_ns);
	pthread_mutex_unlock(&pit->lock);
	/* A rising edge of OUT0; late periods collapse into one. */
	ioapic_set_irq(chip->ioapic, PIT_IOAPIC_PIN, 1);
	ioapic_set_irq(chip->ioapic, PIT_IOAPIC_PIN, 0);
	pic_set_irq(chip->pic, 0, 1);
	pic_set_irq(chip->pic, 0, 0);
}

struct pit *pit_create(struct emu_irqchip *chip)
{
	struct pit *pit = calloc(1, sizeof(*pit));
	struct bus *pio = &chip->vm->pio;

	if (!pit)
		return NULL;
	pit->chip = chip;
	pthread_mutex_init(&pit->lock, NULL);
	for (int i = 0; i < 3; i++) {
		pit->ch[i].gate = i != 2;
		pit->ch[i].count = 0x10000;
	}
	if (bus_register(pio, PORT_PIT, 4, &pit_ops, pit, "pit"))
		goto err;
	if (bus_register(pio, PORT_SYSCTRL_B, 1, &pit_port61_ops, pit,
			 "port61")) {
		bus_unregister(pio, PORT_PIT, pit);
		goto err;
	}
	return pit;
err:
	pthread_mutex_destroy(&pit->lock);
	free(pit);
	return NULL;
}

void pit_destroy(struct pit *pit)
{
	struct bus *pio;

	if (!pit)
		return;
	pio = &pit->chip->vm->pio;
	bus_unregister(pio, PORT_SYSCTRL_B, pit);
	bus_unregister(pio, PORT_PIT, pit);
	pthread_mutex_destroy(&pit->lock);
	free(pit);
}

/*
 * Snapshot: the three channels (times in guest ns), port 0x61 and channel
 * 0's next interrupt.
 */
static void pit_save_channel(const struct pit_channel *ch,
			     struct state_writer *w)
{
	state_put_u8(w, ch->mode);
	state_put_u8(w, ch->rw);
	state_put_u8(w, ch->bcd);
	state_put_u32(w, ch->count);
	state_put_u8(w, ch->counting);
	state_put_u8(w, ch->gate);
	state_put_u8(w, ch->armed);
	state_put_u64(w, ch->load_ns);
	state_put_u8(w, ch->held);
	state_put_u64(w, ch->held_ticks);
	state_put_u8(w, ch->null_count);
	state_put_u8(w, ch->write_msb);
	state_put_u8(w, ch->read_msb);
	state_put_u8(w, ch->write_lsb);
	state_put_u8(w, ch->latch_bytes);
	state_put_u16(w, ch->latch);
	state_put_u8(w, ch->status_latched);
	state_put_u8(w, ch->status);
}

void pit_save(struct pit *pit, struct state_writer *w)
{
	pthread_mutex_lock(&pit->lock);
	for (int i = 0; i < 3; i++)
		pit_save_channel(&pit->ch[i], w);
	state_put_u8(w, pit->speaker);
	state_put_u8(w, pit->port61_other);
	state_put_u64(w, atomic_load(&pit->irq_ns));
	pthread_mutex_unlock(&pit->lock);
}

static void pit_read_channel(struct state_reader *r, struct pit_channel *ch,
			     int *err)
{
	ch->mode = sread_u8(r, err);
	ch->rw = sread_u8(r, err);
	ch->bcd = sread_bool(r, err);
	ch->count = sread_u32(r, err);
	ch->counting = sread_bool(r, err);
	ch->gate = sread_bool(r, err);
	ch->armed = sread_bool(r, err);
	ch->load_ns = sread_u64(r, err);
	ch->held = sread_bool(r, err);
	ch->held_ticks = sread_u64(r, err);
	ch->null_count = sread_bool(r, err);
	ch->write_msb = sread_bool(r, err);
	ch->read_msb = sread_bool(r, err);
	ch->write_lsb = sread_u8(r, err);
	ch->latch_bytes = sread_u8(r, err);
	ch->latch = sread_u16(r, err);
	ch->status_latched = sread_bool(r, err);
	ch->status = sread_u8(r, err);
}

/* pit_value and pit_out divide by count and never see a mode above 5. */
static const char *pit_check(const struct pit_channel *ch)
{
	if (ch->mode > 5 || ch->rw > RW_WORD)
		return "mode or access out of range";
	if (ch->count < 1 || ch->count > 0x10000)
		return "reload value out of range";
	if (ch->latch_bytes > 2)
		return "latched byte count out of range";
	return NULL;
}

int pit_load(struct pit *pit, struct state_reader *r)
{
	struct pit_channel ch[3];
	bool speaker;
	uint8_t other;
	uint64_t irq_ns;
	const char *bad;
	int err = 0;

	for (int i = 0; i < 3; i++)
		pit_read_channel(r, &ch[i], &err);
	speaker = sread_bool(r, &err);
	other = sread_u8(r, &err);
	irq_ns = sread_u64(r, &err);
	if (err)
		return state_fail(r, "PIT: %s", sread_error(err));
	for (int i = 0; i < 3; i++) {
		bad = pit_check(&ch[i]);
		if (bad)
			return state_fail(r, "PIT channel %d: %s", i, bad);
	}
	if (other & ~0x0c)
		return state_fail(r, "PIT: port 0x61 bits %#x out of range",
				  other);
	pthread_mutex_lock(&pit->lock);
	memcpy(pit->ch, ch, sizeof(ch));
	pit->speaker = speaker;
	pit->port61_other = other;
	atomic_store(&pit->irq_ns, irq_ns);
	pthread_mutex_unlock(&pit->lock);
	irqchip_timer_kick(pit->chip);
	return 0;
}
