// SPDX-License-Identifier: MIT
/*
 * emu: #UD exactly where the CPU cpuid.c describes raises it, and
 * silently (an encoding that is no instruction of this CPU is not
 * reported as unimplemented), one fix at a time: LOCK, REX, reserved
 * forms and instructions not in the CPUID; and the instructions that
 * were reported unimplemented though the CPU has them (LAR, LSL, VERR,
 * VERW, RDPMC, the 32-bit-only one-byte opcodes). In the general
 * decoder, the decode cache and the translator. test_emu_opmap sweeps
 * the opcode maps.
 */
#include "accel/emu/exec.h"
#include "emu_paths.h"
#include "test.h"

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
		for (int p = 0; p < (code64 ? EMU_PATHS : 1); p++) {
			struct emu_test *t = emu_path_cpu(p, code64);
			unsigned long before = emu_unimplemented;
			uint8_t code[16];
			int v;

			memcpy(code, sp[i].b, sp[i].n);
			code[sp[i].n] = 0xf4;
			emu_test_run(t, code, sp[i].n + 1);
			v = emu_test_vector(t);
			if (v != sp[i].vec || emu_unimplemented != before) {
				printf("  spot %zu (%s): vector %d, want %d%s\n",
				       i, emu_path_name(p), v, sp[i].vec,
				       emu_unimplemented != before ?
				       ", reported unimplemented" : "");
				CHECK(0);
			}
			emu_path_free(t);
		}
	}
}

#define SPOTS(s, code64) check_spots(s, sizeof(s) / sizeof(s[0]), code64)

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

	for (int p = 0; p < EMU_PATHS; p++) {
		struct emu_test *t = emu_path_cpu(p, true);
		unsigned long before = emu_unimplemented;

		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), -1);
		CHECK_EQ(t->cpu.gpr[R_AX], 0x112233445566aabbULL);
		CHECK_EQ(t->cpu.rip, EMU_TEST_CODE + sizeof(code));
		CHECK_EQ(emu_unimplemented, before);
		emu_path_free(t);
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
		struct emu_test *t = emu_path_cpu(EMU_GENERAL, true);
		uint8_t code[8] = { 0 };

		memcpy(code, user[i], 4);
		code[user[i][0] == 0x44 ? 4 : 3] = 0xf4;
		emu_path_cpl3(&t->cpu);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_UD);
		emu_path_free(t);
	}
	/* SYSCALL in compatibility mode: Intel's is #UD */
	{
		static const uint8_t code[] = { 0x0f, 0x05, 0xf4 };
		struct emu_test *t = emu_path_cpu(EMU_GENERAL, true);

		t->cpu.seg[SEG_CS].selector = 0x18;
		t->cpu.seg[SEG_CS].l = 0;
		t->cpu.seg[SEG_CS].db = 1;
		cpu_update_mode(&t->cpu);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_UD);
		emu_path_free(t);
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
		for (int p = 0; p < EMU_PATHS; p++) {
			/* mov ecx, sel; cmp al, 0 (ZF: 1 or 0); insn; hlt */
			uint8_t code[] = { 0xb9, cases[i].sel, 0, 0, 0, 0x3c,
					   cases[i].zf ? 1 : 0, 0, 0, 0, 0xf4 };
			struct emu_test *t = emu_path_cpu(p, true);
			unsigned long before = emu_unimplemented;

			memcpy(code + 7, cases[i].insn, 3);
			if (cases[i].cpl3)
				emu_path_cpl3(&t->cpu);
			emu_test_run(t, code, sizeof(code));
			/* HLT at CPL 3: #GP */
			CHECK_EQ(emu_test_vector(t),
				 cases[i].cpl3 ? EXC_GP : -1);
			CHECK_EQ(!!(t->cpu.rflags & FL_ZF), cases[i].zf);
			CHECK_EQ(t->cpu.gpr[R_AX], cases[i].rax);
			CHECK_EQ(emu_unimplemented, before);
			emu_path_free(t);
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
			struct emu_test *t = emu_path_cpu(EMU_GENERAL, true);
			uint8_t code[4] = { 0 };
			int n = i ? 3 : 2;

			memcpy(code, insns[i], n);
			code[n] = 0xf4;
			t->cpu.cr4 |= CR4_TSD;
			if (cpl)
				emu_path_cpl3(&t->cpu);
			emu_test_run(t, code, n + 1);
			/* at CPL 3 the HLT is #GP too: the frame says where */
			CHECK_EQ(emu_test_vector(t), cpl ? EXC_GP : -1);
			if (cpl)
				CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP] + 8),
					 EMU_TEST_CODE);
			else
				CHECK_EQ(t->cpu.rip, EMU_TEST_CODE + n + 1);
			emu_path_free(t);
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
		struct emu_test *t = emu_path_cpu(EMU_GENERAL, false);
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
		emu_path_free(t);
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

int main(void)
{
	RUN(test_ud_silent);
	RUN(test_lock_ud);
	RUN(test_rex_then_prefix);
	RUN(test_reserved_forms);
	RUN(test_desc_query);
	RUN(test_tsd);
	RUN(test_rdpmc);
	RUN(test_legacy32);
	return test_summary();
}
