/* SPDX-License-Identifier: MIT */
/*
 * CVISOR_JIT_PERFMAP=1: the translated code named for perf (jit_perfmap.c)
 */
#ifndef CVISOR_ACCEL_EMU_JIT_PERFMAP_H
#define CVISOR_ACCEL_EMU_JIT_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads CVISOR_JIT_PERFMAP once and opens /tmp/perf-<pid>.map when it
 * asks for it; called where the code cache's range is reserved, before
 * the seccomp filter.
 */
void jit_perfmap_open(void);
/* A block of size bytes at code, made for guest RIP rip (CPL 3: user) */
void jit_perfmap_block(const void *code, size_t size, uint64_t rip,
		       int user);
/* One of the shared stubs */
void jit_perfmap_stub(const void *code, size_t size, const char *name);
/* Write out what is buffered (the cache is flushed, or the jit ends) */
void jit_perfmap_flush(void);

#endif
