// SPDX-License-Identifier: MIT
/*
 * The code caches' address range and its W^X page protections
 * (jit_cache.h). The range is reserved once, PROT_NONE and without swap
 * reservation, so a vCPU's cache costs memory only for the code it holds.
 * One spare slice at the end keeps any mprotect the seccomp filter allows
 * (a start inside the slots, at most a slice long) inside the range.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "accel/emu/jit.h"
#include "accel/emu/jit_cache.h"
#include "accel/emu/jit_perfmap.h"

#define ARENA_BYTES	((JIT_CACHE_SLOTS + 1) * JIT_CACHE_BYTES)

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *arena;
static uint64_t arena_used;	/* a bit per slot */

/*
 * The range lies within one 4 GiB-aligned window. sandbox.c bounds the
 * mprotect address by the arena's ends with several 64-bit range rules on
 * one syscall, and libseccomp 2.5 builds a filter for those that misjudges
 * arguments whose upper 32 bits differ from a bound's (test_sandbox failed
 * whenever the arena crossed a 4 GiB line). Reserving a window's worth
 * more and trimming keeps the arena in one upper half.
 */
#define WINDOW	(1ULL << 32)

static void arena_reserve(void)
{
	size_t span = ARENA_BYTES + WINDOW;
	uint8_t *p = mmap(NULL, span, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t start, end;

	/* before the seccomp filter, as the range is (jit_perfmap.c) */
	jit_perfmap_open();
	if (p == MAP_FAILED) {
		arena = NULL;
		return;
	}
	start = (uintptr_t)p;
	if ((start >> 32) != ((start + ARENA_BYTES - 1) >> 32))
		start = (start + WINDOW - 1) & ~(uintptr_t)(WINDOW - 1);
	end = start + ARENA_BYTES;
	if (start > (uintptr_t)p)
		munmap(p, start - (uintptr_t)p);
	if ((uintptr_t)p + span > end)
		munmap((void *)end, (uintptr_t)p + span - end);
	arena = (uint8_t *)start;
}

void jit_arena_range(uintptr_t *lo, uintptr_t *hi)
{
	pthread_once(&arena_once, arena_reserve);
	*lo = (uintptr_t)arena;
	*hi = arena ? (uintptr_t)arena + JIT_CACHE_SLOTS * JIT_CACHE_BYTES : 0;
}

_Static_assert(JIT_CACHE_SLOTS <= 64, "one bit per slot in arena_used");

int jit_cache_open(struct jit_cache *c)
{
	int slot = -1;

	pthread_once(&arena_once, arena_reserve);
	if (!arena)
		return -ENOMEM;
	pthread_mutex_lock(&arena_lock);
	for (int i = 0; i < JIT_CACHE_SLOTS && slot < 0; i++)
		if (!(arena_used & (1ULL << i)))
			slot = i;
	if (slot >= 0)
		arena_used |= 1ULL << slot;
	pthread_mutex_unlock(&arena_lock);
	if (slot < 0)
		return -ENOSPC;
	c->slot = slot;
	c->base = arena + slot * JIT_CACHE_BYTES;
	c->used = c->pub = c->rw_end = 0;
	/* the chain slots: data, RW for good */
	if (mprotect(c->base + JIT_CODE_BYTES, JIT_SLOT_BYTES,
		     PROT_READ | PROT_WRITE)) {
		int err = -errno;

		jit_cache_close(c);
		return err;
	}
	return 0;
}

void jit_cache_close(struct jit_cache *c)
{
	if (!c->base)
		return;
	/* back to reserved address space: no access, no memory */
	mmap(c->base, JIT_CACHE_BYTES, PROT_NONE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	pthread_mutex_lock(&arena_lock);
	arena_used &= ~(1ULL << c->slot);
	pthread_mutex_unlock(&arena_lock);
	c->base = NULL;
}

int jit_cache_protect(struct jit_cache *c, uint8_t *p, size_t len, bool rw)
{
	uintptr_t a = (uintptr_t)p & ~4095UL;
	uintptr_t e = ((uintptr_t)p + len + 4095) & ~4095UL;

	if (p < c->base || p + len > c->base + JIT_CACHE_BYTES)
		return -EINVAL;
	if (mprotect((void *)a, e - a,
		     rw ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC))
		return -errno;
	return 0;
}
