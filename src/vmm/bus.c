// SPDX-License-Identifier: MIT
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	pthread_rwlock_destroy(&bus->lock);
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* Index of the first range whose end is above addr. */
static int bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	int i, ret = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	int i, ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base &&
	    bus->ranges[i].opaque == opaque) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/*
 * The callback runs under the read lock so a concurrent unregister (a BAR
 * being moved by another vCPU) waits for in-flight accesses to finish.
 */
static bool bus_access(struct bus *bus, uint64_t addr, uint64_t *val,
		       unsigned size, bool write)
{
	const struct bus_range *r;
	bool handled = false;
	int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus_lower_bound(bus, addr);
	if (i < bus->nr) {
		r = &bus->ranges[i];
		if (addr >= r->base && addr - r->base + size <= r->len) {
			if (write) {
				if (r->ops->write)
					r->ops->write(r->opaque, addr - r->base,
						      *val, size);
			} else {
				*val = r->ops->read ?
				       r->ops->read(r->opaque, addr - r->base,
						    size) : ~0ULL;
			}
			handled = true;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!handled) {
		atomic_fetch_add_explicit(&bus->unhandled, 1,
					  memory_order_relaxed);
		if (!write)
			*val = ~0ULL;
	}
	return handled;
}

bool bus_read(struct bus *bus, uint64_t addr, uint64_t *val, unsigned size)
{
	bool ok = bus_access(bus, addr, val, size, false);

	if (size < 8)
		*val &= (1ULL << (size * 8)) - 1;
	return ok;
}

bool bus_write(struct bus *bus, uint64_t addr, uint64_t val, unsigned size)
{
	if (size < 8)
		val &= (1ULL << (size * 8)) - 1;
	return bus_access(bus, addr, &val, size, true);
}
