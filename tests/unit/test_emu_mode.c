// SPDX-License-Identifier: MIT
/*
 * emu interpreter: paging (#PF error codes and CR2, A/D bits, NX, CR0.WP,
 * INVLPG of 4K and large pages),
 * triple fault, addressing modes (SIB, RIP-relative, 16-bit), and the
 * real -> protected -> long mode switch Linux's SMP trampoline performs.
 * Expected values follow the Intel SDM vol. 3 (4.7 page-fault error code,
 * 9.8 mode switching). Byte arrays are GNU as output of the listed code.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_test.h"
#include "test.h"

#define PD(i) (EMU_TEST_PML4 + 0x2000 + (i) * 8)

/*
 *	mov rax, [0x40000000]
 *	hlt
 */
static const uint8_t pf_read[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 };

static void test_pf_not_present(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, pf_read, sizeof(pf_read));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0x40000000);
	/* error code: P=0 (not present), W=0, U=0 */
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), 0);
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP] + 8), EMU_TEST_CODE);
	emu_test_free(t);
}

/*
 *	mov byte ptr [0xe00010], 1
 *	hlt
 */
static const uint8_t pf_write[] = {0xc6, 0x04, 0x25, 0x10, 0x00, 0xe0, 0x00, 0x01, 0xf4 };

static void test_pf_write_protect(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_w64(t, PD(7), (7ULL << 21) | 0x85);	/* read-only */
	emu_test_run(t, pf_write, sizeof(pf_write));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0xe00010);
	/* P=1 (protection), W=1; CR0.WP applies to supervisor writes */
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), 3);
	emu_test_free(t);

	/* with CR0.WP clear the supervisor write succeeds */
	t = emu_test_init64();
	emu_test_w64(t, PD(7), (7ULL << 21) | 0x85);
	t->cpu.cr0 &= ~X86_CR0_WP;
	emu_test_run(t, pf_write, sizeof(pf_write));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, 0xe00010), 1);
	emu_test_free(t);
}

/*
 *	stc
 *	mov eax, 0xffffffff
 *	adc dword ptr [0xe00010], eax	; 0 + ~0 + 1: would set ZF, keep CF
 *	hlt
 * The store faults on a read-only page: the flags stay those before the
 * ADC (CF set, ZF clear), in the CPU and in the frame pushed, so the
 * restarted ADC adds the same carry.
 */
static const uint8_t pf_rmw[] = { 0xf9, 0xb8, 0xff, 0xff, 0xff, 0xff, 0x11, 0x04, 0x25, 0x10, 0x00, 0xe0, 0x00, 0xf4 };

static void test_pf_rmw_keeps_flags(void)
{
	struct emu_test *t = emu_test_init64();
	uint64_t sp;

	emu_test_w64(t, PD(7), (7ULL << 21) | 0x85);	/* read-only */
	emu_test_run(t, pf_rmw, sizeof(pf_rmw));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0xe00010);
	sp = t->cpu.gpr[R_SP];
	/* error code, RIP, CS, RFLAGS */
	CHECK_EQ(emu_test_r64(t, sp + 24) & (FL_CF | FL_ZF), FL_CF);
	CHECK_EQ(t->cpu.rflags & (FL_CF | FL_ZF), FL_CF);
	emu_test_free(t);
}

/*
 *	mov rax, 0xc00000
 *	jmp rax
 */
static const uint8_t nx_jump[] = {0x48, 0xc7, 0xc0, 0x00, 0x00, 0xc0, 0x00, 0xff, 0xe0 };

static void test_pf_nx(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_w64(t, PD(6), (6ULL << 21) | 0x87 | (1ULL << 63));
	*(uint8_t *)emu_test_ptr(t, 0xc00000) = 0xf4;
	emu_test_run(t, nx_jump, sizeof(nx_jump));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0xc00000);
	/* P=1, I/D=1 (instruction fetch) */
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), 0x11);
	emu_test_free(t);
}

/*
 *	mov rax, [0x200000]
 *	hlt
 */
static const uint8_t ad_read[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 };
/*
 *	mov [0x200000], rax
 *	hlt
 */
static const uint8_t ad_write[] = {0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 };

static void test_accessed_dirty(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_w64(t, PD(1), (1ULL << 21) | 0x87);
	emu_test_run(t, ad_read, sizeof(ad_read));
	CHECK_EQ(emu_test_r64(t, PD(1)) & 0x60, 0x20);
	emu_test_run(t, ad_write, sizeof(ad_write));
	CHECK_EQ(emu_test_r64(t, PD(1)) & 0x60, 0x60);
	emu_test_free(t);
}

/*
 *	lidt [0x600]
 *	ud2
 */
static const uint8_t triple[] = {0x0f, 0x01, 0x1c, 0x25, 0x00, 0x06, 0x00, 0x00, 0x0f, 0x0b };

/*
 *	mov rax, [0x200000]
 *	mov [PD(1)], rbx	; the 2M page at 0x200000 now maps rbx's frame
 *	invlpg [0x201000]	; another 4K page of the same large page
 *	mov rcx, [0x200000]
 *	hlt
 */
static const uint8_t invlpg_large[] = {
	0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0x48, 0x89, 0x1c, 0x25,
	0x08, 0x20, 0x01, 0x00, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x10, 0x20, 0x00,
	0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4 };

/*
 *	mov rax, [0x600000]
 *	mov [0x30000], rbx	; PTE of the 4K page at 0x600000
 *	invlpg [0x600000]
 *	mov rcx, [0x600000]
 *	hlt
 */
static const uint8_t invlpg_small[] = {
	0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, 0x48, 0x89, 0x1c, 0x25,
	0x00, 0x00, 0x03, 0x00, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0x60, 0x00,
	0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x60, 0x00, 0xf4 };

/*
 * INVLPG of any address in a large page drops that page's translation
 * for all of its 4K pages (SDM vol. 3, 4.10.4.1); of a 4K page, its own.
 */
static void test_invlpg(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_w64(t, 0x200000, 0x1111);
	emu_test_w64(t, 0x400000, 0x2222);
	t->cpu.gpr[R_BX] = 0x400000 | 0x87;
	emu_test_run(t, invlpg_large, sizeof(invlpg_large));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x1111);
	CHECK_EQ(t->cpu.gpr[R_CX], 0x2222);
	emu_test_free(t);

	t = emu_test_init64();
	emu_test_w64(t, PD(3), 0x30000 | 7);	/* 0x600000: a page table */
	emu_test_w64(t, 0x30000, 0x600000 | 3);
	emu_test_w64(t, 0x600000, 0x3333);
	emu_test_w64(t, 0x601000, 0x4444);
	t->cpu.gpr[R_BX] = 0x601000 | 3;
	emu_test_run(t, invlpg_small, sizeof(invlpg_small));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x3333);
	CHECK_EQ(t->cpu.gpr[R_CX], 0x4444);
	emu_test_free(t);
}

/*
 *	mov rax, [0x40000000]	; a 1G page (PDPT entry 1)
 *	mov [0x11008], rbx	; now not present
 *	invlpg [0x7fe00000]	; the same 1G page, another 2M of it
 *	mov rcx, [0x40000000]	; #PF
 *	hlt
 */
static const uint8_t invlpg_1g[] = {
	0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0x48, 0x89, 0x1c, 0x25,
	0x08, 0x10, 0x01, 0x00, 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0xe0, 0x7f,
	0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 };

/*
 * INVLPG of an address 1022 MiB into a 1G page drops the translation the
 * page gave its first 4K: the TLB keeps large pages' entries of other
 * GiBs across an INVLPG, but not of the one it names.
 */
static void test_invlpg_1g(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_w64(t, EMU_TEST_PML4 + 0x1008, 0x87);	/* 1G page at 0 */
	emu_test_w64(t, 0x0, 0x5555);
	t->cpu.gpr[R_BX] = 0;
	emu_test_run(t, invlpg_1g, sizeof(invlpg_1g));
	CHECK_EQ(t->cpu.gpr[R_AX], 0x5555);
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.cr2, 0x40000000);
	emu_test_free(t);
}

static void test_triple_fault(void)
{
	struct emu_test *t = emu_test_init64();

	/* IDT limit 0: #UD -> #GP -> #DF -> shutdown */
	emu_test_w64(t, 0x600, 0);
	emu_test_run(t, triple, sizeof(triple));
	CHECK(t->cpu.shutdown);
	emu_test_free(t);
}

/*
 *	lea rdx, [rip+0x10]
 *	mov dword ptr [rip+0x100], 0x11223344
 *	mov rbx, 0x200000
 *	mov rcx, 3
 *	mov qword ptr [rbx+rcx*8+16], 0x1234
 *	mov rax, [rbx+40]
 *	mov r12, 0x200000
 *	mov r13, 11
 *	mov esi, [r12+r13*4-4]
 *	hlt
 */
static const uint8_t addr64[] = {0x48, 0x8d, 0x15, 0x10, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11, 0x48, 0xc7, 0xc3, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc1, 0x03, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x44, 0xcb, 0x10, 0x34, 0x12, 0x00, 0x00, 0x48, 0x8b, 0x43, 0x28, 0x49, 0xc7, 0xc4, 0x00, 0x00, 0x20, 0x00, 0x49, 0xc7, 0xc5, 0x0b, 0x00, 0x00, 0x00, 0x43, 0x8b, 0x74, 0xac, 0xfc, 0xf4 };

static void test_addressing64(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, addr64, sizeof(addr64));
	CHECK_EQ(t->cpu.gpr[R_DX], EMU_TEST_CODE + 7 + 0x10);
	/* RIP-relative counts from the end, after the immediate */
	CHECK_EQ(emu_test_r64(t, EMU_TEST_CODE + 17 + 0x100) & 0xffffffff,
		 0x11223344);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x1234);
	CHECK_EQ(t->cpu.gpr[R_SI], 0x1234);
	emu_test_free(t);
}

/*
 *	mov bx, 0x100
 *	mov si, 0x20
 *	mov word ptr [bx+si+4], 0xbeef
 *	mov ax, [0x124]
 *	mov cx, 0x1000
 *	mov ds, cx
 *	mov byte ptr [0x10], 0x5a
 *	mov bp, 0x200
 *	mov word ptr [bp+2], 0x77
 *	hlt
 */
static const uint8_t real16[] = {0xbb, 0x00, 0x01, 0xbe, 0x20, 0x00, 0xc7, 0x40, 0x04, 0xef, 0xbe, 0xa1, 0x24, 0x01, 0xb9, 0x00, 0x10, 0x8e, 0xd9, 0xc6, 0x06, 0x10, 0x00, 0x5a, 0xbd, 0x00, 0x02, 0xc7, 0x46, 0x02, 0x77, 0x00, 0xf4 };

static void test_real_mode_16bit_addressing(void)
{
	struct emu_test *t = emu_test_new();

	seg_load_real(&t->cpu, SEG_CS, 0);
	emu_test_run_at(t, 0x7c00, real16, sizeof(real16));
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xffff, 0xbeef);
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, 0x10010), 0x5a);
	/* [bp+disp] defaults to SS (base 0 here) */
	CHECK_EQ(*(uint16_t *)emu_test_ptr(t, 0x202), 0x77);
	emu_test_free(t);
}

/*
 *	lgdt [0x600]
 *	mov eax, cr0
 *	or al, 1
 *	mov cr0, eax
 *	jmp 0x18:pm32
 *	.code32
 *	pm32: mov ax, 0x10
 *	mov ds, ax
 *	mov ss, ax
 *	mov esp, 0x9000
 *	mov dword ptr [0x300000], 0xcafe
 *	mov eax, cr4
 *	or eax, 0x20
 *	mov cr4, eax
 *	mov eax, 0x10000
 *	mov cr3, eax
 *	mov ecx, 0xc0000080
 *	rdmsr
 *	or eax, 0x100
 *	wrmsr
 *	mov eax, cr0
 *	or eax, 0x80000000
 *	mov cr0, eax
 *	jmp 0x08:lm64
 *	.code64
 *	lm64: mov rax, 0x123456789
 *	push rax
 *	pop rbx
 *	hlt
 */
static const uint8_t switch_code[] = {0x0f, 0x01, 0x16, 0x00, 0x06, 0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f, 0x22, 0xc0, 0xea, 0x12, 0x7c, 0x18, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x90, 0x00, 0x00, 0xc7, 0x05, 0x00, 0x00, 0x30, 0x00, 0xfe, 0xca, 0x00, 0x00, 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x00, 0x01, 0x00, 0x0f, 0x22, 0xd8, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xea, 0x5a, 0x7c, 0x00, 0x00, 0x08, 0x00, 0x48, 0xb8, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00, 0x50, 0x5b, 0xf4 };

/*
 * The CPU from reset state (keeping the GDT and page tables), in real
 * mode at CS cs, run through switch_code placed at linear 0x7c00
 */
static struct emu_test *mode_switch(uint16_t cs)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;
	struct emu_cpu fresh;

	cpu_reset(&fresh, &t->vm, 0);
	fresh.gpr[R_SP] = 0x7000;
	fresh.dcache = c->dcache;
	*c = fresh;
	seg_load_real(c, SEG_CS, cs);
	CHECK_EQ(c->cpl, 0);
	emu_test_w64(t, 0x600, 0x27 | (EMU_TEST_GDT << 16));
	memcpy(emu_test_ptr(t, 0x7c00), switch_code, sizeof(switch_code));
	c->rip = 0x7c00 - cs * 16;
	for (int i = 0; i < 100 && !c->halted && !c->shutdown &&
	     !c->error[0]; i++)
		cpu_run_batch(c, 1000, NULL);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(*(uint32_t *)emu_test_ptr(t, 0x300000), 0xcafe);
	CHECK(c->efer & X86_EFER_LMA);
	CHECK(c->code64);
	CHECK_EQ(c->cpl, 0);
	CHECK_EQ(c->seg[SEG_CS].selector, 8);
	CHECK_EQ(c->gpr[R_BX], 0x123456789ULL);
	return t;
}

static void test_mode_switch(void)
{
	emu_test_free(mode_switch(0));
}

/*
 * The same from real-mode code whose CS selector has low bits 3
 * (0x0003, base 0x30): the CPL stays 0 after CR0.PE is set, until the
 * far JMP loads CS, so the JMP to the ring-0 code segment is no #GP
 * (fails when the CPL is taken from the real-mode selector)
 */
static void test_mode_switch_cs_rpl(void)
{
	emu_test_free(mode_switch(0x0003));
}

/*
 *	cld
 *	mov rsi, 0x200000
 *	mov rdi, 0x201000
 *	mov rcx, 100
 *	rep movsb
 *	mov al, 0x77
 *	mov rdi, 0x202000
 *	mov rcx, 5000
 *	rep stosb
 *	mov rdi, 0x200000
 *	mov al, 0x42
 *	mov rcx, 100
 *	repne scasb
 *	hlt
 */
static const uint8_t str_code[] = {0xfc, 0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x00, 0x10, 0x20, 0x00, 0x48, 0xc7, 0xc1, 0x64, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0xb0, 0x77, 0x48, 0xc7, 0xc7, 0x00, 0x20, 0x20, 0x00, 0x48, 0xc7, 0xc1, 0x88, 0x13, 0x00, 0x00, 0xf3, 0xaa, 0x48, 0xc7, 0xc7, 0x00, 0x00, 0x20, 0x00, 0xb0, 0x42, 0x48, 0xc7, 0xc1, 0x64, 0x00, 0x00, 0x00, 0xf2, 0xae, 0xf4 };

static void test_string_ops(void)
{
	struct emu_test *t = emu_test_init64();
	uint8_t *src = emu_test_ptr(t, 0x200000);

	for (int i = 0; i < 256; i++)
		src[i] = i;
	emu_test_run(t, str_code, sizeof(str_code));
	CHECK(!memcmp(emu_test_ptr(t, 0x201000), src, 100));
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, 0x202000 + 4999), 0x77);
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, 0x202000 + 5000), 0);
	CHECK_EQ(t->cpu.gpr[R_CX], 100 - 0x43);
	CHECK_EQ(t->cpu.gpr[R_DI], 0x200043);
	CHECK(t->cpu.gpr[R_SP] == EMU_TEST_STACK);
	emu_test_free(t);
}

/*
 *	cld
 *	mov rsi, 0x200000
 *	mov rdi, 0x200001
 *	mov rcx, 16
 *	rep movsb
 *	mov rsi, 0x200100
 *	mov rdi, 0x200108
 *	mov rcx, 4
 *	rep movsq
 *	hlt
 */
static const uint8_t movs_overlap_code[] = {0xfc, 0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x01, 0x00, 0x20, 0x00, 0x48, 0xc7, 0xc1, 0x10, 0x00, 0x00, 0x00, 0xf3, 0xa4, 0x48, 0xc7, 0xc6, 0x00, 0x01, 0x20, 0x00, 0x48, 0xc7, 0xc7, 0x08, 0x01, 0x20, 0x00, 0x48, 0xc7, 0xc1, 0x04, 0x00, 0x00, 0x00, 0xf3, 0x48, 0xa5, 0xf4 };

/*
 * REP MOVS whose destination starts inside its source above it copies
 * element by element, as on hardware: the first elements repeat (an LZ
 * decoder's overlapping match copy), it is not a memmove.
 */
static void test_movs_overlap(void)
{
	struct emu_test *t = emu_test_init64();
	uint8_t *m = emu_test_ptr(t, 0x200000);

	for (int i = 0; i < 0x200; i++)
		m[i] = i;
	emu_test_run(t, movs_overlap_code, sizeof(movs_overlap_code));
	for (int i = 0; i <= 16; i++)
		CHECK_EQ(m[i], 0);
	CHECK_EQ(m[17], 17);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(m[0x100 + i], (uint8_t)(i % 8));
	CHECK_EQ(m[0x128], 0x28);
	CHECK_EQ(t->cpu.gpr[R_CX], 0);
	CHECK_EQ(t->cpu.gpr[R_SI], 0x200120);
	CHECK_EQ(t->cpu.gpr[R_DI], 0x200128);
	emu_test_free(t);
}

/*
 *	call f
 *	mov r9, rax
 *	hlt
 *	f: push rbp
 *	mov rbp, rsp
 *	sub rsp, 16
 *	mov qword ptr [rbp-8], 42
 *	mov rax, [rbp-8]
 *	leave
 *	ret
 */
static const uint8_t call_code[] = {0xe8, 0x04, 0x00, 0x00, 0x00, 0x49, 0x89, 0xc1, 0xf4, 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0x48, 0xc7, 0x45, 0xf8, 0x2a, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x45, 0xf8, 0xc9, 0xc3 };

static void test_call_frame(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, call_code, sizeof(call_code));
	CHECK_EQ(t->cpu.gpr[9], 42);
	CHECK_EQ(t->cpu.gpr[R_SP], EMU_TEST_STACK);
	emu_test_free(t);
}

/* Runs fn(t, arg) in a child; true if it died of SIGABRT (an assertion). */
static bool aborts(void (*fn)(struct emu_test *t, uint64_t arg),
		   struct emu_test *t, uint64_t arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		fn(t, arg);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void phys_read16(struct emu_test *t, uint64_t gpa)
{
	phys_read(&t->cpu, gpa, 16);
}

static void phys_write16(struct emu_test *t, uint64_t gpa)
{
	phys_write(&t->cpu, gpa, 0, 16);
}

static void mem_read16(struct emu_test *t, uint64_t lin)
{
	mem_read(&t->cpu, lin, 16);
}

static void mem_write0(struct emu_test *t, uint64_t lin)
{
	mem_write(&t->cpu, lin, 0, 0);
}

/*
 * A scalar access wider than the uint64_t it moves is a bug in the caller,
 * stopped at the entry: on RAM it would overrun the value, on MMIO it was
 * quietly cut to 8 bytes.
 */
static void test_access_size_asserted(void)
{
	struct emu_test *t = emu_test_init64();

	CHECK(aborts(phys_read16, t, EMU_TEST_DATA));
	CHECK(aborts(phys_read16, t, 0xd0000000));	/* not RAM: MMIO */
	CHECK(aborts(phys_write16, t, 0xd0000000));
	CHECK(aborts(phys_write16, t, EMU_TEST_DATA));
	CHECK(aborts(mem_read16, t, EMU_TEST_DATA));
	CHECK(aborts(mem_write0, t, EMU_TEST_DATA));
	/* 8 bytes is fine on both */
	phys_write(&t->cpu, EMU_TEST_DATA, 0x1122334455667788ull, 8);
	CHECK_EQ(phys_read(&t->cpu, EMU_TEST_DATA, 8), 0x1122334455667788ull);
	CHECK_EQ(phys_read(&t->cpu, 0xd0000000, 8), ~0ull);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_pf_not_present);
	RUN(test_pf_write_protect);
	RUN(test_pf_rmw_keeps_flags);
	RUN(test_pf_nx);
	RUN(test_accessed_dirty);
	RUN(test_invlpg);
	RUN(test_invlpg_1g);
	RUN(test_triple_fault);
	RUN(test_addressing64);
	RUN(test_real_mode_16bit_addressing);
	RUN(test_mode_switch);
	RUN(test_mode_switch_cs_rpl);
	RUN(test_string_ops);
	RUN(test_movs_overlap);
	RUN(test_call_frame);
	RUN(test_access_size_asserted);
	return test_summary();
}
