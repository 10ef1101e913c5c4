// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the small platform devices a guest reaches by port
 * I/O and that have no target of their own: the 16550A UART (0x3f8), the
 * MC146818 RTC and CMOS (0x70/0x71), the ACPI sleep and reset registers
 * (0x600), pvpanic (0x505) and the POST port (0x80). The input is a
 * sequence of records, each one of
 *
 *   0 sel size v0 v1 v2 v3	a guest write of v to port sel (1, 2, 4 bytes)
 *   1 sel size			a guest read
 *   2 len bytes...		console input into the UART
 *   3 lo hi bytes...		a state stream of lo | hi << 8 bytes loaded
 *				as a restore or an incoming migration would:
 *				each section named for a device goes to it
 *   4				every register of every device read
 *   5				the ACPI power button pressed
 *   6				every device saved and loaded back
 *
 * on devices made fresh for each input. A stream that fails to load
 * leaves fresh devices, as a failed restore leaves no VM; one that loads
 * is used by what follows. A device must load what it saved (else this
 * aborts), and never crash, hang or trip a sanitizer whatever the guest or
 * the stream did. Fuzzing builds skip the checksums. With
 * CVISOR_FUZZ_SEEDS=DIR set, the first run writes into DIR an input that
 * loads every device's state and reads it back, one that programs each
 * device the way a guest's drivers do, and one that loads an RTC whose
 * clock is as far from the host's as the stream's field holds. Build with
 * 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/legacy_fuzz -max_len=8192
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/debug.h"
#include "devices/legacy.h"
#include "devices/uart.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"
#include "fuzz_seed.h"

#define RAM_SIZE	(1 << 20)

enum { OP_WRITE, OP_READ, OP_RX, OP_LOAD, OP_SWEEP, OP_BUTTON, OP_ROUND,
       NR_OPS };

static const uint16_t ports[] = {
	PORT_COM1, PORT_COM1 + 1, PORT_COM1 + 2, PORT_COM1 + 3,
	PORT_COM1 + 4, PORT_COM1 + 5, PORT_COM1 + 6, PORT_COM1 + 7,
	PORT_RTC, PORT_RTC + 1,
	PORT_ACPI_SLEEP_CTL, PORT_ACPI_SLEEP_STS, PORT_ACPI_RESET,
	PORT_PVPANIC, 0x80,
};
#define NR_PORTS	(sizeof(ports) / sizeof(ports[0]))

static struct vm vm;
static struct uart *uart;
static struct device *acpi;

static void drop_output(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static void destroy_devices(void)
{
	fake_pci_destroy(&vm);
	uart = NULL;
	acpi = NULL;
}

static void create_devices(void)
{
	uart = uart_create(fake_env(&vm), "uart0", PORT_COM1, IRQ_COM1,
			   drop_output, NULL);
	if (!uart)
		abort();
	fake_devs[fake_nr_devs++] = uart_device(uart);
	if (fake_added(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC,
				  &fake_new_dev)) ||
	    fake_added(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI,
				      &fake_new_dev)))
		abort();
	acpi = fake_new_dev;
	if (fake_added(pvpanic_create(fake_env(&vm), PORT_PVPANIC,
				      &fake_new_dev)) ||
	    fake_added(post_port_create(fake_env(&vm), &fake_new_dev)))
		abort();
}

static struct device *find(const char *name)
{
	for (int i = 0; i < fake_nr_devs; i++)
		if (!strcmp(fake_devs[i]->name, name))
			return fake_devs[i];
	return NULL;
}

/* Every device that keeps state, each in its section, into f. */
static void save_all(FILE *f)
{
	struct state_writer *w = state_writer_create(f);

	if (!w)
		abort();
	for (int i = 0; i < fake_nr_devs; i++)
		if (fake_devs[i]->ops->save && device_save(fake_devs[i], w))
			abort();
	if (state_writer_finish(w))
		abort();
	state_writer_destroy(w);
}

/* Load a stream into the devices; 0 if all of it loaded. */
static int load_all(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char err[256];
	int ret = -1;

	if (!f)
		return -1;
	r = state_reader_create(f, err, sizeof(err));
	while (r) {
		struct device *dev;

		ret = state_next_section(r, &name, &version);
		if (ret <= 0)
			break;
		dev = find(name);
		ret = -1;
		if (!dev || !dev->ops->load ||
		    version > dev->ops->state_version ||
		    version < (dev->ops->min_state_version ?:
			       dev->ops->state_version) ||
		    dev->ops->load(dev, r, version))
			break;
	}
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

static void load(const uint8_t *data, size_t size)
{
	if (load_all(data, size)) {
		destroy_devices();
		create_devices();
	}
}

/* What the devices saved loads back into them. */
static void round_trip(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	save_all(f);
	fclose(f);
	if (load_all((const uint8_t *)buf, len)) {
		fprintf(stderr, "legacy_fuzz: a saved state does not load\n");
		abort();
	}
	free(buf);
}

static void sweep(void)
{
	uint64_t v;

	for (unsigned reg = 0; reg < 0x80; reg++) {
		bus_write(&vm.pio, PORT_RTC, reg, 1);
		bus_read(&vm.pio, PORT_RTC + 1, &v, 1);
	}
	for (unsigned i = 0; i < NR_PORTS; i++)
		bus_read(&vm.pio, ports[i], &v, 1);
}

/* Port number i of ports[] */
static uint8_t sel(uint16_t port)
{
	for (unsigned i = 0; i < NR_PORTS; i++)
		if (ports[i] == port)
			return i;
	abort();
}

static size_t put_write(uint8_t *p, uint16_t port, uint8_t val)
{
	p[0] = OP_WRITE;
	p[1] = sel(port);
	p[2] = 0;		/* one byte */
	p[3] = val;
	p[4] = p[5] = p[6] = 0;
	return 7;
}

/* An OP_LOAD record of the stream in st (len bytes) at buf; its length */
static size_t put_load(uint8_t *buf, size_t size, const char *st,
		       size_t len)
{
	if (len + 3 > size || len > 0xffff)
		abort();
	buf[0] = OP_LOAD;
	buf[1] = len & 0xff;
	buf[2] = len >> 8;
	memcpy(buf + 3, st, len);
	return len + 3;
}

/*
 * An RTC section whose clock is as far from the host's as its field
 * holds, then every register read and the seconds written: the clock
 * arithmetic overflowed on it before the load refused such offsets.
 */
static void write_far_rtc(const char *dir)
{
	uint8_t buf[512], cmos[0x80] = { [0x0a] = 0x26, [0x0b] = 0x02 };
	char *st = NULL;
	size_t n, len = 0;
	FILE *f = open_memstream(&st, &len);
	struct state_writer *w = f ? state_writer_create(f) : NULL;

	if (!w)
		abort();
	state_section_begin(w, 1, "rtc");
	state_put_u8(w, 0);
	state_put(w, cmos, sizeof(cmos));
	state_put_u64(w, INT64_MAX);
	state_put_u8(w, 0);
	state_section_end(w);
	if (state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
	n = put_load(buf, sizeof(buf), st, len);
	buf[n++] = OP_SWEEP;
	n += put_write(buf + n, PORT_RTC, 0);
	n += put_write(buf + n, PORT_RTC + 1, 0x30);
	buf[n++] = OP_ROUND;
	fuzz_seed(dir, "rtc-far-offset", buf, n);
	free(st);
}

static void write_seeds(const char *dir)
{
	static const uint8_t rtc[][2] = {
		{ 0x0b, 0x82 },		/* SET, 24 hours, BCD */
		{ 0x00, 0x30 }, { 0x02, 0x59 }, { 0x04, 0x23 },
		{ 0x07, 0x31 }, { 0x08, 0x12 }, { 0x09, 0x99 },
		{ 0x32, 0x19 },
		{ 0x0b, 0x72 },		/* run; periodic, alarm, update */
		{ 0x0a, 0x23 },		/* 32 kHz, 8 Hz */
		{ 0x01, 0xc0 }, { 0x03, 0x00 }, { 0x05, 0xc0 },
	};
	static const uint8_t com[][2] = {
		{ 3, 0x80 }, { 0, 0x01 }, { 1, 0x00 },	/* 115200 baud */
		{ 3, 0x03 }, { 2, 0xc7 }, { 4, 0x1b },	/* FIFO, loop */
		{ 1, 0x0f }, { 0, 'x' }, { 7, 0x55 },
	};
	uint8_t buf[4096];
	char *st = NULL;
	size_t n = 0, len = 0;
	FILE *f = open_memstream(&st, &len);

	if (!f)
		abort();
	uart_receive(uart, (const uint8_t *)"root\n", 5);
	save_all(f);
	fclose(f);
	n = put_load(buf, sizeof(buf) - 2, st, len);
	buf[n++] = OP_SWEEP;
	buf[n++] = OP_ROUND;
	fuzz_seed(dir, "state", buf, n);
	free(st);

	n = 0;
	for (size_t i = 0; i < sizeof(rtc) / sizeof(rtc[0]); i++) {
		n += put_write(buf + n, PORT_RTC, rtc[i][0]);
		n += put_write(buf + n, PORT_RTC + 1, rtc[i][1]);
	}
	n += put_write(buf + n, PORT_RTC, 0x0c);
	buf[n++] = OP_READ;
	buf[n++] = sel(PORT_RTC + 1);
	buf[n++] = 0;
	for (size_t i = 0; i < sizeof(com) / sizeof(com[0]); i++)
		n += put_write(buf + n, PORT_COM1 + com[i][0], com[i][1]);
	buf[n++] = OP_RX;
	buf[n++] = 3;
	memcpy(buf + n, "ls\n", 3);
	n += 3;
	buf[n++] = OP_READ;
	buf[n++] = sel(PORT_COM1 + 2);	/* IIR */
	buf[n++] = 0;
	n += put_write(buf + n, PORT_ACPI_SLEEP_CTL, 0x20 | 1 << 2);
	n += put_write(buf + n, PORT_ACPI_SLEEP_STS, 0x80);
	buf[n++] = OP_BUTTON;
	n += put_write(buf + n, PORT_PVPANIC, 1);
	n += put_write(buf + n, 0x80, 0x42);
	buf[n++] = OP_ROUND;
	buf[n++] = OP_SWEEP;
	fuzz_seed(dir, "programmed", buf, n);
	write_far_rtc(dir);
}

static void teardown(void)
{
	destroy_devices();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = { 1, 2, 4 };
	uint64_t v;

	if (!vm.mem.ram_size) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		vm.nr_vcpus = 1;
		if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
		    guest_mem_init(&vm.mem, RAM_SIZE, NULL))
			abort();
		atexit(teardown);
		create_devices();
		if (seed)
			write_seeds(seed);
	}
	destroy_devices();
	create_devices();
	while (size) {
		uint8_t op = data[0] % NR_OPS;
		size_t n, len;

		switch (op) {
		case OP_WRITE:
			if (size < 7)
				return 0;
			v = data[3] | data[4] << 8 | data[5] << 16 |
			    (uint32_t)data[6] << 24;
			bus_write(&vm.pio, ports[data[1] % NR_PORTS], v,
				  sizes[data[2] % 3]);
			n = 7;
			break;
		case OP_READ:
			if (size < 3)
				return 0;
			bus_read(&vm.pio, ports[data[1] % NR_PORTS], &v,
				 sizes[data[2] % 3]);
			n = 3;
			break;
		case OP_RX:
			if (size < 2)
				return 0;
			len = data[1] < size - 2 ? data[1] : size - 2;
			uart_receive(uart, data + 2, len);
			n = 2 + len;
			break;
		case OP_LOAD:
			if (size < 3)
				return 0;
			len = data[1] | data[2] << 8;
			if (len > size - 3)
				len = size - 3;
			load(data + 3, len);
			n = 3 + len;
			break;
		case OP_SWEEP:
			sweep();
			n = 1;
			break;
		case OP_BUTTON:
			acpi_pm_power_button(acpi);
			n = 1;
			break;
		default:
			round_trip();
			n = 1;
			break;
		}
		data += n;
		size -= n;
	}
	return 0;
}
