/* SPDX-License-Identifier: MIT */
/*
 * An address space of devices: one for port I/O, one for MMIO. Devices
 * register a range with read/write callbacks; the accelerator dispatches
 * guest accesses here. Accesses nobody claims are counted and ignored
 * (reads return all ones), never fatal.
 */
#ifndef CVISOR_VMM_BUS_H
#define CVISOR_VMM_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* offset is relative to the registered base; size is 1, 2, 4 or 8 */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t val,
		      unsigned size);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	atomic_uint inflight;	/* accesses in a callback right now */
};

/*
 * The lock guards the table only: an access finds its range and counts
 * itself in under the read lock, then calls the device without any bus
 * lock held, so a slow device stalls no other device's accesses.
 */
struct bus {
	const char *name;
	pthread_rwlock_t lock;
	struct bus_range **ranges;	/* sorted by base, non-overlapping */
	int nr, cap;
	atomic_ulong unhandled;
	/* bus_unregister waiting for a removed range's accesses to end */
	atomic_uint draining;
	pthread_mutex_t drain_lock;
	pthread_cond_t drained;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* -EEXIST if the range overlaps another, -EINVAL if empty. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
/*
 * Remove the range starting at base owned by opaque; -ENOENT if none. When
 * it returns 0, no callback of the range is running or will run, so the
 * caller may free opaque. A callback may register and unregister other
 * ranges of its bus (a BAR moved by a config write), but not its own range
 * (it would wait for itself): that returns -EDEADLK and changes nothing.
 * Nor may two callbacks unregister each other's ranges at the same time.
 */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/*
 * Dispatch one access of size 1, 2, 4 or 8 bytes. Returns true if a device
 * handled it. An unhandled read yields all ones.
 */
bool bus_read(struct bus *bus, uint64_t addr, uint64_t *val, unsigned size);
bool bus_write(struct bus *bus, uint64_t addr, uint64_t val, unsigned size);

#endif
