/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_ARCH_X86_ACPI_DSDT_H
#define CVISOR_ARCH_X86_ACPI_DSDT_H

#include "arch/x86/aml.h"

/* Append the DSDT's definition blocks (everything after the header). */
void acpi_dsdt_namespace(struct aml *a);

#endif
