/* SPDX-License-Identifier: MIT */
/* The x87 data instructions (x87_ops.c) as x87.c runs them. */
#ifndef CVISOR_ACCEL_EMU_X87_H
#define CVISOR_ACCEL_EMU_X87_H

#include "accel/emu/exec.h"

/* Execute a register (mod == 3) or memory form; false: not handled here */
bool x87_exec_reg(struct emu_cpu *cpu, struct insn *in);
bool x87_exec_mem(struct emu_cpu *cpu, struct insn *in);

#endif
