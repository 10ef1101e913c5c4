// SPDX-License-Identifier: MIT
/*
 * emu interpreter: privilege checks outside what a segment load does.
 * Port I/O at CPL > IOPL through the TSS's I/O permission bitmap (Intel
 * SDM vol. 1, 19.5); far RET and IRET to an outer level, far CALL and
 * JMP, directly and through call gates (vol. 2, CALL, JMP, RET, IRET).
 * Byte arrays are GNU as output of the listed code.
 */
#include <stdio.h>

#include "emu_pm.h"
#include "test.h"

#define IOMAP		0x68	/* the bitmap's offset in the TSS */
#define IOMAP_PORTS	0x400	/* ports it covers, then a byte of ones */

/*
 * A bitmap for ports 0-0x3ff allowing 0x60 and 0x3f8-0x3fb, followed by
 * the byte of ones; the TSS limit ends with that byte
 */
static void iomap_set(struct emu_test *t, uint64_t tss)
{
	uint8_t *map = emu_test_ptr(t, tss + IOMAP);

	memset(map, 0xff, IOMAP_PORTS / 8 + 1);
	map[0x60 / 8] &= ~(1u << (0x60 & 7));
	map[0x3f8 / 8] &= ~0x0fu;
	*(uint16_t *)emu_test_ptr(t, tss + 0x66) = IOMAP;
	t->cpu.tr.limit = IOMAP + IOMAP_PORTS / 8;
}

/*
 * Each runs at CPL 3 with DX = dx, ECX 2 and ESI, EDI at DATA, then a
 * HLT, which is #GP(0) at CPL 3: the I/O instruction was allowed when
 * the #GP is at the HLT (at = len), refused when at the instruction
 * (at: its offset)
 */
static const struct io_case {
	const char *name;
	uint16_t dx;
	uint8_t code[4];
	int len;
	int at;
} io_cases[] = {
	/* in al, 0x60; in al, 0x61; out 0x60, al */
	{ "IN imm8, allowed", 0, { 0xe4, 0x60 }, 2, 2 },
	{ "IN imm8, bit set", 0, { 0xe4, 0x61 }, 2, 0 },
	{ "OUT imm8, allowed", 0, { 0xe6, 0x60 }, 2, 2 },
	/* in eax, dx; in ax, dx; out dx, al */
	{ "IN dword, all four bits clear", 0x3f8, { 0xed }, 1, 1 },
	{ "IN dword, last bit set", 0x3f9, { 0xed }, 1, 0 },
	{ "IN word, both clear", 0x3fa, { 0x66, 0xed }, 2, 2 },
	{ "IN word, across into a set bit", 0x3fb, { 0x66, 0xed }, 2, 0 },
	{ "OUT DX, allowed", 0x3f8, { 0xee }, 1, 1 },
	{ "OUT DX, bit set", 0x3f7, { 0xee }, 1, 0 },
	{ "port beyond the limit", 0x400, { 0xec }, 1, 0 },
	/* rep outsb; insd; rep insb */
	{ "REP OUTSB, allowed", 0x3f8, { 0xf3, 0x6e }, 2, 2 },
	{ "INSD, last bit set", 0x3f9, { 0x6d }, 1, 0 },
	{ "REP INSB, bit set", 0x61, { 0xf3, 0x6c }, 2, 0 },
};

/*
 * Runs c at CPL 3 in 32-bit protected mode (the bitmap of iomap_set,
 * or none; IOPL iopl) and returns the offset of the #GP's
 * EIP in the code, or -1 for no #GP
 */
static int io_run32(const struct io_case *c, bool map, unsigned iopl,
		    void (*tweak)(struct emu_test *t))
{
	struct emu_test *t = pm32();
	struct emu_cpu *cpu = &t->cpu;
	uint8_t code[8];
	int at = -1;

	if (map)
		iomap_set(t, TSS);
	else	/* beyond the limit: no bitmap */
		*(uint16_t *)emu_test_ptr(t, TSS + 0x66) = IOMAP;
	if (tweak)
		tweak(t);
	to_ring3(t);
	cpu->rflags |= (uint64_t)iopl << 12;
	cpu->gpr[R_DX] = c->dx;
	cpu->gpr[R_CX] = 2;
	cpu->gpr[R_SI] = cpu->gpr[R_DI] = DATA;
	memcpy(code, c->code, c->len);
	code[c->len] = 0xf4;
	emu_test_run(t, code, c->len + 1);
	if (emu_test_vector(t) == GP && stack32(t, 0) == 0)
		at = stack32(t, 4) - EMU_TEST_CODE;
	emu_test_free(t);
	return at;
}

static void test_io_bitmap(void)
{
	for (size_t i = 0; i < sizeof(io_cases) / sizeof(io_cases[0]); i++) {
		int at = io_run32(&io_cases[i], true, 0, NULL);

		if (at != io_cases[i].at)
			printf("  %s: #GP at %d\n", io_cases[i].name, at);
		CHECK_EQ(at, io_cases[i].at);
	}
}

static void tss_16bit(struct emu_test *t)
{
	t->cpu.tr.type = 3;
}

static void map_beyond_limit(struct emu_test *t)
{
	*(uint16_t *)emu_test_ptr(t, TSS + 0x66) = IOMAP + IOMAP_PORTS / 8;
}

/* The last byte of the map without the byte after it in the limit */
static void map_last_byte(struct emu_test *t)
{
	t->cpu.tr.limit--;
}

/*
 * IOPL 3 needs no bitmap; a 16-bit TSS has none; a map base at the limit
 * means none; the bitmap is read two bytes at a time, both within the
 * limit
 */
static void test_io_bitmap_edges(void)
{
	static const struct io_case in61 = { "", 0, { 0xe4, 0x61 }, 2, 0 };
	static const struct io_case in60 = { "", 0, { 0xe4, 0x60 }, 2, 0 };
	static const struct io_case in3f8 = { "", 0x3f8, { 0xec }, 1, 0 };

	CHECK_EQ(io_run32(&in61, false, 3, NULL), 2);
	CHECK_EQ(io_run32(&in61, false, 2, NULL), 0);
	CHECK_EQ(io_run32(&in60, true, 0, tss_16bit), 0);
	CHECK_EQ(io_run32(&in60, true, 0, map_beyond_limit), 0);
	CHECK_EQ(io_run32(&in3f8, true, 0, NULL), 1);
	CHECK_EQ(io_run32(&in3f8, true, 0, map_last_byte), 0);
}

/*
 * 64-bit mode at CPL 3, the 64-bit TSS in a supervisor-only page: the
 * bitmap is read as the system reads the TSS (no #PF for CPL 3)
 *	in al, 0x60	(then 0x61)
 *	hlt
 */
static void test_io_bitmap64(void)
{
	const uint64_t tss = 0x400000;

	for (int port = 0x60; port <= 0x61; port++) {
		uint8_t code[] = { 0xe4, port, 0xf4 };
		struct emu_test *t = emu_test_init64();
		struct emu_cpu *c = &t->cpu;

		emu_test_w64(t, EMU_TEST_PML4 + 0x2000 + 2 * 8,
			     (2ULL << 21) | 0x83);
		c->tr = (struct x86_segment){ .selector = 0x28, .base = tss,
			.type = 0xb, .present = 1 };
		iomap_set(t, tss);
		emu_test_w64(t, tss + 4, 0x90000);	/* RSP0 */
		for (int s = SEG_ES; s <= SEG_GS; s++) {
			c->seg[s].selector = s == SEG_CS ? 0x33 : 0x2b;
			c->seg[s].dpl = 3;
		}
		cpu_update_mode(c);
		tlb_flush(c, true);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), GP);
		CHECK_EQ(c->gpr[R_SP], 0x90000 - 48);
		CHECK_EQ(emu_test_r64(t, c->gpr[R_SP]), 0);
		CHECK_EQ(emu_test_r64(t, c->gpr[R_SP] + 8),
			 EMU_TEST_CODE + (port == 0x60 ? 2 : 0));
		emu_test_free(t);
	}
}


/*
 * Far RET and IRET to an outer level (SDM vol. 2, RET, IRET): the new CS
 * and SS are checked before either is loaded, so a fault leaves CS, SS,
 * ESP and EIP as they were (the fault is delivered at CPL 0 on the same
 * stack). Each case runs one instruction at CPL 0 (at CPL 3 with user),
 * on a frame of EIP, CS, (EFLAGS,) ESP, SS
 *	retf	(cb; retf 8: ca 08 00)
 *	iretd	(cf)
 */
struct ret_case {
	const char *name;
	uint8_t op;		/* 0xcb, 0xca (imm 8) or 0xcf */
	bool user;		/* at CPL 3 */
	uint16_t cs, ss;
	uint32_t eip;
	uint64_t desc;		/* at SEL_TEST, if any */
	int vec;		/* -1: done */
	uint32_t err;
};

#define RET_EIP		0x120000
#define RET_ESP		0x60000
#define UCODE_SMALL	DESC(0, 0xfff, XR, 3, DB)

static const struct ret_case ret_cases[] = {
	{ "RET to CPL 3", 0xcb, false, SEL_UCODE, SEL_UDATA, RET_EIP, 0,
	  -1, 0 },
	{ "RET 8 to CPL 3", 0xca, false, SEL_UCODE, SEL_UDATA, RET_EIP, 0,
	  -1, 0 },
	{ "IRET to CPL 3", 0xcf, false, SEL_UCODE, SEL_UDATA, RET_EIP, 0,
	  -1, 0 },
	{ "RET: SS DPL 0", 0xcb, false, SEL_UCODE, 0x13, RET_EIP, 0, GP,
	  0x10 },
	{ "IRET: SS DPL 0", 0xcf, false, SEL_UCODE, 0x13, RET_EIP, 0, GP,
	  0x10 },
	{ "RET: SS RPL 0", 0xcb, false, SEL_UCODE, SEL_UDATA & ~3, RET_EIP,
	  0, GP, SEL_UDATA & ~3 },
	{ "IRET: null SS", 0xcf, false, SEL_UCODE, 3, RET_EIP, 0, GP, 0 },
	{ "RET: SS read-only", 0xcb, false, SEL_UCODE, SEL_TEST | 3, RET_EIP,
	  DESC(0, 0xfffff, RO, 3, DB | G), GP, SEL_TEST },
	{ "IRET: SS code", 0xcf, false, SEL_UCODE, SEL_UCODE, RET_EIP, 0, GP,
	  SEL_UCODE & ~3 },
	{ "RET: SS not present", 0xcb, false, SEL_UCODE, SEL_TEST | 3,
	  RET_EIP, DESC(0, 0xfffff, RW, 3, DB | G) & NOT_PRESENT, SS,
	  SEL_TEST },
	{ "IRET: SS not present", 0xcf, false, SEL_UCODE, SEL_TEST | 3,
	  RET_EIP, DESC(0, 0xfffff, RW, 3, DB | G) & NOT_PRESENT, SS,
	  SEL_TEST },
	{ "RET: CS DPL 0, RPL 3", 0xcb, false, SEL_TEST | 3, SEL_UDATA,
	  RET_EIP, DESC(0, 0xfffff, XR, 0, DB | G), GP, SEL_TEST },
	{ "IRET: CS data", 0xcf, false, SEL_UDATA, SEL_UDATA, RET_EIP, 0, GP,
	  SEL_UDATA & ~3 },
	{ "RET: CS not present", 0xcb, false, SEL_TEST | 3, SEL_UDATA,
	  RET_EIP, UCODE_SMALL & NOT_PRESENT, NP, SEL_TEST },
	{ "RET: EIP beyond CS", 0xcb, false, SEL_TEST | 3, SEL_UDATA, 0x1000,
	  UCODE_SMALL, GP, 0 },
	{ "IRET: EIP beyond CS", 0xcf, false, SEL_TEST | 3, SEL_UDATA,
	  0x1000, UCODE_SMALL, GP, 0 },
	{ "RET: CS RPL below CPL", 0xcb, true, 0x18, 0x10, RET_EIP, 0, GP,
	  0x18 },
	{ "IRET: CS RPL below CPL", 0xcf, true, 0x18, 0x10, RET_EIP, 0, GP,
	  0x18 },
};

/* Runs case k in 32-bit protected mode; checks what it left */
static void ret_run32(const struct ret_case *k)
{
	struct emu_test *t = pm32();
	struct emu_cpu *c = &t->cpu;
	uint32_t frame[6] = { k->eip, k->cs }, esp0;
	uint8_t code[4] = { k->op, 8, 0, 0xf4 };
	uint16_t cs0, ss0;
	int n = 2, vec;

	if (k->op == 0xcf)
		frame[n++] = 0x202;		/* EFLAGS */
	else if (k->op == 0xca)
		n += 2;				/* the parameters */
	frame[n++] = RET_ESP;
	frame[n++] = k->ss;
	if (k->desc)
		gdt_set(t, SEL_TEST, k->desc);
	if (k->user)
		to_ring3(t);
	esp0 = c->gpr[R_SP] = 0x70000 - n * 4;
	memcpy(emu_test_ptr(t, esp0), frame, n * 4);
	cs0 = c->seg[SEG_CS].selector;
	ss0 = c->seg[SEG_SS].selector;
	memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
	c->rip = EMU_TEST_CODE;
	cpu_run_batch(c, 1, NULL);
	vec = stub_vector(t);
	if (vec != k->vec)
		printf("  %s: vector %d\n", k->name, vec);
	CHECK_EQ(vec, k->vec);
	if (k->vec < 0 && vec < 0) {
		CHECK_EQ(c->cpl, 3);
		CHECK_EQ(c->seg[SEG_CS].selector, k->cs);
		CHECK_EQ(c->seg[SEG_SS].selector, k->ss);
		CHECK_EQ(c->rip, k->eip);
		CHECK_EQ(c->gpr[R_SP], RET_ESP + (k->op == 0xca ? 8 : 0));
		/* DPL 0 data the new CPL may not use */
		CHECK(c->seg[SEG_DS].unusable && !c->seg[SEG_DS].selector);
		CHECK(c->seg[SEG_FS].unusable && !c->seg[SEG_FS].selector);
	} else if (vec == k->vec && !k->user) {
		/* on the same stack at CPL 0: error code, EIP, CS */
		CHECK_EQ(c->gpr[R_SP], esp0 - 16);
		CHECK_EQ(stack32(t, 0), k->err);
		CHECK_EQ(stack32(t, 4), EMU_TEST_CODE);
		CHECK_EQ(stack32(t, 8), cs0);
		CHECK_EQ(c->seg[SEG_SS].selector, ss0);
		CHECK_EQ(c->seg[SEG_DS].selector, 0x10);
	} else if (vec == k->vec) {
		/* from CPL 3: error code, EIP, CS, EFLAGS, ESP, SS */
		CHECK_EQ(stack32(t, 0), k->err);
		CHECK_EQ(stack32(t, 4), EMU_TEST_CODE);
		CHECK_EQ(stack32(t, 8), cs0);
		CHECK_EQ(stack32(t, 16), esp0);
		CHECK_EQ(stack32(t, 20), ss0);
	}
	emu_test_free(t);
}

static void test_ret_outer(void)
{
	for (size_t i = 0; i < sizeof(ret_cases) / sizeof(ret_cases[0]); i++)
		ret_run32(&ret_cases[i]);
}

/*
 * The same in compatibility mode (CPL 0, CS 0x18): to 32-bit code at
 * CPL 3; with SS DPL 0 #GP(0x10), delivered through the 64-bit IDT with
 * the frame's CS and RSP as before the return
 */
static void test_ret_compat(void)
{
	for (int bad = 0; bad < 2; bad++)
		for (int iret = 0; iret < 2; iret++) {
			struct emu_test *t = emu_test_init64();
			struct emu_cpu *c = &t->cpu;
			uint16_t ss = bad ? 0x13 : SEL_UDATA;
			uint32_t frame[5] = { RET_EIP, SEL_UCODE, 0x202,
					      RET_ESP, ss };
			uint8_t code[] = { iret ? 0xcf : 0xcb, 0xf4 };
			uint64_t esp0 = 0x70000 - 20, sp;

			if (!iret)
				memmove(&frame[2], &frame[3], 8);
			gdt_set(t, SEL_UCODE, DESC(0, 0xfffff, XR, 3, DB | G));
			gdt_set(t, SEL_UDATA, DESC(0, 0xfffff, RW, 3, DB | G));
			c->gdt.limit = 0x4f;
			c->seg[SEG_CS].selector = 0x18;
			c->seg[SEG_CS].l = 0;
			c->seg[SEG_CS].db = 1;
			cpu_update_mode(c);
			c->gpr[R_SP] = esp0;
			memcpy(emu_test_ptr(t, esp0), frame, sizeof(frame));
			memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, 2);
			c->rip = EMU_TEST_CODE;
			cpu_run_batch(c, 1, NULL);
			if (!bad) {
				CHECK_EQ(stub_vector(t), -1);
				CHECK_EQ(c->cpl, 3);
				CHECK(!c->code64);
				CHECK_EQ(c->seg[SEG_SS].selector, SEL_UDATA);
				CHECK_EQ(c->gpr[R_SP], RET_ESP);
				CHECK_EQ(c->rip, RET_EIP);
				emu_test_free(t);
				continue;
			}
			CHECK_EQ(stub_vector(t), GP);
			sp = c->gpr[R_SP];
			CHECK_EQ(emu_test_r64(t, sp), 0x10);
			CHECK_EQ(emu_test_r64(t, sp + 8), EMU_TEST_CODE);
			CHECK_EQ(emu_test_r64(t, sp + 16), 0x18);
			CHECK_EQ(emu_test_r64(t, sp + 32), esp0);
			CHECK_EQ(emu_test_r64(t, sp + 40), 0x10);
			emu_test_free(t);
		}
}

/* A call gate (type 4: 16-bit, 0xc: 32-bit) to sel:off with n params */
#define GATE(off, sel, type, dpl, n)                                       \
	(((off) & 0xffffULL) | (uint64_t)(sel) << 16 | (uint64_t)(n) << 32 | \
	 (uint64_t)(type) << 40 | (uint64_t)(dpl) << 45 | 1ULL << 47 |       \
	 ((uint64_t)(off) >> 16 & 0xffff) << 48)
#define GATE_EIP	0x130000

/*
 * One far CALL or JMP through the pointer at DATA (offset 0, selector
 * sel) in 32-bit protected mode, at CPL 3 when user (ESP 0x70000 - 8 with
 * two parameters 0x11111111, 0x22222222 on it), else at CPL 0 (ESP
 * 0x70000); the target is RETF 8
 *	call fword ptr [eax]	(jmp: ff 28)
 *	hlt
 */
static struct emu_test *gate_run32(uint16_t sel, uint64_t desc, bool user,
				   bool jmp)
{
	static const uint8_t retf8[] = { 0xca, 0x08, 0x00 };
	uint8_t code[] = { 0xff, jmp ? 0x28 : 0x18, 0xf4 };
	struct emu_test *t = pm32();
	struct emu_cpu *c = &t->cpu;

	gdt_set(t, SEL_TEST, desc);
	emu_test_w64(t, DATA, (uint64_t)sel << 32);
	memcpy(emu_test_ptr(t, GATE_EIP), retf8, sizeof(retf8));
	if (user) {
		to_ring3(t);
		c->gpr[R_SP] = 0x70000 - 8;
		emu_test_w64(t, 0x70000 - 8, 0x2222222211111111ULL);
	} else {
		c->gpr[R_SP] = 0x70000;
	}
	c->gpr[R_AX] = DATA;
	memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
	c->rip = EMU_TEST_CODE;
	cpu_run_batch(c, 1, NULL);
	return t;
}

/*
 * A CALL through a 32-bit gate from CPL 3 to ring-0 code switches to the
 * TSS's stack and copies the gate's two parameters; RETF 8 comes back
 */
static void test_call_gate_inner(void)
{
	struct emu_test *t = gate_run32(SEL_TEST | 3,
					GATE(GATE_EIP, 0x18, 0xc, 3, 2), true,
					false);
	struct emu_cpu *c = &t->cpu;

	CHECK_EQ(stub_vector(t), -1);
	CHECK_EQ(c->cpl, 0);
	CHECK_EQ(c->seg[SEG_CS].selector, 0x18);
	CHECK_EQ(c->seg[SEG_SS].selector, 0x10);
	CHECK_EQ(c->rip, GATE_EIP);
	CHECK_EQ(c->gpr[R_SP], 0x90000 - 24);
	CHECK_EQ(stack32(t, 0), EMU_TEST_CODE + 2);
	CHECK_EQ(stack32(t, 4), SEL_UCODE);
	CHECK_EQ(stack32(t, 8), 0x11111111);
	CHECK_EQ(stack32(t, 12), 0x22222222);
	CHECK_EQ(stack32(t, 16), 0x70000 - 8);
	CHECK_EQ(stack32(t, 20), SEL_UDATA);
	cpu_run_batch(c, 1, NULL);
	CHECK_EQ(c->cpl, 3);
	CHECK_EQ(c->seg[SEG_CS].selector, SEL_UCODE);
	CHECK_EQ(c->seg[SEG_SS].selector, SEL_UDATA);
	CHECK_EQ(c->gpr[R_SP], 0x70000);
	CHECK_EQ(c->rip, EMU_TEST_CODE + 2);
	emu_test_free(t);
}

/* A CALL through a gate to code of the same privilege; a 16-bit gate */
static void test_call_gate_same(void)
{
	struct emu_test *t = gate_run32(SEL_TEST,
					GATE(GATE_EIP, 0x18, 0xc, 0, 2),
					false, false);

	CHECK_EQ(stub_vector(t), -1);
	CHECK_EQ(t->cpu.rip, GATE_EIP);
	CHECK_EQ(t->cpu.gpr[R_SP], 0x70000 - 8);
	CHECK_EQ(stack32(t, 0), EMU_TEST_CODE + 2);
	CHECK_EQ(stack32(t, 4), 0x18);
	emu_test_free(t);

	t = gate_run32(SEL_TEST, GATE(0x1234, 0x18, 0x4, 0, 0), false, false);
	CHECK_EQ(stub_vector(t), -1);
	CHECK_EQ(t->cpu.rip, 0x1234);
	CHECK_EQ(t->cpu.gpr[R_SP], 0x70000 - 4);
	CHECK_EQ(stack32(t, 0), ((EMU_TEST_CODE + 2) & 0xffff) | 0x18 << 16);
	emu_test_free(t);
}

/*
 * The faults of far CALL and JMP at CPL 3: through a gate of DPL 0, not
 * present, a JMP through a gate to more privileged code, a direct CALL
 * to ring-0 code; delivered on the ring-0 stack
 */
static void test_call_gate_faults(void)
{
	static const struct {
		const char *name;
		uint16_t sel;
		uint64_t desc;
		bool jmp;
		int vec;
		uint32_t err;
	} k[] = {
		{ "gate DPL 0", SEL_TEST | 3, GATE(GATE_EIP, 0x18, 0xc, 0, 0),
		  false, GP, SEL_TEST },
		{ "gate not present", SEL_TEST | 3,
		  GATE(GATE_EIP, 0x18, 0xc, 3, 0) & NOT_PRESENT, false, NP,
		  SEL_TEST },
		{ "JMP through a gate to ring 0", SEL_TEST | 3,
		  GATE(GATE_EIP, 0x18, 0xc, 3, 0), true, GP, 0x18 },
		{ "CALL to ring-0 code", 0x18 | 3, 0, false, GP, 0x18 },
		{ "JMP to ring-0 code", 0x18 | 3, 0, true, GP, 0x18 },
		{ "gate to a null selector", SEL_TEST | 3,
		  GATE(GATE_EIP, 0, 0xc, 3, 0), false, GP, 0 },
		{ "gate to data", SEL_TEST | 3,
		  GATE(GATE_EIP, SEL_UDATA, 0xc, 3, 0), false, GP,
		  SEL_UDATA & ~3 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = gate_run32(k[i].sel, k[i].desc, true,
						k[i].jmp);
		int vec = stub_vector(t);

		if (vec != k[i].vec || stack32(t, 0) != k[i].err)
			printf("  %s: vector %d error %#x\n", k[i].name, vec,
			       stack32(t, 0));
		CHECK_EQ(vec, k[i].vec);
		CHECK_EQ(stack32(t, 0), k[i].err);
		CHECK_EQ(stack32(t, 4), EMU_TEST_CODE);
		CHECK_EQ(stack32(t, 8), SEL_UCODE);
		CHECK_EQ(stack32(t, 16), 0x70000 - 8);
		emu_test_free(t);
	}
}

/*
 * A CALL through a 64-bit gate from CPL 3 in 64-bit mode: RSP from the
 * TSS, SS null, SS, RSP, CS, RIP pushed as quadwords. A task gate in
 * IA-32e mode is #GP(selector).
 *	call fword ptr [rax]
 *	hlt
 */
static void test_call_gate64(void)
{
	static const uint8_t code[] = { 0xff, 0x18, 0xf4 };

	for (int task = 0; task < 2; task++) {
		struct emu_test *t = emu_test_init64();
		struct emu_cpu *c = &t->cpu;
		uint64_t sp;

		gdt_set(t, SEL_TEST, task ? 0x0000e50000000000ULL :
			GATE(GATE_EIP, 0x08, 0xc, 3, 0));
		gdt_set(t, SEL_TEST2, 0);
		c->gdt.limit = 0x4f;
		c->tr = (struct x86_segment){ .selector = 0x50, .base = TSS,
			.limit = 0x67, .type = 0xb, .present = 1 };
		emu_test_w64(t, TSS + 4, 0x90000);	/* RSP0 */
		emu_test_w64(t, DATA, (uint64_t)(SEL_TEST | 3) << 32);
		for (int s = SEG_ES; s <= SEG_GS; s++) {
			c->seg[s].selector = s == SEG_CS ? 0x33 : 0x2b;
			c->seg[s].dpl = 3;
		}
		cpu_update_mode(c);
		tlb_flush(c, true);
		c->gpr[R_AX] = DATA;
		memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
		c->rip = EMU_TEST_CODE;
		cpu_run_batch(c, 1, NULL);
		sp = c->gpr[R_SP];
		if (task) {
			CHECK_EQ(stub_vector(t), GP);
			CHECK_EQ(emu_test_r64(t, sp), SEL_TEST);
			CHECK_EQ(emu_test_r64(t, sp + 8), EMU_TEST_CODE);
			emu_test_free(t);
			continue;
		}
		CHECK_EQ(stub_vector(t), -1);
		CHECK_EQ(c->cpl, 0);
		CHECK(c->code64);
		CHECK_EQ(c->rip, GATE_EIP);
		CHECK_EQ(c->seg[SEG_SS].selector, 0);
		CHECK_EQ(sp, 0x90000 - 32);
		CHECK_EQ(emu_test_r64(t, sp), EMU_TEST_CODE + 2);
		CHECK_EQ(emu_test_r64(t, sp + 8), 0x33);
		CHECK_EQ(emu_test_r64(t, sp + 16), EMU_TEST_STACK);
		CHECK_EQ(emu_test_r64(t, sp + 24), 0x2b);
		emu_test_free(t);
	}
}

int main(void)
{
	RUN(test_io_bitmap);
	RUN(test_io_bitmap_edges);
	RUN(test_io_bitmap64);
	RUN(test_ret_outer);
	RUN(test_ret_compat);
	RUN(test_call_gate_inner);
	RUN(test_call_gate_same);
	RUN(test_call_gate_faults);
	RUN(test_call_gate64);
	return test_summary();
}
