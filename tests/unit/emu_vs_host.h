/* SPDX-License-Identifier: MIT */
/*
 * One instruction run by the emu CPU and natively by this x86-64 host on
 * the same state (test_emu_mmx.c, test_emu_x87.c). The state block:
 * an FXSAVE image at 0 that the harness FXRSTORs, RAX and RCX to load
 * (O_RAX, O_RCX), RDI pointing at O_MEM; after the instruction the
 * harness stores RAX and RCX (O_RAXO, O_RCXO) and FXSAVEs at O_OUT, then
 * FNINIT and LDMXCSR of O_MXCSR give the host its own state back. The
 * same bytes run in both, with RET (host) or HLT (emu) last. The
 * includer defines VH_SEED, its random numbers' seed.
 */
#ifndef CVISOR_TEST_EMU_VS_HOST_H
#define CVISOR_TEST_EMU_VS_HOST_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE	EMU_TEST_DATA	/* the state block, 16-byte aligned */
#define O_RAX	512		/* in: RAX, RCX; out: the same */
#define O_RCX	520
#define O_RAXO	528
#define O_RCXO	536
#define O_MXCSR	544		/* the host's MXCSR, loaded at the end */
#define O_MEM	640		/* RDI */
#define O_OUT	1024		/* FXSAVE after the case */
#define BLOCK	1536

/* xorshift64 from the includer's VH_SEED */
static uint64_t rng = VH_SEED;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint8_t vh_prologue[] = {
	0x48, 0x89, 0xfe,			/* mov rsi, rdi */
	0x0f, 0xae, 0x0e,			/* fxrstor [rsi] */
	0x48, 0x8b, 0x86, 0x00, 0x02, 0x00, 0x00,	/* mov rax, [rsi+512] */
	0x48, 0x8b, 0x8e, 0x08, 0x02, 0x00, 0x00,	/* mov rcx, [rsi+520] */
	0x48, 0x8d, 0xbe, 0x80, 0x02, 0x00, 0x00,	/* lea rdi, [rsi+640] */
};

static const uint8_t vh_epilogue[] = {
	0x48, 0x89, 0x86, 0x10, 0x02, 0x00, 0x00,	/* mov [rsi+528], rax */
	0x48, 0x89, 0x8e, 0x18, 0x02, 0x00, 0x00,	/* mov [rsi+536], rcx */
	0x0f, 0xae, 0x86, 0x00, 0x04, 0x00, 0x00,	/* fxsave [rsi+1024] */
	0xdb, 0xe3,				/* fninit */
	0x0f, 0xae, 0x96, 0x20, 0x02, 0x00, 0x00,	/* ldmxcsr [rsi+544] */
};

/* Append len bytes at code + *n */
static void vh_put(uint8_t *code, size_t *n, const uint8_t *p, size_t len)
{
	if (len)
		memcpy(code + *n, p, len);
	*n += len;
}

/*
 * The harness around insn (len bytes), with before after the state is
 * loaded and after before it is stored; last is RET or HLT
 */
static size_t vh_make_code(uint8_t *code, const uint8_t *before, size_t nb,
			   const uint8_t *insn, size_t len,
			   const uint8_t *after, size_t na, uint8_t last)
{
	size_t n = 0;

	vh_put(code, &n, vh_prologue, sizeof(vh_prologue));
	vh_put(code, &n, before, nb);
	vh_put(code, &n, insn, len);
	vh_put(code, &n, after, na);
	vh_put(code, &n, vh_epilogue, sizeof(vh_epilogue));
	code[n++] = last;
	return n;
}

/*
 * The compared parts of the states a and b: the first that differs, or
 * NULL. mem bytes of memory; xmm: MXCSR and XMM0/XMM1 too.
 */
static const char *vh_state_diff(const uint8_t *a, const uint8_t *b,
				 size_t mem, bool xmm)
{
	const uint8_t *x = a + O_OUT, *y = b + O_OUT;

	if (memcmp(x, y, 2))
		return "FCW";
	if (memcmp(x + 2, y + 2, 2))
		return "FSW";
	if (x[4] != y[4])
		return "abridged tag word";
	if (xmm && memcmp(x + 24, y + 24, 4))
		return "MXCSR";
	for (int i = 0; i < 8; i++)
		if (memcmp(x + 32 + 16 * i, y + 32 + 16 * i, 10))
			return "an x87/MMX register";
	if (xmm && memcmp(x + 160, y + 160, 32))
		return "XMM0/XMM1";
	if (memcmp(a + O_RAXO, b + O_RAXO, 16))
		return "RAX/RCX";
	if (memcmp(a + O_MEM, b + O_MEM, mem))
		return "memory";
	return NULL;
}

/*
 * With the environment variable env set: the bytes of a differing state,
 * emu's, the host's and the input's (all of the FXSAVE image's first 160
 * bytes with env_in set too)
 */
static void vh_dump(const char *env, const char *env_in, const uint8_t *emu,
		    const uint8_t *host, const uint8_t *in)
{
	bool all = env_in && getenv(env_in);

	if (!getenv(env))
		return;
	for (int i = 0; i < O_OUT + 192; i++)
		if (emu[i] != host[i] || (i < 160 && all))
			printf("   +%d: %02x %02x %02x\n", i, emu[i], host[i],
			       in[i]);
}

/* The host's #MF (SIGFPE) or #UD (SIGILL) in the case ends its run */
static sigjmp_buf vh_host_sig;

static void vh_on_signal(int sig)
{
	siglongjmp(vh_host_sig, sig);
}

/* The host's run of the code at buf on state: 0, or the signal ending it */
static __attribute__((noinline)) int vh_host_run(uint8_t *buf,
						 uint8_t *state)
{
	typedef void (*fn_t)(void *);
	int sig = sigsetjmp(vh_host_sig, 1);

	if (!sig)
		((fn_t)buf)(state);
	return sig;
}

#endif
