/* SPDX-License-Identifier: MIT */
/* The x87 register stack (x87_ops.c) as x87.c and the tests use it. */
#ifndef CVISOR_ACCEL_EMU_X87_H
#define CVISOR_ACCEL_EMU_X87_H

#include "accel/emu/exec.h"

/* Memory operand formats */
enum { X87_M32F, X87_M64F, X87_M80F, X87_M16I, X87_M32I, X87_M64I };

/* ST(i) as the host's 80-bit long double */
long double x87_get(struct emu_cpu *cpu, int i);
void x87_set(struct emu_cpu *cpu, int i, long double v);
void x87_push(struct emu_cpu *cpu, long double v);
void x87_pop(struct emu_cpu *cpu);
long double x87_load_mem(struct emu_cpu *cpu, struct insn *in, int kind);
/* Execute a register (mod == 3) or memory form; false: not handled here */
bool x87_exec_reg(struct emu_cpu *cpu, struct insn *in);
bool x87_exec_mem(struct emu_cpu *cpu, struct insn *in);

#endif
