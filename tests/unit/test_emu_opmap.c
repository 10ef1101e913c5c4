// SPDX-License-Identifier: MIT
/*
 * emu: the opcode maps (opmap.c) at encodings the SDM names, and a sweep
 * of them (one-byte; 0F with none, 66, F3 and F2; 0F 38 and 0F 3A; each
 * ModRM.reg with a memory and a register operand, every register form
 * of the groups that have them; LOCK, REX.W and REX.WRXB before each)
 * in 64-bit mode at CPL 3 and CPL 0: each encoding is #UD in the general
 * decoder, the decode cache and the translator iff opmap_defined (the
 * SDM's maps for this CPUID) says it is no instruction, the three end
 * with the same vector, RIP, flags and registers, and none is reported
 * unimplemented. Then the same maps in 32-bit protected mode, in the
 * general decoder.
 */
#include "accel/emu/exec.h"
#include "emu_paths.h"
#include "test.h"

/* The table itself, at encodings the SDM names */
static void test_opmap_table(void)
{
	static const struct {
		uint8_t b[6], n;
		bool code64, defined;
	} cases[] = {
		{ { 0x06 }, 1, true, false }, { { 0x06 }, 1, false, true },
		{ { 0x62, 0x07 }, 2, false, true },	/* BOUND */
		{ { 0x62, 0xc1 }, 2, false, false },	/* EVEX */
		{ { 0xc5, 0xf8, 0x77 }, 3, true, false },	/* VZEROUPPER */
		{ { 0x8d, 0xc1 }, 2, true, false },	/* LEA reg */
		{ { 0x8e, 0xc8 }, 2, true, false },	/* MOV CS */
		{ { 0x8e, 0xf0 }, 2, true, false },	/* MOV Sreg 6 */
		{ { 0x8f, 0xc8 }, 2, true, false },	/* XOP, AMD's */
		{ { 0x0f, 0x0b }, 2, true, false },	/* UD2 */
		{ { 0x0f, 0xff, 0xc0 }, 3, true, false },	/* UD0 */
		{ { 0x0f, 0xc7, 0xc8 }, 3, true, false },	/* CMPXCHG8B reg */
		{ { 0x0f, 0xc7, 0x0f }, 3, true, true },
		{ { 0xf3, 0x0f, 0xc7, 0xf8 }, 4, true, true },	/* RDPID */
		{ { 0x0f, 0xc7, 0xf0 }, 3, true, false },	/* RDRAND */
		{ { 0x0f, 0x38, 0xf0, 0x07 }, 4, true, false },	/* MOVBE */
		{ { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, true, false },
		{ { 0x0f, 0x01, 0xd0 }, 3, true, false },	/* XGETBV */
		{ { 0x0f, 0x01, 0xc9 }, 3, true, false },	/* MWAIT */
		{ { 0x0f, 0x01, 0xf9 }, 3, true, true },	/* RDTSCP */
		{ { 0x0f, 0x01, 0xf8 }, 3, false, false },	/* SWAPGS */
		{ { 0xf3, 0x0f, 0xb8, 0xc1 }, 4, true, true },	/* POPCNT */
		{ { 0x0f, 0xb8, 0xc1 }, 3, true, false },	/* JMPE */
		{ { 0xf3, 0x0f, 0xbd, 0xc1 }, 4, true, true },	/* LZCNT */
		{ { 0x0f, 0x34 }, 2, true, false },	/* SYSENTER: no SEP */
		{ { 0xf0, 0x01, 0x07 }, 3, true, true },
		{ { 0xf0, 0x01, 0xc7 }, 3, true, false },
		{ { 0xf0, 0x39, 0x07 }, 3, true, false },	/* LOCK CMP */
		{ { 0xf0, 0x0f, 0x20, 0xc0 }, 4, true, false },	/* AMD's CR8 */
		{ { 0xf0, 0x90 }, 2, true, false },
		{ { 0x44, 0x0f, 0x20, 0xc0 }, 4, true, true },	/* CR8 */
		{ { 0x0f, 0x20, 0xc8 }, 3, true, false },	/* CR1 */
		{ { 0x48, 0x66, 0x90 }, 3, true, true },
		{ { 0xdd, 0x0f }, 2, true, false },	/* FISTTP: SSE3 */
		{ { 0xd9, 0xd8 }, 2, true, true },	/* FSTP1 */
		{ { 0xd9, 0xd1 }, 2, true, false },
		{ { 0xdf, 0xe0 }, 2, true, true },	/* FNSTSW AX */
		{ { 0x0f, 0xae, 0x3f }, 3, true, true },	/* CLFLUSH */
		{ { 0x66, 0x0f, 0xae, 0x3f }, 4, true, false },	/* CLFLUSHOPT */
		{ { 0x0f, 0xae, 0x27 }, 3, true, false },	/* XSAVE */
		{ { 0x66, 0x0f, 0x7c, 0xc1 }, 4, true, false },	/* HADDPD */
		{ { 0x66, 0x0f, 0xd4, 0xc1 }, 4, true, true },	/* PADDQ */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (opmap_defined(cases[i].b, cases[i].n, cases[i].code64) ==
		    cases[i].defined)
			continue;
		printf("  case %zu: ", i);
		for (int k = 0; k < cases[i].n; k++)
			printf("%02x ", cases[i].b[k]);
		printf("\n");
		CHECK(0);
	}
}

#define SLOT		64	/* bytes of code per encoding */
#define SLOT_PAD	16	/* HLTs before it (for a rel8 of F4) */
#define CODE_BASE	0x400000ULL
#define FORMS_MAX	60000	/* 3.7 MiB of code from CODE_BASE */

struct form {
	uint8_t b[8];
	uint8_t n;
};

static struct form forms[FORMS_MAX];
static size_t nforms;

static void add(const uint8_t *b, int n)
{
	if (nforms >= FORMS_MAX)
		abort();
	memcpy(forms[nforms].b, b, n);
	forms[nforms++].n = n;
}

/* ModRM bytes of a sweep: each reg with [rdi] and with rcx */
static void add_modrms(uint8_t *b, int n, bool all_regs)
{
	for (int reg = 0; reg < 8; reg++) {
		b[n] = 0x07 | reg << 3;
		add(b, n + 1);
		if (!all_regs) {
			b[n] = 0xc1 | reg << 3;
			add(b, n + 1);
		}
	}
	for (int rm = 0; all_regs && rm < 64; rm++) {
		b[n] = 0xc0 | rm;
		add(b, n + 1);
	}
}

static bool is_prefix(uint8_t op, bool code64)
{
	return op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
	       op == 0x64 || op == 0x65 || op == 0x66 || op == 0x67 ||
	       op == 0xf0 || op == 0xf2 || op == 0xf3 ||
	       (code64 && (op & 0xf0) == 0x40);
}

/* The sweep's encodings in 64-bit mode (REX and its cases: code64) */
static void build_forms(bool code64)
{
	static const uint8_t pfxs[] = { 0, 0x66, 0xf3, 0xf2 };
	/* REX before 0F 20..23 (CR8, CR9, DR8), after a prefix, twice */
	static const uint8_t extra[][5] = {
		{ 4, 0x44, 0x0f, 0x20, 0xc0 }, { 4, 0x44, 0x0f, 0x22, 0xc0 },
		{ 4, 0x44, 0x0f, 0x20, 0xc8 }, { 4, 0x44, 0x0f, 0x22, 0xd8 },
		{ 4, 0x44, 0x0f, 0x21, 0xc0 }, { 4, 0x44, 0x0f, 0x23, 0xf8 },
		{ 3, 0x48, 0x66, 0x90 }, { 3, 0x40, 0x48, 0x90 },
		{ 4, 0x48, 0xf0, 0x01, 0x07 }, { 4, 0xf0, 0x48, 0x01, 0x07 },
		{ 4, 0xf0, 0x48, 0x01, 0xc7 }, { 4, 0x66, 0x0f, 0xb8, 0xc1 },
		{ 4, 0x66, 0xf3, 0x0f, 0xb8 },
	};
	uint8_t b[8];

	nforms = 0;
	for (int op = 0; op < 256; op++) {
		if (is_prefix(op, code64) || op == 0x0f)
			continue;
		b[0] = op;
		add_modrms(b, 1, op >= 0xd8 && op <= 0xdf);
		b[0] = 0xf0;
		b[1] = op;
		add_modrms(b, 2, false);
	}
	for (size_t p = 0; p < sizeof(pfxs); p++) {
		int n = 0;

		if (pfxs[p])
			b[n++] = pfxs[p];
		b[n] = 0x0f;
		for (int op = 0; op < 256; op++) {
			b[n + 1] = op;
			if (op == 0x38 || op == 0x3a) {
				for (int op3 = 0; op3 < 256; op3++) {
					b[n + 2] = op3;
					b[n + 3] = 0x07;
					add(b, n + 4);
					b[n + 3] = 0xc1;
					add(b, n + 4);
				}
				continue;
			}
			add_modrms(b, n + 2, op == 0x01 || op == 0xae ||
				   op == 0xc7);
		}
	}
	b[0] = 0xf0;
	b[1] = 0x0f;
	for (int op = 0; op < 256; op++) {
		b[2] = op;
		add_modrms(b, 3, false);
	}
	for (int rex = 0x48; code64 && rex <= 0x4f; rex += 7) {
		b[0] = rex;
		for (int op = 0; op < 256; op++) {
			if (is_prefix(op, true) || op == 0x0f)
				continue;
			b[1] = op;
			add_modrms(b, 2, op >= 0xd8 && op <= 0xdf);
		}
		b[1] = 0x0f;
		for (int op = 0; op < 256; op++) {
			if (op == 0x38 || op == 0x3a)
				continue;
			b[2] = op;
			add_modrms(b, 3, op == 0x01 || op == 0xae ||
				   op == 0xc7);
		}
	}
	for (size_t i = 0; code64 && i < sizeof(extra) / sizeof(extra[0]);
	     i++)
		add(extra[i] + 1, extra[i][0]);
}

/* A fresh state for each encoding: the one set up before the first */
static void reset(struct emu_test *t, const struct emu_cpu *s)
{
	struct emu_cpu *c = &t->cpu;

	memcpy(c, s, offsetof(struct emu_cpu, insn_rip));
	c->error[0] = 0;
	cpu_update_mode(c);
	tlb_flush(c, true);
	/*
	 * HLTs: what jumps to a register (EMU_TEST_DATA) stops there; in
	 * 64-bit mode a pointer loaded from there is not canonical. Zeros
	 * in 32-bit mode, where 0xf4f4f4f4 is outside RAM.
	 */
	memset(emu_test_ptr(t, EMU_TEST_DATA), c->code64 ? 0xf4 : 0, 4096);
}

struct result {
	int vec;
	bool ud;	/* #UD at the encoding (not at what ran after it) */
	uint64_t rip, gpr[16], flags;
	bool unimpl;
};

static void run_form(struct emu_test *t, const struct emu_cpu *s, size_t k,
		     struct result *r)
{
	unsigned long before = emu_unimplemented;
	uint64_t at = CODE_BASE + k * SLOT + SLOT_PAD, frame;

	reset(t, s);
	t->cpu.rip = at;
	for (int i = 0; i < 20 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
	r->vec = t->cpu.shutdown ? -2 : emu_test_vector(t);
	r->rip = t->cpu.rip;
	memcpy(r->gpr, t->cpu.gpr, sizeof(r->gpr));
	r->flags = t->cpu.rflags & EMU_FLAGS;
	/*
	 * What runs after the encoding (bytes of its sweep taken as the
	 * next instruction) may be #UD too: the frame's RIP says whose.
	 * The HLT of the stub stops at the first.
	 */
	r->ud = false;
	if (r->vec == EXC_UD &&
	    gpa_to_hva(&t->vm.mem, t->cpu.gpr[R_SP], 8)) {
		frame = emu_test_r64(t, t->cpu.gpr[R_SP]);
		if (!t->cpu.code64)
			frame = (uint32_t)frame;
		r->ud = frame == at;
	}
	r->unimpl = r->ud && emu_unimplemented != before;
}

/*
 * Each encoding in a slot of its own: HLTs, the bytes, HLTs. What it
 * reads as an immediate or displacement is F4s: a jump goes far (#PF)
 * or back into the HLTs before it.
 */
static void put_code(struct emu_test *t)
{
	for (size_t k = 0; k < nforms; k++) {
		uint8_t *p = emu_test_ptr(t, CODE_BASE + k * SLOT);

		memset(p, 0xf4, SLOT);
		memcpy(p + SLOT_PAD, forms[k].b, forms[k].n);
		/* 32-bit: a rel32 of F4s would leave RAM, one of FFs is -1 */
		if (!t->cpu.code64)
			memset(p + SLOT_PAD + forms[k].n, 0xff,
			       SLOT - SLOT_PAD - forms[k].n);
	}
}

static void print_form(const struct form *f)
{
	for (int i = 0; i < f->n; i++)
		printf("%02x ", f->b[i]);
}

/* Whether two paths may leave different registers: time stamps */
static bool timed(const struct form *f)
{
	int i = 0;

	while (i < f->n && is_prefix(f->b[i], true))
		i++;
	return i + 1 < f->n && f->b[i] == 0x0f &&
	       (f->b[i + 1] == 0x31 ||
		(f->b[i + 1] == 0x01 && i + 2 < f->n && f->b[i + 2] == 0xf9));
}

static int sweep(bool code64, int cpl, int npaths, int *nud)
{
	struct emu_test *t[EMU_PATHS];
	struct emu_cpu *s[EMU_PATHS];
	struct result r[EMU_PATHS];
	int fails = 0;

	for (int p = 0; p < npaths; p++) {
		t[p] = emu_path_cpu(p, code64);
		if (cpl)
			emu_path_cpl3(&t[p]->cpu);
		put_code(t[p]);
		s[p] = malloc(sizeof(*s[p]));
		memcpy(s[p], &t[p]->cpu, sizeof(*s[p]));
	}
	*nud = 0;
	for (size_t k = 0; k < nforms; k++) {
		const struct form *f = &forms[k];
		bool want = !opmap_defined(f->b, f->n, code64);
		bool bad = false;

		*nud += want;
		for (int p = 0; p < npaths; p++) {
			run_form(t[p], s[p], k, &r[p]);
			if (r[p].ud != want || r[p].unimpl ||
			    (p && (r[p].vec != r[0].vec ||
				   r[p].rip != r[0].rip ||
				   r[p].flags != r[0].flags ||
				   (!timed(f) && memcmp(r[p].gpr, r[0].gpr,
							sizeof(r[0].gpr))))))
				bad = true;
		}
		if (!bad)
			continue;
		if (++fails > 40)
			continue;
		printf("  CPL %d: ", cpl);
		print_form(f);
		printf("(%s):", want ? "#UD" : "defined");
		for (int p = 0; p < npaths; p++)
			printf(" %s vector %d%s rip %#llx%s;", emu_path_name(p),
			       r[p].vec, r[p].ud ? " here" : "",
			       (unsigned long long)r[p].rip,
			       r[p].unimpl ? " UNIMPLEMENTED" : "");
		printf("\n");
	}
	for (int p = 0; p < npaths; p++) {
		emu_path_free(t[p]);
		free(s[p]);
	}
	return fails;
}

static void test_opmap_sweep64(void)
{
	int nud;

	build_forms(true);
	for (int cpl = 0; cpl <= 3; cpl += 3) {
		int fails = sweep(true, cpl, EMU_PATHS, &nud);

		printf("  CPL %d: %zu encodings, %d #UD, %d wrong\n", cpl,
		       nforms, nud, fails);
		CHECK_EQ(fails, 0);
	}
	CHECK(nforms > 40000 && nud > 20000);
}

/*
 * 32-bit protected mode, at CPL 0 in the general decoder (the decode
 * cache and the translator run 64-bit code only): the same maps, where
 * the opcodes 64-bit mode took away or made REX run, and SYSCALL, SYSRET
 * and SWAPGS do not
 */
static void test_opmap_sweep32(void)
{
	int nud, fails;

	build_forms(false);
	fails = sweep(false, 0, 1, &nud);
	printf("  %zu encodings, %d #UD, %d wrong\n", nforms, nud, fails);
	CHECK_EQ(fails, 0);
	CHECK(nforms > 20000 && nud > 8000);
}

int main(void)
{
	RUN(test_opmap_table);
	RUN(test_opmap_sweep64);
	RUN(test_opmap_sweep32);
	return test_summary();
}
