/* SPDX-License-Identifier: MIT */
/*
 * Loading a guest kernel: the Linux x86 64-bit boot protocol for bzImage,
 * and ELF (an uncompressed vmlinux, or a test guest) entered the same way,
 * in long mode with identity-mapped page tables and RSI = boot_params.
 */
#ifndef CVISOR_ARCH_X86_BOOT_H
#define CVISOR_ARCH_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * Load vm->cfg->kernel (+ initrd, cmdline) into guest RAM, write the
 * zero page, e820 map, GDT and page tables, and fill vm->boot_regs and
 * vm->boot_sregs. rsdp is the ACPI RSDP address (0: none). Returns 0, or
 * a negative errno with a one-line reason in err.
 */
int x86_boot_load(struct vm *vm, uint64_t rsdp, char *err, size_t errlen);

/*
 * Write the long-mode page tables and GDT, and the BSP's entry state;
 * -EFAULT if guest RAM does not hold the tables (below 0x10000).
 */
int x86_boot_cpu_state(struct vm *vm, uint64_t entry, uint64_t zero_page);

#endif
