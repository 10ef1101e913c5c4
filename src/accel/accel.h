/* SPDX-License-Identifier: MIT */
/*
 * How guest code runs. The machine model (src/vmm, src/devices, ...) talks to
 * the CPU only through this table; kvm.c drives /dev/kvm and emu/ interprets
 * x86-64 in software. An accelerator dispatches the guest's port I/O and MMIO
 * to vm->pio and vm->mmio (src/vmm/bus.h) itself and returns from vcpu_run
 * only for what the VMM must decide: a shutdown, a request to stop or pause,
 * or an error it cannot handle.
 */
#ifndef CVISOR_ACCEL_ACCEL_H
#define CVISOR_ACCEL_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/regs.h"

struct vm;
struct vcpu;
struct state_writer;
struct state_reader;

enum vcpu_exit_reason {
	VCPU_EXIT_KICKED,	/* vcpu_kick() or a signal: VMM checks state */
	VCPU_EXIT_SHUTDOWN,	/* triple fault */
	VCPU_EXIT_ERROR,	/* internal error; detail says what */
};

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	uint64_t rip;
	char detail[160];	/* one line, for errors */
};

struct accel_ops {
	const char *name;
	/*
	 * Create the VM: interrupt controllers (LAPIC per vCPU, IOAPIC, PIC,
	 * PIT) and guest RAM (vm->mem) made visible to the guest. Returns 0 or
	 * a negative errno; on failure vm->accel_error may hold a message.
	 */
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);

	/* vcpu->id is set; CPU 0 is the bootstrap processor. */
	int (*vcpu_init)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	int (*get_regs)(struct vcpu *vcpu, struct x86_regs *regs);
	int (*set_regs)(struct vcpu *vcpu, const struct x86_regs *regs);
	int (*get_sregs)(struct vcpu *vcpu, struct x86_sregs *sregs);
	int (*set_sregs)(struct vcpu *vcpu, const struct x86_sregs *sregs);

	/*
	 * Run on the vCPU's own thread until an exit only the VMM can act on.
	 * Application processors wait for INIT/SIPI inside vcpu_run.
	 */
	int (*vcpu_run)(struct vcpu *vcpu, struct vcpu_exit *exit);
	/* From any thread: make vcpu_run return VCPU_EXIT_KICKED soon. */
	void (*vcpu_kick)(struct vcpu *vcpu);

	/* Drive an IOAPIC input (GSI) line; level 1 asserts. */
	int (*set_irq)(struct vm *vm, unsigned gsi, int level);
	/* Deliver a message-signalled interrupt. */
	int (*send_msi)(struct vm *vm, uint64_t addr, uint32_t data);
	/*
	 * Optional: an in-kernel route for one MSI message (addr, data).
	 * msi_route_add returns an eventfd: an 8-byte write to it raises the
	 * message in the guest without a call into the VMM. msi_route_update
	 * points the route of fd at a new message; msi_route_del removes it
	 * and closes fd. NULL or -ENOSYS means the VMM must use send_msi.
	 */
	int (*msi_route_add)(struct vm *vm, uint64_t addr, uint32_t data);
	int (*msi_route_update)(struct vm *vm, int fd, uint64_t addr,
				uint32_t data);
	void (*msi_route_del)(struct vm *vm, int fd);
	/*
	 * Optional: make a guest write of len bytes at addr (MMIO, or port
	 * I/O when pio) signal eventfd fd without a user-space exit.
	 * NULL or -ENOSYS means the VMM must signal fd from a bus handler.
	 */
	int (*add_ioeventfd)(struct vm *vm, uint64_t addr, unsigned len,
			     bool pio, int fd);
	int (*del_ioeventfd)(struct vm *vm, uint64_t addr, unsigned len,
			     bool pio, int fd);

	/*
	 * VM state for snapshots and migration (src/vmm/state.h), called
	 * with every vCPU parked outside the guest. vcpu_save writes one
	 * section, "cpu<id>", holding the vCPU's complete state; vm_save
	 * writes one section, "<accel name>" ("kvm", "emu"), holding the
	 * VM-wide state: interrupt controllers, PIT, guest clock. The loads
	 * read the current section of r (its format version given) on a VM
	 * and vCPUs that are created but have never run; the guest's clock
	 * goes on from the saved value. They return 0 or a negative errno,
	 * with the reason recorded by state_fail(r, ...).
	 */
	int (*vcpu_save)(struct vcpu *vcpu, struct state_writer *w);
	int (*vcpu_load)(struct vcpu *vcpu, struct state_reader *r,
			 uint32_t version);
	int (*vm_save)(struct vm *vm, struct state_writer *w);
	int (*vm_load)(struct vm *vm, struct state_reader *r,
		       uint32_t version);

	/*
	 * Dirty page tracking for live migration, over the whole guest RAM
	 * mapping (vm->mem.mapping, mapping_size bytes; page i is bytes
	 * [i * 4096, (i + 1) * 4096) of the mapping, whatever guest physical
	 * address it has). dirty_log_start makes the accelerator record every
	 * page the guest (vCPUs, including emulated instructions and page
	 * table A/D bit updates) writes from now on; dirty_log_sync ORs the
	 * pages written since the last sync (or the start) into bitmap (one
	 * bit per page, 64 pages per uint64_t word, bit i%64 of word i/64) and
	 * clears the accelerator's record, atomically with respect to guest
	 * writes (a write racing a sync is reported by this sync or the
	 * next, never lost); dirty_log_stop ends tracking. Callable from any
	 * thread while vCPUs run. 0 or a negative errno.
	 */
	int (*dirty_log_start)(struct vm *vm);
	int (*dirty_log_sync)(struct vm *vm, uint64_t *bitmap);
	void (*dirty_log_stop)(struct vm *vm);

	/*
	 * Optional: device memory (a framebuffer BAR) the guest reaches
	 * without an exit. dev_slot_map makes size bytes at host address hva
	 * appear at guest physical gpa (both page-aligned), every guest write
	 * logged, and returns a slot id >= 0 or a negative errno;
	 * dev_slot_sync ORs the slot's pages written since its last sync into
	 * bitmap (bit i: page i of the slot) and clears them;
	 * dev_slot_unmap removes it. Independent of the dirty_log_* calls,
	 * which cover guest RAM only. NULL: the device stays on the MMIO bus.
	 */
	int (*dev_slot_map)(struct vm *vm, uint64_t gpa, void *hva,
			    uint64_t size);
	void (*dev_slot_unmap)(struct vm *vm, int slot);
	int (*dev_slot_sync)(struct vm *vm, int slot, uint64_t *bitmap);
};

extern const struct accel_ops kvm_accel_ops;
extern const struct accel_ops emu_accel_ops;

/* The accelerator called name ("kvm", "emu"), or NULL. */
const struct accel_ops *accel_find(const char *name);

#endif
