// SPDX-License-Identifier: MIT
#include "arch/x86/e820.h"

#include "arch/x86/bootparam.h"
#include "arch/x86/layout.h"

static int e820_add(struct e820_entry *map, int n, int max, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (n < max && size)
		map[n++] = (struct e820_entry){ addr, size, type };
	return n;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *map, int max)
{
	uint64_t low_end = guest_mem_low_end(mem);
	int n = 0;

	n = e820_add(map, n, max, 0, LAYOUT_EBDA_START, E820_RAM);
	n = e820_add(map, n, max, LAYOUT_EBDA_START,
		     LAYOUT_LOW_RAM_END - LAYOUT_EBDA_START, E820_RESERVED);
	/* BIOS area with the ACPI tables: never RAM to the guest. */
	n = e820_add(map, n, max, LAYOUT_ACPI_ADDR,
		     LAYOUT_ACPI_END - LAYOUT_ACPI_ADDR, E820_RESERVED);
	if (low_end > LAYOUT_EXT_RAM_START)
		n = e820_add(map, n, max, LAYOUT_EXT_RAM_START,
			     low_end - LAYOUT_EXT_RAM_START, E820_RAM);
	/* Linux wants ECAM reserved before it trusts MCFG. */
	n = e820_add(map, n, max, LAYOUT_PCI_ECAM_BASE, LAYOUT_PCI_ECAM_SIZE,
		     E820_RESERVED);
	n = e820_add(map, n, max, LAYOUT_HIGH_MEM_START,
		     guest_mem_high_size(mem), E820_RAM);
	return n;
}
