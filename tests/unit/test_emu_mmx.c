// SPDX-License-Identifier: MIT
/*
 * emu interpreter: MMX against this x86-64 host. Each case is one
 * instruction (or a short sequence) run on the same random state (fixed
 * seed) by the software CPU and natively on the host, the same bytes in
 * a harness that FXRSTORs the state (x87 registers, whose bits 63:0 are
 * MM0..MM7, a random TOP and tag word, MXCSR with a random rounding
 * mode, XMM0/XMM1), loads RAX/RCX and points RDI at 64 bytes of memory,
 * runs the case and FXSAVEs: FCW, FSW (TOP), the abridged tag word,
 * MXCSR, R0..R7 with their exponents, XMM0/XMM1, RAX, RCX and the
 * memory must be the host's. FSW has random exception flags, in half
 * the states with some unmasked (pending): where the host raises #MF
 * (SIGFPE) the emu CPU must too, and #UD where it has SIGILL. Then the faults (CR0.EM, CR0.TS, CR0.NE
 * with a pending exception) the SDM gives, which the host cannot show.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "emu_test.h"
#include "test.h"

#define VH_SEED	0x9e3779b97f4a7c15ULL
#include "emu_vs_host.h"

struct mcase {
	const char *name;
	uint8_t len;
	uint8_t b[24];
	bool imm;	/* a random imm8 follows */
	bool flt;	/* XMM1 and the memory hold numbers (conversions) */
};

#define C(n, ...) { n, sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ }, false, false }
#define CI(n, ...) { n, sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ }, true, false }
#define CF(n, ...) { n, sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ }, false, true }

/* The binary ops 0F xx mm0, mm1 and mm0, [rdi] */
static const uint8_t binops[] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x74, 0x75, 0x76, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9,
	0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4,
	0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2,
	0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};

static const struct mcase cases[] = {
	C("movd mm0, eax", 0x0f, 0x6e, 0xc0),
	C("movq mm0, rax", 0x48, 0x0f, 0x6e, 0xc0),
	C("movd mm0, [rdi]", 0x0f, 0x6e, 0x07),
	C("movq mm0, [rdi] (6e)", 0x48, 0x0f, 0x6e, 0x07),
	C("movd eax, mm0", 0x0f, 0x7e, 0xc0),
	C("movq rax, mm0", 0x48, 0x0f, 0x7e, 0xc0),
	C("movd [rdi], mm0", 0x0f, 0x7e, 0x07),
	C("movq [rdi], mm0 (7e)", 0x48, 0x0f, 0x7e, 0x07),
	C("movq mm0, mm1", 0x0f, 0x6f, 0xc1),
	C("movq mm0, [rdi]", 0x0f, 0x6f, 0x07),
	C("movq mm0, mm1 (7f)", 0x0f, 0x7f, 0xc8),
	C("movq [rdi], mm0", 0x0f, 0x7f, 0x07),
	C("movq mm5, mm6 rex.rb", 0x45, 0x0f, 0x6f, 0xee),
	C("paddb mm7, mm2 rex.rb", 0x45, 0x0f, 0xfc, 0xfa),
	C("movntq [rdi], mm3", 0x0f, 0xe7, 0x1f),
	C("maskmovq mm0, mm1", 0x0f, 0xf7, 0xc1),
	CI("pshufw mm0, mm1", 0x0f, 0x70, 0xc1),
	CI("pshufw mm0, [rdi]", 0x0f, 0x70, 0x07),
	CI("psrlw mm0, imm", 0x0f, 0x71, 0xd0),
	CI("psraw mm0, imm", 0x0f, 0x71, 0xe0),
	CI("psllw mm0, imm", 0x0f, 0x71, 0xf0),
	CI("psrld mm0, imm", 0x0f, 0x72, 0xd0),
	CI("psrad mm0, imm", 0x0f, 0x72, 0xe0),
	CI("pslld mm0, imm", 0x0f, 0x72, 0xf0),
	CI("psrlq mm0, imm", 0x0f, 0x73, 0xd0),
	CI("psllq mm0, imm", 0x0f, 0x73, 0xf0),
	CI("pinsrw mm0, ecx", 0x0f, 0xc4, 0xc1),
	CI("pinsrw mm0, [rdi]", 0x0f, 0xc4, 0x07),
	CI("pextrw eax, mm1", 0x0f, 0xc5, 0xc1),
	C("pmovmskb eax, mm1", 0x0f, 0xd7, 0xc1),
	/* after an MMX instruction: TOP is 0 on Intel and AMD alike */
	C("pxor; emms", 0x0f, 0xef, 0xc1, 0x0f, 0x77),
	C("movq2dq xmm0, mm1", 0xf3, 0x0f, 0xd6, 0xc1),
	C("movdq2q mm0, xmm1", 0xf2, 0x0f, 0xd6, 0xc1),
	CF("cvtpi2ps xmm0, mm1", 0x0f, 0x2a, 0xc1),
	CF("cvtpi2ps xmm0, [rdi]", 0x0f, 0x2a, 0x07),
	CF("cvtpi2pd xmm0, mm1", 0x66, 0x0f, 0x2a, 0xc1),
	CF("cvtpi2pd xmm0, [rdi]", 0x66, 0x0f, 0x2a, 0x07),
	CF("cvttps2pi mm0, xmm1", 0x0f, 0x2c, 0xc1),
	CF("cvttps2pi mm0, [rdi]", 0x0f, 0x2c, 0x07),
	CF("cvtps2pi mm0, xmm1", 0x0f, 0x2d, 0xc1),
	CF("cvtps2pi mm0, [rdi]", 0x0f, 0x2d, 0x07),
	CF("cvttpd2pi mm0, xmm1", 0x66, 0x0f, 0x2c, 0xc1),
	CF("cvttpd2pi mm0, [rdi]", 0x66, 0x0f, 0x2c, 0x07),
	CF("cvtpd2pi mm0, xmm1", 0x66, 0x0f, 0x2d, 0xc1),
	CF("cvtpd2pi mm0, [rdi]", 0x66, 0x0f, 0x2d, 0x07),
	/* no instruction: #UD (SIGILL on the host), before any #MF */
	CI("psrlq mm0, imm /3", 0x0f, 0x73, 0xd8),
	CI("psraq mm0, imm /4", 0x0f, 0x73, 0xe0),
	CI("psrlw [rdi], imm", 0x0f, 0x71, 0x17),
	CI("pextrw eax, [rdi]", 0x0f, 0xc5, 0x07),
	C("pmovmskb eax, [rdi]", 0x0f, 0xd7, 0x07),
	C("movntq mm0, mm1", 0x0f, 0xe7, 0xc1),
	C("maskmovq [rdi]", 0x0f, 0xf7, 0x07),
	C("punpcklqdq mm0, mm1", 0x0f, 0x6c, 0xc1),
	C("0f d6 mm0, mm1", 0x0f, 0xd6, 0xc1),
	C("movq2dq xmm0, [rdi]", 0xf3, 0x0f, 0xd6, 0x07),
	C("66 0f 77", 0x66, 0x0f, 0x77),
	C("f3 paddb mm0, mm1", 0xf3, 0x0f, 0xfc, 0xc1),
	C("lock paddb mm0, [rdi]", 0xf0, 0x0f, 0xfc, 0x07),
	/* x87 after MMX: EMMS then FLD1 pushes onto an empty stack */
	C("paddb; emms; fld1", 0x0f, 0xfc, 0xc1, 0x0f, 0x77, 0xd9, 0xe8),
	/* FSTP after MMX: the tags valid, TOP 0, ST0 is MM0 as a number */
	C("por; fstp [rdi]", 0x0f, 0xeb, 0xc1, 0xdb, 0x3f),
	/* FLD1 after MMX without EMMS: a stack overflow (IE, SF, C1, NaN) */
	C("paddb; fld1", 0x0f, 0xfc, 0xc1, 0xd9, 0xe8),
	/* FLD1 on the random tags: an overflow where R(TOP-1) is in use */
	C("fld1", 0xd9, 0xe8),
	/*
	 * FNSTENV's tag word from the registers' contents, after MMX and on
	 * the random registers (FIP/FDP/FOP, bytes 12..27, zeroed after)
	 */
	C("pxor; fnstenv [rdi]", 0x0f, 0xef, 0xc1, 0xd9, 0x37, 0x48, 0xc7,
	  0x47, 0x0c, 0, 0, 0, 0, 0x48, 0xc7, 0x47, 0x14, 0, 0, 0, 0),
	C("fnstenv [rdi]", 0xd9, 0x37, 0x48, 0xc7, 0x47, 0x0c, 0, 0, 0, 0,
	  0x48, 0xc7, 0x47, 0x14, 0, 0, 0, 0),
};

/* Random 64 bits, a quarter of them a small count for the shifts */
static uint64_t rnd_val(void)
{
	uint64_t v = rnd();

	return (v & 3) ? rnd() : (v >> 2) % 70;
}

/* Numbers for the conversions: floats or doubles in a usable range */
static void rnd_numbers(uint8_t *p, int n)
{
	for (int i = 0; i < n; i += 8) {
		uint64_t k = rnd();
		double d = (double)(int64_t)(k >> 8) / (double)(1ULL << (k & 31));
		float f[2] = { (float)d, (float)-d / 3 };

		if (k & 128)
			memcpy(p + i, &d, 8);
		else
			memcpy(p + i, f, 8);
	}
}

/* The input state: an FXSAVE image at 0, RAX/RCX, memory */
static void make_state(uint8_t *s, bool flt)
{
	uint16_t fcw = 0x37f, fsw = (rnd() & 7) << 11 | (rnd() & 0x3f);

	/* exception flags; in half the states some unmasked: pending */
	if (rnd() & 1)
		fcw = 0x340 | (rnd() & rnd() & 0x3f);
	uint32_t mxcsr = 0x1f80 | (rnd() & 3) << 13, host = 0x1f80;

	memset(s, 0, BLOCK);
	memcpy(s + 0, &fcw, 2);
	memcpy(s + 2, &fsw, 2);
	s[4] = rnd();
	memcpy(s + 24, &mxcsr, 4);
	for (int i = 0; i < 8; i++) {
		uint64_t m = rnd_val();
		uint16_t e = rnd();

		memcpy(s + 32 + 16 * i, &m, 8);
		memcpy(s + 40 + 16 * i, &e, 2);
	}
	for (int i = 0; i < 32; i += 8) {
		uint64_t v = rnd_val();

		memcpy(s + 160 + i, &v, 8);
	}
	for (int i = 0; i < 64; i += 8) {
		uint64_t v = rnd_val();

		memcpy(s + O_MEM + i, &v, 8);
	}
	if (flt) {
		rnd_numbers(s + 160, 32);
		rnd_numbers(s + O_MEM, 16);
	}
	for (int i = 0; i < 2; i++) {
		uint64_t v = rnd_val();

		memcpy(s + O_RAX + 8 * i, &v, 8);
	}
	memcpy(s + O_MXCSR, &host, 4);
}

/* The harness around case c (imm: its imm8); the last byte RET or HLT */
static size_t make_code(uint8_t *code, const struct mcase *c, uint8_t imm,
			uint8_t last)
{
	uint8_t insn[sizeof(c->b) + 1];

	memcpy(insn, c->b, c->len);
	insn[c->len] = imm;
	return vh_make_code(code, NULL, 0, insn, c->len + c->imm, NULL, 0,
			    last);
}

static void test_mmx_against_host(void)
{
	struct emu_test *t = emu_test_init64();
	uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static uint8_t host[BLOCK] __attribute__((aligned(64)));
	uint8_t in[BLOCK], code[128];
	const int samples = 40;
	int fails = 0, runs = 0, mf = 0, host_mf;
	struct sigaction sa = { .sa_handler = vh_on_signal }, old, old_ill;

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		emu_test_free(t);
		return;
	}
	sigaction(SIGFPE, &sa, &old);
	sigaction(SIGILL, &sa, &old_ill);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]) +
			      2 * sizeof(binops); k++) {
		struct mcase bc = { "binop", 3, { 0x0f, 0, 0 }, false, false };
		const struct mcase *c = &bc;

		if (k < sizeof(cases) / sizeof(cases[0])) {
			c = &cases[k];
		} else {
			size_t j = k - sizeof(cases) / sizeof(cases[0]);

			bc.b[1] = binops[j / 2];
			bc.b[2] = j & 1 ? 0x07 : 0xc1;	/* [rdi] : mm1 */
		}
		for (int s = 0; s < samples; s++) {
			uint8_t imm = rnd();
			size_t n;
			const char *d;

			make_state(in, c->flt);
			memcpy(host, in, BLOCK);
			n = make_code(buf, c, imm, 0xc3);
			host_mf = vh_host_run(buf, host);

			memcpy(emu_test_ptr(t, BASE), in, BLOCK);
			t->cpu.gpr[R_DI] = BASE;
			n = make_code(code, c, imm, 0xf4);
			emu_test_run(t, code, n);
			runs++;
			mf += host_mf == SIGFPE;
			if (host_mf == SIGFPE)
				d = emu_test_vector(t) != EXC_MF ?
				    "#MF (the host's SIGFPE)" : NULL;
			else if (host_mf)
				d = emu_test_vector(t) != EXC_UD ?
				    "#UD (the host's SIGILL)" : NULL;
			else if (emu_test_vector(t) != -1)
				d = "an exception";
			else
				d = vh_state_diff(emu_test_ptr(t, BASE), host,
						  64, true);
			if (d && fails++ < 10) {
				printf("  %s", c->name);
				for (int i = 0; c == &bc && i < 3; i++)
					printf(" %02x", c->b[i]);
				printf(" (sample %d, imm %02x): %s differs\n",
				       s, imm, d);
				vh_dump("MMX_DUMP", NULL,
					emu_test_ptr(t, BASE), host, in);
			}
		}
	}
	sigaction(SIGFPE, &old, NULL);
	sigaction(SIGILL, &old_ill, NULL);
	printf("  %d runs (%d raised #MF), %d differ\n", runs, mf, fails);
	CHECK_EQ(fails, 0);
	munmap(buf, 4096);
	emu_test_free(t);
}

/*
 * movq mm0, rax at EMU_TEST_CODE, then HLT; the vector it stopped at
 * (-1: none) with cr0 and FSW as given
 */
static int run_fault(uint64_t cr0_set, uint16_t fsw, const uint8_t *code,
		     size_t len)
{
	struct emu_test *t = emu_test_init64();
	int v;

	t->cpu.cr0 |= cr0_set;
	t->cpu.fsw = fsw;
	t->cpu.fcw = 0x37e;	/* IM clear: an IE with ES is pending */
	emu_test_run(t, code, len);
	v = emu_test_vector(t);
	emu_test_free(t);
	return v;
}

static void test_mmx_faults(void)
{
	static const uint8_t movq[] = { 0x48, 0x0f, 0x6e, 0xc0, 0xf4 };
	static const uint8_t emms[] = { 0x0f, 0x77, 0xf4 };
	static const uint8_t pmin[] = { 0x0f, 0xda, 0xc1, 0xf4 };
	static const uint8_t m2dq[] = { 0xf3, 0x0f, 0xd6, 0xc1, 0xf4 };
	static const uint8_t fwait[] = { 0x9b, 0xf4 };
	static const uint8_t lock_mmx[] = { 0xf0, 0x0f, 0xfc, 0xc1, 0xf4 };
	static const uint8_t lock_sse[] = { 0xf0, 0x66, 0x0f, 0xfc, 0xc1,
					    0xf4 };

	CHECK_EQ(run_fault(0, 0, movq, sizeof(movq)), -1);
	CHECK_EQ(run_fault(CR0_EM, 0, movq, sizeof(movq)), EXC_UD);
	CHECK_EQ(run_fault(CR0_TS, 0, movq, sizeof(movq)), EXC_NM);
	CHECK_EQ(run_fault(CR0_EM | CR0_TS, 0, emms, sizeof(emms)), EXC_UD);
	CHECK_EQ(run_fault(CR0_TS, 0, emms, sizeof(emms)), EXC_NM);
	CHECK_EQ(run_fault(CR0_TS, 0, pmin, sizeof(pmin)), EXC_NM);
	/* IE unmasked: #MF before the instruction (CR0.NE is set) */
	CHECK_EQ(run_fault(0, 0x81, movq, sizeof(movq)), EXC_MF);
	CHECK_EQ(run_fault(0, 0x81, emms, sizeof(emms)), EXC_MF);
	CHECK_EQ(run_fault(0, 0x81, m2dq, sizeof(m2dq)), EXC_MF);
	/* FWAIT: #NM with CR0.MP and TS (not TS alone), #MF when pending */
	CHECK_EQ(run_fault(X86_CR0_MP | CR0_TS, 0, fwait, sizeof(fwait)),
		 EXC_NM);
	CHECK_EQ(run_fault(CR0_TS, 0, fwait, sizeof(fwait)), -1);
	CHECK_EQ(run_fault(0, 0x01, fwait, sizeof(fwait)), EXC_MF);
	CHECK_EQ(run_fault(0, 0, fwait, sizeof(fwait)), -1);
	/* LOCK: #UD */
	CHECK_EQ(run_fault(0, 0, lock_mmx, sizeof(lock_mmx)), EXC_UD);
	CHECK_EQ(run_fault(0, 0, lock_sse, sizeof(lock_sse)), EXC_UD);
	/* an MMX form has no OSFXSR rule; MOVQ2DQ, an SSE2 one, has */
	{
		struct emu_test *t = emu_test_init64();

		t->cpu.cr4 &= ~CR4_OSFXSR;
		emu_test_run(t, pmin, sizeof(pmin));
		CHECK_EQ(emu_test_vector(t), -1);
		emu_test_run(t, m2dq, sizeof(m2dq));
		CHECK_EQ(emu_test_vector(t), EXC_UD);
		emu_test_free(t);
	}
}

/*
 * EMMS empties the tags and keeps TOP (the SDM: "x87FPUTagWord := FFFFH";
 * this AMD host also sets TOP to 0, which the case above does not see)
 */
static void test_emms_keeps_top(void)
{
	/* fld1; fld1; emms; hlt */
	static const uint8_t code[] = { 0xd9, 0xe8, 0xd9, 0xe8, 0x0f, 0x77,
					0xf4 };
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ((t->cpu.fsw >> 11) & 7, 6);
	CHECK_EQ(t->cpu.ftw, 0xffff);
	emu_test_free(t);
}

/* A #PF on an MMX load leaves TOP and the tags as they were */
static void test_mmx_fault_keeps_x87(void)
{
	/* fld1; movq mm0, [0x7fff0000] (unmapped); hlt */
	static const uint8_t code[] = {
		0xd9, 0xe8, 0x0f, 0x6f, 0x04, 0x25, 0x00, 0x00, 0xff, 0x7f,
		0xf4,
	};
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ((t->cpu.fsw >> 11) & 7, 7);
	CHECK_EQ(t->cpu.ftw, 0x3fff);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_mmx_against_host);
	RUN(test_mmx_faults);
	RUN(test_mmx_fault_keeps_x87);
	RUN(test_emms_keeps_top);
	return test_summary();
}
