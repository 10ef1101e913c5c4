/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_DEVICES_DEBUG_H
#define CVISOR_DEVICES_DEBUG_H

struct vm;

/* Port 0x80 POST codes: accepted and dropped (Linux uses it as a delay). */
int post_port_init(struct vm *vm);

/*
 * Test guests' exit port (--test-exit): a 32-bit write of status ends the
 * VM, poweroff for 0, an error naming the status otherwise.
 */
int debug_exit_init(struct vm *vm);

#endif
