// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for snapshot state files: the input is read as a state
 * stream (src/vmm/state.h) and each section whose name is a device of a
 * small machine - UART, RTC, i8042, ACPI PM, pvpanic, PCI host, display,
 * virtio-rng, -blk, -console, -input (keyboard and tablet) and -balloon
 * on a fake interrupt controller - is loaded into that
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
#include "devices/display.h"
#include "devices/legacy.h"
#include "devices/pci.h"
#include "devices/uart.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/input.h"
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

/* The devices whose creators hand back their own type */
static int add_display(void)
{
	struct display *d;
	int ret = display_create(fake_env(&vm), &d);

	if (!ret)
		fake_new_dev = display_device(d);
	return fake_added(ret);
}

static int add_input(enum virtio_input_kind kind)
{
	struct virtio_input *in;
	int ret = virtio_input_create(fake_env(&vm), kind, &in);

	if (!ret)
		fake_new_dev = virtio_input_device(in);
	return fake_added(ret);
}

static int add_balloon(void)
{
	struct virtio_balloon *b;
	int ret = virtio_balloon_create(fake_env(&vm), true, &b);

	if (!ret)
		fake_new_dev = virtio_balloon_device(b);
	return fake_added(ret);
}

static void setup(void)
{
	static struct vcon_backend con;
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
					 &fake_new_dev)) ||
	    add_display() || add_input(VIRTIO_INPUT_KEYBOARD) ||
	    add_input(VIRTIO_INPUT_TABLET) || add_balloon() ||
	    vcon_backend_open("file=/dev/null", &con) ||
	    fake_added(virtio_console_create(fake_env(&vm), &con,
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

/* Every device's section as a snapshot holds it, into path */
static void write_seed(const char *path)
{
	FILE *f = fopen(path, "w");
	struct state_writer *w = f ? state_writer_create(f) : NULL;

	if (!w)
		abort();
	for (int i = 0; i < fake_nr_devs; i++) {
		struct device *dev = fake_devs[i];

		state_section_begin(w, dev->ops->state_version, "%s", dev->name);
		if (dev->ops->save(dev, w))
			abort();
		state_section_end(w);
	}
	if (state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char err[256];
	FILE *f;

	if (!vm.pci) {
		const char *seed = getenv("CVISOR_STATE_SEED");

		setup();
		if (seed)
			write_seed(seed);
	}
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
