// SPDX-License-Identifier: MIT
/*
 * emu: which SSE/SSE2/MMX encodings are #UD, and that an invalid one is
 * #UD before CR0.TS's #NM (an SSE instruction checks its encoding, then
 * CR0.EM and CR4.OSFXSR, then CR0.TS, then its operands). Every 0F opcode
 * of the SSE and MMX space, without a prefix and with 66, F3 and F2 (and
 * two of them), with a register and a memory ModRM (and each ModRM.reg
 * of the shift groups, of 0F AE's FXSAVE..STMXCSR and of its fences),
 * runs natively on this host: SIGILL or not. In the emu CPU (general
 * decoder, decode cache, translator) the same bytes must be #UD where
 * the host's are, and #NM with CR0.TS set where they are not, but for the
 * host's extensions beyond the emu's CPUID (SSE3 and later, AMD's SSE4a),
 * which the emu may refuse.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

static sigjmp_buf host_jmp;

static void on_signal(int sig)
{
	siglongjmp(host_jmp, sig);
}

static __attribute__((noinline)) int host_run(uint8_t *buf, void *mem)
{
	typedef void (*fn_t)(void *);
	int sig = sigsetjmp(host_jmp, 1);

	if (!sig)
		((fn_t)buf)(mem);
	return sig;
}

static bool takes_imm8(uint8_t op)
{
	return (op >= 0x70 && op <= 0x73) || op == 0xc2 ||
	       (op >= 0xc4 && op <= 0xc6);
}

/* The opcodes (second byte) of the SSE/SSE2 and MMX space */
static bool in_space(uint8_t op)
{
	return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
	       (op >= 0x50 && op <= 0x7f && op != 0x78 && op != 0x79) ||
	       op == 0xae || (op >= 0xc2 && op <= 0xc6) || op >= 0xd0;
}

/*
 * Forms valid on this host from later extensions than the emu's CPUID
 * (SSE2): SSE3's MOVSLDUP/MOVSHDUP/MOVDDUP, HADD/HSUB, ADDSUB, LDDQU,
 * SSE4a's MOVNTSS/MOVNTSD
 */
static bool beyond_sse2(uint8_t pfx, uint8_t op)
{
	return ((op == 0x12 || op == 0x16) && pfx == 0xf3) ||
	       (op == 0x12 && pfx == 0xf2) ||
	       ((op == 0x7c || op == 0x7d) && (pfx == 0x66 || pfx == 0xf2)) ||
	       (op == 0xd0 && (pfx == 0x66 || pfx == 0xf2)) ||
	       (op == 0xf0 && pfx == 0xf2) ||
	       (op == 0x2b && (pfx == 0xf2 || pfx == 0xf3));
}

/*
 * The prefix bytes: none, one of 66/F3/F2, or two of them (an F2 or F3
 * selects the form over a 66, the last of F2 and F3 wins)
 */
static const uint8_t pfx_seqs[][2] = {
	{ 0 }, { 0x66 }, { 0xf3 }, { 0xf2 }, { 0x66, 0xf3 }, { 0xf3, 0x66 },
	{ 0x66, 0xf2 }, { 0xf2, 0x66 }, { 0xf2, 0xf3 }, { 0xf3, 0xf2 },
};

/* The prefix that selects the form: what sse_form.c's table knows */
static uint8_t mandatory(const uint8_t *seq)
{
	uint8_t m = seq[0];

	if (seq[1] == 0xf2 || seq[1] == 0xf3 || (seq[1] == 0x66 && !m))
		m = seq[1];
	return m;
}

static size_t make_insn(uint8_t *p, const uint8_t *pfx, uint8_t op,
			uint8_t modrm)
{
	size_t n = 0;

	for (int i = 0; i < 2 && pfx[i]; i++)
		p[n++] = pfx[i];
	p[n++] = 0x0f;
	p[n++] = op;
	if (op != 0x77)		/* EMMS has no ModRM */
		p[n++] = modrm;
	if (takes_imm8(op))
		p[n++] = 0x01;
	return n;
}

static const char *const mode_name[] = { "general decoder", "decode cache",
					 "translator" };

/* The vector the emu raises for insn with CR0 bits cr0 (-1: none) */
static int emu_vector(const uint8_t *insn, size_t len, uint64_t cr0, int mode)
{
	struct emu_test *t = emu_test_init64();
	uint8_t code[32];
	int v;

	memcpy(code, insn, len);
	code[len] = 0xf4;
	t->cpu.cr0 |= cr0;
	t->cpu.gpr[R_DI] = EMU_TEST_DATA;
	if (mode == 0) {
		dcache_destroy(t->cpu.dcache);
		t->cpu.dcache = NULL;
	} else if (mode == 2) {
		t->cpu.jit = jit_create();
		CHECK(t->cpu.jit != NULL);
		if (t->cpu.jit)
			jit_eager(t->cpu.jit);
	}
	emu_test_run(t, code, len + 1);
	v = emu_test_vector(t);
	if (t->cpu.jit)
		jit_destroy(t->cpu.jit);
	emu_test_free(t);
	return v;
}

static void test_sse_ud_before_nm(void)
{
	uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static uint8_t mem[1024] __attribute__((aligned(64)));
	static uint8_t image[512] __attribute__((aligned(64)));
	struct sigaction sa = { .sa_handler = on_signal }, old_ill, old_segv,
			 old_fpe;
	int forms = 0, ud = 0, fails = 0;

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		return;
	}
	sigaction(SIGILL, &sa, &old_ill);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGFPE, &sa, &old_fpe);
	/* what FXRSTOR and LDMXCSR of [rdi] load: the host's own state */
	__builtin_ia32_fxsave(image);
	for (int op = 0; op < 256; op++) {
		if (!in_space(op))
			continue;
		for (size_t pi = 0; pi < sizeof(pfx_seqs) / 2; pi++) {
			const uint8_t *seq = pfx_seqs[pi];
			uint8_t pfx = mandatory(seq);

			bool group = (op >= 0x71 && op <= 0x73) || op == 0xae;

			for (int f = 0; f < (group ? 16 : 2); f++) {
				int reg = group ? f >> 1 : 0;
				bool memop = f & 1;
				uint8_t modrm = (memop ? 0x07 : 0xc1) |
						reg << 3;
				uint8_t insn[8];
				size_t len, n;
				int sig, want_ts, want, v;

				/*
				 * 0F AE: FXSAVE..STMXCSR, the fences; not
				 * CLFLUSH (a flush of [rdi]), XSAVE and the
				 * FSGSBASE forms (not in the emu's CPUID)
				 */
				if (op == 0xae && (memop ? reg > 3 : reg < 5))
					continue;
				if (op == 0x77 && f)
					continue;
				len = make_insn(insn, seq, op, modrm);
				memcpy(buf, insn, len);
				n = len;
				buf[n++] = 0x0f;	/* emms */
				buf[n++] = 0x77;
				buf[n++] = 0xc3;
				memcpy(mem, image, sizeof(image));
				sig = host_run(buf, mem);
				if (sig && sig != SIGILL) {
					printf("  %02x %02x 0f %02x %02x: "
					       "host signal %d\n", seq[0],
					       seq[1], op, modrm, sig);
					fails++;
					continue;
				}
				forms++;
				ud += sig == SIGILL;
				/* MOVNTI and the fences: no #NM */
				want_ts = sig ? EXC_UD : op == 0xc3 ||
					  (op == 0xae && !memop) ? -1 :
					  EXC_NM;
				for (int mode = 0; mode < 3; mode++) {
					v = emu_vector(insn, len, CR0_TS,
						       mode);
					want = want_ts;
					if (!sig && v == EXC_UD &&
					    beyond_sse2(pfx, op))
						want = EXC_UD;
					if (v == want)
						continue;
					fails++;
					printf("  %02x %02x 0f %02x %02x (%s):"
					       " vector %d with CR0.TS, the "
					       "host %s\n", seq[0], seq[1],
					       op, modrm, mode_name[mode], v,
					       sig ? "#UD" : "runs it");
				}
				/* without TS: #UD exactly where the host's */
				for (int mode = 0; mode < 3; mode++) {
					v = emu_vector(insn, len, 0, mode);
					if ((v == EXC_UD) == (sig == SIGILL) ||
					    (v == EXC_UD &&
					     beyond_sse2(pfx, op)))
						continue;
					fails++;
					printf("  %02x %02x 0f %02x %02x (%s):"
					       " vector %d, the host %s\n",
					       seq[0], seq[1], op, modrm,
					       mode_name[mode], v, sig ?
					       "#UD" : "runs it");
				}
			}
		}
	}
	sigaction(SIGILL, &old_ill, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGFPE, &old_fpe, NULL);
	munmap(buf, 4096);
	printf("  %d forms (%d #UD on the host), %d differ\n", forms, ud,
	       fails);
	CHECK_EQ(fails, 0);
	CHECK(forms > 1000 && ud > 100);
}

/*
 * The 0F 38 and 0F 3A spaces (SSSE3, SSE4.1/4.2) are not in the emu's
 * CPUID: #UD whatever CR0 says
 */
static void test_sse_beyond_cpuid_ud(void)
{
	static const uint8_t pshufb[] = { 0x66, 0x0f, 0x38, 0x00, 0xc1 };
	static const uint8_t palignr[] = { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 1 };
	static const uint8_t ptest[] = { 0x66, 0x0f, 0x38, 0x17, 0x07 };

	for (int mode = 0; mode < 3; mode++) {
		CHECK_EQ(emu_vector(pshufb, sizeof(pshufb), CR0_TS, mode),
			 EXC_UD);
		CHECK_EQ(emu_vector(palignr, sizeof(palignr), CR0_TS, mode),
			 EXC_UD);
		CHECK_EQ(emu_vector(ptest, sizeof(ptest), 0, mode), EXC_UD);
	}
}

/*
 * The form two prefixes select: ADDPS/ADDPD/ADDSS/ADDSD and MULxx of XMM1
 * into XMM0 after each pair, the result as this host's
 */
static void test_sse_prefix_precedence(void)
{
	uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static const float in[8] = { 1, 2, 3, 4, 10, 20, 30, 40 };
	static const uint8_t pro[] = {
		0x0f, 0x10, 0x07,		/* movups xmm0, [rdi] */
		0x0f, 0x10, 0x4f, 0x10,		/* movups xmm1, [rdi+16] */
	};
	static const uint8_t epi[] = { 0x0f, 0x11, 0x07, 0xc3 };
	static uint8_t mem[64] __attribute__((aligned(16)));

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		return;
	}
	for (size_t pi = 4; pi < sizeof(pfx_seqs) / 2; pi++) {
		for (uint8_t op = 0x58; op <= 0x59; op++) {
			struct emu_test *t = emu_test_init64();
			uint8_t insn[8], code[16];
			size_t len = make_insn(insn, pfx_seqs[pi], op, 0xc1), n;

			n = 0;
			memcpy(buf, pro, sizeof(pro));
			n += sizeof(pro);
			memcpy(buf + n, insn, len);
			n += len;
			memcpy(buf + n, epi, sizeof(epi));
			memcpy(mem, in, sizeof(in));
			((void (*)(void *))buf)(mem);

			memcpy(&t->cpu.xmm[0], in, 16);
			memcpy(&t->cpu.xmm[1], in + 4, 16);
			memcpy(code, insn, len);
			code[len] = 0xf4;
			emu_test_run(t, code, len + 1);
			CHECK_EQ(emu_test_vector(t), -1);
			if (memcmp(&t->cpu.xmm[0], mem, 16)) {
				printf("  %02x %02x 0f %02x c1: not the "
				       "host's result\n", pfx_seqs[pi][0],
				       pfx_seqs[pi][1], op);
				CHECK(0);
			}
			emu_test_free(t);
		}
	}
	munmap(buf, 4096);
}

int main(void)
{
	RUN(test_sse_ud_before_nm);
	RUN(test_sse_beyond_cpuid_ud);
	RUN(test_sse_prefix_precedence);
	return test_summary();
}
