/* SPDX-License-Identifier: MIT */
/*
 * A VM reduced to its two buses with the emu irqchip on top, for the
 * test_irqchip*.c binaries. Register numbers are spelled out from the Intel
 * SDM and the 82093AA / 8259A / 8254 datasheets rather than taken from the
 * implementation, so the tests check the documents, not themselves.
 */
#ifndef CVISOR_TEST_IRQCHIP_FIXTURE_H
#define CVISOR_TEST_IRQCHIP_FIXTURE_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/emu/irqchip.h"
#include "test.h"
#include "vmm/bus.h"
#include "vmm/vm.h"

struct fixture {
	struct vm vm;
	struct emu_irqchip chip;
	atomic_int wakes[MAX_VCPUS];
};

static inline void fixture_wake(void *opaque, int cpu)
{
	struct fixture *f = opaque;

	atomic_fetch_add(&f->wakes[cpu], 1);
}

static inline struct fixture *fixture_new(int nr_cpus)
{
	struct fixture *f = calloc(1, sizeof(*f));

	bus_init(&f->vm.pio, "pio");
	bus_init(&f->vm.mmio, "mmio");
	CHECK_EQ(emu_irqchip_init(&f->chip, &f->vm, nr_cpus, fixture_wake, f),
		 0);
	return f;
}

static inline void fixture_free(struct fixture *f)
{
	emu_irqchip_destroy(&f->chip);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f);
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll (with sleeps) until the LAPIC has something, at most timeout_ms. */
static inline bool wait_pending(struct lapic *apic, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;

	while (!lapic_maybe_pending(apic)) {
		if (now_ms() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

static inline uint8_t inb(struct fixture *f, uint16_t port)
{
	uint64_t v;

	CHECK(bus_read(&f->vm.pio, port, &v, 1));
	return v;
}

static inline void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	CHECK(bus_write(&f->vm.pio, port, v, 1));
}

#endif
