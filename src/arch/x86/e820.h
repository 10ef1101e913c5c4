/* SPDX-License-Identifier: MIT */
/* The BIOS e820 memory map handed to the guest in boot_params. */
#ifndef CVISOR_ARCH_X86_E820_H
#define CVISOR_ARCH_X86_E820_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define E820_MAX_ENTRIES 8

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* Fill map from the guest RAM layout; returns the number of entries. */
int e820_build(const struct guest_mem *mem, struct e820_entry *map, int max);

#endif
