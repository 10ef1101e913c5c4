// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the i8042 and its PS/2 keyboard and mouse: the
 * input is a sequence of 6-byte records, each a guest access to port 0x60
 * or 0x64 (any byte: controller commands, keyboard and mouse commands
 * after 0xD4, their parameters), a VNC client's key or pointer movement,
 * or a save and load of the device's state. Whatever the order, the
 * controller must keep answering and never queue more than its FIFO.
 * Built by 'make fuzz':
 *
 *   build-fuzz/fuzz/i8042_fuzz -max_len=4096
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/legacy.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "../unit/fake_irq.h"

static struct vm_config cfg;
static struct vm vm;
#define kbc kbd_dev

static void teardown(void)
{
	fake_destroy(&kbd_dev);
	fake_irq_vm_destroy(&vm);
}

static void setup(void)
{
	fake_irq_vm_init(&vm, &cfg);
	if (i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbc))
		abort();
	atexit(teardown);
}

/* Save, then load into the same device, as a restore would. */
static void round_trip(void)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	struct state_reader *r;
	struct state_writer *w;
	const char *name;
	uint32_t version;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	w = state_writer_create(f);
	if (!w || device_save(kbc, w) || state_writer_finish(w))
		abort();
	state_writer_destroy(w);
	fclose(f);
	f = fmemopen(buf, len, "r");
	r = f ? state_reader_create(f, err, sizeof(err)) : NULL;
	if (!r || state_next_section(r, &name, &version) != 1 ||
	    kbc->ops->load(kbc, r, version) || state_remaining(r))
		abort();
	state_reader_destroy(r);
	fclose(f);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t v;

	if (!kbc)
		setup();
	for (; size >= 6; data += 6, size -= 6) {
		/* Pulsing the reset line only records a power event. */
		switch (data[0] % 8) {
		case 0:
		case 1:
			bus_write(&vm.pio, PORT_I8042_DATA, data[1], 1);
			break;
		case 2:
			bus_write(&vm.pio, PORT_I8042_CMD, data[1], 1);
			break;
		case 3:
			bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
			break;
		case 4:
			bus_read(&vm.pio, PORT_I8042_CMD, &v, 1);
			break;
		case 5:
			i8042_mouse(kbc, (int8_t)data[1] * (data[2] & 15),
				    (int8_t)data[3] * (data[2] >> 4),
				    (int8_t)data[4], data[5]);
			break;
		case 6:
			i8042_key(kbc, data[1] | data[2] << 8, data[3] & 1);
			break;
		default:
			round_trip();
			break;
		}
		/* One byte heads the FIFO: at most one line is up. */
		if (irq_level[IRQ_KBD] && irq_level[IRQ_MOUSE])
			abort();
	}
	/*
	 * It still answers: with the aux port off no mouse packet follows,
	 * the FIFO drains within its size, and a self-test reply comes out.
	 */
	bus_write(&vm.pio, PORT_I8042_CMD, 0xa7, 1);
	for (int i = 0; i <= 16; i++) {
		bus_read(&vm.pio, PORT_I8042_CMD, &v, 1);
		if (!(v & 1))
			break;
		if (i == 16)
			abort();
		bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
	}
	bus_write(&vm.pio, PORT_I8042_CMD, 0xaa, 1);
	bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
	if (v != 0x55)
		abort();
	bus_write(&vm.pio, PORT_I8042_CMD, 0xa8, 1);
	return 0;
}
