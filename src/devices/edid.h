/* SPDX-License-Identifier: MIT */
/*
 * An EDID 1.4 base block (VESA E-EDID) describing the display as a
 * monitor: its preferred mode as a detailed timing, the usual VESA modes
 * as established and standard timings, a range limits descriptor and the
 * name "cvisor". The display exposes it where QEMU's bochs-display does
 * (offset 0 of the register BAR), and Linux's bochs driver reads it for
 * the connector's mode list.
 */
#ifndef CVISOR_DEVICES_EDID_H
#define CVISOR_DEVICES_EDID_H

#include <stdint.h>

#define EDID_BLOCK_SIZE	128

/* The block with the VESA DMT 1024x768 at 60 Hz as preferred mode. */
void edid_build(uint8_t edid[EDID_BLOCK_SIZE]);

#endif
