// SPDX-License-Identifier: MIT
/*
 * A guest program that uses MMX (tests/integration/emu_mmx.sh): built
 * static on the host, run on the host and in a Linux guest under
 * --accel emu; both must print the same lines. Each MMX instruction runs
 * on pseudo-random inputs from a fixed seed (inline assembly: GCC makes
 * SSE code of the MMX intrinsics on x86-64), its results folded into a
 * hash per instruction; then x87 long double arithmetic after EMMS.
 */
#include <stdint.h>
#include <stdio.h>

static uint64_t seed = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed ^ (seed >> 29);
}

/* mm0 = a; mm1 = b; INSN mm1, mm0 (AT&T); the result from mm0 */
#define BIN(insn)							\
	static uint64_t op_##insn(uint64_t a, uint64_t b)		\
	{								\
		uint64_t r;						\
		__asm__ volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\t"	\
				 #insn " %%mm1, %%mm0\n\tmovq %%mm0, %0"	\
				 : "=r"(r) : "r"(a), "r"(b)		\
				 : "mm0", "mm1");			\
		return r;						\
	}
/* the same with the source in memory */
#define MEM(insn)							\
	static uint64_t opm_##insn(uint64_t a, uint64_t b)		\
	{								\
		uint64_t r;						\
		__asm__ volatile("movq %1, %%mm2\n\t"			\
				 #insn " %2, %%mm2\n\tmovq %%mm2, %0"	\
				 : "=r"(r) : "r"(a), "m"(b) : "mm2");	\
		return r;						\
	}
/* INSN $imm, mm3 */
#define IMM(insn, imm)							\
	static uint64_t opi_##insn(uint64_t a, uint64_t b)		\
	{								\
		uint64_t r;						\
		(void)b;						\
		__asm__ volatile("movq %1, %%mm3\n\t"			\
				 #insn " $" #imm ", %%mm3\n\tmovq %%mm3, %0" \
				 : "=r"(r) : "r"(a) : "mm3");		\
		return r;						\
	}

#define BINOPS(X)							\
	X(paddb) X(paddw) X(paddd) X(paddq) X(paddsb) X(paddsw)	\
	X(paddusb) X(paddusw) X(psubb) X(psubw) X(psubd) X(psubq)	\
	X(psubsb) X(psubsw) X(psubusb) X(psubusw) X(pand) X(pandn)	\
	X(por) X(pxor) X(pcmpeqb) X(pcmpeqw) X(pcmpeqd) X(pcmpgtb)	\
	X(pcmpgtw) X(pcmpgtd) X(packsswb) X(packssdw) X(packuswb)	\
	X(punpcklbw) X(punpcklwd) X(punpckldq) X(punpckhbw)		\
	X(punpckhwd) X(punpckhdq) X(pmullw) X(pmulhw) X(pmaddwd)	\
	X(pmulhuw) X(pmuludq) X(pminub) X(pmaxub) X(pminsw) X(pmaxsw)	\
	X(pavgb) X(pavgw) X(psadbw) X(psllw) X(pslld) X(psllq)		\
	X(psrlw) X(psrld) X(psrlq) X(psraw) X(psrad)
#define MEMOPS(X) X(paddsb) X(pmaddwd) X(packuswb) X(psadbw) X(psraw)
#define IMMOPS(X)							\
	X(psllw, 5) X(pslld, 31) X(psllq, 40) X(psrlw, 17) X(psrld, 3)	\
	X(psrlq, 63) X(psraw, 9) X(psrad, 20)

BINOPS(BIN)
MEMOPS(MEM)
IMMOPS(IMM)

static uint64_t opm_pshufw(uint64_t a, uint64_t b)
{
	uint64_t r;

	__asm__ volatile("movq %1, %%mm4\n\tpshufw $0x6c, %2, %%mm4\n\t"
			 "movq %%mm4, %0" : "=r"(r) : "r"(a), "m"(b) : "mm4");
	return r;
}

/* The others, each as a function of a and b */
static uint64_t op_misc(int k, uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	uint32_t w;

	switch (k) {
	case 0:		/* PINSRW, PEXTRW, PMOVMSKB */
		__asm__ volatile("movq %1, %%mm5\n\tpinsrw $2, %k2, %%mm5\n\t"
				 "pextrw $1, %%mm5, %k0\n\tpmovmskb %%mm5, %%ecx\n\t"
				 "shl $16, %%ecx\n\tor %%rcx, %0"
				 : "=&r"(r) : "r"(a), "r"(b) : "mm5", "rcx");
		break;
	case 1:		/* MOVD both ways, MOVQ from memory */
		w = b;
		__asm__ volatile("movd %k1, %%mm6\n\tpaddd %2, %%mm6\n\t"
				 "movd %%mm6, %k0"
				 : "=r"(w) : "r"(w), "m"(a) : "mm6");
		r = w;
		break;
	case 2:		/* MOVQ2DQ, MOVDQ2Q through XMM */
		__asm__ volatile("movq %1, %%mm7\n\tmovq2dq %%mm7, %%xmm6\n\t"
				 "pshufd $0x4e, %%xmm6, %%xmm6\n\t"
				 "movhlps %%xmm6, %%xmm6\n\tmovdq2q %%xmm6, %%mm7\n\t"
				 "paddw %2, %%mm7\n\tmovq %%mm7, %0"
				 : "=r"(r) : "r"(a), "m"(b) : "mm7", "xmm6");
		break;
	case 3:		/* CVTPI2PS, a multiply, CVTPS2PI */
		__asm__ volatile("movq %1, %%mm0\n\tpsrad $8, %%mm0\n\t"
				 "xorps %%xmm5, %%xmm5\n\tcvtpi2ps %%mm0, %%xmm5\n\t"
				 "mulps %%xmm5, %%xmm5\n\tcvtps2pi %%xmm5, %%mm0\n\t"
				 "movq %%mm0, %0"
				 : "=r"(r) : "r"(a) : "mm0", "xmm5");
		break;
	default: {	/* MASKMOVQ into m[0] (RDI), MOVNTQ into m[1] */
		uint64_t m[2] = { b, ~b };

		__asm__ volatile("movq %1, %%mm1\n\tmovq %2, %%mm2\n\t"
				 "maskmovq %%mm2, %%mm1\n\tmovntq %%mm1, 8(%0)"
				 : : "D"(m), "r"(a), "r"(b)
				 : "mm1", "mm2", "memory");
		r = m[0] ^ (m[1] << 1);
		break;
	}
	}
	return r;
}

#define ROW(insn) { #insn, op_##insn },
#define ROWM(insn) { #insn " m64", opm_##insn },
#define ROWI(insn, imm) { #insn " imm", opi_##insn },

static const struct {
	const char *name;
	uint64_t (*fn)(uint64_t, uint64_t);
} ops[] = {
	BINOPS(ROW)
	MEMOPS(ROWM)
	{ "pshufw m64", opm_pshufw },
	IMMOPS(ROWI)
};

/* x87 arithmetic, called after EMMS (no x87 value lives across MMX) */
static long double x87_x = 1.0L;

static __attribute__((noinline)) void x87_step(int it)
{
	x87_x = x87_x * 1.0001L + (long double)(it & 7) / 3.0L;
}

int main(void)
{
	enum { N = sizeof(ops) / sizeof(ops[0]), M = 5 };
	uint64_t hash[N + M] = { 0 };

	for (int it = 0; it < 3000; it++) {
		uint64_t a = rnd(), b = rnd();

		/* counts for the shifts now and then */
		if (!(it & 3))
			b = it % 70;
		for (int i = 0; i < N; i++)
			hash[i] = (hash[i] ^ ops[i].fn(a, b)) * 0x100000001b3ULL;
		for (int k = 0; k < M; k++)
			hash[N + k] = (hash[N + k] ^ op_misc(k, a, b)) *
				      0x100000001b3ULL;
		__asm__ volatile("emms" : : : "memory");
		x87_step(it);
	}
	for (int i = 0; i < N; i++)
		printf("mmx %s %016llx\n", ops[i].name,
		       (unsigned long long)hash[i]);
	for (int k = 0; k < M; k++)
		printf("mmx misc%d %016llx\n", k,
		       (unsigned long long)hash[N + k]);
	printf("x87 %.15Lg\n", x87_x);
	return 0;
}
