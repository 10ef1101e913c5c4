/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_ARCH_X86_RESET_VECTOR_H
#define CVISOR_ARCH_X86_RESET_VECTOR_H

#include "vmm/guest_mem.h"

/*
 * Code at the real-mode reset vector (LAYOUT_RESET_VECTOR, F000:FFF0)
 * that resets the guest through the ACPI reset register (reset_vector.c).
 * 0 or a negative errno.
 */
int x86_reset_vector_install(struct guest_mem *mem);

#endif
