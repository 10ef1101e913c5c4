// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "test.h"
#include "vmm/bus.h"

struct probe {
	uint64_t last_off, last_val;
	unsigned last_size;
	int writes;
};

static uint64_t probe_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)size;
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

/*
 * A device whose write callback parks until released: stands for a slow
 * device (a reset joining its threads). Its read callback reports whether
 * a write is parked.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, open, left;
};

static void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->entered = g->open = g->left = false;
}

static void gate_write(void *opaque, uint64_t off, uint64_t val,
		       unsigned size)
{
	struct gate *g = opaque;

	(void)off;
	(void)val;
	(void)size;
	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	g->left = true;
	pthread_mutex_unlock(&g->lock);
}

static const struct bus_ops gate_ops = { .write = gate_write };

static void gate_wait_entered(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static bool gate_left(struct gate *g)
{
	bool left;

	pthread_mutex_lock(&g->lock);
	left = g->left;
	pthread_mutex_unlock(&g->lock);
	return left;
}

/* A job on its own thread, so a test can tell "blocked" from "done". */
struct job {
	pthread_t tid;
	void (*fn)(struct job *j);
	struct bus *bus;
	uint64_t addr;
	void *opaque;
	int ret;
	atomic_bool done;
	bool left_before_return;	/* unregister: had the callback left? */
	struct gate *gate;
};

static void *job_thread(void *arg)
{
	struct job *j = arg;

	j->fn(j);
	atomic_store(&j->done, true);
	return NULL;
}

static void job_start(struct job *j)
{
	atomic_store(&j->done, false);
	CHECK_EQ(pthread_create(&j->tid, NULL, job_thread, j), 0);
}

/* True if the job finished within ms; joined then, else left running. */
static bool job_finishes(struct job *j, unsigned ms)
{
	for (unsigned i = 0; i < ms && !atomic_load(&j->done); i++)
		usleep(1000);
	if (!atomic_load(&j->done))
		return false;
	pthread_join(j->tid, NULL);
	return true;
}

static void job_write(struct job *j)
{
	bus_write(j->bus, j->addr, 1, 4);
}

static void job_register(struct job *j)
{
	j->ret = bus_register(j->bus, j->addr, 0x10, &probe_ops, j->opaque,
			      "late");
}

static void job_unregister(struct job *j)
{
	j->ret = bus_unregister(j->bus, j->addr, j->opaque);
	j->left_before_return = gate_left(j->gate);
}

/*
 * A callback that blocks holds up nothing but its own range: another
 * range's accesses go on, and ranges are registered and unregistered.
 */
static void test_bus_slow_device_stalls_no_other(void)
{
	struct bus bus;
	struct gate g;
	struct probe a = { 0 }, c = { 0 };
	struct job w = { .fn = job_write, .bus = &bus, .addr = 0x100 };
	struct job reg = { .fn = job_register, .bus = &bus, .addr = 0x300,
			   .opaque = &c };
	struct job unreg = { .fn = job_unregister, .bus = &bus, .addr = 0x300,
			     .opaque = &c, .gate = &g };
	uint64_t v;

	gate_init(&g);
	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x100, 0x10, &gate_ops, &g, "slow"), 0);
	CHECK_EQ(bus_register(&bus, 0x200, 0x10, &probe_ops, &a, "a"), 0);
	job_start(&w);
	gate_wait_entered(&g);
	CHECK(bus_write(&bus, 0x200, 5, 1));
	CHECK(bus_read(&bus, 0x200, &v, 1));
	CHECK_EQ(a.writes, 1);
	job_start(&reg);
	CHECK(job_finishes(&reg, 2000));
	CHECK_EQ(reg.ret, 0);
	CHECK(bus_write(&bus, 0x300, 7, 1));
	CHECK_EQ(c.last_val, 7);
	job_start(&unreg);
	CHECK(job_finishes(&unreg, 2000));
	CHECK_EQ(unreg.ret, 0);
	CHECK(!atomic_load(&w.done));
	gate_open(&g);
	CHECK(job_finishes(&w, 2000));
	bus_destroy(&bus);
}

/* bus_unregister returns only once the range's access in flight is over. */
static void test_bus_unregister_waits_for_access(void)
{
	struct bus bus;
	struct gate g;
	struct job w = { .fn = job_write, .bus = &bus, .addr = 0x100 };
	struct job unreg = { .fn = job_unregister, .bus = &bus, .addr = 0x100,
			     .opaque = &g, .gate = &g };

	gate_init(&g);
	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x100, 0x10, &gate_ops, &g, "slow"), 0);
	job_start(&w);
	gate_wait_entered(&g);
	job_start(&unreg);
	CHECK(!job_finishes(&unreg, 100));
	/* already out of the table: new accesses find nothing */
	CHECK(!bus_write(&bus, 0x100, 1, 4));
	gate_open(&g);
	CHECK(job_finishes(&unreg, 2000));
	CHECK_EQ(unreg.ret, 0);
	CHECK(unreg.left_before_return);
	CHECK(job_finishes(&w, 2000));
	bus_destroy(&bus);
}

/*
 * A callback that moves another range (as a PCI config write moves a BAR)
 * neither deadlocks nor races; one that unregisters its own range is
 * refused.
 */
struct mover {
	struct bus *bus;
	struct probe bar;
	uint64_t at;
	int moved, self;
};

static void mover_write(void *opaque, uint64_t off, uint64_t val,
			unsigned size)
{
	struct mover *m = opaque;

	(void)off;
	(void)size;
	if (val == 0xdead) {
		m->self = bus_unregister(m->bus, 0x100, m);
		return;
	}
	if (bus_unregister(m->bus, m->at, &m->bar) == 0 &&
	    bus_register(m->bus, val, 0x10, &probe_ops, &m->bar, "bar") == 0) {
		m->at = val;
		m->moved++;
	}
}

static const struct bus_ops mover_ops = { .write = mover_write };

static void job_move(struct job *j)
{
	struct mover *m = j->opaque;

	CHECK(bus_write(m->bus, 0x100, 0x2000, 4));
	CHECK(bus_write(m->bus, 0x100, 0x3000, 4));
	CHECK(bus_write(m->bus, 0x100, 0xdead, 4));
}

static void test_bus_callback_moves_other_range(void)
{
	struct bus bus;
	struct mover m = { .bus = &bus, .at = 0x1000 };
	struct job j = { .fn = job_move, .bus = &bus, .opaque = &m };

	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x100, 0x10, &mover_ops, &m, "config"), 0);
	CHECK_EQ(bus_register(&bus, 0x1000, 0x10, &probe_ops, &m.bar, "bar"), 0);
	job_start(&j);
	if (!job_finishes(&j, 2000)) {
		CHECK(!"a callback moving another range deadlocked");
		return;
	}
	CHECK_EQ(m.moved, 2);
	CHECK(!bus_write(&bus, 0x1000, 1, 1));
	CHECK(bus_write(&bus, 0x3004, 9, 1));
	CHECK_EQ(m.bar.last_off, 4);
	CHECK_EQ(m.self, -EDEADLK);
	CHECK(bus_write(&bus, 0x100, 0x4000, 4));	/* still registered */
	CHECK_EQ(m.moved, 3);
	CHECK_EQ(bus_unregister(&bus, 0x100, &m), 0);
	bus_destroy(&bus);
}

/* Many threads hammer ranges while one is moved back and forth. */
struct hammer {
	struct bus *bus;
	atomic_bool stop;
	atomic_ulong hits;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint64_t v;

	while (!atomic_load(&h->stop)) {
		for (uint64_t a = 0x1000; a < 0x5000; a += 0x1000)
			if (bus_read(h->bus, a + 4, &v, 4))
				atomic_fetch_add(&h->hits, 1);
	}
	return NULL;
}

static void test_bus_concurrent_moves(void)
{
	struct bus bus;
	struct probe p = { 0 };
	struct hammer h = { .bus = &bus };
	pthread_t t[3];

	bus_init(&bus, "test");
	CHECK_EQ(bus_register(&bus, 0x1000, 0x10, &probe_ops, &p, "p"), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, hammer_thread, &h), 0);
	/* at least 2000 moves, and on until the readers found it often */
	for (int i = 0; i < 2000 || (atomic_load(&h.hits) < 1000 &&
				      i < 2000000); i++) {
		uint64_t from = 0x1000 + (i % 4) * 0x1000ull;
		uint64_t to = 0x1000 + ((i + 1) % 4) * 0x1000ull;

		CHECK_EQ(bus_unregister(&bus, from, &p), 0);
		CHECK_EQ(bus_register(&bus, to, 0x10, &probe_ops, &p, "p"), 0);
	}
	atomic_store(&h.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&h.hits) >= 1000);
	bus_destroy(&bus);
}

int main(void)
{
	RUN(test_bus_dispatch);
	RUN(test_bus_unclaimed);
	RUN(test_bus_overlap_and_unregister);
	RUN(test_bus_slow_device_stalls_no_other);
	RUN(test_bus_unregister_waits_for_access);
	RUN(test_bus_callback_moves_other_range);
	RUN(test_bus_concurrent_moves);
	return test_summary();
}
