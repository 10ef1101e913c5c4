// SPDX-License-Identifier: MIT
/*
 * emu interpreter: integer arithmetic and flags. Expected values follow
 * the Intel SDM vol. 2 instruction pages; flags the SDM calls undefined
 * are masked out of the comparison. Generated from assembly (shown above
 * each byte array) with GNU as.
 */
#include "emu_test.h"
#include "test.h"

#define ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/*
 *	mov al, 0x7f
 *	add al, 1
 *	pushfq
 *	pop rbx
 *	mov cl, 0xff
 *	add cl, 1
 *	pushfq
 *	pop rdx
 *	hlt
 */
static const uint8_t add_code[] = {0xb0, 0x7f, 0x04, 0x01, 0x9c, 0x5b, 0xb1, 0xff, 0x80, 0xc1, 0x01, 0x9c, 0x5a, 0xf4 };

static void test_add_flags(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, add_code, sizeof(add_code));
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xff, 0x80);
	CHECK_EQ(t->cpu.gpr[R_BX] & ARITH, FL_OF | FL_SF | FL_AF);
	CHECK_EQ(t->cpu.gpr[R_CX] & 0xff, 0);
	CHECK_EQ(t->cpu.gpr[R_DX] & ARITH, FL_CF | FL_ZF | FL_AF | FL_PF);
	emu_test_free(t);
}

/*
 *	mov eax, 0
 *	sub eax, 1
 *	pushfq
 *	pop rbx
 *	mov ecx, 0x80000000
 *	sub ecx, 1
 *	pushfq
 *	pop rdx
 *	hlt
 */
static const uint8_t sub_code[] = {0xb8, 0x00, 0x00, 0x00, 0x00, 0x83, 0xe8, 0x01, 0x9c, 0x5b, 0xb9, 0x00, 0x00, 0x00, 0x80, 0x83, 0xe9, 0x01, 0x9c, 0x5a, 0xf4 };

static void test_sub_flags(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, sub_code, sizeof(sub_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 0xffffffff);
	CHECK_EQ(t->cpu.gpr[R_BX] & ARITH, FL_CF | FL_SF | FL_AF | FL_PF);
	CHECK_EQ(t->cpu.gpr[R_CX], 0x7fffffff);
	CHECK_EQ(t->cpu.gpr[R_DX] & ARITH, FL_OF | FL_AF | FL_PF);
	emu_test_free(t);
}

/*
 *	stc
 *	mov eax, 0xffffffff
 *	adc eax, 0
 *	pushfq
 *	pop rbx
 *	stc
 *	mov ecx, 0
 *	sbb ecx, 0
 *	pushfq
 *	pop rdx
 *	hlt
 */
static const uint8_t adc_code[] = {0xf9, 0xb8, 0xff, 0xff, 0xff, 0xff, 0x83, 0xd0, 0x00, 0x9c, 0x5b, 0xf9, 0xb9, 0x00, 0x00, 0x00, 0x00, 0x83, 0xd9, 0x00, 0x9c, 0x5a, 0xf4 };

static void test_adc_sbb(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, adc_code, sizeof(adc_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 0);
	CHECK_EQ(t->cpu.gpr[R_BX] & ARITH, FL_CF | FL_ZF | FL_AF | FL_PF);
	CHECK_EQ(t->cpu.gpr[R_CX], 0xffffffff);
	CHECK_EQ(t->cpu.gpr[R_DX] & ARITH, FL_CF | FL_SF | FL_AF | FL_PF);
	emu_test_free(t);
}

/*
 *	stc
 *	mov al, 0xff
 *	inc al
 *	pushfq
 *	pop rbx
 *	mov ecx, 0
 *	neg ecx
 *	pushfq
 *	pop rdx
 *	mov esi, 1
 *	neg esi
 *	pushfq
 *	pop rdi
 *	hlt
 */
static const uint8_t inc_code[] = {0xf9, 0xb0, 0xff, 0xfe, 0xc0, 0x9c, 0x5b, 0xb9, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xd9, 0x9c, 0x5a, 0xbe, 0x01, 0x00, 0x00, 0x00, 0xf7, 0xde, 0x9c, 0x5f, 0xf4 };

static void test_inc_neg(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, inc_code, sizeof(inc_code));
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xff, 0);
	/* INC leaves CF alone */
	CHECK_EQ(t->cpu.gpr[R_BX] & ARITH, FL_CF | FL_ZF | FL_AF | FL_PF);
	/* NEG: CF = (source != 0) */
	CHECK_EQ(t->cpu.gpr[R_DX] & ARITH, FL_ZF | FL_PF);
	CHECK_EQ(t->cpu.gpr[R_SI], 0xffffffff);
	CHECK_EQ(t->cpu.gpr[R_DI] & ARITH, FL_CF | FL_SF | FL_AF | FL_PF);
	emu_test_free(t);
}

/*
 *	mov al, 0x81
 *	shl al, 1
 *	pushfq
 *	pop r8
 *	mov bl, 0x81
 *	shr bl, 1
 *	pushfq
 *	pop r9
 *	mov cl, 0x81
 *	sar cl, 1
 *	pushfq
 *	pop r10
 *	mov dl, 0x81
 *	rol dl, 1
 *	pushfq
 *	pop r11
 *	hlt
 */
static const uint8_t shift_code[] = {0xb0, 0x81, 0xd0, 0xe0, 0x9c, 0x41, 0x58, 0xb3, 0x81, 0xd0, 0xeb, 0x9c, 0x41, 0x59, 0xb1, 0x81, 0xd0, 0xf9, 0x9c, 0x41, 0x5a, 0xb2, 0x81, 0xd0, 0xc2, 0x9c, 0x41, 0x5b, 0xf4 };

static void test_shifts(void)
{
	struct emu_test *t = emu_test_init64();
	uint64_t szp = FL_CF | FL_OF | FL_SF | FL_ZF | FL_PF;

	emu_test_run(t, shift_code, sizeof(shift_code));
	/* SHL: CF = last bit out, OF = MSB(result) ^ CF */
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xff, 0x02);
	CHECK_EQ(t->cpu.gpr[8] & szp, FL_CF | FL_OF);
	/* SHR: OF = MSB of the original operand */
	CHECK_EQ(t->cpu.gpr[R_BX] & 0xff, 0x40);
	CHECK_EQ(t->cpu.gpr[9] & szp, FL_CF | FL_OF);
	/* SAR: OF = 0 */
	CHECK_EQ(t->cpu.gpr[R_CX] & 0xff, 0xc0);
	CHECK_EQ(t->cpu.gpr[10] & szp, FL_CF | FL_SF | FL_PF);
	/* ROL: CF = LSB(result), OF = MSB(result) ^ CF */
	CHECK_EQ(t->cpu.gpr[R_DX] & 0xff, 0x03);
	CHECK_EQ(t->cpu.gpr[11] & (FL_CF | FL_OF), FL_CF | FL_OF);
	emu_test_free(t);
}

/*
 *	mov al, 0x81
 *	ror al, 1
 *	pushfq
 *	pop r8
 *	clc
 *	mov bl, 0x81
 *	rcl bl, 1
 *	pushfq
 *	pop r9
 *	stc
 *	mov cl, 1
 *	rcr cl, 1
 *	pushfq
 *	pop r10
 *	hlt
 */
static const uint8_t rot_code[] = {0xb0, 0x81, 0xd0, 0xc8, 0x9c, 0x41, 0x58, 0xf8, 0xb3, 0x81, 0xd0, 0xd3, 0x9c, 0x41, 0x59, 0xf9, 0xb1, 0x01, 0xd0, 0xd9, 0x9c, 0x41, 0x5a, 0xf4 };

static void test_rotates(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, rot_code, sizeof(rot_code));
	/* ROR: CF = MSB(result), OF = XOR of the two top bits */
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xff, 0xc0);
	CHECK_EQ(t->cpu.gpr[8] & (FL_CF | FL_OF), FL_CF);
	/* RCL: OF = MSB(result) ^ CF */
	CHECK_EQ(t->cpu.gpr[R_BX] & 0xff, 0x02);
	CHECK_EQ(t->cpu.gpr[9] & (FL_CF | FL_OF), FL_CF | FL_OF);
	/* RCR: OF = MSB(dest) ^ CF, both before the rotate */
	CHECK_EQ(t->cpu.gpr[R_CX] & 0xff, 0x80);
	CHECK_EQ(t->cpu.gpr[10] & (FL_CF | FL_OF), FL_CF | FL_OF);
	emu_test_free(t);
}

/*
 *	stc
 *	mov al, 0x40
 *	mov cl, 0
 *	shl al, cl
 *	pushfq
 *	pop rbx
 *	mov edx, 1
 *	mov cl, 33
 *	shl edx, cl
 *	mov rsi, 1
 *	mov cl, 64
 *	shl rsi, cl
 *	mov eax, 0x80000001
 *	mov edi, 0xc0000000
 *	shld eax, edi, 2
 *	pushfq
 *	pop r8
 *	hlt
 */
static const uint8_t count_code[] = {0xf9, 0xb0, 0x40, 0xb1, 0x00, 0xd2, 0xe0, 0x9c, 0x5b, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb1, 0x21, 0xd3, 0xe2, 0x48, 0xc7, 0xc6, 0x01, 0x00, 0x00, 0x00, 0xb1, 0x40, 0x48, 0xd3, 0xe6, 0xb8, 0x01, 0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0xc0, 0x0f, 0xa4, 0xf8, 0x02, 0x9c, 0x41, 0x58, 0xf4 };

static void test_shift_counts(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, count_code, sizeof(count_code));
	/* count 0: no flags change */
	CHECK(t->cpu.gpr[R_BX] & FL_CF);
	/* counts are masked to 5 (6 with REX.W) bits */
	CHECK_EQ(t->cpu.gpr[R_DX], 2);
	CHECK_EQ(t->cpu.gpr[R_SI], 1);
	/* SHLD: bits from the source fill in; CF = last bit out */
	CHECK_EQ(t->cpu.gpr[R_AX], 7);
	CHECK_EQ(t->cpu.gpr[8] & FL_CF, 0);
	emu_test_free(t);
}

/*
 *	mov eax, 0x80000000
 *	mov ecx, 2
 *	mul ecx
 *	pushfq
 *	pop rbx
 *	mov r8, rax
 *	mov r9, rdx
 *	mov al, 0x10
 *	mov cl, 0x10
 *	mul cl
 *	pushfq
 *	pop r10
 *	mov r11, rax
 *	mov rax, -2
 *	mov rcx, 3
 *	imul rcx
 *	pushfq
 *	pop r12
 *	hlt
 */
static const uint8_t mul_code[] = {0xb8, 0x00, 0x00, 0x00, 0x80, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf7, 0xe1, 0x9c, 0x5b, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1, 0xb0, 0x10, 0xb1, 0x10, 0xf6, 0xe1, 0x9c, 0x41, 0x5a, 0x49, 0x89, 0xc3, 0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff, 0x48, 0xc7, 0xc1, 0x03, 0x00, 0x00, 0x00, 0x48, 0xf7, 0xe9, 0x9c, 0x41, 0x5c, 0xf4 };

static void test_mul(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, mul_code, sizeof(mul_code));
	CHECK_EQ(t->cpu.gpr[8], 0);
	CHECK_EQ(t->cpu.gpr[9], 1);
	CHECK_EQ(t->cpu.gpr[R_BX] & (FL_CF | FL_OF), FL_CF | FL_OF);
	CHECK_EQ(t->cpu.gpr[11] & 0xffff, 0x100);
	CHECK_EQ(t->cpu.gpr[10] & (FL_CF | FL_OF), FL_CF | FL_OF);
	CHECK_EQ(t->cpu.gpr[R_AX], (uint64_t)-6);
	CHECK_EQ(t->cpu.gpr[R_DX], ~0ULL);
	CHECK_EQ(t->cpu.gpr[12] & (FL_CF | FL_OF), 0);
	emu_test_free(t);
}

/*
 *	mov eax, 0x40000000
 *	mov ecx, 2
 *	imul eax, ecx
 *	pushfq
 *	pop rbx
 *	mov edx, -1
 *	imul edx, edx, -1
 *	pushfq
 *	pop rsi
 *	mov r8, 0x7fffffffffffffff
 *	imul r8, r8, 2
 *	pushfq
 *	pop r9
 *	hlt
 */
static const uint8_t imul_code[] = {0xb8, 0x00, 0x00, 0x00, 0x40, 0xb9, 0x02, 0x00, 0x00, 0x00, 0x0f, 0xaf, 0xc1, 0x9c, 0x5b, 0xba, 0xff, 0xff, 0xff, 0xff, 0x6b, 0xd2, 0xff, 0x9c, 0x5e, 0x49, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x4d, 0x6b, 0xc0, 0x02, 0x9c, 0x41, 0x59, 0xf4 };

static void test_imul(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, imul_code, sizeof(imul_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 0x80000000);
	CHECK_EQ(t->cpu.gpr[R_BX] & (FL_CF | FL_OF), FL_CF | FL_OF);
	CHECK_EQ(t->cpu.gpr[R_DX], 1);
	CHECK_EQ(t->cpu.gpr[R_SI] & (FL_CF | FL_OF), 0);
	CHECK_EQ(t->cpu.gpr[8], 0xfffffffffffffffeULL);
	CHECK_EQ(t->cpu.gpr[9] & (FL_CF | FL_OF), FL_CF | FL_OF);
	emu_test_free(t);
}

/*
 *	mov edx, 1
 *	mov eax, 0
 *	mov ecx, 2
 *	div ecx
 *	mov r8, rax
 *	mov r9, rdx
 *	mov eax, -7
 *	cdq
 *	mov ecx, 2
 *	idiv ecx
 *	hlt
 */
static const uint8_t div_code[] = {0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x00, 0x00, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1, 0xb8, 0xf9, 0xff, 0xff, 0xff, 0x99, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf7, 0xf9, 0xf4 };

static void test_div(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, div_code, sizeof(div_code));
	CHECK_EQ(t->cpu.gpr[8], 0x80000000);
	CHECK_EQ(t->cpu.gpr[9], 0);
	/* IDIV truncates toward zero; remainder has the dividend's sign */
	CHECK_EQ(t->cpu.gpr[R_AX], 0xfffffffd);
	CHECK_EQ(t->cpu.gpr[R_DX], 0xffffffff);
	emu_test_free(t);
}

/*
 *	mov ecx, 0
 *	div ecx
 *	hlt
 */
static const uint8_t de_zero[] = {0xb9, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0xf4 };
/*
 *	mov edx, 2
 *	mov eax, 0
 *	mov ecx, 2
 *	div ecx
 *	hlt
 */
static const uint8_t de_ovf[] = {0xba, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x00, 0x00, 0x00, 0x00, 0xb9, 0x02, 0x00, 0x00, 0x00, 0xf7, 0xf1, 0xf4 };
/*
 *	mov eax, 0x80000000
 *	cdq
 *	mov ecx, -1
 *	idiv ecx
 *	hlt
 */
static const uint8_t de_min[] = {0xb8, 0x00, 0x00, 0x00, 0x80, 0x99, 0xb9, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xf9, 0xf4 };

static void check_de(const uint8_t *code, size_t len, uint64_t fault_off)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, code, len);
	CHECK_EQ(emu_test_vector(t), EXC_DE);
	/* #DE is a fault: the saved RIP is the DIV itself */
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), EMU_TEST_CODE + fault_off);
	emu_test_free(t);
}

static void test_divide_errors(void)
{
	check_de(de_zero, sizeof(de_zero), 5);
	check_de(de_ovf, sizeof(de_ovf), 15);
	check_de(de_min, sizeof(de_min), 11);
}

/*
 *	mov eax, 0x10
 *	bt eax, 4
 *	setc bl
 *	bts eax, 0
 *	btr eax, 4
 *	btc eax, 31
 *	bsf ecx, eax
 *	bsr edx, eax
 *	popcnt esi, eax
 *	lzcnt r8d, eax
 *	mov r9d, 0
 *	lzcnt r9d, r9d
 *	mov edi, 8
 *	tzcnt r11d, edi
 *	pushfq
 *	pop r10
 *	mov dword ptr [0x200004], 0
 *	mov ecx, 35
 *	bts dword ptr [0x200000], ecx
 *	bswap eax
 *	hlt
 */
static const uint8_t bits_code[] = {0xb8, 0x10, 0x00, 0x00, 0x00, 0x0f, 0xba, 0xe0, 0x04, 0x0f, 0x92, 0xc3, 0x0f, 0xba, 0xe8, 0x00, 0x0f, 0xba, 0xf0, 0x04, 0x0f, 0xba, 0xf8, 0x1f, 0x0f, 0xbc, 0xc8, 0x0f, 0xbd, 0xd0, 0xf3, 0x0f, 0xb8, 0xf0, 0xf3, 0x44, 0x0f, 0xbd, 0xc0, 0x41, 0xb9, 0x00, 0x00, 0x00, 0x00, 0xf3, 0x45, 0x0f, 0xbd, 0xc9, 0xbf, 0x08, 0x00, 0x00, 0x00, 0xf3, 0x44, 0x0f, 0xbc, 0xdf, 0x9c, 0x41, 0x5a, 0xc7, 0x04, 0x25, 0x04, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0xb9, 0x23, 0x00, 0x00, 0x00, 0x0f, 0xab, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00, 0x0f, 0xc8, 0xf4 };

static void test_bit_ops(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, bits_code, sizeof(bits_code));
	CHECK_EQ(t->cpu.gpr[R_BX] & 0xff, 1);
	CHECK_EQ(t->cpu.gpr[R_CX], 35);
	CHECK_EQ(t->cpu.gpr[R_DX], 31);
	CHECK_EQ(t->cpu.gpr[R_SI], 2);
	CHECK_EQ(t->cpu.gpr[8], 0);
	/* LZCNT of 0 is the operand size, with CF set */
	CHECK_EQ(t->cpu.gpr[9], 32);
	CHECK(t->cpu.gpr[10] & FL_CF);
	CHECK_EQ(t->cpu.gpr[11], 3);
	/* a register bit offset addresses beyond the operand */
	CHECK_EQ(*(uint32_t *)emu_test_ptr(t, 0x200004), 8);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x01000080);
	emu_test_free(t);
}

/*
 *	mov dword ptr [0x200000], 5
 *	mov eax, 5
 *	mov ecx, 9
 *	lock cmpxchg [0x200000], ecx
 *	setz bl
 *	mov eax, 1
 *	lock cmpxchg [0x200000], ecx
 *	setz bh
 *	mov r8d, eax
 *	mov dword ptr [0x200010], 10
 *	mov r9d, 3
 *	lock xadd [0x200010], r9d
 *	mov qword ptr [0x200020], 1
 *	mov qword ptr [0x200028], 2
 *	mov rax, 1
 *	mov rdx, 2
 *	mov rbx, 3
 *	mov rcx, 4
 *	lock cmpxchg16b [0x200020]
 *	setz sil
 *	hlt
 */
static const uint8_t atomic_code[] = {0xc7, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x05, 0x00, 0x00, 0x00, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xb9, 0x09, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xb1, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00, 0x0f, 0x94, 0xc3, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf0, 0x0f, 0xb1, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00, 0x0f, 0x94, 0xc7, 0x41, 0x89, 0xc0, 0xc7, 0x04, 0x25, 0x10, 0x00, 0x20, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x41, 0xb9, 0x03, 0x00, 0x00, 0x00, 0xf0, 0x44, 0x0f, 0xc1, 0x0c, 0x25, 0x10, 0x00, 0x20, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x20, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x28, 0x00, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc2, 0x02, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc3, 0x03, 0x00, 0x00, 0x00, 0x48, 0xc7, 0xc1, 0x04, 0x00, 0x00, 0x00, 0xf0, 0x48, 0x0f, 0xc7, 0x0c, 0x25, 0x20, 0x00, 0x20, 0x00, 0x40, 0x0f, 0x94, 0xc6, 0xf4 };

static void test_atomics(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, atomic_code, sizeof(atomic_code));
	CHECK_EQ(*(uint32_t *)emu_test_ptr(t, 0x200000), 9);
	CHECK_EQ(t->cpu.gpr[8], 9);
	CHECK_EQ(t->cpu.gpr[9], 10);
	CHECK_EQ(*(uint32_t *)emu_test_ptr(t, 0x200010), 13);
	CHECK_EQ(emu_test_r64(t, 0x200020), 3);
	CHECK_EQ(emu_test_r64(t, 0x200028), 4);
	CHECK_EQ(t->cpu.gpr[R_SI] & 0xff, 1);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_add_flags);
	RUN(test_sub_flags);
	RUN(test_adc_sbb);
	RUN(test_inc_neg);
	RUN(test_shifts);
	RUN(test_rotates);
	RUN(test_shift_counts);
	RUN(test_mul);
	RUN(test_imul);
	RUN(test_div);
	RUN(test_divide_errors);
	RUN(test_bit_ops);
	RUN(test_atomics);
	return test_summary();
}
