// SPDX-License-Identifier: MIT
/*
 * emu decode cache: the specialised handlers against the general decoder.
 *
 * Each program runs on two CPUs with the same registers and memory, one
 * with the decode cache and one without (the general decoder of exec*.c,
 * a separate implementation), once in lockstep (one instruction at a time,
 * state compared after each) and once in batches (blocks chained, state
 * compared at the end; PUSHFQ and stores record what happened on the way).
 * The programs use every specialised form at each size it has, memory
 * operands with and without base, index and RIP, byte registers with and
 * without REX, flags kept across INC/DEC, all sixteen Jcc, a store into
 * the next instruction, and a #PF in a block after a PUSH. A decoder check
 * makes sure the hot forms do get a specialised handler. Runs of blocks
 * go on into another page the TLB has, but not into one it has as NX.
 */
#include "accel/emu/dcache.h"
#include "emu_test.h"
#include "test.h"

extern const uint8_t alu_code[], alu_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"alu_code:\n"
	"	mov rax, 0x8000000000000001\n"
	"	mov ecx, 0x7fffffff\n"
	"	mov rdx, -5\n"
	"	mov rsi, 0x200100\n"
	"	mov r9, 0x123456789abcdef0\n"
	"	mov edi, 8\n"
	"	add rax, rcx\n"
	"	pushfq\n"
	"	or ecx, edx\n"
	"	pushfq\n"
	"	and r9, rdx\n"
	"	pushfq\n"
	"	sub edx, eax\n"
	"	pushfq\n"
	"	xor rax, r9\n"
	"	pushfq\n"
	"	cmp rcx, rax\n"
	"	pushfq\n"
	"	cmp r9d, edx\n"
	"	pushfq\n"
	"	add rax, 0x7f\n"
	"	sub ecx, 0x80000000\n"
	"	pushfq\n"
	"	and r9, -16\n"
	"	or edx, 0x55\n"
	"	xor eax, 0xffff\n"
	"	cmp rdx, 3\n"
	"	pushfq\n"
	"	add rax, [rsi]\n"
	"	or ecx, [rsi+8]\n"
	"	and r9, [rsi+rdi*2-0x55+0x60]\n"
	"	pushfq\n"
	"	sub rdx, [rsi+0x18]\n"
	"	xor eax, [rsi+0x20]\n"
	"	cmp r9, [rsi+0x28]\n"
	"	pushfq\n"
	"	cmp [rsi+0x30], rax\n"
	"	pushfq\n"
	"	cmp dword ptr [rsi+0x30], ecx\n"
	"	pushfq\n"
	"	cmp qword ptr [rsi+0x38], -1\n"
	"	pushfq\n"
	"	cmp dword ptr [rsi+0x38], 7\n"
	"	pushfq\n"
	"	test rax, rcx\n"
	"	pushfq\n"
	"	test edx, r9d\n"
	"	pushfq\n"
	"	test rax, 0x100\n"
	"	pushfq\n"
	"	test ecx, 0x80000000\n"
	"	pushfq\n"
	"	inc rax\n"
	"	pushfq\n"
	"	dec ecx\n"
	"	pushfq\n"
	"	stc\n"
	"	inc r9\n"
	"	pushfq\n"
	"	stc\n"
	"	dec r9d\n"
	"	pushfq\n"
	"	adc rax, rcx\n"
	"	sbb edx, r9d\n"
	"	pushfq\n"
	"	add al, bl\n"
	"	pushfq\n"
	"	sub cl, 0x7f\n"
	"	pushfq\n"
	"	cmp byte ptr [rsi+3], 0x80\n"
	"	pushfq\n"
	"	cmp [rsi+5], dl\n"
	"	pushfq\n"
	"	test dl, 0x80\n"
	"	pushfq\n"
	"	test sil, dil\n"
	"	pushfq\n"
	"	or r8b, [rsi+5]\n"
	"	xor ax, 0x1234\n"
	"	pushfq\n"
	"	cmp word ptr [rsi], cx\n"
	"	pushfq\n"
	"	cmp word ptr [rsi+2], 0x7fff\n"
	"	pushfq\n"
	"	sub r10w, r11w\n"
	"	pushfq\n"
	"	test bx, 0x8001\n"
	"	pushfq\n"
	"	and ah, bl\n"
	"	add bh, 3\n"
	"	pushfq\n"
	"	cmp rax, rcx\n"
	"	bt dword ptr [rsi+4], 5\n"
	"	pushfq\n"
	"	sub rax, rdx\n"
	"	bt rax, 63\n"
	"	pushfq\n"
	"	bt qword ptr fs:[rdi], 33\n"
	"	pushfq\n"
	"	bt ecx, 0x21\n"
	"	pushfq\n"
	"	add eax, fs:[8]\n"
	"	cmp rax, gs:[16]\n"
	"	pushfq\n"
	"	hlt\n"
	"alu_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

extern const uint8_t mov_code[], mov_stop[], mov_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"mov_code:\n"
	"	mov rsi, 0x200100\n"
	"	mov rdi, 0x200800\n"
	"	mov rax, [rsi]\n"
	"	mov ecx, [rsi+4]\n"
	"	mov dx, [rsi+8]\n"
	"	mov bl, [rsi+9]\n"
	"	mov ah, [rsi+10]\n"
	"	mov sil, [rsi+11]\n"
	"	mov rsi, 0x200100\n"
	"	mov r10b, [rsi+12]\n"
	"	mov [rdi], rax\n"
	"	mov [rdi+8], ecx\n"
	"	mov [rdi+12], dx\n"
	"	mov [rdi+14], bl\n"
	"	mov [rdi+15], ah\n"
	"	mov [rdi+16], sil\n"
	"	mov [rdi+17], r10b\n"
	"	mov qword ptr [rdi+24], -2\n"
	"	mov dword ptr [rdi+32], 0x89abcdef\n"
	"	mov word ptr [rdi+36], 0x1234\n"
	"	mov byte ptr [rdi+38], 0x56\n"
	"	mov r11, rax\n"
	"	mov r12d, ecx\n"
	"	mov r13, 0x1122334455667788\n"
	"	mov r14d, 0x99aabbcc\n"
	"	lea r15, [rsi+rcx*4+0x10]\n"
	"	lea r8d, [rax+rdx*8-3]\n"
	"	lea r9, [rip+0x1234]\n"
	"	lea rbp, [rcx*2]\n"
	"	movzx eax, byte ptr [rsi+3]\n"
	"	movzx ecx, word ptr [rsi+5]\n"
	"	movzx rdx, byte ptr [rsi+7]\n"
	"	movzx ebx, r13b\n"
	"	movzx r8d, r13w\n"
	"	movzx ebp, ah\n"
	"	movsx eax, byte ptr [rsi+3]\n"
	"	movsx rcx, word ptr [rsi+5]\n"
	"	movsx edx, r14b\n"
	"	movsx r8, r14w\n"
	"	movsx ebx, byte ptr [rsi+0x40]\n"
	"	movsxd r9, dword ptr [rsi+0x44]\n"
	"	movsxd r10, r14d\n"
	"	movsxd r11, dword ptr [rip+mov_data]\n"
	"	mov [rdi+40], rax\n"
	"	mov [rdi+48], rcx\n"
	"	mov [rdi+56], rdx\n"
	"	mov [rdi+64], rbx\n"
	"	mov [rdi+72], r8\n"
	"	mov [rdi+80], r9\n"
	"	mov [rdi+88], r10\n"
	"	mov r12, [rsi+rcx*1]\n"
	"	mov r13, [rip+mov_data]\n"
	"	mov [rip+mov_data+8], r12\n"
	"	mov eax, 0x10\n"
	"	mov ecx, 3\n"
	"	mov edx, [0x200100]\n"
	"	mov rbx, [rsi+rax*8+8]\n"
	"	mov [rdi+rcx*2+100], bx\n"
	"	mov fs:[0], eax\n"
	"	mov gs:[0], eax\n"
	"	mov rcx, fs:[rax*2+8]\n"
	"	movzx edx, byte ptr gs:[rip+mov_data]\n"
	"	mov qword ptr gs:[rdx], -3\n"
	"	lea r8, fs:[rax+8]\n"
	"	mov rbx, -5\n"
	"	.byte 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff\n"
	"	.byte 0x41, 0xc7, 0xc1, 0x78, 0x56, 0x34, 0x12\n"
	"	hlt\n"
	"mov_stop:\n"
	"mov_data:\n"
	"	.quad 0x8070605040302010, 0\n"
	"mov_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

extern const uint8_t ctl_code[], ctl_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"ctl_code:\n"
	"	mov rsi, 0x200100\n"
	"	mov ecx, 20\n"
	"	xor eax, eax\n"
	"	mov r15, rsp\n"
	"1:	push rcx\n"
	"	push rsp\n"
	"	pop rdx\n"
	"	pop rbx\n"
	"	add rax, rbx\n"
	"	call 2f\n"
	"	dec ecx\n"
	"	jnz 1b\n"
	"	push r15\n"
	"	pop rsp\n"
	"	mov eax, 5\n"
	"	jmp 3f\n"
	"	nop\n"
	"	nop\n"
	"2:	mov [rsi+rcx*8], rax\n"
	"	shl rbx, 3\n"
	"	shr edx, 1\n"
	"	sar r8d, cl\n"
	"	rol rax, 4\n"
	"	ror ebx, cl\n"
	"	shl eax, 0\n"
	"	shr rbx, cl\n"
	"	ret\n"
	"3:	nop\n"
	"	xor r9d, r9d\n"
	"	mov r10, 0x8000000000000000\n"
	"	mov r11, 5\n"
	"	mov rdi, 0x200800\n"
	"	.irp cc, o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g\n"
	"	cmp r10, r11\n"
	"	j\\cc 4f\n"
	"	inc r9\n"
	"4:	shl r9, 1\n"
	"	sub r11, r10\n"
	"	j\\cc 5f\n"
	"	inc r9\n"
	"5:	shl r9, 1\n"
	"	test r11, r11\n"
	"	j\\cc 6f\n"
	"	inc r9\n"
	"6:	shl r9, 1\n"
	"	inc r10\n"
	"	j\\cc 7f\n"
	"	inc r9\n"
	"7:	shl r9, 1\n"
	"	mov [rdi], r9\n"
	"	add rdi, 8\n"
	"	.endr\n"
	"	lea rax, [rip+8f]\n"
	"	call rax\n"
	"	lea rbx, [rip+9f]\n"
	"	mov [rsi], rbx\n"
	"	call [rsi]\n"
	"	lea rcx, [rip+10f]\n"
	"	jmp rcx\n"
	"8:	add r9, 1\n"
	"	ret\n"
	"9:	add r9, 2\n"
	"	ret\n"
	"10:	mov [rsi+8], rcx\n"
	"	lea rdx, [rip+11f]\n"
	"	mov [rsi+16], rdx\n"
	"	jmp [rsi+16]\n"
	"	hlt\n"
	"11:	mov rax, 0x4000000\n"
	"	push rax\n"
	"	mov rbx, [rax]\n"
	"	hlt\n"
	"ctl_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

extern const uint8_t smc_code[], smc_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"smc_code:\n"
	"	mov eax, 1\n"
	"	mov byte ptr [rip+smc_patch+1], 7\n"
	"smc_patch:	mov ecx, 0\n"
	"	add eax, ecx\n"
	"	mov [rip+smc_out], eax\n"
	"	hlt\n"
	"smc_out:	.quad 0\n"
	"smc_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

/*
 * 128-bit moves (aligned and not, loads, stores, register to register,
 * with a segment override), PXOR, BSWAP and a NOTRACK (3E) indirect jump;
 * the results go to memory, which the runs compare. Then a MOVDQA from a
 * misaligned address: #GP at that instruction.
 */
extern const uint8_t sse_code[], sse_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"sse_code:\n"
	"	mov rsi, 0x200100\n"
	"	movdqu xmm0, [rsi+1]\n"
	"	movups xmm1, [rsi+0x13]\n"
	"	movdqa xmm2, [rsi+0x20]\n"
	"	movaps xmm3, [rsi+0x30]\n"
	"	movapd xmm9, [rsi+0x40]\n"
	"	movupd xmm10, [rsi+0x47]\n"
	"	pxor xmm0, xmm1\n"
	"	pxor xmm11, xmm11\n"
	"	movdqa xmm4, xmm2\n"
	"	movaps xmm12, xmm3\n"
	"	movdqu [rsi+0x101], xmm0\n"
	"	movups [rsi+0x113], xmm1\n"
	"	movdqa [rsi+0x120], xmm4\n"
	"	movaps [rsi+0x130], xmm12\n"
	"	movapd [rsi+0x140], xmm9\n"
	"	movdqu [rsi+0x150], xmm10\n"
	"	movdqu [rsi+0x160], xmm11\n"
	"	movdqu xmm5, fs:[0x10]\n"
	"	movdqu [rsi+0x170], xmm5\n"
	"	mov eax, [rsi]\n"
	"	bswap eax\n"
	"	mov r9, [rsi+8]\n"
	"	bswap r9\n"
	"	lea rdx, [rip+2f]\n"
	"	.byte 0x3e, 0xff, 0xe2\n"	/* notrack jmp rdx */
	"	hlt\n"
	"2:	mov [rsi+0x180], eax\n"
	"	mov [rsi+0x188], r9\n"
	"	movdqa xmm6, [rsi+8]\n"
	"	hlt\n"
	"sse_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

/*
 * Read-modify-write ALU ops on memory at each size, IMUL (two and three
 * operands, register and memory sources), CMOVcc and SETcc of registers
 * and memory: forms with their own handlers since issue 19.
 */
extern const uint8_t rmw_code[], rmw_body[], rmw_end[];
__asm__(".pushsection .rodata\n"
	".intel_syntax noprefix\n"
	"rmw_code:\n"
	"	mov rsi, 0x200100\n"
	"	mov ecx, 0x7fffffff\n"
	"	mov rdx, -5\n"
	"	mov r9, 0x123456789abcdef0\n"
	"rmw_body:\n"
	"	add [rsi], ecx\n"
	"	pushfq\n"
	"	or [rsi+8], rdx\n"
	"	and [rsi+0x10], r9d\n"
	"	sub [rsi+0x18], dx\n"
	"	xor [rsi+0x1a], cl\n"
	"	pushfq\n"
	"	add dword ptr [rsi+0x20], 0x7f\n"
	"	or qword ptr [rsi+0x28], -16\n"
	"	and byte ptr [rsi+0x30], 0x55\n"
	"	sub word ptr [rsi+0x38], 0x1234\n"
	"	xor dword ptr [rsi+rcx*1-0x7fffffff+0x40], 0xffff\n"
	"	pushfq\n"
	"	add qword ptr [rsi+0x48], 1\n"
	"	pushfq\n"
	"	imul ecx, edx\n"
	"	pushfq\n"
	"	imul r9, rdx\n"
	"	pushfq\n"
	"	imul eax, [rsi+0x48]\n"
	"	imul r10, [rsi+0x50]\n"
	"	pushfq\n"
	"	imul r11d, ecx, 0x12345\n"
	"	imul r12, r9, -3\n"
	"	pushfq\n"
	"	imul r13d, [rsi+0x58], 7\n"
	"	imul r14, [rsi+0x60], 0x7fffffff\n"
	"	pushfq\n"
	"	mov r15, 0x7fffffffffffffff\n"
	"	imul r15, r15\n"
	"	pushfq\n"
	"	cmp ecx, edx\n"
	"	cmovl eax, r9d\n"
	"	cmovg r10, rdx\n"
	"	cmovb ebx, [rsi+0x68]\n"
	"	cmovae r11, [rsi+0x70]\n"
	"	sete al\n"
	"	setne r8b\n"
	"	setl byte ptr [rsi+0x78]\n"
	"	setg byte ptr fs:[0x79]\n"
	"	test eax, eax\n"
	"	cmovz ecx, edx\n"
	"	cmovnz edi, edx\n"
	"	hlt\n"
	"rmw_end:\n"
	".att_syntax prefix\n"
	".popsection\n");

#define DATA	0x200000ULL

static struct emu_test *setup(bool dcache)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;
	uint8_t *d = emu_test_ptr(t, DATA);

	dcache_destroy(c->dcache);
	c->dcache = dcache ? dcache_create() : NULL;
	for (int i = 0; i < 4096; i++)
		d[i] = (uint8_t)(i * 37 + (i >> 8) * 101 + 0x5a);
	for (int r = 0; r < 16; r++)
		if (r != R_SP)
			c->gpr[r] = 0x0102030405060708ULL * (r + 1) ^ ((uint64_t)r << 29);
	c->rflags = 0x202;
	c->seg[SEG_FS].base = DATA + 0x100;
	c->seg[SEG_GS].base = DATA + 0x800;
	return t;
}

/* Registers, flags and the memory the programs touch must be the same */
static bool same(struct emu_test *a, struct emu_test *b, const char *what,
		 long step)
{
	struct emu_cpu *x = &a->cpu, *y = &b->cpu;
	static const struct { uint64_t gpa, len; } mem[] = {
		{ 0, 64 }, { EMU_TEST_STACK - 4096, 4096 },
		{ DATA, 4096 }, { EMU_TEST_CODE, 4096 },
	};
	bool ok = !memcmp(x->gpr, y->gpr, sizeof(x->gpr)) &&
		  x->rip == y->rip && x->rflags == y->rflags &&
		  x->halted == y->halted && x->cr2 == y->cr2;

	for (unsigned i = 0; ok && i < sizeof(mem) / sizeof(mem[0]); i++)
		ok = !memcmp(emu_test_ptr(a, mem[i].gpa),
			     emu_test_ptr(b, mem[i].gpa), mem[i].len);
	if (!ok) {
		printf("  %s: differs after step %ld: rip %llx/%llx flags "
		       "%llx/%llx\n", what, step,
		       (unsigned long long)x->rip, (unsigned long long)y->rip,
		       (unsigned long long)x->rflags,
		       (unsigned long long)y->rflags);
		for (int r = 0; r < 16; r++)
			if (x->gpr[r] != y->gpr[r])
				printf("  r%d %llx/%llx\n", r,
				       (unsigned long long)x->gpr[r],
				       (unsigned long long)y->gpr[r]);
	}
	return ok;
}

/*
 * Run code both ways, lockstep and batched; returns the cached CPU of the
 * batched run for further checks (the caller frees it).
 */
static struct emu_test *run_both(const uint8_t *code, const uint8_t *end)
{
	struct emu_test *a = setup(true), *b = setup(false);
	size_t len = end - code;
	long step;

	CHECK(a->cpu.dcache != NULL);
	memcpy(emu_test_ptr(a, EMU_TEST_CODE), code, len);
	memcpy(emu_test_ptr(b, EMU_TEST_CODE), code, len);
	a->cpu.rip = b->cpu.rip = EMU_TEST_CODE;
	for (step = 0; step < 20000 && !a->cpu.halted; step++) {
		cpu_step(&a->cpu);
		cpu_step(&b->cpu);
		if (!same(a, b, "lockstep", step)) {
			CHECK(!"lockstep runs agree");
			break;
		}
	}
	CHECK(a->cpu.halted);
	emu_test_free(a);
	emu_test_free(b);

	a = setup(true);
	b = setup(false);
	emu_test_run(a, code, len);
	emu_test_run(b, code, len);
	CHECK(a->cpu.halted);
	CHECK(same(a, b, "batched", -1));
	emu_test_free(b);
	return a;
}

/* Run code both ways; it must end with the HLT just before stop */
static void run_to_end(const uint8_t *code, const uint8_t *stop,
		       const uint8_t *end)
{
	struct emu_test *t = run_both(code, end);

	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.rip, EMU_TEST_CODE + (stop - code));
	emu_test_free(t);
}

static void test_alu_forms(void)
{
	run_to_end(alu_code, alu_end, alu_end);
}

static void test_mov_forms(void)
{
	run_to_end(mov_code, mov_stop, mov_end);
}

/* Loops, calls, shifts, Jcc; then a load that faults after a PUSH */
static void test_control_and_fault(void)
{
	struct emu_test *t = run_both(ctl_code, ctl_end);
	struct emu_cpu *c = &t->cpu;
	uint64_t *frame = emu_test_ptr(t, c->gpr[R_SP]);

	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(c->cr2, 0x4000000);
	/* the frame's RIP is the faulting MOV (3 bytes before the HLT) */
	CHECK_EQ(frame[1], EMU_TEST_CODE + (ctl_end - ctl_code) - 4);
	/* and its RSP the one after the PUSH in the same block */
	CHECK_EQ(frame[4], EMU_TEST_STACK - 8);
	CHECK_EQ(emu_test_r64(t, EMU_TEST_STACK - 8), 0x4000000);
	emu_test_free(t);
}

static void test_sse_moves(void)
{
	struct emu_test *t = run_both(sse_code, sse_end);
	uint64_t *frame = emu_test_ptr(t, t->cpu.gpr[R_SP]);
	static struct dc_block b;

	CHECK_EQ(emu_test_vector(t), EXC_GP);
	/* the frame's RIP is the MOVDQA (5 bytes before the HLT) */
	CHECK_EQ(frame[1], EMU_TEST_CODE + (sse_end - sse_code) - 6);
	/* rsi is DATA + 0x100 */
	CHECK_EQ(emu_test_r64(t, DATA + 0x288),
		 __builtin_bswap64(emu_test_r64(t, DATA + 0x108)));
	CHECK_EQ(emu_test_r64(t, DATA + 0x260), 0);
	emu_test_free(t);
	/* and none of it left the decode cache */
	dc_build(&b, sse_code, sse_end);
	CHECK_EQ(b.n, DCB_INSNS);
	for (unsigned i = 0; i < b.n; i++)
		CHECK(b.e[i].h != H_GENERIC && b.e[i].h != H_INTERP);
}

static void test_rmw_imul_cmov_setcc(void)
{
	static struct dc_block b;
	size_t len = rmw_end - rmw_body, at = 0;
	uint8_t code[1024] = { 0 };

	run_to_end(rmw_code, rmw_end, rmw_end);
	/* after the MOVs, nothing but PUSHFQ and HLT leaves its handlers */
	CHECK(len < sizeof(code));
	memcpy(code, rmw_body, len);
	while (at < len) {
		dc_build(&b, code + at, code + sizeof(code));
		CHECK(b.n > 0);
		for (unsigned i = 0; i < b.n; i++) {
			if (b.e[i].h == H_GENERIC ||
			    (b.e[i].h == H_INTERP && code[at] != 0x9c &&
			     code[at] != 0xf4))
				printf("  at +%zu: handler %u\n", at, b.e[i].h);
			CHECK(b.e[i].h != H_GENERIC);
			CHECK(b.e[i].h != H_INTERP || code[at] == 0x9c ||
			      code[at] == 0xf4);
			at += b.e[i].len;
		}
		if (!b.n)
			break;
	}
}

/*
 * The last bytes of a page: a loop there runs in the decode cache (it used
 * to take the general decoder, an instruction per call, for the last 16
 * bytes of every page), and an instruction that goes on into the next
 * page is left to the general decoder, which fetches it across; when the
 * next page is not mapped, that fetch is the #PF.
 */
static void test_page_tail(void)
{
	static const uint8_t start[] = {
		0xb9, 0x64, 0x00, 0x00, 0x00,	/* mov ecx, 100 */
		0x31, 0xc0,			/* xor eax, eax */
		0xe9, 0xe6, 0x0f, 0x00, 0x00,	/* jmp CODE + 0x1000 - 14 */
	};
	static const uint8_t tail[] = {
		0x01, 0xc8,			/* 1: add eax, ecx */
		0xff, 0xc9,			/* dec ecx */
		0x75, 0xfa,			/* jnz 1b */
		0x89, 0xc2,			/* mov edx, eax */
		0x48, 0xff, 0xc6,		/* inc rsi */
		0x05, 0x44, 0x33, 0x22, 0x11,	/* add eax, 0x11223344 */
		0xf4,				/* hlt */
	};
	const uint64_t at = EMU_TEST_CODE + 0x1000 - 14;
	/* where the ADD goes on past the end of the mapping */
	const uint64_t edge = 0x1000000 - 8;
	struct emu_test *t[2] = { setup(true), setup(false) };
	struct emu_cpu *c;

	for (int i = 0; i < 2; i++) {
		memcpy(emu_test_ptr(t[i], at), tail, sizeof(tail));
		emu_test_run(t[i], start, sizeof(start));
		CHECK(t[i]->cpu.halted);
		CHECK_EQ(t[i]->cpu.gpr[R_AX], 5050 + 0x11223344);
		CHECK_EQ(t[i]->cpu.gpr[R_DX], 5050);
	}
	CHECK(same(t[0], t[1], "page tail", -1));
	/* again from the loop, its blocks made: one call runs all of it */
	c = &t[0]->cpu;
	c->rip = at;
	c->halted = false;
	c->gpr[R_CX] = 50;
	CHECK_EQ(exec_insns(c, 1000), 3 * 50 + 2);
	CHECK_EQ(c->rip, at + 11);
	emu_test_free(t[0]);
	emu_test_free(t[1]);
	/* the same code at the edge of the mapping: #PF fetching the ADD */
	t[0] = setup(true);
	t[1] = setup(false);
	for (int i = 0; i < 2; i++) {
		uint64_t rsi = t[i]->cpu.gpr[R_SI];

		emu_test_run_at(t[i], edge, tail + 6, sizeof(tail) - 6);
		CHECK_EQ(emu_test_vector(t[i]), EXC_PF);
		CHECK_EQ(t[i]->cpu.cr2, 0x1000000);
		CHECK_EQ(t[i]->cpu.gpr[R_SI], rsi + 1);
	}
	CHECK(same(t[0], t[1], "page tail fault", -1));
	emu_test_free(t[0]);
	emu_test_free(t[1]);
}

/* A store into the next instruction of the same block is seen at once */
static void test_store_into_next_insn(void)
{
	struct emu_test *t = run_both(smc_code, smc_end);
	uint64_t out = EMU_TEST_CODE + (smc_end - smc_code) - 8;

	CHECK_EQ(t->cpu.gpr[R_CX], 7);
	CHECK_EQ(emu_test_r64(t, out), 8);
	emu_test_free(t);
}

/*
 * A call into the next page, which the TLB already has, does not end the
 * decode cache's run: the fetch window moves along (dcache.c, dc_next).
 */
static void test_chain_across_pages(void)
{
	static const uint8_t main_code[] = {
		0xb9, 0x0a, 0x00, 0x00, 0x00,	/* mov ecx, 10 */
		0xe8, 0xf6, 0x0f, 0x00, 0x00,	/* 1: call CODE + 0x1000 */
		0xff, 0xc9,			/* dec ecx */
		0x75, 0xf7,			/* jnz 1b */
		0xf4,				/* hlt */
	};
	static const uint8_t fn[] = { 0x83, 0xc0, 0x01, 0xc3 };
	struct emu_test *t = setup(true);
	struct emu_cpu *c = &t->cpu;

	memcpy(emu_test_ptr(t, EMU_TEST_CODE + 0x1000), fn, sizeof(fn));
	c->gpr[R_AX] = 0;
	emu_test_run(t, main_code, sizeof(main_code));
	CHECK_EQ(c->gpr[R_AX], 10);
	/*
	 * Again with both pages in the TLB: one run, 1 + 10 * 5 insns and
	 * the HLT (not a cached form, run by the general decoder in place)
	 */
	c->rip = EMU_TEST_CODE;
	c->halted = false;
	CHECK_EQ(exec_insns(c, 1000), 52);
	CHECK_EQ(c->gpr[R_AX], 20);
	CHECK(c->halted);
	CHECK_EQ(c->rip, EMU_TEST_CODE + sizeof(main_code));
	emu_test_free(t);
}

/*
 * A jump to a page the TLB has as readable but not executable (NX) is a
 * #PF for the instruction fetch, with or without the decode cache.
 */
static void test_jump_to_nx_page(void)
{
	static const uint8_t code[] = {
		0x48, 0xc7, 0xc0, 0x00, 0x00, 0x20, 0x00, /* mov rax, DATA */
		0x8a, 0x18,			/* mov bl, [rax] */
		0xff, 0xe0,			/* jmp rax */
	};
	struct emu_test *t[2] = { setup(true), setup(false) };

	for (int i = 0; i < 2; i++) {
		/* the 2 MiB page at DATA gets NX */
		emu_test_w64(t[i], EMU_TEST_PML4 + 0x2000 + 8,
			     DATA | 0x87 | (1ULL << 63));
		*(uint8_t *)emu_test_ptr(t[i], DATA) = 0xf4;
		tlb_flush(&t[i]->cpu, true);
		emu_test_run(t[i], code, sizeof(code));
		CHECK_EQ(emu_test_vector(t[i]), EXC_PF);
		CHECK_EQ(t[i]->cpu.cr2, DATA);
		/* error code: present, instruction fetch */
		CHECK_EQ(emu_test_r64(t[i], t[i]->cpu.gpr[R_SP]), 0x11);
	}
	CHECK(same(t[0], t[1], "nx", -1));
	emu_test_free(t[0]);
	emu_test_free(t[1]);
}

/*
 * The decoder gives the hot forms their own handlers (the others go to
 * the generic switch or, not being cached forms, to the general decoder)
 */
static void test_handlers_picked(void)
{
	static const struct {
		uint8_t bytes[8];
		bool generic;
	} cases[] = {
		{ { 0x48, 0x01, 0xc8 }, false },	/* add rax, rcx */
		{ { 0x39, 0xd1 }, false },		/* cmp ecx, edx */
		{ { 0x48, 0x83, 0xc0, 0x10 }, false },	/* add rax, 16 */
		{ { 0x48, 0x03, 0x06 }, false },	/* add rax, [rsi] */
		{ { 0x0f, 0xb6, 0x06 }, false },	/* movzx eax, byte [rsi] */
		{ { 0x8a, 0x46, 0x01 }, false },	/* mov al, [rsi+1] */
		{ { 0x88, 0x26 }, true },		/* mov [rsi], ah */
		{ { 0x66, 0x89, 0x06 }, false },	/* mov [rsi], ax */
		{ { 0x48, 0xc1, 0xe8, 0x03 }, false },	/* shr rax, 3 */
		{ { 0x11, 0xc8 }, true },		/* adc eax, ecx */
		{ { 0x64, 0x8b, 0x06 }, false },	/* mov eax, fs:[rsi] */
		{ { 0x00, 0xd8 }, false },		/* add al, bl */
		{ { 0x00, 0xdc }, true },		/* add ah, bl */
		{ { 0x80, 0x3e, 0x01 }, false },	/* cmp byte [rsi], 1 */
		{ { 0xff, 0xe0 }, false },		/* jmp rax */
		{ { 0x0f, 0xba, 0x26, 0x03 }, false },	/* bt dword [rsi], 3 */
		{ { 0x0f, 0xba, 0x2e, 0x03 }, true },	/* bts dword [rsi], 3 */
		{ { 0x74, 0x00 }, false },		/* je */
		{ { 0x01, 0x06 }, false },		/* add [rsi], eax */
		{ { 0x80, 0x0e, 0x01 }, false },	/* or byte [rsi], 1 */
		{ { 0x13, 0x06 }, true },		/* adc eax, [rsi] */
		{ { 0x48, 0x0f, 0xaf, 0xc1 }, false },	/* imul rax, rcx */
		{ { 0x6b, 0x06, 0x03 }, false },	/* imul eax, [rsi], 3 */
		{ { 0x66, 0x0f, 0xaf, 0xc1 }, true },	/* imul ax, cx */
		{ { 0x0f, 0x44, 0x06 }, false },	/* cmove eax, [rsi] */
		{ { 0x0f, 0x95, 0xc1 }, false },	/* setne cl */
		{ { 0x0f, 0x95, 0xc4 }, true },		/* setne ah */
		{ { 0x0f, 0x9c, 0x06 }, false },	/* setl [rsi] */
	};
	static struct dc_block b;
	uint8_t code[32];
	bool generic;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(code, 0x90, sizeof(code));
		memcpy(code, cases[i].bytes, sizeof(cases[i].bytes));
		dc_build(&b, code, code + sizeof(code));
		CHECK(b.n >= 1);
		generic = b.e[0].h == H_GENERIC || b.e[0].h == H_INTERP ||
			  b.e[0].h == H_DECODE;
		if (generic != cases[i].generic)
			printf("  case %u: handler %u\n", i, b.e[0].h);
		CHECK_EQ(generic, cases[i].generic);
	}
}

/*
 * Every shift and rotate of a register, at every size and with each kind
 * of count (1, imm8, CL), gets its own handler (SHL/SHR/SAR with lazy
 * flags, ROL/ROR setting CF and OF over them: see lflags.h), and so do NOT
 * and NEG; they used to sync the lazy flags and go through alu_shift or
 * the generic switch. Byte forms of AH..BH and memory operands do not.
 */
static void test_shift_handlers(void)
{
	static const uint8_t prefixes[4][2] = {
		{ 0x40 }, { 0x66 }, { 0 }, { 0x48 } };	/* sizes 1, 2, 4, 8 */
	static const uint8_t counts[3] = { 0xd1, 0xc1, 0xd3 };
	static struct dc_block b;
	unsigned bad = 0;
	uint8_t code[32];

	for (int si = 0; si < 4; si++) {
		int size = 1 << si;

		for (int op = 0; op < 8; op++) {
			for (int ci = 0; ci < 3; ci++) {
				int n = 0;

				memset(code, 0x90, sizeof(code));
				if (prefixes[si][0])
					code[n++] = prefixes[si][0];
				/* rex + d0/c0/d2 is the byte form of sil..r15b */
				code[n++] = counts[ci] - (size == 1);
				code[n++] = 0xc6 | (op << 3);	/* esi */
				code[n++] = 5;			/* the imm8 */
				dc_build(&b, code, code + sizeof(code));
				if (b.e[0].h != H_SHIFT_R + DC_SHIFT_SLOT(op, size) &&
				    bad++ < 5)
					printf("  shift %d size %d count %d: handler %u\n",
					       op, size, ci, b.e[0].h);
			}
		}
		for (int neg = 0; neg < 2; neg++) {
			int n = 0;

			if (prefixes[si][0])
				code[n++] = prefixes[si][0];
			code[n++] = size == 1 ? 0xf6 : 0xf7;
			code[n++] = 0xd6 | (neg << 3);	/* not/neg esi */
			dc_build(&b, code, code + sizeof(code));
			CHECK_EQ(b.e[0].h, (neg ? H_NEG_R : H_NOT_R) + si);
		}
	}
	CHECK_EQ(bad, 0);
	/* ror ah, 3 and rol dword [rsi], 1 stay generic */
	memcpy(code, (const uint8_t[]){ 0xc0, 0xcc, 0x03, 0xd1, 0x06 }, 5);
	dc_build(&b, code, code + sizeof(code));
	CHECK_EQ(b.e[0].h, H_GENERIC);
	CHECK_EQ(b.e[1].h, H_GENERIC);
}

/* A small deterministic generator for the random programs below */
static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return (rnd_state >> 8) % n;
}

/*
 * One random register-only instruction at p: an ALU, TEST, MOV, MOVZX/SX,
 * MOVSXD, CMOVcc, SETcc, shift, NOT/NEG, INC/DEC or BT form with a random
 * size prefix (none, 66, REX with random W/R/B), never touching RSP (ModRM
 * fields 4 are avoided). Returns its length.
 */
static int put_random_insn(uint8_t *p)
{
	static const uint8_t ops[] = {
		0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11,
		0x18, 0x19, 0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b,
		0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b, 0x84, 0x85,
		0x88, 0x89, 0x8a, 0x8b, 0x63, 0xc1, 0xd1, 0xd3, 0xf7, 0xff,
		0x83, 0x81, 0x0f,
	};
	static const uint8_t ops0f[] = { 0xb6, 0xb7, 0xbe, 0xbf, 0x40, 0x9f,
					 0xba, 0xaf };
	uint8_t op = ops[rnd(sizeof(ops))], op2 = 0;
	uint8_t reg = rnd(8), rm = rnd(8);
	int n = 0;

	if (reg == 4)
		reg = 0;
	if (rm == 4)
		rm = 1;
	switch (rnd(3)) {
	case 1:
		p[n++] = 0x66;
		break;
	case 2:
		p[n++] = 0x40 | rnd(16);
		break;
	}
	p[n++] = op;
	if (op == 0x0f) {
		op2 = ops0f[rnd(sizeof(ops0f))];
		if (op2 == 0x40 || op2 == 0x9f)
			op2 = (op2 & 0xf0) | rnd(16);	/* any CMOVcc/SETcc */
		if (op2 == 0xba)
			reg = 4 + rnd(4);		/* BT, BTS, BTR, BTC */
		p[n++] = op2;
	}
	if (op == 0xc1 || op == 0xd1 || op == 0xd3)
		reg = rnd(8);
	if (op == 0xf7)
		reg = 2 + rnd(2);			/* NOT, NEG */
	if (op == 0xff)
		reg = rnd(2);				/* INC, DEC */
	if (op == 0x81 || op == 0x83)
		reg = rnd(8);
	p[n++] = 0xc0 | reg << 3 | rm;
	if (op == 0xc1 || op == 0x83 || op2 == 0xba)
		p[n++] = rnd(256);
	if (op == 0x81) {
		int k = p[0] == 0x66 ? 2 : 4;

		for (int i = 0; i < k; i++)
			p[n++] = rnd(256);
	}
	return n;
}

/*
 * Random straight-line programs of register forms, with a Jcc over the
 * next instruction now and then: the decode cache and the general decoder
 * must agree after every instruction and at the end.
 */
static void test_random_register_forms(void)
{
	static const uint64_t vals[] = { 0, 1, 0x7f, 0x80, 0xff, 0x7fff,
		0x8000, 0xffffffff, 0x80000000, ~0ULL, 0x8000000000000000ULL,
		0x123456789abcdef0ULL };
	uint8_t code[1024];

	for (int prog = 0; prog < 150; prog++) {
		struct emu_test *a = setup(true), *b = setup(false);
		int n = 0, bad = 0;

		while (n < 900) {
			if (!rnd(6)) {
				int at = n;

				code[n++] = 0x70 | rnd(16);	/* Jcc +len */
				n++;
				code[at + 1] = put_random_insn(code + n);
				n += code[at + 1];
			}
			n += put_random_insn(code + n);
		}
		code[n++] = 0xf4;
		for (int r = 0; r < 16; r++) {
			if (r == R_SP)
				continue;
			a->cpu.gpr[r] = vals[rnd(12)] ^ (rnd(4) ? 0 :
				(uint64_t)rnd(1 << 16) << rnd(48));
			b->cpu.gpr[r] = a->cpu.gpr[r];
		}
		memcpy(emu_test_ptr(a, EMU_TEST_CODE), code, n);
		memcpy(emu_test_ptr(b, EMU_TEST_CODE), code, n);
		a->cpu.rip = b->cpu.rip = EMU_TEST_CODE;
		for (long step = 0; step < 2000 && !a->cpu.halted; step++) {
			/* batches of 1..64 instructions, chained blocks */
			long k = 1 + rnd(64);

			cpu_run_batch(&a->cpu, k, NULL);
			cpu_run_batch(&b->cpu, k, NULL);
			if (!same(a, b, "random", step)) {
				bad = 1;
				break;
			}
		}
		CHECK(!bad);
		CHECK(a->cpu.halted);
		emu_test_free(a);
		emu_test_free(b);
		if (bad)
			break;
	}
}

/*
 * KiB of the mappings that start in [p, p + len) (madvise splits one):
 * their size and what is resident
 */
static void mapping_kib(const void *p, long len, long *size, long *rss)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	uintptr_t at = (uintptr_t)p;
	char line[256];
	bool in = false;

	*size = *rss = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = lo >= at && lo < at + len;
			continue;
		}
		if (in && !strncmp(line, "Size:", 5))
			*size += strtol(line + 5, NULL, 10);
		if (in && !strncmp(line, "Rss:", 4))
			*rss += strtol(line + 4, NULL, 10);
	}
	fclose(f);
}

/*
 * The cache sits on a huge-page boundary, all of it usable, and takes no
 * more memory than its blocks: a huge page for its last 0.6 MB made
 * 4 MiB resident (the emu VMM's budget is 16 MiB).
 */
static void test_cache_mapping(void)
{
	struct dc_block *dc = dcache_create();
	long bytes = DCACHE_BLOCKS * sizeof(*dc) + sizeof(uint64_t);
	long kib = (bytes + 4095) / 4096 * 4, size, rss;

	CHECK(dc != NULL);
	if (!dc)
		return;
	CHECK_EQ((uintptr_t)dc & ((2 << 20) - 1), 0);
	CHECK_EQ(dc[0].key, 0);
	CHECK_EQ(dc[DCACHE_BLOCKS - 1].key, 0);
	memset(dc, 0, bytes);
	dc[0].n = dc[DCACHE_BLOCKS - 1].n = 1;
	mapping_kib(dc, bytes, &size, &rss);
	CHECK_EQ(size, kib);
	CHECK(rss > 0 && rss <= kib);
	dcache_destroy(dc);
}

int main(void)
{
	RUN(test_cache_mapping);
	RUN(test_handlers_picked);
	RUN(test_shift_handlers);
	RUN(test_alu_forms);
	RUN(test_mov_forms);
	RUN(test_control_and_fault);
	RUN(test_sse_moves);
	RUN(test_rmw_imul_cmov_setcc);
	RUN(test_page_tail);
	RUN(test_store_into_next_insn);
	RUN(test_chain_across_pages);
	RUN(test_jump_to_nx_page);
	RUN(test_random_register_forms);
	return test_summary();
}
