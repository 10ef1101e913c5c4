// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for what a guest and a VNC client can feed the display
 * path: the input is a sequence of 14-byte records, each a register or
 * video memory access of the display (the guest's side), a key or keysym
 * through the keymap (the client's side), or a render of the current mode
 * and its dirty pages (the UI's side). Built by 'make fuzz':
 *
 *   build-fuzz/fuzz/display_fuzz -max_len=4096
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/display.h"
#include "devices/pci.h"
#include "ui/keymap.h"
#include "ui/vnc_opts.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"

static struct vm vm;
static struct display *disp;
static uint32_t rows[2 * DISPLAY_MAX_WIDTH];
static uint64_t dirty[DISPLAY_DIRTY_WORDS];

static void teardown(void)
{
	fake_pci_destroy(&vm);
}

static void setup(void)
{
	if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
	    guest_mem_init(&vm.mem, 1 << 20, NULL) || fake_pci_init(&vm) ||
	    display_create(fake_env(&vm), &disp))
		abort();
	fake_new_dev = display_device(disp);
	fake_added(0);
	atexit(teardown);
}

static void render(void)
{
	struct display_mode m;

	display_get_mode(disp, &m);
	display_take_dirty(disp, dirty);
	if (!m.width)
		return;
	if (m.width > DISPLAY_MAX_WIDTH || m.height > DISPLAY_MAX_HEIGHT)
		abort();
	display_read_rows(disp, &m, 0, 1, rows);
	display_read_rows(disp, &m, m.height - 1, 1, rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	uint8_t code[2];

	if (!disp)
		setup();
	for (; size >= 14; data += 14, size -= 14) {
		uint32_t off;
		uint64_t val;

		memcpy(&off, data + 2, 4);
		memcpy(&val, data + 6, 8);
		switch (data[0] % 6) {
		case 0:
			display_reg_write(disp, off % 0x1100, val,
					  sizes[data[1] % 4]);
			break;
		case 1:
			display_reg_read(disp, off % 0x1100,
					 sizes[data[1] % 4]);
			break;
		case 2:
			display_vram_write(disp, off, val, sizes[data[1] % 4]);
			break;
		case 3:
			render();
			break;
		case 4:
			keymap_to_set1(keymap_from_keysym(off), data[1] & 1,
				       code);
			keymap_to_set1(off & 0xffff, data[1] & 1, code);
			keymap_to_set1(keymap_from_xt(off), 1, code);
			break;
		default:
			display_vram_read(disp, off, sizes[data[1] % 4]);
			break;
		}
	}
	render();
	return 0;
}
