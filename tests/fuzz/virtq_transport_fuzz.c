// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the PCI bus and the virtio-pci transport: the input
 * is a sequence of guest accesses (config ports, ECAM, the device BARs)
 * against a virtio-rng and a virtio-blk on a bare bus; the same bytes are
 * also the start of guest RAM, so rings the input points at hold input. Not
 * built by default:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 \
 *	-D_GNU_SOURCE -Isrc -o build/virtq_transport_fuzz \
 *	tests/fuzz/virtq_transport_fuzz.c src/devices/pci.c \
 *	src/devices/pci_msix.c src/virtio/virt*.c src/virtio/rng.c \
 *	src/virtio/blk*.c src/block/[a-z]*.c src/vmm/bus.c \
 *	src/vmm/guest_mem.c src/vmm/log.c -luring -lz -lzstd -pthread
 *   ./build/virtq_transport_fuzz -max_len=4096
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "virtio/blk.h"
#include "virtio/rng.h"
#include "vmm/vm.h"
#include "../unit/fake_vm.h"

#define RAM_SIZE	(1 << 20)

static struct vm vm;
static char disk_path[64];

static void setup(void)
{
	struct disk_config disk = { .path = disk_path };
	int fd;

	strcpy(disk_path, "/tmp/cvisor-fuzz-XXXXXX");
	fd = mkstemp(disk_path);
	if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
		abort();
	close(fd);
	vm.nr_vcpus = 2;
	if (bus_init(&vm.pio, "pio") || bus_init(&vm.mmio, "mmio") ||
	    guest_mem_init(&vm.mem, RAM_SIZE, NULL) || fake_pci_init(&vm) ||
	    fake_added(virtio_rng_create(fake_env(&vm), &fake_new_dev)) || fake_added(virtio_blk_create(fake_env(&vm), &disk, 0, &fake_new_dev)))
		abort();
	unlink(disk_path);
}

/* Where an access goes: 0xCF8 ports, ECAM, or the first two BARs. */
static uint64_t target(uint8_t sel, uint32_t off, bool *pio)
{
	*pio = false;
	switch (sel % 4) {
	case 0:
		*pio = true;
		return PORT_PCI_CONFIG_ADDR + off % 8;
	case 1:
		return PCI_ECAM_BASE + off % (3 << 15);
	default:
		/* both devices' BARs sit at the start of the window */
		return PCI_MMIO_WINDOW_BASE + off % 0x10000;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	if (!vm.pci)
		setup();
	memcpy(gpa_to_hva(&vm.mem, 0, RAM_SIZE), data,
	       size < RAM_SIZE ? size : RAM_SIZE);
	/* each access: selector, size, offset (4), value (8) */
	for (; size >= 14; data += 14, size -= 14) {
		uint32_t off;
		uint64_t val, addr;
		unsigned sz = sizes[data[1] % 4];
		bool pio, write = data[0] & 0x80;

		memcpy(&off, data + 2, 4);
		memcpy(&val, data + 6, 8);
		addr = target(data[0], off, &pio);
		if (pio && sz == 8)
			sz = 4;
		if (write)
			bus_write(pio ? &vm.pio : &vm.mmio, addr, val, sz);
		else
			bus_read(pio ? &vm.pio : &vm.mmio, addr, &val, sz);
	}
	/* put the BARs back and reset both devices for the next input */
	for (unsigned slot = 1; slot <= 2; slot++) {
		uint32_t bar = PCI_MMIO_WINDOW_BASE + (slot - 1) * 0x8000;

		pci_config_write(vm.pci, slot << 3, PCI_BAR0, bar | 4, 4);
		pci_config_write(vm.pci, slot << 3, PCI_BAR0 + 4, 0, 4);
		pci_config_write(vm.pci, slot << 3, PCI_COMMAND,
				 PCI_COMMAND_MEMORY, 2);
		bus_write(&vm.mmio, bar + 0x14, 0, 1);
	}
	return 0;
}
