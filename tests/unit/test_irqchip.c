// SPDX-License-Identifier: MIT
/* The emu LAPIC and IOAPIC, and MSIs: delivery, priority, EOI, timers. */
#include "test_irqchip_fixture.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/emu/tsc.h"

/* xAPIC register offsets, SDM vol. 3A table 11-1 */
#define ID	0x020
#define VER	0x030
#define TPR	0x080
#define PPR	0x0a0
#define EOI	0x0b0
#define LDR	0x0d0
#define DFR	0x0e0
#define SVR	0x0f0
#define ISR	0x100
#define TMR	0x180
#define IRR	0x200
#define ESR	0x280
#define ICRLO	0x300
#define ICRHI	0x310
#define LVTT	0x320
#define LINT0	0x350
#define TMICT	0x380
#define TMCCT	0x390
#define TDCR	0x3e0

#define IOAPIC	0xfec00000ull

static struct lapic *cpu(struct fixture *f, int i)
{
	return f->chip.lapics[i];
}

static void apic_enable(struct fixture *f, int i)
{
	lapic_mmio_write(cpu(f, i), SVR, 0x1ff);
}

static bool vec_bit(struct lapic *a, uint32_t bank, int v)
{
	return lapic_mmio_read(a, bank + (v / 32) * 0x10) & (1u << (v % 32));
}

static void send_ipi(struct fixture *f, int from, uint8_t dest, uint32_t lo)
{
	lapic_mmio_write(cpu(f, from), ICRHI, (uint32_t)dest << 24);
	lapic_mmio_write(cpu(f, from), ICRLO, lo);
}

static void ioapic_write(struct fixture *f, uint32_t reg, uint32_t val)
{
	bus_write(&f->vm.mmio, IOAPIC, reg, 4);
	bus_write(&f->vm.mmio, IOAPIC + 0x10, val, 4);
}

static uint32_t ioapic_read(struct fixture *f, uint32_t reg)
{
	uint64_t v;

	bus_write(&f->vm.mmio, IOAPIC, reg, 4);
	bus_read(&f->vm.mmio, IOAPIC + 0x10, &v, 4);
	return v;
}

/* Take the pending vector as the CPU would and check it is want. */
static void take(struct lapic *a, int want)
{
	int v = lapic_pending_vector(a);

	CHECK_EQ(v, want);
	if (v >= 0)
		lapic_accept(a, v);
}

static void test_lapic_reset_state(void)
{
	struct fixture *f = fixture_new(2);

	CHECK_EQ(lapic_mmio_read(cpu(f, 1), ID), 1u << 24);
	CHECK_EQ(lapic_mmio_read(cpu(f, 0), VER) & 0xff, 0x14);
	CHECK_EQ((lapic_mmio_read(cpu(f, 0), VER) >> 16) & 0xff, 5);
	CHECK_EQ(lapic_mmio_read(cpu(f, 0), SVR), 0xff);
	CHECK_EQ(lapic_mmio_read(cpu(f, 0), DFR), 0xffffffff);
	CHECK_EQ(lapic_apic_base(cpu(f, 0)), 0xfee00000ull | 0x900);
	CHECK_EQ(lapic_apic_base(cpu(f, 1)), 0xfee00000ull | 0x800);
	CHECK(!lapic_maybe_pending(cpu(f, 1)));
	CHECK_EQ(lapic_pending_vector(cpu(f, 1)), -1);
	fixture_free(f);
}

static void test_lapic_fixed_ipi(void)
{
	struct fixture *f = fixture_new(2);
	struct lapic *a = cpu(f, 1);

	apic_enable(f, 0);
	apic_enable(f, 1);
	send_ipi(f, 0, 1, 0x40);
	CHECK(lapic_maybe_pending(a));
	CHECK(!lapic_maybe_pending(cpu(f, 0)));
	CHECK(atomic_load(&f->wakes[1]) > 0);
	CHECK(vec_bit(a, IRR, 0x40));
	CHECK_EQ(lapic_mmio_read(cpu(f, 0), ICRLO) & (1u << 12), 0);
	take(a, 0x40);
	CHECK(!vec_bit(a, IRR, 0x40));
	CHECK(vec_bit(a, ISR, 0x40));
	CHECK(!lapic_maybe_pending(a));
	lapic_mmio_write(a, EOI, 0);
	CHECK(!vec_bit(a, ISR, 0x40));
	/* A software-disabled APIC drops fixed interrupts. */
	lapic_mmio_write(a, SVR, 0xff);
	send_ipi(f, 0, 1, 0x41);
	CHECK_EQ(lapic_pending_vector(a), -1);
	fixture_free(f);
}

static void test_lapic_priority(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = cpu(f, 0);

	apic_enable(f, 0);
	lapic_mmio_write(a, TPR, 0x50);
	CHECK_EQ(lapic_get_cr8(a), 5);
	lapic_mmio_write(a, ICRLO, 0x40045);	/* self, vector 0x45 */
	CHECK_EQ(lapic_pending_vector(a), -1);	/* class 4 <= TPR class 5 */
	CHECK(!lapic_maybe_pending(a));
	lapic_mmio_write(a, ICRLO, 0x40085);
	take(a, 0x85);
	CHECK_EQ(lapic_mmio_read(a, PPR), 0x80);
	lapic_mmio_write(a, ICRLO, 0x40082);	/* same class as in service */
	CHECK_EQ(lapic_pending_vector(a), -1);
	lapic_mmio_write(a, ICRLO, 0x40095);
	take(a, 0x95);
	lapic_mmio_write(a, EOI, 0);		/* ends 0x95 */
	CHECK(vec_bit(a, ISR, 0x85));
	CHECK(!vec_bit(a, ISR, 0x95));
	CHECK_EQ(lapic_pending_vector(a), -1);
	lapic_mmio_write(a, EOI, 0);		/* ends 0x85 */
	take(a, 0x82);
	lapic_mmio_write(a, EOI, 0);
	lapic_set_cr8(a, 3);
	CHECK_EQ(lapic_mmio_read(a, TPR), 0x30);
	take(a, 0x45);
	lapic_mmio_write(a, EOI, 0);
	CHECK_EQ(lapic_mmio_read(a, PPR), 0x30);
	fixture_free(f);
}

static void test_lapic_illegal_vector(void)
{
	struct fixture *f = fixture_new(2);

	apic_enable(f, 0);
	apic_enable(f, 1);
	send_ipi(f, 0, 1, 0x05);
	CHECK_EQ(lapic_pending_vector(cpu(f, 1)), -1);
	lapic_mmio_write(cpu(f, 0), ESR, 0);
	CHECK(lapic_mmio_read(cpu(f, 0), ESR) & (1u << 5));	/* send */
	emu_irqchip_send_msi(&f->chip, 0xfee01000, 0x03);
	lapic_mmio_write(cpu(f, 1), ESR, 0);
	CHECK(lapic_mmio_read(cpu(f, 1), ESR) & (1u << 6));	/* receive */
	lapic_mmio_write(cpu(f, 1), ESR, 0);
	CHECK_EQ(lapic_mmio_read(cpu(f, 1), ESR), 0);
	/* Guest nonsense in the page is ignored. */
	lapic_mmio_write(cpu(f, 1), 0x3, 0xffffffff);
	lapic_mmio_write(cpu(f, 1), 0x1000, 0);
	CHECK_EQ(lapic_mmio_read(cpu(f, 1), 0xff8), 0);
	fixture_free(f);
}

static void test_lapic_logical_dest(void)
{
	struct fixture *f = fixture_new(3);

	for (int i = 0; i < 3; i++) {
		apic_enable(f, i);
		lapic_mmio_write(cpu(f, i), LDR, (1u << i) << 24);	/* flat */
	}
	send_ipi(f, 0, 0x06, 0x851);		/* logical, CPUs 1 and 2 */
	CHECK_EQ(lapic_pending_vector(cpu(f, 0)), -1);
	CHECK_EQ(lapic_pending_vector(cpu(f, 1)), 0x51);
	CHECK_EQ(lapic_pending_vector(cpu(f, 2)), 0x51);
	/* Cluster model: cluster 1, member bit 2 is CPU 2 only. */
	for (int i = 0; i < 3; i++) {
		lapic_mmio_write(cpu(f, i), DFR, 0x0fffffff);
		lapic_mmio_write(cpu(f, i), LDR, (0x10u | (1u << i)) << 24);
	}
	send_ipi(f, 0, 0x14, 0x862);
	CHECK_EQ(lapic_pending_vector(cpu(f, 1)), 0x51);
	CHECK_EQ(lapic_pending_vector(cpu(f, 2)), 0x62);
	/* Lowest priority picks exactly one of those named. */
	send_ipi(f, 0, 0x16, 0x973);
	CHECK_EQ((lapic_pending_vector(cpu(f, 1)) == 0x73) +
		 (lapic_pending_vector(cpu(f, 2)) == 0x73), 1);
	fixture_free(f);
}

static void test_lapic_init_sipi_nmi(void)
{
	struct fixture *f = fixture_new(3);
	uint8_t sipi = 0;

	apic_enable(f, 0);
	send_ipi(f, 0, 1, 0xc500);		/* INIT, level, assert */
	CHECK(lapic_maybe_pending(cpu(f, 1)));
	CHECK_EQ(lapic_take_events(cpu(f, 1), &sipi), LAPIC_EV_INIT);
	send_ipi(f, 0, 1, 0x8500);		/* INIT de-assert: no event */
	CHECK_EQ(lapic_take_events(cpu(f, 1), &sipi), 0);
	send_ipi(f, 0, 1, 0x4699);		/* SIPI, vector 0x99 */
	CHECK_EQ(lapic_take_events(cpu(f, 1), &sipi), LAPIC_EV_SIPI);
	CHECK_EQ(sipi, 0x99);
	CHECK(!lapic_maybe_pending(cpu(f, 1)));
	lapic_mmio_write(cpu(f, 0), ICRLO, 0xc0400);	/* NMI all-but-self */
	CHECK_EQ(lapic_take_events(cpu(f, 0), NULL), 0);
	CHECK_EQ(lapic_take_events(cpu(f, 1), NULL), LAPIC_EV_NMI);
	CHECK_EQ(lapic_take_events(cpu(f, 2), NULL), LAPIC_EV_NMI);
	CHECK(atomic_load(&f->wakes[2]) > 0);
	fixture_free(f);
}

static void test_x2apic(void)
{
	struct fixture *f = fixture_new(2);
	struct lapic *a = cpu(f, 1);
	uint64_t v;

	CHECK(!lapic_rdmsr(a, 0x802, &v));	/* not in x2APIC mode */
	CHECK(!lapic_wrmsr(a, 0x1b, 0xfee00000 | 0x400)); /* EXTD w/o EN */
	for (int i = 0; i < 2; i++) {
		CHECK(lapic_wrmsr(cpu(f, i), 0x1b, 0xfee00c00));
		CHECK(lapic_wrmsr(cpu(f, i), 0x80f, 0x1ff));
	}
	CHECK(lapic_rdmsr(a, 0x802, &v));
	CHECK_EQ(v, 1);
	CHECK(lapic_rdmsr(a, 0x80d, &v));
	CHECK_EQ(v, 2);				/* cluster 0, bit 1 */
	CHECK(!lapic_wrmsr(a, 0x802, 5));	/* ID is read-only */
	CHECK(!lapic_rdmsr(a, 0x80b, &v));	/* EOI is write-only */
	CHECK(!lapic_rdmsr(a, 0x80e, &v));	/* no DFR */
	CHECK(!lapic_wrmsr(a, 0x1b, 0xfee00800));	/* x2APIC -> xAPIC */
	CHECK(lapic_wrmsr(cpu(f, 0), 0x830, (1ull << 32) | 0x50));
	CHECK_EQ(lapic_pending_vector(a), 0x50);
	CHECK(lapic_wrmsr(a, 0x83f, 0x60));	/* SELF_IPI */
	take(a, 0x60);
	CHECK(!lapic_wrmsr(a, 0x80b, 1));	/* EOI must write 0 */
	CHECK(lapic_wrmsr(a, 0x80b, 0));
	CHECK(lapic_rdmsr(a, 0x810 + 0x60 / 32, &v));
	CHECK_EQ(v, 0);
	/* Logical x2APIC: cluster 0, member bit 0 -> CPU 0. */
	CHECK(lapic_wrmsr(a, 0x830, (1ull << 32) | 0x800 | 0x70));
	CHECK_EQ(lapic_pending_vector(cpu(f, 0)), 0x70);
	/* Disable, then re-enable in xAPIC mode. */
	CHECK(lapic_wrmsr(a, 0x1b, 0xfee00000));
	CHECK(lapic_wrmsr(a, 0x1b, 0xfee00800));
	CHECK(lapic_is_apic_msr(0x6e0) && lapic_is_apic_msr(0x8ff));
	CHECK(!lapic_is_apic_msr(0x10));
	fixture_free(f);
}

static void test_ioapic_registers(void)
{
	struct fixture *f = fixture_new(1);

	CHECK_EQ(ioapic_read(f, 1), 0x00170011);
	ioapic_write(f, 0, 0x0a000000);
	CHECK_EQ(ioapic_read(f, 0), 0x0a000000);
	CHECK_EQ(ioapic_read(f, 0x10), 0x10000);	/* masked at reset */
	ioapic_write(f, 0x10 + 2 * 5, 0x1a9ff | (1u << 14));
	CHECK_EQ(ioapic_read(f, 0x10 + 2 * 5), 0x1a9ff);	/* RO IRR */
	ioapic_write(f, 0x11 + 2 * 5, 0xff000000);
	CHECK_EQ(ioapic_read(f, 0x11 + 2 * 5), 0xff000000);
	ioapic_write(f, 1, 0);				/* read-only */
	CHECK_EQ(ioapic_read(f, 1), 0x00170011);
	CHECK_EQ(ioapic_read(f, 0x10 + 2 * 24), 0);	/* past the end */
	fixture_free(f);
}

/* stderr into a memfd while bad_writes runs; what was written. */
static char *capture_bad_writes(struct fixture *f, int n)
{
	int fd = memfd_create("log", 0), saved;
	off_t len;
	char *buf;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	for (int i = 0; i < n; i++)
		ioapic_write(f, 1, 0);			/* read-only */
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	buf = calloc(1, len + 1);
	if (pread(fd, buf, len, 0) != len)
		buf[0] = 0;
	close(fd);
	return buf;
}

static unsigned count_lines(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * A guest hammering its IOAPIC gets a burst of lines, then silence; another
 * VM's IOAPIC still has its own.
 */
static void test_ioapic_log_limited(void)
{
	struct fixture *a = fixture_new(1), *b = fixture_new(1);
	char *la = capture_bad_writes(a, 3 * LOG_LIMIT_BURST);
	char *lb = capture_bad_writes(b, 3 * LOG_LIMIT_BURST);
	const char *msg = "ioapic: write to read-only or missing register";

	CHECK_EQ(count_lines(la, msg), LOG_LIMIT_BURST);
	CHECK_EQ(count_lines(lb, msg), LOG_LIMIT_BURST);
	free(la);
	free(lb);
	fixture_free(a);
	fixture_free(b);
}

static void test_ioapic_level_remote_irr(void)
{
	struct fixture *f = fixture_new(2);
	struct lapic *a = cpu(f, 1);

	apic_enable(f, 1);
	ioapic_write(f, 0x11 + 2 * 10, 1u << 24);	/* to APIC ID 1 */
	ioapic_write(f, 0x10 + 2 * 10, 0x8061);		/* level, 0x61 */
	emu_irqchip_set_irq(&f->chip, 10, 1);
	CHECK(lapic_maybe_pending(a));
	CHECK(vec_bit(a, TMR, 0x61));
	CHECK(ioapic_read(f, 0x10 + 2 * 10) & (1u << 14));
	take(a, 0x61);
	lapic_mmio_write(a, EOI, 0);	/* still asserted: fires again */
	CHECK(ioapic_read(f, 0x10 + 2 * 10) & (1u << 14));
	take(a, 0x61);
	emu_irqchip_set_irq(&f->chip, 10, 0);
	lapic_mmio_write(a, EOI, 0);
	CHECK(!(ioapic_read(f, 0x10 + 2 * 10) & (1u << 14)));
	CHECK_EQ(lapic_pending_vector(a), -1);
	fixture_free(f);
}

static void test_ioapic_mask(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = cpu(f, 0);

	apic_enable(f, 0);
	lapic_mmio_write(a, LINT0, 0x10000);		/* PIC out of the way */
	ioapic_write(f, 0x10 + 2 * 4, 0x10031);		/* masked edge */
	emu_irqchip_set_irq(&f->chip, 4, 1);
	emu_irqchip_set_irq(&f->chip, 4, 0);
	ioapic_write(f, 0x10 + 2 * 4, 0x31);		/* unmask */
	CHECK_EQ(lapic_pending_vector(a), -1);		/* edge was lost */
	emu_irqchip_set_irq(&f->chip, 4, 1);
	take(a, 0x31);
	lapic_mmio_write(a, EOI, 0);
	CHECK(!vec_bit(a, TMR, 0x31));
	emu_irqchip_set_irq(&f->chip, 4, 0);
	/* A masked level pin delivers when unmasked while asserted. */
	ioapic_write(f, 0x10 + 2 * 7, 0x18037);
	emu_irqchip_set_irq(&f->chip, 7, 1);
	CHECK_EQ(lapic_pending_vector(a), -1);
	ioapic_write(f, 0x10 + 2 * 7, 0x8037);
	take(a, 0x37);
	fixture_free(f);
}

static void test_msi(void)
{
	struct fixture *f = fixture_new(4);

	for (int i = 0; i < 4; i++)
		apic_enable(f, i);
	emu_irqchip_send_msi(&f->chip, 0xfee02000, 0x4071);
	CHECK_EQ(lapic_pending_vector(cpu(f, 2)), 0x71);
	CHECK_EQ(lapic_pending_vector(cpu(f, 0)), -1);
	CHECK_EQ(lapic_pending_vector(cpu(f, 1)), -1);
	CHECK_EQ(lapic_pending_vector(cpu(f, 3)), -1);
	CHECK(atomic_load(&f->wakes[2]) > 0);
	/* Logical flat destination 0x08 -> CPU 3. */
	lapic_mmio_write(cpu(f, 3), LDR, 0x08000000);
	emu_irqchip_send_msi(&f->chip, 0xfee08004, 0x72);
	CHECK_EQ(lapic_pending_vector(cpu(f, 3)), 0x72);
	/* Not an MSI address: dropped. */
	emu_irqchip_send_msi(&f->chip, 0xfed00000, 0x73);
	CHECK_EQ(lapic_pending_vector(cpu(f, 0)), -1);
	fixture_free(f);
}

static void test_lapic_timer_oneshot(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = cpu(f, 0);

	apic_enable(f, 0);
	lapic_mmio_write(a, LINT0, 0x10000);
	lapic_mmio_write(a, TDCR, 0xb);			/* divide by 1 */
	lapic_mmio_write(a, LVTT, 0xef);		/* one-shot */
	lapic_mmio_write(a, TMICT, 20000000);		/* 20 ms at 1 GHz */
	CHECK(lapic_mmio_read(a, TMCCT) <= 20000000);
	CHECK(wait_pending(a, 5000));
	take(a, 0xef);
	CHECK_EQ(lapic_mmio_read(a, TMCCT), 0);
	lapic_mmio_write(a, EOI, 0);
	sleep_ms(50);
	CHECK(!lapic_maybe_pending(a));			/* fired once */
	/* Masked: counts down but does not interrupt. */
	lapic_mmio_write(a, LVTT, 0x100ef);
	lapic_mmio_write(a, TMICT, 1000000);
	sleep_ms(30);
	CHECK(!lapic_maybe_pending(a));
	fixture_free(f);
}

static void test_lapic_timer_periodic(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = cpu(f, 0);

	apic_enable(f, 0);
	lapic_mmio_write(a, LINT0, 0x10000);
	lapic_mmio_write(a, TDCR, 0x3);			/* divide by 16 */
	lapic_mmio_write(a, LVTT, 0x200e0);		/* periodic */
	lapic_mmio_write(a, TMICT, 250000);		/* 4 ms */
	for (int i = 0; i < 3; i++) {
		CHECK(wait_pending(a, 5000));
		take(a, 0xe0);
		lapic_mmio_write(a, EOI, 0);
	}
	CHECK(lapic_mmio_read(a, TMCCT) <= 250000);
	lapic_mmio_write(a, TMICT, 0);			/* stop */
	lapic_pending_vector(a);
	fixture_free(f);
}

static void test_lapic_timer_tsc_deadline(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = cpu(f, 0);
	uint64_t v;

	apic_enable(f, 0);
	lapic_mmio_write(a, LINT0, 0x10000);
	CHECK(lapic_wrmsr(a, 0x6e0, emu_tsc_now()));	/* ignored: mode */
	CHECK(lapic_rdmsr(a, 0x6e0, &v));
	CHECK_EQ(v, 0);
	lapic_mmio_write(a, LVTT, 0x400d0);		/* TSC deadline */
	CHECK(lapic_wrmsr(a, 0x6e0, emu_tsc_now() + EMU_TSC_HZ / 100));
	CHECK(lapic_rdmsr(a, 0x6e0, &v));
	CHECK(v != 0);
	CHECK(wait_pending(a, 5000));
	take(a, 0xd0);
	CHECK(lapic_rdmsr(a, 0x6e0, &v));
	CHECK_EQ(v, 0);					/* disarmed */
	fixture_free(f);
}

static void test_apic_base_msr(void)
{
	struct fixture *f = fixture_new(2);
	struct lapic *a = cpu(f, 0);
	uint64_t v;

	CHECK(lapic_rdmsr(a, 0x1b, &v));
	CHECK_EQ(v, 0xfee00900);
	CHECK(!lapic_wrmsr(a, 0x1b, 0xfee00901));	/* reserved bit */
	CHECK(lapic_wrmsr(a, 0x1b, 0xfed00800));	/* relocate, BSP kept */
	CHECK_EQ(lapic_apic_base(a), 0xfed00900);
	apic_enable(f, 0);
	CHECK_EQ(lapic_mmio_read(a, SVR), 0x1ff);
	/* Globally disabled: no page, no interrupts, state reset. */
	CHECK(lapic_wrmsr(a, 0x1b, 0xfee00000));
	CHECK_EQ(lapic_mmio_read(a, SVR), 0);
	send_ipi(f, 1, 0, 0x40);
	CHECK(lapic_wrmsr(a, 0x1b, 0xfee00800));
	CHECK_EQ(lapic_mmio_read(a, SVR), 0xff);
	CHECK_EQ(lapic_pending_vector(a), -1);
	fixture_free(f);
}

static void test_ioapic_modes(void)
{
	struct fixture *f = fixture_new(3);
	uint8_t sipi;

	for (int i = 0; i < 3; i++) {
		apic_enable(f, i);
		lapic_mmio_write(cpu(f, i), LDR, (1u << i) << 24);
		lapic_mmio_write(cpu(f, i), LINT0, 0x10000);
	}
	/* Logical flat destination 0x04: CPU 2; level, fixed. */
	ioapic_write(f, 0x11 + 2 * 16, 0x04000000);
	ioapic_write(f, 0x10 + 2 * 16, 0x8000 | 0x0800 | 0x66);
	emu_irqchip_set_irq(&f->chip, 16, 1);
	CHECK_EQ(lapic_pending_vector(cpu(f, 0)), -1);
	take(cpu(f, 2), 0x66);
	CHECK(ioapic_read(f, 0x10 + 2 * 16) & (1u << 14));
	emu_irqchip_set_irq(&f->chip, 16, 0);
	lapic_mmio_write(cpu(f, 2), EOI, 0);
	CHECK(!(ioapic_read(f, 0x10 + 2 * 16) & (1u << 14)));
	/* NMI delivery mode, physical destination 1. */
	ioapic_write(f, 0x11 + 2 * 3, 0x01000000);
	ioapic_write(f, 0x10 + 2 * 3, 0x0400);
	emu_irqchip_set_irq(&f->chip, 3, 1);
	CHECK_EQ(lapic_take_events(cpu(f, 1), &sipi), LAPIC_EV_NMI);
	/* The OS's way out of a stuck remote IRR: switch to edge. */
	emu_irqchip_set_irq(&f->chip, 16, 1);
	CHECK(ioapic_read(f, 0x10 + 2 * 16) & (1u << 14));
	ioapic_write(f, 0x10 + 2 * 16, 0x10866);		/* masked edge */
	CHECK(!(ioapic_read(f, 0x10 + 2 * 16) & (1u << 14)));
	fixture_free(f);
}

/*
 * Threads as vCPUs: a token IPI travels round the CPUs while a level
 * interrupt, MSIs and a periodic timer hit them too. Checks for lost
 * wake-ups and lock-order deadlocks (under the test timeout).
 */
#define RING_HOPS	2000

struct ring {
	struct fixture *f;
	int cpu;
	atomic_int *hops;
};

static void *ring_cpu(void *arg)
{
	struct ring *r = arg;
	struct lapic *a = cpu(r->f, r->cpu);
	int n = r->f->chip.nr_cpus, v;

	while (atomic_load(r->hops) < RING_HOPS) {
		if (!lapic_maybe_pending(a)) {
			sched_yield();
			continue;
		}
		v = lapic_pending_vector(a);
		if (v < 0)
			continue;
		lapic_accept(a, v);
		if (v == 0x41 && atomic_fetch_add(r->hops, 1) < RING_HOPS)
			send_ipi(r->f, r->cpu, (r->cpu + 1) % n, 0x41);
		if (v == 0x61)		/* level: quiet the device first */
			emu_irqchip_set_irq(&r->f->chip, 11, 0);
		lapic_mmio_write(a, EOI, 0);
	}
	return NULL;
}

static void test_threads_ring(void)
{
	struct fixture *f = fixture_new(4);
	pthread_t t[4];
	struct ring r[4];
	atomic_int hops = 0;
	uint64_t end;

	for (int i = 0; i < 4; i++) {
		apic_enable(f, i);
		lapic_mmio_write(cpu(f, i), LINT0, 0x10000);
	}
	lapic_mmio_write(cpu(f, 2), TDCR, 0xb);
	lapic_mmio_write(cpu(f, 2), LVTT, 0x200e0);
	lapic_mmio_write(cpu(f, 2), TMICT, 500000);	/* 0.5 ms */
	ioapic_write(f, 0x11 + 2 * 11, 3u << 24);
	ioapic_write(f, 0x10 + 2 * 11, 0x8061);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct ring){ f, i, &hops };
		pthread_create(&t[i], NULL, ring_cpu, &r[i]);
	}
	send_ipi(f, 0, 1, 0x41);
	end = now_ms() + 20000;
	while (atomic_load(&hops) < RING_HOPS && now_ms() < end) {
		emu_irqchip_set_irq(&f->chip, 11, 1);
		emu_irqchip_send_msi(&f->chip, 0xfee00000 | (hops % 4) << 12,
				     0x52);
		sched_yield();
	}
	CHECK(atomic_load(&hops) >= RING_HOPS);
	atomic_store(&hops, RING_HOPS);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fixture_free(f);
}

int main(void)
{
	RUN(test_lapic_reset_state);
	RUN(test_lapic_fixed_ipi);
	RUN(test_lapic_priority);
	RUN(test_lapic_illegal_vector);
	RUN(test_lapic_logical_dest);
	RUN(test_lapic_init_sipi_nmi);
	RUN(test_x2apic);
	RUN(test_apic_base_msr);
	RUN(test_ioapic_registers);
	RUN(test_ioapic_modes);
	RUN(test_ioapic_log_limited);
	RUN(test_ioapic_level_remote_irr);
	RUN(test_ioapic_mask);
	RUN(test_msi);
	RUN(test_lapic_timer_oneshot);
	RUN(test_lapic_timer_periodic);
	RUN(test_lapic_timer_tsc_deadline);
	RUN(test_threads_ring);
	return test_summary();
}
