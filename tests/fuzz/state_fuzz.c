// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for snapshot state files: the input is read as a state
 * stream (src/vmm/state.h) and each section whose name is a device of a
 * small machine - UART, RTC, i8042, ACPI PM, pvpanic, PCI host, virtio-rng
 * and virtio-blk on a fake interrupt controller - is loaded into that
 * device, as a restore would. Fuzzing builds skip the checksums so the
 * loaders see mutated bytes. Build with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/state_fuzz -max_len=65536
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "devices/debug.h"
#include "devices/legacy.h"
#include "devices/pci.h"
#include "devices/uart.h"
#include "virtio/blk.h"
#include "virtio/rng.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"

#define RAM_SIZE	(1 << 20)

static struct vm vm;

static void drop_output(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static void setup(void)
{
	char path[] = "/tmp/cvisor-state-fuzz-XXXXXX";
	struct disk_config disk = { .path = path };
	struct uart *u;
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
	vm.nr_vcpus = 1;
	if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
	    guest_mem_init(&vm.mem, RAM_SIZE, NULL))
		abort();
	u = uart_create(fake_env(&vm), "uart0", PORT_COM1, IRQ_COM1,
			drop_output, NULL);
	if (!u)
		abort();
	fake_devs[fake_nr_devs++] = uart_device(u);
	if (fake_added(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC,
				  &fake_new_dev)) ||
	    fake_added(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE,
				    &fake_new_dev)) ||
	    fake_added(acpi_pm_create(fake_env(&vm), ACPI_GED_GSI,
				      &fake_new_dev)) ||
	    fake_added(pvpanic_create(fake_env(&vm), PORT_PVPANIC,
				      &fake_new_dev)) ||
	    fake_pci_init(&vm) ||
	    fake_added(virtio_rng_create(fake_env(&vm), &fake_new_dev)) ||
	    fake_added(virtio_blk_create(fake_env(&vm), &disk, 0,
					 &fake_new_dev)))
		abort();
	unlink(path);
}

static struct device *find(const char *name)
{
	for (int i = 0; i < fake_nr_devs; i++)
		if (!strcmp(fake_devs[i]->name, name))
			return fake_devs[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char err[256];
	FILE *f;

	if (!vm.pci)
		setup();
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	r = state_reader_create(f, err, sizeof(err));
	while (r && state_next_section(r, &name, &version) > 0) {
		struct device *dev = find(name);

		if (dev && version <= dev->ops->state_version &&
		    version >= (dev->ops->min_state_version ?:
				dev->ops->state_version))
			dev->ops->load(dev, r, version);
	}
	state_reader_destroy(r);
	fclose(f);
	return 0;
}
