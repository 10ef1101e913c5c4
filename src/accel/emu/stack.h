/* SPDX-License-Identifier: MIT */
/* Push and pop on the guest stack with the current stack-address size. */
#ifndef CVISOR_ACCEL_EMU_STACK_H
#define CVISOR_ACCEL_EMU_STACK_H

#include "accel/emu/cpu.h"

static inline uint64_t stack_mask(struct emu_cpu *cpu)
{
	if (cpu->code64)
		return ~0ULL;
	return cpu->seg[SEG_SS].db ? 0xffffffffULL : 0xffffULL;
}

/*
 * The linear address of size bytes at offset sp of the stack, accessed
 * acc: outside 64-bit mode #SS(0) unless SS allows it (seg_check)
 */
static inline uint64_t stack_addr(struct emu_cpu *cpu, uint64_t sp,
				  unsigned size, enum mem_access acc)
{
	if (cpu->code64)
		return sp;
	seg_check(cpu, SEG_SS, sp, size, acc);
	return (cpu->seg[SEG_SS].base + sp) & 0xffffffffULL;
}

static inline void stack_set_sp(struct emu_cpu *cpu, uint64_t sp)
{
	uint64_t m = stack_mask(cpu);

	cpu->gpr[R_SP] = (cpu->gpr[R_SP] & ~m) | (sp & m);
}

/* Memory write first, so a fault leaves RSP unchanged. */
static inline void stack_push(struct emu_cpu *cpu, uint64_t val, int size)
{
	uint64_t sp = (cpu->gpr[R_SP] - size) & stack_mask(cpu);

	mem_write_stack(cpu, stack_addr(cpu, sp, size, ACC_W), val, size);
	stack_set_sp(cpu, sp);
}

static inline uint64_t stack_pop(struct emu_cpu *cpu, int size)
{
	uint64_t sp = cpu->gpr[R_SP] & stack_mask(cpu);
	uint64_t v = mem_read_stack(cpu, stack_addr(cpu, sp, size, ACC_R),
				    size);

	stack_set_sp(cpu, sp + size);
	return v;
}

/* Read the value size bytes at offset off above the stack pointer. */
static inline uint64_t stack_peek(struct emu_cpu *cpu, uint64_t off,
				  int size)
{
	uint64_t sp = (cpu->gpr[R_SP] + off) & stack_mask(cpu);

	return mem_read_stack(cpu, stack_addr(cpu, sp, size, ACC_R), size);
}

static inline void stack_adjust(struct emu_cpu *cpu, int64_t delta)
{
	stack_set_sp(cpu, cpu->gpr[R_SP] + delta);
}

#endif
