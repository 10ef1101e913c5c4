// SPDX-License-Identifier: MIT
/*
 * The display on a bare PCI bus, through its BARs as the guest's bochs
 * driver uses them: identity, a mode set, pixels and dirty pages, what the
 * UI reads back, hostile register values, and a save/load round trip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/display.h"
#include "devices/pci.h"
#include "test.h"
#include "vmm/vm.h"
#include "fake_vm.h"

#define DEVFN		(1 << 3)
#define DISPI(i)	(regs + 0x500 + 2 * (i))

static struct vm vm;
static struct display *disp;
static uint64_t vram, regs;

static uint64_t rd(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	bus_read(&vm.mmio, addr, &v, size);
	return v;
}

static void wr(uint64_t addr, uint64_t val, unsigned size)
{
	bus_write(&vm.mmio, addr, val, size);
}

/* A mode set as Linux's bochs driver does it. */
static void set_mode(unsigned w, unsigned h)
{
	wr(DISPI(4), 0, 2);
	wr(DISPI(3), 32, 2);
	wr(DISPI(1), w, 2);
	wr(DISPI(2), h, 2);
	wr(DISPI(5), 0, 2);
	wr(DISPI(6), w, 2);
	wr(DISPI(7), DISPLAY_VRAM_SIZE / (w * 4), 2);
	wr(DISPI(8), 0, 2);
	wr(DISPI(9), 0, 2);
	wr(DISPI(4), 0x41, 2);
}

static void test_identity(void)
{
	struct display_boot_fb fb;

	CHECK_EQ(pci_config_read(vm.pci, DEVFN, 0, 4), 0x11111234);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_REVISION_ID, 4),
		 0x03800002);
	CHECK_EQ(pci_config_read(vm.pci, DEVFN, PCI_INTERRUPT_PIN, 1), 0);
	vram = pci_config_read(vm.pci, DEVFN, PCI_BAR0, 4) & ~0xfu;
	regs = pci_config_read(vm.pci, DEVFN, PCI_BAR0 + 8, 4) & ~0xfu;
	CHECK(vram && regs);
	CHECK_EQ(rd(DISPI(0), 2), 0xb0c5);
	CHECK_EQ(rd(DISPI(10), 2), DISPLAY_VRAM_SIZE >> 16);
	CHECK_EQ(rd(regs + 0x600, 4), 8);		/* QEMU extension */
	CHECK_EQ(rd(regs, 1), 0);			/* no EDID header */
	/* as firmware leaves it, for screen_info */
	display_boot_fb(disp, &fb);
	CHECK_EQ(fb.base, vram);
	CHECK_EQ(fb.width, 1024);
	CHECK_EQ(fb.height, 768);
	CHECK_EQ(fb.stride, 4096);
	CHECK_EQ(fb.bpp, 32);
}

static void test_mode_and_pixels(void)
{
	uint64_t dirty[DISPLAY_DIRTY_WORDS];
	struct display_mode m;
	uint32_t row[800];

	set_mode(800, 600);
	CHECK_EQ(rd(DISPI(7), 2), DISPLAY_VRAM_SIZE / 3200);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 800);
	CHECK_EQ(m.height, 600);
	CHECK_EQ(m.stride, 3200);
	CHECK(display_take_dirty(disp, dirty));	/* the mode change */
	CHECK(!display_take_dirty(disp, dirty));
	/* one pixel at (5, 10), alpha byte ignored */
	wr(vram + 10 * 3200 + 5 * 4, 0xff123456, 4);
	CHECK(display_take_dirty(disp, dirty));
	CHECK_EQ(dirty[0], 1ULL << (10 * 3200 / 4096));
	display_read_rows(disp, &m, 10, 1, row);
	CHECK_EQ(row[5], 0x123456);
	CHECK_EQ(row[4], 0);
	CHECK_EQ(rd(vram + 10 * 3200 + 5 * 4, 4), 0xff123456);
	/* panning: Y_OFFSET moves the scanout */
	wr(DISPI(9), 10, 2);
	display_get_mode(disp, &m);
	CHECK_EQ(m.offset, 10 * 3200);
	display_read_rows(disp, &m, 0, 1, row);
	CHECK_EQ(row[5], 0x123456);
	/* big-endian framebuffer (BGRX) through the extension register */
	wr(regs + 0x604, 0xbebebebe, 4);
	display_get_mode(disp, &m);
	display_read_rows(disp, &m, 0, 1, row);
	CHECK_EQ(row[5], 0x3412ff);	/* bytes x, R, G, B */
	wr(regs + 0x604, 0x1e1e1e1e, 4);
	wr(DISPI(9), 0, 2);
}

static void test_blank(void)
{
	struct display_mode m;

	rd(regs + 0x400 + 0x1a, 1);		/* 0x3da: flip-flop reset */
	wr(regs + 0x400, 0x00, 1);		/* attribute index, PAS off */
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 0);
	rd(regs + 0x400 + 0x1a, 1);
	wr(regs + 0x400, 0x20, 1);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 800);
}

static void test_hostile(void)
{
	struct display_mode m;

	set_mode(800, 600);
	wr(DISPI(1), 60000, 2);			/* too wide: ignored */
	CHECK_EQ(rd(DISPI(1), 2), 800);
	wr(DISPI(3), 7, 2);			/* no such depth */
	CHECK_EQ(rd(DISPI(3), 2), 32);
	wr(DISPI(0), 0x1234, 2);		/* not an interface id */
	CHECK_EQ(rd(DISPI(0), 2), 0xb0c5);
	wr(DISPI(10), 1, 2);			/* memory size is fixed */
	CHECK_EQ(rd(DISPI(10), 2), DISPLAY_VRAM_SIZE >> 16);
	/* a scanout past the end of video memory shows nothing */
	wr(DISPI(9), 0xffff, 2);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 0);
	wr(DISPI(9), 0, 2);
	/* a virtual width below the width: nothing either */
	wr(DISPI(6), 100, 2);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 0);
	wr(DISPI(6), 800, 2);
	/* odd, unaligned and out-of-range register accesses are ignored */
	wr(regs + 0x501, 0xffff, 2);
	wr(regs + 0x500, 0xffffffff, 4);
	wr(regs + 0xffc, 0xffffffff, 4);
	CHECK_EQ(rd(regs + 0x501, 2), 0);
	CHECK_EQ(display_reg_read(disp, 0x100000, 4), 0);
	display_vram_write(disp, DISPLAY_VRAM_SIZE - 2, ~0ULL, 4);
	display_vram_write(disp, ~0ULL - 1, ~0ULL, 8);
	CHECK_EQ(display_vram_read(disp, DISPLAY_VRAM_SIZE, 4), ~0ULL);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 800);
	/* a 16-bit mode reads as RGB */
	wr(DISPI(3), 16, 2);
	display_get_mode(disp, &m);
	CHECK_EQ(m.stride, 1600);
	wr(vram, 0xf800, 2);
	{
		uint32_t row[800];

		display_read_rows(disp, &m, 0, 1, row);
		CHECK_EQ(row[0], 0xff0000);
	}
	wr(DISPI(3), 32, 2);
}

static size_t save(char **buf)
{
	size_t len = 0;
	FILE *f = open_memstream(buf, &len);
	struct state_writer *w = state_writer_create(f);

	CHECK_EQ(device_save(display_device(disp), w), 0);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	return len;
}

static int load(char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "r");
	char err[256];
	struct state_reader *r = state_reader_create(f, err, sizeof(err));
	struct device *dev = display_device(disp);
	const char *name;
	uint32_t version;
	int ret = -1;

	if (r && state_next_section(r, &name, &version) == 1 &&
	    !strcmp(name, "display"))
		ret = dev->ops->load(dev, r, version);
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

static void test_state(void)
{
	struct display_mode m;
	uint32_t row[640];
	char *buf = NULL;
	size_t len;

	set_mode(640, 480);
	wr(vram + 479 * 2560 + 639 * 4, 0xabcdef, 4);
	len = save(&buf);
	set_mode(1024, 768);
	display_vram_write(disp, 479 * 2560 + 639 * 4, 0, 4);
	CHECK_EQ(load(buf, len), 0);
	display_get_mode(disp, &m);
	CHECK_EQ(m.width, 640);
	CHECK_EQ(m.height, 480);
	display_read_rows(disp, &m, 479, 1, row);
	CHECK_EQ(row[639], 0xabcdef);
	/* a damaged register in the section is refused: XRES 0xffff */
	for (size_t i = 0; i + 4 < len; i++) {
		if (buf[i] == (char)0x80 && buf[i + 1] == 0x02 &&
		    buf[i + 2] == (char)0xe0 && buf[i + 3] == 0x01) {
			buf[i] = buf[i + 1] = (char)0xff;
			break;
		}
	}
	CHECK(load(buf, len) != 0);
	free(buf);
}

/* The EDID block at the start of the register BAR, as Linux reads it. */
static void test_edid(void)
{
	static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0 };
	uint8_t e[128], sum = 0;

	for (int i = 0; i < 128; i++) {
		e[i] = rd(regs + i, 1);
		sum += e[i];
	}
	CHECK(!memcmp(e, header, 8));
	CHECK_EQ(sum, 0);
	CHECK_EQ(e[18], 1);			/* version 1.4 */
	CHECK_EQ(e[19], 4);
	CHECK(!memcmp(e + 95, "cvisor\n", 7));	/* product name */
	/* the preferred mode: 1024x768 */
	CHECK_EQ(e[56] | (e[58] >> 4) << 8, 1024);
	CHECK_EQ(e[59] | (e[61] >> 4) << 8, 768);
	/* wider reads, the rest of the area, and it is read-only */
	CHECK_EQ(rd(regs, 4), 0xffffff00);
	CHECK_EQ(rd(regs + 0x3fc, 4), 0);
	CHECK_EQ(rd(regs + 0x3fe, 4), 0);
	wr(regs + 1, 0, 1);
	CHECK_EQ(rd(regs + 1, 1), 0xff);
}

/* Device memory slots as an accelerator would offer them, recorded. */
static struct {
	int maps, unmaps, live;
	uint64_t gpa, size;
	void *hva;
	uint64_t dirty[DISPLAY_DIRTY_WORDS];
	int sync_error;
} fs;

static int fs_map(void *opaque, uint64_t gpa, void *hva, uint64_t size)
{
	(void)opaque;
	fs.maps++;
	fs.live++;
	fs.gpa = gpa;
	fs.hva = hva;
	fs.size = size;
	return 7;
}

static void fs_unmap(void *opaque, int slot)
{
	(void)opaque;
	CHECK_EQ(slot, 7);
	fs.unmaps++;
	fs.live--;
}

static int fs_sync(void *opaque, int slot, uint64_t *bitmap)
{
	(void)opaque;
	CHECK_EQ(slot, 7);
	if (fs.sync_error)
		return fs.sync_error;
	for (unsigned i = 0; i < DISPLAY_DIRTY_WORDS; i++)
		bitmap[i] |= fs.dirty[i];
	memset(fs.dirty, 0, sizeof(fs.dirty));
	return 0;
}

static const struct mem_slot_ops fs_ops = {
	.map = fs_map, .unmap = fs_unmap, .sync = fs_sync,
};

/*
 * With slots offered, video memory is mapped as one wherever its BAR
 * decodes, the slot's log feeds the dirty set, and a BAR that moves or
 * stops decoding takes the slot with it.
 */
static void test_vram_slot(void)
{
	const struct mem_slots slots = { &fs_ops, NULL };
	struct dev_env env = *fake_env(&vm);
	uint64_t bits[DISPLAY_DIRTY_WORDS];
	unsigned devfn = 2 << 3;
	struct display *d;
	uint32_t bar;

	env.slots = &slots;
	CHECK_EQ(display_create(&env, &d), 0);
	bar = pci_config_read(vm.pci, devfn, PCI_BAR0, 4) & ~0xfu;
	CHECK_EQ(fs.maps, 1);
	CHECK_EQ(fs.gpa, bar);
	CHECK_EQ(fs.size, DISPLAY_VRAM_SIZE);
	CHECK(fs.hva != NULL);
	CHECK(display_take_dirty(d, bits));	/* the first frame: all */
	CHECK(!display_take_dirty(d, bits));
	fs.dirty[1] = 1ULL << 5;		/* page 69, by the guest */
	CHECK(display_take_dirty(d, bits));
	CHECK_EQ(bits[1], 1ULL << 5);
	CHECK_EQ(bits[0], 0);
	/* what the guest stored is what the UI reads: same memory */
	memcpy((uint8_t *)fs.hva + 8, "\x11\x22\x33\x00", 4);
	CHECK_EQ(display_vram_read(d, 8, 4), 0x332211);
	/* a failed sync repaints everything */
	fs.sync_error = -EIO;
	CHECK(display_take_dirty(d, bits));
	CHECK_EQ(bits[DISPLAY_DIRTY_WORDS - 1], ~0ULL);
	fs.sync_error = 0;
	/* memory decode off: the slot goes, the screen repaints */
	pci_config_write(vm.pci, devfn, PCI_COMMAND, 0, 2);
	CHECK_EQ(fs.unmaps, 1);
	CHECK_EQ(fs.live, 0);
	CHECK(display_take_dirty(d, bits));
	CHECK_EQ(bits[0], ~0ULL);
	/* moved and decoding again: mapped at the new address */
	pci_config_write(vm.pci, devfn, PCI_BAR0, bar + 0x8000000, 4);
	pci_config_write(vm.pci, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(fs.maps, 2);
	CHECK_EQ(fs.gpa, bar + 0x8000000);
	display_device(d)->ops->destroy(display_device(d));
	CHECK_EQ(fs.live, 0);
}

int main(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);
	CHECK_EQ(display_create(fake_env(&vm), &disp), 0);
	fake_new_dev = display_device(disp);
	fake_added(0);
	RUN(test_identity);
	RUN(test_mode_and_pixels);
	RUN(test_blank);
	RUN(test_hostile);
	RUN(test_state);
	RUN(test_edid);
	RUN(test_vram_slot);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
	return test_summary();
}
