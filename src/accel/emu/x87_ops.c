// SPDX-License-Identifier: MIT
/*
 * The x87 arithmetic and data instructions (Intel SDM vol. 1 ch. 8,
 * vol. 2 "FADD" ... "FYL2XP1"): every one that is no control or
 * environment instruction (those are x87.c) runs as the host's own
 * instruction on the guest's x87 state, so its results are bit for bit
 * what hardware gives: rounding as FCW.RC says, precision as FCW.PC says
 * (24, 53 or 64 bits), the exception flags IE DE ZE OE UE PE and SF, C0
 * to C3 (C1 for rounding up and for stack overflow or underflow), TOP and
 * the tags, stack underflow (an empty register read) and overflow (a push
 * onto a register in use), the indefinite NaN for a masked invalid
 * operation, and for an exception FCW leaves unmasked what the SDM says
 * (vol. 1 8.5: the destination and TOP unchanged for IE, DE and ZE, the
 * biased result for OE and UE, the result for PE), after which the
 * exception is pending (x87.c: #MF at the next waiting instruction).
 *
 * How: FRSTOR loads the guest's FCW, condition codes, TOP, tags and
 * registers into the host's x87 unit with no exception flag set (so none
 * is pending on the host), a stub of the same opcode and ModRM byte runs
 * (a memory operand is [rax], a buffer holding the bytes read from guest
 * memory or to be written there), and FNSAVE stores the state after it
 * and leaves the host's unit as FNINIT does: FCW 0x37f, the default the
 * host runs with. Nothing between the two can fault (guest memory is read
 * before and written after, and only then does the state change), so a
 * fault of the instruction leaves the guest's x87 state as it was. The
 * exception flags the host sets are ORed into the guest's FSW. FCMOVcc
 * and FCOMI/FUCOMI(P) run with the guest's arithmetic flags in the host's
 * RFLAGS. The transcendental instructions are the host's (this host's
 * FSIN is the reference).
 *
 * The fast path (fast_form) skips FRSTOR and FNSAVE where no stack fault
 * and no unmasked exception can happen (every exception masked, the
 * registers read in use, ST(7) empty for a push) and the instruction
 * changes no more of FSW than the flags, TOP and C1 (arithmetic, loads,
 * stores, FLD/FST/FXCH of registers, FCHS, FABS, the constants), C0..C3
 * (FCOM, FUCOM and their popping forms) or none (FCMOVcc, FCOMI, FUCOMI
 * and FCOMIP/FUCOMIP, with the guest's arithmetic flags in the host's
 * RFLAGS, which keep C1 on this host): the registers it reads go onto
 * the host's empty stack (FLD m80), FLDCW sets the guest's FCW only when
 * it is not 0x37f, the stub runs, FNSTSW gives the flags, C bits and how
 * far TOP moved, and FSTP m80 takes back the registers left. The host's
 * flags are cleared before and after, its FCW is 0x37f again after.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "accel/emu/x87.h"

#define FL_X87		0x8d5u	/* CF PF AF ZF SF OF */

/* The 108-byte FNSAVE/FRSTOR image, 32-bit protected-mode layout */
struct fpu_image {
	uint16_t fcw, fcw_hi, fsw, fsw_hi, ftw, ftw_hi;
	uint32_t fip;
	uint16_t fcs, fop;
	uint32_t fdp;
	uint16_t fds, fds_hi;
	uint8_t st[8][10];
} __attribute__((packed));

_Static_assert(sizeof(struct fpu_image) == 108, "FNSAVE image");

/*
 * The stubs: ENDBR64, the x87 instruction, RET, INT3; 8 bytes each.
 * Register forms: (op - 0xd8) * 64 + (modrm - 0xc0); memory forms:
 * (op - 0xd8) * 8 + reg, with ModRM (reg << 3): the operand is [rax]
 */
extern const uint8_t cvisor_x87_reg_stubs[], cvisor_x87_mem_stubs[];

__asm__(".pushsection .text\n"
	".p2align 4\n"
	".globl cvisor_x87_reg_stubs\n"
	".hidden cvisor_x87_reg_stubs\n"
	"cvisor_x87_reg_stubs:\n"
	".set .Lx87op, 0xd8\n"
	".rept 8\n"
	".set .Lx87m, 0xc0\n"
	".rept 64\n"
	".byte 0xf3, 0x0f, 0x1e, 0xfa, .Lx87op, .Lx87m, 0xc3, 0xcc\n"
	".set .Lx87m, .Lx87m + 1\n"
	".endr\n"
	".set .Lx87op, .Lx87op + 1\n"
	".endr\n"
	".globl cvisor_x87_mem_stubs\n"
	".hidden cvisor_x87_mem_stubs\n"
	"cvisor_x87_mem_stubs:\n"
	".set .Lx87op, 0xd8\n"
	".rept 8\n"
	".set .Lx87m, 0x00\n"
	".rept 8\n"
	".byte 0xf3, 0x0f, 0x1e, 0xfa, .Lx87op, .Lx87m, 0xc3, 0xcc\n"
	".set .Lx87m, .Lx87m + 8\n"
	".endr\n"
	".set .Lx87op, .Lx87op + 1\n"
	".endr\n"
	".popsection\n");

#define X87_CLOBBERS "memory", "cc", "st", "st(1)", "st(2)", "st(3)", \
		     "st(4)", "st(5)", "st(6)", "st(7)"

/* The stub on the state in img, which then holds the state after it */
static void host_exec(struct fpu_image *img, const uint8_t *stub, void *mem)
{
	/* the call skips the red zone below RSP */
	__asm__ volatile("frstor %0\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"
			 "call *%2\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fnsave %0"
			 : "+m"(*img), "+a"(mem)
			 : "r"(stub)
			 : X87_CLOBBERS);
}

/* The same with the arithmetic flags fl in the host's RFLAGS and back */
static uint64_t host_exec_flags(struct fpu_image *img, const uint8_t *stub,
				uint64_t fl)
{
	__asm__ volatile("frstor %0\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"
			 "pushfq\n\t"
			 "andq $~0x8d5, (%%rsp)\n\t"
			 "orq %1, (%%rsp)\n\t"
			 "popfq\n\t"
			 "call *%2\n\t"
			 "pushfq\n\t"
			 "popq %1\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fnsave %0"
			 : "+m"(*img), "+r"(fl)
			 : "r"(stub)
			 : X87_CLOBBERS);
	return fl;
}

static unsigned top(const struct emu_cpu *cpu)
{
	return (cpu->fsw >> 11) & 7;
}

static bool empty(const struct emu_cpu *cpu, unsigned phys)
{
	return ((cpu->ftw >> (2 * (phys & 7))) & 3) == 3;
}

#define FSW_C1	0x0200u
#define FSW_CC	0x4700u
#define FAST_PUSH	0x10	/* the form pushes */
#define FAST_FLAGS	0x20	/* it reads or writes RFLAGS */

/*
 * The fast path's forms, which need no FRSTOR and FNSAVE: those that
 * read ST(0)..ST(k) (k < 0: none) and may push, pop or write one
 * register, with no exception unmasked, no register they read empty and,
 * for a push, ST(7) empty (so no stack fault is possible); then what
 * the instruction changes of FSW besides the flags and TOP is only C1
 * (the arithmetic, loads, stores, moves) or C0..C3 (the compares).
 * Returns k + 1 | FAST_PUSH, or -1 for the general path; *cc: the
 * condition codes the form writes
 */
static int fast_form(uint8_t op, uint8_t m, bool mem, unsigned *cc)
{
	int r = (m >> 3) & 7, i = m & 7;

	*cc = FSW_C1;
	if (mem) {
		switch (op) {
		case 0xd8: case 0xda: case 0xdc: case 0xde:
			if (r == 2 || r == 3)
				*cc = FSW_CC;
			return 1;
		case 0xd9: case 0xdd:
			return r == 0 ? FAST_PUSH : r >= 2 && r <= 3 ? 1 :
			       op == 0xdd && r == 1 ? 1 : -1;
		case 0xdb:
			return r == 0 || r == 5 ? FAST_PUSH :
			       (r >= 1 && r <= 3) || r == 7 ? 1 : -1;
		case 0xdf:
			return r == 0 || r == 5 ? FAST_PUSH : r == 4 ? -1 : 1;
		}
		return -1;
	}
	switch (op) {
	case 0xd8:
	case 0xdc:
		if (r == 2 || r == 3)
			*cc = FSW_CC;
		return i + 1;
	case 0xde:
		if (i == 0)	/* the result in the register it pops */
			return -1;
		if (r == 2 || r == 3) {
			if (r == 3 && i != 1)
				return -1;
			*cc = FSW_CC;
		}
		return i + 1;
	case 0xd9:
		if (m < 0xc8)
			return (i + 1) | FAST_PUSH;	/* FLD ST(i) */
		if (m < 0xd0)
			return i + 1;			/* FXCH */
		if (m == 0xe0 || m == 0xe1)
			return 1;			/* FCHS, FABS */
		if (m >= 0xe8 && m <= 0xee)
			return FAST_PUSH;		/* constants */
		return -1;
	case 0xdd:
		if (m >= 0xe0 && m < 0xf0)
			*cc = FSW_CC;			/* FUCOM(P) */
		return m >= 0xd0 && m < 0xf0 ? i + 1 : -1;
	case 0xda:
		*cc = 0;	/* FCMOVcc, FCOMI: C1 as it was, as here */
		if (m < 0xe0)				/* FCMOVcc */
			return (i + 1) | FAST_FLAGS;
		*cc = FSW_CC;
		return m == 0xe9 ? 2 : -1;		/* FUCOMPP */
	case 0xdb:	/* FCMOVNcc, FUCOMI, FCOMI */
		*cc = 0;
		return m < 0xe0 || (m >= 0xe8 && m < 0xf8) ?
		       (i + 1) | FAST_FLAGS : -1;
	case 0xdf:	/* FUCOMIP, FCOMIP */
		*cc = 0;
		return m >= 0xe8 && m < 0xf8 ? (i + 1) | FAST_FLAGS : -1;
	}
	return -1;
}

/*
 * The fast path's host run: ST(0)..ST(n-1) of regs onto the host's
 * empty x87 stack, no exception flag set, the guest's FCW where it is not
 * the host's 0x37f, the stub, then FSW (*sw) and the registers left on
 * the host's stack back into regs, ST(0) first: their count
 */
static unsigned fast_run(uint8_t (*regs)[10], unsigned n, const uint8_t *stub,
			 void *mem, uint16_t fcw, uint16_t *sw, uint64_t *fl,
			 unsigned flags)
{
	uint16_t def = 0x37f, after;
	uint8_t *p = regs[n];
	unsigned cnt = n, before, d, left;
	uint64_t f = *fl;

	__asm__ volatile("fnstsw %%ax\n\t"
			 "test $0x3f, %%al\n\t"
			 "jz 1f\n\t"
			 "fnclex\n"
			 "1:\n\t"
			 "test %%ecx, %%ecx\n\t"
			 "jz 3f\n"
			 "2:\n\t"
			 "fldt -10(%%rdx)\n\t"
			 "sub $10, %%rdx\n\t"
			 "dec %%ecx\n\t"
			 "jnz 2b\n"
			 "3:\n\t"
			 "fnstsw %%ax\n\t"
			 "movzwl %%ax, %%ecx\n\t"
			 "cmpw $0x37f, %[fcw]\n\t"
			 "je 4f\n\t"
			 "fldcw %[fcw]\n"
			 "4:\n\t"
			 "mov %[mem], %%rax\n\t"
			 "lea -128(%%rsp), %%rsp\n\t"
			 "test %[flags], %[flags]\n\t"
			 "jz 7f\n\t"
			 "pushfq\n\t"
			 "andq $~0x8d5, (%%rsp)\n\t"
			 "orq %[f], (%%rsp)\n\t"
			 "popfq\n\t"
			 "call *%[stub]\n\t"
			 "pushfq\n\t"
			 "popq %[f]\n\t"
			 "jmp 8f\n"
			 "7:\n\t"
			 "call *%[stub]\n"
			 "8:\n\t"
			 "lea 128(%%rsp), %%rsp\n\t"
			 "fnstsw %%ax\n\t"
			 "test $0x3f, %%al\n\t"
			 "jz 5f\n\t"
			 "fnclex\n"
			 "5:\n\t"
			 "cmpw $0x37f, %[fcw]\n\t"
			 "je 6f\n\t"
			 "fldcw %[def]\n"
			 "6:"
			 : "=&a"(after), "+c"(cnt), "+d"(p), [f] "+r"(f)
			 : [stub] "r"(stub), [mem] "r"(mem), [fcw] "m"(fcw),
			   [def] "m"(def), [flags] "r"(flags)
			 : X87_CLOBBERS);
	before = cnt;
	*sw = after;
	*fl = f;
	/* TOP one less for a push, one more for each pop */
	d = ((before >> 11) - ((unsigned)after >> 11)) & 7;
	left = n + (d == 1) - (d >= 6 ? 8 - d : 0);
	p = regs[0];
	cnt = left;
	__asm__ volatile("test %%ecx, %%ecx\n\t"
			 "jz 2f\n"
			 "1:\n\t"
			 "fstpt (%%rdx)\n\t"
			 "add $10, %%rdx\n\t"
			 "dec %%ecx\n\t"
			 "jnz 1b\n"
			 "2:"
			 : "+c"(cnt), "+d"(p)
			 :
			 : X87_CLOBBERS);
	return left;
}

/*
 * The fast path, if the form and state allow it (else false, nothing
 * done): the instruction on the registers it reads; for a store, the
 * bytes in mem, which the caller writes to guest memory before it calls
 * fast_commit
 */
struct fast {
	uint8_t regs[9][10];
	unsigned n, left, cc;
	uint16_t sw;
};

static bool fast_exec(struct emu_cpu *cpu, int form, unsigned cc,
		      const uint8_t *stub, void *mem, struct fast *f)
{
	uint64_t fl = cpu->rflags & FL_X87;

	unsigned t = top(cpu), n = form & 0xf;

	if ((cpu->fcw & 0x3f) != 0x3f)
		return false;
	if ((form & FAST_PUSH) && !empty(cpu, t - 1))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (empty(cpu, t + i))
			return false;
		memcpy(f->regs[i], cpu->fpr[(t + i) & 7], 10);
	}
	f->n = n;
	f->cc = cc;
	f->left = fast_run(f->regs, n, stub, mem, cpu->fcw, &f->sw, &fl,
			   form & FAST_FLAGS);
	if (form & FAST_FLAGS)
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_X87) |
			      (fl & FL_X87);
	return true;
}

/* The state after the fast path: TOP, tags, registers, flags, C bits */
static void fast_commit(struct emu_cpu *cpu, const struct fast *f)
{
	unsigned t = top(cpu), nt = (t + f->n - f->left) & 7;

	for (unsigned i = f->left; i < f->n; i++)	/* popped */
		cpu->ftw |= 3u << (2 * ((t + i - f->left) & 7));
	for (unsigned i = 0; i < f->left; i++) {
		unsigned p = (nt + i) & 7;

		memcpy(cpu->fpr[p], f->regs[i], 10);
		cpu->ftw &= ~(3u << (2 * p));
	}
	cpu->fsw = (cpu->fsw & ~(0x3800u | f->cc)) | nt << 11 |
		   (f->sw & (f->cc | 0x7f));
	x87_sync_es(cpu);
}

/* The guest's state as the host is to run it: no exception flag set */
static void to_image(const struct emu_cpu *cpu, struct fpu_image *img)
{
	unsigned t = top(cpu);

	memset(img, 0, 28);
	img->fcw = cpu->fcw;
	img->fsw = cpu->fsw & 0x7f00;	/* C0..C3, TOP */
	img->ftw = cpu->ftw;
	for (int i = 0; i < 8; i++)
		memcpy(img->st[i], cpu->fpr[(t + i) & 7], 10);
}

/* The state after: the new exception flags join the guest's */
static void from_image(struct emu_cpu *cpu, const struct fpu_image *img)
{
	unsigned t = (img->fsw >> 11) & 7;

	cpu->fsw = (img->fsw & 0x7f7f) | (cpu->fsw & 0x7f);
	cpu->ftw = img->ftw;
	for (int i = 0; i < 8; i++)
		memcpy(cpu->fpr[(t + i) & 7], img->st[i], 10);
	x87_sync_es(cpu);
}

/*
 * The register forms that are x87 data instructions here, the aliases
 * hardware runs among them (D9 D8 FSTP, DC D0/D8 FCOM/FCOMP, DD C8 FXCH,
 * DE D0 FCOMP, DF C0 FFREEP, DF C8 FXCH, DF D0/D8 FSTP) and DB E0, E1,
 * E4 (FENI, FDISI, FSETPM: no operation); the rest are x87.c's or #UD.
 * *flags: the instruction reads or writes RFLAGS (FCMOVcc, FCOMI)
 */
static bool reg_form(uint8_t op, uint8_t m, bool *flags)
{
	*flags = false;
	switch (op) {
	case 0xd8:
	case 0xdc:
		return true;
	case 0xd9:
		return m <= 0xd0 || (m >= 0xd8 && m <= 0xe1) || m == 0xe4 ||
		       m == 0xe5 || (m >= 0xe8 && m <= 0xee) || m >= 0xf0;
	case 0xda:
		*flags = m < 0xe0;
		return m < 0xe0 || m == 0xe9;
	case 0xdb:
		*flags = m < 0xe0 || m >= 0xe8;
		return m < 0xe2 || m == 0xe4 || (m >= 0xe8 && m < 0xf8);
	case 0xdd:
		return m < 0xf0;
	case 0xde:
		return m < 0xd8 || m == 0xd9 || m >= 0xe0;
	case 0xdf:
		*flags = m >= 0xe8;
		return m < 0xe0 || (m >= 0xe8 && m < 0xf8);
	}
	return false;
}

bool x87_exec_reg(struct emu_cpu *cpu, struct insn *in)
{
	const uint8_t *stub;
	struct fpu_image img;
	struct fast f;
	bool flags;
	uint64_t fl;
	unsigned cc;
	int form;

	if (!reg_form(in->op, in->modrm, &flags))
		return false;
	stub = cvisor_x87_reg_stubs +
	       8 * ((in->op - 0xd8) * 64 + (in->modrm - 0xc0));
	form = fast_form(in->op, in->modrm, false, &cc);
	if (form >= 0 && fast_exec(cpu, form, cc, stub, NULL, &f)) {
		fast_commit(cpu, &f);
		return true;
	}
	to_image(cpu, &img);
	if (flags) {
		fl = host_exec_flags(&img, stub, cpu->rflags & FL_X87);
		cpu->rflags = (cpu->rflags & ~(uint64_t)FL_X87) |
			      (fl & FL_X87);
	} else {
		host_exec(&img, stub, NULL);
	}
	from_image(cpu, &img);
	return true;
}

/*
 * The memory operand of op /reg: its size in bytes, negative for a
 * store; 0: not an x87 data instruction (control: x87.c; or #UD)
 */
static int mem_form(uint8_t op, int r)
{
	/* /1 of DB, DD and DF is FISTTP, SSE3's (not in the CPUID): #UD */
	static const int8_t size[8][8] = {
		/* D8 m32fp */ { 4, 4, 4, 4, 4, 4, 4, 4 },
		/* D9 */ { 4, 0, -4, -4 },
		/* DA m32int */ { 4, 4, 4, 4, 4, 4, 4, 4 },
		/* DB */ { 4, 0, -4, -4, 0, 10, 0, -10 },
		/* DC m64fp */ { 8, 8, 8, 8, 8, 8, 8, 8 },
		/* DD */ { 8, 0, -8, -8 },
		/* DE m16int */ { 2, 2, 2, 2, 2, 2, 2, 2 },
		/* DF: FBLD, FBSTP m80bcd */ { 2, 0, -2, -2, 10, 8, -10, -8 },
	};

	return size[op - 0xd8][r];
}

bool x87_exec_mem(struct emu_cpu *cpu, struct insn *in)
{
	int size = mem_form(in->op, in->reg & 7);
	const uint8_t *stub = cvisor_x87_mem_stubs +
			      8 * ((in->op - 0xd8) * 8 + (in->reg & 7));
	struct fpu_image img, again;
	uint8_t buf[16], other[16];
	unsigned cc;
	int form = fast_form(in->op, in->modrm, true, &cc);
	struct fast f;

	if (!size)
		return false;
	if (size > 0) {		/* a load: read first, may fault */
		ea_read_buf(cpu, in, buf, size);
		if (form >= 0 && fast_exec(cpu, form, cc, stub, buf, &f)) {
			fast_commit(cpu, &f);
			return true;
		}
		to_image(cpu, &img);
		host_exec(&img, stub, buf);
		from_image(cpu, &img);
		return true;
	}
	size = -size;
	if (form >= 0 && fast_exec(cpu, form, cc, stub, buf, &f)) {
		ea_write_buf(cpu, in, buf, size);	/* may fault */
		fast_commit(cpu, &f);
		return true;
	}
	to_image(cpu, &img);
	again = img;
	memset(buf, 0xa5, sizeof(buf));
	host_exec(&img, stub, buf);
	/*
	 * An exception FCW leaves unmasked may keep the store from
	 * happening: then a run with other bytes in the buffer leaves each
	 * buffer as it was
	 */
	if (img.fsw & ~cpu->fcw & 0x3f) {
		memset(other, 0x5a, sizeof(other));
		host_exec(&again, stub, other);
		if (memcmp(buf, other, size)) {
			from_image(cpu, &img);
			return true;
		}
	}
	ea_write_buf(cpu, in, buf, size);	/* may fault */
	from_image(cpu, &img);
	return true;
}
