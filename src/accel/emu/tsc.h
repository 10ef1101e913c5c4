/* SPDX-License-Identifier: MIT */
/*
 * The time stamp counter of the emu accelerator, shared by RDTSC/RDTSCP in
 * the interpreter and the LAPIC timer's TSC-deadline mode so that a deadline
 * the guest computes from RDTSC fires when that TSC value is reached.
 *
 * The TSC is guest time in nanoseconds scaled to EMU_TSC_HZ: constant,
 * invariant, the same on every vCPU thread and never going backwards.
 * Guest time is CLOCK_MONOTONIC plus an offset that a snapshot's load sets
 * (emu_irqchip_now in irqchip.h); emu_tsc_now() is the TSC at offset 0.
 * CPUID leaf 0x15/0x16 or the guest's PIT calibration will find this rate.
 *
 * IA32_TSC_DEADLINE (0x6E0) lives in the LAPIC: the CPU must route it to
 * lapic_rdmsr/wrmsr like 0x1B and 0x800-0x8FF (see lapic_is_apic_msr() in
 * irqchip.h), or a guest using TSC-deadline mode never gets a timer tick.
 */
#ifndef CVISOR_ACCEL_EMU_TSC_H
#define CVISOR_ACCEL_EMU_TSC_H

#include <stdint.h>
#include <time.h>

#define EMU_TSC_HZ	2000000000ULL	/* 2 GHz */
#define EMU_TSC_PER_NS	(EMU_TSC_HZ / 1000000000ULL)

_Static_assert(EMU_TSC_HZ % 1000000000ULL == 0,
	       "EMU_TSC_HZ must be a whole multiple of 1 GHz");

static inline uint64_t emu_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t emu_tsc_now(void)
{
	return emu_monotonic_ns() * EMU_TSC_PER_NS;
}

/* Guest time, in ns, at which the TSC reaches tsc. */
static inline uint64_t emu_tsc_to_ns(uint64_t tsc)
{
	return tsc / EMU_TSC_PER_NS;
}

#endif
