/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VMM_SANDBOX_H
#define CVISOR_VMM_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Install the VMM's seccomp filter on every thread of the process. Returns
 * 0, or a negative errno with one line in err. Irreversible. No library
 * can be loaded after it (executable mappings are refused): the caller
 * opens the ones it will need first (src/vmm/dynlib.h). Only with
 * translator (a vCPU may run the emu translator) may mprotect make its
 * code cache executable; else no memory becomes executable at all.
 */
int sandbox_install(bool translator, char *err, size_t errlen);

/*
 * The same filter with [lo, hi) in place of the emu translator's code
 * cache range (jit_arena_range): where mprotect may add PROT_EXEC. Tests
 * place it across 4 GiB lines.
 */
int sandbox_install_exec_range(uintptr_t lo, uintptr_t hi, char *err,
			       size_t errlen);

#endif
