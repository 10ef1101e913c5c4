// SPDX-License-Identifier: MIT
/*
 * The source of a live migration (migration.h): pre-copy of guest RAM
 * while the guest runs, then a short pause for the last dirty pages and
 * the state. Every failure leaves the guest running on the source.
 */
#include "vmm/migration.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "vmm/json.h"
#include "vmm/log.h"
#include "vmm/migration_int.h"
#include "vmm/pause.h"
#include "vmm/snapshot.h"
#include "vmm/snapshot_int.h"
#include "vmm/state.h"
#include "vmm/throttle.h"
#include "vmm/vm.h"

#define MAX_ITERATIONS		30
#define REPLY_TIMEOUT_MS	120000

static const char *const status_names[] = {
	[MIG_NONE] = "none", [MIG_ACTIVE] = "active",
	[MIG_COMPLETED] = "completed", [MIG_FAILED] = "failed",
	[MIG_CANCELLED] = "cancelled",
};

static void mig_event(struct migration *m, const char *detail)
{
	if (m->p.event)
		m->p.event(m->p.event_opaque,
			   status_names[atomic_load(&m->status)], detail);
}

static int mig_connect(struct migration *m)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char port[8];
	int fd = -1, ret;

	snprintf(port, sizeof(port), "%u", m->p.port);
	ret = getaddrinfo(m->p.host, port, &hints, &res);
	if (ret) {
		snprintf(m->error, sizeof(m->error), "%.200s: %s", m->p.host,
			 gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		ret = errno;
		close(fd);
		fd = -1;
		errno = ret;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(m->error, sizeof(m->error), "cannot connect to %.200s:%u: %s",
			 m->p.host, m->p.port, strerror(errno));
	return fd;
}

static void put_page(struct migration *m, struct state_writer *w,
		     const uint8_t *p)
{
	size_t n;

	if (guest_mem_page_is_zero(p)) {
		state_put_u8(w, MIG_PAGE_ZERO);
		m->zero_pages++;
		atomic_fetch_add(&m->transferred, 1);
		return;
	}
	if (m->p.compress && m->zbuf) {
		n = ZSTD_compress(m->zbuf, m->zbuf_size, p, MIG_PAGE, 1);
		if (!ZSTD_isError(n) && n < MIG_PAGE) {
			state_put_u8(w, MIG_PAGE_ZSTD);
			state_put_u32(w, (uint32_t)n);
			state_put(w, m->zbuf, n);
			atomic_fetch_add(&m->transferred, n + 5);
			return;
		}
	}
	state_put_u8(w, MIG_PAGE_RAW);
	state_put(w, p, MIG_PAGE);
	atomic_fetch_add(&m->transferred, MIG_PAGE + 1);
}

/* Hold the rate under --bandwidth: sleep until the bytes are due. */
static void mig_throttle_stream(struct migration *m)
{
	uint64_t elapsed, due;

	if (!m->p.bandwidth)
		return;
	elapsed = vm_now_ns() - m->start_ns;
	due = atomic_load(&m->transferred) * 1000000000ULL / m->p.bandwidth;
	if (due > elapsed) {
		struct timespec ts = {
			.tv_sec = (due - elapsed) / 1000000000ULL,
			.tv_nsec = (due - elapsed) % 1000000000ULL,
		};

		nanosleep(&ts, NULL);
	}
}

/* Send the pages set in bitmap, clearing them; 0 or an error. */
static int send_pages(struct migration *m, struct state_writer *w,
		      uint64_t *bitmap, uint64_t pages)
{
	const uint8_t *mem = m->vm->mem.mapping;
	uint64_t pg = 0;

	while (pg < pages) {
		uint64_t first, n = 0;

		if (!bitmap[pg / 64]) {
			pg = (pg / 64 + 1) * 64;
			continue;
		}
		if (!(bitmap[pg / 64] & (1ULL << (pg % 64)))) {
			pg++;
			continue;
		}
		first = pg;
		while (pg < pages && n < MIGRATION_RAM_BATCH &&
		       (bitmap[pg / 64] & (1ULL << (pg % 64)))) {
			bitmap[pg / 64] &= ~(1ULL << (pg % 64));
			pg++;
			n++;
		}
		state_section_begin(w, 1, "ram");
		state_put_u64(w, first);
		state_put_u32(w, (uint32_t)n);
		for (uint64_t i = 0; i < n; i++)
			put_page(m, w, mem + (first + i) * MIG_PAGE);
		state_section_end(w);
		atomic_fetch_sub(&m->remaining, n * MIG_PAGE);
		if (state_writer_error(w))
			return state_writer_error(w);
		if (atomic_load(&m->cancel))
			return -ECANCELED;
		if (m->deadline_ns && vm_now_ns() > m->deadline_ns)
			return -ETIMEDOUT;
		mig_throttle_stream(m);
	}
	return 0;
}

static uint64_t count_bits(const uint64_t *bitmap, uint64_t words)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < words; i++)
		n += __builtin_popcountll(bitmap[i]);
	return n;
}

/* What the guest and the devices dirtied since the last sync. */
static int sync_dirty(struct migration *m, uint64_t *bitmap)
{
	struct vm *vm = m->vm;
	int ret = vm->accel->dirty_log_sync(vm, bitmap);

	guest_mem_log_sync(&vm->mem, bitmap);
	return ret;
}

/* Wait for the destination's line: 0 for "ok", else its reason. */
static int read_reply(struct migration *m, int timeout_ms)
{
	char line[200];
	size_t n = 0;
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };

	while (n < sizeof(line) - 1) {
		ssize_t r;

		if (poll(&pfd, 1, timeout_ms) <= 0) {
			snprintf(m->error, sizeof(m->error),
				 "the destination did not answer");
			return -ETIMEDOUT;
		}
		r = read(m->fd, line + n, 1);
		if (r <= 0) {
			snprintf(m->error, sizeof(m->error),
				 "the destination closed the connection");
			return -ECONNRESET;
		}
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	if (!strcmp(line, "ok"))
		return 0;
	snprintf(m->error, sizeof(m->error), "the destination refused: %s",
		 strncmp(line, "error: ", 7) ? line : line + 7);
	return -EPROTO;
}

static void devices_reacquire(struct vm *vm)
{
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i]->ops->reacquire)
			vm->devices[i]->ops->reacquire(vm->devices[i]);
}

static int devices_release(struct vm *vm)
{
	for (int i = 0; i < vm->nr_devices; i++) {
		struct device *dev = vm->devices[i];
		int ret = dev->ops->release ? dev->ops->release(dev) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The pre-copy loop: everything once, then what was dirtied, until the
 * rest fits the downtime at the measured rate. After a few rounds that do
 * not converge the vCPUs are slowed down, as much as it takes.
 */
static int precopy(struct migration *m, struct state_writer *w,
		   uint64_t *bitmap, uint64_t pages)
{
	uint64_t words = (pages + 63) / 64, dirty = pages, prev = pages;
	int ret;

	memset(bitmap, 0xff, words * sizeof(uint64_t));
	if (pages % 64)
		bitmap[words - 1] = (1ULL << (pages % 64)) - 1;
	for (;;) {
		uint64_t t0 = vm_now_ns(), sent, rate, expect_ms;

		atomic_fetch_add(&m->iteration, 1);
		atomic_store(&m->remaining, dirty * MIG_PAGE);
		sent = atomic_load(&m->transferred);
		ret = send_pages(m, w, bitmap, pages);
		if (!ret)
			ret = sync_dirty(m, bitmap);
		if (ret)
			return ret;
		dirty = count_bits(bitmap, words);
		sent = atomic_load(&m->transferred) - sent;
		rate = sent * 1000000000ULL / (vm_now_ns() - t0 + 1);
		if (rate > m->rate)
			m->rate = rate;
		atomic_store(&m->dirty_pages, dirty);
		expect_ms = dirty * (MIG_PAGE + 1) * 1000 / (m->rate + 1);
		atomic_store(&m->expected_downtime_ms, expect_ms);
		mig_event(m, NULL);
		if (expect_ms <= m->p.downtime_ms)
			return 0;
		if (atomic_load(&m->iteration) >= MAX_ITERATIONS)
			return 0;
		/* Not converging: slow the guest down, 20% more each time. */
		if (atomic_load(&m->iteration) >= 3 && dirty * 10 >= prev * 9 &&
		    m->throttle < 90) {
			m->throttle += 20;
			if (m->throttle > 90)
				m->throttle = 90;
			vm_set_throttle(m->vm, m->throttle);
		}
		prev = dirty;
	}
}

/* The last pass with the guest paused, then the state. */
static int stop_and_copy(struct migration *m, struct state_writer *w,
			 uint64_t *bitmap, uint64_t pages, FILE *f)
{
	struct vm *vm = m->vm;
	int ret;

	ret = sync_dirty(m, bitmap);
	if (!ret)
		ret = send_pages(m, w, bitmap, pages);
	if (!ret)
		ret = devices_release(vm);
	if (ret)
		return ret;
	m->released = true;
	state_section_begin(w, 1, "ram-end");
	state_section_end(w);
	ret = snapshot_write_state(vm, w);
	if (!ret)
		ret = state_writer_finish(w);
	if (!ret && fflush(f))
		ret = -errno;
	return ret;
}

static int mig_run(struct migration *m)
{
	struct vm *vm = m->vm;
	uint64_t pages = guest_mem_pages(&vm->mem);
	uint64_t *bitmap = calloc((pages + 63) / 64, sizeof(uint64_t));
	struct state_writer *w = NULL;
	size_t cfg_len;
	char *cfg = snapshot_config_text(vm, &cfg_len);
	FILE *f = NULL;
	int ret = -ENOMEM;

	if (!bitmap || !cfg)
		goto out;
	m->fd = mig_connect(m);
	if (m->fd < 0) {
		ret = m->fd;
		goto out;
	}
	f = fdopen(dup(m->fd), "w");
	w = f ? state_writer_create(f) : NULL;
	if (!w)
		goto out;
	state_section_begin(w, 1, "config");
	state_put(w, cfg, cfg_len);
	state_section_end(w);
	state_section_begin(w, 1, "ram-info");
	state_put_u64(w, pages);
	state_section_end(w);
	ret = vm->accel->dirty_log_start(vm);
	if (!ret)
		ret = guest_mem_log_start(&vm->mem);
	if (ret) {
		snprintf(m->error, sizeof(m->error),
			 "cannot track dirty pages: %s", vm->accel_error[0] ?
			 vm->accel_error : strerror(-ret));
		goto out;
	}
	m->logging = true;
	ret = precopy(m, w, bitmap, pages);
	if (ret)
		goto out;
	m->pause_ns = vm_now_ns();
	ret = vm_pause(vm);
	if (ret)
		goto out;
	m->paused = true;
	snapshot_devices_quiesce(vm);
	ret = stop_and_copy(m, w, bitmap, pages, f);
	if (!ret)
		ret = read_reply(m, REPLY_TIMEOUT_MS);
out:
	if (ret && atomic_load(&m->cancel))
		ret = -ECANCELED;
	/* A destination that refused the stream said why before closing. */
	if ((ret == -EPIPE || ret == -ECONNRESET || ret == -EIO) &&
	    m->fd >= 0) {
		char why[sizeof(m->error)];

		snprintf(why, sizeof(why), "%s", m->error);
		if (read_reply(m, 1000) != -EPROTO)
			snprintf(m->error, sizeof(m->error), "%s", why);
	}
	if (ret && !m->error[0])
		snprintf(m->error, sizeof(m->error), "%s",
			 ret == -ECANCELED ? "cancelled" :
			 ret == -ETIMEDOUT ? "timed out" :
			 ret == -EPIPE || ret == -ECONNRESET ?
			 "the connection to the destination broke" :
			 strerror(-ret));
	state_writer_destroy(w);
	if (f)
		fclose(f);
	free(bitmap);
	free(cfg);
	return ret;
}

static void *mig_thread(void *arg)
{
	struct migration *m = arg;
	struct vm *vm = m->vm;
	int ret = mig_run(m);

	if (m->fd >= 0)
		close(m->fd);
	vm_set_throttle(vm, 0);
	if (m->logging) {
		vm->accel->dirty_log_stop(vm);
		guest_mem_log_stop(&vm->mem);
	}
	if (!ret) {
		atomic_store(&m->downtime_ms,
			     (vm_now_ns() - m->pause_ns) / 1000000);
		atomic_store(&m->status, MIG_COMPLETED);
		atomic_store(&m->total_ms, (vm_now_ns() - m->start_ns) / 1000000);
		mig_event(m, NULL);
		vm_request_exit(vm, VM_EXIT_QUIT, "migrated to %s:%u",
				m->p.host, m->p.port);
		return NULL;
	}
	/* The guest goes on here, with its disks. */
	if (m->released)
		devices_reacquire(vm);
	if (m->paused) {
		snapshot_devices_resume(vm);
		vm_resume(vm);
	}
	atomic_store(&m->status, ret == -ECANCELED ? MIG_CANCELLED : MIG_FAILED);
	atomic_store(&m->total_ms, (vm_now_ns() - m->start_ns) / 1000000);
	log_error("migration to %s:%u failed: %s; the guest goes on here",
		  m->p.host, m->p.port, m->error);
	mig_event(m, m->error);
	return NULL;
}

int migration_start(struct vm *vm, const struct migration_params *p,
		    char *err, size_t errlen)
{
	struct migration *m = vm->migration;
	int ret;

	if (!vm->accel->dirty_log_start || !vm->accel->vm_save) {
		snprintf(err, errlen, "the %s accelerator cannot migrate",
			 vm->accel->name);
		return -ENOTSUP;
	}
	if (m && atomic_load(&m->status) == MIG_ACTIVE) {
		snprintf(err, errlen, "a migration is already running");
		return -EBUSY;
	}
	migration_destroy(vm);
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vm = vm;
	m->p = *p;
	m->fd = -1;
	m->start_ns = vm_now_ns();
	if (p->timeout_s)
		m->deadline_ns = m->start_ns + p->timeout_s * 1000000000ULL;
	if (p->compress) {
		m->zbuf_size = ZSTD_compressBound(MIG_PAGE);
		m->zbuf = malloc(m->zbuf_size);
	}
	atomic_store(&m->status, MIG_ACTIVE);
	vm->migration = m;
	ret = -pthread_create(&m->thread, NULL, mig_thread, m);
	if (ret) {
		snprintf(err, errlen, "cannot start a thread: %s",
			 strerror(-ret));
		atomic_store(&m->status, MIG_FAILED);
		return ret;
	}
	m->thread_started = true;
	return 0;
}

int migration_cancel(struct vm *vm)
{
	struct migration *m = vm->migration;

	if (!m || atomic_load(&m->status) != MIG_ACTIVE)
		return -ENOENT;
	atomic_store(&m->cancel, true);
	/* a send blocked on a slow destination notices at once */
	if (m->fd >= 0)
		shutdown(m->fd, SHUT_RDWR);
	return 0;
}

void migration_info(struct vm *vm, struct json_out *o)
{
	struct migration *m = vm->migration;

	if (!m) {
		json_out_raw(o, "null");
		return;
	}
	json_out_raw(o, "{\"status\":");
	json_out_str(o, status_names[atomic_load(&m->status)]);
	json_out_fmt(o, ",\"iteration\":%llu,\"transferred\":%llu,"
		     "\"remaining\":%llu,\"dirty_pages\":%llu,"
		     "\"bandwidth\":%llu,\"expected_downtime_ms\":%llu,"
		     "\"downtime_ms\":%llu,\"total_ms\":%llu,\"throttle\":%u",
		     (unsigned long long)atomic_load(&m->iteration),
		     (unsigned long long)atomic_load(&m->transferred),
		     (unsigned long long)atomic_load(&m->remaining),
		     (unsigned long long)atomic_load(&m->dirty_pages),
		     (unsigned long long)m->rate,
		     (unsigned long long)atomic_load(&m->expected_downtime_ms),
		     (unsigned long long)atomic_load(&m->downtime_ms),
		     (unsigned long long)atomic_load(&m->total_ms), m->throttle);
	if (atomic_load(&m->status) != MIG_ACTIVE && m->error[0]) {
		json_out_raw(o, ",\"error\":");
		json_out_str(o, m->error);
	}
	json_out_raw(o, "}");
}

void migration_destroy(struct vm *vm)
{
	struct migration *m = vm->migration;

	if (!m)
		return;
	migration_cancel(vm);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	free(m->zbuf);
	free(m);
	vm->migration = NULL;
}
