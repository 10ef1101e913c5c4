/* SPDX-License-Identifier: MIT */
/*
 * CVISOR_JIT_STATS=1: a histogram of the instructions that end the
 * translator's runs, printed to stderr at exit (jit_stats.c).
 */
#ifndef CVISOR_ACCEL_EMU_JIT_STATS_H
#define CVISOR_ACCEL_EMU_JIT_STATS_H

#include <stdbool.h>

struct emu_cpu;

extern bool jit_stats_on;

/* Reads CVISOR_JIT_STATS once; sets jit_stats_on when it asks for them */
void jit_stats_init(void);
/* After a jit_run of at most max instructions that ran ran */
void jit_stats_note(const struct emu_cpu *cpu, long ran, long max);
/* n instructions the interpreter ran after it */
void jit_stats_interp(long n);
void jit_stats_dump(void);

#endif
