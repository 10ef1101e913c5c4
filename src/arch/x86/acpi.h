/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for the cvisor x86 machine: a hardware-reduced platform
 * (ACPI 6.x, section 4.1) with RSDP, XSDT, FADT, MADT, MCFG and a DSDT,
 * written to guest RAM at LAYOUT_ACPI_ADDR. The constants below are the
 * contract between the tables and the devices that implement them
 * (src/devices/acpi_pm.c).
 */
#ifndef CVISOR_ARCH_X86_ACPI_H
#define CVISOR_ARCH_X86_ACPI_H

#include <stdint.h>

#include "arch/x86/layout.h"

struct vm;

/* Sleep control register (ACPI 6.x, 4.8.3.7) */
#define ACPI_SLP_EN		(1u << 5)
#define ACPI_SLP_TYP_SHIFT	2
#define ACPI_SLP_TYP_MASK	(7u << ACPI_SLP_TYP_SHIFT)
#define ACPI_SLP_TYP_S5		5	/* \_S5 package value */
/* Sleep status register */
#define ACPI_WAK_STS		(1u << 7)
/* What the guest writes to the reset register (FADT RESET_VALUE) */
#define ACPI_RESET_VALUE	0x01

/*
 * The Generic Event Device's interrupt: the power button event, an
 * edge-triggered active-high GSI (the ISA SCI line, unused as an SCI on a
 * hardware-reduced platform).
 */
#define ACPI_GED_GSI		IRQ_ACPI_SCI

/*
 * Write all tables into guest RAM at LAYOUT_ACPI_ADDR..LAYOUT_ACPI_END and
 * return the RSDP's address (for boot_params.acpi_rsdp_addr). Needs
 * vm->mem and vm->cfg->nr_cpus. Returns 0 or a negative errno.
 */
int acpi_build(struct vm *vm, uint64_t *rsdp_gpa);

#endif
