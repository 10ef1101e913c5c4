/* SPDX-License-Identifier: MIT */
/* Shared by the two ends of a live migration (migrate_send/recv.c). */
#ifndef CVISOR_VMM_MIGRATION_INT_H
#define CVISOR_VMM_MIGRATION_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/migration.h"

#define MIG_PAGE	4096u

enum { MIG_PAGE_ZERO, MIG_PAGE_RAW, MIG_PAGE_ZSTD };

enum migration_status {
	MIG_NONE, MIG_ACTIVE, MIG_COMPLETED, MIG_FAILED, MIG_CANCELLED,
};

/* A migration out of this VM (vm->migration). */
struct migration {
	struct vm *vm;
	struct migration_params p;
	pthread_t thread;
	bool thread_started;
	int fd;
	atomic_int status;
	atomic_bool cancel;
	uint64_t start_ns, deadline_ns, pause_ns;
	bool logging, paused, released;
	unsigned throttle;		/* percent the vCPUs are slowed by */
	uint64_t rate;			/* best bytes/s seen */
	uint64_t zero_pages;
	void *zbuf;
	size_t zbuf_size;
	/* progress, read by `info` on another thread */
	atomic_ullong iteration, transferred, remaining, dirty_pages;
	atomic_ullong expected_downtime_ms, downtime_ms, total_ms;
	char error[512];
};

#endif
