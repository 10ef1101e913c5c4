// SPDX-License-Identifier: MIT
/*
 * emu interpreter: x87 arithmetic and data instructions against this
 * x86-64 host. Every register form of D8..DF and every memory form runs
 * on random states (fixed seed) in the software CPU and natively on the
 * host, the same bytes in a harness that FXRSTORs the state: random FCW
 * (rounding control, precision control, in half the states some
 * exceptions unmasked), TOP, tags (some registers empty: stack underflow
 * and overflow), C0..C3, registers (normal numbers near 1 and at the
 * ends of the range, integers, zeros, infinities, quiet and signalling
 * NaNs, denormals, unnormals), RFLAGS from CMP AL, CL (FCMOVcc) and 16
 * bytes of memory; afterwards SETcc stores the flags (FCOMI) and FXSAVE
 * the state: FCW, FSW (exception flags, SF, ES, C0..C3, TOP), the
 * abridged tags, R0..R7, RAX, RCX and the memory must be the host's, and
 * #UD where the host raises SIGILL.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "emu_test.h"
#include "test.h"

#define VH_SEED	0x2545f4914f6cdd1dULL
#include "emu_vs_host.h"

/* A random 80-bit register of the kinds the arithmetic cares about */
static void rnd_reg(uint8_t *r)
{
	uint64_t sig = rnd() | 1ULL << 63, k = rnd() % 16;
	uint16_t exp = 0x3fff + (int)(rnd() % 9) - 4;

	switch (k) {
	case 0: sig = 0; exp = 0; break;			/* zero */
	case 1: sig = 1ULL << 63; exp = 0x7fff; break;		/* inf */
	case 2: exp = 0x7fff; sig |= 1ULL << 62; break;		/* QNaN */
	case 3: exp = 0x7fff; sig &= ~(1ULL << 62); sig |= 1; break;
	case 4: exp = 0; sig >>= 1 + rnd() % 8; break;		/* denormal */
	case 5: exp = 1 + rnd() % 40; break;			/* tiny */
	case 6: exp = 0x7ffe - rnd() % 40; break;		/* huge */
	case 7: {						/* integer */
		long double v = (long double)((int64_t)rnd() >> (rnd() % 62));

		if (rnd() & 1)
			v += 0.5L;
		memcpy(r, &v, 10);
		return;
	}
	case 8: exp = 0x3fff + rnd() % 70; break;		/* wide */
	case 9: sig &= ~(1ULL << 63); exp = 0x3fff; break;	/* unnormal */
	case 10: exp = 0x3fff + (int)(rnd() % 130) - 65; break;
	default: break;
	}
	if (rnd() & 1)
		exp |= 0x8000;
	memcpy(r, &sig, 8);
	memcpy(r + 8, &exp, 2);
}

/* Memory: random bits, or a float, double, integer or BCD number */
static void rnd_mem(uint8_t *p)
{
	uint64_t k = rnd() % 6, v = rnd();
	double d = (double)(int64_t)(v >> 8) / (double)(1ULL << (v & 31));
	float f = (float)d;
	uint8_t r[10];

	for (int i = 0; i < 16; i++)
		p[i] = rnd();
	switch (k) {
	case 0: memcpy(p, &f, 4); break;
	case 1: memcpy(p, &d, 8); break;
	case 2: v = (int64_t)v >> (v % 63); memcpy(p, &v, 8); break;
	case 3:
		for (int i = 0; i < 9; i++)
			p[i] = (rnd() % 10) | (rnd() % 10) << 4;
		p[9] &= 0x80;
		break;
	case 4: rnd_reg(r); memcpy(p, r, 10); break;
	}
}

static void make_state(uint8_t *s)
{
	uint16_t fcw = 0x7f | (rnd() & 3) << 8 | (rnd() & 3) << 10;
	uint16_t fsw = (rnd() & 7) << 11 | (rnd() & 0x4700);
	uint32_t mxcsr = 0x1f80;

	/* in half the states, some exceptions unmasked */
	if (rnd() & 1)
		fcw &= ~(rnd() & 0x3f);
	fsw |= rnd() & fcw & 0x3f;	/* flags, but none pending */
	memset(s, 0, BLOCK);
	memcpy(s + 0, &fcw, 2);
	memcpy(s + 2, &fsw, 2);
	s[4] = rnd() | rnd() | rnd();	/* a register empty in 1 of 8 */
	memcpy(s + 24, &mxcsr, 4);
	for (int i = 0; i < 8; i++)
		rnd_reg(s + 32 + 16 * i);
	rnd_mem(s + O_MEM);
	for (int i = 0; i < 2; i++) {
		uint64_t v = rnd();

		memcpy(s + O_RAX + 8 * i, &v, 8);
	}
	if (rnd() & 1)		/* RCX = RAX: ZF from the CMP */
		memcpy(s + O_RCX, s + O_RAX, 8);
	memcpy(s + O_MXCSR, &mxcsr, 4);
}

/* RFLAGS from CMP AL, CL before (FCMOVcc), after it SETcc of them (FCOMI) */
static const uint8_t x87_before[] = { 0x38, 0xc8 };	/* cmp al, cl */
static const uint8_t x87_after[] = {
	0x0f, 0x92, 0xc0,			/* setb al */
	0x0f, 0x94, 0xc4,			/* setz ah */
	0x0f, 0x9a, 0xc1,			/* setp cl */
	0x0f, 0x90, 0xc5,			/* seto ch */
};

static size_t make_code(uint8_t *code, const uint8_t *insn, size_t len,
			uint8_t last)
{
	return vh_make_code(code, x87_before, sizeof(x87_before), insn, len,
			    x87_after, sizeof(x87_after), last);
}

/* One x87 instruction (2 bytes; 3 with [rdi] as op /r) on samples states */
static int run_insn(struct emu_test *t, uint8_t *buf, const uint8_t *insn,
		    size_t len, int samples, int *runs, int *ud)
{
	static uint8_t host[BLOCK] __attribute__((aligned(64)));
	uint8_t in[BLOCK], code[128];
	int fails = 0;

	for (int s = 0; s < samples; s++) {
		const char *d;
		int sig;
		size_t n;

		make_state(in);
		memcpy(host, in, BLOCK);
		make_code(buf, insn, len, 0xc3);
		sig = vh_host_run(buf, host);
		memcpy(emu_test_ptr(t, BASE), in, BLOCK);
		t->cpu.gpr[R_DI] = BASE;
		n = make_code(code, insn, len, 0xf4);
		emu_test_run(t, code, n);
		(*runs)++;
		if (sig == SIGILL) {
			(*ud)++;
			d = emu_test_vector(t) != EXC_UD ?
			    "#UD (the host's SIGILL)" : NULL;
		} else if (sig) {
			d = "the host's signal";
		} else if (emu_test_vector(t) != -1) {
			d = "an exception";
		} else {
			d = vh_state_diff(emu_test_ptr(t, BASE), host, 16,
					  false);
		}
		if (d && fails++ < 3) {
			printf("  %02x %02x (sample %d, FCW %04x): %s differs\n",
			       insn[0], insn[1], s, in[0] | in[1] << 8, d);
			vh_dump("X87_DUMP", "X87_IN", emu_test_ptr(t, BASE),
				host, in);
		}
	}
	return fails;
}

static void test_x87_against_host(void)
{
	struct emu_test *t = emu_test_init64();
	uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa = { .sa_handler = vh_on_signal }, old_fpe, old_ill;
	int fails = 0, bad = 0, runs = 0, ud = 0;
	const char *only = getenv("X87_OP");

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		emu_test_free(t);
		return;
	}
	sigaction(SIGFPE, &sa, &old_fpe);
	sigaction(SIGILL, &sa, &old_ill);
	for (int op = 0xd8; op <= 0xdf; op++) {
		for (int m = 0; m < 0x48; m++) {
			/* register forms; then [rdi] with each /r */
			uint8_t insn[2] = { op, m < 0x40 ? 0xc0 + m :
					    (m - 0x40) << 3 | 7 };
			int f;

			/* control: x87.c's (FNSTENV, FLDCW, ... FNINIT) */
			if ((m >= 0x44 && (op == 0xd9 ||
					   (op == 0xdd && m != 0x45))) ||
			    (op == 0xdb && (insn[1] == 0xe2 || insn[1] == 0xe3)) ||
			    (op == 0xdf && insn[1] == 0xe0))
				continue;
			/* FISTTP (/1): SSE3's, #UD in the emu (opmap.c) */
			if (m == 0x41 && (op == 0xdb || op == 0xdd ||
					  op == 0xdf))
				continue;
			if (only && strtoul(only, NULL, 16) !=
				     (unsigned long)(op << 8 | insn[1]))
				continue;
			f = run_insn(t, buf, insn, 2, 24, &runs, &ud);
			fails += f;
			bad += f != 0;
		}
	}
	/* prefixes: LOCK is #UD, the others change nothing here */
	static const uint8_t prefixed[][3] = {
		{ 0xf0, 0xd8, 0xc1 }, { 0xf0, 0xdd, 0x07 }, { 0x66, 0xd8, 0x07 },
		{ 0x66, 0xdf, 0x3f }, { 0x48, 0xdd, 0x07 }, { 0x48, 0xdb, 0x3f },
		{ 0xf3, 0xd8, 0xc9 }, { 0xf2, 0xde, 0xf9 }, { 0x41, 0xd9, 0xc9 },
		{ 0x2e, 0xd8, 0x37 }, { 0x65, 0xdc, 0x07 },
	};
	for (size_t k = 0; k < sizeof(prefixed) / sizeof(prefixed[0]) && !only;
	     k++) {
		int f = run_insn(t, buf, prefixed[k], 3, 24, &runs, &ud);

		fails += f;
		bad += f != 0;
	}
	sigaction(SIGFPE, &old_fpe, NULL);
	sigaction(SIGILL, &old_ill, NULL);
	printf("  %d runs (%d #UD), %d differ in %d forms\n", runs, ud, fails,
	       bad);
	CHECK_EQ(fails, 0);
	/* the emu CPU left the host's x87 unit at its default FCW */
	{
		uint16_t cw;

		__asm__ volatile("fnstcw %0" : "=m"(cw));
		CHECK_EQ(cw, 0x37f);
	}
	munmap(buf, 4096);
	emu_test_free(t);
}

/*
 * A #PF on an x87 load or store leaves the x87 state as it was: fld1;
 * fldpi; hlt; then insn faulting on [0x7fff0000] with all exceptions
 * unmasked and rounding up
 */
static void fault_case(const uint8_t *insn, size_t len)
{
	static const uint8_t init[] = { 0xd9, 0xe8, 0xd9, 0xeb, 0xf4 };
	uint8_t code[32];
	struct emu_test *t = emu_test_init64();
	uint8_t before[8][10];
	uint16_t fsw;

	memcpy(code, insn, len);
	code[len] = 0xf4;
	emu_test_run(t, init, sizeof(init));
	CHECK_EQ(emu_test_vector(t), -1);
	memcpy(before, t->cpu.fpr, sizeof(before));
	fsw = t->cpu.fsw;
	t->cpu.fcw = 0x360;	/* all unmasked, round up, 64 bits */
	emu_test_run_at(t, EMU_TEST_CODE + 16, code, len + 1);
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.fsw, fsw);
	CHECK_EQ(t->cpu.ftw, 0x0fff);
	CHECK(!memcmp(before, t->cpu.fpr, sizeof(before)));
	emu_test_free(t);
}

static void test_x87_fault_keeps_state(void)
{
	/* [0x7fff0000] as disp32 with a SIB byte (no base, no index) */
#define M(op, r) op, (r) << 3 | 4, 0x25, 0x00, 0x00, 0xff, 0x7f
	static const uint8_t cases[][7] = {
		{ M(0xd9, 3) },	/* fstp dword */
		{ M(0xdd, 2) },	/* fst qword */
		{ M(0xdb, 7) },	/* fstp tbyte */
		{ M(0xdf, 7) },	/* fistp qword */
		{ M(0xdf, 6) },	/* fbstp */
		{ M(0xd8, 6) },	/* fdiv dword */
		{ M(0xdd, 0) },	/* fld qword */
		{ M(0xde, 0) },	/* fiadd word */
	};
#undef M
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fault_case(cases[i], 7);
}

/*
 * The last instruction and data pointers: FNSTENV after FLD [rdi] and
 * FADD st0, st0, and after FLD [rsp-16] (SS), on the host and in the emu
 * CPU; FIP relative to the code, FDP to RDI or RSP, FOP, and FCS/FDS the
 * CPU's own CS, DS and SS. FXSAVE and FXSAVE64 (which this AMD host
 * stores only with an exception pending) must hold what FNSTENV has
 */
static const uint8_t ptr_code[] = {
	0xdb, 0xe3,				/* 0: fninit */
	0xdd, 0x07,				/* 2: fld qword [rdi] */
	0xd8, 0xc0,				/* 4: fadd st0, st0 */
	0xd9, 0x77, 0x40,			/* 6: fnstenv [rdi+64] */
	0x0f, 0xae, 0x87, 0x00, 0x01, 0, 0,	/* fxsave [rdi+256] */
	0x48, 0x0f, 0xae, 0x87, 0x00, 0x03, 0, 0, /* fxsave64 [rdi+768] */
	0x48, 0x89, 0x67, 0x08,			/* mov [rdi+8], rsp */
	0x8c, 0x57, 0x10,			/* mov [rdi+16], ss */
	0x8c, 0x5f, 0x12,			/* mov [rdi+18], ds */
	0x8c, 0x4f, 0x14,			/* mov [rdi+20], cs */
	0x36, 0xd9, 0x44, 0x24, 0xf0,		/* 37: fld dword ss:[rsp-16] */
	0xd9, 0x77, 0x60,			/* fnstenv [rdi+96] */
	0x41, 0x55,				/* push r13 */
	0x49, 0x89, 0xfd,			/* mov r13, rdi */
	0x41, 0xdd, 0x45, 0x00,			/* fld qword [r13+0]: DS */
	0xd9, 0xb7, 0x80, 0, 0, 0,		/* fnstenv [rdi+128] */
	0x41, 0x5d,				/* pop r13 */
	0xdb, 0xe3,				/* fninit */
};

static void ptr_state(uint8_t *m, uint64_t code, uint64_t data, uint32_t *o)
{
	uint64_t rsp;
	uint16_t ss, ds, cs;

	memcpy(&rsp, m + 8, 8);
	memcpy(&ss, m + 16, 2);
	memcpy(&ds, m + 18, 2);
	memcpy(&cs, m + 20, 2);
	/*
	 * FIP - code, FCS - CS, FOP, FDP - data, FDS - DS; then for [rsp]
	 * (SS), then for [r13] (DS: only RSP and RBP bases default to SS)
	 */
	for (int k = 0; k < 3; k++) {
		uint8_t *e = m + 64 + 32 * k;
		uint32_t w[4];

		memcpy(w, e + 12, 16);
		o[6 * k + 0] = w[0] - (uint32_t)code;
		o[6 * k + 1] = (uint16_t)w[1] - cs;
		o[6 * k + 2] = w[1] >> 16;
		o[6 * k + 3] = w[2] - (uint32_t)(k == 1 ? rsp : data);
		o[6 * k + 4] = (uint16_t)w[3] - (k == 1 ? ss : ds);
		o[6 * k + 5] = w[3] >> 16;
	}
}

static void test_x87_pointers(void)
{
	static uint8_t host[1280] __attribute__((aligned(64)));
	uint8_t code[sizeof(ptr_code) + 1], *buf;
	struct emu_test *t = emu_test_init64();
	uint32_t h[18], e[18];
	uint8_t *m = emu_test_ptr(t, BASE);
	uint64_t v;
	uint32_t w;

	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		emu_test_free(t);
		return;
	}
	memcpy(code, ptr_code, sizeof(ptr_code));
	code[sizeof(ptr_code)] = 0xc3;
	memcpy(buf, code, sizeof(code));
	memset(host, 0, sizeof(host));
	((void (*)(void *))buf)(host);
	ptr_state(host, (uint64_t)buf, (uint64_t)host, h);

	code[sizeof(ptr_code)] = 0xf4;
	memset(m, 0, 1280);
	t->cpu.gpr[R_DI] = BASE;
	/* SS other than DS (as on the host), so that FDS tells them apart */
	t->cpu.seg[SEG_SS].selector = 0x18;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), -1);
	ptr_state(m, EMU_TEST_CODE, BASE, e);
	for (int i = 0; i < 18; i++)
		if (e[i] != h[i])
			printf("  word %d: %x, the host's %x\n", i, e[i], h[i]);
	CHECK(!memcmp(e, h, sizeof(e)));
	CHECK_EQ(h[0], 4);	/* the FADD */
	CHECK_EQ(h[2], 0x0c0);
	CHECK_EQ(h[8], 0x144);	/* d9 44 */
	CHECK_EQ(h[9], (uint32_t)-16);
	CHECK_EQ(h[15], 0);	/* [r13]: FDP is RDI, FDS is DS */
	CHECK_EQ(h[16], 0);

	/* FXSAVE: FOP, FIP, FCS, FDP, FDS as FNSTENV stored them */
	CHECK_EQ(m[256 + 6] | m[256 + 7] << 8, 0x0c0);
	memcpy(&w, m + 256 + 8, 4);
	CHECK_EQ(w, EMU_TEST_CODE + 4);
	CHECK_EQ(m[256 + 12] | m[256 + 13] << 8, t->cpu.seg[SEG_CS].selector);
	memcpy(&w, m + 256 + 16, 4);
	CHECK_EQ(w, BASE);
	CHECK_EQ(m[256 + 20] | m[256 + 21] << 8, t->cpu.seg[SEG_DS].selector);
	/* FXSAVE64: 64-bit FIP and FDP */
	CHECK_EQ(m[768 + 6] | m[768 + 7] << 8, 0x0c0);
	memcpy(&v, m + 768 + 8, 8);
	CHECK_EQ(v, EMU_TEST_CODE + 4);
	memcpy(&v, m + 768 + 16, 8);
	CHECK_EQ(v, BASE);
	/* FNINIT cleared them; FXRSTOR64 of that image brings them back */
	CHECK_EQ(t->cpu.fip, 0);
	{
		static const uint8_t rst[] = { 0x48, 0x0f, 0xae, 0x8f, 0x00,
					       0x03, 0, 0, 0xf4 };

		emu_test_run(t, rst, sizeof(rst));
		CHECK_EQ(t->cpu.fip, EMU_TEST_CODE + 4);
		CHECK_EQ(t->cpu.fdp, BASE);
		CHECK_EQ(t->cpu.fop, 0x0c0);
	}
	munmap(buf, 4096);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_x87_against_host);
	RUN(test_x87_fault_keeps_state);
	RUN(test_x87_pointers);
	return test_summary();
}
