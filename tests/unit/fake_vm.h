/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for the VM's interrupt, ioeventfd and clock hooks, so device
 * code runs in a unit test without an accelerator or src/vmm/vm.c. They
 * record the last interrupt (atomically: device threads raise them).
 * Include in exactly one file of a test binary.
 */
#ifndef CVISOR_TEST_FAKE_VM_H
#define CVISOR_TEST_FAKE_VM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vm.h"

static unsigned fake_irq_gsi;
static int fake_irq_level = -1;
static unsigned fake_nr_msi;
static uint64_t fake_msi_addr;
static uint32_t fake_msi_data;

int vm_set_irq(struct vm *v, unsigned gsi, int level)
{
	__atomic_store_n(&fake_irq_gsi, gsi, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fake_irq_level, level, __ATOMIC_SEQ_CST);
	return 0;
}

int vm_send_msi(struct vm *v, uint64_t addr, uint32_t data)
{
	__atomic_store_n(&fake_msi_addr, addr, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fake_msi_data, data, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&fake_nr_msi, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * In-kernel MSI routes: none (as under emu) unless a test sets
 * fake_msi_routes; then each route is a plain eventfd the test reads to
 * count deliveries, and the last route change is recorded.
 */
static bool fake_msi_routes;
static int fake_route_error;		/* when set, adds fail with it */
static unsigned fake_nr_routes;		/* routes alive */
static unsigned fake_nr_route_changes;	/* adds and updates */
static int fake_route_fd = -1;		/* last added or updated */
static uint64_t fake_route_addr;
static uint32_t fake_route_data;

int vm_msi_route_add(struct vm *v, uint64_t addr, uint32_t data)
{
	int fd;

	if (!fake_msi_routes)
		return -ENOSYS;
	if (fake_route_error)
		return fake_route_error;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	fake_nr_routes++;
	fake_nr_route_changes++;
	fake_route_fd = fd;
	fake_route_addr = addr;
	fake_route_data = data;
	return fd;
}

int vm_msi_route_update(struct vm *v, int fd, uint64_t addr, uint32_t data)
{
	fake_nr_route_changes++;
	fake_route_fd = fd;
	fake_route_addr = addr;
	fake_route_data = data;
	return 0;
}

void vm_msi_route_del(struct vm *v, int fd)
{
	fake_nr_routes--;
	close(fd);
}

/* No accelerator ioeventfd: devices fall back as they do under emu. */
int vm_add_ioeventfd(struct vm *v, uint64_t addr, unsigned len, bool pio,
		     int fd)
{
	return -ENOSYS;
}

int vm_del_ioeventfd(struct vm *v, uint64_t addr, unsigned len, bool pio,
		     int fd)
{
	return -ENOSYS;
}

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
