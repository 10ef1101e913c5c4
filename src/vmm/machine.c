// SPDX-License-Identifier: MIT
/*
 * The PC machine cvisor builds: which devices exist, at which ports and
 * interrupt lines, in which order. Adding a device is its file plus one
 * entry in machine_devices[]. Devices are created in table order, so the
 * PCI host exists before the devices on its bus, and destroyed in reverse.
 * A snapshot lists the devices in this order too; a device's name is its
 * section's name.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "devices/debug.h"
#include "devices/display.h"
#include "devices/legacy.h"
#include "devices/pci.h"
#include "devices/uart.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/input.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "vmm/log.h"
#include "vmm/vm.h"

struct machine_entry {
	const char *what;	/* for the error message */
	/* How many instances cfg asks for; NULL: one. */
	int (*count)(const struct vm_config *cfg);
	/* Create instance i; each prints its own error or returns -errno. */
	int (*create)(struct vm *vm, int i, struct device **out);
};

static int mc_post(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return post_port_create(&vm->env, out);
}

static int mc_rtc(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return rtc_create(&vm->env, PORT_RTC, IRQ_RTC, out);
}

static int mc_i8042(struct vm *vm, int i, struct device **out)
{
	int ret = i8042_create(&vm->env, IRQ_KBD, IRQ_MOUSE, out);

	(void)i;
	if (!ret)
		vm->i8042 = *out;
	return ret;
}

static int mc_pvpanic(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return pvpanic_create(&vm->env, PORT_PVPANIC, out);
}

static int mc_acpi_pm(struct vm *vm, int i, struct device **out)
{
	int ret = acpi_pm_create(&vm->env, ACPI_GED_GSI, out);

	(void)i;
	if (!ret)
		vm->acpi_pm = *out;
	return ret;
}

static int mc_uart(struct vm *vm, int i, struct device **out)
{
	(void)i;
	vm->console_uart = uart_create(&vm->env, "uart0", PORT_COM1, IRQ_COM1,
				       vm->cfg->console_out,
				       vm->cfg->console_opaque);
	if (!vm->console_uart)
		return -ENOMEM;
	*out = uart_device(vm->console_uart);
	return 0;
}

static int mc_count_test_exit(const struct vm_config *cfg)
{
	return cfg->test_exit;
}

static int mc_debug_exit(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return debug_exit_create(&vm->env, out);
}

static int mc_pci_host(struct vm *vm, int i, struct device **out)
{
	int ret = pci_host_create(&vm->env, out);

	(void)i;
	if (!ret) {
		vm->pci = pci_host_bus(*out);
		vm->env.pci = vm->pci;
	}
	return ret;
}

static int mc_count_disks(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

static int mc_blk(struct vm *vm, int i, struct device **out)
{
	return virtio_blk_create(&vm->env, &vm->cfg->disks[i], i, out);
}

static int mc_rng(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return virtio_rng_create(&vm->env, out);
}

static int mc_count_nets(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static int mc_net(struct vm *vm, int i, struct device **out)
{
	return virtio_net_create(&vm->env, &vm->cfg->nets[i], i, out);
}

static int mc_count_balloon(const struct vm_config *cfg)
{
	return cfg->balloon;
}

static int mc_balloon(struct vm *vm, int i, struct device **out)
{
	int ret = virtio_balloon_create(&vm->env,
					!vm->cfg->balloon_no_reporting,
					&vm->balloon);

	(void)i;
	if (!ret)
		*out = virtio_balloon_device(vm->balloon);
	return ret;
}

static int mc_count_console(const struct vm_config *cfg)
{
	return cfg->virtio_console != NULL;
}

static int mc_console(struct vm *vm, int i, struct device **out)
{
	(void)i;
	return virtio_console_create(&vm->env, vm->cfg->virtio_console, out);
}

static int mc_count_vnc(const struct vm_config *cfg)
{
	return cfg->vnc != NULL;
}

static int mc_display(struct vm *vm, int i, struct device **out)
{
	int ret = display_create(&vm->env, &vm->display);

	(void)i;
	if (!ret)
		*out = display_device(vm->display);
	return ret;
}

/* With a display: a keyboard (i == 0) and a tablet (i == 1). */
static int mc_count_input(const struct vm_config *cfg)
{
	return cfg->vnc ? 2 : 0;
}

static int mc_input(struct vm *vm, int i, struct device **out)
{
	struct virtio_input **in = i == 0 ? &vm->keyboard : &vm->tablet;
	int ret = virtio_input_create(&vm->env, i == 0 ?
				      VIRTIO_INPUT_KEYBOARD :
				      VIRTIO_INPUT_TABLET, in);

	if (!ret)
		*out = virtio_input_device(*in);
	return ret;
}

static const struct machine_entry machine_devices[] = {
	{ "POST port", NULL, mc_post },
	{ "RTC", NULL, mc_rtc },
	{ "i8042", NULL, mc_i8042 },
	{ "pvpanic", NULL, mc_pvpanic },
	{ "ACPI PM", NULL, mc_acpi_pm },
	{ "UART", NULL, mc_uart },
	{ "test exit port", mc_count_test_exit, mc_debug_exit },
	{ "PCI host", NULL, mc_pci_host },
	{ NULL, mc_count_disks, mc_blk },
	{ NULL, NULL, mc_rng },
	{ NULL, mc_count_nets, mc_net },
	{ NULL, mc_count_balloon, mc_balloon },
	{ NULL, mc_count_console, mc_console },
	{ "display", mc_count_vnc, mc_display },
	{ NULL, mc_count_input, mc_input },
};

int machine_create_devices(struct vm *vm)
{
	for (size_t e = 0; e < sizeof(machine_devices) /
			       sizeof(machine_devices[0]); e++) {
		const struct machine_entry *me = &machine_devices[e];
		int n = me->count ? me->count(vm->cfg) : 1;

		for (int i = 0; i < n; i++) {
			struct device *dev = NULL;
			int ret;

			if (vm->nr_devices == VM_MAX_DEVICES)
				return -ENOSPC;
			ret = me->create(vm, i, &dev);
			if (ret) {
				/* virtio devices print their own line */
				if (me->what)
					log_error("%s setup failed: %s",
						  me->what, strerror(-ret));
				return ret;
			}
			vm->devices[vm->nr_devices++] = dev;
		}
	}
	return 0;
}

void machine_destroy_devices(struct vm *vm)
{
	while (vm->nr_devices > 0) {
		struct device *dev = vm->devices[--vm->nr_devices];

		dev->ops->destroy(dev);
	}
	vm->console_uart = NULL;
	vm->pci = NULL;
	vm->env.pci = NULL;
	vm->acpi_pm = NULL;
	vm->balloon = NULL;
	vm->i8042 = NULL;
	vm->display = NULL;
	vm->keyboard = vm->tablet = NULL;
}
