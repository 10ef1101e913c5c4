// SPDX-License-Identifier: MIT
/* The emu 8259 PIC pair and 8254 PIT, through their I/O ports. */
#include "test_irqchip_fixture.h"

#define IOAPIC	0xfec00000ull

/* The AT initialisation sequence: ICW1..ICW4 on both chips. */
static void pic_init(struct fixture *f, uint8_t icw4)
{
	outb(f, 0x20, 0x11);		/* ICW1: edge, cascade, ICW4 */
	outb(f, 0x21, 0x30);		/* ICW2: vectors 0x30.. */
	outb(f, 0x21, 0x04);		/* ICW3: slave on IR2 */
	outb(f, 0x21, icw4);
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x38);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, icw4);
}

static uint8_t pic_isr(struct fixture *f, uint16_t port)
{
	outb(f, port, 0x0b);		/* OCW3: read ISR */
	return inb(f, port);
}

static uint8_t pic_irr(struct fixture *f, uint16_t port)
{
	outb(f, port, 0x0a);		/* OCW3: read IRR */
	return inb(f, port);
}

/* The CPU's side: the BSP's LINT0 is ExtINT (virtual wire) at reset. */
static void take(struct fixture *f, int want)
{
	struct lapic *a = f->chip.lapics[0];
	int v = lapic_pending_vector(a);

	CHECK_EQ(v, want);
	if (v >= 0)
		lapic_accept(a, v);
}

static void test_pic_init_irq_eoi(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = f->chip.lapics[0];

	pic_init(f, 0x01);
	outb(f, 0x21, 0xf9);		/* OCW1: IRQ 1 and the cascade */
	outb(f, 0xa1, 0xff);
	CHECK_EQ(inb(f, 0x21), 0xf9);
	CHECK(!lapic_maybe_pending(a));
	emu_irqchip_set_irq(&f->chip, 3, 1);	/* masked */
	CHECK(!lapic_maybe_pending(a));
	CHECK_EQ(pic_irr(f, 0x20), 0x08);
	emu_irqchip_set_irq(&f->chip, 1, 1);
	CHECK(lapic_maybe_pending(a));
	CHECK(atomic_load(&f->wakes[0]) > 0);
	take(f, 0x31);
	CHECK_EQ(pic_isr(f, 0x20), 0x02);
	CHECK_EQ(pic_irr(f, 0x20), 0x08);	/* edge IRR cleared by INTA */
	CHECK_EQ(lapic_pending_vector(a), -1);	/* IR1 in service */
	outb(f, 0x20, 0x20);			/* non-specific EOI */
	CHECK_EQ(pic_isr(f, 0x20), 0);
	CHECK_EQ(lapic_pending_vector(a), -1);	/* no new edge */
	emu_irqchip_set_irq(&f->chip, 1, 0);
	emu_irqchip_set_irq(&f->chip, 1, 1);
	take(f, 0x31);
	outb(f, 0x20, 0x61);			/* specific EOI, IR1 */
	CHECK_EQ(pic_isr(f, 0x20), 0);
	fixture_free(f);
}

static void test_pic_cascade(void)
{
	struct fixture *f = fixture_new(1);

	pic_init(f, 0x01);
	outb(f, 0x21, 0xfb);
	outb(f, 0xa1, 0xef);			/* IRQ 12 */
	emu_irqchip_set_irq(&f->chip, 12, 1);
	take(f, 0x3c);
	CHECK_EQ(pic_isr(f, 0x20), 0x04);
	CHECK_EQ(pic_isr(f, 0xa0), 0x10);
	outb(f, 0xa0, 0x64);			/* specific EOI IR4 on slave */
	outb(f, 0x20, 0x62);			/* specific EOI IR2 on master */
	CHECK_EQ(pic_isr(f, 0x20), 0);
	CHECK_EQ(pic_isr(f, 0xa0), 0);
	/* Level-triggered via the ELCR: re-raises after EOI. */
	outb(f, 0x4d1, 0xff);
	CHECK_EQ(inb(f, 0x4d1), 0xde);		/* IRQ 8 and 13: edge only */
	outb(f, 0x4d0, 0xff);
	CHECK_EQ(inb(f, 0x4d0), 0xf8);		/* IRQ 0-2: edge only */
	emu_irqchip_set_irq(&f->chip, 12, 0);
	emu_irqchip_set_irq(&f->chip, 12, 1);
	take(f, 0x3c);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	take(f, 0x3c);				/* line still high */
	emu_irqchip_set_irq(&f->chip, 12, 0);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	CHECK_EQ(lapic_pending_vector(f->chip.lapics[0]), -1);
	fixture_free(f);
}

static void test_pic_auto_eoi_and_poll(void)
{
	struct fixture *f = fixture_new(1);

	pic_init(f, 0x03);			/* 8086 mode, auto-EOI */
	outb(f, 0x21, 0x00);
	emu_irqchip_set_irq(&f->chip, 5, 1);
	take(f, 0x35);
	CHECK_EQ(pic_isr(f, 0x20), 0);
	/* Priority: IR4 beats IR6; poll acknowledges and reports it. */
	emu_irqchip_set_irq(&f->chip, 6, 1);
	emu_irqchip_set_irq(&f->chip, 4, 1);
	outb(f, 0x20, 0x0c);			/* OCW3: poll */
	CHECK_EQ(inb(f, 0x20), 0x84);
	take(f, 0x36);
	CHECK_EQ(lapic_pending_vector(f->chip.lapics[0]), -1);
	fixture_free(f);
}

static void test_pit_channel2_port61(void)
{
	struct fixture *f = fixture_new(1);
	uint64_t start, end;
	bool out = false;

	outb(f, 0x61, (inb(f, 0x61) & ~0x02) | 0x01);	/* gate 2 on */
	outb(f, 0x43, 0xb0);		/* ch 2, lo/hi, mode 0, binary */
	start = now_ms();
	outb(f, 0x42, 0xff);
	outb(f, 0x42, 0xff);		/* 65535 ticks: ~55 ms */
	CHECK_EQ(inb(f, 0x61) & 0x20, 0);
	end = start + 5000;
	while (now_ms() < end && !out)
		out = inb(f, 0x61) & 0x20;
	CHECK(out);
	CHECK(now_ms() - start >= 50);
	CHECK_EQ(inb(f, 0x61) & 0x01, 0x01);
	fixture_free(f);
}

static void test_pit_latch_and_readback(void)
{
	struct fixture *f = fixture_new(1);
	unsigned v1, v2;

	outb(f, 0x43, 0xb4);		/* ch 2, lo/hi, mode 2 */
	outb(f, 0x61, 0x01);
	outb(f, 0x42, 0x00);
	outb(f, 0x42, 0x80);		/* 0x8000 */
	outb(f, 0x43, 0x80);		/* latch ch 2 */
	sleep_ms(5);
	v1 = inb(f, 0x42);
	v1 |= inb(f, 0x42) << 8;
	CHECK(v1 >= 1 && v1 <= 0x8000);
	/* Read-back: status then count of channel 2. */
	outb(f, 0x43, 0xc8);		/* latch count and status, ch 2 */
	CHECK_EQ(inb(f, 0x42) & 0x3f, 0x34);	/* lo/hi, mode 2, binary */
	v2 = inb(f, 0x42);
	v2 |= inb(f, 0x42) << 8;
	CHECK(v2 >= 1 && v2 <= 0x8000);
	/* lobyte-only access */
	outb(f, 0x43, 0x90);		/* ch 2, LSB, mode 0 */
	outb(f, 0x42, 0x10);
	outb(f, 0x43, 0xe8);		/* read-back status, ch 2 */
	CHECK_EQ(inb(f, 0x42) & 0x3f, 0x10);
	CHECK(inb(f, 0x42) <= 0x10);
	fixture_free(f);
}

static void test_pit_irq0_to_ioapic(void)
{
	struct fixture *f = fixture_new(1);
	struct lapic *a = f->chip.lapics[0];

	lapic_mmio_write(a, 0xf0, 0x1ff);
	lapic_mmio_write(a, 0x350, 0x10000);	/* LINT0 masked */
	bus_write(&f->vm.mmio, IOAPIC, 0x10 + 2 * 2, 4);
	bus_write(&f->vm.mmio, IOAPIC + 0x10, 0x30, 4);	/* pin 2, edge */
	outb(f, 0x43, 0x34);		/* ch 0, lo/hi, mode 2 */
	outb(f, 0x40, 1193 & 0xff);
	outb(f, 0x40, 1193 >> 8);	/* 1 ms */
	for (int i = 0; i < 3; i++) {
		CHECK(wait_pending(a, 5000));
		CHECK_EQ(lapic_pending_vector(a), 0x30);
		lapic_accept(a, 0x30);
		lapic_mmio_write(a, 0xb0, 0);
	}
	outb(f, 0x43, 0x30);		/* mode 0, no count: stops */
	fixture_free(f);
}

static void test_pit_irq0_to_pic(void)
{
	struct fixture *f = fixture_new(1);

	pic_init(f, 0x01);
	outb(f, 0x21, 0xfe);
	outb(f, 0x43, 0x38);		/* ch 0, lo/hi, mode 4 (one-shot) */
	outb(f, 0x40, 0x9c);
	outb(f, 0x40, 0x2e);		/* 11932: 10 ms */
	CHECK(wait_pending(f->chip.lapics[0], 5000));
	take(f, 0x30);
	outb(f, 0x20, 0x20);
	fixture_free(f);
}

/*
 * After any guest writes, the steps an OS takes at boot bring the irqchip
 * back: each LAPIC disabled and re-enabled (which resets it) and
 * programmed, the PIC re-initialised, IOAPIC pins and the PIT reprogrammed.
 * Then a vector arrives by each path: MSI to each CPU, an IOAPIC pin, the
 * PIC through LINT0 (virtual wire) and the PIT's IRQ 0.
 */
static void recover_and_deliver(struct fixture *f)
{
	struct lapic *a;
	int drained;

	for (int gsi = 0; gsi < 24; gsi++) {
		emu_irqchip_set_irq(&f->chip, gsi, 0);
		bus_write(&f->vm.mmio, IOAPIC, 0x10 + 2 * gsi, 4);
		bus_write(&f->vm.mmio, IOAPIC + 0x10, 0x10000, 4);	/* masked */
	}
	outb(f, 0x43, 0x30);		/* PIT ch 0: mode 0, no count: stops */
	outb(f, 0x4d0, 0);		/* ELCR: all edge */
	outb(f, 0x4d1, 0);
	pic_init(f, 0x01);
	outb(f, 0x21, 0xff);
	outb(f, 0xa1, 0xff);
	for (int cpu = 0; cpu < 2; cpu++) {
		a = f->chip.lapics[cpu];
		CHECK(lapic_wrmsr(a, 0x1b, 0xfee00000));
		CHECK(lapic_wrmsr(a, 0x1b, 0xfee00800));
		lapic_mmio_write(a, 0x20, cpu << 24);	/* APIC ID */
		lapic_mmio_write(a, 0xf0, 0x1ff);	/* SVR: enabled */
		lapic_mmio_write(a, 0x80, 0);		/* TPR */
		lapic_mmio_write(a, 0x350, cpu ? 0x10000 : 0x700); /* LINT0 */
		/* anything left from before the reset, once */
		for (drained = 0; drained < 512; drained++) {
			int vec = lapic_pending_vector(a);

			if (vec < 0)
				break;
			lapic_accept(a, vec);
			lapic_mmio_write(a, 0xb0, 0);
		}
		CHECK(drained < 512);
		lapic_take_events(a, NULL);
		CHECK_EQ(lapic_pending_vector(a), -1);
		/* MSI, fixed, physical destination cpu */
		emu_irqchip_send_msi(&f->chip, 0xfee00000 | (cpu << 12),
				     0x40 + cpu);
		CHECK_EQ(lapic_pending_vector(a), 0x40 + cpu);
		lapic_accept(a, 0x40 + cpu);
		lapic_mmio_write(a, 0xb0, 0);
		CHECK_EQ(lapic_pending_vector(a), -1);
	}
	a = f->chip.lapics[0];
	bus_write(&f->vm.mmio, IOAPIC, 0x10 + 2 * 5, 4);
	bus_write(&f->vm.mmio, IOAPIC + 0x10, 0x45, 4);	/* edge, fixed */
	bus_write(&f->vm.mmio, IOAPIC, 0x11 + 2 * 5, 4);
	bus_write(&f->vm.mmio, IOAPIC + 0x10, 0, 4);	/* to APIC ID 0 */
	emu_irqchip_set_irq(&f->chip, 5, 1);
	CHECK_EQ(lapic_pending_vector(a), 0x45);
	lapic_accept(a, 0x45);
	lapic_mmio_write(a, 0xb0, 0);
	emu_irqchip_set_irq(&f->chip, 5, 0);
	outb(f, 0x21, 0xfd);		/* IRQ 1 only */
	emu_irqchip_set_irq(&f->chip, 1, 1);
	take(f, 0x31);
	outb(f, 0x20, 0x20);
	emu_irqchip_set_irq(&f->chip, 1, 0);
	outb(f, 0x21, 0xfe);		/* IRQ 0 only: a 10 ms PIT one-shot */
	outb(f, 0x43, 0x38);
	outb(f, 0x40, 0x9c);
	outb(f, 0x40, 0x2e);
	CHECK(wait_pending(a, 5000));
	take(f, 0x30);
	outb(f, 0x20, 0x20);
	CHECK_EQ(lapic_pending_vector(a), -1);
}

/*
 * Deterministic garbage at every register: nothing crashes or hangs, the
 * pending vector stays a vector, and the chip works again afterwards.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_guest_garbage(void)
{
	static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
					  0x40, 0x41, 0x42, 0x43, 0x61 };
	struct fixture *f = fixture_new(2);
	unsigned out_of_range = 0;
	int pending;
	uint64_t v;

	for (int i = 0; i < 20000; i++) {
		uint64_t r = rng(), x = rng();
		struct lapic *a = f->chip.lapics[r & 1];

		switch ((r >> 1) % 6) {
		case 0:
			lapic_mmio_write(a, (r >> 8) & 0xfff, x);
			break;
		case 1:
			lapic_mmio_read(a, (r >> 8) & 0xfff);
			break;
		case 2:
			if (!lapic_wrmsr(a, 0x800 + ((r >> 8) & 0xff), x & 0xffff))
				lapic_rdmsr(a, 0x800 + ((r >> 8) & 0xff), &v);
			if ((r >> 20) % 64 == 0)
				lapic_wrmsr(a, 0x1b, 0xfee00000 | (x & 0xd00));
			break;
		case 3:
			bus_write(&f->vm.mmio, IOAPIC + ((r >> 8) & 0x1f),
				  x & 0xffffffff, 4);
			bus_read(&f->vm.mmio, IOAPIC + 0x10, &v, 1 << ((r >> 16) & 3));
			break;
		case 4:
			if (r & 0x100)
				outb(f, ports[(r >> 9) % 11], x);
			else
				inb(f, ports[(r >> 9) % 11]);
			break;
		default:
			emu_irqchip_set_irq(&f->chip, (r >> 8) % 26, x & 1);
			emu_irqchip_send_msi(&f->chip, 0xfee00000 | (x & 0xfffff),
					     x >> 32);
			break;
		}
		pending = lapic_pending_vector(a);
		if (pending < -1 || pending > 255)
			out_of_range++;
		if (pending >= 0 && (r & 0x200))
			lapic_accept(a, pending);
		lapic_take_events(a, NULL);
	}
	CHECK_EQ(out_of_range, 0);
	/* IOAPIC version register: 24 pins, whatever was written to it */
	bus_write(&f->vm.mmio, IOAPIC, 0x01, 4);
	CHECK(bus_read(&f->vm.mmio, IOAPIC + 0x10, &v, 4));
	CHECK_EQ((v >> 16) & 0xff, 23);
	recover_and_deliver(f);
	fixture_free(f);
}

int main(void)
{
	RUN(test_pic_init_irq_eoi);
	RUN(test_pic_cascade);
	RUN(test_pic_auto_eoi_and_poll);
	RUN(test_pit_channel2_port61);
	RUN(test_pit_latch_and_readback);
	RUN(test_pit_irq0_to_ioapic);
	RUN(test_pit_irq0_to_pic);
	RUN(test_guest_garbage);
	return test_summary();
}
