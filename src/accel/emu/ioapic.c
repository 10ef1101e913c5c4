// SPDX-License-Identifier: MIT
/*
 * I/O APIC after the Intel 82093AA datasheet: 24 redirection entries
 * reached through IOREGSEL (offset 0x00) and IOWIN (offset 0x10), edge and
 * level inputs, remote IRR for level-triggered entries cleared by the
 * LAPICs' EOI broadcast. Deliveries go out on the APIC bus (irqchip.c).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/irqchip_priv.h"
#include "accel/state_read.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define IOAPIC_REG_SEL		0x00
#define IOAPIC_REG_WIN		0x10

#define IOAPIC_ID		0x00
#define IOAPIC_VER		0x01
#define IOAPIC_ARB		0x02
#define IOAPIC_REDTBL		0x10

/* Version 0x11, maximum redirection entry 23. */
#define IOAPIC_VERSION_VAL	(0x11u | ((IRQ_IOAPIC_PINS - 1u) << 16))

#define RTE_VECTOR(e)		((e) & 0xff)
#define RTE_MODE(e)		(((e) >> 8) & 7)
#define RTE_LOGICAL		(1ull << 11)
#define RTE_REMOTE_IRR		(1ull << 14)
#define RTE_LEVEL		(1ull << 15)
#define RTE_MASKED		(1ull << 16)
#define RTE_DEST(e)		((uint32_t)((e) >> 56))
/* Guest-writable: all but delivery status (12) and remote IRR (14). */
#define RTE_WRITABLE_LO		0x1afffull
#define RTE_WRITABLE_HI		0xff000000ull

struct ioapic {
	struct emu_irqchip *chip;
	pthread_mutex_t lock;
	struct log_limit log;		/* the guest errors it reports */
	uint32_t regsel;
	uint32_t id;
	uint32_t lines;			/* input pins currently asserted */
	uint64_t rte[IRQ_IOAPIC_PINS];
};

/* Pins to deliver once the lock is dropped. */
struct ioapic_batch {
	int nr;
	struct apic_msg msg[IRQ_IOAPIC_PINS];
};

/*
 * Queue pin's interrupt. Level-triggered fixed and lowest-priority entries
 * stay busy (remote IRR) until the EOI comes back.
 */
static void ioapic_fire(struct ioapic *io, unsigned pin,
			struct ioapic_batch *b)
{
	uint64_t e = io->rte[pin];

	if ((e & RTE_LEVEL) && RTE_MODE(e) <= APIC_DM_LOWEST)
		io->rte[pin] |= RTE_REMOTE_IRR;
	b->msg[b->nr++] = (struct apic_msg){
		.dest = RTE_DEST(e),
		.vector = RTE_VECTOR(e),
		.mode = RTE_MODE(e),
		.logical = e & RTE_LOGICAL,
		.level = e & RTE_LEVEL,
		.assert = true,
		.dest8 = true,
		.src = -1,
	};
}

/* A level input that is asserted, unmasked and not busy fires again. */
static void ioapic_check_level(struct ioapic *io, unsigned pin,
			       struct ioapic_batch *b)
{
	uint64_t e = io->rte[pin];

	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) &&
	    (io->lines & (1u << pin)))
		ioapic_fire(io, pin, b);
}

static void ioapic_send(struct ioapic *io, const struct ioapic_batch *b)
{
	for (int i = 0; i < b->nr; i++)
		apic_bus_deliver(io->chip, &b->msg[i]);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	struct ioapic_batch b = { 0 };
	uint32_t bit = 1u << pin;
	bool rising;

	if (pin >= IRQ_IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	rising = level && !(io->lines & bit);
	if (level)
		io->lines |= bit;
	else
		io->lines &= ~bit;
	if (io->rte[pin] & RTE_LEVEL)
		ioapic_check_level(io, pin, &b);
	else if (rising && !(io->rte[pin] & RTE_MASKED))
		ioapic_fire(io, pin, &b);	/* masked edges are lost */
	pthread_mutex_unlock(&io->lock);
	ioapic_send(io, &b);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	struct ioapic_batch b = { 0 };

	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IRQ_IOAPIC_PINS; pin++) {
		uint64_t e = io->rte[pin];

		if (RTE_VECTOR(e) != vector || !(e & RTE_REMOTE_IRR))
			continue;
		io->rte[pin] &= ~RTE_REMOTE_IRR;
		ioapic_check_level(io, pin, &b);
	}
	pthread_mutex_unlock(&io->lock);
	ioapic_send(io, &b);
}

static uint32_t ioapic_read_reg(struct ioapic *io, uint32_t reg)
{
	unsigned pin = (reg - IOAPIC_REDTBL) / 2;

	switch (reg) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return io->id << 24;
	case IOAPIC_VER:
		return IOAPIC_VERSION_VAL;
	case IOAPIC_REDTBL ... IOAPIC_REDTBL + 2 * IRQ_IOAPIC_PINS - 1:
		return reg & 1 ? io->rte[pin] >> 32 : (uint32_t)io->rte[pin];
	default:
		return 0;
	}
}

static void ioapic_write_rte(struct ioapic *io, unsigned pin, bool high,
			     uint32_t val, struct ioapic_batch *b)
{
	uint64_t e = io->rte[pin];

	if (high)
		e = (e & ~(RTE_WRITABLE_HI << 32)) |
		    ((uint64_t)(val & RTE_WRITABLE_HI) << 32);
	else
		e = (e & ~RTE_WRITABLE_LO) | (val & RTE_WRITABLE_LO);
	/* Remote IRR means nothing for edge entries; the OS relies on it. */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	io->rte[pin] = e;
	ioapic_check_level(io, pin, b);
}

static void ioapic_write_reg(struct ioapic *io, uint32_t reg, uint32_t val,
			     struct ioapic_batch *b)
{
	switch (reg) {
	case IOAPIC_ID:
		io->id = (val >> 24) & 0xf;
		break;
	case IOAPIC_REDTBL ... IOAPIC_REDTBL + 2 * IRQ_IOAPIC_PINS - 1:
		ioapic_write_rte(io, (reg - IOAPIC_REDTBL) / 2, reg & 1, val, b);
		break;
	default:
		log_limited(&io->log, "ioapic: write to read-only or missing "
			    "register %#x", reg);
		break;
	}
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct ioapic *io = opaque;
	uint32_t val = 0;

	if (size != 4) {
		log_limited(&io->log, "ioapic: %u-byte read at %#llx ignored",
			    size, (unsigned long long)off);
		return 0;
	}
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REG_SEL)
		val = io->regsel;
	else if (off == IOAPIC_REG_WIN)
		val = ioapic_read_reg(io, io->regsel);
	pthread_mutex_unlock(&io->lock);
	return val;
}

static void ioapic_mmio_write(void *opaque, uint64_t off, uint64_t val,
			      unsigned size)
{
	struct ioapic *io = opaque;
	struct ioapic_batch b = { 0 };

	if (size != 4 && !(size == 1 && off == IOAPIC_REG_SEL)) {
		log_limited(&io->log, "ioapic: %u-byte write at %#llx ignored",
			    size, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REG_SEL)
		io->regsel = val & 0xff;
	else if (off == IOAPIC_REG_WIN)
		ioapic_write_reg(io, io->regsel, val, &b);
	pthread_mutex_unlock(&io->lock);
	ioapic_send(io, &b);
}

static const struct bus_ops ioapic_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

struct ioapic *ioapic_create(struct emu_irqchip *chip)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	io->chip = chip;
	/* The MADT numbers the IOAPIC after the last APIC ID (4 bits here) */
	io->id = (topology_apic_id(&chip->vm->topo, chip->nr_cpus - 1) + 1) &
		 0xf;
	pthread_mutex_init(&io->lock, NULL);
	for (unsigned i = 0; i < IRQ_IOAPIC_PINS; i++)
		io->rte[i] = RTE_MASKED;
	if (bus_register(&chip->vm->mmio, LAYOUT_IOAPIC_ADDR,
			 LAYOUT_IOAPIC_SIZE, &ioapic_ops, io, "ioapic")) {
		pthread_mutex_destroy(&io->lock);
		free(io);
		return NULL;
	}
	return io;
}

void ioapic_destroy(struct ioapic *io)
{
	if (!io)
		return;
	bus_unregister(&io->chip->vm->mmio, LAYOUT_IOAPIC_ADDR, io);
	pthread_mutex_destroy(&io->lock);
	free(io);
}

/*
 * Snapshot: ID, IOREGSEL, the asserted input lines and the 24 entries
 * (with delivery status and remote IRR, which only the IOAPIC knows).
 */
void ioapic_save(struct ioapic *io, struct state_writer *w)
{
	pthread_mutex_lock(&io->lock);
	state_put_u32(w, io->id);
	state_put_u32(w, io->regsel);
	state_put_u32(w, io->lines);
	for (unsigned i = 0; i < IRQ_IOAPIC_PINS; i++)
		state_put_u64(w, io->rte[i]);
	pthread_mutex_unlock(&io->lock);
}

int ioapic_load(struct ioapic *io, struct state_reader *r)
{
	const uint64_t rte_bits = RTE_WRITABLE_LO | (RTE_WRITABLE_HI << 32) |
				  RTE_REMOTE_IRR | (1ull << 12);
	uint64_t rte[IRQ_IOAPIC_PINS];
	uint32_t id, regsel, lines;
	int err = 0;

	id = sread_u32(r, &err);
	regsel = sread_u32(r, &err);
	lines = sread_u32(r, &err);
	for (unsigned i = 0; i < IRQ_IOAPIC_PINS; i++)
		rte[i] = sread_u64(r, &err);
	if (err)
		return state_fail(r, "IOAPIC: %s", sread_error(err));
	if (id > 0xf || regsel > 0xff)
		return state_fail(r, "IOAPIC: ID %u or IOREGSEL %#x out of "
				  "range", id, regsel);
	if (lines >> IRQ_IOAPIC_PINS)
		return state_fail(r, "IOAPIC: input lines %#x beyond pin %u",
				  lines, IRQ_IOAPIC_PINS - 1);
	for (unsigned i = 0; i < IRQ_IOAPIC_PINS; i++)
		if (rte[i] & ~rte_bits)
			return state_fail(r, "IOAPIC: entry %u has reserved "
					  "bits set", i);
	pthread_mutex_lock(&io->lock);
	io->id = id;
	io->regsel = regsel;
	io->lines = lines;
	memcpy(io->rte, rte, sizeof(rte));
	pthread_mutex_unlock(&io->lock);
	return 0;
}
