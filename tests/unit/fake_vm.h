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
#include <time.h>

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
