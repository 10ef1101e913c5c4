// SPDX-License-Identifier: MIT
/*
 * The hardware-reduced ACPI power-management registers the FADT points at
 * (ACPI 6.x, 4.8.3.7 and 4.8.3.6): sleep control, sleep status and reset,
 * three byte-wide ports from PORT_ACPI_PM. Only S5 is advertised (\_S5), so
 * a sleep request is either a poweroff or something the guest should not
 * ask for; the latter "wakes" at once so a guest waiting for WAK_STS
 * does not hang.
 */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/acpi.h"
#include "devices/legacy.h"
#include "vmm/log.h"
#include "vmm/vm.h"

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t sleep_status;
};

static uint64_t acpi_pm_read(void *opaque, uint64_t off, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t val = 0;

	pthread_mutex_lock(&pm->lock);
	if (off == PORT_ACPI_SLEEP_STS - PORT_ACPI_PM)
		val = pm->sleep_status;
	pthread_mutex_unlock(&pm->lock);
	/* The control and reset registers are write-only: read as zero. */
	return val;
}

static void acpi_pm_sleep(struct acpi_pm *pm, uint8_t val)
{
	unsigned slp_typ = (val & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT;

	if (!(val & ACPI_SLP_EN))
		return;
	if (slp_typ == ACPI_SLP_TYP_S5) {
		vm_request_exit(pm->vm, VM_EXIT_POWEROFF,
				"guest powered off (ACPI S5)");
		return;
	}
	log_once("acpi: guest asked for unsupported sleep type %u", slp_typ);
	pthread_mutex_lock(&pm->lock);
	pm->sleep_status |= ACPI_WAK_STS;
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_write(void *opaque, uint64_t off, uint64_t val,
			  unsigned size)
{
	struct acpi_pm *pm = opaque;

	/* A wider access than the GAS says covers the first register only. */
	switch (off + PORT_ACPI_PM) {
	case PORT_ACPI_SLEEP_CTL:
		acpi_pm_sleep(pm, val);
		break;
	case PORT_ACPI_SLEEP_STS:
		pthread_mutex_lock(&pm->lock);
		pm->sleep_status &= ~(val & ACPI_WAK_STS);	/* write 1 clears */
		pthread_mutex_unlock(&pm->lock);
		break;
	case PORT_ACPI_RESET:
		if ((uint8_t)val == ACPI_RESET_VALUE)
			vm_request_exit(pm->vm, VM_EXIT_RESET,
					"guest reset (ACPI reset register)");
		break;
	}
}

static const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

int acpi_pm_init(struct vm *vm)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	ret = bus_register(&vm->pio, PORT_ACPI_PM, 3, &acpi_pm_ops, pm,
			   "acpi-pm");
	if (ret)
		goto err_free;
	return 0;

err_free:
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	return ret;
}

void acpi_pm_exit(struct vm *vm)
{
	struct acpi_pm *pm = legacy_unregister(&vm->pio, PORT_ACPI_PM,
					       &acpi_pm_ops);

	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

int acpi_pm_power_button(struct vm *vm)
{
	int ret;

	/* The GED's interrupt is edge-triggered: one pulse per press. */
	ret = vm_set_irq(vm, ACPI_GED_GSI, 1);
	if (!ret)
		ret = vm_set_irq(vm, ACPI_GED_GSI, 0);
	return ret;
}
