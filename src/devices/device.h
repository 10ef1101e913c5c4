/* SPDX-License-Identifier: MIT */
/*
 * The device model. Every device - legacy, PCI host, virtio - embeds a
 * struct device and has the same lifecycle: created with a struct dev_env
 * (the machine as a device sees it: buses, guest memory, event loop, an
 * interrupt controller, a sink for power events) and what is its own
 * (ports, IRQ, backend), then saved, loaded and destroyed through
 * device_ops. A device never sees struct vm. The machine (src/vmm/machine.c)
 * creates devices from one table and destroys them in reverse order.
 *
 * State lives beside the device: save writes one section named after the
 * device (state.h) in the device's own format version; load reads it back
 * into a device freshly created with the same configuration.
 */
#ifndef CVISOR_DEVICES_DEVICE_H
#define CVISOR_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/state.h"

struct bus;
struct event_loop;
struct guest_mem;
struct pci_bus;

/*
 * The interrupt controller and doorbells as devices use them; the VM
 * forwards these to its accelerator, a unit test records them. The MSI
 * route and ioeventfd calls are optional: -ENOSYS makes the device use
 * send_msi, or a bus handler, instead.
 */
struct irq_chip_ops {
	int (*set_irq)(void *opaque, unsigned gsi, int level);
	int (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	/* An eventfd whose 8-byte write raises MSI (addr, data). */
	int (*msi_route_add)(void *opaque, uint64_t addr, uint32_t data);
	int (*msi_route_update)(void *opaque, int fd, uint64_t addr,
				uint32_t data);
	void (*msi_route_del)(void *opaque, int fd);
	/* Guest writes of len bytes at addr signal fd. */
	int (*add_ioeventfd)(void *opaque, uint64_t addr, unsigned len,
			     bool pio, int fd);
	int (*del_ioeventfd)(void *opaque, uint64_t addr, unsigned len,
			     bool pio, int fd);
};

struct irq_chip {
	const struct irq_chip_ops *ops;
	void *opaque;
};

/*
 * Device memory the guest reaches without a VMM exit, each guest write
 * logged (under KVM: a memory slot with dirty logging). The VM forwards
 * these to its accelerator; a dev_env without them (emu, unit tests)
 * leaves the device's memory on the MMIO bus. map returns a slot id or a
 * negative errno; sync ORs the slot's pages written since its last sync
 * into bitmap (bit i: page i) and clears them.
 */
struct mem_slot_ops {
	int (*map)(void *opaque, uint64_t gpa, void *hva, uint64_t size);
	void (*unmap)(void *opaque, int slot);
	int (*sync)(void *opaque, int slot, uint64_t *bitmap);
};

struct mem_slots {
	const struct mem_slot_ops *ops;
	void *opaque;
};

/* One GSI input of the interrupt controller, as a device drives it. */
struct irq_line {
	const struct irq_chip *chip;
	unsigned gsi;
};

static inline int irq_line_set(const struct irq_line *line, int level)
{
	return line->chip->ops->set_irq(line->chip->opaque, line->gsi, level);
}

enum power_event {
	POWER_OFF,	/* the guest powered off */
	POWER_RESET,	/* the guest asked for a reboot */
	POWER_PANIC,	/* the guest reported a panic */
	POWER_FAIL,	/* a test guest reported failure */
};

struct power_sink {
	void (*event)(void *opaque, enum power_event ev, const char *why);
	void *opaque;
};

static inline void power_event(const struct power_sink *p,
			       enum power_event ev, const char *why)
{
	p->event(p->opaque, ev, why);
}

/* What a device is created with. */
struct dev_env {
	struct bus *pio;
	struct bus *mmio;
	struct guest_mem *mem;
	struct event_loop *loop;	/* NULL in unit tests without one */
	const struct irq_chip *irq;
	const struct mem_slots *slots;	/* NULL: none */
	struct power_sink power;
	struct pci_bus *pci;		/* set once the host bridge exists */
	int nr_vcpus;
	const char *vm_name;		/* NULL when unnamed */
};

struct device;

struct device_ops {
	/* The device's state format version, written with its section. */
	uint32_t state_version;
	/* The oldest version load reads; 0: state_version only. */
	uint32_t min_state_version;
	/*
	 * Stop touching guest memory and queues: in-flight requests
	 * complete first. Optional (devices without threads).
	 */
	void (*quiesce)(struct device *dev);
	/* Undo quiesce, or start serving after load. Optional. */
	void (*resume)(struct device *dev);
	/*
	 * Optional, on a quiesced device: let go of host resources that a
	 * migration's destination takes over (a disk image's lock), and
	 * take them back if the migration fails.
	 */
	int (*release)(struct device *dev);
	int (*reacquire)(struct device *dev);
	/* Write the device's state into the current section of w. */
	int (*save)(struct device *dev, struct state_writer *w);
	/* Read it back; errors recorded with state_fail. */
	int (*load)(struct device *dev, struct state_reader *r,
		    uint32_t version);
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	char name[STATE_NAME_MAX];	/* unique in the VM: "uart0", ... */
	struct log_limit log;		/* the guest errors it reports */
};

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Save dev as one section named after it. */
int device_save(struct device *dev, struct state_writer *w);

/*
 * Have guest writes to [addr, addr+len) signal fd: the interrupt
 * controller's ioeventfd when it has one, else a bus handler.
 */
int dev_env_add_ioeventfd(const struct dev_env *env, uint64_t addr,
			  unsigned len, bool pio, int fd);
int dev_env_del_ioeventfd(const struct dev_env *env, uint64_t addr,
			  unsigned len, bool pio, int fd);

#endif
