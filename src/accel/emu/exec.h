/* SPDX-License-Identifier: MIT */
/*
 * The decoded form of the instruction being executed and the operand
 * helpers the exec_*.c handlers share. Decoding happens as the handler
 * runs: prefixes first (decode.c), then each handler pulls its ModRM and
 * immediates from the fetch window.
 */
#ifndef CVISOR_ACCEL_EMU_EXEC_H
#define CVISOR_ACCEL_EMU_EXEC_H

#include <string.h>

#include "accel/emu/cpu.h"
#include "accel/emu/stack.h"

struct insn {
	uint8_t op;
	uint8_t rex;		/* 0x40..0x4f or 0 */
	bool lock, rep, repne, p66;
	uint8_t last_pfx;	/* last of 66/F2/F3, selects SSE forms */
	int seg;		/* override or SEG_NONE */
	int osize;		/* 2, 4 or 8 */
	int asize;		/* 2, 4 or 8 */
	uint8_t modrm, mod, reg, rm;	/* reg/rm include REX.R/REX.B */
	bool mem;
	uint64_t ea;		/* its offset (effective address) */
	uint64_t addr;		/* linear address of a memory operand */
	uint8_t eseg;		/* its segment (the override or the default) */
};

static inline uint64_t size_mask(int size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static inline int64_t sext(uint64_t v, int size)
{
	int sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

static inline uint64_t code_lin(struct emu_cpu *cpu)
{
	return cpu->code64 ? cpu->rip :
	       (cpu->seg[SEG_CS].base + cpu->rip) & 0xffffffffULL;
}

/*
 * Outside 64-bit mode a byte beyond CS.limit is #GP(0) (SDM vol. 3,
 * 5.3): the fetch window ends there too, and fetch8's slow path checks
 */
static inline void fetch_limit(struct emu_cpu *cpu)
{
	uint64_t limit = cpu->seg[SEG_CS].limit;
	uint64_t room = cpu->rip > limit ? 0 : limit - cpu->rip + 1;

	if (room < (uint64_t)(cpu->ip_end - cpu->ip))
		cpu->ip_end = cpu->ip + room;
}

/* Point cpu->ip at RIP's byte in the fetch window, if it is there. */
static inline void fetch_begin(struct emu_cpu *cpu)
{
	uint64_t lin = code_lin(cpu);

	if (lin >> 12 == cpu->fetch_vpn) {
		cpu->ip = cpu->fetch_hva + (lin & 0xfff);
		cpu->ip_end = cpu->fetch_hva + 4096;
		if (!cpu->code64)
			fetch_limit(cpu);
	} else {
		cpu->ip_end = NULL;
	}
}

static inline uint8_t fetch8(struct emu_cpu *cpu)
{
	uint64_t lin;
	uint8_t b;

	if (cpu->ip < cpu->ip_end) {
		cpu->rip++;
		return *cpu->ip++;
	}
	if (!cpu->code64 && cpu->rip > cpu->seg[SEG_CS].limit)
		cpu_raise(cpu, EXC_GP, 0);
	lin = code_lin(cpu);
	if (lin >> 12 == cpu->fetch_vpn)
		b = cpu->fetch_hva[lin & 0xfff];
	else
		b = fetch_slow(cpu, lin);
	cpu->rip++;
	fetch_begin(cpu);
	return b;
}

static inline uint8_t peek8(struct emu_cpu *cpu)
{
	uint8_t b = fetch8(cpu);

	cpu->rip--;
	cpu->ip--;
	return b;
}

static inline uint64_t fetch_n(struct emu_cpu *cpu, int size)
{
	uint64_t v = 0;

	/* One load when the bytes are inside the current fetch page */
	if (cpu->ip + 8 <= cpu->ip_end) {
		memcpy(&v, cpu->ip, 8);
		cpu->ip += size;
		cpu->rip += size;
		return size == 8 ? v : v & ((1ULL << (size * 8)) - 1);
	}
	for (int i = 0; i < size; i++)
		v |= (uint64_t)fetch8(cpu) << (8 * i);
	return v;
}

/* Immediate of size bytes (an 8-byte operand takes a sign-extended imm32) */
static inline uint64_t fetch_imm(struct emu_cpu *cpu, int size)
{
	if (size == 8)
		return (uint64_t)(int64_t)(int32_t)fetch_n(cpu, 4);
	return fetch_n(cpu, size);
}

static inline uint64_t fetch_simm8(struct emu_cpu *cpu)
{
	return (uint64_t)(int64_t)(int8_t)fetch8(cpu);
}

/* Register r of size bytes; without a REX prefix 4..7 are AH..BH */
static inline __attribute__((always_inline))
uint64_t reg_read_rex(const struct emu_cpu *cpu, uint8_t rex,
				    int r, int size)
{
	if (size == 1) {
		if (!rex && r >= 4 && r < 8)
			return (cpu->gpr[r - 4] >> 8) & 0xff;
		return cpu->gpr[r] & 0xff;
	}
	return cpu->gpr[r] & size_mask(size);
}

/* 32-bit writes zero the upper half, 8- and 16-bit ones merge */
static inline __attribute__((always_inline))
void reg_write_rex(struct emu_cpu *cpu, uint8_t rex, int r,
				 int size, uint64_t v)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			cpu->gpr[r - 4] = (cpu->gpr[r - 4] & ~0xff00ULL) |
					  ((v & 0xff) << 8);
		else
			cpu->gpr[r] = (cpu->gpr[r] & ~0xffULL) | (v & 0xff);
		break;
	case 2:
		cpu->gpr[r] = (cpu->gpr[r] & ~0xffffULL) | (v & 0xffff);
		break;
	case 4:
		cpu->gpr[r] = (uint32_t)v;
		break;
	default:
		cpu->gpr[r] = v;
	}
}

static inline uint64_t reg_read(struct emu_cpu *cpu, struct insn *in,
				int r, int size)
{
	return reg_read_rex(cpu, in->rex, r, size);
}

static inline void reg_write(struct emu_cpu *cpu, struct insn *in, int r,
			     int size, uint64_t v)
{
	reg_write_rex(cpu, in->rex, r, size, v);
}

/* decode.c */
void decode_modrm(struct emu_cpu *cpu, struct insn *in, int imm_bytes);
uint64_t seg_lin(struct emu_cpu *cpu, struct insn *in, int defseg,
		 uint64_t off);

/*
 * The linear address of n bytes at offset off of segment s, accessed acc
 * (ACC_R, ACC_W): outside 64-bit mode after the segment's checks
 * (seg_check: #GP(0), #SS(0) for SS); in 64-bit mode only FS and GS have
 * a base
 */
static inline uint64_t seg_addr(struct emu_cpu *cpu, int s, uint64_t off,
				uint64_t n, enum mem_access acc)
{
	if (cpu->code64)
		return s >= SEG_FS ? off + cpu->seg[s].base : off;
	seg_check(cpu, s, off, n, acc);
	return (cpu->seg[s].base + off) & 0xffffffffULL;
}

/* The segment of a string source or other DS-relative operand */
static inline int insn_seg(const struct insn *in, int defseg)
{
	return in->seg != SEG_NONE ? in->seg : defseg;
}

/*
 * The linear address of n bytes at byte k of the memory operand,
 * accessed acc: outside 64-bit mode after its segment's checks (all the
 * operand's accesses come through here: a LGDT's limit and base, an
 * FXSAVE's 512 bytes, as seg_addr)
 */
static inline uint64_t ea_addr(struct emu_cpu *cpu, const struct insn *in,
			       uint64_t k, uint64_t n, enum mem_access acc)
{
	if (cpu->code64)
		return in->addr + k;
	seg_check(cpu, in->eseg, in->ea + k, n, acc);
	return (in->addr + k) & 0xffffffffULL;
}

static inline uint64_t ea_read(struct emu_cpu *cpu, const struct insn *in,
			       uint64_t k, unsigned size)
{
	return mem_read(cpu, ea_addr(cpu, in, k, size, ACC_R), size);
}

static inline void ea_write(struct emu_cpu *cpu, const struct insn *in,
			    uint64_t k, uint64_t v, unsigned size)
{
	mem_write(cpu, ea_addr(cpu, in, k, size, ACC_W), v, size);
}

static inline void ea_read_buf(struct emu_cpu *cpu, const struct insn *in,
			       void *buf, unsigned n)
{
	mem_read_buf(cpu, ea_addr(cpu, in, 0, n, ACC_R), buf, n);
}

static inline void ea_write_buf(struct emu_cpu *cpu, const struct insn *in,
				const void *buf, unsigned n)
{
	mem_write_buf(cpu, ea_addr(cpu, in, 0, n, ACC_W), buf, n);
}

uint64_t rm_read(struct emu_cpu *cpu, struct insn *in, int size);
void rm_write(struct emu_cpu *cpu, struct insn *in, int size, uint64_t v);
typedef uint64_t (*rmw_fn)(struct emu_cpu *cpu, uint64_t old, uint64_t arg,
			   int size);
/* Read-modify-write the r/m operand; atomic on RAM under LOCK. */
uint64_t rm_rmw(struct emu_cpu *cpu, struct insn *in, int size, rmw_fn fn,
		uint64_t arg);
/*
 * #UD for the instruction at cpu->insn_rip: silent where hardware raises
 * it too (opmap_defined), else an instruction the emu lacks, counted in
 * emu_unimplemented and reported once per opcode.
 */
_Noreturn void insn_ud(struct emu_cpu *cpu, struct insn *in);
extern _Atomic unsigned long emu_unimplemented;
/*
 * opmap.c: whether the bytes at b (n, from the first prefix) encode an
 * instruction of this CPU in 64-bit (code64) or 32-bit protected mode;
 * false where hardware raises #UD for the encoding itself.
 */
bool opmap_defined(const uint8_t *b, int n, bool code64);
/* Whether LOCK may prefix opcode op (of the 0F map: twobyte), ModRM m */
bool opmap_lockable(bool twobyte, uint8_t op, uint8_t m);

/*
 * dcache.c: run up to max instructions of the decoded block at cpu->ip
 * (which has 16 readable bytes); 0 when its first is not a cached form.
 */
unsigned dcache_run(struct emu_cpu *cpu, long max);
/* exec.c: ALU op on the r/m operand (CMP writes nothing) */
void alu_rm(struct emu_cpu *cpu, struct insn *in, int op, int size,
	    uint64_t src);

/* exec_alu.c: flag-exact arithmetic; results masked to size */
void set_szp(struct emu_cpu *cpu, uint64_t r, int size);
uint64_t alu_op(struct emu_cpu *cpu, int op, uint64_t a, uint64_t b,
		int size);
uint64_t alu_shift(struct emu_cpu *cpu, int op, uint64_t a, unsigned cnt,
		   int size);
uint64_t alu_shld(struct emu_cpu *cpu, uint64_t a, uint64_t b, unsigned c,
		  int size, bool right);
void alu_group3(struct emu_cpu *cpu, struct insn *in, int size);
uint64_t alu_imul(struct emu_cpu *cpu, uint64_t a, uint64_t b, int size);
uint64_t fn_inc(struct emu_cpu *cpu, uint64_t a, uint64_t unused, int size);
uint64_t fn_dec(struct emu_cpu *cpu, uint64_t a, uint64_t unused, int size);

/* exec_ctl.c */
/*
 * RIP after a near branch to target: #GP(0) at the branch, before it
 * changes anything (a CALL pushes nothing), when target is not canonical
 * in 64-bit code (branch_check) or, cut to the operand size, beyond
 * CS.limit in other code
 */
uint64_t branch_target(struct emu_cpu *cpu, struct insn *in,
		       uint64_t target);
void jump_to(struct emu_cpu *cpu, struct insn *in, uint64_t target);
int stack_osize(struct emu_cpu *cpu, struct insn *in);
/*
 * The operand size of a near JMP, Jcc, CALL or RET: 64 bits in 64-bit
 * mode whatever a 66 says (Intel; AMD's are 16), so a rel32 and 8-byte
 * return addresses
 */
static inline int branch_osize(const struct emu_cpu *cpu,
			       const struct insn *in)
{
	return cpu->code64 ? 8 : in->osize;
}
void push_flags(struct emu_cpu *cpu, struct insn *in);
void pop_flags(struct emu_cpu *cpu, struct insn *in);
void exec_group5(struct emu_cpu *cpu, struct insn *in);
void exec_enter(struct emu_cpu *cpu, struct insn *in);
void exec_mov_sreg(struct emu_cpu *cpu, struct insn *in, bool load);

/* exec.c, exec_0f.c, exec_str.c, sse.c, x87.c */
/* The general decoder, for what the decode cache does not run */
void exec_insn_decode(struct emu_cpu *cpu);
void exec_0f(struct emu_cpu *cpu, struct insn *in);
/* LDS, LES, LSS, LFS, LGS: segment register s and a register from m16:n */
void exec_load_far_ptr(struct emu_cpu *cpu, struct insn *in, int s);
/* exec_legacy.c: the one-byte instructions 64-bit mode took away */
void exec_legacy(struct emu_cpu *cpu, struct insn *in, uint8_t b);
/* exec_desc.c: LAR, LSL (0F op), VERR, VERW (op 00) once its ModRM's in */
void exec_desc_query(struct emu_cpu *cpu, struct insn *in, uint8_t op);
void exec_string(struct emu_cpu *cpu, struct insn *in);
void exec_sse(struct emu_cpu *cpu, struct insn *in, uint8_t op);
/*
 * An SSE instruction faults before its operands: #UD with CR0.EM set or
 * CR4.OSFXSR clear, else #NM with CR0.TS set (SDM vol. 3, 2.5 and 13.1)
 */
static inline bool sse_unusable(const struct emu_cpu *cpu)
{
	return (cpu->cr0 & (CR0_EM | CR0_TS)) || !(cpu->cr4 & CR4_OSFXSR);
}
/* Raise that #UD or #NM, if any */
void sse_require(struct emu_cpu *cpu);
/*
 * sse_form.c: whether 0F op with mandatory prefix pfx (0, 0x66, 0xf3,
 * 0xf2) and that ModRM byte is an MMX/SSE/SSE2 instruction (else #UD)
 */
bool sse_encoding_ok(uint8_t pfx, uint8_t op, uint8_t modrm);
void exec_x87(struct emu_cpu *cpu, struct insn *in);
/*
 * An x87 exception is pending while a flag of FSW is set that FCW leaves
 * unmasked; FSW.ES and B say so (set again after every load of FSW or
 * FCW: x87_sync_es). A waiting x87 instruction, FWAIT and an MMX
 * instruction raise #MF before they start if one is, with CR0.NE set
 * (clear, hardware signals FERR#, which is not modelled).
 */
static inline bool x87_pending(const struct emu_cpu *cpu)
{
	return cpu->fsw & ~cpu->fcw & 0x3f;
}
void x87_sync_es(struct emu_cpu *cpu);
void x87_check_pending(struct emu_cpu *cpu);
/* sse_mxcsr.c: MXCSR status flags and #XM around SSE floating point */
struct sse_fp {
	uint32_t unmasked;		/* the guest's unmasked exceptions */
	union xmm xmm[16];		/* and, if any, what to keep */
	uint64_t gpr[16], rflags;
};
void sse_fp_begin(struct emu_cpu *cpu, struct sse_fp *s);
void sse_fp_end(struct emu_cpu *cpu, const struct sse_fp *s);
/*
 * Between them, after an operation that may underflow left its result
 * (a float, or a double with dbl) at r: a tiny one that was exact
 * raises underflow if unmasked, as hardware does
 */
void sse_fp_tiny(const struct emu_cpu *cpu, const void *r, bool dbl);
/* Between them: the host's status flags taken (and cleared), ORed back */
uint32_t sse_host_flags_take(void);
void sse_host_flags_or(uint32_t f);
/*
 * Overflow or underflow unmasked: after each lane of an op that may
 * overflow or underflow, whose flags alone the host's MXCSR holds (those
 * of the lanes before it taken into acc), sse_fp_lane_pe puts acc back
 * with the lane's PE as hardware sets it then (sse_float.c)
 */
bool sse_fp_ou_unmasked(const struct emu_cpu *cpu);
void sse_fp_lane_pe(const struct emu_cpu *cpu, uint32_t acc, uint8_t op,
		    bool dbl, double a, double b);
/* Around translated code: the host's flags cleared, then the guest's */
void sse_host_clear(void);
void sse_host_fold(struct emu_cpu *cpu);
/* sse_cmp.c */
void sse_cmp(struct emu_cpu *cpu, struct insn *in);
bool sse_cvt_packed(struct emu_cpu *cpu, struct insn *in, uint8_t op);
void sse_maskmov(struct emu_cpu *cpu, struct insn *in, const uint8_t *v,
		 const uint8_t *m, int n);
/* sse.c: packed integer lanes of width 16 (xmm) or 8 (mm) bytes */
bool sse_packed_int(union xmm *d, const union xmm *s, uint8_t op,
		    int width);
void sse_shift_lanes(union xmm *d, int lane, int kind, uint64_t cnt,
		     int width);
/* mmx.c: the MMX forms of 0F opcodes; false: op has none with this prefix */
bool exec_mmx(struct emu_cpu *cpu, struct insn *in, uint8_t op);
/* exec_str.c: #GP(0) unless IOPL or the TSS's I/O bitmap allow the access */
void io_check(struct emu_cpu *cpu, uint16_t port, int size);
void exec_io(struct emu_cpu *cpu, struct insn *in);
void exec_fxsave(struct emu_cpu *cpu, struct insn *in, bool restore);
uint64_t io_in(struct emu_cpu *cpu, uint16_t port, int size);
void io_out(struct emu_cpu *cpu, uint16_t port, uint64_t v, int size);

/* Condition code cc (the low nibble of Jcc/SETcc/CMOVcc) on RFLAGS */
static inline bool cond_true(const struct emu_cpu *cpu, int cc)
{
	uint64_t f = cpu->rflags;
	bool r;

	switch (cc >> 1) {
	case 0: r = f & FL_OF; break;
	case 1: r = f & FL_CF; break;
	case 2: r = f & FL_ZF; break;
	case 3: r = f & (FL_CF | FL_ZF); break;
	case 4: r = f & FL_SF; break;
	case 5: r = f & FL_PF; break;
	case 6: r = !(f & FL_SF) != !(f & FL_OF); break;
	default: r = (f & FL_ZF) || (!(f & FL_SF) != !(f & FL_OF)); break;
	}
	return (cc & 1) ? !r : r;
}

/*
 * Up to max (> 0) instructions, returning how many ran: a block from the
 * decode cache when the code has the forms it holds (64-bit code in the
 * fetch page), else one instruction decoded afresh.
 */
static inline unsigned exec_insns(struct emu_cpu *cpu, long max)
{
	unsigned n;

	/*
	 * A branch into another page moves the fetch window first (the
	 * fetch of the first byte would fault the same way), so that the
	 * instruction there can still come from the decode cache.
	 */
	if (code_lin(cpu) >> 12 != cpu->fetch_vpn)
		fetch_page(cpu, code_lin(cpu));
	fetch_begin(cpu);
	if (cpu->code64 && cpu->ip < cpu->ip_end &&
	    (n = dcache_run(cpu, max)))
		return n;
	exec_insn_decode(cpu);
	return 1;
}

#endif
