// SPDX-License-Identifier: MIT
/*
 * emu: a non-canonical memory reference in 64-bit mode is #SS(0) when it
 * is a stack reference (PUSH, POP, CALL, RET, LEAVE, ENTER, PUSHF, or a
 * memory operand based on RSP or RBP without an FS/GS override; SDM vol.
 * 1 3.3.7.1) and #GP(0) otherwise, also for an access that starts in
 * canonical space and ends outside it (never the #PF of its first page).
 * Each case runs natively on this host, whose kernel turns #SS into
 * SIGBUS and #GP into SIGSEGV, and in the emu CPU by the general decoder,
 * the decode cache and the translator: the vector must be the host's,
 * with error code 0, the frame's RIP at the faulting instruction and its
 * RSP as it was before it.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define TSS	0x7000ULL
#define IST1	0x90000ULL	/* the faults' stack: RSP may be unusable */
#define DATA	EMU_TEST_DATA

/* RBX the value; "p" the prefix setting RSP or RBP from it */
struct ccase {
	const char *name;
	uint8_t len, at;	/* bytes; offset of the faulting instruction */
	bool sets_rsp;		/* the bytes before it move RBX into RSP */
	uint8_t b[16];
	uint64_t val;		/* 0: each of the non-canonical values */
	int8_t sp_adj;		/* else RSP moved by this before it */
	bool no_push;		/* a CALL: nothing written below RSP */
};

#define MOV_RSP_RBX	0x48, 0x89, 0xdc
#define MOV_RBP_RBX	0x48, 0x89, 0xdd
#define MOV_R12_RBX	0x49, 0x89, 0xdc
#define MOV_R13_RBX	0x49, 0x89, 0xdd
#define MOV_RSI_RBX	0x48, 0x89, 0xde
#define K(n, at, sp, v, ...) { n, sizeof((uint8_t[]){ __VA_ARGS__ }), at, \
			       sp, { __VA_ARGS__ }, v, 0, false }

/* A branch to RBX's non-canonical target: #GP at the branch */
#define KB(n, at, adj, call, ...) { n, sizeof((uint8_t[]){ __VA_ARGS__ }), \
				    at, false, { __VA_ARGS__ }, 0, adj, call }

#define STRADDLE8	0x7ffffffffffcULL	/* 8 bytes cross 1 << 47 */

static const struct ccase cases[] = {
	K("mov rax, [rbx]", 0, false, 0, 0x48, 0x8b, 0x03),
	K("mov rax, [rbp]", 3, false, 0, MOV_RBP_RBX, 0x48, 0x8b, 0x45, 0x00),
	K("mov rax, [rsp]", 3, true, 0, MOV_RSP_RBX, 0x48, 0x8b, 0x04, 0x24),
	K("mov rax, ds:[rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x3e, 0x48, 0x8b, 0x45, 0x00),
	K("mov rax, ss:[rbx]", 0, false, 0, 0x36, 0x48, 0x8b, 0x03),
	K("mov rax, fs:[rsp]", 3, true, 0, MOV_RSP_RBX,
	  0x64, 0x48, 0x8b, 0x04, 0x24),
	K("mov rax, gs:[rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x65, 0x48, 0x8b, 0x45, 0x00),
	K("mov rax, [r12]", 3, false, 0, MOV_R12_RBX, 0x49, 0x8b, 0x04, 0x24),
	K("mov rax, [r13]", 3, false, 0, MOV_R13_RBX, 0x49, 0x8b, 0x45, 0x00),
	K("mov rax, [rbp+rbx] (rbp 0)", 2, false, 0, 0x31, 0xed,
	  0x48, 0x8b, 0x44, 0x1d, 0x00),
	K("mov rax, [rbx+rbp] (rbp 0)", 2, false, 0, 0x31, 0xed,
	  0x48, 0x8b, 0x04, 0x2b),
	K("mov [rbp], eax", 3, false, 0, MOV_RBP_RBX, 0x89, 0x45, 0x00),
	K("add [rbp], eax", 3, false, 0, MOV_RBP_RBX, 0x01, 0x45, 0x00),
	K("add [rbx], eax", 0, false, 0, 0x01, 0x03),
	K("lock add [rbp], eax", 3, false, 0, MOV_RBP_RBX,
	  0xf0, 0x01, 0x45, 0x00),
	K("adc [rsp+8], eax", 3, true, 0, MOV_RSP_RBX,
	  0x11, 0x44, 0x24, 0x08),
	K("inc qword [rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x48, 0xff, 0x45, 0x00),
	K("cmovz rax, [rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x48, 0x0f, 0x44, 0x45, 0x00),
	K("movzx eax, byte [rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x0f, 0xb6, 0x45, 0x00),
	K("movups xmm0, [rbp]", 3, false, 0, MOV_RBP_RBX,
	  0x0f, 0x10, 0x45, 0x00),
	K("movdqu [rsp], xmm0", 3, true, 0, MOV_RSP_RBX,
	  0xf3, 0x0f, 0x7f, 0x04, 0x24),
	K("fld qword [rbp]", 3, false, 0, MOV_RBP_RBX, 0xdd, 0x45, 0x00),
	K("push rax", 3, true, 0, MOV_RSP_RBX, 0x50),
	K("pop rax", 3, true, 0, MOV_RSP_RBX, 0x58),
	K("call", 3, true, 0, MOV_RSP_RBX, 0xe8, 0x00, 0x00, 0x00, 0x00),
	K("call rax", 10, true, 0, 0x48, 0x8d, 0x05, 0x03, 0x00, 0x00, 0x00,
	  MOV_RSP_RBX, 0xff, 0xd0),
	K("ret", 3, true, 0, MOV_RSP_RBX, 0xc3),
	K("leave", 3, false, 0, MOV_RBP_RBX, 0xc9),
	K("enter 8, 0", 3, true, 0, MOV_RSP_RBX, 0xc8, 0x08, 0x00, 0x00),
	K("pushf", 3, true, 0, MOV_RSP_RBX, 0x9c),
	K("push imm8", 3, true, 0, MOV_RSP_RBX, 0x6a, 0x01),
	K("push qword [rbx]", 0, false, 0, 0xff, 0x33),
	K("push qword [rbp]", 3, false, 0, MOV_RBP_RBX, 0xff, 0x75, 0x00),
	K("call qword [rbx]", 0, false, 0, 0xff, 0x13),
	K("jmp qword [rbp]", 3, false, 0, MOV_RBP_RBX, 0xff, 0x65, 0x00),
	K("pop qword [rbx]", 0, false, 0, 0x8f, 0x03),
	K("lodsb from rsi", 3, false, 0, MOV_RSI_RBX, 0xac),
	K("ss lodsb from rsi", 3, false, 0, MOV_RSI_RBX, 0x36, 0xac),
	KB("jmp rbx", 0, 0, false, 0xff, 0xe3),
	KB("call rbx", 0, 0, true, 0xff, 0xd3),
	KB("jmp [rdi+8]", 0, 0, false, 0xff, 0x67, 0x08),
	KB("call [rdi+8]", 0, 0, true, 0xff, 0x57, 0x08),
	KB("ret", 1, -8, false, 0x53, 0xc3),		/* push rbx; ret */
	KB("ret 16", 1, -8, false, 0x53, 0xc2, 0x10, 0x00),
	/* 8 bytes from canonical space into the gap */
	K("push rax (straddle)", 3, true, STRADDLE8 + 8, MOV_RSP_RBX, 0x50),
	K("pop rax (straddle)", 3, true, STRADDLE8, MOV_RSP_RBX, 0x58),
	K("mov rax, [rbx] (straddle)", 0, false, STRADDLE8, 0x48, 0x8b, 0x03),
	K("mov rax, [rbp] (straddle)", 3, false, STRADDLE8, MOV_RBP_RBX,
	  0x48, 0x8b, 0x45, 0x00),
	K("mov [rsp], rax (straddle)", 3, true, STRADDLE8, MOV_RSP_RBX,
	  0x48, 0x89, 0x04, 0x24),
	K("movups xmm0, [rbp] (straddle)", 3, false, STRADDLE8 - 4,
	  MOV_RBP_RBX, 0x0f, 0x10, 0x45, 0x00),
	K("movups [rbx], xmm0 (straddle)", 0, false, STRADDLE8 - 4,
	  0x0f, 0x11, 0x03),
	K("fxsave [rbp] (straddle)", 3, false, 0x7fffffffff00ULL,
	  MOV_RBP_RBX, 0x0f, 0xae, 0x45, 0x00),
};

static const uint64_t noncanon[] = {
	0x8000000000000000ULL, 0x0000800000000000ULL, 0xffff7ffffffffff8ULL,
};

/*
 * The host's run: 0, or the signal and its si_code (SI_KERNEL for #SS's
 * SIGBUS and #GP's SIGSEGV, SEGV_MAPERR for a #PF)
 */
static sigjmp_buf host_jmp;
static int host_code_si;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	host_code_si = si->si_code;
	siglongjmp(host_jmp, sig);
}

static __attribute__((noinline)) int host_run(uint8_t *buf, uint64_t *st)
{
	typedef void (*fn_t)(void *);
	int sig = sigsetjmp(host_jmp, 1);

	if (!sig)
		((fn_t)buf)(st);
	return sig;
}

/*
 * The host's bytes: keep the callee-saved registers the cases change,
 * RSP in st[0], RBX from st[1], the case, RSP back
 */
static size_t host_code(uint8_t *p, const struct ccase *c)
{
	static const uint8_t pro[] = {
		0x55, 0x53, 0x41, 0x54, 0x41, 0x55,	/* push rbp..r13 */
		0x48, 0x89, 0x27,			/* mov [rdi], rsp */
		0x48, 0x8b, 0x5f, 0x08,			/* mov rbx, [rdi+8] */
	};
	static const uint8_t epi[] = {
		0x48, 0x8b, 0x27,			/* mov rsp, [rdi] */
		0x41, 0x5d, 0x41, 0x5c, 0x5b, 0x5d, 0xc3,
	};
	size_t n = 0;

	memcpy(p + n, pro, sizeof(pro));
	n += sizeof(pro);
	memcpy(p + n, c->b, c->len);
	n += c->len;
	memcpy(p + n, epi, sizeof(epi));
	return n + sizeof(epi);
}

/* A CPU whose faults (#DF, #SS, #GP, #PF) go onto the IST1 stack */
static struct emu_test *make_cpu(int mode)
{
	struct emu_test *t = emu_test_init64();
	struct emu_cpu *c = &t->cpu;
	static const int vecs[] = { EXC_DF, EXC_SS, EXC_GP, EXC_PF };

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint64_t *lo = emu_test_ptr(t, EMU_TEST_IDT + vecs[i] * 16);

		*lo |= 1ULL << 32;
	}
	emu_test_w64(t, TSS + 0x24, IST1);
	c->tr = (struct x86_segment){ .selector = 0x40, .base = TSS,
		.limit = 0x67, .type = 0xb, .present = 1 };
	if (mode == 0) {
		dcache_destroy(c->dcache);
		c->dcache = NULL;
	}
	if (mode == 2) {
		c->jit = jit_create();
		CHECK(c->jit != NULL);
		if (c->jit)
			jit_eager(c->jit);
	}
	return t;
}

static const char *const mode_name[] = { "general decoder", "decode cache",
					 "translator" };

/* Instructions the translator ran (before each case's fault) */
static uint64_t jit_translated;

/* The emu's run of c with RBX val: the vector (-1: none), checks its frame */
static int emu_run(const struct ccase *c, uint64_t val, int mode)
{
	struct emu_test *t = make_cpu(mode);
	struct emu_cpu *cpu = &t->cpu;
	uint8_t code[64];
	size_t n = 0;
	int vec;

	/* mov rbx, [rdi+8]; the case; hlt */
	memcpy(code, (uint8_t[]){ 0x48, 0x8b, 0x5f, 0x08 }, 4);
	n = 4;
	memcpy(code + n, c->b, c->len);
	n += c->len;
	code[n++] = 0xf4;
	cpu->gpr[R_DI] = DATA;
	emu_test_w64(t, DATA + 8, val);
	emu_test_run(t, code, n);
	vec = emu_test_vector(t);
	if (vec == EXC_SS || vec == EXC_GP) {
		uint64_t rip = emu_test_r64(t, IST1 - 40);
		uint64_t rsp = emu_test_r64(t, IST1 - 16);
		uint64_t want_sp = c->sets_rsp ? val :
				   EMU_TEST_STACK + c->sp_adj;

		if (emu_test_r64(t, IST1 - 48) != 0 ||
		    rip != EMU_TEST_CODE + 4 + c->at || rsp != want_sp ||
		    (c->no_push && emu_test_r64(t, EMU_TEST_STACK - 8))) {
			printf("  %s, 0x%llx, %s: error code 0x%llx, RIP "
			       "0x%llx, RSP 0x%llx\n", c->name,
			       (unsigned long long)val, mode_name[mode],
			       (unsigned long long)emu_test_r64(t,
							IST1 - 48),
			       (unsigned long long)rip,
			       (unsigned long long)rsp);
			vec = -2;
		}
	}
	if (cpu->jit) {
		jit_translated += jit_stat_insns(cpu->jit);
		jit_destroy(cpu->jit);
	}
	emu_test_free(t);
	return vec;
}

static void test_noncanonical_against_host(void)
{
	uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa = { .sa_sigaction = on_signal,
				.sa_flags = SA_ONSTACK | SA_SIGINFO },
			 old_bus, old_segv;
	static uint8_t altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	stack_t old_ss;
	uint64_t st[4];
	int runs = 0, fails = 0, ss_seen = 0, gp_seen = 0;

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		return;
	}
	/* the kernel delivers the host's signal on this stack: RSP is bad */
	sigaltstack(&ss, &old_ss);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct ccase *c = &cases[k];
		size_t nv = c->val ? 1 : sizeof(noncanon) / sizeof(noncanon[0]);

		for (size_t v = 0; v < nv; v++) {
			uint64_t val = c->val ? c->val : noncanon[v];
			int sig, want;

			host_code(buf, c);
			st[1] = val;
			sig = host_run(buf, st);
			want = !sig ? -1 : host_code_si != SI_KERNEL ?
			       (sig == SIGSEGV ? EXC_PF : -3) :
			       sig == SIGBUS ? EXC_SS : sig == SIGSEGV ?
			       EXC_GP : -3;
			ss_seen += want == EXC_SS;
			gp_seen += want == EXC_GP;
			for (int mode = 0; mode < 3; mode++) {
				int vec = emu_run(c, val, mode);

				runs++;
				if (vec == want)
					continue;
				fails++;
				printf("  %s, RBX 0x%llx, %s: vector %d, the "
				       "host's %d (signal %d)\n", c->name,
				       (unsigned long long)val,
				       mode_name[mode], vec, want, sig);
			}
		}
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaltstack(&old_ss, NULL);
	munmap(buf, 4096);
	printf("  %d runs, %d differ (host: %d #SS, %d #GP)\n", runs, fails,
	       ss_seen, gp_seen);
	CHECK_EQ(fails, 0);
	CHECK(ss_seen > 0 && gp_seen > 0);
	/* the cases' first instructions ran translated, up to the fault */
	printf("  %llu instructions translated\n",
	       (unsigned long long)jit_translated);
	CHECK(jit_translated > 0);
}

/*
 * Delivery through a 64-bit gate onto a stack whose frame would be in
 * non-canonical space is #SS(0) (SDM vol. 2, INT n: "IF StackAddress is
 * non-canonical THEN #SS(0)"), which the host cannot show (its kernel
 * switches stacks): INT3 and UD2 with such an RSP at CPL 0, without an
 * IST, end in #SS on IST1 with the frame's RIP at the instruction (and
 * for UD2 the EXT bit: the #SS came delivering an exception)
 */
static void test_delivery_noncanonical_stack(void)
{
	static const struct { uint64_t sp; int vec; } sps[] = {
		{ 0x8000000000000000ULL, EXC_SS },
		{ 0x800000000010ULL, EXC_SS },	/* frame across the end */
		{ EMU_TEST_STACK, -1 },		/* the gate's own vector */
	};
	static const uint8_t insns[][2] = { { 0xcc, 0x90 }, { 0x0f, 0x0b } };

	for (int mode = 0; mode < 3; mode++) {
		for (size_t k = 0; k < 3; k++) {
			for (int i = 0; i < 2; i++) {
				struct emu_test *t = make_cpu(mode);
				/* mov rsp, rbx; int3 / ud2; hlt */
				uint8_t code[] = { MOV_RSP_RBX, insns[i][0],
						   insns[i][1], 0xf4 };
				int want = sps[k].vec >= 0 ? sps[k].vec :
					   i ? EXC_UD : EXC_BP;

				t->cpu.gpr[R_BX] = sps[k].sp;
				emu_test_run(t, code, sizeof(code));
				CHECK_EQ(emu_test_vector(t), want);
				if (want == EXC_SS) {
					/* EXT: delivering #UD, not INT3 */
					CHECK_EQ(emu_test_r64(t, IST1 - 48), i);
					CHECK_EQ(emu_test_r64(t, IST1 - 40),
						 EMU_TEST_CODE + 3);
					CHECK_EQ(emu_test_r64(t, IST1 - 16),
						 sps[k].sp);
				}
				if (t->cpu.jit)
					jit_destroy(t->cpu.jit);
				emu_test_free(t);
			}
		}
	}
}

/*
 * A loop of 50 calls, run translated (and by the interpreters), whose
 * last goes to a non-canonical address: through a register (CALL RBX),
 * through memory (CALL [RDI]) or by a RET whose return address the
 * callee replaced. #GP(0) at that branch with nothing of it done: RIP
 * there, RSP as before it, RCX and RAX as the 49 rounds left them.
 *
 *	mov ecx, 50
 *	lea rbx, [rip + f]
 *	mov [rdi], rbx
 * loop:
 *	cmp ecx, 1
 *	jne skip
 *	mov rbx, rdx		; RDX: non-canonical
 *	mov [rdi], rbx		; (CALL [RDI] case)
 * skip:
 *	call rbx / call [rdi]
 *	dec ecx
 *	jnz loop
 *	hlt
 * f:	add eax, 1
 *	cmp ecx, 1		; (RET case: the last round's return address)
 *	jne r
 *	mov [rsp], rdx
 * r:	ret
 */
static void test_branch_noncanonical_translated(void)
{
	static const uint8_t head[] = {
		0xb9, 0x32, 0, 0, 0,			/* 0: mov ecx, 50 */
		0x48, 0x8d, 0x1d, 0x19, 0, 0, 0,	/* 5: lea rbx, [rip+25] */
		0x48, 0x89, 0x1f,			/* 12: mov [rdi], rbx */
		0x83, 0xf9, 0x01,			/* 15: cmp ecx, 1 */
		0x75, 0x06,				/* 18: jne 26 */
	};
	/* 20: the last round's setup (6 bytes), 26: the call (2 bytes) */
	static const uint8_t tail[] = {
		0xff, 0xc9,				/* 28: dec ecx */
		0x75, 0xef,				/* 30: jnz 15 */
		0xf4,					/* 32: hlt */
		0x90, 0x90, 0x90, 0x90,			/* 33 */
		0x83, 0xc0, 0x01,			/* 37: f: add eax, 1 */
		0x83, 0xf9, 0x01,			/* cmp ecx, 1 */
		0x75, 0x04,				/* jne r */
		0x48, 0x89, 0x14, 0x24,			/* mov [rsp], rdx */
		0xc3,					/* r: ret */
	};
	static const struct {
		const char *name;
		uint8_t setup[6], call[2];
		bool ret;
	} kinds[] = {
		{ "call rbx", { 0x48, 0x89, 0xd3, 0x90, 0x90, 0x90 },
		  { 0xff, 0xd3 }, false },
		{ "call [rdi]", { 0x48, 0x89, 0xd3, 0x48, 0x89, 0x1f },
		  { 0xff, 0x17 }, false },
		{ "ret", { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90 },
		  { 0xff, 0xd3 }, true },
	};
	uint64_t translated = 0;

	for (size_t k = 0; k < 3; k++) {
		for (int mode = 0; mode < 3; mode++) {
			struct emu_test *t = make_cpu(mode);
			uint8_t code[64];
			size_t n = 0;
			uint64_t at;

			memcpy(code, head, sizeof(head));
			n = sizeof(head);
			memcpy(code + n, kinds[k].setup, 6);
			n += 6;
			memcpy(code + n, kinds[k].call, 2);
			n += 2;
			memcpy(code + n, tail, sizeof(tail));
			n += sizeof(tail);
			if (!kinds[k].ret)	/* f without the replacement */
				code[n - 7] = 0xeb;	/* jmp r */
			t->cpu.gpr[R_DI] = DATA;
			t->cpu.gpr[R_DX] = 0x8000000000000000ULL;
			emu_test_run(t, code, n);
			at = kinds[k].ret ? EMU_TEST_CODE + n - 1 :
			     EMU_TEST_CODE + 26;
			if (emu_test_vector(t) != EXC_GP ||
			    emu_test_r64(t, IST1 - 48) != 0 ||
			    emu_test_r64(t, IST1 - 40) != at ||
			    emu_test_r64(t, IST1 - 16) != EMU_TEST_STACK -
			    (kinds[k].ret ? 8 : 0) ||
			    (uint32_t)t->cpu.gpr[R_CX] != 1 ||
			    (uint32_t)t->cpu.gpr[R_AX] != 49u +
			    kinds[k].ret) {
				printf("  %s, %s: vector %d, RIP 0x%llx, "
				       "RSP 0x%llx, ECX %u, EAX %u\n",
				       kinds[k].name, mode_name[mode],
				       emu_test_vector(t),
				       (unsigned long long)emu_test_r64(t,
							IST1 - 40),
				       (unsigned long long)emu_test_r64(t,
							IST1 - 16),
				       (unsigned)t->cpu.gpr[R_CX],
				       (unsigned)t->cpu.gpr[R_AX]);
				CHECK(0);
			}
			if (t->cpu.jit) {
				translated += jit_stat_insns(t->cpu.jit);
				jit_destroy(t->cpu.jit);
			}
			emu_test_free(t);
		}
	}
	printf("  %llu instructions translated\n",
	       (unsigned long long)translated);
	CHECK(translated > 3 * 200);
}

/* A 64-bit gate whose offset is not canonical: #GP(0) at the INT3 */
static void test_gate_noncanonical(void)
{
	static const uint8_t code[] = { 0xcc, 0xf4 };

	for (int mode = 0; mode < 3; mode++) {
		struct emu_test *t = make_cpu(mode);

		/* vector 3's offset bits 63:32 */
		emu_test_w64(t, EMU_TEST_IDT + 3 * 16 + 8, 0x80000000ULL);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), EXC_GP);
		CHECK_EQ(emu_test_r64(t, IST1 - 48), 0);
		CHECK_EQ(emu_test_r64(t, IST1 - 40), EMU_TEST_CODE);
		CHECK_EQ(emu_test_r64(t, IST1 - 16), EMU_TEST_STACK);
		if (t->cpu.jit)
			jit_destroy(t->cpu.jit);
		emu_test_free(t);
	}
}

/*
 * Far transfers to a non-canonical offset in 64-bit code (CS 0x08): #GP(0)
 * at the instruction, CS and RSP as before it (RDX: the offset)
 */
static void test_far_noncanonical(void)
{
	static const struct {
		const char *name;
		uint8_t len, at, b[16];
		int sp;			/* RSP at the fault, from the stack top */
	} cases[] = {
		/* mov rax, rsp; push 0x10; push rax; pushfq; push 8; push rdx */
		{ "iretq", 13, 11, { 0x48, 0x89, 0xe0, 0x6a, 0x10, 0x50, 0x9c,
				     0x6a, 0x08, 0x52, 0x90, 0x48, 0xcf },
		  -40 },
		/* push 8; push rdx; retfq */
		{ "retfq", 5, 3, { 0x6a, 0x08, 0x52, 0x48, 0xcb }, -16 },
		{ "jmp far [rdi]", 3, 0, { 0x48, 0xff, 0x2f }, 0 },
		{ "call far [rdi]", 3, 0, { 0x48, 0xff, 0x1f }, 0 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (int mode = 0; mode < 3; mode++) {
			struct emu_test *t = make_cpu(mode);
			uint8_t code[20];

			memcpy(code, cases[k].b, cases[k].len);
			code[cases[k].len] = 0xf4;
			t->cpu.gpr[R_DI] = DATA;
			t->cpu.gpr[R_DX] = 0x8000000000000000ULL;
			emu_test_w64(t, DATA, 0x8000000000000000ULL);
			emu_test_w64(t, DATA + 8, 0x08);
			emu_test_run(t, code, cases[k].len + 1);
			if (emu_test_vector(t) != EXC_GP ||
			    emu_test_r64(t, IST1 - 48) != 0 ||
			    emu_test_r64(t, IST1 - 40) !=
			    EMU_TEST_CODE + cases[k].at ||
			    emu_test_r64(t, IST1 - 16) !=
			    EMU_TEST_STACK + cases[k].sp) {
				printf("  %s, %s: vector %d, error 0x%llx, "
				       "RIP 0x%llx, RSP 0x%llx\n",
				       cases[k].name, mode_name[mode],
				       emu_test_vector(t),
				       (unsigned long long)emu_test_r64(t,
							IST1 - 48),
				       (unsigned long long)emu_test_r64(t,
							IST1 - 40),
				       (unsigned long long)emu_test_r64(t,
							IST1 - 16));
				CHECK(0);
			}
			if (t->cpu.jit)
				jit_destroy(t->cpu.jit);
			emu_test_free(t);
		}
	}
}

/*
 * SYSRET (64-bit operand) to a non-canonical RCX is #GP(0) in ring 0 on
 * Intel (this CPU's vendor), with nothing changed; SYSRET outside 64-bit
 * mode (compatibility mode) is #UD.
 */
static void test_sysret_noncanonical(void)
{
	/* sysretq; hlt */
	static const uint8_t code[] = { 0x48, 0x0f, 0x07, 0xf4 };
	static const uint64_t rcx[] = { 1ULL << 47, 0x8000000000000000ULL,
					0xffff7fffffffffffULL };

	for (size_t i = 0; i < sizeof(rcx) / sizeof(rcx[0]); i++) {
		struct emu_test *t = emu_test_init64();

		t->cpu.star = 0x0023001000000000ULL;
		t->cpu.gpr[R_CX] = rcx[i];
		t->cpu.gpr[11] = 0x202;
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), 13);
		CHECK_EQ(t->cpu.cpl, 0);
		/* the frame: error code, RIP of the SYSRET, CS 8 */
		CHECK_EQ(emu_test_r64(t, EMU_TEST_STACK - 48), 0);
		CHECK_EQ(emu_test_r64(t, EMU_TEST_STACK - 40), EMU_TEST_CODE);
		CHECK_EQ(emu_test_r64(t, EMU_TEST_STACK - 32), 8);
		emu_test_free(t);
	}

	struct emu_test *t = emu_test_init64();

	t->cpu.star = 0x0023001000000000ULL;
	t->cpu.seg[SEG_CS].selector = 0x18;
	t->cpu.seg[SEG_CS].l = 0;
	t->cpu.seg[SEG_CS].db = 1;
	cpu_update_mode(&t->cpu);
	emu_test_run(t, code + 1, sizeof(code) - 1);	/* sysret; hlt */
	CHECK_EQ(emu_test_vector(t), 6);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_noncanonical_against_host);
	RUN(test_sysret_noncanonical);
	RUN(test_delivery_noncanonical_stack);
	RUN(test_branch_noncanonical_translated);
	RUN(test_gate_noncanonical);
	RUN(test_far_noncanonical);
	return test_summary();
}
