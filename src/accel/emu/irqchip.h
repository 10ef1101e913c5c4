/* SPDX-License-Identifier: MIT */
/*
 * Software interrupt controllers for the emu accelerator: what KVM keeps in
 * the kernel (LAPIC with timer, IOAPIC, 8259 PIC pair, 8254 PIT) done in
 * user space. This header is the contract between the interpreter
 * (src/accel/emu/cpu*.c, emu.c) and the controllers (lapic.c, ioapic.c,
 * pic.c, pit.c, irqchip.c).
 *
 * Threads: interrupts are raised from any thread (devices, the event loop,
 * the irqchip's own timer thread); each vCPU thread polls its LAPIC at
 * instruction-block boundaries. A LAPIC calls its wake callback whenever it
 * gains a deliverable interrupt or an INIT/SIPI/NMI, so a halted vCPU can
 * sleep until then.
 *
 * Time: the LAPIC timer (TSC-deadline mode) and the CPU's RDTSC share one
 * clock, guest time: CLOCK_MONOTONIC plus the irqchip's clock_offset
 * (emu_irqchip_now), at EMU_TSC_HZ for the TSC (src/accel/emu/tsc.h).
 */
#ifndef CVISOR_ACCEL_EMU_IRQCHIP_H
#define CVISOR_ACCEL_EMU_IRQCHIP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/tsc.h"
#include "arch/x86/layout.h"
#include "vmm/log.h"

struct vm;
struct lapic;
struct ioapic;
struct pic;
struct pit;
struct state_writer;
struct state_reader;

/* Events a LAPIC hands to its CPU besides ordinary vectors. */
#define LAPIC_EV_INIT	(1u << 0)
#define LAPIC_EV_SIPI	(1u << 1)
#define LAPIC_EV_NMI	(1u << 2)

struct emu_irqchip {
	struct vm *vm;
	int nr_cpus;
	struct lapic *lapics[MAX_VCPUS];
	struct ioapic *ioapic;
	struct pic *pic;
	struct pit *pit;
	struct log_limit log;		/* MSIs and lines it cannot deliver */
	/* private to irqchip.c: the timer thread */
	void *timer_priv;
	/*
	 * Guest time is CLOCK_MONOTONIC plus clock_offset (ns), the clock of
	 * the timers and of every CPU's TSC. It is 0 until a snapshot's load
	 * sets it, once, so that guest time goes on from the saved value.
	 */
	_Atomic int64_t clock_offset;
	bool clock_restored;
};

/* Guest time in ns: what timer deadlines and the TSC are measured in. */
static inline uint64_t emu_irqchip_now(struct emu_irqchip *chip)
{
	return emu_monotonic_ns() +
	       atomic_load_explicit(&chip->clock_offset, memory_order_relaxed);
}

/*
 * A snapshot's load: make guest time now read guest_ns. Only the first
 * call on a VM counts; every section that carries time (the CPUs' LAPICs,
 * the VM-wide section) calls it, so whichever is loaded first sets the
 * clock before any deadline measured on it is armed.
 */
void emu_irqchip_restore_clock(struct emu_irqchip *chip, uint64_t guest_ns);

/*
 * Create LAPICs for nr_cpus CPUs (APIC ID == CPU index), the IOAPIC at
 * LAYOUT_IOAPIC_ADDR on vm->mmio, the PIC pair and PIT on vm->pio, and start
 * the timer thread. wake(opaque, cpu) is called when CPU cpu should
 * re-check its LAPIC. Returns 0 or a negative errno.
 */
int emu_irqchip_init(struct emu_irqchip *chip, struct vm *vm, int nr_cpus,
		     void (*wake)(void *opaque, int cpu), void *opaque);
void emu_irqchip_destroy(struct emu_irqchip *chip);

/*
 * Snapshots (vmm/state.h): the VM-wide part, written into the caller's
 * open section: guest time, IOAPIC, PIC pair, PIT. The LAPICs go with
 * their CPUs (lapic_save). A load validates each controller's state
 * before it applies it; failures are reported through state_fail.
 */
void emu_irqchip_save(struct emu_irqchip *chip, struct state_writer *w);
int emu_irqchip_load(struct emu_irqchip *chip, struct state_reader *r);
void lapic_save(struct lapic *apic, struct state_writer *w);
int lapic_load(struct lapic *apic, struct state_reader *r);

/* Device interrupts. gsi < 16 also drives the PIC input of the same pin. */
void emu_irqchip_set_irq(struct emu_irqchip *chip, unsigned gsi, int level);
void emu_irqchip_send_msi(struct emu_irqchip *chip, uint64_t addr,
			  uint32_t data);

/*
 * Per-CPU interface, called on that CPU's thread.
 *
 * lapic_mmio_*: the 4 KiB xAPIC page, offset 0..0xFFF, 32-bit accesses.
 * lapic_rdmsr/wrmsr: IA32_APIC_BASE (0x1B) and x2APIC MSRs 0x800..0x8FF;
 * return false when the access must raise #GP.
 * lapic_apic_base: current IA32_APIC_BASE, so the CPU knows where (and
 * whether) the xAPIC page is mapped.
 */
uint32_t lapic_mmio_read(struct lapic *apic, uint32_t offset);
void lapic_mmio_write(struct lapic *apic, uint32_t offset, uint32_t val);
bool lapic_rdmsr(struct lapic *apic, uint32_t msr, uint64_t *val);
bool lapic_wrmsr(struct lapic *apic, uint32_t msr, uint64_t val);
uint64_t lapic_apic_base(struct lapic *apic);

/* CR8 is the TPR's top four bits. */
uint64_t lapic_get_cr8(struct lapic *apic);
void lapic_set_cr8(struct lapic *apic, uint64_t cr8);

/*
 * Cheap check for the hot loop: true when there may be a vector or event
 * to look at (an atomic load, no lock).
 */
bool lapic_maybe_pending(struct lapic *apic);
/*
 * The lock-free flags lapic_maybe_pending reads, for the instruction loop
 * to test inline: when both are false nothing can be pending.
 */
void lapic_hint_flags(struct lapic *apic, const atomic_bool **hint,
		      const atomic_bool **extint_ok);
/*
 * The highest-priority vector deliverable now (above TPR and the in-service
 * priority) including ExtINT from the PIC in virtual-wire mode, or -1.
 */
int lapic_pending_vector(struct lapic *apic);
/* The CPU took that vector (IF was set): move it from IRR to ISR. */
void lapic_accept(struct lapic *apic, int vector);
/* Take and clear pending LAPIC_EV_* bits; *sipi_vector set with SIPI. */
unsigned lapic_take_events(struct lapic *apic, uint8_t *sipi_vector);

/*
 * Extension (irqchip side): lapic_rdmsr/wrmsr also serve IA32_TSC_DEADLINE,
 * the TSC-deadline timer (compared against the guest's TSC; writes
 * are ignored unless the LVT timer is in TSC-deadline mode). The CPU can
 * route every MSR for which lapic_is_apic_msr() is true to the LAPIC.
 */
#define LAPIC_MSR_TSC_DEADLINE	0x6e0
bool lapic_is_apic_msr(uint32_t msr);

#endif
