/* SPDX-License-Identifier: MIT */
/*
 * The VM object: configuration, guest RAM, the I/O buses, vCPUs, the event
 * loop, and how the VM ends. Devices hang off it; the accelerator runs it.
 */
#ifndef CVISOR_VMM_VM_H
#define CVISOR_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/accel.h"
#include "arch/x86/layout.h"
#include "arch/x86/topology.h"
#include "devices/device.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"

#define VM_MAX_DISKS	16
#define VM_MAX_NETS	8
/*
 * Platform devices, PCI host, and virtio devices: disks, NICs, 3 more,
 * and the display with its keyboard and tablet.
 */
#define VM_MAX_DEVICES	(15 + VM_MAX_DISKS + VM_MAX_NETS)

struct event_loop;
struct uart;
struct pci_bus;
struct virtio_balloon;
struct vcon_backend;
struct migration;
struct migration_in;
struct vnc_server;
struct display;
struct virtio_input;

struct vm_config {
	const char *name;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	const char *accel;	/* "kvm", "emu" or "kvm:emu" */
	enum { EMU_JIT_DEFAULT, EMU_JIT_ON, EMU_JIT_OFF } emu_jit; /* ,jit= */
	bool no_reboot;
	bool test_exit;		/* enable the test guests' exit port */
	struct guest_mem_opts mem_opts;
	const char *affinity;	/* --cpus ...,affinity=SPEC (src/vmm/affinity.h) */
	struct cpu_topology topo; /* --cpus ...,sockets=,cores=,threads= */
	struct numa_config numa;  /* --numa (src/vmm/numa.h) */
	bool balloon;		/* add a virtio-balloon device */
	bool balloon_no_reporting; /* without free page reporting */
	struct disk_config disks[VM_MAX_DISKS];
	int nr_disks;
	struct net_config nets[VM_MAX_NETS];
	int nr_nets;
	/* --virtio-console: its spec, and the pty or file cvisor run opened
	 * from it (src/virtio/console.h), or NULL */
	const char *virtio_console_spec;
	const struct vcon_backend *virtio_console;
	bool debug;		/* --debug: verbose VMM logging */
	bool no_seccomp;	/* --no-seccomp: no sandbox for this VMM */
	/* --vnc: its spec, and the server cvisor run opened from it
	 * (src/ui/vnc.h), or NULL: no display, no input devices */
	const char *vnc_spec;
	struct vnc_server *vnc;
	/* The `cvisor run` arguments as given, for snapshots. */
	int argc;
	char **argv;
	/* An incoming migration (migration.h), or NULL. */
	struct migration_in *incoming;
	/* Restoring a snapshot (src/vmm/snapshot.h): its directory. */
	const char *restore_dir;
	bool restore_prefault;	/* read all memory before running */
	/* Where the serial console's output goes (src/vmm/console.h). */
	void (*console_out)(void *opaque, const uint8_t *buf, size_t len);
	void *console_opaque;
};

enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF,	/* guest powered off: status 0 */
	VM_EXIT_RESET,		/* guest asked for a reboot */
	VM_EXIT_PANIC,		/* guest reported a panic (pvpanic) */
	VM_EXIT_TRIPLE_FAULT,
	VM_EXIT_ERROR,		/* accelerator or device failure */
	VM_EXIT_SIGNAL,		/* SIGTERM, SIGINT or SIGHUP */
	VM_EXIT_QUIT,		/* the user quit from the console */
};

struct vcpu {
	struct vm *vm;
	int id;
	pthread_t thread;
	bool thread_started;
	void *accel_data;
	_Atomic int tid;	/* the thread's kernel id, once running */
};

struct vm {
	const struct vm_config *cfg;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	const struct accel_ops *accel;
	void *accel_data;
	char accel_error[256];
	struct vcpu vcpus[MAX_VCPUS];
	int nr_vcpus;
	/* cfg->topo resolved: what CPUID, ACPI and the LAPICs describe */
	struct cpu_topology topo;
	struct event_loop *loop;

	/* Entry state for the bootstrap processor, set by the loader. */
	struct x86_regs boot_regs;
	struct x86_sregs boot_sregs;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stopping;
	enum vm_exit_reason exit_reason;
	char exit_msg[256];
	uint64_t start_ns;
	/* Pause/resume (src/vmm/pause.c), under lock. */
	bool pause_req;
	int nr_paused;

	/*
	 * The devices, in creation order (src/vmm/machine.c), and what they
	 * are created with: the interrupt controller is the accelerator's.
	 */
	struct irq_chip irq;
	struct mem_slots slots;		/* device memory slots (dev_env) */
	struct dev_env env;
	struct device *devices[VM_MAX_DEVICES];
	int nr_devices;
	/* Devices the VMM talks to directly. */
	struct uart *console_uart;
	struct pci_bus *pci;
	struct device *acpi_pm;
	struct virtio_balloon *balloon;	/* NULL without --balloon */
	struct device *i8042;
	/* NULL without --vnc */
	struct display *display;
	struct virtio_input *keyboard, *tablet;

	/* Live migration out of this VM (migration.h), once started. */
	struct migration *migration;
	/* vCPU throttling (throttle.h). */
	atomic_uint throttle_pct;
	pthread_t throttle_thread;
	bool throttle_running;
};

/* Build the whole machine from cfg; on error prints one line, returns < 0 */
int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Start vCPUs and block until the VM ends; returns the exit reason. */
enum vm_exit_reason vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/*
 * Ask the VM to end (from any thread, including a vCPU or signal-safe
 * context is NOT allowed). The first reason recorded wins.
 */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

uint64_t vm_now_ns(void);

/* A device's power event (vm as opaque) ends the VM with its reason. */
void vm_power_event(void *vm, enum power_event ev, const char *why);

/*
 * The machine (machine.c): create every device of cfg from the device
 * table, in order, into vm->devices; destroy them in reverse order.
 */
int machine_create_devices(struct vm *vm);
void machine_destroy_devices(struct vm *vm);

#endif
