// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the software CPU's snapshot sections: the input is
 * a state stream (src/vmm/state.h) whose "emu" section (IOAPIC, PIC, PIT:
 * irqchip.c) and "cpu0"/"cpu1" sections (registers: state.c, then the
 * LAPIC: lapic_state.c) are loaded into a two-vCPU emu VM, as a restore or
 * an incoming migration would. What a load accepts is then used: every
 * register of the controllers is read, an EOI written, interrupts taken
 * and each CPU runs a few hundred instructions from the loaded state, in
 * a RAM that holds the input over and over. A load must refuse what the
 * interpreter and the controllers cannot take, with one message; never
 * crash, hang, or trip a sanitizer later.
 * Fuzzing builds skip the checksums. With CVISOR_FUZZ_SEEDS=DIR set,
 * the first run writes two streams into DIR: a machine just reset, and
 * one with the PIT, an IOAPIC entry and the LAPIC timer programmed. Build
 * with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/emu_state_fuzz -max_len=8192
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel.h"
#include "accel/emu/cpu.h"
#include "accel/emu/irqchip.h"
#include "vmm/bus.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define RAM_SIZE	(4 << 20)
#define NR_CPUS		2
#define IOAPIC_BASE	0xfec00000ull

static struct vm vm;

static struct emu_cpu *cpu_of(int i)
{
	/* emu.c's per-vCPU data begins with its struct emu_cpu */
	return vm.vcpus[i].accel_data;
}

static void setup(void)
{
	if (guest_mem_init(&vm.mem, RAM_SIZE, NULL) ||
	    bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio"))
		abort();
	vm.nr_vcpus = NR_CPUS;
	vm.accel = &emu_accel_ops;
	if (vm.accel->vm_init(&vm))
		abort();
	for (int i = 0; i < NR_CPUS; i++) {
		vm.vcpus[i].vm = &vm;
		vm.vcpus[i].id = i;
		if (vm.accel->vcpu_init(&vm.vcpus[i]))
			abort();
	}
}

static void write_stream(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	struct state_writer *w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	w = f ? state_writer_create(f) : NULL;
	if (!w || vm.accel->vm_save(&vm, w))
		abort();
	for (int i = 0; i < NR_CPUS; i++)
		if (vm.accel->vcpu_save(&vm.vcpus[i], w))
			abort();
	if (state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
}

static void write_seeds(const char *dir)
{
	struct lapic *apic = cpu_of(0)->apic;
	uint64_t v;

	write_stream(dir, "reset");
	/* PIT channel 0: rate generator, 1000 */
	bus_write(&vm.pio, 0x43, 0x34, 1);
	bus_write(&vm.pio, 0x40, 1000 & 0xff, 1);
	bus_write(&vm.pio, 0x40, 1000 >> 8, 1);
	/* IOAPIC pin 2: vector 0x30, level, to APIC 0 */
	bus_write(&vm.mmio, IOAPIC_BASE, 0x14, 4);
	bus_write(&vm.mmio, IOAPIC_BASE + 0x10, 0x8030, 4);
	/* LAPIC: enabled, a periodic timer, an IPI pending */
	lapic_mmio_write(apic, 0xf0, 0x1ff);
	lapic_mmio_write(apic, 0x3e0, 0x3);
	lapic_mmio_write(apic, 0x320, 0x20040);
	lapic_mmio_write(apic, 0x380, 100000);
	vm.accel->send_msi(&vm, 0xfee00000, 0x45);
	write_stream(dir, "programmed");
	bus_read(&vm.pio, 0x40, &v, 1);
}

/* Read every register the loaded state shows, and take its interrupts. */
static void use_state(void)
{
	uint64_t v;

	for (unsigned port = 0x40; port <= 0x43; port++)
		bus_read(&vm.pio, port, &v, 1);
	bus_write(&vm.pio, 0x43, 0xe2, 1);	/* read-back: status, count */
	bus_read(&vm.pio, 0x40, &v, 1);
	bus_read(&vm.pio, 0x40, &v, 1);
	bus_read(&vm.pio, 0x61, &v, 1);
	for (unsigned port = 0x20; port <= 0xa1; port += 0x80) {
		bus_read(&vm.pio, port, &v, 1);
		bus_read(&vm.pio, port + 1, &v, 1);
		bus_write(&vm.pio, port, 0x20, 1);	/* EOI */
	}
	for (unsigned reg = 0; reg < 0x40; reg++) {
		bus_write(&vm.mmio, IOAPIC_BASE, reg, 4);
		bus_read(&vm.mmio, IOAPIC_BASE + 0x10, &v, 4);
	}
	for (int i = 0; i < NR_CPUS; i++) {
		struct emu_cpu *c = cpu_of(i);
		int vec;

		for (unsigned off = 0; off < 0x400; off += 0x10)
			lapic_mmio_read(c->apic, off);
		vec = lapic_pending_vector(c->apic);
		if (vec >= 0)
			lapic_accept(c->apic, vec);
		lapic_mmio_write(c->apic, 0xb0, 0);
		lapic_get_cr8(c->apic);
		for (int n = 0; n < 4 && !c->shutdown && !c->error[0]; n++)
			cpu_run_batch(c, 100, NULL);
	}
}

/*
 * RAM is the input over and over: the loaded CPU finds instructions,
 * descriptor and page tables there, not only zeros.
 */
static void fill_ram(const uint8_t *data, size_t size)
{
	uint8_t *ram = gpa_to_hva(&vm.mem, 0, RAM_SIZE);
	size_t done = size < RAM_SIZE ? size : RAM_SIZE;

	if (!size) {
		memset(ram, 0, RAM_SIZE);
		return;
	}
	memcpy(ram, data, done);
	for (; done < RAM_SIZE; done *= 2)
		memcpy(ram + done, ram, done < RAM_SIZE - done ? done :
		       RAM_SIZE - done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char err[256];
	FILE *f;

	if (!vm.accel) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		setup();
		if (seed)
			write_seeds(seed);
	}
	fill_ram(data, size);
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	r = state_reader_create(f, err, sizeof(err));
	while (r && state_next_section(r, &name, &version) > 0) {
		int cpu;

		if (!strcmp(name, "emu"))
			vm.accel->vm_load(&vm, r, version);
		else if (sscanf(name, "cpu%d", &cpu) == 1 && cpu >= 0 &&
			 cpu < NR_CPUS)
			vm.accel->vcpu_load(&vm.vcpus[cpu], r, version);
	}
	state_reader_destroy(r);
	fclose(f);
	use_state();
	for (int i = 0; i < NR_CPUS; i++) {
		cpu_of(i)->shutdown = false;
		cpu_of(i)->error[0] = 0;
	}
	return 0;
}
