// SPDX-License-Identifier: MIT
/*
 * A 16550A UART. Transmit is immediate (the holding register is always
 * empty again by the next access), receive goes through a buffer larger
 * than the 16-byte FIFO so pasted input is not lost; the guest sees
 * data-ready until it is drained. Interrupts are level-style on an ISA line.
 */
#include "devices/uart.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/bus.h"

#define UART_RBR 0	/* receive buffer (read), DLAB=0 */
#define UART_THR 0	/* transmit holding (write), DLAB=0 */
#define UART_IER 1
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08
#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define UART_RX_SIZE	4096

struct uart {
	struct device dev;
	struct bus *pio;
	uint16_t port;
	struct irq_line irq;
	uart_out_fn out;
	void *opaque;
	pthread_mutex_t lock;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_pending;	/* THR-empty interrupt not yet acknowledged */
	int irq_level;
	uint8_t rx[UART_RX_SIZE];
	size_t rx_head, rx_count;
};

static uint8_t uart_iir(struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thr_pending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

/* Called with the lock held; the line follows the pending state. */
static void uart_update_irq(struct uart *u)
{
	int level = !(uart_iir(u) & IIR_NO_INT);

	/* In loopback the interrupt output is disconnected from the bus. */
	if (u->mcr & MCR_LOOP)
		level = 0;
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void uart_push_rx(struct uart *u, uint8_t c)
{
	if (u->rx_count == UART_RX_SIZE)
		return;
	u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = c;
	u->rx_count++;
}

static uint8_t uart_pop_rx(struct uart *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
	u->rx_count--;
	return c;
}

static uint8_t uart_msr(struct uart *u)
{
	uint8_t m = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback wires the modem outputs back to the inputs. */
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
	struct uart *u = opaque;
	uint8_t v = 0;

	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR:
		v = (u->lcr & LCR_DLAB) ? u->dll : uart_pop_rx(u);
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = uart_iir(u);
		if ((v & 0x0f) == IIR_THRI)
			u->thr_pending = false;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		break;
	case UART_MSR:
		v = uart_msr(u);
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct uart *u = opaque;
	uint8_t c = val;

	(void)size;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = c;
			break;
		}
		if (u->mcr & MCR_LOOP) {
			uart_push_rx(u, c);
		} else if (u->out) {
			/* Output may block; do not hold the lock meanwhile. */
			pthread_mutex_unlock(&u->lock);
			u->out(u->opaque, &c, 1);
			pthread_mutex_lock(&u->lock);
		}
		u->thr_pending = true;
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = c;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if ((c & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_pending = true;
		u->ier = c & 0x0f;
		break;
	case UART_FCR:
		u->fcr = c & 0xc9;
		if (c & FCR_CLEAR_RX)
			u->rx_count = 0;
		break;
	case UART_LCR:
		u->lcr = c;
		break;
	case UART_MCR:
		u->mcr = c & 0x1f;
		break;
	case UART_SCR:
		u->scr = c;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct bus_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

static void uart_destroy(struct device *dev)
{
	struct uart *u = container_of(dev, struct uart, dev);

	bus_unregister(u->pio, u->port, u);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* Received bytes not read yet are state too: they are guest input. */
static int uart_save(struct device *dev, struct state_writer *w)
{
	struct uart *u = container_of(dev, struct uart, dev);

	pthread_mutex_lock(&u->lock);
	state_put_u8(w, u->ier);
	state_put_u8(w, u->lcr);
	state_put_u8(w, u->mcr);
	state_put_u8(w, u->scr);
	state_put_u8(w, u->fcr);
	state_put_u8(w, u->dll);
	state_put_u8(w, u->dlm);
	state_put_u8(w, u->thr_pending);
	state_put_u8(w, (uint8_t)u->irq_level);
	state_put_u32(w, (uint32_t)u->rx_count);
	for (size_t i = 0; i < u->rx_count; i++)
		state_put_u8(w, u->rx[(u->rx_head + i) % UART_RX_SIZE]);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int uart_load(struct device *dev, struct state_reader *r,
		     uint32_t version)
{
	struct uart *u = container_of(dev, struct uart, dev);
	uint8_t thr, level;
	uint32_t count;
	int ret;

	(void)version;
	ret = state_get_u8(r, &u->ier);
	ret = ret ?: state_get_u8(r, &u->lcr);
	ret = ret ?: state_get_u8(r, &u->mcr);
	ret = ret ?: state_get_u8(r, &u->scr);
	ret = ret ?: state_get_u8(r, &u->fcr);
	ret = ret ?: state_get_u8(r, &u->dll);
	ret = ret ?: state_get_u8(r, &u->dlm);
	ret = ret ?: state_get_u8(r, &thr);
	ret = ret ?: state_get_u8(r, &level);
	ret = ret ?: state_get_u32(r, &count);
	if (ret)
		return ret;
	if (count > UART_RX_SIZE || thr > 1 || level > 1)
		return state_fail(r, "%s: bad state (%u bytes received)",
				  dev->name, count);
	u->thr_pending = thr;
	u->irq_level = level;
	u->rx_head = 0;
	u->rx_count = count;
	return state_get(r, u->rx, count);
}

static const struct device_ops uart_dev_ops = {
	.state_version = 1,
	.save = uart_save,
	.load = uart_load,
	.destroy = uart_destroy,
};

struct uart *uart_create(const struct dev_env *env, const char *name,
			 uint16_t port, unsigned gsi, uart_out_fn out,
			 void *opaque)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->dev.ops = &uart_dev_ops;
	snprintf(u->dev.name, sizeof(u->dev.name), "%s", name);
	u->pio = env->pio;
	u->port = port;
	u->irq = (struct irq_line){ env->irq, gsi };
	u->out = out;
	u->opaque = opaque;
	u->mcr = MCR_OUT2;
	pthread_mutex_init(&u->lock, NULL);
	if (bus_register(env->pio, port, 8, &uart_ops, u, "uart")) {
		pthread_mutex_destroy(&u->lock);
		free(u);
		return NULL;
	}
	return u;
}

struct device *uart_device(struct uart *uart)
{
	return &uart->dev;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_count < UART_RX_SIZE)
		uart_push_rx(u, buf[n++]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}
