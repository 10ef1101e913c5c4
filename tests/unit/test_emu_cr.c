// SPDX-License-Identifier: MIT
/*
 * emu: MOV to a control register raises #GP(0) where the SDM says so
 * (vol. 2, "MOV--Move to/from Control Registers"; vol. 3 2.5): a CR4 bit
 * of a feature CPUID does not report, CR0 bits 63:32, PG without PE, NW
 * without CD, paging turned off in 64-bit mode or turned on for long mode
 * without PAE, CR4.PAE cleared in long mode, CR3 bits above MAXPHYADDR in
 * long mode, CR8 bits 63:4; and the register keeps its value. The writes
 * that are allowed take effect. MOV to/from DRn: DR8-15 #UD, DR4/DR5 are
 * DR6/DR7, DR6/DR7 bits 63:32 #GP(0), their fixed bits read fixed.
 */
#include "emu_test.h"
#include "test.h"

#define GP	13

/* mov rax, imm64; mov crN, rax (REX.R for CR8); hlt */
static int write_cr64(struct emu_test *t, int n, uint64_t val)
{
	uint8_t code[16] = { 0x48, 0xb8 };
	size_t len = 10;

	memcpy(code + 2, &val, 8);
	if (n >= 8)
		code[len++] = 0x44;
	code[len++] = 0x0f;
	code[len++] = 0x22;
	code[len++] = 0xc0 | ((n & 7) << 3);
	code[len++] = 0xf4;
	emu_test_run(t, code, len);
	return emu_test_vector(t);
}

struct crcase {
	const char *name;
	int cr;
	uint64_t set, clear;	/* applied to the register's value */
	bool faults;
};

static const struct crcase cases64[] = {
	{ "cr4.la57", 4, 1ULL << 12, 0, true },
	{ "cr4.vmxe", 4, 1ULL << 13, 0, true },
	{ "cr4.fsgsbase", 4, 1ULL << 16, 0, true },
	{ "cr4.pcide", 4, 1ULL << 17, 0, true },
	{ "cr4.osxsave", 4, 1ULL << 18, 0, true },
	{ "cr4.smep", 4, 1ULL << 20, 0, true },
	{ "cr4.de", 4, 1ULL << 3, 0, true },
	{ "cr4.mce", 4, 1ULL << 6, 0, true },
	{ "cr4 bit 32", 4, 1ULL << 32, 0, true },
	{ "cr4.pae cleared", 4, 0, X86_CR4_PAE, true },
	{ "cr4.pce", 4, CR4_PCE, 0, false },
	{ "cr4.pge", 4, CR4_PGE, 0, false },
	{ "cr4.tsd", 4, CR4_TSD, 0, false },
	{ "cr4.osxmmexcpt", 4, CR4_OSXMMEXCPT, 0, false },
	{ "cr0 bit 32", 0, 1ULL << 32, 0, true },
	{ "cr0.pg cleared", 0, 0, X86_CR0_PG, true },
	{ "cr0.pe cleared", 0, 0, X86_CR0_PE, true },
	{ "cr0.nw", 0, 1ULL << 29, 0, true },
	{ "cr0.cd+nw", 0, 3ULL << 29, 0, false },
	{ "cr0.am", 0, X86_CR0_AM, 0, false },
	{ "cr3 bit 40", 3, 1ULL << 40, 0, true },
	{ "cr3 bit 63", 3, 1ULL << 63, 0, true },
	{ "cr3 same", 3, 0, 0, false },
	{ "cr8 16", 8, 16, 0, true },
	{ "cr8 15", 8, 15, 0, false },
};

static uint64_t cr_of(struct emu_cpu *c, int n)
{
	return n == 0 ? c->cr0 : n == 3 ? c->cr3 : n == 4 ? c->cr4 : c->cr8;
}

static void test_mov_cr_64(void)
{
	for (size_t i = 0; i < sizeof(cases64) / sizeof(cases64[0]); i++) {
		const struct crcase *k = &cases64[i];
		struct emu_test *t = emu_test_init64();
		uint64_t old = cr_of(&t->cpu, k->cr);
		uint64_t val = (old | k->set) & ~k->clear;
		int vec = write_cr64(t, k->cr, val);

		if (vec != (k->faults ? GP : -1) ||
		    cr_of(&t->cpu, k->cr) != (k->faults ? old : val))
			printf("  %s: vector %d, cr%d %#llx\n", k->name, vec,
			       k->cr,
			       (unsigned long long)cr_of(&t->cpu, k->cr));
		CHECK_EQ(vec, k->faults ? GP : -1);
		CHECK_EQ(cr_of(&t->cpu, k->cr), k->faults ? old : val);
		emu_test_free(t);
	}
}

/*
 * 32-bit protected mode without paging, EFER.LME set: turning paging on
 * without CR4.PAE is #GP(0); with PAE it enters long mode (LMA).
 */
static void protected32(struct emu_test *t)
{
	struct emu_cpu *c = &t->cpu;

	/* 32-bit interrupt gates to the HLT stubs, code selector 0x18 */
	for (uint64_t v = 0; v < 32; v++) {
		uint64_t h = EMU_TEST_STUB(v);

		emu_test_w64(t, EMU_TEST_IDT + v * 8,
			     (h & 0xffff) | (0x18ULL << 16) | (0x8eULL << 40) |
			     ((h >> 16) << 48));
	}
	c->idt = (struct x86_dtable){ EMU_TEST_IDT, 32 * 8 - 1 };
	c->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	c->cr4 = 0;
	c->efer = X86_EFER_LME;
	c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x18, .type = 0xb,
		.s = 1, .present = 1, .db = 1, .g = 1, .limit = 0xffffffff };
	cpu_update_mode(c);
	tlb_flush(c, true);
}

static void test_paging_on_without_pae(void)
{
	/* mov eax, cr0; or eax, 0x80000000; mov cr0, eax; hlt */
	static const uint8_t code[] = { 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00,
					0x00, 0x80, 0x0f, 0x22, 0xc0, 0xf4 };

	for (int pae = 0; pae < 2; pae++) {
		struct emu_test *t = emu_test_init64();

		protected32(t);
		if (pae)
			t->cpu.cr4 = X86_CR4_PAE;
		emu_test_run(t, code, sizeof(code));
		if (pae) {
			/* long mode, compatibility mode: the HLT ran */
			CHECK_EQ(emu_test_vector(t), -1);
			CHECK(t->cpu.cr0 & X86_CR0_PG);
			CHECK(t->cpu.efer & X86_EFER_LMA);
		} else {
			CHECK_EQ(emu_test_vector(t), GP);
			CHECK(!(t->cpu.cr0 & X86_CR0_PG));
			CHECK(!(t->cpu.efer & X86_EFER_LMA));
		}
		emu_test_free(t);
	}
}

#define UD	6

/* mov rax, imm64; mov drN, rax; mov rbx, drN; hlt (REX.R for N >= 8) */
static int write_dr64(struct emu_test *t, int n, uint64_t val)
{
	uint8_t code[24] = { 0x48, 0xb8 };
	size_t len = 10;

	memcpy(code + 2, &val, 8);
	for (int rd = 0; rd < 2; rd++) {
		if (n >= 8)
			code[len++] = 0x44;
		code[len++] = 0x0f;
		code[len++] = rd ? 0x21 : 0x23;
		code[len++] = 0xc0 | ((n & 7) << 3) | (rd ? 3 : 0);
	}
	code[len++] = 0xf4;
	t->cpu.gpr[R_BX] = 0x5a5a;
	emu_test_run(t, code, len);
	return emu_test_vector(t);
}

static void test_mov_dr(void)
{
	static const struct {
		int dr;
		uint64_t val, read;	/* read: RBX after, 0x5a5a: not run */
		int vec;
	} k[] = {
		{ 0, 0x1234, 0x1234, -1 },
		{ 7, 0, 0x400, -1 },
		{ 7, 0xffffffff, 0xffff27ff, -1 },
		{ 7, 1ULL << 32, 0x5a5a, GP },
		{ 6, 0, 0xffff0ff0, -1 },
		{ 6, 0xe00f, 0xffffeff0 | 0xf, -1 },
		{ 6, 1ULL << 40, 0x5a5a, GP },
		{ 5, 0x3, 0x403, -1 },		/* DR7 */
		{ 4, 0x4000, 0xffff4ff0, -1 },	/* DR6 */
		{ 8, 0, 0x5a5a, UD },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct emu_test *t = emu_test_init64();
		int vec = write_dr64(t, k[i].dr, k[i].val);

		if (vec != k[i].vec || t->cpu.gpr[R_BX] != k[i].read)
			printf("  dr%d <- %#llx: vector %d, read %#llx\n",
			       k[i].dr, (unsigned long long)k[i].val, vec,
			       (unsigned long long)t->cpu.gpr[R_BX]);
		CHECK_EQ(vec, k[i].vec);
		CHECK_EQ(t->cpu.gpr[R_BX], k[i].read);
		emu_test_free(t);
	}
}

int main(void)
{
	RUN(test_mov_cr_64);
	RUN(test_paging_on_without_pae);
	RUN(test_mov_dr);
	return test_summary();
}
