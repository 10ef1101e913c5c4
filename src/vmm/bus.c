// SPDX-License-Identifier: MIT
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The ranges whose callbacks this thread is inside of, innermost first, so
 * a callback unregistering its own range is refused instead of waiting for
 * itself.
 */
struct bus_frame {
	const struct bus_range *range;
	const struct bus_frame *up;
};

static _Thread_local const struct bus_frame *bus_frames;

int bus_init(struct bus *bus, const char *name)
{
	pthread_rwlockattr_t attr;
	int ret;

	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	/*
	 * Readers hold the lock only to look a range up, never across a
	 * callback, so a waiting (un)register may go first: vCPUs busy on
	 * MMIO cannot starve a BAR move.
	 */
	ret = pthread_rwlockattr_init(&attr);
	if (ret)
		return -ret;
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&bus->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&bus->drain_lock, NULL);
	if (ret)
		goto err_rwlock;
	ret = pthread_cond_init(&bus->drained, NULL);
	if (ret)
		goto err_mutex;
	return 0;
err_mutex:
	pthread_mutex_destroy(&bus->drain_lock);
err_rwlock:
	pthread_rwlock_destroy(&bus->lock);
	return -ret;
}

void bus_destroy(struct bus *bus)
{
	for (int i = 0; i < bus->nr; i++)
		free(bus->ranges[i]);
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_cond_destroy(&bus->drained);
	pthread_mutex_destroy(&bus->drain_lock);
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr. */
static int bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = bus->ranges[mid];

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
	struct bus_range *r;
	int i, ret = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct bus_range){ .base = base, .len = len, .ops = ops,
				 .opaque = opaque, .name = name };
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i]->base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range **n = realloc(bus->ranges, cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = r;
	bus->nr++;
	r = NULL;
out:
	pthread_rwlock_unlock(&bus->lock);
	free(r);
	return ret;
}

static bool bus_inside(const struct bus_range *r)
{
	for (const struct bus_frame *f = bus_frames; f; f = f->up)
		if (f->range == r)
			return true;
	return false;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	struct bus_range *r = NULL;
	int i, ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i]->base == base &&
	    bus->ranges[i]->opaque == opaque) {
		r = bus->ranges[i];
		if (bus_inside(r)) {
			ret = -EDEADLK;
			r = NULL;
		} else {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->nr - i - 1) * sizeof(bus->ranges[0]));
			bus->nr--;
			ret = 0;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		return ret;
	/*
	 * Out of the table, so no access counts itself in any more; wait for
	 * those already in. An access's decrement and its look at 'draining'
	 * pair with the increment and the load of inflight here (all
	 * sequentially consistent): either it sees draining and signals, or
	 * this sees 0. An access never touches its range after the decrement,
	 * so r may go once inflight is 0.
	 */
	pthread_mutex_lock(&bus->drain_lock);
	atomic_fetch_add(&bus->draining, 1);
	while (atomic_load(&r->inflight))
		pthread_cond_wait(&bus->drained, &bus->drain_lock);
	atomic_fetch_sub(&bus->draining, 1);
	pthread_mutex_unlock(&bus->drain_lock);
	free(r);
	return 0;
}

static bool bus_access(struct bus *bus, uint64_t addr, uint64_t *val,
		       unsigned size, bool write)
{
	struct bus_range *r = NULL;
	struct bus_frame frame;
	int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus_lower_bound(bus, addr);
	if (i < bus->nr && addr >= bus->ranges[i]->base &&
	    addr - bus->ranges[i]->base + size <= bus->ranges[i]->len) {
		r = bus->ranges[i];
		atomic_fetch_add(&r->inflight, 1);
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!r) {
		atomic_fetch_add_explicit(&bus->unhandled, 1,
					  memory_order_relaxed);
		if (!write)
			*val = ~0ULL;
		return false;
	}
	frame = (struct bus_frame){ r, bus_frames };
	bus_frames = &frame;
	if (write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, *val, size);
	} else {
		*val = r->ops->read ? r->ops->read(r->opaque, addr - r->base,
						   size) : ~0ULL;
	}
	bus_frames = frame.up;
	if (atomic_fetch_sub(&r->inflight, 1) == 1 &&
	    atomic_load(&bus->draining)) {
		pthread_mutex_lock(&bus->drain_lock);
		pthread_cond_broadcast(&bus->drained);
		pthread_mutex_unlock(&bus->drain_lock);
	}
	return true;
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
