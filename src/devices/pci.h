/* SPDX-License-Identifier: MIT */
/*
 * PCI bus 0: a host bridge at 00:00.0, configuration access through ports
 * 0xCF8/0xCFC (type 1) and ECAM, and a registration API for devices with
 * memory BARs, a capability list and MSI-X.
 *
 * BARs are assigned from the 32-bit window at registration time, so a guest
 * that keeps the firmware assignment never has to reprogram them. When the
 * guest does move a BAR (or toggles memory decode), the device's regions are
 * re-registered on vm->mmio.
 */
#ifndef CVISOR_DEVICES_PCI_H
#define CVISOR_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/layout.h"
#include "devices/device.h"
#include "vmm/bus.h"
#include "vmm/bytes.h"
struct pci_bus;
struct pci_device;
struct pci_msix;

#define PCI_MAX_SLOTS		32
#define PCI_CFG_SIZE		256
#define PCI_CFG_SIZE_EXT	4096
#define PCI_NR_BARS		6
#define PCI_BAR_MAX_REGIONS	8

/* What the lead's ACPI code describes (MCFG, DSDT _CRS). */
#define PCI_ECAM_BASE		LAYOUT_PCI_ECAM_BASE
#define PCI_ECAM_SIZE		LAYOUT_PCI_ECAM_SIZE
#define PCI_MMIO_WINDOW_BASE	LAYOUT_PCI_MMIO_BASE
#define PCI_MMIO_WINDOW_SIZE	LAYOUT_PCI_MMIO_SIZE
#define PCI_BUS_FIRST		0
#define PCI_BUS_LAST		0
/*
 * INTx: every device uses pin INTA, wired to IOAPIC input
 * PCI_INTX_GSI(slot), level triggered, active high. ACPI's _PRT must say
 * the same: for each slot, (slot << 16 | 0xffff, pin 0, 0, GSI).
 */
#define PCI_INTX_GSI_BASE	16
#define PCI_INTX_LINES		4
#define PCI_INTX_GSI(slot)	(PCI_INTX_GSI_BASE + ((slot) % PCI_INTX_LINES))

/* Standard configuration header offsets (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a

/* Class codes (base, sub, prog-if) of the devices we model */
#define PCI_CLASS_STORAGE_OTHER		0x018000
#define PCI_CLASS_NET_ETHERNET		0x020000
#define PCI_CLASS_COMMUNICATION_OTHER	0x078000
#define PCI_CLASS_INPUT_OTHER		0x098000
#define PCI_CLASS_OTHERS		0xff0000
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_IO		0x1
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST	0x10

#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

#define PCI_BAR_MEM32		0x0
#define PCI_BAR_MEM64		0x4
#define PCI_BAR_PREFETCH	0x8

/* A piece of a BAR handled by one set of callbacks (offsets BAR-relative). */
struct pci_bar_region {
	uint64_t offset;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct pci_bar {
	uint64_t size;		/* power of two >= 4 KiB; 0: BAR unused */
	uint32_t flags;		/* PCI_BAR_MEM64, PCI_BAR_PREFETCH */
	uint64_t addr;		/* where the regions are registered */
	bool mapped;
	struct pci_bar_region regions[PCI_BAR_MAX_REGIONS];
	int nr_regions;
};

struct pci_device_ops {
	/*
	 * Optional: called after the guest wrote config space bytes
	 * [off, off+size) that belong to the device (capabilities and the
	 * area after the header). Runs under the bus lock.
	 */
	void (*config_write)(struct pci_device *dev, unsigned off,
			     uint32_t val, unsigned size);
	/* Optional: fix up a config read of the device's own area. */
	uint32_t (*config_read)(struct pci_device *dev, unsigned off,
				uint32_t val, unsigned size);
	/* Optional: a BAR's regions were registered at addr / removed. */
	void (*bar_mapped)(struct pci_device *dev, int bar, uint64_t addr);
	void (*bar_unmapped)(struct pci_device *dev, int bar, uint64_t addr);
};

struct pci_device {
	struct pci_bus *bus;
	const char *name;
	const struct pci_device_ops *ops;
	void *opaque;
	int slot;		/* device number on bus 0 */
	unsigned cfg_size;	/* 256 or 4096 */
	uint8_t cfg[PCI_CFG_SIZE_EXT];
	uint8_t wmask[PCI_CFG_SIZE_EXT];	/* bits the guest may change */
	uint8_t last_cap;	/* offset of the last capability, 0: none */
	unsigned cap_end;	/* first free config byte for capabilities */
	struct pci_bar bars[PCI_NR_BARS];
	struct pci_msix *msix;
	uint8_t msix_cap;	/* config offset of the MSI-X capability */
	bool intx_level;	/* what the device drives on INTA */
	bool intx_disabled;	/* command register INTx disable */
	bool intx_counted;	/* counted in bus->intx_count */
	struct log_limit log;	/* config space and MSI-X errors */
};

struct pci_bus {
	struct device dev;
	struct bus *pio, *mmio;
	const struct irq_chip *irq;
	/* Lock order: map_lock, lock, intx_lock (see pci.c). */
	pthread_mutex_t lock;	/* config space of every device */
	pthread_mutex_t map_lock; /* BAR registrations on vm->mmio */
	struct pci_device *devs[PCI_MAX_SLOTS];
	struct pci_device host_bridge;
	uint32_t config_addr;	/* last value written to 0xCF8 */
	uint64_t mmio_next;	/* next free address in the 32-bit window */
	bool io_registered, ecam_registered;

	pthread_mutex_t intx_lock;
	unsigned intx_count[PCI_INTX_LINES];	/* devices asserting */
};

/*
 * Bus 0 with its host bridge, type 1 config ports and ECAM, as a device.
 * Devices on the bus are created after it and destroyed before it.
 */
int pci_host_create(const struct dev_env *env, struct device **out);
struct pci_bus *pci_host_bus(struct device *dev);

/*
 * Prepare a device: zeroed config space with ids, class and header type 0.
 * cfg_size is PCI_CFG_SIZE or PCI_CFG_SIZE_EXT.
 */
void pci_device_init(struct pci_device *dev, const char *name,
		     uint16_t vendor, uint16_t device, uint32_t class_code,
		     uint8_t revision, unsigned cfg_size);
/* Declare a memory BAR; size is rounded up to a power of two >= 4 KiB. */
int pci_device_add_bar(struct pci_device *dev, int bar, uint64_t size,
		       uint32_t flags);
/* Add a region with callbacks inside a declared BAR. */
int pci_device_add_bar_region(struct pci_device *dev, int bar, uint64_t off,
			      uint64_t len, const struct bus_ops *ops,
			      void *opaque, const char *name);
/*
 * Append a capability of len bytes (id and next pointer included) and
 * return its config offset, or a negative errno. data may be NULL. The
 * bytes after the header are read-only unless the caller sets wmask.
 */
int pci_device_add_cap(struct pci_device *dev, uint8_t id, const void *data,
		       unsigned len);
/*
 * Put the device on bus 0 (first free slot), assign its BARs from the
 * window and enable memory decode so it works before the guest probes.
 */
int pci_register_device(struct pci_bus *bus, struct pci_device *dev);
void pci_unregister_device(struct pci_bus *bus, struct pci_device *dev);

/*
 * Drive the device's INTA line (level 1 asserts). Lines are shared, so
 * the GSI stays high while any device on it asserts. Honours the command
 * register's INTx disable bit. Any thread.
 */
void pci_set_intx(struct pci_device *dev, bool level);

/*
 * A PCI device's config space (guest-writable bits), INTx level and MSI-X
 * state, as part of its owner's state section. Load remaps the BARs.
 */
int pci_device_save(struct pci_device *dev, struct state_writer *w);
int pci_device_load(struct pci_device *dev, struct state_reader *r);

/* Visit every device on the bus (host bridge included), e.g. for ACPI. */
void pci_for_each_device(struct pci_bus *bus,
			 void (*fn)(struct pci_device *dev, void *arg),
			 void *arg);

/*
 * Configuration access for bus 0, as through ECAM: off in [0, 4096),
 * size 1, 2 or 4. Exposed for the tests and for non-x86 front ends.
 */
uint32_t pci_config_read(struct pci_bus *bus, unsigned devfn, unsigned off,
			 unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned devfn, unsigned off,
		      uint32_t val, unsigned size);

/*
 * MSI-X (pci_msix.c): a capability plus table and PBA as regions of one
 * BAR. Vectors are delivered through the accelerator's in-kernel MSI routes
 * (msi_route_add: irqfd under KVM) or else send_msi; masked ones
 * become pending.
 */
int pci_msix_init(struct pci_device *dev, unsigned nr_vectors, int bar,
		  uint32_t table_off, uint32_t pba_off);
void pci_msix_destroy(struct pci_device *dev);
/* Raise vector; false if MSI-X is off or vector out of range. */
bool pci_msix_notify(struct pci_device *dev, unsigned vector);
bool pci_msix_enabled(struct pci_device *dev);
/* The vector table, pending bits and function mask (pci_device_save). */
int pci_msix_save(struct pci_device *dev, struct state_writer *w);
int pci_msix_load(struct pci_device *dev, struct state_reader *r);
/* Called by the PCI core after a write to the MSI-X message control. */
void pci_msix_control_written(struct pci_device *dev);
/* Table plus PBA bytes needed for nr_vectors. */
#define PCI_MSIX_TABLE_SIZE(n)	((n) * 16u)
#define PCI_MSIX_PBA_SIZE(n)	((((n) + 63u) / 64u) * 8u)

#endif
