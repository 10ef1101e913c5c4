// SPDX-License-Identifier: MIT
/* ACPI PM registers, pvpanic and the i8042 on a VM with no vCPUs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/legacy.h"
#include "fake_irq.h"
#include "test.h"
#include "vmm/state.h"
#include "vmm/vm.h"

static struct vm_config cfg;
static struct vm vm;

static void vm_setup(void)
{
	fake_irq_vm_init(&vm, &cfg);
}

static void vm_teardown(void)
{
	fake_irq_vm_destroy(&vm);
}

static uint8_t inb(uint16_t port)
{
	uint64_t v = 0;

	CHECK(bus_read(&vm.pio, port, &v, 1));
	return v;
}

static void outb(uint16_t port, uint8_t v)
{
	CHECK(bus_write(&vm.pio, port, v, 1));
}

static void test_acpi_pm_poweroff(void)
{
	vm_setup();
	CHECK_EQ(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI, &pm_dev), 0);
	/* SLP_TYP without SLP_EN does nothing */
	outb(PORT_ACPI_SLEEP_CTL, ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT);
	CHECK_EQ(vm.exit_reason, VM_EXIT_NONE);
	/* What Linux writes for S5: SLP_TYP = 5, SLP_EN */
	outb(PORT_ACPI_SLEEP_CTL, 0x34);
	CHECK_EQ(vm.exit_reason, VM_EXIT_POWEROFF);
	CHECK(vm.stopping);
	fake_destroy(&pm_dev);
	fake_destroy(&pm_dev);	/* twice is harmless */
	vm_teardown();
}

static void test_acpi_pm_sleep_status(void)
{
	vm_setup();
	CHECK_EQ(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI, &pm_dev), 0);
	CHECK_EQ(inb(PORT_ACPI_SLEEP_STS), 0);
	/* An unsupported sleep state wakes at once. */
	outb(PORT_ACPI_SLEEP_CTL, ACPI_SLP_EN | 3 << ACPI_SLP_TYP_SHIFT);
	CHECK_EQ(vm.exit_reason, VM_EXIT_NONE);
	CHECK_EQ(inb(PORT_ACPI_SLEEP_STS), ACPI_WAK_STS);
	outb(PORT_ACPI_SLEEP_STS, ACPI_WAK_STS);	/* write 1 to clear */
	CHECK_EQ(inb(PORT_ACPI_SLEEP_STS), 0);
	fake_destroy(&pm_dev);
	vm_teardown();
}

static void test_acpi_pm_reset(void)
{
	vm_setup();
	CHECK_EQ(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI, &pm_dev), 0);
	outb(PORT_ACPI_RESET, ACPI_RESET_VALUE + 1);
	CHECK_EQ(vm.exit_reason, VM_EXIT_NONE);
	outb(PORT_ACPI_RESET, ACPI_RESET_VALUE);
	CHECK_EQ(vm.exit_reason, VM_EXIT_RESET);
	fake_destroy(&pm_dev);
	vm_teardown();
}

static void test_power_button(void)
{
	vm_setup();
	CHECK_EQ(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI, &pm_dev), 0);
	CHECK_EQ(acpi_pm_power_button(pm_dev), 0);
	CHECK_EQ(irq_raises[ACPI_GED_GSI], 1);
	CHECK_EQ(irq_level[ACPI_GED_GSI], 0);
	fake_destroy(&pm_dev);
	vm_teardown();
}

static void test_pvpanic(void)
{
	vm_setup();
	CHECK_EQ(pvpanic_create(fake_env(&vm), PORT_PVPANIC, &pvpanic_dev), 0);
	CHECK_EQ(inb(PORT_PVPANIC), 3);
	outb(PORT_PVPANIC, 2);		/* crash kernel loaded: keep going */
	CHECK_EQ(vm.exit_reason, VM_EXIT_NONE);
	outb(PORT_PVPANIC, 1);
	CHECK_EQ(vm.exit_reason, VM_EXIT_PANIC);
	CHECK(strstr(vm.exit_msg, "panic"));
	fake_destroy(&pvpanic_dev);
	CHECK(!bus_read(&vm.pio, PORT_PVPANIC, &(uint64_t){ 0 }, 1));
	vm_teardown();
}

/* Controller command with one reply byte, as Linux's i8042_command does */
static uint8_t kbc_cmd(uint8_t cmd)
{
	outb(PORT_I8042_CMD, cmd);
	CHECK(inb(PORT_I8042_CMD) & 0x01);
	return inb(PORT_I8042_DATA);
}

static void test_i8042_probe(void)
{
	uint8_t ctr;
	int raises;

	vm_setup();
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	/* empty: OBF clear, so i8042_flush ends at once */
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	CHECK_EQ(kbc_cmd(0xaa), 0x55);
	CHECK(inb(PORT_I8042_CMD) & 0x04);		/* SYS flag */
	CHECK_EQ(kbc_cmd(0xab), 0x00);
	ctr = kbc_cmd(0x20);
	CHECK(ctr & 0x01);
	/* write the command byte back with interrupts off */
	outb(PORT_I8042_CMD, 0x60);
	outb(PORT_I8042_DATA, ctr & ~0x03);
	raises = irq_raises[IRQ_KBD];
	CHECK_EQ(kbc_cmd(0x20), ctr & ~0x03);
	/* disable/enable keyboard and aux show in the command byte */
	outb(PORT_I8042_CMD, 0xad);
	outb(PORT_I8042_CMD, 0xa7);
	CHECK_EQ(kbc_cmd(0x20) & 0x30, 0x30);
	outb(PORT_I8042_CMD, 0xae);
	outb(PORT_I8042_CMD, 0xa8);
	CHECK_EQ(kbc_cmd(0x20) & 0x30, 0x00);
	/* the loopback byte comes back as aux data; the aux port tests fine */
	outb(PORT_I8042_CMD, 0xd3);
	outb(PORT_I8042_DATA, 0x5a);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x21, 0x21);
	CHECK_EQ(inb(PORT_I8042_DATA), 0x5a);
	CHECK_EQ(kbc_cmd(0xa9), 0x00);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	CHECK_EQ(irq_raises[IRQ_KBD], raises);
	CHECK_EQ(irq_raises[IRQ_MOUSE], 0);	/* aux interrupts off */
	fake_destroy(&kbd_dev);
	vm_teardown();
}

/* A byte for the mouse through 0xD4, and its first reply byte. */
static uint8_t aux_cmd(uint8_t val)
{
	outb(PORT_I8042_CMD, 0xd4);
	outb(PORT_I8042_DATA, val);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x21, 0x21);
	return inb(PORT_I8042_DATA);
}

static uint8_t aux_byte(void)
{
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x21, 0x21);
	return inb(PORT_I8042_DATA);
}

/* Linux's psmouse: reset, ID, IntelliMouse detection, then packets. */
static void test_i8042_mouse(void)
{
	vm_setup();
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	/* aux interrupts on, keyboard's off */
	outb(PORT_I8042_CMD, 0x60);
	outb(PORT_I8042_DATA, 0x46);
	CHECK_EQ(aux_cmd(0xff), 0xfa);
	CHECK_EQ(irq_level[IRQ_MOUSE], 1);
	CHECK_EQ(aux_byte(), 0xaa);
	CHECK_EQ(aux_byte(), 0x00);
	CHECK_EQ(irq_level[IRQ_MOUSE], 0);
	CHECK_EQ(irq_raises[IRQ_MOUSE], 3);
	CHECK_EQ(irq_raises[IRQ_KBD], 0);
	CHECK_EQ(aux_cmd(0xf2), 0xfa);
	CHECK_EQ(aux_byte(), 0x00);
	/* a bad sample rate and an unknown command are refused at once */
	CHECK_EQ(aux_cmd(0xf3), 0xfa);
	CHECK_EQ(aux_cmd(55), 0xfe);
	CHECK_EQ(aux_cmd(0xe1), 0xfe);
	/* 200, 100, 80: the wheel */
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(aux_cmd(0xf3), 0xfa);
		CHECK_EQ(aux_cmd((uint8_t[]){ 200, 100, 80 }[i]), 0xfa);
	}
	CHECK_EQ(aux_cmd(0xf2), 0xfa);
	CHECK_EQ(aux_byte(), 0x03);
	CHECK_EQ(aux_cmd(0xe8), 0xfa);
	CHECK_EQ(aux_cmd(3), 0xfa);
	CHECK_EQ(aux_cmd(0xe9), 0xfa);		/* status */
	CHECK_EQ(aux_byte(), 0x00);
	CHECK_EQ(aux_byte(), 3);
	CHECK_EQ(aux_byte(), 80);
	/* movement before reporting is on is not sent */
	i8042_mouse(kbd_dev, 5, 5, 0, 0);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	CHECK(!i8042_mouse_active(kbd_dev));
	CHECK_EQ(aux_cmd(0xf4), 0xfa);
	CHECK(i8042_mouse_active(kbd_dev));
	/* right 300, up 2 (screen y down is PS/2 y negative), wheel up 1,
	 * left button: two packets, the first as much as fits */
	i8042_mouse(kbd_dev, 300, 2, 1, 1);
	CHECK_EQ(aux_byte(), 0x29);		/* left, always-1, Y sign */
	CHECK_EQ(aux_byte(), 255);
	CHECK_EQ(aux_byte(), 0xfe);		/* -2 */
	CHECK_EQ(aux_byte(), 0xff);		/* wheel up: -1 */
	CHECK_EQ(aux_byte(), 0x09);
	CHECK_EQ(aux_byte(), 45);
	CHECK_EQ(aux_byte(), 0);
	CHECK_EQ(aux_byte(), 0);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	/* button released, no movement: one packet */
	i8042_mouse(kbd_dev, 0, 0, 0, 0);
	CHECK_EQ(aux_byte(), 0x08);
	aux_byte();
	aux_byte();
	aux_byte();
	/* aux port disabled: movement waits */
	outb(PORT_I8042_CMD, 0xa7);
	i8042_mouse(kbd_dev, -7, 0, 0, 0);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	outb(PORT_I8042_CMD, 0xa8);
	CHECK_EQ(aux_byte(), 0x18);		/* X sign */
	CHECK_EQ(aux_byte(), (uint8_t)-7);
	aux_byte();
	aux_byte();
	/* reset: the wheel goes */
	CHECK_EQ(aux_cmd(0xff), 0xfa);
	aux_byte();
	CHECK_EQ(aux_byte(), 0x00);
	CHECK(!i8042_mouse_active(kbd_dev));
	fake_destroy(&kbd_dev);
	vm_teardown();
}

static void test_i8042_keyboard(void)
{
	vm_setup();
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	/* keyboard interrupts on (the default command byte) */
	outb(PORT_I8042_DATA, 0xff);			/* reset */
	CHECK_EQ(irq_level[IRQ_KBD], 1);
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	CHECK_EQ(irq_level[IRQ_KBD], 1);
	CHECK_EQ(inb(PORT_I8042_DATA), 0xaa);
	CHECK_EQ(irq_level[IRQ_KBD], 0);
	CHECK_EQ(irq_raises[IRQ_KBD], 2);		/* one edge per byte */
	outb(PORT_I8042_DATA, 0xf2);			/* get id */
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	CHECK_EQ(inb(PORT_I8042_DATA), 0xab);
	inb(PORT_I8042_DATA);
	outb(PORT_I8042_DATA, 0xed);			/* LEDs + param */
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	outb(PORT_I8042_DATA, 0x00);
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	outb(PORT_I8042_DATA, 0xf0);			/* query scan set */
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	outb(PORT_I8042_DATA, 0x00);
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	CHECK_EQ(inb(PORT_I8042_DATA), 0x02);
	outb(PORT_I8042_DATA, 0xf4);			/* enable */
	CHECK_EQ(inb(PORT_I8042_DATA), 0xfa);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x01, 0);
	fake_destroy(&kbd_dev);
	vm_teardown();
}

/* A section as a writer fills it; *buf is freed by the caller. */
static FILE *state_open(char **buf, size_t *len, struct state_writer **w)
{
	FILE *f = open_memstream(buf, len);

	CHECK(f);
	*w = state_writer_create(f);
	CHECK(*w);
	return f;
}

static int load_section(char *buf, size_t len, struct device *dev)
{
	char err[128];
	FILE *f = fmemopen(buf, len, "r");
	struct state_reader *r = state_reader_create(f, err, sizeof(err));
	const char *name;
	uint32_t version;
	int ret;

	CHECK(r);
	CHECK_EQ(state_next_section(r, &name, &version), 1);
	ret = dev->ops->load(dev, r, version);
	if (!ret)
		CHECK_EQ(state_remaining(r), 0);
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

/* Version 1 (no mouse) still loads; version 2 keeps the mouse's mode. */
static void test_i8042_state_versions(void)
{
	static const uint8_t v1[] = {
		0x47, 0x04, 0, 0, 2, 1, 1, 0x1c, 0,	/* one key byte */
	};
	struct state_writer *w;
	size_t len;
	char *buf;
	FILE *f;

	vm_setup();
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	f = state_open(&buf, &len, &w);
	state_section_begin(w, 1, "i8042");
	state_put(w, v1, sizeof(v1));
	state_section_end(w);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	CHECK_EQ(load_section(buf, len, kbd_dev), 0);
	free(buf);
	CHECK_EQ(inb(PORT_I8042_CMD) & 0x21, 0x01);
	CHECK_EQ(inb(PORT_I8042_DATA), 0x1c);
	/* the mouse is there, as after a reset */
	CHECK_EQ(aux_cmd(0xf2), 0xfa);
	CHECK_EQ(aux_byte(), 0x00);
	for (int i = 0; i < 3; i++) {
		aux_cmd(0xf3);
		aux_cmd((uint8_t[]){ 200, 100, 80 }[i]);
	}
	aux_cmd(0xf4);
	f = state_open(&buf, &len, &w);
	CHECK_EQ(device_save(kbd_dev, w), 0);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	fake_destroy(&kbd_dev);
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	CHECK_EQ(load_section(buf, len, kbd_dev), 0);
	CHECK(i8042_mouse_active(kbd_dev));
	CHECK_EQ(aux_cmd(0xf2), 0xfa);
	CHECK_EQ(aux_byte(), 0x03);
	free(buf);
	fake_destroy(&kbd_dev);
	vm_teardown();
}

static void test_i8042_reset(void)
{
	vm_setup();
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	outb(PORT_I8042_CMD, 0xff);			/* pulses nothing */
	CHECK_EQ(vm.exit_reason, VM_EXIT_NONE);
	outb(PORT_I8042_CMD, 0xfe);
	CHECK_EQ(vm.exit_reason, VM_EXIT_RESET);
	fake_destroy(&kbd_dev);
	/* and the port 0x61 between the two is left for the PIT */
	CHECK(!bus_read(&vm.pio, PORT_SYSCTRL_B, &(uint64_t){ 0 }, 1));
	vm_teardown();
}

/* Whatever a guest writes, in any order and width, nothing breaks. */
static void test_guest_garbage(void)
{
	static const uint16_t ports[] = {
		PORT_I8042_DATA, PORT_I8042_CMD, PORT_RTC, PORT_RTC + 1,
		PORT_PVPANIC, PORT_ACPI_SLEEP_CTL, PORT_ACPI_SLEEP_STS,
		PORT_ACPI_RESET,
	};
	static const unsigned sizes[] = { 1, 2, 4 };
	uint32_t x = 12345;
	uint64_t v;

	vm_setup();
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	CHECK_EQ(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC, &rtc_dev), 0);
	CHECK_EQ(pvpanic_create(fake_env(&vm), PORT_PVPANIC, &pvpanic_dev), 0);
	CHECK_EQ(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI, &pm_dev), 0);
	for (int i = 0; i < 200000; i++) {
		x = x * 1103515245 + 12345;
		uint16_t port = ports[(x >> 8) % 8];
		unsigned size = sizes[(x >> 4) % 3];

		if (x & 1)
			bus_write(&vm.pio, port, x >> 16, size);
		else
			bus_read(&vm.pio, port, &v, size);
	}
	/* the controller still answers */
	outb(PORT_I8042_CMD, 0xaa);
	for (int i = 0; i < 32 && inb(PORT_I8042_CMD) & 0x01; i++)
		v = inb(PORT_I8042_DATA);
	CHECK_EQ(v, 0x55);
	fake_destroy(&pm_dev);
	fake_destroy(&pvpanic_dev);
	fake_destroy(&rtc_dev);
	fake_destroy(&kbd_dev);
	CHECK_EQ(vm.pio.nr, 0);
	guest_mem_destroy(&vm.mem);
	vm_teardown();
}

int main(void)
{
	RUN(test_acpi_pm_poweroff);
	RUN(test_acpi_pm_sleep_status);
	RUN(test_acpi_pm_reset);
	RUN(test_power_button);
	RUN(test_pvpanic);
	RUN(test_i8042_probe);
	RUN(test_i8042_keyboard);
	RUN(test_i8042_mouse);
	RUN(test_i8042_state_versions);
	RUN(test_i8042_reset);
	RUN(test_guest_garbage);
	return test_summary();
}
