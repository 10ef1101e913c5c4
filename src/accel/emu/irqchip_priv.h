/* SPDX-License-Identifier: MIT */
/*
 * What the software interrupt controllers tell each other; not part of the
 * contract with the interpreter (that is irqchip.h).
 *
 * Every controller has one mutex and none of these functions is called with
 * a controller lock held, so no two controller locks ever nest (see the
 * lock order at the top of irqchip.c).
 */
#ifndef CVISOR_ACCEL_EMU_IRQCHIP_PRIV_H
#define CVISOR_ACCEL_EMU_IRQCHIP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/irqchip.h"

struct state_writer;
struct state_reader;

/* Delivery modes, as encoded in the ICR, LVTs, redirection entries, MSIs. */
#define APIC_DM_FIXED	0
#define APIC_DM_LOWEST	1
#define APIC_DM_SMI	2
#define APIC_DM_NMI	4
#define APIC_DM_INIT	5
#define APIC_DM_SIPI	6
#define APIC_DM_EXTINT	7

#define APIC_SH_NONE		0
#define APIC_SH_SELF		1
#define APIC_SH_ALL		2
#define APIC_SH_ALL_BUT_SELF	3

/* One interrupt message on the APIC bus (from an ICR, IOAPIC or MSI). */
struct apic_msg {
	uint32_t dest;
	uint8_t vector;
	uint8_t mode;		/* APIC_DM_* */
	uint8_t shorthand;	/* APIC_SH_*, ICR only */
	bool logical;
	bool level;		/* level-triggered: set TMR, EOI broadcast */
	bool assert;		/* the ICR level bit: INIT de-assert is a no-op */
	bool dest8;		/* 8-bit destination (IOAPIC, MSI, xAPIC ICR) */
	int src;		/* sending CPU for shorthands, -1 otherwise */
};

/* irqchip.c */
void irqchip_wake(struct emu_irqchip *chip, int cpu);
/* The timer thread must recompute its earliest deadline. */
void irqchip_timer_kick(struct emu_irqchip *chip);
/* Route msg to the LAPICs it names; returns how many accepted it. */
int apic_bus_deliver(struct emu_irqchip *chip, const struct apic_msg *msg);
/* The master PIC's INT output rose: wake the CPUs that would take it. */
void irqchip_pic_intr(struct emu_irqchip *chip);

/* lapic.c */
struct lapic *lapic_create(struct emu_irqchip *chip, int cpu, uint32_t apic_id);
void lapic_destroy(struct lapic *apic);
bool lapic_match_dest(struct lapic *apic, const struct apic_msg *msg);
/* Accept msg; returns true if a wake-up is due (the caller wakes). */
bool lapic_receive(struct lapic *apic, const struct apic_msg *msg);
/* True if LINT0 would take the PIC's INT now (ExtINT or APIC disabled). */
bool lapic_accepts_pic(struct lapic *apic);
/* Timer: guest time (ns) of the next expiry, 0 if none. */
uint64_t lapic_timer_deadline(struct lapic *apic);
void lapic_timer_expire(struct lapic *apic, uint64_t now_ns);

/* ioapic.c */
struct ioapic *ioapic_create(struct emu_irqchip *chip);
void ioapic_destroy(struct ioapic *io);
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* A LAPIC EOIed a level-triggered vector. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
void ioapic_save(struct ioapic *io, struct state_writer *w);
int ioapic_load(struct ioapic *io, struct state_reader *r);

/* pic.c */
struct pic *pic_create(struct emu_irqchip *chip);
void pic_destroy(struct pic *pic);
void pic_set_irq(struct pic *pic, unsigned irq, int level);
/* Level of the master's INT output (lock-free). */
bool pic_intr_output(struct pic *pic);
/* The vector an INTA cycle would return now, or -1 (no ack). */
int pic_peek_vector(struct pic *pic);
/* The CPU took vector from the PIC: the INTA cycle. */
void pic_intack(struct pic *pic, int vector);
void pic_save(struct pic *pic, struct state_writer *w);
int pic_load(struct pic *pic, struct state_reader *r);

/* pit.c */
struct pit *pit_create(struct emu_irqchip *chip);
void pit_destroy(struct pit *pit);
uint64_t pit_timer_deadline(struct pit *pit);
void pit_timer_expire(struct pit *pit, uint64_t now_ns);
void pit_save(struct pit *pit, struct state_writer *w);
int pit_load(struct pit *pit, struct state_reader *r);

#endif
