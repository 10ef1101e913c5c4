// SPDX-License-Identifier: MIT
/*
 * emu interpreter: privilege transitions as a 64-bit OS uses them: LTR,
 * IRETQ to CPL 3, SYSCALL/SYSRETQ through STAR/LSTAR, and a user-mode
 * page fault on a supervisor page delivered on the TSS RSP0 stack.
 * Expected values follow the Intel SDM vol. 3 (5.8.8, 6.14) and vol. 2
 * (SYSCALL, SYSRET). Byte arrays are GNU as output of the listed code.
 */
#include "emu_test.h"
#include "test.h"

#define TSS 0x7000ULL
#define RSP0 0x90000ULL

static void setup_gdt(struct emu_test *t)
{
	emu_test_w64(t, EMU_TEST_GDT + 0x10, 0x00af9b000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x18, 0x00cf93000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x20, 0x00cffb000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x28, 0x00cff3000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x30, 0x00affb000000ffffULL);
	emu_test_w64(t, EMU_TEST_GDT + 0x40, 0x67 | (TSS << 16) |
		     (0x89ULL << 40));
	emu_test_w64(t, EMU_TEST_GDT + 0x48, 0);
	emu_test_w64(t, TSS + 4, RSP0);
	t->cpu.gdt.limit = 0x4f;
	/* 0xa00000..0xbfffff: supervisor-only */
	emu_test_w64(t, EMU_TEST_PML4 + 0x2000 + 5 * 8, (5ULL << 21) | 0x83);
}

/*
 *	mov ax, 0x40
 *	ltr ax
 *	mov ecx, 0xc0000081
 *	xor eax, eax
 *	mov edx, 0x00230010
 *	wrmsr
 *	mov ecx, 0xc0000082
 *	mov eax, offset entry
 *	xor edx, edx
 *	wrmsr
 *	push 0x2b
 *	push 0x300000
 *	push 0x2
 *	push 0x33
 *	push offset user
 *	iretq
 *	entry: mov r13, rcx
 *	mov r14, r11
 *	mov r15, 7
 *	sysretq
 *	user: mov r12, 1
 *	syscall
 *	mov r10, rsp
 *	mov rax, [0xa00000]
 *	hlt
 */
static const uint8_t user_code[] = {0x66, 0xb8, 0x40, 0x00, 0x0f, 0x00, 0xd8, 0xb9, 0x81, 0x00, 0x00, 0xc0, 0x31, 0xc0, 0xba, 0x10, 0x00, 0x23, 0x00, 0x0f, 0x30, 0xb9, 0x82, 0x00, 0x00, 0xc0, 0xb8, 0x35, 0x00, 0x10, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0x6a, 0x2b, 0x68, 0x00, 0x00, 0x30, 0x00, 0x6a, 0x02, 0x6a, 0x33, 0x68, 0x45, 0x00, 0x10, 0x00, 0x48, 0xcf, 0x49, 0x89, 0xcd, 0x4d, 0x89, 0xde, 0x49, 0xc7, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x48, 0x0f, 0x07, 0x49, 0xc7, 0xc4, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x49, 0x89, 0xe2, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0xa0, 0x00, 0xf4 };

static void test_user_syscall_and_fault(void)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;
	uint64_t sp;

	setup_gdt(t);
	emu_test_run(t, user_code, sizeof(user_code));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(c->cpl, 0);
	CHECK_EQ(c->gpr[12], 1);
	CHECK_EQ(c->gpr[15], 7);
	/* SYSCALL saved the user RIP (after the SYSCALL) and RFLAGS */
	CHECK(c->gpr[13] > EMU_TEST_CODE && c->gpr[13] < EMU_TEST_CODE + 0x100);
	CHECK_EQ(c->gpr[14] & 0xff, 0x2);
	CHECK_EQ(c->gpr[10], 0x300000);
	/* #PF from CPL 3 on a present supervisor page: P|U = 5, on RSP0 */
	sp = c->gpr[R_SP];
	CHECK_EQ(sp, RSP0 - 6 * 8);
	CHECK_EQ(emu_test_r64(t, sp), 5);
	CHECK_EQ(emu_test_r64(t, sp + 16), 0x33);	/* CS */
	CHECK_EQ(emu_test_r64(t, sp + 32), 0x300000);	/* RSP */
	CHECK_EQ(emu_test_r64(t, sp + 40), 0x2b);	/* SS */
	CHECK_EQ(c->cr2, 0xa00000);
	/* LTR marked the TSS busy (type 0xb) */
	CHECK_EQ((emu_test_r64(t, EMU_TEST_GDT + 0x40) >> 40) & 0xf, 0xb);
	emu_test_free(t);
}

/*
 *	mov rax, 5
 *	int 0x1f
 *	hlt
 */
static const uint8_t int_code[] = {0x48, 0xc7, 0xc0, 0x05, 0x00, 0x00, 0x00, 0xcd, 0x1f, 0xf4 };

static void test_soft_interrupt(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, int_code, sizeof(int_code));
	CHECK_EQ(emu_test_vector(t), 0x1f);
	/* INT n pushes the address of the next instruction, no error code */
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), EMU_TEST_CODE + 9);
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP] + 8), 8);
	emu_test_free(t);
}

/*
 *	mov eax, 1
 *	pshufb xmm0, xmm1
 *	hlt
 */
static const uint8_t ud_code[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0x66, 0x0f, 0x38, 0x00, 0xc1, 0xf4 };

static void test_unimplemented_is_ud(void)
{
	struct emu_test *t = emu_test_init64();

	/* SSSE3 is not advertised: PSHUFB must raise #UD, not stop the VMM */
	emu_test_run(t, ud_code, sizeof(ud_code));
	CHECK_EQ(emu_test_vector(t), EXC_UD);
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), EMU_TEST_CODE + 5);
	CHECK(!t->cpu.error[0]);
	emu_test_free(t);
}

/*
 *	push 0x08
 *	lea rax, [rip + back]
 *	push rax
 *	rex.w retf
 *	back: mov r8, 0x55
 *	mov qword ptr [0x200000], offset target
 *	mov word ptr [0x200008], 0x08
 *	rex.w jmp fword ptr [0x200000]
 *	hlt
 *	target: mov r9, 0x66
 *	hlt
 */
static const uint8_t far_code[] = {0x6a, 0x08, 0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00, 0x50, 0x48, 0xcb, 0x49, 0xc7, 0xc0, 0x55, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x32, 0x00, 0x10, 0x00, 0x66, 0xc7, 0x04, 0x25, 0x08, 0x00, 0x20, 0x00, 0x08, 0x00, 0x48, 0xff, 0x2c, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4, 0x49, 0xc7, 0xc1, 0x66, 0x00, 0x00, 0x00, 0xf4 };

static void test_far_return_and_jump(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, far_code, sizeof(far_code));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[8], 0x55);
	CHECK_EQ(t->cpu.gpr[9], 0x66);
	CHECK_EQ(t->cpu.seg[SEG_CS].selector, 8);
	CHECK_EQ(t->cpu.gpr[R_SP], EMU_TEST_STACK);
	emu_test_free(t);
}

/*
 *	call f
 *	mov r8d, eax
 *	mov byte ptr [f + 1], 7
 *	call f
 *	hlt
 *	f: mov eax, 5
 *	ret
 */
static const uint8_t smc_code[] = {0xe8, 0x11, 0x00, 0x00, 0x00, 0x41, 0x89, 0xc0, 0xc6, 0x04, 0x25, 0x17, 0x00, 0x10, 0x00, 0x07, 0xe8, 0x01, 0x00, 0x00, 0x00, 0xf4, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xc3 };

static void test_self_modifying_code(void)
{
	struct emu_test *t = emu_test_init64();

	/* the second CALL must see the patched immediate, not a cached one */
	emu_test_run(t, smc_code, sizeof(smc_code));
	CHECK_EQ(t->cpu.gpr[8], 5);
	CHECK_EQ(t->cpu.gpr[R_AX], 7);
	emu_test_free(t);
}

/*
 *	mov byte ptr [next + 1], 7
 * next: mov eax, 5
 *	hlt
 */
static const uint8_t smc_next_code[] = {0xc6, 0x04, 0x25, 0x09, 0x00, 0x10, 0x00, 0x07, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xf4 };

static void test_patch_next_instruction(void)
{
	struct emu_test *t = emu_test_init64();

	/*
	 * Both MOVs fit one decoded block: the second must still run as
	 * the store left it.
	 */
	emu_test_run(t, smc_next_code, sizeof(smc_next_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 7);
	emu_test_free(t);
}

/*
 *	mov byte ptr [0x40000000 + next + 1], 7	; the same page, another alias
 * next: mov eax, 5
 *	hlt
 */
static const uint8_t smc_alias_code[] = {0xc6, 0x04, 0x25, 0x09, 0x00, 0x10, 0x40, 0x07, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xf4 };

static void test_patch_through_alias(void)
{
	struct emu_test *t = emu_test_init64();

	/* linear 1-2 GiB maps the first GiB again (PDPT entry 1) */
	emu_test_w64(t, EMU_TEST_PML4 + 0x1000 + 8,
		     (EMU_TEST_PML4 + 0x2000) | 7);
	emu_test_run(t, smc_alias_code, sizeof(smc_alias_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 7);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_self_modifying_code);
	RUN(test_patch_next_instruction);
	RUN(test_patch_through_alias);
	RUN(test_unimplemented_is_ud);
	RUN(test_far_return_and_jump);
	RUN(test_user_syscall_and_fault);
	RUN(test_soft_interrupt);
	return test_summary();
}
