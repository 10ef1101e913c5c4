// SPDX-License-Identifier: MIT
/*
 * CVISOR_JIT_PERFMAP=1: a debug aid that makes the translator's code
 * visible to perf. perf names samples in anonymous executable memory from
 * /tmp/perf-<pid>.map, a line "START SIZE NAME" (hex, no 0x) per symbol;
 * each block is written there as it is made, named by its guest RIP
 * ("jit:<rip>", "jit:u:<rip>" at CPL 3), and the stubs by what they are.
 * After a cache flush the same host addresses hold other blocks, so a
 * profile over a flush mixes their names (CVISOR_JIT_STATS=1 counts the
 * flushes). The file is opened before the seccomp filter (with the code
 * cache's range) and written through a buffer, flushed at cache flushes
 * and at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/emu/jit_perfmap.h"

static FILE *perfmap;
static pthread_mutex_t perfmap_lock = PTHREAD_MUTEX_INITIALIZER;

static void perfmap_close(void)
{
	pthread_mutex_lock(&perfmap_lock);
	if (perfmap)
		fclose(perfmap);
	perfmap = NULL;
	pthread_mutex_unlock(&perfmap_lock);
}

void jit_perfmap_open(void)
{
	const char *v = getenv("CVISOR_JIT_PERFMAP");
	char path[64];
	int fd;

	if (!v || !*v || *v == '0' || perfmap)
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%ld.map", (long)getpid());
	/* perf's name in a shared /tmp: not through a symlink put there */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	perfmap = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!perfmap) {
		fprintf(stderr, "cvisor: CVISOR_JIT_PERFMAP: cannot open %s: "
			"%s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	setvbuf(perfmap, NULL, _IOFBF, 1 << 16);
	atexit(perfmap_close);
}

void jit_perfmap_block(const void *code, size_t size, uint64_t rip,
		       int user)
{
	if (!perfmap)
		return;
	pthread_mutex_lock(&perfmap_lock);
	if (perfmap)
		fprintf(perfmap, "%" PRIxPTR " %zx jit:%s%" PRIx64 "\n",
			(uintptr_t)code, size, user ? "u:" : "", rip);
	pthread_mutex_unlock(&perfmap_lock);
}

void jit_perfmap_stub(const void *code, size_t size, const char *name)
{
	if (!perfmap)
		return;
	pthread_mutex_lock(&perfmap_lock);
	if (perfmap)
		fprintf(perfmap, "%" PRIxPTR " %zx jit_stub:%s\n",
			(uintptr_t)code, size, name);
	pthread_mutex_unlock(&perfmap_lock);
}

void jit_perfmap_flush(void)
{
	if (!perfmap)
		return;
	pthread_mutex_lock(&perfmap_lock);
	if (perfmap)
		fflush(perfmap);
	pthread_mutex_unlock(&perfmap_lock);
}
