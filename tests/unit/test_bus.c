// SPDX-License-Identifier: MIT
#include <errno.h>

#include "test.h"
#include "vmm/bus.h"

struct probe {
	uint64_t last_off, last_val;
	unsigned last_size;
	int writes;
};

static uint64_t probe_read(void *opaque, uint64_t off, unsigned size)
{
	return 0x1122334455667788ULL + off;
}

static void probe_write(void *opaque, uint64_t off, uint64_t val,
			unsigned size)
{
	struct probe *p = opaque;

	p->last_off = off;
	p->last_val = val;
	p->last_size = size;
	p->writes++;
}

static const struct bus_ops probe_ops = {
	.read = probe_read,
	.write = probe_write,
};

static void test_bus_dispatch(void)
{
	struct bus bus;
	struct probe a = { 0 }, b = { 0 };
	uint64_t v;

	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x100, 0x10, &probe_ops, &a, "a"), 0);
	CHECK_EQ(bus_register(&bus, 0x200, 0x10, &probe_ops, &b, "b"), 0);
	CHECK(bus_write(&bus, 0x204, 0xabcd, 2));
	CHECK_EQ(b.last_off, 4);
	CHECK_EQ(b.last_val, 0xabcd);
	CHECK_EQ(a.writes, 0);
	/* Values are truncated to the access size. */
	CHECK(bus_write(&bus, 0x100, 0x1ff, 1));
	CHECK_EQ(a.last_val, 0xff);
	CHECK(bus_read(&bus, 0x102, &v, 4));
	CHECK_EQ(v, 0x5566778aULL);
	bus_destroy(&bus);
}

static void test_bus_unclaimed(void)
{
	struct bus bus;
	struct probe a = { 0 };
	uint64_t v = 0;

	bus_init(&bus, "test");
	bus_register(&bus, 0x100, 0x10, &probe_ops, &a, "a");
	CHECK(!bus_read(&bus, 0x50, &v, 2));
	CHECK_EQ(v, 0xffff);
	/* An access running past the end of a range is not the device's. */
	CHECK(!bus_read(&bus, 0x10e, &v, 4));
	CHECK(!bus_write(&bus, 0x300, 1, 1));
	CHECK_EQ(a.writes, 0);
	CHECK_EQ(atomic_load(&bus.unhandled), 3);
	bus_destroy(&bus);
}

static void test_bus_overlap_and_unregister(void)
{
	struct bus bus;
	struct probe a = { 0 }, b = { 0 };
	uint64_t v;

	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x100, 0x10, &probe_ops, &a, "a"), 0);
	CHECK_EQ(bus_register(&bus, 0x108, 0x10, &probe_ops, &b, "b"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0xf8, 0x10, &probe_ops, &b, "b"), -EEXIST);
	CHECK_EQ(bus_register(&bus, 0x110, 0, &probe_ops, &b, "b"), -EINVAL);
	CHECK_EQ(bus_register(&bus, ~0ULL - 4, 0x10, &probe_ops, &b, "b"),
		 -EINVAL);
	CHECK_EQ(bus_unregister(&bus, 0x100, &b), -ENOENT);
	CHECK_EQ(bus_unregister(&bus, 0x100, &a), 0);
	CHECK(!bus_read(&bus, 0x100, &v, 1));
	CHECK_EQ(bus_register(&bus, 0x108, 0x10, &probe_ops, &b, "b"), 0);
	bus_destroy(&bus);
}

int main(void)
{
	RUN(test_bus_dispatch);
	RUN(test_bus_unclaimed);
	RUN(test_bus_overlap_and_unregister);
	return test_summary();
}
