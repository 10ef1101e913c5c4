// SPDX-License-Identifier: MIT
/*
 * What runs at the reset vector: a PC's BIOS would start again; here a
 * few instructions ask the ACPI reset register for a reset (and the
 * i8042's pulse as well), which the VMM turns into a guest reset.
 *
 * Linux gets there when its other ways to reboot did not: with the
 * FADT's hardware-reduced flag (ours) and EFI runtime services not
 * disabled, it picks an EFI reset, which a guest booted without EFI
 * does not have, and falls back to machine_real_restart, a jump to
 * F000:FFF0 in real mode. Without this, Debian's kernel ran whatever
 * bytes lay there and `reboot` never finished.
 */
#include "arch/x86/reset_vector.h"

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"

int x86_reset_vector_install(struct guest_mem *mem)
{
	static const uint8_t code[LAYOUT_RESET_VECTOR_LEN] = {
		0xba, PORT_ACPI_RESET & 0xff, PORT_ACPI_RESET >> 8, /* mov dx */
		0xb0, ACPI_RESET_VALUE,			/* mov al, value */
		0xee,					/* out dx, al */
		0xb0, 0xfe,				/* mov al, 0xfe */
		0xe6, 0x64,				/* out 0x64, al */
		0xfa,					/* cli */
		0xf4,					/* hlt */
		0xeb, 0xfd,				/* jmp hlt */
	};

	return guest_mem_write(mem, LAYOUT_RESET_VECTOR, code, sizeof(code));
}
