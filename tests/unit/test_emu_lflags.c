// SPDX-License-Identifier: MIT
/*
 * emu decode cache: lazily computed flags and the checks on cached code.
 *
 * Each ALU instruction form the decode cache keeps flags lazy for runs, at
 * every operand size and on edge-case operands, once on the host CPU (the
 * same bytes, called as a function) and once in the interpreter, followed
 * by all sixteen SETcc, PUSHFQ and an INC or DEC. The result, the flags and
 * each condition must be what the hardware gives; the conditions are
 * derived from the host's flags with the SDM's table (Jcc, "Description").
 */
#include <sys/mman.h>

#include "emu_test.h"
#include "test.h"

#define OUT	0x200100ULL

struct form {
	const char *name;
	uint8_t bytes[10];
	int len;
	uint64_t undefined;	/* flags the SDM leaves undefined */
};

/* rax = rax OP rbx (or an immediate), with REX.W / 66 added per size */
static const struct form forms[] = {
	{ "add", { 0x01, 0xd8 }, 2, 0 },
	{ "or", { 0x09, 0xd8 }, 2, FL_AF },
	{ "and", { 0x21, 0xd8 }, 2, FL_AF },
	{ "sub", { 0x29, 0xd8 }, 2, 0 },
	{ "xor", { 0x31, 0xd8 }, 2, FL_AF },
	{ "cmp", { 0x39, 0xd8 }, 2, 0 },
	{ "cmp r,rm", { 0x3b, 0xc3 }, 2, 0 },
	{ "test", { 0x85, 0xd8 }, 2, FL_AF },
	{ "cmp imm8", { 0x83, 0xf8, 0x80 }, 3, 0 },
	{ "sub imm8", { 0x83, 0xe8, 0x01 }, 3, 0 },
	{ "and imm8", { 0x83, 0xe0, 0x7f }, 3, FL_AF },
	{ "inc", { 0xff, 0xc0 }, 2, 0 },
	{ "dec", { 0xff, 0xc8 }, 2, 0 },
	{ "shl 1", { 0xd1, 0xe0 }, 2, FL_AF },
	{ "shr 3", { 0xc1, 0xe8, 0x03 }, 3, FL_AF | FL_OF },
	{ "sar 1", { 0xd1, 0xf8 }, 2, FL_AF },
	/* a CMP that leaves CF set or clear, then INC/DEC must keep it */
	{ "cmp; inc", { 0x39, 0xd8, 0xff, 0xc1 }, 4, 0 },
	{ "cmp; dec", { 0x39, 0xd8, 0xff, 0xc9 }, 4, 0 },
	{ "add; dec", { 0x01, 0xd8, 0xff, 0xc9 }, 4, 0 },
	/*
	 * Shifts and rotates by 1, by an immediate (0, one that masks to 1
	 * at 32 bits, one that is a multiple of 8) and by CL (rcx takes the
	 * values, so 0, 1, counts that mask to 0 and to 31 or 63); after an
	 * ADD, XOR or SUB whose lazy flags the count-0 cases keep and the
	 * rotates keep but CF and OF; then INC, which keeps the shift's CF.
	 * OF is undefined after a count other than 1, AF after a shift.
	 */
	{ "add; rol 1", { 0x01, 0xd8, 0xd1, 0xc0 }, 4, 0 },
	{ "xor; ror 1", { 0x31, 0xd8, 0xd1, 0xc8 }, 4, FL_AF },
	{ "sub; rcl 1", { 0x29, 0xd8, 0xd1, 0xd0 }, 4, 0 },
	{ "add; rcr cl", { 0x01, 0xd8, 0xd3, 0xd8 }, 4, FL_OF },
	{ "add; rol 8", { 0x01, 0xd8, 0xc1, 0xc0, 0x08 }, 5, FL_OF },
	{ "xor; ror 13", { 0x31, 0xd8, 0xc1, 0xc8, 0x0d }, 5, FL_AF | FL_OF },
	{ "add; rol cl", { 0x01, 0xd8, 0xd3, 0xc0 }, 4, FL_OF },
	{ "sub; ror cl", { 0x29, 0xd8, 0xd3, 0xc8 }, 4, FL_OF },
	{ "add; rol 1; inc", { 0x01, 0xd8, 0xd1, 0xc0, 0xff, 0xc1 }, 6, 0 },
	{ "sub; ror cl; dec", { 0x29, 0xd8, 0xd3, 0xc8, 0xff, 0xc9 }, 6, 0 },
	{ "add; shl 0", { 0x01, 0xd8, 0xc1, 0xe0, 0x00 }, 5, 0 },
	{ "sub; shl 33", { 0x29, 0xd8, 0xc1, 0xe0, 0x21 }, 5, FL_AF | FL_OF },
	{ "add; shl cl", { 0x01, 0xd8, 0xd3, 0xe0 }, 4, FL_AF | FL_OF },
	{ "sub; shr cl", { 0x29, 0xd8, 0xd3, 0xe8 }, 4, FL_AF | FL_OF },
	{ "add; sar cl", { 0x01, 0xd8, 0xd3, 0xf8 }, 4, FL_AF | FL_OF },
	{ "shr 1; inc", { 0xd1, 0xe8, 0xff, 0xc1 }, 4, FL_AF },
	{ "sub; shl cl; dec", { 0x29, 0xd8, 0xd3, 0xe0, 0xff, 0xc9 }, 6, 0 },
	{ "add; rol 1; shr cl; ror 1", { 0x01, 0xd8, 0xd1, 0xc0, 0xd3, 0xe8,
	  0xd1, 0xc8 }, 8, FL_AF },
	{ "neg", { 0xf7, 0xd8 }, 2, 0 },
	{ "add; not", { 0x01, 0xd8, 0xf7, 0xd0 }, 4, 0 },
};

static const uint64_t values[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
	0x80000000, 0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
	~0ULL, 0x123456789abcdef0ULL, 0x0f0f0f0f0f0f0f0fULL,
};

/* SDM condition cc on flags f */
static bool sdm_cond(uint64_t f, int cc)
{
	bool cf = f & FL_CF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF;
	bool pf = f & FL_PF, r;

	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

/* Conditions that read an undefined flag (OF: O, NO, L, GE, LE, G) */
static bool cond_defined(const struct form *f, int cc)
{
	return !(f->undefined & FL_OF) || !((cc >> 1) == 0 || (cc >> 1) >= 6);
}

static int put(uint8_t *p, const void *b, int n)
{
	memcpy(p, b, n);
	return n;
}

static int put_mov_imm(uint8_t *p, uint8_t reg, uint64_t v)
{
	uint8_t op[2] = { 0x48, 0xb8 + reg };

	put(p, op, 2);
	memcpy(p + 2, &v, 8);
	return 10;
}

/* The form at size: every instruction in it gets the size prefix */
static int put_form(uint8_t *p, const struct form *f, int size)
{
	int n = 0, i = 0;

	while (i < f->len) {
		/* each instruction of a form is an opcode, ModRM, maybe ib */
		int ilen = (f->bytes[i] == 0x83 || f->bytes[i] == 0xc1) ? 3 : 2;
		uint8_t op = f->bytes[i];

		if (size == 2)
			p[n++] = 0x66;
		else if (size == 8)
			p[n++] = 0x48;
		if (size == 1 && op != 0x83)
			op &= ~1;
		if (size == 1 && op == 0x83)
			op = 0x80;
		p[n++] = op;
		memcpy(p + n, f->bytes + i + 1, ilen - 1);
		n += ilen - 1;
		i += ilen;
	}
	return n;
}

struct host_out {
	uint64_t rax, flags, rcx;
};

/* push rbx; mov rax/rbx/rcx; clc; FORM; pushfq; pop rdx; store; pop rbx; ret */
static void host_run(uint8_t *page, const struct form *f, int size,
		     uint64_t a, uint64_t b, uint64_t c, struct host_out *o)
{
	static const uint8_t tail[] = { 0x9c, 0x5a, 0x48, 0x89, 0x07,
					0x48, 0x89, 0x57, 0x08, 0x48, 0x89,
					0x4f, 0x10, 0x5b, 0xc3 };
	void (*fn)(struct host_out *);
	int n = 0;

	page[n++] = 0x53;
	n += put_mov_imm(page + n, R_AX, a);
	n += put_mov_imm(page + n, R_BX, b);
	n += put_mov_imm(page + n, R_CX, c);
	page[n++] = 0xf8;	/* clc: a known CF for INC and DEC */
	n += put_form(page + n, f, size);
	put(page + n, tail, sizeof(tail));
	__builtin___clear_cache((char *)page, (char *)page + 4096);
	fn = (void (*)(struct host_out *))(void *)page;
	fn(o);
}

static size_t emu_code(uint8_t *code, const struct form *f, int size,
		       uint64_t a, uint64_t b, uint64_t c)
{
	/* mov [OUT+32], rax; mov [OUT+40], rdx; mov [OUT+48], rcx; hlt */
	static const uint8_t tail[] = { 0x9c, 0x5a,
		0x48, 0x89, 0x04, 0x25, 0x20, 0x01, 0x20, 0x00,
		0x48, 0x89, 0x14, 0x25, 0x28, 0x01, 0x20, 0x00,
		0x48, 0x89, 0x0c, 0x25, 0x30, 0x01, 0x20, 0x00, 0xf4 };
	size_t n = 0;

	n += put_mov_imm(code + n, R_AX, a);
	n += put_mov_imm(code + n, R_BX, b);
	n += put_mov_imm(code + n, R_CX, c);
	code[n++] = 0xf8;
	n += put_form(code + n, f, size);
	for (int cc = 0; cc < 16; cc++) {
		/* setcc [OUT+cc] */
		uint8_t s[4] = { 0x0f, 0x90 + cc, 0x04, 0x25 };
		uint32_t addr = OUT + cc;

		n += put(code + n, s, 4);
		n += put(code + n, &addr, 4);
	}
	n += put(code + n, tail, sizeof(tail));
	return n;
}

static void test_lazy_flags_match_hardware(void)
{
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct emu_test *t = emu_test_init64();
	static const int sizes[] = { 1, 2, 4, 8 };
	unsigned bad = 0, runs = 0;
	uint8_t code[256];

	CHECK(page != MAP_FAILED);
	if (page == MAP_FAILED)
		return;
	for (size_t fi = 0; fi < sizeof(forms) / sizeof(forms[0]); fi++) {
		const struct form *f = &forms[fi];

		for (int si = 0; si < 4; si++) {
			for (size_t ai = 0; ai < 17; ai++) {
				for (size_t bi = 0; bi < 17; bi += 2) {
					uint64_t a = values[ai], b = values[bi];
					uint64_t c = values[(ai + bi) % 17];
					uint64_t mask = EMU_FLAGS & ~f->undefined;
					struct host_out h;
					size_t len;
					bool ok;

					host_run(page, f, sizes[si], a, b, c, &h);
					len = emu_code(code, f, sizes[si], a, b, c);
					emu_test_run(t, code, len);
					ok = emu_test_vector(t) == -1 &&
					     emu_test_r64(t, OUT + 32) == h.rax &&
					     emu_test_r64(t, OUT + 48) == h.rcx &&
					     !((emu_test_r64(t, OUT + 40) ^
						h.flags) & mask);
					for (int cc = 0; cc < 16; cc++)
						ok &= !cond_defined(f, cc) ||
						      *(uint8_t *)emu_test_ptr(
							t, OUT + cc) ==
						      sdm_cond(h.flags, cc);
					runs++;
					if (!ok && bad++ < 5)
						fprintf(stderr, "%s size %d a %#llx b %#llx: flags %#llx want %#llx\n",
							f->name, sizes[si],
							(unsigned long long)a,
							(unsigned long long)b,
							(unsigned long long)emu_test_r64(t, OUT + 40),
							(unsigned long long)h.flags);
				}
			}
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(runs > 4000);
	munmap(page, 4096);
	emu_test_free(t);
}

/*
 *	mov ecx, 5; xor eax, eax
 * l:	add eax, ecx; dec ecx; jnz l	(a loop of chained blocks)
 *	cmp eax, 15; jne bad; mov byte [OUT], 1
 * bad:	hlt
 */
static const uint8_t loop_code[] = { 0xb9, 0x05, 0x00, 0x00, 0x00, 0x31,
	0xc0, 0x01, 0xc8, 0xff, 0xc9, 0x75, 0xfa, 0x83, 0xf8, 0x0f, 0x75,
	0x08, 0xc6, 0x04, 0x25, 0x00, 0x01, 0x20, 0x00, 0x01, 0xf4 };

static void test_chained_loop(void)
{
	struct emu_test *t = emu_test_init64();

	emu_test_run(t, loop_code, sizeof(loop_code));
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.gpr[R_AX], 15);
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, OUT), 1);
	/* ZF of the final CMP, computed on the way out of the cache */
	CHECK(t->cpu.rflags & FL_ZF);
	CHECK_EQ(t->cpu.lf_op, 0);
	emu_test_free(t);
}

/*
 * A page fault inside a block with lazy flags pending: the exception
 * frame holds the flags of the CMP before it.
 *	mov eax, 1; cmp eax, 2 (CF SF AF PF); mov rbx, [0x40000000]; hlt
 */
static const uint8_t fault_code[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0x83,
	0xf8, 0x02, 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x00, 0x40, 0xf4 };

static void test_fault_with_lazy_flags(void)
{
	struct emu_test *t = emu_test_init64();
	uint64_t frame_flags;

	emu_test_run(t, fault_code, sizeof(fault_code));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	/* #PF frame: error code, RIP, CS, RFLAGS, RSP, SS */
	frame_flags = emu_test_r64(t, t->cpu.gpr[R_SP] + 24);
	CHECK_EQ(frame_flags & EMU_FLAGS, FL_CF | FL_SF | FL_AF | FL_PF);
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP] + 8), EMU_TEST_CODE + 8);
	emu_test_free(t);
}

/* Run the test code again from its start, as it is in memory now */
static void rerun(struct emu_test *t)
{
	t->cpu.rip = EMU_TEST_CODE;
	t->cpu.halted = false;
	cpu_run_batch(&t->cpu, 1000, NULL);
}

/*
 * Blocks of 2, 8 and 30 bytes, changed behind the CPU's back (as DMA
 * would) in their last byte: the next run must decode the new bytes.
 */
static void test_changed_block_bytes(void)
{
	/* inc eax; hlt */
	static const uint8_t b2[] = { 0xff, 0xc0, 0xf4 };
	/* mov al, 1; mov al, 2; mov al, 3; nop; nop; hlt */
	static const uint8_t b8[] = { 0xb0, 1, 0xb0, 2, 0xb0, 3, 0x90, 0x90,
				      0xf4 };
	/* mov eax, 0; .. mov eax, 3; add eax, 1; add eax, 2; hlt */
	uint8_t b30[31];
	struct emu_test *t = emu_test_init64();
	uint8_t *code = emu_test_ptr(t, EMU_TEST_CODE);

	t->cpu.gpr[R_AX] = 0;
	emu_test_run(t, b2, sizeof(b2));
	CHECK_EQ(t->cpu.gpr[R_AX], 1);
	code[1] = 0xc8;		/* dec eax */
	rerun(t);
	CHECK_EQ(t->cpu.gpr[R_AX], 0);

	t->cpu.gpr[R_DX] = 0x55;
	emu_test_run(t, b8, sizeof(b8));
	CHECK_EQ(t->cpu.gpr[R_AX] & 0xff, 3);
	CHECK_EQ(t->cpu.gpr[R_DX], 0x55);
	code[7] = 0x99;		/* cdq */
	rerun(t);
	CHECK_EQ(t->cpu.gpr[R_DX], 0);

	for (int i = 0; i < 4; i++) {
		b30[5 * i] = 0xb8;
		memcpy(b30 + 5 * i + 1, &(uint32_t){ i }, 4);
	}
	memcpy(b30 + 20, (const uint8_t[]){ 0x05, 1, 0, 0, 0,
					    0x05, 2, 0, 0, 0, 0xf4 }, 11);
	emu_test_run(t, b30, sizeof(b30));
	CHECK_EQ(t->cpu.gpr[R_AX], 6);
	code[29] = 1;		/* second add: 0x01000002 */
	rerun(t);
	CHECK_EQ(t->cpu.gpr[R_AX], 0x01000006);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_lazy_flags_match_hardware);
	RUN(test_chained_loop);
	RUN(test_fault_with_lazy_flags);
	RUN(test_changed_block_bytes);
	return test_summary();
}
