/* SPDX-License-Identifier: MIT */
/*
 * The terminal side of the serial console. On a tty the terminal is put in
 * raw mode (restored on exit) and Ctrl-A is an escape key as in QEMU:
 * Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A sends a Ctrl-A.
 * Without a tty, input is passed through as it is.
 */
#ifndef CVISOR_VMM_CONSOLE_H
#define CVISOR_VMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct console;

struct console *console_create(int in_fd, int out_fd);
/* Restores the terminal. Safe to call more than once. */
void console_destroy(struct console *con);
void console_restore_terminal(struct console *con);

/* Connect to a VM's UART and event loop (again after each reboot). */
int console_attach(struct console *con, struct vm *vm);

/* Guest output; matches uart_out_fn. */
void console_output(void *opaque, const uint8_t *buf, size_t len);

#endif
