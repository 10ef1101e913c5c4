// SPDX-License-Identifier: MIT
/*
 * emu interpreter: segmentation outside 64-bit mode (Intel SDM vol. 3,
 * 3.4.5, 5.3-5.6; vol. 2, the "Protected Mode", "Real-Address Mode" and
 * "Compatibility Mode Exceptions" of each instruction) and the EXT bit of
 * error codes (vol. 3, 6.13). Each access is checked against its
 * segment's limit and type: #GP(0), or #SS(0) for the stack, with
 * nothing changed. Byte arrays are GNU as output of the listed code.
 */
#include <stdio.h>

#include "emu_pm.h"
#include "test.h"

/*
 * One instruction after `mov ax, sel; mov sreg, ax` (descriptor desc at
 * SEL_TEST): the vector it raised (-1: it ran) and its error code, at
 * the instruction (at: the load, 4, when that faults)
 */
struct access_case {
	const char *name;
	uint64_t desc;
	uint16_t sel;
	int sreg;
	uint32_t ebx, ecx, esi, ebp, esp;
	uint8_t code[8];
	int len;
	int vec;
	uint32_t err;
	int at;
};

#define DS_SMALL	DESC(DATA, 0xfff, RW, 3, DB)
#define SS_SMALL	DESC(0, 0x8ffff, RW, 0, DB)

static const struct access_case access_cases[] = {
	/* mov eax, [ebx] */
	{ "limit: last dword", DS_SMALL, 0x2b, SEG_DS, .ebx = 0xffc,
	  .code = { 0x8b, 0x03 }, .len = 2, .vec = -1 },
	{ "limit: dword across", DS_SMALL, 0x2b, SEG_DS, .ebx = 0xffe,
	  .code = { 0x8b, 0x03 }, .len = 2, .vec = GP },
	/* mov byte ptr ds:[0x1000], al */
	{ "limit: moffs byte above", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0xa2, 0x00, 0x10, 0x00, 0x00 }, .len = 5, .vec = GP },
	/* mov eax, [ebx]; mov [ebx], eax; add [ebx], eax */
	{ "read-only: read", DESC(DATA, 0xfff, RO, 3, DB), 0x2b, SEG_DS,
	  .code = { 0x8b, 0x03 }, .len = 2, .vec = -1 },
	{ "read-only: write", DESC(DATA, 0xfff, RO, 3, DB), 0x2b, SEG_DS,
	  .code = { 0x89, 0x03 }, .len = 2, .vec = GP },
	{ "read-only: read-modify-write", DESC(DATA, 0xfff, RO, 3, DB),
	  0x2b, SEG_DS, .code = { 0x01, 0x03 }, .len = 2, .vec = GP },
	{ "expand-down: below", DESC(DATA, 0xfff, RW_DOWN, 3, DB), 0x2b,
	  SEG_DS, .ebx = 0xffe, .code = { 0x8b, 0x03 }, .len = 2, .vec = GP },
	{ "expand-down: above", DESC(DATA, 0xfff, RW_DOWN, 3, DB), 0x2b,
	  SEG_DS, .ebx = 0x1000, .code = { 0x8b, 0x03 }, .len = 2,
	  .vec = -1 },
	{ "expand-down, B clear: past 0xffff", DESC(DATA, 0xfff, RW_DOWN, 3,
						   0), 0x2b, SEG_DS,
	  .ebx = 0xfffe, .code = { 0x8b, 0x03 }, .len = 2, .vec = GP },
	{ "expand-down, B clear: top dword", DESC(DATA, 0xfff, RW_DOWN, 3,
						 0), 0x2b, SEG_DS,
	  .ebx = 0xfffc, .code = { 0x8b, 0x03 }, .len = 2, .vec = -1 },
	{ "readable code: read", DESC(DATA, 0xfff, XR, 3, DB), 0x2b, SEG_DS,
	  .code = { 0x8b, 0x03 }, .len = 2, .vec = -1 },
	{ "readable code: write", DESC(DATA, 0xfff, XR, 3, DB), 0x2b, SEG_DS,
	  .code = { 0x89, 0x03 }, .len = 2, .vec = GP },
	{ "execute-only code: load", DESC(DATA, 0xfff, XO, 3, DB), 0x2b,
	  SEG_DS, .code = { 0x8b, 0x03 }, .len = 2, .vec = GP, .err = 0x28,
	  .at = 4 },
	{ "not present: load", DS_SMALL & NOT_PRESENT, 0x2b, SEG_DS,
	  .code = { 0x8b, 0x03 }, .len = 2, .vec = NP, .err = 0x28, .at = 4 },
	{ "null DS: use", DS_SMALL, 0, SEG_DS, .code = { 0x8b, 0x03 },
	  .len = 2, .vec = GP },
	/* mov eax, cs:[ebx]; mov cs:[ebx], eax (CS: 0x18, readable) */
	{ "CS override: read", DS_SMALL, 0x2b, SEG_DS, .ebx = DATA,
	  .code = { 0x2e, 0x8b, 0x03 }, .len = 3, .vec = -1 },
	{ "CS override: write", DS_SMALL, 0x2b, SEG_DS, .ebx = DATA,
	  .code = { 0x2e, 0x89, 0x03 }, .len = 3, .vec = GP },
	/* lgdt [ebx+0xffc]; sgdt [ebx+0xffa] */
	{ "LGDT across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0x0f, 0x01, 0x93, 0xfc, 0x0f, 0x00, 0x00 }, .len = 7,
	  .vec = GP },
	{ "SGDT: last 6 bytes", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0x0f, 0x01, 0x83, 0xfa, 0x0f, 0x00, 0x00 }, .len = 7,
	  .vec = -1 },
	{ "SGDT across", DS_SMALL, 0x2b, SEG_DS, .ebx = 2,
	  .code = { 0x0f, 0x01, 0x83, 0xfa, 0x0f, 0x00, 0x00 }, .len = 7,
	  .vec = GP },
	/* fxsave [ebx+0xe10]; fnstenv [ebx+0xff0] (28 bytes) */
	{ "FXSAVE: last 512 bytes", DS_SMALL, 0x2b, SEG_DS, .ebx = -0x10,
	  .code = { 0x0f, 0xae, 0x83, 0x10, 0x0e, 0x00, 0x00 }, .len = 7,
	  .vec = -1 },
	{ "FXSAVE across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0x0f, 0xae, 0x83, 0x10, 0x0e, 0x00, 0x00 }, .len = 7,
	  .vec = GP },
	{ "FNSTENV: last 28 bytes", DS_SMALL, 0x2b, SEG_DS, .ebx = -12,
	  .code = { 0xd9, 0xb3, 0xf0, 0x0f, 0x00, 0x00 }, .len = 6,
	  .vec = -1 },
	{ "FNSTENV across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0xd9, 0xb3, 0xf0, 0x0f, 0x00, 0x00 }, .len = 6,
	  .vec = GP },
	/* lodsd; xlatb (AL is 0x2b here) */
	{ "LODSD across", DS_SMALL, 0x2b, SEG_DS, .esi = 0xffe,
	  .code = { 0xad }, .len = 1, .vec = GP },
	{ "XLAT: last byte", DS_SMALL, 0x2b, SEG_DS, .ebx = 0xfd4,
	  .code = { 0xd7 }, .len = 1, .vec = -1 },
	{ "XLAT above", DS_SMALL, 0x2b, SEG_DS, .ebx = 0xfd5,
	  .code = { 0xd7 }, .len = 1, .vec = GP },
	/* jmp fword ptr [ebx+0xffc]; lfs eax, [ebx+0xffc] */
	{ "far JMP: pointer across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0xff, 0xab, 0xfc, 0x0f, 0x00, 0x00 }, .len = 6,
	  .vec = GP },
	{ "LFS: pointer across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0x0f, 0xb4, 0x83, 0xfc, 0x0f, 0x00, 0x00 }, .len = 7,
	  .vec = GP },
	/* les eax, [ebx+0xffc]; lds eax, [ebx+0xffa] */
	{ "LES: pointer across", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0xc4, 0x83, 0xfc, 0x0f, 0x00, 0x00 }, .len = 6,
	  .vec = GP },
	{ "LDS: a null selector, the last 6 bytes", DS_SMALL, 0x2b, SEG_DS,
	  .code = { 0xc5, 0x83, 0xfa, 0x0f, 0x00, 0x00 }, .len = 6,
	  .vec = -1 },
	/* bt [ebx], ecx: the bit offset moves the dword */
	{ "BT: bit offset in", DS_SMALL, 0x2b, SEG_DS, .ecx = 0x7fe0,
	  .code = { 0x0f, 0xa3, 0x0b }, .len = 3, .vec = -1 },
	{ "BT: bit offset above", DS_SMALL, 0x2b, SEG_DS, .ecx = 0x8000,
	  .code = { 0x0f, 0xa3, 0x0b }, .len = 3, .vec = GP },
	/* the stack: SS limit 0x8ffff; mov eax, [ebp] */
	{ "SS: [ebp] above", SS_SMALL, 0x28, SEG_SS, .ebp = 0x90000,
	  .esp = 0x80000, .code = { 0x8b, 0x45, 0x00 }, .len = 3, .vec = SS },
	{ "SS: [ebp] in", SS_SMALL, 0x28, SEG_SS, .ebp = 0x8fffc,
	  .esp = 0x80000, .code = { 0x8b, 0x45, 0x00 }, .len = 3,
	  .vec = -1 },
	/* mov eax, [esp+0x10000]; mov eax, ds:[ebp] */
	{ "SS: [esp+disp] above", SS_SMALL, 0x28, SEG_SS, .esp = 0x80000,
	  .code = { 0x8b, 0x84, 0x24, 0x00, 0x00, 0x01, 0x00 }, .len = 7,
	  .vec = SS },
	{ "SS: DS override", SS_SMALL, 0x28, SEG_SS, .ebp = 0x90000,
	  .esp = 0x80000, .code = { 0x3e, 0x8b, 0x45, 0x00 }, .len = 4,
	  .vec = -1 },
	/* pop eax; ret; leave; enter 0xffff, 0 */
	{ "SS: POP across", SS_SMALL, 0x28, SEG_SS, .esp = 0x8fffe,
	  .code = { 0x58 }, .len = 1, .vec = SS },
	{ "SS: RET across", SS_SMALL, 0x28, SEG_SS, .esp = 0x8fffe,
	  .code = { 0xc3 }, .len = 1, .vec = SS },
	{ "SS: LEAVE above", SS_SMALL, 0x28, SEG_SS, .ebp = 0x90000,
	  .esp = 0x80000, .code = { 0xc9 }, .len = 1, .vec = SS },
	{ "SS: ENTER's new ESP outside", SS_SMALL, 0x28, SEG_SS,
	  .esp = 0x8000, .code = { 0xc8, 0xff, 0xff, 0x00 }, .len = 4,
	  .vec = SS },
	{ "SS: ENTER in", SS_SMALL, 0x28, SEG_SS, .esp = 0x18000,
	  .code = { 0xc8, 0xff, 0xff, 0x00 }, .len = 4, .vec = -1 },
	/* loads of SS: writable data, RPL and DPL the CPL, present */
	{ "SS: read-only", DESC(0, 0x8ffff, RO, 0, DB), 0x28, SEG_SS,
	  .code = { 0x90 }, .len = 1, .vec = GP, .err = 0x28, .at = 4 },
	{ "SS: RPL 3 at CPL 0", DESC(0, 0x8ffff, RW, 3, DB), 0x2b, SEG_SS,
	  .code = { 0x90 }, .len = 1, .vec = GP, .err = 0x28, .at = 4 },
	{ "SS: not present", SS_SMALL & NOT_PRESENT, 0x28, SEG_SS,
	  .code = { 0x90 }, .len = 1, .vec = SS, .err = 0x28, .at = 4 },
};

static void test_access_limits(void)
{
	for (size_t i = 0; i < sizeof(access_cases) / sizeof(access_cases[0]);
	     i++) {
		const struct access_case *k = &access_cases[i];
		struct emu_test *t = pm32();
		struct emu_cpu *c = &t->cpu;
		uint8_t code[32] = { 0x66, 0xb8, k->sel & 0xff, k->sel >> 8,
				     0x8e, k->sreg == SEG_SS ? 0xd0 : 0xd8 };
		int at = k->at ? k->at : 6, vec;
		uint32_t err = 0, eip = 0;

		memcpy(code + 6, k->code, k->len);
		code[6 + k->len] = 0xf4;
		gdt_set(t, SEL_TEST, k->desc);
		c->gpr[R_BX] = k->ebx;
		c->gpr[R_CX] = k->ecx;
		c->gpr[R_SI] = k->esi;
		c->gpr[R_BP] = k->ebp;
		if (k->esp)
			c->gpr[R_SP] = k->esp;
		emu_test_run(t, code, 7 + k->len);
		vec = emu_test_vector(t);
		if (vec >= 0) {
			err = stack32(t, 0);
			eip = stack32(t, 4);
		}
		if (vec != k->vec || err != k->err ||
		    (vec >= 0 && eip != EMU_TEST_CODE + at))
			printf("  %s: vector %d, error %#x, eip %#x\n", k->name,
			       vec, err, eip);
		CHECK_EQ(vec, k->vec);
		if (vec >= 0) {
			CHECK_EQ(err, k->err);
			CHECK_EQ(eip, EMU_TEST_CODE + at);
		}
		emu_test_free(t);
	}
}

/*
 * REP MOVSB whose source runs past DS's limit copies up to it and
 * faults at the first byte beyond, with ECX, ESI and EDI at that byte
 *	rep movsb
 *	hlt
 */
static void test_rep_movs_limit(void)
{
	static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 };
	struct emu_test *t = pm32();
	struct emu_cpu *c = &t->cpu;
	uint8_t *src = emu_test_ptr(t, DATA + 0xff8);

	for (int i = 0; i < 8; i++)
		src[i] = 0x40 + i;
	gdt_set(t, SEL_TEST, DS_SMALL);
	seg_from_desc(&c->seg[SEG_DS], 0x2b, DS_SMALL);
	c->gpr[R_SI] = 0xff8;
	c->gpr[R_DI] = 0x300000;
	c->gpr[R_CX] = 16;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), GP);
	CHECK_EQ(c->gpr[R_CX], 8);
	CHECK_EQ(c->gpr[R_SI], 0x1000);
	CHECK_EQ(c->gpr[R_DI], 0x300008);
	CHECK(!memcmp(emu_test_ptr(t, 0x300000), src, 8));
	CHECK_EQ(*(uint8_t *)emu_test_ptr(t, 0x300008), 0);
	emu_test_free(t);
}

/*
 * CS.limit: instruction bytes beyond it and near and far branch targets
 * beyond it are #GP(0) at the instruction, before it changes anything
 */
static void test_code_limit(void)
{
	static const struct {
		const char *name;
		uint32_t limit;		/* CS.limit - EMU_TEST_CODE */
		uint8_t code[8];
		int len;
		int vec;
		uint32_t at, esp;	/* the frame's EIP, ESP before it */
	} k[] = {
		/* nop; mov eax, 1 */
		{ "fetch across", 4, { 0x90, 0xb8, 0x01, 0x00, 0x00, 0x00 }, 6,
		  GP, 1, 0x80000 },
		{ "fetch up to it (HLT at the limit)", 6,
		  { 0x90, 0xb8, 0x01, 0x00, 0x00, 0x00 }, 6, -1, 0, 0 },
		/* jmp .+0x50; jnz .+0x50 (rel32); call .+0x50 */
		{ "JMP beyond", 0x4f, { 0xeb, 0x4e }, 2, GP, 0, 0x80000 },
		{ "JMP to the last byte", 0x50, { 0xeb, 0x4e }, 2, -1, 0, 0 },
		{ "Jcc rel32 beyond", 0x4f,
		  { 0x0f, 0x85, 0x4a, 0x00, 0x00, 0x00 }, 6, GP, 0, 0x80000 },
		{ "CALL beyond: nothing pushed", 0x4f,
		  { 0xe8, 0x4b, 0x00, 0x00, 0x00 }, 5, GP, 0, 0x80000 },
		/* push 0x100050; ret */
		{ "RET beyond", 0x4f, { 0x68, 0x50, 0x00, 0x10, 0x00, 0xc3 }, 6,
		  GP, 5, 0x7fffc },
		/* jmp 0x30:0x20 (limit 0x10) */
		{ "far JMP beyond the new CS's limit", 0x4f,
		  { 0xea, 0x20, 0x00, 0x00, 0x00, 0x30, 0x00 }, 7, GP, 0,
		  0x80000 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = pm32();
		struct emu_cpu *c = &t->cpu;
		uint8_t code[0x51] = { 0 };
		int vec;

		memcpy(code, k[i].code, k[i].len);
		code[k[i].len] = 0xf4;
		code[0x50] = 0xf4;
		gdt_set(t, SEL_TEST2, DESC(0, 0x10, XR, 0, DB));
		c->seg[SEG_CS].limit = EMU_TEST_CODE + k[i].limit;
		emu_test_run(t, code, sizeof(code));
		vec = emu_test_vector(t);
		if (vec != k[i].vec)
			printf("  %s: vector %d, rip %#llx\n", k[i].name, vec,
			       (unsigned long long)c->rip);
		CHECK_EQ(vec, k[i].vec);
		if (vec >= 0) {
			CHECK_EQ(stack32(t, 4), EMU_TEST_CODE + k[i].at);
			CHECK_EQ(stack32(t, 8), 0x18);
			CHECK_EQ(c->gpr[R_SP], k[i].esp - 16);
			CHECK_EQ(c->gpr[R_AX], 0);
		}
		emu_test_free(t);
	}
}

/*
 * 16-bit protected mode, code at IP 0xfff0 of a 16-bit CS: a near
 * branch's target is cut to 16 bits, then checked against CS.limit; a
 * word at 0xffff of a 64 KiB DS is beyond it
 */
static void test_pm16(void)
{
	static const struct {
		const char *name;
		uint32_t limit;		/* CS.limit */
		uint16_t bx;
		uint8_t code[4];
		int len;
		int vec;
	} k[] = {
		/* jmp .+0x20: to 0x10010, which is 0x0010 */
		{ "JMP around 64 KiB", 0xffff, 0, { 0xeb, 0x1e }, 2, -1 },
		/* jmp .+0x8 */
		{ "JMP beyond", 0xfff7, 0, { 0xeb, 0x06 }, 2, GP },
		/* mov ax, [bx] */
		{ "word at 0xffff", 0xffff, 0xffff, { 0x8b, 0x07 }, 2, GP },
		{ "word at 0xfffe", 0xffff, 0xfffe, { 0x8b, 0x07 }, 2, -1 },
	};
	const uint64_t base = EMU_TEST_CODE - 0xfff0;

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = pm32();
		struct emu_cpu *c = &t->cpu;
		uint8_t code[8] = { 0 };
		int vec;

		memcpy(code, k[i].code, k[i].len);
		code[k[i].len] = 0xf4;
		*(uint8_t *)emu_test_ptr(t, base + 0x10) = 0xf4;
		c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x20,
			.base = base, .limit = k[i].limit, .type = XR, .s = 1,
			.present = 1 };
		seg_from_desc(&c->seg[SEG_DS], 0x2b,
			      DESC(DATA, 0xffff, RW, 3, 0));
		cpu_update_mode(c);
		c->gpr[R_BX] = k[i].bx;
		memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
		c->rip = 0xfff0;
		for (int n = 0; n < 10 && !c->halted; n++)
			cpu_run_batch(c, 100, NULL);
		vec = emu_test_vector(t);
		if (vec != k[i].vec)
			printf("  %s: vector %d, rip %#llx\n", k[i].name, vec,
			       (unsigned long long)c->rip);
		CHECK_EQ(vec, k[i].vec);
		if (vec >= 0)
			CHECK_EQ(stack32(t, 4), 0xfff0);
		else if (k[i].bx)
			CHECK_EQ(c->rip, 0xfff3);
		else
			CHECK_EQ(c->rip, 0x11);
		emu_test_free(t);
	}
}

/*
 * Real mode: limits of 0xffff (a word at 0xffff is #GP, #SS through
 * BP), a far jump beyond CS.limit, a fetch beyond it. The IVT's
 * vector v goes to 0:EMU_TEST_STUB(v).
 */
static struct emu_test *real_mode(void)
{
	struct emu_test *t = emu_test_new();

	for (int v = 0; v < 32; v++) {
		uint32_t ent = EMU_TEST_STUB(v);

		*(uint8_t *)emu_test_ptr(t, EMU_TEST_STUB(v)) = 0xf4;
		memcpy(emu_test_ptr(t, v * 4), &ent, 4);
	}
	seg_load_real(&t->cpu, SEG_CS, 0);
	t->cpu.gpr[R_SP] = 0x7000;
	return t;
}

static void test_real_mode(void)
{
	static const struct {
		const char *name;
		uint8_t code[8];
		int len;
		int vec;
		uint16_t ip;
	} k[] = {
		/* mov ax, [0xffff]; mov al, [0xffff] */
		{ "word at 0xffff", { 0xa1, 0xff, 0xff }, 3, GP, 0x7c00 },
		{ "byte at 0xffff", { 0xa0, 0xff, 0xff }, 3, -1, 0 },
		/* mov bp, 0xffff; mov ax, [bp] */
		{ "word at SS:0xffff", { 0xbd, 0xff, 0xff, 0x8b, 0x46, 0x00 }, 6,
		  SS, 0x7c03 },
		/* jmp 0:0x10000 (66 ea) */
		{ "far JMP beyond 0xffff",
		  { 0x66, 0xea, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 }, 8, GP,
		  0x7c00 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = real_mode();
		uint8_t code[16] = { 0 };
		int vec;

		memcpy(code, k[i].code, k[i].len);
		code[k[i].len] = 0xf4;
		emu_test_run_at(t, 0x7c00, code, k[i].len + 1);
		vec = emu_test_vector(t);
		if (vec != k[i].vec)
			printf("  %s: vector %d\n", k[i].name, vec);
		CHECK_EQ(vec, k[i].vec);
		if (vec >= 0) {
			CHECK_EQ(t->cpu.gpr[R_SP], 0x7000 - 6);
			CHECK_EQ(*(uint16_t *)emu_test_ptr(t, 0x7000 - 6),
				 k[i].ip);
		}
		emu_test_free(t);
	}

	/* mov ax, 1 at CS 0x1000, IP 0xfffe: its last byte is beyond */
	struct emu_test *t = real_mode();
	static const uint8_t mov[] = { 0xb8, 0x01, 0x00 };

	seg_load_real(&t->cpu, SEG_CS, 0x1000);
	memcpy(emu_test_ptr(t, 0x1fffe), mov, sizeof(mov));
	t->cpu.rip = 0xfffe;
	cpu_run_batch(&t->cpu, 1, NULL);
	CHECK_EQ(emu_test_vector(t), -1);	/* not yet halted */
	CHECK_EQ(t->cpu.seg[SEG_CS].selector, 0);
	CHECK_EQ(t->cpu.rip, EMU_TEST_STUB(GP));
	CHECK_EQ(*(uint16_t *)emu_test_ptr(t, 0x7000 - 6), 0xfffe);
	CHECK_EQ(*(uint16_t *)emu_test_ptr(t, 0x7000 - 4), 0x1000);
	CHECK_EQ(t->cpu.gpr[R_AX], 0);
	emu_test_free(t);
}

/*
 * A push beyond the user stack's limit is #SS(0), delivered on the
 * ring-0 stack with the user's SS:ESP in the frame
 *	mov ax, 0x4b
 *	mov ss, ax
 *	push eax
 *	hlt
 */
static void test_push_limit(void)
{
	static const uint8_t code[] = { 0x66, 0xb8, 0x4b, 0x00, 0x8e, 0xd0,
					0x50, 0xf4 };
	struct emu_test *t = pm32();
	struct emu_cpu *c = &t->cpu;

	to_ring3(t);
	c->gpr[R_SP] = 0x80002;
	emu_test_run(t, code, sizeof(code));
	CHECK_EQ(emu_test_vector(t), SS);
	CHECK_EQ(c->cpl, 0);
	CHECK_EQ(c->gpr[R_SP], 0x90000 - 24);
	CHECK_EQ(stack32(t, 0), 0);			/* error code */
	CHECK_EQ(stack32(t, 4), EMU_TEST_CODE + 6);	/* EIP */
	CHECK_EQ(stack32(t, 8), SEL_UCODE);
	CHECK_EQ(stack32(t, 16), 0x80002);		/* ESP */
	CHECK_EQ(stack32(t, 20), SEL_USTACK);
	emu_test_free(t);
}

/*
 * The stack a 32-bit gate switches to, for a #UD at CPL 3: SS0 from the
 * TSS checked (#TS) and the frame within its limit (#SS), with EXT set
 * in the error code (a fault delivering an exception). #TS and #SS go to
 * the user's code (DPL 3: no stack switch), on the user's stack; one
 * instruction runs (a HLT at CPL 3 would be #GP).
 *	ud2
 */
static void test_inner_stack(void)
{
	static const uint8_t code[] = { 0x0f, 0x0b, 0xf4 };
	static const struct {
		const char *name;
		uint16_t ss0;
		uint32_t esp0;
		uint64_t desc;		/* at SEL_TEST */
		int vec;
		uint32_t err;
	} k[] = {
		{ "null SS0", 0, 0x90000, 0, TS, 1 },
		{ "RPL 3", 0x13, 0x90000, 0, TS, 0x11 },
		{ "read-only", 0x28, 0x90000, DESC(0, 0xfffff, RO, 0, DB | G),
		  TS, 0x29 },
		{ "DPL 3", 0x28, 0x90000, DESC(0, 0xfffff, RW, 3, DB | G), TS,
		  0x29 },
		{ "not present", 0x28, 0x90000,
		  DESC(0, 0xfffff, RW, 0, DB | G) & NOT_PRESENT, SS, 0x29 },
		{ "frame below the limit", 0x28, 0x10,
		  DESC(0, 0xfff, RW, 0, DB), SS, 0x29 },
		{ "frame at its bottom", 0x28, 0x14,
		  DESC(0, 0xfff, RW, 0, DB), 6, 0 },
		{ "fine", 0x10, 0x90000, 0, 6, 0 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = pm32();
		struct emu_cpu *c = &t->cpu;
		int vec;

		gate32(t, TS, SEL_UCODE);
		gate32(t, SS, SEL_UCODE);
		gdt_set(t, SEL_TEST, k[i].desc);
		emu_test_w64(t, TSS + 4, k[i].esp0);
		emu_test_w64(t, TSS + 8, k[i].ss0);
		to_ring3(t);
		memcpy(emu_test_ptr(t, EMU_TEST_CODE), code, sizeof(code));
		c->rip = EMU_TEST_CODE;
		cpu_run_batch(c, 1, NULL);
		vec = stub_vector(t);
		if (vec != k[i].vec)
			printf("  %s: vector %d\n", k[i].name, vec);
		CHECK_EQ(vec, k[i].vec);
		if (vec == k[i].vec && vec != 6) {
			/* on the user stack: error code, EIP, CS */
			CHECK_EQ(c->cpl, 3);
			CHECK_EQ(c->gpr[R_SP], 0x70000 - 16);
			CHECK_EQ(stack32(t, 0), k[i].err);
			CHECK_EQ(stack32(t, 4), EMU_TEST_CODE);
			CHECK_EQ(c->seg[SEG_SS].selector, SEL_UDATA);
		} else if (vec == 6) {
			CHECK_EQ(c->cpl, 0);
			CHECK_EQ(c->gpr[R_SP], k[i].esp0 - 20);
			CHECK_EQ(c->seg[SEG_SS].selector, k[i].ss0);
		}
		emu_test_free(t);
	}
}

/*
 * Loading DS at CPL 3 with a DPL 0 data segment is #GP(selector); with
 * a DPL 3 one the load is done and the HLT (at CPL 3) is #GP(0)
 *	mov ax, 0x2b
 *	mov ds, ax
 *	hlt
 */
static void test_load_privilege(void)
{
	static const uint8_t code[] = { 0x66, 0xb8, 0x2b, 0x00, 0x8e, 0xd8,
					0xf4 };

	for (int dpl = 0; dpl < 4; dpl += 3) {
		struct emu_test *t = pm32();

		gdt_set(t, SEL_TEST, DESC(DATA, 0xfff, RW, dpl, DB));
		to_ring3(t);
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), GP);
		CHECK_EQ(stack32(t, 0), dpl ? 0 : 0x28);
		CHECK_EQ(stack32(t, 4), EMU_TEST_CODE + (dpl ? 6 : 4));
		CHECK_EQ(t->cpu.seg[SEG_DS].base, dpl ? DATA : 0);
		emu_test_free(t);
	}
}

/*
 * Compatibility mode checks segments as protected mode does; 64-bit mode
 * does not
 *	mov ax, 0x2b
 *	mov ds, ax
 *	mov eax, [ebx]	(in 64-bit mode [rbx])
 *	hlt
 */
static void test_compat_mode(void)
{
	static const uint8_t code[] = { 0x66, 0xb8, 0x2b, 0x00, 0x8e, 0xd8,
					0x8b, 0x03, 0xf4 };

	for (int compat = 0; compat < 2; compat++) {
		struct emu_test *t = emu_test_init64();
		struct emu_cpu *c = &t->cpu;

		gdt_set(t, SEL_TEST, DS_SMALL);
		c->gdt.limit = 0x2f;
		if (compat) {
			c->seg[SEG_CS].selector = 0x18;
			c->seg[SEG_CS].l = 0;
			c->seg[SEG_CS].db = 1;
			cpu_update_mode(c);
		}
		c->gpr[R_BX] = 0xffe;
		emu_test_run(t, code, sizeof(code));
		CHECK_EQ(emu_test_vector(t), compat ? GP : -1);
		if (compat) {
			CHECK_EQ(emu_test_r64(t, c->gpr[R_SP]), 0);
			CHECK_EQ(emu_test_r64(t, c->gpr[R_SP] + 8),
				 EMU_TEST_CODE + 6);
		}
		emu_test_free(t);
	}
}

/*
 * EXT (bit 0) of an error code: set for a fault while an exception is
 * delivered, and INT1's, clear for INT n and INT3; #PF's has none. A
 * gate not present is #NP(vector * 8 + 2 + EXT).
 */
static void test_ext_bit(void)
{
	static const struct {
		const char *name;
		uint8_t code[4];
		int len;
		int gate;		/* made not present */
		uint32_t err;
	} k[] = {
		{ "#UD", { 0x0f, 0x0b }, 2, 6, 6 * 8 + 3 },	/* ud2 */
		{ "INT 6", { 0xcd, 0x06 }, 2, 6, 6 * 8 + 2 },
		{ "INT3", { 0xcc }, 1, 3, 3 * 8 + 2 },
		{ "INT1", { 0xf1 }, 1, 1, 1 * 8 + 3 },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = emu_test_init64();
		uint64_t ent = EMU_TEST_IDT + k[i].gate * 16;
		uint8_t code[8] = { 0 };

		memcpy(code, k[i].code, k[i].len);
		code[k[i].len] = 0xf4;
		emu_test_w64(t, ent, emu_test_r64(t, ent) & NOT_PRESENT);
		emu_test_run(t, code, k[i].len + 1);
		CHECK_EQ(emu_test_vector(t), NP);
		if (emu_test_r64(t, t->cpu.gpr[R_SP]) != k[i].err)
			printf("  %s: error %#llx\n", k[i].name,
			       (unsigned long long)emu_test_r64(
					t, t->cpu.gpr[R_SP]));
		CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), k[i].err);
		emu_test_free(t);
	}

	/*
	 * A #UD whose frame goes to an unmapped stack: #PF (on IST 1),
	 * write, not present, no EXT
	 */
	static const uint8_t ud2[] = { 0x0f, 0x0b, 0xf4 };
	struct emu_test *t = emu_test_init64();
	uint64_t pf = EMU_TEST_IDT + EXC_PF * 16;

	emu_test_w64(t, pf, emu_test_r64(t, pf) | 1ULL << 32);
	t->cpu.tr = (struct x86_segment){ .base = TSS, .limit = 0x67,
		.type = 0xb, .present = 1 };
	emu_test_w64(t, TSS + 0x24, 0x90000);
	t->cpu.gpr[R_SP] = 0x40000000;
	emu_test_run(t, ud2, sizeof(ud2));
	CHECK_EQ(emu_test_vector(t), EXC_PF);
	CHECK_EQ(t->cpu.gpr[R_SP], 0x90000 - 48);
	CHECK_EQ(emu_test_r64(t, t->cpu.gpr[R_SP]), 2);
	emu_test_free(t);
}

int main(void)
{
	RUN(test_access_limits);
	RUN(test_rep_movs_limit);
	RUN(test_code_limit);
	RUN(test_pm16);
	RUN(test_real_mode);
	RUN(test_push_limit);
	RUN(test_inner_stack);
	RUN(test_load_privilege);
	RUN(test_compat_mode);
	RUN(test_ext_bit);
	return test_summary();
}
