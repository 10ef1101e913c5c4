/* SPDX-License-Identifier: MIT */
/* For the fuzz targets of virtqueues: a guest's RAM made of the input. */
#ifndef CVISOR_FUZZ_RING_FUZZ_H
#define CVISOR_FUZZ_RING_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/guest_mem.h"

/*
 * RAM [0, ram_size) of mem from data: its first bytes are the avail ring
 * of a queue of qsize entries (flags, idx, entries, used_event) put at
 * avail_gpa, the rest fills RAM from 0 up to the ring (descriptor table,
 * indirect tables, buffers); everything else is zeros.
 */
static inline void fuzz_ring_ram(struct guest_mem *mem, size_t ram_size,
				 uint64_t avail_gpa, uint16_t qsize,
				 const uint8_t *data, size_t size)
{
	size_t alen = 6 + 2 * (size_t)qsize;
	uint8_t *ram = gpa_to_hva(mem, 0, ram_size);

	memset(ram, 0, ram_size);
	if (size > alen)
		memcpy(ram, data + alen, size - alen < avail_gpa ?
		       size - alen : avail_gpa);
	memcpy(ram + avail_gpa, data, size < alen ? size : alen);
}

#endif
