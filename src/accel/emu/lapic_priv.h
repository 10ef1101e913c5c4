/* SPDX-License-Identifier: MIT */
/*
 * The local APIC's state, shared by lapic.c (registers, interrupt
 * acceptance), lapic_msr.c (IA32_APIC_BASE and the x2APIC MSRs) and
 * lapic_timer.c. Register offsets are the xAPIC page offsets of the Intel
 * SDM, vol. 3A, table 11-1; x2APIC MSR = 0x800 + offset / 16.
 */
#ifndef CVISOR_ACCEL_EMU_LAPIC_PRIV_H
#define CVISOR_ACCEL_EMU_LAPIC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/irqchip_priv.h"
#include "vmm/log.h"

#define APIC_ID		0x020
#define APIC_VERSION	0x030
#define APIC_TPR	0x080
#define APIC_APR	0x090
#define APIC_PPR	0x0a0
#define APIC_EOI	0x0b0
#define APIC_RRD	0x0c0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SVR	0x0f0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_LVT_CMCI	0x2f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_LVT_TIMER	0x320
#define APIC_LVT_THERM	0x330
#define APIC_LVT_PERF	0x340
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_LVT_ERROR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0	/* x2APIC only */

/* Version 0x14 (integrated APIC), six LVT entries: max LVT index 5. */
#define APIC_VERSION_VAL	(0x14u | (5u << 16))

#define APIC_SVR_ENABLE		(1u << 8)
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_LVT_LEVEL		(1u << 15)
#define APIC_LVT_DM(v)		(((v) >> 8) & 7)
#define APIC_TIMER_MODE(v)	(((v) >> 17) & 3)
#define APIC_TIMER_ONESHOT	0
#define APIC_TIMER_PERIODIC	1
#define APIC_TIMER_TSCDEADLINE	2

/* ESR bits */
#define APIC_ESR_SEND_ILLEGAL	(1u << 5)
#define APIC_ESR_RECV_ILLEGAL	(1u << 6)
#define APIC_ESR_ILLEGAL_REG	(1u << 7)

#define MSR_APIC_BASE		0x1b
#define MSR_X2APIC_FIRST	0x800
#define MSR_X2APIC_LAST		0x8ff
#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_EXTD		(1ull << 10)
#define APIC_BASE_EN		(1ull << 11)
#define APIC_BASE_ADDR_MASK	0x000ffffffffff000ull

/* LVT slots, in register order from 0x320. */
enum { LVT_TIMER, LVT_THERM, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR,
       LVT_NR };

/* The bits of each LVT a write can change (lapic.c). */
extern const uint32_t lapic_lvt_writable[LVT_NR];

/* The timer counts at 1 GHz / divide: one tick of the bus is 1 ns. */
#define LAPIC_BUS_HZ		1000000000ull
/* Periodic timers faster than this are slowed down to it. */
#define LAPIC_MIN_PERIOD_NS	100000ull

struct lapic {
	struct emu_irqchip *chip;
	int cpu;
	pthread_mutex_t lock;
	struct log_limit log;		/* the guest errors it reports */
	/* Lock-free hints for lapic_maybe_pending, updated under lock. */
	atomic_bool hint;		/* deliverable vector or event */
	atomic_bool extint_ok;		/* the PIC's INT reaches this CPU */
	atomic_bool has_events;		/* events != 0 */
	atomic_uint_fast64_t timer_ns;	/* next timer expiry, 0 if none */

	uint64_t apic_base;
	uint32_t id;			/* full x2APIC ID; xAPIC reads id<<24 */
	uint32_t initial_id;		/* the topology's (topology.h) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_NR];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start_ns;	/* when the count was last loaded */
	uint64_t tsc_deadline;
	unsigned events;		/* LAPIC_EV_* */
	uint8_t sipi_vector;
	bool extint_msg;		/* an ExtINT message awaits INTA */

	/* vCPU thread only: vector lapic_pending_vector took from the PIC */
	int extint_vector;
};

/*
 * What a register write asks for once the lock is dropped: an IPI on the
 * APIC bus or an EOI broadcast to the IOAPIC.
 */
struct lapic_after {
	bool send;
	struct apic_msg msg;
	int eoi_vector;			/* -1: none */
};

static inline bool lapic_hw_enabled(const struct lapic *apic)
{
	return apic->apic_base & APIC_BASE_EN;
}

static inline bool lapic_x2apic(const struct lapic *apic)
{
	return apic->apic_base & APIC_BASE_EXTD;
}

static inline bool lapic_sw_enabled(const struct lapic *apic)
{
	return apic->svr & APIC_SVR_ENABLE;
}

/* lapic.c, called with apic->lock held */
void lapic_update_hint(struct lapic *apic);
void lapic_set_irr(struct lapic *apic, int vector, bool level);
void lapic_error(struct lapic *apic, uint32_t esr_bit);
void lapic_reset_regs(struct lapic *apic);
/* reg: a 16-byte aligned offset. Returns false for a missing register. */
bool lapic_reg_read(struct lapic *apic, uint32_t reg, uint32_t *val);
bool lapic_reg_write(struct lapic *apic, uint32_t reg, uint32_t val,
		     struct lapic_after *after);
void lapic_send_icr(struct lapic *apic, uint32_t lo, uint32_t dest,
		    struct lapic_after *after);
/* Without the lock: carry out what a write asked for. */
void lapic_after_write(struct lapic *apic, const struct lapic_after *after);

/* lapic_timer.c, called with apic->lock held */
uint32_t lapic_timer_current(struct lapic *apic);
void lapic_timer_set_lvt(struct lapic *apic, uint32_t val);
void lapic_timer_set_icr(struct lapic *apic, uint32_t val);
void lapic_timer_set_dcr(struct lapic *apic, uint32_t val);
uint64_t lapic_timer_get_tsc_deadline(struct lapic *apic);
void lapic_timer_set_tsc_deadline(struct lapic *apic, uint64_t tsc);

#endif
