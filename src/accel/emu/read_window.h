/* SPDX-License-Identifier: MIT */
/*
 * The read window: one range of linear addresses that paging maps, in
 * large pages, to the same physical addresses in one region of RAM, for
 * translated code to read at CPL 0 without the soft TLB (read_window.c).
 */
#ifndef CVISOR_ACCEL_EMU_READ_WINDOW_H
#define CVISOR_ACCEL_EMU_READ_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/emu/cpu.h"

/* Bytes past the last start address a read may reach (16 at most) */
#define READ_WINDOW_SLACK	64

/*
 * After a TLB fill for a CPL 0 read of lin, a large page that maps it to
 * the same physical address: the window becomes the run of such pages
 * around it when that is larger than the one it has
 */
void read_window_try(struct emu_cpu *cpu, uint64_t lin);

/* Whether the window maps lin's page (the last 64 bytes' too) */
static inline bool read_window_holds(const struct emu_cpu *cpu, uint64_t lin)
{
	return cpu->win_size &&
	       lin - cpu->win_lo < cpu->win_size + READ_WINDOW_SLACK;
}

/* With the TLB's entries, when they are flushed */
static inline void read_window_drop(struct emu_cpu *cpu)
{
	cpu->win_size = 0;
	cpu->win_tries = 0;
	cpu->win_no_lo = cpu->win_no_hi = 0;
}

#endif
