/* SPDX-License-Identifier: MIT */
/*
 * The guest driver's side of a virtio-pci device, for unit tests that
 * drive a device on a bare PCI bus: MMIO accessors and capability
 * discovery (virtio 1.2, 4.1.4).
 */
#ifndef CVISOR_TEST_VIRTIO_DRIVER_H
#define CVISOR_TEST_VIRTIO_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "devices/pci.h"
#include "vmm/vm.h"

/* Where the device's structures are, as discovered. */
struct vdrv {
	uint64_t bar;			/* BAR 0/1, 64-bit */
	uint64_t common, notify, isr, devcfg;
	uint32_t notify_mult;
	unsigned types;		/* bit n: a capability of cfg_type n */
	unsigned pci_cap;		/* the PCI config access capability */
	bool other_bar;			/* a capability names another BAR */
};

static inline uint64_t vdrv_rd(struct vm *vm, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	bus_read(&vm->mmio, addr, &v, size);
	return v;
}

static inline void vdrv_wr(struct vm *vm, uint64_t addr, uint64_t val,
			   unsigned size)
{
	bus_write(&vm->mmio, addr, val, size);
}

/*
 * Reset the device, then ACKNOWLEDGE | DRIVER, the features, FEATURES_OK
 * (virtio 1.2, 3.1.1). True when the device kept FEATURES_OK.
 */
static inline bool vdrv_negotiate(struct vm *vm, uint64_t common,
				  uint64_t features)
{
	vdrv_wr(vm, common + 0x14, 0, 1);
	vdrv_wr(vm, common + 0x14, 3, 1);
	vdrv_wr(vm, common + 0x08, 0, 4);
	vdrv_wr(vm, common + 0x0c, (uint32_t)features, 4);
	vdrv_wr(vm, common + 0x08, 1, 4);
	vdrv_wr(vm, common + 0x0c, features >> 32, 4);
	vdrv_wr(vm, common + 0x14, 0x0b, 1);
	return vdrv_rd(vm, common + 0x14, 1) & 8;
}

/*
 * Queue q of the given size with its descriptor table at base, the avail
 * ring at base + 0x1000 and the used ring at base + 0x2000, enabled.
 */
static inline void vdrv_queue_setup(struct vm *vm, uint64_t common,
				    unsigned q, uint16_t size, uint64_t base)
{
	vdrv_wr(vm, common + 0x16, q, 2);
	vdrv_wr(vm, common + 0x18, size, 2);
	vdrv_wr(vm, common + 0x20, base, 8);
	vdrv_wr(vm, common + 0x28, base + 0x1000, 8);
	vdrv_wr(vm, common + 0x30, base + 0x2000, 8);
	vdrv_wr(vm, common + 0x1c, 1, 2);
}

/*
 * Short accessors over a test file's VM, for the many register accesses a
 * device test makes: rd(addr, size), wr(addr, val, size), hva(gpa, len).
 */
#define VDRV_ACCESSORS(vmvar)						\
	static inline uint64_t rd(uint64_t addr, unsigned size)		\
	{								\
		return vdrv_rd(&(vmvar), addr, size);			\
	}								\
	static inline void wr(uint64_t addr, uint64_t val, unsigned size) \
	{								\
		vdrv_wr(&(vmvar), addr, val, size);			\
	}								\
	static inline void *hva(uint64_t gpa, uint64_t len)		\
	{								\
		return gpa_to_hva(&(vmvar).mem, gpa, len);		\
	}

/* Wait up to two seconds for a ring index a device thread advances. */
static inline bool vdrv_wait16(uint16_t *p, uint16_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static inline struct vdrv vdrv_discover(struct vm *vm, unsigned devfn)
{
	struct pci_bus *pci = vm->pci;
	struct vdrv d = { 0 };

	d.bar = ((uint64_t)pci_config_read(pci, devfn, PCI_BAR0 + 4, 4) << 32) |
		(pci_config_read(pci, devfn, PCI_BAR0, 4) & ~0xfu);
	for (unsigned ptr = pci_config_read(pci, devfn, PCI_CAPABILITY_LIST, 1);
	     ptr; ptr = pci_config_read(pci, devfn, ptr + 1, 1)) {
		unsigned type = pci_config_read(pci, devfn, ptr + 3, 1);
		uint64_t at = d.bar + pci_config_read(pci, devfn, ptr + 8, 4);

		if (pci_config_read(pci, devfn, ptr, 1) != PCI_CAP_ID_VNDR)
			continue;
		if (pci_config_read(pci, devfn, ptr + 4, 1) != 0)
			d.other_bar = true;
		d.types |= 1u << type;
		switch (type) {
		case 1:
			d.common = at;
			break;
		case 2:
			d.notify = at;
			d.notify_mult = pci_config_read(pci, devfn, ptr + 16,
							4);
			break;
		case 3:
			d.isr = at;
			break;
		case 4:
			d.devcfg = at;
			break;
		case 5:
			d.pci_cap = ptr;
			break;
		}
	}
	return d;
}

#endif
