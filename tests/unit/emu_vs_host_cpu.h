/* SPDX-License-Identifier: MIT */
/*
 * One instruction run natively by this x86-64 host and by the emu CPU in
 * each of its ways (the general decoder alone, the decode cache, the
 * translator) from the same state (test_emu_host_int.c, test_emu_host_sse.c):
 * every general register but RSP, the arithmetic flags and DF, the x87
 * registers, XMM0-XMM15, MXCSR and a 512-byte memory area must be the
 * host's, but for what the case says the SDM leaves undefined; an
 * exception must be the host's (SIGFPE: #DE or #XM, SIGSEGV: #GP), and
 * with #XM MXCSR (from the signal's context).
 *
 * The state block: an FXSAVE image at 0 that the harness FXRSTORs, the
 * registers and RFLAGS it loads (HX_GPR, HX_FL), and after the case the
 * registers and RFLAGS it stored (HX_GPR_OUT, HX_FL_OUT) and an FXSAVE
 * (HX_OUT); then the memory area (HX_MEM). The registers of a case's ptr
 * mask hold offsets into the memory area: each run makes them addresses
 * (the host's area, the guest's) and offsets again after.
 *
 * The harness, the same bytes on both: it saves the host's callee-saved
 * registers and the block's address on the stack, FXRSTORs, POPFQs and
 * loads every register (RDI last), runs the case, PUSHFQs and stores
 * them, FXSAVEs and gives the host its FPU state and registers back; RET
 * (host) or HLT (emu) last. Between the POPFQ and the PUSHFQ everything
 * the translator translates, so that a case it translates runs in the
 * block that loads and stores the registers.
 *
 * A failure prints the form, its bytes, the seed and sample, the way that
 * differed and the input registers (the first 12; HX_ALL=1: all of them);
 * HX_VERBOSE=1 lists the forms and which of them the translator ran;
 * HX_SAMPLES=n runs n random states a form.
 */
#ifndef CVISOR_TEST_EMU_VS_HOST_CPU_H
#define CVISOR_TEST_EMU_VS_HOST_CPU_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "accel/emu/jit.h"
#include "emu_test.h"

#define HX_BASE		EMU_TEST_DATA	/* the guest's state block */
#define HX_GPR		512	/* 16 registers in (RSP unused) */
#define HX_FL		640	/* RFLAGS in */
#define HX_MXCSR	648	/* the host's own MXCSR, loaded at the end */
#define HX_GPR_OUT	704
#define HX_FL_OUT	832
#define HX_OUT		1024	/* FXSAVE after the case */
#define HX_MEM		1536
#define HX_MEM_LEN	512
#define HX_BLOCK	(HX_MEM + HX_MEM_LEN)
/* The guest's code: a page a form, 3 MiB up (EMU_TEST_DATA's 1 MiB above) */
#define HX_CODE		0x300000ULL
#define HX_CODE_END	0xf00000ULL

/* The arithmetic flags and DF: what POPFQ loads and a case may compare */
#define HX_FLAGS	(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF | FL_DF)

/* The emu CPU's ways of running an instruction */
enum { HX_GENERIC, HX_DCACHE, HX_JIT, HX_WAYS };

static const char *const hx_way_name[HX_WAYS] = {
	"interpreter (general decoder)", "interpreter (decode cache)",
	"translator",
};

struct hx {
	struct emu_test *t[HX_WAYS];
	uint8_t *host_code;		/* executable */
	uint8_t *host;			/* the host's state block */
	bool low;			/* below 4 GiB: 32-bit addressing works */
	uint64_t code_at;		/* the guest's code: hx_next_form */
	/* each way's last state block, and one for the host if need be */
	uint8_t out[HX_WAYS + 1][HX_BLOCK] __attribute__((aligned(64)));
	int fails;			/* runs that differed */
	int runs;
	uint64_t seed;			/* printed with a failure */
	struct sigaction old[3];
};

/* Random states a form (HX_SAMPLES=n: n instead, for a longer run) */
static inline int hx_samples(int n)
{
	const char *s = getenv("HX_SAMPLES");

	return s && atoi(s) > 0 ? atoi(s) : n;
}


static void hx_put32(uint8_t *c, size_t *n, uint32_t v)
{
	memcpy(c + *n, &v, 4);
	*n += 4;
}

static size_t hx_make_code(uint8_t *c, const uint8_t *insn, size_t len,
			   uint8_t last)
{
	static const uint8_t pro[] = {
		0x53, 0x55, 0x41, 0x54, 0x41, 0x55,	/* push rbx .. r13 */
		0x41, 0x56, 0x41, 0x57,			/* push r14, r15 */
		0x57,					/* push rdi: the block */
		0x0f, 0xae, 0x0f,			/* fxrstor [rdi] */
		0xff, 0xb7, 0x80, 0x02, 0x00, 0x00,	/* push qword [rdi+640] */
		0x9d,					/* popfq */
	};
	static const uint8_t mid[] = {
		0x9c, 0x50,				/* pushfq; push rax */
		0x48, 0x8b, 0x44, 0x24, 0x10,		/* mov rax, [rsp+16] */
	};
	static const uint8_t epi[] = {
		0x59, 0x48, 0x89, 0x88, 0xc0, 0x02, 0x00, 0x00, /* rax */
		0x59, 0x48, 0x89, 0x88, 0x40, 0x03, 0x00, 0x00, /* rflags */
		0x0f, 0xae, 0x80, 0x00, 0x04, 0x00, 0x00, /* fxsave [rax+1024] */
		0xfc, 0xdb, 0xe3,			/* cld; fninit */
		0x0f, 0xae, 0x90, 0x88, 0x02, 0x00, 0x00, /* ldmxcsr [rax+648] */
		0x5f, 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, /* pop rdi, r15 .. */
		0x41, 0x5c, 0x5d, 0x5b,
	};
	size_t n = 0;

	memcpy(c, pro, sizeof(pro));
	n += sizeof(pro);
	for (int i = 0; i < 16; i++) {
		int r = i == 15 ? 7 : i >= 7 ? i + 1 : i;	/* RDI last */

		if (r == 4)
			continue;
		c[n++] = 0x48 | (r >= 8 ? 4 : 0);	/* mov r, [rdi+d32] */
		c[n++] = 0x8b;
		c[n++] = 0x80 | (r & 7) << 3 | 7;
		hx_put32(c, &n, HX_GPR + 8 * r);
	}
	if (len)
		memcpy(c + n, insn, len);
	n += len;
	memcpy(c + n, mid, sizeof(mid));
	n += sizeof(mid);
	for (int r = 1; r < 16; r++) {
		if (r == 4)
			continue;
		c[n++] = 0x48 | (r >= 8 ? 4 : 0);	/* mov [rax+d32], r */
		c[n++] = 0x89;
		c[n++] = 0x80 | (r & 7) << 3;
		hx_put32(c, &n, HX_GPR_OUT + 8 * r);
	}
	memcpy(c + n, epi, sizeof(epi));
	n += sizeof(epi);
	c[n++] = last;
	return n;
}

/* The host's signal in the case ends its run */
static sigjmp_buf hx_host_sig;
static int hx_host_vec;
static uint32_t hx_host_mxcsr;	/* at the host's fault */

static void hx_on_signal(int sig, siginfo_t *si, void *uc)
{
	const ucontext_t *u = uc;

	hx_host_mxcsr = u->uc_mcontext.fpregs ?
			u->uc_mcontext.fpregs->mxcsr : 0;
	if (sig == SIGFPE)
		hx_host_vec = si->si_code == FPE_INTDIV ||
			      si->si_code == FPE_INTOVF ? EXC_DE : EXC_XM;
	else if (sig == SIGILL)
		hx_host_vec = EXC_UD;
	else
		hx_host_vec = EXC_GP;
	siglongjmp(hx_host_sig, 1);
}

/* The host's run of its code on the block: -1, or the vector raised */
static __attribute__((noinline)) int hx_host_run(uint8_t *code,
						 uint8_t *block)
{
	typedef void (*fn_t)(void *);

	hx_host_vec = -1;
	if (!sigsetjmp(hx_host_sig, 1))
		((fn_t)code)(block);
	return hx_host_vec;
}

/* NULL when there is no executable memory for the host's runs */
static struct hx *hx_new(uint64_t seed)
{
	struct hx *h = aligned_alloc(64, (sizeof(*h) + 63) & ~63UL);
	struct sigaction sa = { .sa_sigaction = hx_on_signal,
				.sa_flags = SA_SIGINFO };
	static const int sigs[3] = { SIGFPE, SIGILL, SIGSEGV };

	if (!h)
		abort();
	memset(h, 0, sizeof(*h));
	h->host_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->host_code == MAP_FAILED) {
		free(h);
		return NULL;
	}
	/* below 4 GiB if it can be, for the forms with 32-bit addresses */
	h->host = mmap(NULL, HX_BLOCK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	h->low = h->host != MAP_FAILED;
	if (!h->low)
		h->host = h->out[HX_JIT] + HX_BLOCK;	/* see struct hx */
	for (int w = 0; w < HX_WAYS; w++) {
		struct emu_test *t = emu_test_init64();

		t->cpu.cr4 |= CR4_OSXMMEXCPT;
		if (w == HX_GENERIC) {
			dcache_destroy(t->cpu.dcache);
			t->cpu.dcache = NULL;
		}
		if (w == HX_JIT) {
			emu_test_track(t);
			t->cpu.jit = jit_create();
			if (!t->cpu.jit)
				abort();
			jit_eager(t->cpu.jit);
		}
		h->t[w] = t;
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &h->old[i]);
	h->seed = seed;
	h->code_at = HX_CODE;
	return h;
}

static void hx_free(struct hx *h)
{
	static const int sigs[3] = { SIGFPE, SIGILL, SIGSEGV };

	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &h->old[i], NULL);
	for (int w = 0; w < HX_WAYS; w++) {
		jit_destroy(h->t[w]->cpu.jit);
		h->t[w]->cpu.jit = NULL;
		emu_test_free(h->t[w]);
	}
	munmap(h->host_code, 4096);
	if (h->low)
		munmap(h->host, HX_BLOCK);
	free(h);
}

/* The block at blk with the ptr registers' offsets made addresses at mem */
static void hx_place(uint8_t *blk, const uint8_t *in, uint16_t ptr,
		     uint64_t mem)
{
	memcpy(blk, in, HX_BLOCK);
	for (int r = 0; r < 16; r++) {
		uint64_t v;

		if (!(ptr >> r & 1))
			continue;
		memcpy(&v, blk + HX_GPR + 8 * r, 8);
		v += mem;
		memcpy(blk + HX_GPR + 8 * r, &v, 8);
	}
}

static void hx_unplace(uint8_t *blk, uint16_t ptr, uint64_t mem)
{
	for (int r = 0; r < 16; r++) {
		uint64_t v;

		if (!(ptr >> r & 1))
			continue;
		memcpy(&v, blk + HX_GPR_OUT + 8 * r, 8);
		v -= mem;
		memcpy(blk + HX_GPR_OUT + 8 * r, &v, 8);
	}
}

/* The emu CPU's run (way w) of code on the block; the vector or -1 */
static int hx_emu_run(struct hx *h, int w, const uint8_t *code, size_t n,
		      const uint8_t *in, uint16_t ptr, uint8_t *out)
{
	struct emu_test *t = h->t[w];
	uint8_t *blk = emu_test_ptr(t, HX_BASE);

	hx_place(blk, in, ptr, HX_BASE + HX_MEM);
	if (guest_mem_write(&t->vm.mem, h->code_at, code, n))
		abort();
	t->cpu.rip = h->code_at;
	t->cpu.gpr[R_SP] = EMU_TEST_STACK;
	t->cpu.gpr[R_DI] = HX_BASE;
	t->cpu.halted = false;
	for (int i = 0; i < 20 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
	memcpy(out, blk, HX_BLOCK);
	hx_unplace(out, ptr, HX_BASE + HX_MEM);
	if (t->cpu.error[0] || !t->cpu.halted)
		return 256;
	return emu_test_vector(t);
}

/* What a case leaves out of the comparison */
struct hx_mask {
	uint64_t flags;		/* RFLAGS bits compared (of HX_FLAGS) */
	uint16_t gpr;		/* registers not compared */
	bool mxcsr_flags;	/* MXCSR's status flags not compared */
	uint8_t mem;		/* bytes at the middle of the area not compared */
	/* and n bytes at at (offsets into the area: pointers stored there) */
	struct { int16_t at, n; } skip[2];
	uint8_t xmm0_lanes;	/* 4-byte lanes of XMM0 not compared */
};

static const char *const hx_reg_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* The first difference of emu's state e from the host's o, or false */
static bool hx_diff(const uint8_t *e, const uint8_t *o,
		    const struct hx_mask *m, char *why, size_t wl)
{
	uint64_t a, b;
	uint32_t mxa, mxb;

	for (int r = 0; r < 16; r++) {
		if (r == 4 || (m->gpr >> r & 1))
			continue;
		memcpy(&a, e + HX_GPR_OUT + 8 * r, 8);
		memcpy(&b, o + HX_GPR_OUT + 8 * r, 8);
		if (a != b) {
			snprintf(why, wl, "%s %016llx, host %016llx",
				 hx_reg_name[r], (unsigned long long)a,
				 (unsigned long long)b);
			return true;
		}
	}
	memcpy(&a, e + HX_FL_OUT, 8);
	memcpy(&b, o + HX_FL_OUT, 8);
	if ((a ^ b) & m->flags) {
		snprintf(why, wl, "rflags %03llx, host %03llx (compared %03llx)",
			 (unsigned long long)(a & HX_FLAGS),
			 (unsigned long long)(b & HX_FLAGS),
			 (unsigned long long)m->flags);
		return true;
	}
	memcpy(&mxa, e + HX_OUT + 24, 4);
	memcpy(&mxb, o + HX_OUT + 24, 4);
	if ((mxa ^ mxb) & (m->mxcsr_flags ? ~0x3fu : ~0u)) {
		snprintf(why, wl, "mxcsr %04x, host %04x", mxa, mxb);
		return true;
	}
	if (memcmp(e + HX_OUT, o + HX_OUT, 5)) {
		snprintf(why, wl, "fcw/fsw/ftw");
		return true;
	}
	for (int i = 0; i < 8; i++)
		if (memcmp(e + HX_OUT + 32 + 16 * i, o + HX_OUT + 32 + 16 * i,
			   10)) {
			snprintf(why, wl, "st%d/mm%d", i, i);
			return true;
		}
	for (int i = 0; i < 16; i++) {
		const uint8_t *x = e + HX_OUT + 160 + 16 * i;
		const uint8_t *y = o + HX_OUT + 160 + 16 * i;
		bool d = false;

		for (int l = 0; l < 4; l++)
			if (!(i == 0 && (m->xmm0_lanes >> l & 1)) &&
			    memcmp(x + 4 * l, y + 4 * l, 4))
				d = true;
		if (d) {
			uint64_t q[4];

			memcpy(q, x, 16);
			memcpy(q + 2, y, 16);
			snprintf(why, wl, "xmm%d %016llx%016llx, host %016llx%016llx",
				 i, (unsigned long long)q[1],
				 (unsigned long long)q[0],
				 (unsigned long long)q[3],
				 (unsigned long long)q[2]);
			return true;
		}
	}
	for (int i = 0; i < HX_MEM_LEN; i++)
		if (e[HX_MEM + i] != o[HX_MEM + i] &&
		    (i < HX_MEM_LEN / 2 || i >= HX_MEM_LEN / 2 + m->mem) &&
		    (i < m->skip[0].at || i >= m->skip[0].at + m->skip[0].n) &&
		    (i < m->skip[1].at || i >= m->skip[1].at + m->skip[1].n)) {
			snprintf(why, wl, "memory byte %d (rdi%+d): %02x, host %02x",
				 i, i - HX_MEM_LEN / 2, e[HX_MEM + i],
				 o[HX_MEM + i]);
			return true;
		}
	return false;
}

/* A failure's report: the case, its bytes and its input registers */
static void hx_report(struct hx *h, const char *name, const uint8_t *insn,
		      size_t len, int w, int sample, const uint8_t *in,
		      const char *why)
{
	uint64_t v;

	if (h->fails++ >= (getenv("HX_ALL") ? 100000 : 12))
		return;
	printf("  %s [", name);
	for (size_t i = 0; i < len; i++)
		printf("%s%02x", i ? " " : "", insn[i]);
	printf("] sample %d (seed %#llx), %s: %s\n", sample,
	       (unsigned long long)h->seed, hx_way_name[w], why);
	printf("    in:");
	for (int r = 0; r < 16; r++) {
		if (r == 4)
			continue;
		memcpy(&v, in + HX_GPR + 8 * r, 8);
		printf(" %s=%llx", hx_reg_name[r], (unsigned long long)v);
	}
	memcpy(&v, in + HX_FL, 8);
	printf(" rflags=%llx mxcsr=%x\n", (unsigned long long)v,
	       *(const uint32_t *)(in + 24));
	for (int i = 0; i < 2; i++) {
		uint64_t q[2];

		memcpy(q, in + 160 + 16 * i, 16);
		printf("    xmm%d=%016llx%016llx", i, (unsigned long long)q[1],
		       (unsigned long long)q[0]);
	}
	memcpy(&v, in + HX_MEM + HX_MEM_LEN / 2, 8);
	printf(" [rdi]=%016llx\n", (unsigned long long)v);
}

/*
 * The host's run of hinsn (hlen bytes) on the state in (an offset block,
 * ptr its pointer registers): the vector it raised or -1, and the state
 * after it in h->host (offsets again)
 */
static int hx_host(struct hx *h, const uint8_t *hinsn, size_t hlen,
		   const uint8_t *in, uint16_t ptr)
{
	uint8_t *host = h->host;
	uint64_t mem = (uint64_t)(uintptr_t)(host + HX_MEM);
	int v;

	hx_make_code(h->host_code, hinsn, hlen, 0xc3);
	hx_place(host, in, ptr, mem);
	v = hx_host_run(h->host_code, host);
	hx_unplace(host, ptr, mem);
	return v;
}

/*
 * The emu CPU's runs of insn on the same state in each of its ways
 * against the host's (hv, h->host), compared as m says; sample
 * names the run in a report
 */
static void hx_emu_check(struct hx *h, const char *name, const uint8_t *insn,
			 size_t len, int hv, const uint8_t *in, uint16_t ptr,
			 const struct hx_mask *m, int sample)
{
	static uint8_t code[1024];
	size_t n = hx_make_code(code, insn, len, 0xf4);
	char why[200];

	for (int w = 0; w < HX_WAYS; w++) {
		int ev = hx_emu_run(h, w, code, n, in, ptr, h->out[w]);

		h->runs++;
		if (ev != hv) {
			snprintf(why, sizeof(why), "vector %d, host %d", ev, hv);
			hx_report(h, name, insn, len, w, sample, in, why);
		} else if (hv == EXC_XM &&
			   h->t[w]->cpu.mxcsr != hx_host_mxcsr) {
			/* the flags hardware sets with the exception */
			snprintf(why, sizeof(why), "#XM with mxcsr %04x, host %04x",
				 h->t[w]->cpu.mxcsr, hx_host_mxcsr);
			hx_report(h, name, insn, len, w, sample, in, why);
		} else if (hv < 0 && hx_diff(h->out[w], h->host, m, why,
					     sizeof(why))) {
			hx_report(h, name, insn, len, w, sample, in, why);
		}
	}
}

/* Both: the host's vector (-1: none) through *vec when not NULL */
static inline void hx_check(struct hx *h, const char *name,
			    const uint8_t *insn, size_t len, const uint8_t *in,
			    uint16_t ptr, const struct hx_mask *m, int sample,
			    int *vec)
{
	int hv = hx_host(h, insn, len, in, ptr);

	if (vec)
		*vec = hv;
	hx_emu_check(h, name, insn, len, hv, in, ptr, m, sample);
}

/*
 * The next form's code goes to a page of its own: a page rewritten for
 * form after form soon had its blocks no longer made again (the forms
 * after the first few then all ran interpreted)
 */
static inline void hx_next_form(struct hx *h)
{
	h->code_at += 4096;
	if (h->code_at == HX_CODE_END)
		h->code_at = HX_CODE;
}

/* Translated instructions of the translator's run of insn on in */
static uint64_t hx_jit_insns(struct hx *h, const uint8_t *insn, size_t len,
			     const uint8_t *in, uint16_t ptr)
{
	static uint8_t code[1024], out[HX_BLOCK];
	struct jit *j = h->t[HX_JIT]->cpu.jit;
	size_t n = hx_make_code(code, insn, len, 0xf4);
	uint64_t before;

	hx_emu_run(h, HX_JIT, code, n, in, ptr, out);	/* makes the blocks */
	before = jit_stat_insns(j);
	hx_emu_run(h, HX_JIT, code, n, in, ptr, out);
	return jit_stat_insns(j) - before;
}

/*
 * Whether the translator ran insn on in itself: it ran more translated
 * instructions than with RDTSC there (which it leaves to the interpreter,
 * splitting its block as insn would)
 */
static bool hx_translated(struct hx *h, const uint8_t *insn, size_t len,
			  const uint8_t *in, uint16_t ptr)
{
	static const uint8_t rdtsc[] = { 0x0f, 0x31 };
	uint64_t with = hx_jit_insns(h, insn, len, in, ptr);

	return with > hx_jit_insns(h, rdtsc, sizeof(rdtsc), in, ptr);
}

#endif
