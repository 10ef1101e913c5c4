/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VMM_SANDBOX_H
#define CVISOR_VMM_SANDBOX_H

#include <stddef.h>

/*
 * Install the VMM's seccomp filter on every thread of the process. Returns
 * 0, or a negative errno with one line in err. Irreversible.
 */
int sandbox_install(char *err, size_t errlen);

#endif
