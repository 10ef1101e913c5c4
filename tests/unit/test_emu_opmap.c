// SPDX-License-Identifier: MIT
/*
 * emu: #UD exactly where the CPU cpuid.c describes raises it, silently
 * (an encoding that is no instruction of this CPU is not reported as
 * unimplemented), in the general decoder, the decode cache and the
 * translator alike: the fixes one by one, then a sweep of the opcode
 * maps (one-byte; 0F with none, 66, F3 and F2; 0F 38 and 0F 3A; each
 * ModRM.reg with a memory and a register operand, every register form
 * of the groups that have them; LOCK, REX.W and REX.WRXB before each)
 * in 64-bit mode at CPL 3 and CPL 0: each encoding is #UD in the three
 * paths iff opmap_defined (the SDM's maps for this CPUID) says it is no
 * instruction, the three end with the same vector, RIP, flags and
 * registers, and none is reported unimplemented. Then the same maps in
 * 32-bit protected mode, in the general decoder.
 */
#include "accel/emu/exec.h"
#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define TSS		0x3000ULL
#define IDT32		0x2000ULL
#define SEL_UDATA	0x33
#define SEL_UCODE	0x3b

enum { GENERAL, DCACHE, JIT, NPATHS };
static const char *const path_name[] = { "general decoder", "decode cache",
					 "translator" };

/*
 * A CPU for path in 64-bit mode (code64) or flat 32-bit protected mode
 * without paging, with DPL 3 code and data at SEL_UCODE and SEL_UDATA, a
 * TSS whose RSP0 exceptions from CPL 3 take, the GPRs pointing at
 * EMU_TEST_DATA but for RCX (1) and RSP
 */
static struct emu_test *make_cpu(int path, bool code64)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;

	if (path == GENERAL) {
		dcache_destroy(c->dcache);
		c->dcache = NULL;
	} else if (path == JIT) {
		c->jit = jit_create();
		if (!c->jit)
			abort();
		jit_eager(c->jit);
	}
	emu_test_w64(t, EMU_TEST_GDT + 0x30, 0x00cff3000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x38, 0x00affb000000ffffULL);
	c->gdt.limit = 0x3f;
	emu_test_w64(t, TSS + 4, EMU_TEST_STACK);
	c->tr = (struct x86_segment){ .selector = 0x40, .base = TSS,
		.limit = 0x67, .type = 0xb, .present = 1 };
	for (int r = 0; r < 16; r++)
		c->gpr[r] = EMU_TEST_DATA;
	c->gpr[R_CX] = 1;
	c->gpr[R_SP] = EMU_TEST_STACK;
	if (!code64) {
		for (uint64_t v = 0; v < 32; v++) {
			uint64_t h = EMU_TEST_STUB(v);

			emu_test_w64(t, IDT32 + v * 8, (h & 0xffff) |
				     (0x18ULL << 16) | (0x8eULL << 40) |
				     ((h >> 16) << 48));
		}
		c->idt = (struct x86_dtable){ IDT32, 32 * 8 - 1 };
		c->cr0 &= ~(uint64_t)X86_CR0_PG;
		c->cr4 = CR4_OSFXSR;
		c->efer = 0;
		c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x18,
			.type = 0xb, .s = 1, .present = 1, .db = 1, .g = 1,
			.limit = 0xffffffff };
		cpu_update_mode(c);
		tlb_flush(c, true);
	}
	return t;
}

static void to_cpl3(struct emu_cpu *c)
{
	c->seg[SEG_CS] = (struct x86_segment){ .selector = SEL_UCODE,
		.type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1, .dpl = 3,
		.limit = 0xffffffff };
	c->seg[SEG_SS] = (struct x86_segment){ .selector = SEL_UDATA,
		.type = 3, .s = 1, .present = 1, .db = 1, .g = 1, .dpl = 3,
		.limit = 0xffffffff };
	cpu_update_mode(c);
}

static void free_cpu(struct emu_test *t)
{
	if (t->cpu.jit)
		jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

struct spot {
	uint8_t b[12];
	uint8_t n;
	int vec;	/* the vector it raises, -1 none */
};

/*
 * Each spot (then a HLT) in 64-bit mode in the three paths, or in 32-bit
 * mode in the general decoder: its vector, and none reported unimplemented
 */
static void check_spots(const struct spot *sp, size_t n, bool code64)
{
	for (size_t i = 0; i < n; i++) {
		for (int p = 0; p < (code64 ? NPATHS : 1); p++) {
			struct emu_test *t = make_cpu(p, code64);
			unsigned long before = emu_unimplemented;
			uint8_t code[16];
			int v;

			memcpy(code, sp[i].b, sp[i].n);
			code[sp[i].n] = 0xf4;
			emu_test_run(t, code, sp[i].n + 1);
			v = emu_test_vector(t);
			if (v != sp[i].vec || emu_unimplemented != before) {
				printf("  spot %zu (%s): vector %d, want %d%s\n",
				       i, path_name[p], v, sp[i].vec,
				       emu_unimplemented != before ?
				       ", reported unimplemented" : "");
				CHECK(0);
			}
			free_cpu(t);
		}
	}
}

#define SPOTS(s, code64) check_spots(s, sizeof(s) / sizeof(s[0]), code64)
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

/*
 * Encodings invalid in 64-bit mode, VEX (no AVX), SSSE3, UD2: #UD, not
 * reported as unimplemented
 */
static void test_ud_silent(void)
{
	static const struct spot s[] = {
		{ { 0x06 }, 1, EXC_UD },
		{ { 0x27 }, 1, EXC_UD },
		{ { 0xc5, 0xf8, 0x77 }, 3, EXC_UD },
		{ { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, EXC_UD },
		{ { 0x0f, 0x0b }, 2, EXC_UD },
		{ { 0x0f, 0x04 }, 2, EXC_UD },
		{ { 0x90 }, 1, -1 },
	};

	SPOTS(s, true);
}

/*
 * LOCK: a read-modify-write of memory (ADD..XOR but CMP, INC, DEC, NOT,
 * NEG, XCHG, BTS/BTR/BTC, CMPXCHG, CMPXCHG8B, XADD), else #UD: a
 * register destination, CMP, MOV, a NOP, MOV CR0 (AMD's alias of CR8,
 * not Intel's), LFENCE
 */
static void test_lock_ud(void)
{
	static const struct spot s[] = {
		{ { 0xf0, 0x01, 0x07 }, 3, -1 },
		{ { 0xf0, 0x48, 0x0f, 0xc1, 0x07 }, 5, -1 },
		{ { 0xf0, 0x0f, 0xba, 0x2f, 0x01 }, 5, -1 },
		{ { 0xf0, 0x0f, 0xc7, 0x0f }, 4, -1 },
		{ { 0xf0, 0xf7, 0x1f }, 3, -1 },
		{ { 0xf0, 0x87, 0x07 }, 3, -1 },
		{ { 0xf0, 0x01, 0xc7 }, 3, EXC_UD },
		{ { 0xf0, 0x39, 0x07 }, 3, EXC_UD },
		{ { 0xf0, 0x83, 0x3f, 0x01 }, 4, EXC_UD },
		{ { 0xf0, 0x89, 0x07 }, 3, EXC_UD },
		{ { 0xf0, 0x90 }, 2, EXC_UD },
		{ { 0xf0, 0x0f, 0xa3, 0x07 }, 4, EXC_UD },
		{ { 0xf0, 0x0f, 0xba, 0x27, 0x01 }, 5, EXC_UD },
		{ { 0xf0, 0x0f, 0x20, 0xc0 }, 4, EXC_UD },
		{ { 0xf0, 0x0f, 0x1f, 0x07 }, 4, EXC_UD },
		{ { 0xf0, 0xa4 }, 2, EXC_UD },
		{ { 0xf0, 0xff, 0x27 }, 3, EXC_UD },
	};

	SPOTS(s, true);
}

/*
 * A REX prefix counts only right before the opcode: one before a legacy
 * prefix or before another REX is ignored (it was taken for the opcode)
 */
static void test_rex_then_prefix(void)
{
	/* rex rex.w mov rax, imm64; rex.w 66 mov ax, imm16; hlt */
	static const uint8_t code[] = {
		0x40, 0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22,
		0x11, 0x48, 0x66, 0xb8, 0xbb, 0xaa, 0xf4,
	};

	for (int p = 0; p < NPATHS; p++) {
		struct emu_test *t = make_cpu(p, true);
		unsigned long before = emu_unimplemented;

		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), -1);
		CHECK_EQ(t->cpu.gpr[R_AX], 0x112233445566aabbULL);
		CHECK_EQ(t->cpu.rip, EMU_TEST_CODE + sizeof(code));
		CHECK_EQ(emu_unimplemented, before);
		free_cpu(t);
	}
}

/*
 * Reserved forms and instructions the CPUID does not show: #UD, and
 * before the CPL's #GP
 */
static void test_reserved_forms(void)
{
	static const struct spot s[] = {
		{ { 0x8f, 0x07 }, 2, -1 },		/* pop [rdi] */
		{ { 0x8f, 0x0f }, 2, EXC_UD },		/* /1: XOP */
		{ { 0x8f, 0xf8 }, 2, EXC_UD },
		{ { 0xdb, 0x0f }, 2, EXC_UD },		/* FISTTP: SSE3 */
		{ { 0xdd, 0x0f }, 2, EXC_UD },
		{ { 0xdf, 0x0f }, 2, EXC_UD },
		{ { 0xdb, 0x17 }, 2, -1 },		/* fist [rdi] */
		{ { 0x0f, 0x01, 0xc8 }, 3, EXC_UD },	/* MONITOR */
		{ { 0x0f, 0x01, 0xc9 }, 3, EXC_UD },	/* MWAIT */
		{ { 0x0f, 0x20, 0xc8 }, 3, EXC_UD },	/* CR1 */
		{ { 0x0f, 0x22, 0xe9 }, 3, EXC_UD },	/* CR5 */
		{ { 0x44, 0x0f, 0x20, 0xc8 }, 4, EXC_UD },	/* CR9 */
		{ { 0x44, 0x0f, 0x21, 0xc0 }, 4, EXC_UD },	/* DR8 */
		{ { 0x44, 0x0f, 0x20, 0xc0 }, 4, -1 },	/* CR8 */
	};
	/* CPL 3 takes #UD too (mov rax, cr1; mov r8, dr8) */
	static const uint8_t user[][4] = {
		{ 0x0f, 0x20, 0xc8 }, { 0x44, 0x0f, 0x21, 0xc0 },
	};

	SPOTS(s, true);
	for (size_t i = 0; i < 2; i++) {
		struct emu_test *t = make_cpu(GENERAL, true);
		uint8_t code[8] = { 0 };

		memcpy(code, user[i], 4);
		code[user[i][0] == 0x44 ? 4 : 3] = 0xf4;
		to_cpl3(&t->cpu);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_UD);
		free_cpu(t);
	}
	/* SYSCALL in compatibility mode: Intel's is #UD */
	{
		static const uint8_t code[] = { 0x0f, 0x05, 0xf4 };
		struct emu_test *t = make_cpu(GENERAL, true);

		t->cpu.seg[SEG_CS].selector = 0x18;
		t->cpu.seg[SEG_CS].l = 0;
		t->cpu.seg[SEG_CS].db = 1;
		cpu_update_mode(&t->cpu);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_UD);
		free_cpu(t);
	}
}

/*
 * LAR, LSL, VERR, VERW (were unimplemented): ZF and the access rights or
 * limit of a descriptor the CPL may see
 */
static void test_desc_query(void)
{
	static const struct {
		uint8_t sel, insn[3];
		bool cpl3, zf;
		uint64_t rax;	/* EMU_TEST_DATA: left alone */
	} cases[] = {
		{ 0x10, { 0x0f, 0x02, 0xc1 }, false, true, 0x00c09300 },
		{ 0x08, { 0x0f, 0x02, 0xc1 }, false, true, 0x00a09b00 },
		{ 0x10, { 0x0f, 0x03, 0xc1 }, false, true, 0xffffffff },
		{ 0x48, { 0x0f, 0x02, 0xc1 }, false, false, EMU_TEST_DATA },
		{ 0x00, { 0x0f, 0x03, 0xc1 }, false, false, EMU_TEST_DATA },
		{ 0x08, { 0x0f, 0x00, 0xe1 }, false, true, EMU_TEST_DATA },
		{ 0x08, { 0x0f, 0x00, 0xe9 }, false, false, EMU_TEST_DATA },
		{ 0x10, { 0x0f, 0x00, 0xe9 }, false, true, EMU_TEST_DATA },
		{ 0x10, { 0x0f, 0x02, 0xc1 }, true, false, EMU_TEST_DATA },
		{ 0x33, { 0x0f, 0x02, 0xc1 }, true, true, 0x00c0f300 },
		{ 0x33, { 0x0f, 0x00, 0xe9 }, true, true, EMU_TEST_DATA },
		{ 0x10, { 0x0f, 0x00, 0xe1 }, true, false, EMU_TEST_DATA },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int p = 0; p < NPATHS; p++) {
			/* mov ecx, sel; cmp al, 0 (ZF: 1 or 0); insn; hlt */
			uint8_t code[] = { 0xb9, cases[i].sel, 0, 0, 0, 0x3c,
					   cases[i].zf ? 1 : 0, 0, 0, 0, 0xf4 };
			struct emu_test *t = make_cpu(p, true);
			unsigned long before = emu_unimplemented;

			memcpy(code + 7, cases[i].insn, 3);
			if (cases[i].cpl3)
				to_cpl3(&t->cpu);
			emu_test_run(t, code, sizeof(code));
			/* HLT at CPL 3: #GP */
			CHECK_EQ(emu_test_vector(t),
				 cases[i].cpl3 ? EXC_GP : -1);
			CHECK_EQ(!!(t->cpu.rflags & FL_ZF), cases[i].zf);
			CHECK_EQ(t->cpu.gpr[R_AX], cases[i].rax);
			CHECK_EQ(emu_unimplemented, before);
			free_cpu(t);
		}
	}
}

/* CR4.TSD: RDTSC and RDTSCP at CPL 3 are #GP(0), at CPL 0 they run */
static void test_tsd(void)
{
	static const uint8_t insns[][3] = { { 0x0f, 0x31 },
					    { 0x0f, 0x01, 0xf9 } };

	for (int i = 0; i < 2; i++) {
		for (int cpl = 0; cpl <= 3; cpl += 3) {
			struct emu_test *t = make_cpu(GENERAL, true);
			uint8_t code[4] = { 0 };
			int n = i ? 3 : 2;

			memcpy(code, insns[i], n);
			code[n] = 0xf4;
			t->cpu.cr4 |= CR4_TSD;
			if (cpl)
				to_cpl3(&t->cpu);
			emu_test_run(t, code, n + 1);
			/* at CPL 3 the HLT is #GP too: the frame says where */
			CHECK_EQ(emu_test_vector(t), cpl ? EXC_GP : -1);
			if (cpl)
				CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP] + 8),
					 EMU_TEST_CODE);
			else
				CHECK_EQ(t->cpu.rip, EMU_TEST_CODE + n + 1);
			free_cpu(t);
		}
	}
}

/* RDPMC (was unimplemented): CPUID leaf 0xa shows no counters, #GP(0) */
static void test_rdpmc(void)
{
	static const struct spot s[] = {
		{ { 0x0f, 0x33 }, 2, EXC_GP },
	};

	SPOTS(s, true);
}

/*
 * 32-bit protected mode: the BCD adjustments, BOUND, ARPL, LES, SALC
 * (were #UD, reported unimplemented); in 64-bit mode #UD
 */
static void test_legacy32(void)
{
	static const struct {
		uint8_t b[12], n;
		int vec;
		uint32_t ax, flags;	/* AX (or EAX: mask) and CF|ZF|AF */
		uint32_t mask;
	} cases[] = {
		/* mov al, 0x79; add al, 0x35; daa: 0x14, CF */
		{ { 0xb0, 0x79, 0x04, 0x35, 0x27 }, 5, -1, 0x14, FL_CF | FL_AF,
		  0xff },
		/* mov al, 0x35; sub al, 0x47; das: 0x88, CF */
		{ { 0xb0, 0x35, 0x2c, 0x47, 0x2f }, 5, -1, 0x88, FL_CF | FL_AF,
		  0xff },
		/* mov ax, 9; add al, 8; aaa: 0x0107, CF AF */
		{ { 0x66, 0xb8, 0x09, 0x00, 0x04, 0x08, 0x37 }, 7, -1, 0x0107,
		  FL_CF | FL_AF, 0xffff },
		/* mov ax, 0x0203; sub al, 5; aas: 0x0108, CF AF */
		{ { 0x66, 0xb8, 0x03, 0x02, 0x2c, 0x05, 0x3f }, 7, -1, 0x0108,
		  FL_CF | FL_AF, 0xffff },
		/* mov al, 63; aam: 0x0603 */
		{ { 0xb0, 0x3f, 0xd4, 0x0a }, 4, -1, 0x0603, 0, 0xffff },
		/* aam 0: #DE */
		{ { 0xd4, 0x00 }, 2, EXC_DE, 0, 0, 0 },
		/* mov ax, 0x0607; aad: 0x0043 */
		{ { 0x66, 0xb8, 0x07, 0x06, 0xd5, 0x0a }, 6, -1, 0x0043, 0,
		  0xffff },
		/* stc; salc */
		{ { 0xf9, 0xd6 }, 2, -1, 0xff, FL_CF, 0xff },
		/* mov ebx, 10; bound ebx, [edi] (0..10): in */
		{ { 0xbb, 0x0a, 0, 0, 0, 0x62, 0x1f }, 7, -1, 0, 0, 0 },
		/* mov ebx, 11; bound ebx, [edi]: #BR */
		{ { 0xbb, 0x0b, 0, 0, 0, 0x62, 0x1f }, 7, EXC_BR, 0, 0, 0 },
		/* mov ax, 0x10; mov cx, 0x13; arpl ax, cx: 0x13, ZF */
		{ { 0x66, 0xb8, 0x10, 0x00, 0x66, 0xb9, 0x13, 0x00, 0x63, 0xc8 },
		  10, -1, 0x13, FL_ZF, 0xffff },
		/* les eax, [edi + 8] (0x1234, 0x10) */
		{ { 0xc4, 0x47, 0x08 }, 3, -1, 0x1234, 0, 0xffffffff },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_test *t = make_cpu(GENERAL, false);
		unsigned long before = emu_unimplemented;
		uint8_t code[16];

		emu_test_w64(t, EMU_TEST_DATA, 10ULL << 32);
		emu_test_w64(t, EMU_TEST_DATA + 8, 0x10ULL << 32 | 0x1234);
		t->cpu.seg[SEG_ES].selector = 0;
		memcpy(code, cases[i].b, cases[i].n);
		code[cases[i].n] = 0xf4;
		emu_test_run(t, code, cases[i].n + 1);
		if (emu_test_vector(t) != cases[i].vec ||
		    (t->cpu.gpr[R_AX] & cases[i].mask) != cases[i].ax ||
		    (cases[i].mask && (t->cpu.rflags &
				       (FL_CF | FL_ZF | FL_AF)) !=
		     cases[i].flags) ||
		    emu_unimplemented != before) {
			printf("  case %zu: vector %d, eax %#llx, flags %#llx\n",
			       i, emu_test_vector(t),
			       (unsigned long long)t->cpu.gpr[R_AX],
			       (unsigned long long)t->cpu.rflags);
			CHECK(0);
		}
		if (i == sizeof(cases) / sizeof(cases[0]) - 1)
			CHECK_EQ(t->cpu.seg[SEG_ES].selector, 0x10);
		free_cpu(t);
	}
	/* all #UD in 64-bit mode, silently (test_ud_silent's 06 and 27) */
	{
		static const struct spot s[] = {
			{ { 0x2f }, 1, EXC_UD }, { { 0x37 }, 1, EXC_UD },
			{ { 0x3f }, 1, EXC_UD }, { { 0xd4, 0x0a }, 2, EXC_UD },
			{ { 0xd5, 0x0a }, 2, EXC_UD }, { { 0xd6 }, 1, EXC_UD },
			{ { 0x62, 0x07 }, 2, EXC_UD },
		};

		SPOTS(s, true);
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
	struct emu_test *t[NPATHS];
	struct emu_cpu *s[NPATHS];
	struct result r[NPATHS];
	int fails = 0;

	for (int p = 0; p < npaths; p++) {
		t[p] = make_cpu(p, code64);
		if (cpl)
			to_cpl3(&t[p]->cpu);
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
			printf(" %s vector %d%s rip %#llx%s;", path_name[p],
			       r[p].vec, r[p].ud ? " here" : "",
			       (unsigned long long)r[p].rip,
			       r[p].unimpl ? " UNIMPLEMENTED" : "");
		printf("\n");
	}
	for (int p = 0; p < npaths; p++) {
		free_cpu(t[p]);
		free(s[p]);
	}
	return fails;
}

static void test_opmap_sweep64(void)
{
	int nud;

	build_forms(true);
	for (int cpl = 0; cpl <= 3; cpl += 3) {
		int fails = sweep(true, cpl, NPATHS, &nud);

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
	RUN(test_ud_silent);
	RUN(test_lock_ud);
	RUN(test_rex_then_prefix);
	RUN(test_reserved_forms);
	RUN(test_desc_query);
	RUN(test_tsd);
	RUN(test_rdpmc);
	RUN(test_legacy32);
	RUN(test_opmap_sweep64);
	RUN(test_opmap_sweep32);
	return test_summary();
}
