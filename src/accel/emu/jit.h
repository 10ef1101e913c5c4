/* SPDX-License-Identifier: MIT */
/*
 * The translator: runs of 64-bit guest instructions (as the decode cache's
 * decoder reads them) compiled to host x86-64 code, run from a per-vCPU
 * code cache. docs/emu-jit.md describes the design; in short:
 *
 * - jit_mem.c: the code cache, slices of one address range reserved at
 *   start-up (the seccomp filter allows PROT_EXEC there and nowhere
 *   else); pages are written RW and run RX, never both.
 * - jit_gen.c (+ jit_tlb.c, jit_exit.c, jit_stubs.c), jit_ops.c: one
 *   block's code (jit_ops.c: each instruction's). Guest registers stay
 *   in cpu->gpr, the guest's arithmetic flags in the host's RFLAGS
 *   inside a block; memory goes through an inline soft-TLB lookup, and
 *   anything the block cannot do itself (a TLB miss, MMIO, an
 *   instruction it does not translate) leaves it with the guest state
 *   exact at that instruction, for the interpreter to run.
 * - jit.c: block lookup, entry, chaining, and the run loop's entry point.
 */
#ifndef CVISOR_ACCEL_EMU_JIT_H
#define CVISOR_ACCEL_EMU_JIT_H

#include <stddef.h>
#include <stdint.h>

struct emu_cpu;
struct jit;

/* NULL when the code cache cannot be set up (the CPU then interprets). */
struct jit *jit_create(void);
void jit_destroy(struct jit *j);
/*
 * Translate each block and run it translated from the first time it is
 * asked for, rather than leave it to the interpreter until it has been
 * asked for again and its code page is published with others (jit.c):
 * for tests, whose code runs once.
 */
void jit_eager(struct jit *j);

/*
 * Run translated code from cpu->rip for up to max (> 0) instructions;
 * returns how many ran (maybe 0), and in *interp how many the
 * interpreter should run before the next call: 1 for an instruction the
 * translator left to it, more where there is no translated code. Only
 * for 64-bit code outside an interrupt shadow.
 */
long jit_run(struct emu_cpu *cpu, long max, long *interp);
/* Instructions one jit_run runs at most: an interrupt waits that long */
#define JIT_RUN_MAX	8192

/* Guest instructions run in translated code so far */
uint64_t jit_stat_insns(const struct jit *j);
/* Blocks made (translated) so far */
uint64_t jit_stat_made(const struct jit *j);
/* Times jit_run entered translated code (each block entered from C) */
uint64_t jit_stat_enters(const struct jit *j);
/* Entries into blocks whose guest bytes had changed */
uint64_t jit_stat_stale(const struct jit *j);
/* Blocks the translator decoded itself (made, or judged without dcache) */
uint64_t jit_stat_decodes(const struct jit *j);
/* Times the code cache was full and emptied */
uint64_t jit_stat_flushes(const struct jit *j);
/* Lookups that missed and went on in translated code after a page walk */
uint64_t jit_stat_refills(const struct jit *j);

/*
 * For the seccomp filter: code caches start in [lo, hi) (lo = hi = 0
 * when none can exist), and a range from a start there, at most
 * JIT_ARENA_SLICE long, stays in memory reserved for them.
 */
#define JIT_ARENA_SLICE	(8UL << 20)
void jit_arena_range(uintptr_t *lo, uintptr_t *hi);

#endif
