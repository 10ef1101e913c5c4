// SPDX-License-Identifier: MIT
/*
 * PCI bus without a VM: config space through 0xCF8/0xCFC and ECAM on the
 * buses of a bare struct vm, BAR sizing and moving, the capability list
 * and MSI-X masking and routes. vm_send_msi, the MSI routes and the
 * ioeventfd calls are stubbed here (fake_vm.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "test.h"
#include "vmm/vm.h"
#include "fake_vm.h"

static struct vm vm;

static uint64_t reg_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)size;
	return 0x5a000000 | off;
}

static const struct bus_ops reg_ops = {
	.read = reg_read,
};

static struct pci_device tdev;

static uint32_t cf8_read(unsigned devfn, unsigned off, unsigned size)
{
	uint64_t v;

	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR,
		  0x80000000u | devfn << 8 | (off & 0xfc), 4);
	bus_read(&vm.pio, PORT_PCI_CONFIG_DATA + (off & 3), &v, size);
	return v;
}

static void cf8_write(unsigned devfn, unsigned off, uint32_t val,
		      unsigned size)
{
	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR,
		  0x80000000u | devfn << 8 | (off & 0xfc), 4);
	bus_write(&vm.pio, PORT_PCI_CONFIG_DATA + (off & 3), val, size);
}

static uint32_t ecam_read(unsigned devfn, unsigned off, unsigned size)
{
	uint64_t v;

	bus_read(&vm.mmio, PCI_ECAM_BASE + (devfn << 12) + off, &v, size);
	return v;
}

static bool mmio_hit(uint64_t addr, uint64_t *val)
{
	return bus_read(&vm.mmio, addr, val, 4);
}

static void setup(void)
{
	CHECK_EQ(bus_init(&vm.pio, "pio"), 0);
	CHECK_EQ(bus_init(&vm.mmio, "mmio"), 0);
	CHECK_EQ(guest_mem_init(&vm.mem, 16 << 20, NULL), 0);
	CHECK_EQ(fake_pci_init(&vm), 0);

	pci_device_init(&tdev, "test", 0x1234, 0x5678, 0x018000, 3,
			PCI_CFG_SIZE_EXT);
	CHECK_EQ(pci_device_add_bar(&tdev, 0, 0x4000, PCI_BAR_MEM64), 0);
	CHECK_EQ(pci_device_add_bar(&tdev, 2, 0x100, PCI_BAR_MEM32), 0);
	CHECK(pci_device_add_bar(&tdev, 1, 0x1000, 0) < 0); /* BAR0 high */
	CHECK_EQ(pci_device_add_bar_region(&tdev, 0, 0x1000, 0x100, &reg_ops,
					   &tdev, "regs"), 0);
	CHECK(pci_device_add_cap(&tdev, PCI_CAP_ID_VNDR, NULL, 16) >= 0x40);
	CHECK_EQ(pci_msix_init(&tdev, 4, 2, 0x0, 0x800), 0);
	CHECK_EQ(pci_register_device(vm.pci, &tdev), 0);
	CHECK_EQ(tdev.slot, 1);
}

static void teardown(void)
{
	pci_unregister_device(vm.pci, &tdev);
	pci_msix_destroy(&tdev);
	fake_pci_destroy(&vm);
	guest_mem_destroy(&vm.mem);
	bus_destroy(&vm.pio);
	bus_destroy(&vm.mmio);
}

static void test_host_bridge(void)
{
	CHECK_EQ(cf8_read(0, 0, 4), 0x00081b36);
	CHECK_EQ(cf8_read(0, 0x0b, 1), 0x06);
	CHECK_EQ(cf8_read(0, 0x0a, 2), 0x0600);
	CHECK_EQ(cf8_read(0, 0x0e, 1), 0);
	/* absent slot and function */
	CHECK_EQ(cf8_read(5 << 3, 0, 4), 0xffffffff);
	CHECK_EQ(cf8_read(1 << 3 | 1, 0, 2), 0xffff);
	/* 0xCF8 reads back */
	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR, 0x80000810, 4);
	{
		uint64_t v;

		bus_read(&vm.pio, PORT_PCI_CONFIG_ADDR, &v, 4);
		CHECK_EQ(v, 0x80000810);
	}
}

static void test_ids(void)
{
	CHECK_EQ(cf8_read(8, 0, 4), 0x56781234);
	CHECK_EQ(cf8_read(8, 8, 4), 0x01800003);
}

static void test_bar_sizing(void)
{
	uint32_t lo = cf8_read(8, 0x10, 4), hi = cf8_read(8, 0x14, 4);
	uint32_t b2 = cf8_read(8, 0x18, 4);

	/* pre-assigned inside the window, aligned, 64-bit type bits */
	CHECK_EQ(lo & 0xf, PCI_BAR_MEM64);
	CHECK_EQ(hi, 0);
	CHECK((lo & ~0xfu) >= PCI_MMIO_WINDOW_BASE);
	CHECK_EQ((lo & ~0xfu) % 0x4000, 0);
	CHECK_EQ(b2 & 0xfff, 0);	/* size rounded up to 4 KiB */

	cf8_write(8, 4, 0, 2);			/* decode off, as Linux */
	cf8_write(8, 0x10, 0xffffffff, 4);
	cf8_write(8, 0x14, 0xffffffff, 4);
	cf8_write(8, 0x18, 0xffffffff, 4);
	cf8_write(8, 0x1c, 0xffffffff, 4);
	cf8_write(8, 0x30, 0xffffffff, 4);
	CHECK_EQ(cf8_read(8, 0x10, 4), 0xffffc004);
	CHECK_EQ(cf8_read(8, 0x14, 4), 0xffffffff);
	CHECK_EQ(cf8_read(8, 0x18, 4), 0xfffff000);
	CHECK_EQ(cf8_read(8, 0x1c, 4), 0);	/* unused BAR */
	CHECK_EQ(cf8_read(8, 0x30, 4), 0);	/* no ROM */
	cf8_write(8, 0x10, lo, 4);
	cf8_write(8, 0x14, hi, 4);
	cf8_write(8, 0x18, b2, 4);
	cf8_write(8, 4, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(cf8_read(8, 0x10, 4), lo);
}

static void test_bar_move(void)
{
	uint32_t lo = cf8_read(8, 0x10, 4) & ~0xfu;
	uint32_t to = PCI_MMIO_WINDOW_BASE + 0x100000;
	uint64_t v;

	CHECK(mmio_hit(lo + 0x1010, &v));
	CHECK_EQ(v, 0x5a000010);
	CHECK(!mmio_hit(lo + 0x2000, &v));	/* no region there */
	cf8_write(8, 4, 0, 2);
	CHECK(!mmio_hit(lo + 0x1010, &v));	/* decode off */
	cf8_write(8, 0x10, to, 4);
	CHECK(!mmio_hit(to + 0x1010, &v));
	cf8_write(8, 4, PCI_COMMAND_MEMORY, 2);
	CHECK(mmio_hit(to + 0x1010, &v));
	CHECK(!mmio_hit(lo + 0x1010, &v));
	/* the command register keeps only the bits we implement */
	CHECK_EQ(cf8_read(8, 4, 2), PCI_COMMAND_MEMORY);
	cf8_write(8, 0x10, lo, 4);
	CHECK(mmio_hit(lo + 0x1010, &v));
}

static void ecam_write(unsigned devfn, unsigned off, uint32_t val,
		       unsigned size)
{
	bus_write(&vm.mmio, PCI_ECAM_BASE + (devfn << 12) + off, val, size);
}

/* A BAR programmed through ECAM decodes at once, as through 0xCF8. */
static void test_ecam_move(void)
{
	uint32_t lo = cf8_read(8, 0x10, 4) & ~0xfu;
	uint32_t to = PCI_MMIO_WINDOW_BASE + 0x200000;
	uint64_t v;

	ecam_write(8, 0x10, to, 4);
	CHECK(mmio_hit(to + 0x1010, &v));
	CHECK_EQ(v, 0x5a000010);
	CHECK(!mmio_hit(lo + 0x1010, &v));
	/* as Linux sizes: decode off, move, decode on, use */
	ecam_write(8, 4, 0, 2);
	CHECK(!mmio_hit(to + 0x1010, &v));
	ecam_write(8, 0x10, lo, 4);
	ecam_write(8, 0x14, 0, 4);
	ecam_write(8, 4, PCI_COMMAND_MEMORY, 2);
	CHECK(mmio_hit(lo + 0x1010, &v));
	CHECK_EQ(v, 0x5a000010);
	CHECK(!mmio_hit(to + 0x1010, &v));
}

#define MOVERS		3
#define ACCESSORS	3
#define MOVES		300
#define SPOTS		4

static atomic_int movers_left;

static uint32_t spot(unsigned i)
{
	return PCI_MMIO_WINDOW_BASE + 0x400000 + i * 0x10000;
}

static void *mover(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < MOVES; i++) {
		seed = seed * 1103515245 + 12345;
		if (seed >> 30 == 0)
			ecam_write(8, 4, (seed >> 16) & 1 ? PCI_COMMAND_MEMORY :
				   0, 2);
		else
			ecam_write(8, 0x10, spot((seed >> 16) % SPOTS), 4);
	}
	atomic_fetch_sub(&movers_left, 1);
	return NULL;
}

static void *accessor(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	uint64_t v;

	while (atomic_load(&movers_left) > 0) {
		if (mmio_hit(spot(n++ % SPOTS) + 0x1010, &v) &&
		    v != 0x5a000010)
			return (void *)1;
		ecam_read(8, 0x10, 4);
	}
	return NULL;
}

/*
 * BARs moved from several vCPUs at once while others use the device: no
 * deadlock, every hit lands in the device, and at the end the device
 * decodes exactly where its config space says.
 */
static void test_ecam_move_concurrent(void)
{
	uint32_t lo = cf8_read(8, 0x10, 4) & ~0xfu;
	pthread_t t[MOVERS + ACCESSORS];
	uint32_t at;
	uint64_t v;
	int hits = 0;

	atomic_store(&movers_left, MOVERS);
	for (int i = 0; i < MOVERS + ACCESSORS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL,
					i < MOVERS ? mover : accessor,
					(void *)(uintptr_t)(i + 1)), 0);
	for (int i = 0; i < MOVERS + ACCESSORS; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		CHECK(ret == NULL);
	}
	ecam_write(8, 4, PCI_COMMAND_MEMORY, 2);
	at = cf8_read(8, 0x10, 4) & ~0xfu;
	for (unsigned i = 0; i < SPOTS; i++)
		hits += mmio_hit(spot(i) + 0x1010, &v);
	CHECK_EQ(hits, 1);
	CHECK(mmio_hit(at + 0x1010, &v));
	ecam_write(8, 0x10, lo, 4);
	CHECK(mmio_hit(lo + 0x1010, &v));
}

static void test_caps(void)
{
	unsigned ptr, n = 0, ids[8];

	CHECK(cf8_read(8, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	ptr = cf8_read(8, PCI_CAPABILITY_LIST, 1);
	while (ptr && n < 8) {
		CHECK(ptr >= 0x40 && ptr < 0x100 && !(ptr & 3));
		ids[n++] = cf8_read(8, ptr, 1);
		ptr = cf8_read(8, ptr + 1, 1);
	}
	CHECK_EQ(n, 2);
	CHECK_EQ(ids[0], PCI_CAP_ID_VNDR);
	CHECK_EQ(ids[1], PCI_CAP_ID_MSIX);
	/* read-only: capability bytes ignore writes */
	cf8_write(8, 0x40, 0xffffffff, 4);
	CHECK_EQ(cf8_read(8, 0x40, 1), PCI_CAP_ID_VNDR);
	/* unimplemented space reads zero, writes are ignored */
	cf8_write(8, 0xf0, 0xdeadbeef, 4);
	CHECK_EQ(cf8_read(8, 0xf0, 4), 0);
	CHECK_EQ(ecam_read(8, 0x800, 4), 0);
	bus_write(&vm.mmio, PCI_ECAM_BASE + (8 << 12) + 0x800, 0x1234, 4);
	CHECK_EQ(ecam_read(8, 0x800, 4), 0);
}

static void test_ecam_equals_cf8(void)
{
	for (unsigned devfn = 0; devfn < 24; devfn++) {
		for (unsigned off = 0; off < 256; off++) {
			CHECK_EQ(ecam_read(devfn, off, 1),
				 cf8_read(devfn, off, 1));
			if (!(off & 1))
				CHECK_EQ(ecam_read(devfn, off, 2),
					 cf8_read(devfn, off, 2));
			if (!(off & 3))
				CHECK_EQ(ecam_read(devfn, off, 4),
					 cf8_read(devfn, off, 4));
		}
	}
}

static void test_hostile_config(void)
{
	uint64_t v;

	/* disabled 0xCF8, other buses, bad sizes: nothing happens */
	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR, 0x00000800, 4);
	bus_read(&vm.pio, PORT_PCI_CONFIG_DATA, &v, 4);
	CHECK_EQ(v, 0xffffffff);
	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR, 0x80010000, 4);
	bus_read(&vm.pio, PORT_PCI_CONFIG_DATA, &v, 4);
	CHECK_EQ(v, 0xffffffff);
	bus_write(&vm.pio, PORT_PCI_CONFIG_ADDR, 0x80000800, 4);
	bus_read(&vm.pio, PORT_PCI_CONFIG_DATA + 2, &v, 4);	/* straddles */
	bus_write(&vm.pio, PORT_PCI_CONFIG_DATA + 3, 0xffff, 2);
	bus_write(&vm.mmio, PCI_ECAM_BASE + (8 << 12) + 0xffe, ~0ULL, 8);
	CHECK_EQ(ecam_read(8, 0xffc, 4), 0);
	CHECK_EQ(cf8_read(8, 0, 4), 0x56781234);
	/* BAR pointed at ECAM: the overlap is refused, nothing breaks */
	v = cf8_read(8, 0x18, 4);
	cf8_write(8, 0x18, PCI_ECAM_BASE, 4);
	CHECK_EQ(ecam_read(8, 0, 4), 0x56781234);
	cf8_write(8, 0x18, v, 4);
	CHECK(mmio_hit(v + 0x800, &v));
}

static void msix_write(uint64_t bar, unsigned vec, unsigned field,
		       uint32_t val)
{
	bus_write(&vm.mmio, bar + vec * 16 + field * 4, val, 4);
}

static void test_msix(void)
{
	uint64_t bar = cf8_read(8, 0x18, 4) & ~0xfu, pba;
	unsigned cap = 0, ptr = cf8_read(8, PCI_CAPABILITY_LIST, 1);

	while (ptr) {
		if (cf8_read(8, ptr, 1) == PCI_CAP_ID_MSIX)
			cap = ptr;
		ptr = cf8_read(8, ptr + 1, 1);
	}
	CHECK(cap);
	CHECK_EQ(cf8_read(8, cap + 2, 2) & 0x7ff, 3);	/* 4 vectors */
	CHECK_EQ(cf8_read(8, cap + 4, 4), 0x0 | 2);	/* table in BAR2 */
	CHECK_EQ(cf8_read(8, cap + 8, 4), 0x800 | 2);

	fake_nr_msi = 0;
	CHECK(!pci_msix_notify(&tdev, 1));		/* disabled */
	cf8_write(8, cap + 2, 0x8000, 2);		/* enable */
	CHECK(pci_msix_enabled(&tdev));
	/* vectors start masked: pending */
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(fake_nr_msi, 0);
	bus_read(&vm.mmio, bar + 0x800, &pba, 8);
	CHECK_EQ(pba, 2);
	msix_write(bar, 1, 0, 0xfee00000);
	msix_write(bar, 1, 2, 0x41);
	msix_write(bar, 1, 3, 0);			/* unmask */
	CHECK_EQ(fake_nr_msi, 1);
	CHECK_EQ(fake_msi_addr, 0xfee00000);
	CHECK_EQ(fake_msi_data, 0x41);
	bus_read(&vm.mmio, bar + 0x800, &pba, 8);
	CHECK_EQ(pba, 0);
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(fake_nr_msi, 2);
	/* function mask holds it back until cleared */
	cf8_write(8, cap + 2, 0xc000, 2);
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(fake_nr_msi, 2);
	cf8_write(8, cap + 2, 0x8000, 2);
	CHECK_EQ(fake_nr_msi, 3);
	/* out of range vector, odd sized table access */
	CHECK(!pci_msix_notify(&tdev, 4));
	bus_write(&vm.mmio, bar + 3, 0xff, 1);
	cf8_write(8, cap + 2, 0, 2);
	CHECK(!pci_msix_enabled(&tdev));
}

/* What the route's eventfd counted since the last look (0: nothing). */
static uint64_t route_count(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static uint64_t pba_read(uint64_t bar)
{
	uint64_t pba;

	bus_read(&vm.mmio, bar + 0x800, &pba, 8);
	return pba;
}

/*
 * With in-kernel routes (irqfd under KVM): a route per enabled, unmasked
 * vector, raised by writing its eventfd, never by vm_send_msi; masking and
 * the pending bits still work; routes follow rewrites and go away when
 * MSI-X is turned off. Runs after test_msix: vector 1 is programmed.
 */
static void test_msix_routes(void)
{
	uint64_t bar = cf8_read(8, 0x18, 4) & ~0xfu;
	unsigned cap = tdev.msix_cap, changes;
	int fd;

	fake_msi_routes = true;
	fake_nr_msi = 0;
	fake_nr_route_changes = 0;
	cf8_write(8, cap + 2, 0x8000, 2);		/* enable */
	CHECK_EQ(fake_nr_routes, 1);			/* only vector 1 */
	CHECK_EQ(fake_route_addr, 0xfee00000);
	CHECK_EQ(fake_route_data, 0x41);
	fd = fake_route_fd;
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(route_count(fd), 2);
	CHECK_EQ(fake_nr_msi, 0);

	/* masked: pending, no write; a rewrite while masked waits */
	msix_write(bar, 1, 3, 1);
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(route_count(fd), 0);
	CHECK_EQ(pba_read(bar), 2);
	changes = fake_nr_route_changes;
	msix_write(bar, 1, 2, 0x42);
	CHECK_EQ(fake_nr_route_changes, changes);
	msix_write(bar, 1, 3, 0);			/* unmask: re-route, deliver */
	CHECK_EQ(fake_nr_route_changes, changes + 1);
	CHECK_EQ(fake_route_fd, fd);
	CHECK_EQ(fake_route_data, 0x42);
	CHECK_EQ(route_count(fd), 1);
	CHECK_EQ(pba_read(bar), 0);

	/* the function mask holds it back the same way */
	cf8_write(8, cap + 2, 0xc000, 2);
	CHECK(pci_msix_notify(&tdev, 1));
	CHECK_EQ(route_count(fd), 0);
	cf8_write(8, cap + 2, 0x8000, 2);
	CHECK_EQ(route_count(fd), 1);

	/* rewriting an unmasked entry moves the route, fires nothing */
	msix_write(bar, 1, 2, 0x43);
	CHECK_EQ(fake_route_data, 0x43);
	CHECK_EQ(fake_nr_routes, 1);
	CHECK_EQ(route_count(fd), 0);

	/* a second vector gets its own route */
	msix_write(bar, 2, 0, 0xfee01000);
	msix_write(bar, 2, 2, 0x51);
	CHECK_EQ(fake_nr_routes, 1);			/* still masked */
	msix_write(bar, 2, 3, 0);
	CHECK_EQ(fake_nr_routes, 2);
	CHECK(fake_route_fd != fd);
	CHECK_EQ(fake_route_addr, 0xfee01000);
	CHECK(pci_msix_notify(&tdev, 2));
	CHECK_EQ(route_count(fake_route_fd), 1);
	CHECK_EQ(route_count(fd), 0);

	/* no route to be had (table full): that vector uses vm_send_msi */
	fake_route_error = -ENOSPC;
	msix_write(bar, 3, 0, 0xfee00000);
	msix_write(bar, 3, 2, 0x61);
	msix_write(bar, 3, 3, 0);
	fake_route_error = 0;
	CHECK_EQ(fake_nr_routes, 2);
	CHECK(pci_msix_notify(&tdev, 3));
	CHECK_EQ(fake_nr_msi, 1);
	CHECK_EQ(fake_msi_data, 0x61);

	/* MSI-X off (driver reset): routes go; back on: they return */
	cf8_write(8, cap + 2, 0, 2);
	CHECK_EQ(fake_nr_routes, 0);
	CHECK(!pci_msix_notify(&tdev, 1));
	cf8_write(8, cap + 2, 0x8000, 2);
	CHECK_EQ(fake_nr_routes, 3);
	CHECK(pci_msix_notify(&tdev, 3));
	CHECK_EQ(fake_nr_msi, 1);			/* vector 3 routed now */
}

static void test_intx(void)
{
	CHECK_EQ(cf8_read(0, PCI_INTERRUPT_PIN, 1), 0);	/* host bridge */
	CHECK_EQ(cf8_read(8, PCI_INTERRUPT_PIN, 1), 1);	/* INTA */
	CHECK_EQ(cf8_read(8, PCI_INTERRUPT_LINE, 1), PCI_INTX_GSI(1));
	pci_set_intx(&tdev, true);
	CHECK_EQ(fake_irq_gsi, PCI_INTX_GSI(1));
	CHECK_EQ(fake_irq_level, 1);
	cf8_write(8, PCI_COMMAND, PCI_COMMAND_MEMORY |
		  PCI_COMMAND_INTX_DISABLE, 2);
	CHECK_EQ(fake_irq_level, 0);
	cf8_write(8, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(fake_irq_level, 1);
	pci_set_intx(&tdev, true);		/* idempotent */
	pci_set_intx(&tdev, false);
	CHECK_EQ(fake_irq_level, 0);
	CHECK_EQ(vm.pci->intx_count[1], 0);
}

static void test_teardown_releases_routes(void)
{
	CHECK(fake_nr_routes > 0);
	teardown();
	CHECK_EQ(fake_nr_routes, 0);
}

int main(void)
{
	setup();
	RUN(test_host_bridge);
	RUN(test_ids);
	RUN(test_bar_sizing);
	RUN(test_bar_move);
	RUN(test_ecam_move);
	RUN(test_ecam_move_concurrent);
	RUN(test_caps);
	RUN(test_ecam_equals_cf8);
	RUN(test_hostile_config);
	RUN(test_msix);
	RUN(test_msix_routes);
	RUN(test_intx);
	RUN(test_teardown_releases_routes);
	return test_summary();
}
