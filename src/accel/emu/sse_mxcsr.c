// SPDX-License-Identifier: MIT
/*
 * MXCSR's status flags (IE DE ZE OE UE PE, bits 0-5) and the SIMD
 * floating-point exception, as hardware sets and raises them.
 *
 * The interpreter computes SSE floating point with the host's own
 * instructions (sse_float.c, sse_cmp.c) in the guest's rounding mode,
 * flush-to-zero and denormals-are-zero, every exception masked: so the
 * host's MXCSR, cleared before, holds afterwards the flags hardware sets
 * for the masked computation. An exception unmasked in the guest's
 * MXCSR is then raised as the SDM describes (vol. 1, 11.5.1 and
 * 11.5.2): unmasked invalid, denormal or divide-by-zero (found before
 * the computation) set only those flags; else all flags are set and an
 * unmasked overflow, underflow or precision exception raises. Either way
 * the destination keeps its value and the fault is #XM, or #UD with
 * CR4.OSXMMEXCPT clear. An exact tiny result signals underflow only
 * with the exception unmasked, which the masked computation does not
 * show: the operations that can make one (add, subtract, multiply,
 * divide, double to single) look at their results (sse_fp_tiny).
 *
 * The translator's floating point runs only while the guest's MXCSR is
 * the default (all masked, status bits aside), as the host's own
 * instructions: a run's first block with floating point clears the
 * host's flags (the VMM's own C floating point may have left some) and
 * sets cpu->jit_fp, and after that run (or at a fault that ended it)
 * the run loop ORs what they hold into the guest's MXCSR. The
 * interpreter leaves none in the host's. A run without translated
 * floating point costs no STMXCSR (there were two each run, 2% of the
 * xz decompressor's time).
 */
#include <string.h>

#include "accel/emu/exec.h"

#define MXCSR_FLAGS	0x3fu
#define MXCSR_PRE	0x7u	/* IE, DE, ZE: found before computing */
#define MXCSR_HOST	0x1f80u	/* all masked, round to nearest */
#define MXCSR_MODE	0xe040u	/* FZ, RC, DAZ: the guest's, as they are */
#define MXCSR_UE	0x10u
#define MXCSR_UM	0x800u
#define MXCSR_FZ	0x8000u

static inline uint32_t host_mxcsr(void)
{
	uint32_t m;

	__asm__ volatile("stmxcsr %0" : "=m"(m) : : "memory");
	return m;
}

static inline void host_set_mxcsr(uint32_t m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m) : "memory");
}

void sse_fp_begin(struct emu_cpu *cpu, struct sse_fp *s)
{
	uint32_t mode = cpu->mxcsr & MXCSR_MODE;

	/* FZ flushes only a masked underflow's tiny results */
	if (!(cpu->mxcsr & MXCSR_UM))
		mode &= ~MXCSR_FZ;
	/*
	 * The "memory" clobbers keep the computation, from operands read
	 * from cpu and guest memory to results stored there, in between
	 */
	host_set_mxcsr(MXCSR_HOST | mode);
	s->unmasked = ~(cpu->mxcsr >> 7) & MXCSR_FLAGS;
	if (s->unmasked) {
		memcpy(s->xmm, cpu->xmm, sizeof(s->xmm));
		memcpy(s->gpr, cpu->gpr, sizeof(s->gpr));
		s->rflags = cpu->rflags;
	}
}

void sse_fp_end(struct emu_cpu *cpu, const struct sse_fp *s)
{
	uint32_t f = host_mxcsr() & MXCSR_FLAGS;

	if (!f && !(cpu->mxcsr & MXCSR_MODE))
		return;
	/* none left for sse_host_fold, the host's own modes back */
	host_set_mxcsr(MXCSR_HOST);
	if (!f)
		return;
	if (f & MXCSR_PRE & s->unmasked)
		f &= MXCSR_PRE;
	cpu->mxcsr |= f;
	if (!(f & s->unmasked))
		return;
	memcpy(cpu->xmm, s->xmm, sizeof(s->xmm));
	memcpy(cpu->gpr, s->gpr, sizeof(s->gpr));
	cpu->rflags = s->rflags;
	cpu_raise_noerr(cpu, cpu->cr4 & CR4_OSXMMEXCPT ? EXC_XM : EXC_UD);
}

void sse_fp_tiny(const struct emu_cpu *cpu, const void *r, bool dbl)
{
	uint64_t q = 0;
	bool tiny;

	if (cpu->mxcsr & MXCSR_UM)
		return;
	memcpy(&q, r, dbl ? 8 : 4);
	if (dbl)
		tiny = !(q & 0x7ff0000000000000ULL) && (q << 1);
	else
		tiny = !(q & 0x7f800000) && (q & 0x7fffff);
	/* the flag the host would have set: sse_fp_end raises it */
	if (tiny)
		host_set_mxcsr(host_mxcsr() | MXCSR_UE);
}

uint32_t sse_host_flags_take(void)
{
	uint32_t m = host_mxcsr();

	if (m & MXCSR_FLAGS)
		host_set_mxcsr(m & ~MXCSR_FLAGS);
	return m & MXCSR_FLAGS;
}

void sse_host_flags_or(uint32_t f)
{
	if (f)
		host_set_mxcsr(host_mxcsr() | f);
}

/* Also after a fault within an interpreted operation: the host's modes */
void sse_host_clear(void)
{
	uint32_t m = host_mxcsr();

	if (m != MXCSR_HOST)
		host_set_mxcsr(MXCSR_HOST);
}

void sse_host_fold(struct emu_cpu *cpu)
{
	uint32_t m = host_mxcsr();

	if (m & MXCSR_FLAGS) {
		cpu->mxcsr |= m & MXCSR_FLAGS;
		host_set_mxcsr(m & ~MXCSR_FLAGS);
	}
}
