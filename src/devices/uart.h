/* SPDX-License-Identifier: MIT */
/* 16550A UART (8250 family): the guest's serial console. */
#ifndef CVISOR_DEVICES_UART_H
#define CVISOR_DEVICES_UART_H

#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

struct uart;

/* Transmitted bytes go to out(opaque, buf, len), called on a vCPU thread. */
typedef void (*uart_out_fn)(void *opaque, const uint8_t *buf, size_t len);

/* A UART called name at port..port+7 interrupting on gsi, or NULL. */
struct uart *uart_create(const struct dev_env *env, const char *name,
			 uint16_t port, unsigned gsi, uart_out_fn out,
			 void *opaque);
/* The UART as a device (destroyed through its ops). */
struct device *uart_device(struct uart *uart);

/* Queue received bytes; returns how many fit in the receive buffer. */
size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len);

#endif
