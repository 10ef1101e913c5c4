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
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>

#include "arch/x86/acpi.h"
#include "devices/legacy.h"
#include "vmm/bus.h"
#include "vmm/log.h"

struct acpi_pm {
	struct device dev;
	struct bus *pio;
	struct irq_line ged;
	struct power_sink power;
	pthread_mutex_t lock;
	uint8_t sleep_status;
};

static uint64_t acpi_pm_read(void *opaque, uint64_t off, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t val = 0;

	(void)size;
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
		power_event(&pm->power, POWER_OFF,
			    "guest powered off (ACPI S5)");
		return;
	}
	log_limited(&pm->dev.log,
		    "acpi: guest asked for unsupported sleep type %u", slp_typ);
	pthread_mutex_lock(&pm->lock);
	pm->sleep_status |= ACPI_WAK_STS;
	pthread_mutex_unlock(&pm->lock);
}

static void acpi_pm_write(void *opaque, uint64_t off, uint64_t val,
			  unsigned size)
{
	struct acpi_pm *pm = opaque;

	(void)size;
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
			power_event(&pm->power, POWER_RESET,
				    "guest reset (ACPI reset register)");
		break;
	}
}

static const struct bus_ops acpi_pm_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};

static void acpi_pm_destroy(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);

	bus_unregister(pm->pio, PORT_ACPI_PM, pm);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

static int acpi_pm_save(struct device *dev, struct state_writer *w)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	state_put_u8(w, pm->sleep_status);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static int acpi_pm_load(struct device *dev, struct state_reader *r,
			uint32_t version)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	uint8_t sts;
	int ret;

	(void)version;
	ret = state_get_u8(r, &sts);
	if (ret)
		return ret;
	if (sts & ~ACPI_WAK_STS)
		return state_fail(r, "acpi-pm: bad sleep status 0x%x", sts);
	pm->sleep_status = sts;
	return 0;
}

static const struct device_ops acpi_pm_dev_ops = {
	.state_version = 1,
	.save = acpi_pm_save,
	.load = acpi_pm_load,
	.destroy = acpi_pm_destroy,
};

int acpi_pm_create(const struct dev_env *env, unsigned ged_gsi,
		   struct device **out)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->dev.ops = &acpi_pm_dev_ops;
	snprintf(pm->dev.name, sizeof(pm->dev.name), "acpi-pm");
	pm->pio = env->pio;
	pm->ged = (struct irq_line){ env->irq, ged_gsi };
	pm->power = env->power;
	pthread_mutex_init(&pm->lock, NULL);
	ret = bus_register(env->pio, PORT_ACPI_PM, 3, &acpi_pm_ops, pm,
			   "acpi-pm");
	if (ret) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return ret;
	}
	*out = &pm->dev;
	return 0;
}

int acpi_pm_power_button(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	int ret;

	/* The GED's interrupt is edge-triggered: one pulse per press. */
	ret = irq_line_set(&pm->ged, 1);
	if (!ret)
		ret = irq_line_set(&pm->ged, 0);
	return ret;
}
