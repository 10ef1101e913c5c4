// SPDX-License-Identifier: MIT
/*
 * emu: the x87 environment and state images in their four layouts (SDM
 * vol. 1 8.1.10): 32- and 16-bit operand size, protected and real/V86
 * mode. In 64-bit mode a 66 prefix gives the 16-bit protected-mode
 * layout (14 bytes, FNSAVE 94), which this host shows: FNSTENV/FNSAVE
 * after x87 work and FLDENV/FRSTOR of random images (read back with the
 * 32-bit forms) must store exactly the host's bytes. The real-mode
 * layouts (linear pointers, FOP beside their high bits) are checked
 * against the SDM's figures, round trips included.
 */
#include <sys/mman.h>

#include "emu_test.h"
#include "test.h"

#define BASE	EMU_TEST_DATA

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * RDI: the block. [rdi+0] the FLD operand, [rdi+320] a 14-byte image for
 * FLDENV, [rdi+384] a 94-byte one for FRSTOR; out: FNSTENV16 at +64,
 * FNSAVE16 at +128, FNSTENV32 after the FLDENV16 at +352, FNSAVE32 after
 * the FRSTOR16 at +512, FNSTENV16 with REX.W (32-bit layout) at +640
 */
static const uint8_t code[] = {
	/* every register's bits known (FNINIT keeps them): zeros */
	0xdd, 0xa7, 0x00, 0x03, 0, 0,		/* frstor [rdi+768] */
	0xdb, 0xe3,				/* fninit */
	0xdd, 0x07,				/* fld qword [rdi] */
	0xd8, 0xc0,				/* fadd st0, st0 */
	0x66, 0xd9, 0x77, 0x40,			/* fnstenv16 [rdi+64] */
	0xdd, 0x47, 0x08,			/* fld qword [rdi+8] */
	0xd9, 0xc9,				/* fxch */
	0x66, 0xdd, 0xb7, 0x80, 0, 0, 0,	/* fnsave16 [rdi+128] */
	0xdd, 0x07,				/* fld qword [rdi]: FOP */
	0x66, 0xd9, 0xa7, 0x40, 0x01, 0, 0,	/* fldenv16 [rdi+320] */
	0xd9, 0xb7, 0x60, 0x01, 0, 0,		/* fnstenv [rdi+352] */
	0xdc, 0xc0,				/* fadd st0, st0: FOP */
	0x66, 0xdd, 0xa7, 0x80, 0x01, 0, 0,	/* frstor16 [rdi+384] */
	0xdd, 0xb7, 0x00, 0x02, 0, 0,		/* fnsave [rdi+512] */
	0xdd, 0x07,				/* fld qword [rdi] */
	0x66, 0x48, 0xd9, 0xb7, 0x80, 0x02, 0, 0, /* fnstenv [rdi+640] */
	0xdb, 0xe3,				/* fninit */
};

#define OUT_END	700

/* A random environment image in the 16-bit layout at p, registers after */
static void random_image(uint8_t *p, bool regs)
{
	uint16_t w[7];

	for (int i = 0; i < 7; i++)
		w[i] = rnd();
	w[0] |= 0x3f;		/* every exception masked: none pending */
	w[1] &= ~0x80;		/* no ES */
	if (rnd() & 1)
		w[1] &= ~0x3f;
	memcpy(p, w, 14);
	for (int i = 0; regs && i < 8; i++) {
		uint64_t sig = rnd();
		uint16_t exp = rnd();

		switch (rnd() % 4) {
		case 0: exp &= 0x8000; sig = 0; break;		/* zero */
		case 1: sig |= 1ULL << 63; exp = (exp & 0x8000) | 0x3fff;
			break;
		default: sig |= 1ULL << 63; break;
		}
		memcpy(p + 14 + 10 * i, &sig, 8);
		memcpy(p + 22 + 10 * i, &exp, 2);
	}
}

static void test_fpenv16_against_host(void)
{
	static uint8_t host[1024 + 128] __attribute__((aligned(4096)));
	uint8_t *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t in[1024 + 128], prog[sizeof(code) + 8];
	uint16_t cs, ds;
	int fails = 0;

	if (buf == MAP_FAILED) {
		SKIP("no executable memory for the host's run");
		return;
	}
	/* the host's CS and DS, for the emu's selectors */
	__asm__ volatile("mov %%cs, %0; mov %%ds, %1" : "=r"(cs), "=r"(ds));
	for (int k = 0; k < 64; k++) {
		struct emu_test *t = emu_test_init64();
		/* the same low 16 bits of RIP and RDI as the host's */
		uint64_t at = EMU_TEST_CODE + ((uintptr_t)buf & 0xffff);
		uint64_t data = BASE + ((uintptr_t)host & 0xffff);
		uint8_t *m = emu_test_ptr(t, data);
		double d0 = (double)(int64_t)rnd() / 7, d1 = 1.0 / (k + 3);

		memset(in, 0, sizeof(in));
		in[768] = 0x7f;		/* FCW 0x37f, FTW all empty */
		in[769] = 0x03;
		in[768 + 8] = in[768 + 9] = 0xff;
		memcpy(in, &d0, 8);
		memcpy(in + 8, &d1, 8);
		random_image(in + 320, false);
		random_image(in + 384, true);
		memcpy(host, in, sizeof(in));
		memcpy(buf, code, sizeof(code));
		buf[sizeof(code)] = 0xc3;
		((void (*)(void *))buf)(host);

		memcpy(prog, code, sizeof(code));
		prog[sizeof(code)] = 0xf4;
		memcpy(m, in, sizeof(in));
		t->cpu.seg[SEG_CS].selector = cs;
		t->cpu.seg[SEG_DS].selector = ds;
		t->cpu.gpr[R_DI] = data;
		emu_test_run_at(t, at, prog, sizeof(code) + 1);
		CHECK_EQ(emu_test_vector(t), -1);
		for (int i = 64; i < OUT_END; i++) {
			if (i >= 320 && i < 352)
				continue;
			if (i >= 384 && i < 478)
				continue;
			/* 32-bit FIP/FDP's high halves: RIP and RDI differ */
			if (i == 654 || i == 655 || i == 662 || i == 663)
				continue;
			if (m[i] == host[i])
				continue;
			if (fails++ < 20)
				printf("  run %d: byte %d: %02x, the host's "
				       "%02x\n", k, i, m[i], host[i]);
		}
		emu_test_free(t);
	}
	munmap(buf, 8192);
	CHECK_EQ(fails, 0);
}

/*
 * Real mode (CS 0x0700, DS 0x1234): FNSTENV/FNSAVE in the 16-bit (no
 * prefix) and 32-bit (66) real-mode layouts hold 20/32-bit linear
 * pointers (segment * 16 + offset) with FOP beside their high bits, and
 * FLDENV/FRSTOR of those images give the same state back
 *
 *	fninit
 *	fld qword [0x100]	; dd 06 00 01
 *	fadd st0, st0		; d8 c0
 *	fnstenv [0x200]		; d9 36 00 02 (16-bit real layout)
 *	fnstenv32 [0x240]	; 66 d9 36 40 02
 *	fnsave [0x300]		; dd 36 00 03
 *	frstor [0x300]		; dd 26 00 03
 *	fnsave32 [0x400]	; 66 dd 36 00 04
 *	frstor32 [0x400]	; 66 dd 26 00 04
 *	fnstenv [0x500]		; d9 36 00 05
 *	hlt
 */
static void test_fpenv_real_mode(void)
{
	static const uint8_t prog[] = {
		0xdb, 0xe3, 0xdd, 0x06, 0x00, 0x01, 0xd8, 0xc0,
		0xd9, 0x36, 0x00, 0x02, 0x66, 0xd9, 0x36, 0x40, 0x02,
		0xdd, 0x36, 0x00, 0x03, 0xdd, 0x26, 0x00, 0x03,
		0x66, 0xdd, 0x36, 0x00, 0x04, 0x66, 0xdd, 0x26, 0x00, 0x04,
		0xd9, 0x36, 0x00, 0x05, 0xf4,
	};
	struct emu_test *t = emu_test_new();
	const uint32_t ds = 0x1234 << 4, cs = 0x0700 << 4;
	const uint8_t *e16 = emu_test_ptr(t, ds + 0x200);
	const uint8_t *e32 = emu_test_ptr(t, ds + 0x240);
	const uint8_t *s16 = emu_test_ptr(t, ds + 0x300);
	const uint8_t *s32 = emu_test_ptr(t, ds + 0x400);
	const uint8_t *again = emu_test_ptr(t, ds + 0x500);
	uint32_t lip, ldp;
	double one = 1.5;
	uint16_t w[7];
	uint32_t d[7];

	seg_load_real(&t->cpu, SEG_CS, 0x0700);
	seg_load_real(&t->cpu, SEG_DS, 0x1234);
	memcpy(emu_test_ptr(t, ds + 0x100), &one, 8);
	/* the code at CS:0x0f00: the FADD's linear address is 0x7f06 */
	memcpy(emu_test_ptr(t, cs + 0x0f00), prog, sizeof(prog));
	t->cpu.rip = 0x0f00;
	for (int i = 0; i < 10 && !t->cpu.halted; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
	CHECK(t->cpu.halted);
	CHECK_EQ(t->cpu.rip, 0x0f00 + sizeof(prog));
	lip = cs + 0x0f06;	/* the FADD */
	ldp = ds + 0x100;	/* the FLD's operand */

	/* 16-bit real-mode layout */
	memcpy(w, e16, 14);
	CHECK_EQ(w[0], 0x37f);
	CHECK_EQ(w[3], lip & 0xffff);
	CHECK_EQ(w[4], (lip >> 16 & 0xf) << 12 | 0x0c0);	/* d8 c0 */
	CHECK_EQ(w[5], ldp & 0xffff);
	CHECK_EQ(w[6], (ldp >> 16 & 0xf) << 12);
	/* 32-bit real-mode layout */
	memcpy(d, e32, 28);
	CHECK_EQ(d[0], 0xffff037fu);
	CHECK_EQ(d[3], 0xffff0000u | (lip & 0xffff));
	CHECK_EQ(d[4], (lip >> 16) << 12 | 0x0c0);
	CHECK_EQ(d[5], 0xffff0000u | (ldp & 0xffff));
	CHECK_EQ(d[6], (ldp >> 16) << 12);
	/* FNSAVE16: the 16-bit environment, then ST(0) = 3.0 */
	CHECK(!memcmp(s16, e16, 14));
	CHECK_EQ(s16[14 + 7], 0xc0);	/* 3.0's significand's top byte */
	CHECK_EQ(s16[14 + 9], 0x40);
	/* FNSAVE32 of the state FRSTOR16 gave back: as FNSTENV32 had it */
	CHECK(!memcmp(s32, e32, 28));
	CHECK(!memcmp(s32 + 28, s16 + 14, 80));
	/* and FRSTOR32 of that too */
	CHECK(!memcmp(again, e16, 14));
	emu_test_free(t);
}

int main(void)
{
	RUN(test_fpenv16_against_host);
	RUN(test_fpenv_real_mode);
	return test_summary();
}
