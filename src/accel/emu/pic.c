// SPDX-License-Identifier: MIT
/*
 * The AT's pair of 8259A PICs (Intel 8259A datasheet): master at 0x20/0x21,
 * slave at 0xA0/0xA1 cascaded on master IR2, plus the edge/level control
 * registers (ELCR) at 0x4D0/0x4D1. The master's INT output reaches the
 * CPUs through LINT0 in ExtINT (virtual wire) mode; the CPU's INTA cycle is
 * pic_intack.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "accel/emu/irqchip_priv.h"
#include "accel/state_read.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm.h"


struct i8259 {
	uint8_t irr, imr, isr;
	uint8_t lines;			/* input levels */
	uint8_t elcr, elcr_mask;	/* 1 = level-triggered input */
	uint8_t base;			/* ICW2: vector of IR0 */
	uint8_t lowest;			/* rotation: IR with lowest priority */
	uint8_t init_step;		/* next ICW expected on A0=1, 0: none */
	bool need_icw4, single, auto_eoi, rotate_aeoi, sfnm;
	bool special_mask, read_isr, poll;
	bool master;
};

struct pic {
	struct emu_irqchip *chip;
	pthread_mutex_t lock;
	struct log_limit log;		/* the guest errors it reports */
	struct i8259 c[2];
	atomic_bool output;		/* master INT */
};

/* Priority rank (0 = highest) of the best request in mask, 8 if none. */
static int pic_best_rank(const struct i8259 *c, uint8_t mask)
{
	for (int rank = 0; rank < 8; rank++)
		if (mask & (1u << ((rank + c->lowest + 1) & 7)))
			return rank;
	return 8;
}

static int pic_rank_irq(const struct i8259 *c, int rank)
{
	return (rank + c->lowest + 1) & 7;
}

/* The IR this 8259 would signal now, or -1. */
static int pic_get_irq(const struct i8259 *c)
{
	int req = pic_best_rank(c, c->irr & ~c->imr);
	uint8_t busy = c->isr;

	if (req == 8)
		return -1;
	if (c->special_mask)
		busy &= ~c->imr;
	/* Special fully nested: the slave may interrupt its own service. */
	if (c->master && c->sfnm)
		busy &= ~(1u << 2);
	return req < pic_best_rank(c, busy) ? pic_rank_irq(c, req) : -1;
}

static void pic_set_line(struct i8259 *c, int irq, bool level)
{
	uint8_t bit = 1u << irq;

	if (level && ((c->elcr & bit) || !(c->lines & bit)))
		c->irr |= bit;
	else if (!level && (c->elcr & bit))
		c->irr &= ~bit;
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* Propagate slave -> master IR2 -> INT; true if INT rose. */
static bool pic_update(struct pic *pic)
{
	bool slave = pic_get_irq(&pic->c[1]) >= 0, out;

	/* The cascade line follows the slave's INT like a level input. */
	if (slave)
		pic->c[0].irr |= 1u << 2;
	else
		pic->c[0].irr &= ~(1u << 2);
	out = pic_get_irq(&pic->c[0]) >= 0;
	return !atomic_exchange(&pic->output, out) && out;
}

static void pic_notify(struct pic *pic, bool rose)
{
	if (rose)
		irqchip_pic_intr(pic->chip);
}

static void pic_ack(struct i8259 *c, int irq)
{
	uint8_t bit = 1u << irq;

	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->lowest = irq;
	} else {
		c->isr |= bit;
	}
	if (!(c->elcr & bit))
		c->irr &= ~bit;
}

void pic_set_irq(struct pic *pic, unsigned irq, int level)
{
	bool rose;

	if (irq >= 16)
		return;
	pthread_mutex_lock(&pic->lock);
	pic_set_line(&pic->c[irq >> 3], irq & 7, level);
	rose = pic_update(pic);
	pthread_mutex_unlock(&pic->lock);
	pic_notify(pic, rose);
}

bool pic_intr_output(struct pic *pic)
{
	return atomic_load_explicit(&pic->output, memory_order_acquire);
}

/* The vector of an INTA now; with ack, also the ISR/IRR side effects. */
static int pic_inta(struct pic *pic, bool ack)
{
	struct i8259 *m = &pic->c[0], *s = &pic->c[1];
	int irq = pic_get_irq(m), sirq;

	if (irq < 0)
		return -1;
	if (ack)
		pic_ack(m, irq);
	if (irq != 2 || m->single)
		return m->base + irq;
	sirq = pic_get_irq(s);
	if (sirq < 0)
		return s->base + 7;	/* spurious IRQ 15 */
	if (ack)
		pic_ack(s, sirq);
	return s->base + sirq;
}

int pic_peek_vector(struct pic *pic)
{
	int v;

	pthread_mutex_lock(&pic->lock);
	v = pic_inta(pic, false);
	pthread_mutex_unlock(&pic->lock);
	return v;
}

void pic_intack(struct pic *pic, int vector)
{
	bool rose;

	pthread_mutex_lock(&pic->lock);
	/* A request withdrawn since the peek: the CPU saw spurious IRQ 7. */
	if (pic_inta(pic, true) < 0)
		log_debug("pic: vector %d withdrawn before INTA", vector);
	rose = pic_update(pic);
	pthread_mutex_unlock(&pic->lock);
	pic_notify(pic, rose);
}

static void pic_icw1(struct i8259 *c, uint8_t val)
{
	c->need_icw4 = val & 1;
	c->single = val & 2;
	/* The edge sense latch is reset: edges must be seen anew. */
	c->irr = c->lines & c->elcr;
	c->imr = c->isr = 0;
	c->lowest = 7;
	c->special_mask = c->read_isr = c->poll = false;
	c->rotate_aeoi = false;
	if (!c->need_icw4)
		c->auto_eoi = c->sfnm = false;
	c->init_step = 2;
}

static void pic_ocw2(struct i8259 *c, uint8_t val)
{
	int irq = val & 7, rank;

	switch (val >> 5) {
	case 0:				/* rotate in AEOI mode: clear */
	case 4:				/* rotate in AEOI mode: set */
		c->rotate_aeoi = val >> 7;
		break;
	case 1:				/* non-specific EOI */
	case 5:				/* rotate on non-specific EOI */
		rank = pic_best_rank(c, c->isr);
		if (rank == 8)
			break;
		irq = pic_rank_irq(c, rank);
		c->isr &= ~(1u << irq);
		if (val >> 5 == 5)
			c->lowest = irq;
		break;
	case 3:				/* specific EOI */
		c->isr &= ~(1u << irq);
		break;
	case 7:				/* rotate on specific EOI */
		c->isr &= ~(1u << irq);
		c->lowest = irq;
		break;
	case 6:				/* set priority */
		c->lowest = irq;
		break;
	default:			/* no operation */
		break;
	}
}

static void pic_ocw3(struct i8259 *c, uint8_t val)
{
	if (val & 4)
		c->poll = true;
	if (val & 2)
		c->read_isr = val & 1;
	if (val & 0x40)
		c->special_mask = val & 0x20;
}

static void pic_write_data(struct pic *pic, struct i8259 *c, uint8_t val)
{
	switch (c->init_step) {
	case 2:
		c->base = val & 0xf8;
		c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:				/* cascade wiring is fixed */
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	case 4:
		if (!(val & 1))
			log_limited(&pic->log, "pic %s: 8080 mode (ICW4 uPM=0) "
				    "not supported", c->master ? "master" : "slave");
		c->auto_eoi = val & 2;
		c->sfnm = val & 0x10;
		c->init_step = 0;
		break;
	default:
		c->imr = val;			/* OCW1 */
		break;
	}
}

static uint8_t pic_read_port(struct i8259 *c, unsigned port)
{
	int irq;

	if (port)
		return c->imr;
	if (!c->poll)
		return c->read_isr ? c->isr : c->irr;
	/* Poll: an INTA without the CPU; reports the IR it acknowledged. */
	c->poll = false;
	irq = pic_get_irq(c);
	if (irq < 0)
		return 0;
	pic_ack(c, irq);
	return 0x80 | irq;
}

static void pic_write_port(struct pic *pic, struct i8259 *c, unsigned port,
			   uint8_t val)
{
	if (port)
		pic_write_data(pic, c, val);
	else if (val & 0x10)
		pic_icw1(c, val);
	else if (val & 0x08)
		pic_ocw3(c, val);
	else
		pic_ocw2(c, val);
}

/*
 * The three port ranges share these two functions; the range is tagged in
 * the offset: bit 8 selects the slave, bit 9 the ELCR pair.
 */
static uint64_t pic_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pic *pic = opaque;
	struct i8259 *c = &pic->c[off >> 8 & 1];
	uint64_t val = 0;
	bool rose;

	pthread_mutex_lock(&pic->lock);
	for (unsigned i = 0; i < size && (off & 0xff) + i < 2; i++) {
		unsigned port = (off & 0xff) + i;
		uint8_t b;

		if (off >> 9)
			b = pic->c[port].elcr;
		else
			b = pic_read_port(c, port);
		val |= (uint64_t)b << (8 * i);
	}
	rose = pic_update(pic);
	pthread_mutex_unlock(&pic->lock);
	pic_notify(pic, rose);
	return val;
}

static void pic_io_write(void *opaque, uint64_t off, uint64_t val,
			 unsigned size)
{
	struct pic *pic = opaque;
	struct i8259 *c = &pic->c[off >> 8 & 1];
	bool rose;

	pthread_mutex_lock(&pic->lock);
	for (unsigned i = 0; i < size && (off & 0xff) + i < 2; i++) {
		unsigned port = (off & 0xff) + i;
		uint8_t b = val >> (8 * i);

		if (off >> 9) {
			struct i8259 *e = &pic->c[port];

			e->elcr = b & e->elcr_mask;
			e->irr = (e->irr & ~e->elcr) | (e->lines & e->elcr);
		} else {
			pic_write_port(pic, c, port, b);
		}
	}
	rose = pic_update(pic);
	pthread_mutex_unlock(&pic->lock);
	pic_notify(pic, rose);
}

static uint64_t pic_master_read(void *o, uint64_t off, unsigned size)
{
	return pic_io_read(o, off, size);
}

static uint64_t pic_slave_read(void *o, uint64_t off, unsigned size)
{
	return pic_io_read(o, off | 0x100, size);
}

static uint64_t pic_elcr_read(void *o, uint64_t off, unsigned size)
{
	return pic_io_read(o, off | 0x200, size);
}

static void pic_master_write(void *o, uint64_t off, uint64_t v, unsigned sz)
{
	pic_io_write(o, off, v, sz);
}

static void pic_slave_write(void *o, uint64_t off, uint64_t v, unsigned sz)
{
	pic_io_write(o, off | 0x100, v, sz);
}

static void pic_elcr_write(void *o, uint64_t off, uint64_t v, unsigned sz)
{
	pic_io_write(o, off | 0x200, v, sz);
}

static const struct bus_ops pic_master_ops = {
	.read = pic_master_read, .write = pic_master_write,
};
static const struct bus_ops pic_slave_ops = {
	.read = pic_slave_read, .write = pic_slave_write,
};
static const struct bus_ops pic_elcr_ops = {
	.read = pic_elcr_read, .write = pic_elcr_write,
};

static void pic_reset(struct i8259 *c, bool master)
{
	*c = (struct i8259){
		.master = master,
		.lowest = 7,
		/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge. */
		.elcr_mask = master ? 0xf8 : 0xde,
		.base = master ? 0x08 : 0x70,
	};
}

struct pic *pic_create(struct emu_irqchip *chip)
{
	struct pic *pic = calloc(1, sizeof(*pic));
	struct bus *pio = &chip->vm->pio;

	if (!pic)
		return NULL;
	pic->chip = chip;
	pthread_mutex_init(&pic->lock, NULL);
	pic_reset(&pic->c[0], true);
	pic_reset(&pic->c[1], false);
	if (bus_register(pio, PORT_PIC_MASTER, 2, &pic_master_ops, pic,
			 "pic-master"))
		goto err;
	if (bus_register(pio, PORT_PIC_SLAVE, 2, &pic_slave_ops, pic,
			 "pic-slave"))
		goto err_master;
	if (bus_register(pio, PORT_ELCR, 2, &pic_elcr_ops, pic, "elcr"))
		goto err_slave;
	return pic;
err_slave:
	bus_unregister(pio, PORT_PIC_SLAVE, pic);
err_master:
	bus_unregister(pio, PORT_PIC_MASTER, pic);
err:
	pthread_mutex_destroy(&pic->lock);
	free(pic);
	return NULL;
}

void pic_destroy(struct pic *pic)
{
	struct bus *pio;

	if (!pic)
		return;
	pio = &pic->chip->vm->pio;
	bus_unregister(pio, PORT_ELCR, pic);
	bus_unregister(pio, PORT_PIC_SLAVE, pic);
	bus_unregister(pio, PORT_PIC_MASTER, pic);
	pthread_mutex_destroy(&pic->lock);
	free(pic);
}

/* Snapshot: both 8259s, master first, every register and mode bit. */
static void pic_save_one(const struct i8259 *c, struct state_writer *w)
{
	state_put_u8(w, c->irr);
	state_put_u8(w, c->imr);
	state_put_u8(w, c->isr);
	state_put_u8(w, c->lines);
	state_put_u8(w, c->elcr);
	state_put_u8(w, c->base);
	state_put_u8(w, c->lowest);
	state_put_u8(w, c->init_step);
	state_put_u8(w, c->need_icw4);
	state_put_u8(w, c->single);
	state_put_u8(w, c->auto_eoi);
	state_put_u8(w, c->rotate_aeoi);
	state_put_u8(w, c->sfnm);
	state_put_u8(w, c->special_mask);
	state_put_u8(w, c->read_isr);
	state_put_u8(w, c->poll);
}

void pic_save(struct pic *pic, struct state_writer *w)
{
	pthread_mutex_lock(&pic->lock);
	pic_save_one(&pic->c[0], w);
	pic_save_one(&pic->c[1], w);
	pthread_mutex_unlock(&pic->lock);
}

static void pic_read_one(struct state_reader *r, struct i8259 *c, int *err)
{
	c->irr = sread_u8(r, err);
	c->imr = sread_u8(r, err);
	c->isr = sread_u8(r, err);
	c->lines = sread_u8(r, err);
	c->elcr = sread_u8(r, err);
	c->base = sread_u8(r, err);
	c->lowest = sread_u8(r, err);
	c->init_step = sread_u8(r, err);
	c->need_icw4 = sread_bool(r, err);
	c->single = sread_bool(r, err);
	c->auto_eoi = sread_bool(r, err);
	c->rotate_aeoi = sread_bool(r, err);
	c->sfnm = sread_bool(r, err);
	c->special_mask = sread_bool(r, err);
	c->read_isr = sread_bool(r, err);
	c->poll = sread_bool(r, err);
}

static const char *pic_check(const struct i8259 *c)
{
	if (c->elcr & ~c->elcr_mask)
		return "ELCR makes a fixed edge input level-triggered";
	if (c->base & 7)
		return "vector base not a multiple of 8";
	if (c->lowest > 7)
		return "lowest priority IR out of range";
	if (c->init_step == 1 || c->init_step > 4)
		return "initialization step out of range";
	return NULL;
}

int pic_load(struct pic *pic, struct state_reader *r)
{
	struct i8259 c[2] = { pic->c[0], pic->c[1] };
	const char *bad;
	bool rose;
	int err = 0;

	for (int i = 0; i < 2; i++)
		pic_read_one(r, &c[i], &err);
	if (err)
		return state_fail(r, "PIC: %s", sread_error(err));
	for (int i = 0; i < 2; i++) {
		bad = pic_check(&c[i]);
		if (bad)
			return state_fail(r, "PIC %s: %s",
					  i ? "slave" : "master", bad);
	}
	pthread_mutex_lock(&pic->lock);
	pic->c[0] = c[0];
	pic->c[1] = c[1];
	rose = pic_update(pic);
	pthread_mutex_unlock(&pic->lock);
	pic_notify(pic, rose);
	return 0;
}
