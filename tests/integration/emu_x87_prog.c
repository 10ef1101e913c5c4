// SPDX-License-Identifier: MIT
/*
 * A guest program that uses x87 long double arithmetic as C code does
 * (tests/integration/emu_x87.sh): built static on the host, run on the
 * host and in a Linux guest under --accel emu; both must print the same
 * lines. Each line is one operation's result bits and the exception
 * flags fetestexcept reports, in each rounding mode fesetround sets and
 * each precision FCW.PC gives (24, 53, 64 bits); libm's long double
 * functions (FSQRT, FSIN, FCOS, FPTAN, FPATAN, FYL2X, F2XM1, FSCALE,
 * FRNDINT, FPREM, FISTP); then a hash of 3000 random operations per
 * operator, and SIGFPE for a divide by zero that feenableexcept unmasks
 * (the kernel's #MF handler).
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t seed = 0x13198a2e03707344ULL;

static uint64_t rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed ^ (seed >> 29);
}

static uint64_t bits(long double v)
{
	uint64_t m;
	uint16_t e;

	memcpy(&m, &v, 8);
	memcpy(&e, (char *)&v + 8, 2);
	return m ^ ((uint64_t)e << 48) ^ e;
}

static void line(const char *what, long double v)
{
	printf("x87 %s %016llx %x\n", what, (unsigned long long)bits(v),
	       fetestexcept(FE_ALL_EXCEPT));
	feclearexcept(FE_ALL_EXCEPT);
}

static void set_pc(unsigned pc)
{
	uint16_t cw;

	__asm__ volatile("fnstcw %0" : "=m"(cw));
	cw = (cw & ~0x300) | pc << 8;
	__asm__ volatile("fldcw %0" : : "m"(cw));
}

static volatile long double one = 1, three = 3, two = 2, big = 1e4000L,
	tiny = 1e-4000L, zero = 0, minus = -1, x = 0.7L, y = 123.456L;

static sigjmp_buf fpe_jmp;

static void on_fpe(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	siglongjmp(fpe_jmp, si->si_code);
}

int main(void)
{
	static const int modes[] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD,
				     FE_TOWARDZERO };
	static const char *const mname[] = { "near", "up", "down", "zero" };
	char name[64];

	feclearexcept(FE_ALL_EXCEPT);
	for (int m = 0; m < 4; m++) {
		fesetround(modes[m]);
		for (unsigned pc = 0; pc < 4; pc++) {
			if (pc == 1)
				continue;	/* reserved */
			set_pc(pc);
			snprintf(name, sizeof(name), "%s pc%u 1/3", mname[m], pc);
			line(name, one / three);
			snprintf(name, sizeof(name), "%s pc%u -1/3", mname[m], pc);
			line(name, minus / three);
			snprintf(name, sizeof(name), "%s pc%u y*x+1", mname[m], pc);
			line(name, y * x + one);
			snprintf(name, sizeof(name), "%s pc%u y-x", mname[m], pc);
			line(name, y - x);
			snprintf(name, sizeof(name), "%s pc%u sqrt2", mname[m], pc);
			line(name, sqrtl(two));
			snprintf(name, sizeof(name), "%s pc%u (double)1/3", mname[m], pc);
			line(name, (double)(one / three));
			snprintf(name, sizeof(name), "%s pc%u (float)1/3", mname[m], pc);
			line(name, (float)(one / three));
		}
		set_pc(3);
		snprintf(name, sizeof(name), "%s rint 2.5", mname[m]);
		line(name, rintl(two + 0.5L));
		snprintf(name, sizeof(name), "%s lrint -2.5", mname[m]);
		line(name, (long double)lrintl(-two - 0.5L));
		snprintf(name, sizeof(name), "%s sin", mname[m]);
		line(name, sinl(y));
		snprintf(name, sizeof(name), "%s cos", mname[m]);
		line(name, cosl(y));
		snprintf(name, sizeof(name), "%s tan", mname[m]);
		line(name, tanl(x));
		snprintf(name, sizeof(name), "%s atan2", mname[m]);
		line(name, atan2l(y, x));
		snprintf(name, sizeof(name), "%s log", mname[m]);
		line(name, logl(y));
		snprintf(name, sizeof(name), "%s exp", mname[m]);
		line(name, expl(x));
		snprintf(name, sizeof(name), "%s fmod", mname[m]);
		line(name, fmodl(y, x));
		snprintf(name, sizeof(name), "%s ldexp", mname[m]);
		line(name, ldexpl(y, 77));
	}
	fesetround(FE_TONEAREST);
	line("1/0", one / zero);
	line("big*big", big * big);
	line("tiny*tiny", tiny * tiny);
	line("sqrt(-1)", sqrtl(minus));
	line("0/0", zero / zero);

	/* 3000 random operations per operator in random modes */
	for (int op = 0; op < 4; op++) {
		uint64_t h = 0;

		for (int i = 0; i < 3000; i++) {
			long double a = (long double)(int64_t)rnd() /
					(long double)(rnd() | 1);
			long double b = ldexpl((long double)(int64_t)rnd(),
					       (int)(rnd() % 200) - 100);
			volatile long double r;

			fesetround(modes[rnd() % 4]);
			set_pc((unsigned[]){ 0, 2, 3 }[rnd() % 3]);
			r = op == 0 ? a + b : op == 1 ? a - b :
			    op == 2 ? a * b : a / b;
			h = h * 31 + bits(r) + fetestexcept(FE_ALL_EXCEPT);
			feclearexcept(FE_ALL_EXCEPT);
		}
		set_pc(3);
		fesetround(FE_TONEAREST);
		printf("x87 random op%d %016llx\n", op, (unsigned long long)h);
	}

	/* an unmasked divide by zero: #MF, SIGFPE with FPE_FLTDIV */
	struct sigaction sa = { .sa_sigaction = on_fpe,
				.sa_flags = SA_SIGINFO };
	int code;

	sigaction(SIGFPE, &sa, NULL);
	code = sigsetjmp(fpe_jmp, 1);
	if (!code) {
		feenableexcept(FE_DIVBYZERO);
		line("unmasked 1/0", one / zero);
	} else {
		printf("x87 sigfpe code %d (FPE_FLTDIV %d)\n", code,
		       FPE_FLTDIV);
	}
	return 0;
}
