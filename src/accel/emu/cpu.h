/* SPDX-License-Identifier: MIT */
/*
 * State of one software x86-64 CPU and the interfaces between the parts of
 * the interpreter: decode/execute (exec_*.c), memory and paging (mmu.c),
 * exceptions (excp.c), segments and mode switches (seg.c), MSRs, CPUID.
 *
 * A fault anywhere inside an instruction unwinds with siglongjmp to the
 * instruction loop (cpu_run_batch), which restores RIP/RSP to the start of
 * the instruction and delivers the exception. So a handler reads all of its
 * operands and performs its memory writes before it updates registers.
 */
#ifndef CVISOR_ACCEL_EMU_CPU_H
#define CVISOR_ACCEL_EMU_CPU_H

#include <assert.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/regs.h"

struct vm;
struct emu_cpu;
struct dc_block;
struct tlb_ask;
struct jit;

/* Segment register numbers, in ModRM/prefix encoding order. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

/* General registers in encoding order. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };

/* Exception vectors. */
enum {
	EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4,
	EXC_BR = 5, EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10,
	EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16,
	EXC_AC = 17, EXC_XM = 19,
};

/* RFLAGS bits */
#define FL_CF	0x0001u
#define FL_PF	0x0004u
#define FL_AF	0x0010u
#define FL_ZF	0x0040u
#define FL_SF	0x0080u
#define FL_TF	0x0100u
#define FL_IF	0x0200u
#define FL_DF	0x0400u
#define FL_OF	0x0800u
#define FL_IOPL	0x3000u
#define FL_NT	0x4000u
#define FL_RF	0x10000u
#define FL_VM	0x20000u
#define FL_AC	0x40000u
#define FL_ID	0x200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

#define CR0_TS		(1ULL << 3)
#define CR0_EM		(1ULL << 2)
#define CR4_TSD		(1ULL << 2)
#define CR4_PSE		(1ULL << 4)
#define CR4_PGE		(1ULL << 7)
#define CR4_PCE		(1ULL << 8)
#define CR4_OSFXSR	(1ULL << 9)
#define CR4_OSXMMEXCPT	(1ULL << 10)
#define CR4_FSGSBASE	(1ULL << 16)

/*
 * The LAPIC as the CPU sees it. emu.c points this at the irqchip; unit
 * tests leave it NULL and get a CPU without a local APIC.
 */
struct emu_apic_ops {
	uint32_t (*mmio_read)(void *apic, uint32_t offset);
	void (*mmio_write)(void *apic, uint32_t offset, uint32_t val);
	bool (*rdmsr)(void *apic, uint32_t msr, uint64_t *val);
	bool (*wrmsr)(void *apic, uint32_t msr, uint64_t val);
	uint64_t (*apic_base)(void *apic);
	uint64_t (*get_cr8)(void *apic);
	void (*set_cr8)(void *apic, uint64_t cr8);
	bool (*maybe_pending)(void *apic);
	int (*pending_vector)(void *apic);
	void (*accept)(void *apic, int vector);
	unsigned (*take_events)(void *apic, uint8_t *sipi_vector);
};

/* LAPIC events the run loop in emu.c must act on (see irqchip.h) */
#define CPU_EV_INIT	(1u << 0)
#define CPU_EV_SIPI	(1u << 1)
#define CPU_EV_NMI	(1u << 2)

/*
 * Software TLB: direct-mapped, one entry per 4 KiB virtual page (and per
 * 4 KiB of a large page). 8192 entries: a Debian boot under emu filled
 * entries 1.07M times with 1024 of them, 326-345K with 4096 and
 * 205-250K with 8192, mostly in its xz decompressor, whose ~40 MB of
 * output is also its dictionary (256 KiB for each vCPU).
 */
#define TLB_SIZE	8192
#define TLB_GIB_HASH	64	/* cpu->tlb_large's buckets */
#define TLB_R		(1u << 0)	/* readable at CPL 0-2 */
#define TLB_W		(1u << 1)
#define TLB_X		(1u << 2)
#define TLB_UR		(1u << 3)	/* the same at CPL 3 */
#define TLB_UW		(1u << 4)
#define TLB_UX		(1u << 5)
#define TLB_ACCESS	0x3fu		/* the six above */
#define TLB_GLOBAL	(1u << 6)
#define TLB_LARGE	(1u << 7)	/* from a 2M/4M/1G page */
#define TLB_RAM		(1u << 8)	/* guest RAM, not MMIO or the LAPIC */

/*
 * tag is the page's linear address with, in its low bits, the TLB_ACCESS
 * bits of the accesses that may not use host memory directly (missing
 * permission, or all of them outside RAM); ~0 when empty. So one test
 * decides a hit for an access of size bytes at lin:
 *   ((lin + size - 1) & ~0xfff) ^ tag) & (~0xfff | bit) == 0
 * which also fails for an access across the page's end (the next page's
 * tag is never at lin's index). Its host address is then lin + addend.
 * perm has the permissions the page walk found (MMIO included): the slow
 * path's check. Translated code looks entries up too (jit_tlb.c).
 */
struct tlb_entry {
	uint64_t tag;
	uint64_t addend;	/* host page - linear page, in RAM */
	uint64_t gpa;		/* physical page address */
	uint32_t perm;		/* TLB_* */
};

/* The entry's linear page number (all ones when empty) */
static inline uint64_t tlb_vpn(const struct tlb_entry *e)
{
	return e->tag >> 12;
}

/* Whether it writes its page directly (a store there hits, at some CPL) */
static inline bool tlb_direct_write(const struct tlb_entry *e)
{
	return ~e->tag & (TLB_W | TLB_UW);
}

/* Its host page (only in RAM: perm has TLB_RAM) */
static inline uint8_t *tlb_hva(const struct tlb_entry *e)
{
	return (uint8_t *)(uintptr_t)((e->tag & ~0xfffULL) + e->addend);
}

union xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	int8_t sb[16];
	int16_t sw[8];
	int32_t sd[4];
};

struct emu_cpu {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
	struct x86_segment seg[6];
	struct x86_segment tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t dr[8];
	uint64_t cr8;		/* used only without a LAPIC */

	/* MSRs */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t pat, misc_enable, tsc_adjust, apic_base;
	uint64_t kvm_system_time, kvm_wall_clock;

	union xmm xmm[16];
	uint32_t mxcsr;
	uint16_t fcw, fsw, ftw;	/* ftw: full tag word, 11 = empty */
	uint8_t fpr[8][10];	/* x87 R0..R7, 80-bit extended format */
	/* the last non-control x87 instruction: its RIP, CS, opcode, operand */
	uint64_t fip, fdp;
	uint16_t fcs, fds, fop;

	/* Derived mode, refreshed by cpu_update_mode(). */
	int cpl;
	bool code64;		/* 64-bit code segment in long mode */
	bool lma;

	/* Execution bookkeeping */
	bool halted;
	bool shutdown;		/* triple fault */
	bool shadow;		/* STI / MOV SS interrupt shadow for one insn */
	int delivering;		/* vector being delivered, or -1 */
	bool nmi_blocked;	/* from NMI delivery until IRET */
	bool nmi_pending;	/* NMI taken from the LAPIC, not yet delivered */
	unsigned events;	/* CPU_EV_INIT/SIPI taken from the LAPIC */
	uint8_t sipi_vector;
	uint64_t insn_rip;
	sigjmp_buf fault_jmp;
	int fault_vec;
	uint32_t fault_err;
	bool fault_has_err;
	char error[160];	/* fatal emulator error, ends the run */
	uint64_t icount;
	/*
	 * RSP at the instruction's start. Not next to insn_rip: side by
	 * side, the compiler copies RIP and RSP into them with 16-byte loads
	 * that stall on the 8-byte stores just made to those registers.
	 */
	uint64_t insn_rsp;
	uint64_t rmw_aux;	/* CMPXCHG's accumulator for its rmw_fn */
	/*
	 * The instruction's memory operand is a stack reference in 64-bit
	 * mode (base RSP or RBP, no FS/GS override): a non-canonical
	 * address is #SS(0), not #GP(0). Set where the operand is decoded
	 * (decode_modrm, the decode cache's M_BEGIN), cleared at each
	 * instruction the general decoder starts; the implicit stack
	 * accesses (PUSH, POP, CALL, RET...) check for themselves
	 * (mem_read_stack, mem_write_stack).
	 */
	bool stack_ref;
	/*
	 * A MOV to CR0 set PE since CS was last loaded: the CPL is 0 until
	 * a protected-mode load of CS, whatever the low bits of the
	 * selector real mode left (SDM vol. 3 9.9.1)
	 */
	bool cs_real;

	/* Fetch window: host pointer of the current code page */
	uint64_t fetch_vpn;
	const uint8_t *fetch_hva;
	/*
	 * Counts the TLB's flushes (tlb_flush, tlb_flush_page): a translated
	 * exit's slot (jit_cache.h) keeps the count it found its target's
	 * page at, and while it is the same the page still maps to the host
	 * page the slot holds, with the same permission. jit_tag is that
	 * count as the slots hold it (jit_run sets it from tlb_gen).
	 */
	uint64_t tlb_gen;
	uint64_t jit_tag;
	/*
	 * The read window (read_window.h): while win_size is not 0, a read
	 * at a linear address lin with lin - win_lo < win_size is of RAM at
	 * win_hva + (lin - win_lo), for 64 bytes on; win_tries counts the
	 * tries to make one since the TLB was last flushed, and the last
	 * run of pages found no larger is [win_no_lo, win_no_hi).
	 */
	uint64_t win_lo, win_size;
	uint8_t *win_hva;
	unsigned win_tries;
	uint64_t win_no_lo, win_no_hi;
	/*
	 * The next instruction byte and the end of its page while one
	 * instruction is being decoded (set by exec_insns; ip_end NULL when
	 * the window is not usable). fetch8 then costs one compare.
	 */
	const uint8_t *ip, *ip_end;
	long batch_left;

	/* Lazy arithmetic flags, live only inside dcache_run (lflags.h) */
	uint8_t lf_op, lf_size;
	uint32_t lf_rot;	/* CF and OF of a rotate after lf_op (LF_ROT) */
	uint64_t lf_a, lf_b, lf_r;

	struct dc_block *dcache;	/* decoded blocks, or NULL */
	/*
	 * The translator (jit.h), or NULL, and what its code and jit_run
	 * tell each other: instructions left to run, a chain exit to point
	 * at the next block, a block whose bytes changed, "the interpreter
	 * runs the next instruction".
	 */
	struct jit *jit;
	int64_t jit_left;
	uint8_t *jit_link;
	uint8_t *jit_stale;
	uint64_t jit_stale_rip;	/* that block's RIP */
	/*
	 * The stale block's page had another code generation than the block
	 * expects: what jit_run compares (struct jit_recheck), or NULL
	 */
	const void *jit_recheck;
	const uint8_t **jit_slot;	/* the exit slot last gone through */
	uint8_t jit_exit;
	/*
	 * The guest's arithmetic flags while translated code runs, as LAHF
	 * and SETO leave them (AH: SF ZF AF PF CF, AL: OF): blocks hand them
	 * on here, jit_run's entry takes them from rflags and its exit puts
	 * them back.
	 */
	uint16_t jit_flags;
	/*
	 * Translated floating point ran in this jit_run: its block cleared
	 * the host's MXCSR flags first (through jit_mxcsr), and the run loop
	 * ORs them into the guest's after it (sse_mxcsr.c)
	 */
	bool jit_fp;
	uint32_t jit_mxcsr;
	bool dc_stop;		/* end the decoded block here (dcache.c) */
	uint64_t dc_zero;	/* always 0: a decoded address's absent register */

	/*
	 * The asks to act on this TLB (tlb_ask.h: the dirty page log's, the
	 * write tracking of code pages') or NULL, how many of them it has
	 * answered and how many of those were TLB_ASK_WRITES, and what an
	 * asker reads.
	 */
	struct tlb_ask *ask;
	uint64_t ask_seen, ask_writes;
	_Atomic uint64_t ask_ack;
	atomic_bool ask_running;	/* inside cpu_run_batch */

	struct vm *vm;
	int id;
	void *apic;
	const struct emu_apic_ops *apic_ops;
	/*
	 * The LAPIC's lock-free "maybe pending" flags (irqchip.h), tested
	 * inline before each poll; NULL: always ask apic_ops.
	 */
	const atomic_bool *irq_hint, *irq_extint;
	/*
	 * Guest time minus CLOCK_MONOTONIC in ns, shared by all CPUs (the
	 * irqchip's clock_offset); NULL: 0.
	 */
	const _Atomic int64_t *clock_offset;

	/*
	 * The TLB's bookkeeping (mmu.c): which entries may hold a
	 * non-global page (a bit each), so that a MOV to CR3 clears those
	 * alone, and how many entries came from large pages in each 1 GiB
	 * of linear addresses (hashed), so that INVLPG looks through the
	 * whole TLB only where one may hold its page; which entries may
	 * write their page directly (a bit each, set as they are given
	 * that), so that a TLB_ASK_CODE answer (tlb_ask.c) looks at those
	 * alone
	 */
	uint64_t tlb_local[TLB_SIZE / 64];
	uint32_t tlb_large[TLB_GIB_HASH];
	uint64_t tlb_direct[TLB_SIZE / 64];
	/*
	 * Last, so that its size moves no other field: decode entries name
	 * the fields before it by uint16_t offsets (dcache.h, dc_entry's
	 * boff, ioff, soff)
	 */
	struct tlb_entry tlb[TLB_SIZE];
};

/* Cheap test before polling the LAPIC: false when nothing can be pending. */
static inline bool cpu_irq_maybe(const struct emu_cpu *cpu)
{
	return !cpu->irq_hint || cpu->nmi_pending ||
	       atomic_load_explicit(cpu->irq_hint, memory_order_acquire) ||
	       atomic_load_explicit(cpu->irq_extint, memory_order_relaxed);
}

/* cpu.c */
void cpu_reset(struct emu_cpu *cpu, struct vm *vm, int id);
void cpu_update_mode(struct emu_cpu *cpu);
/*
 * Run up to max instructions. Returns early when the CPU halts, shuts down,
 * hits a fatal error, has LAPIC events for emu.c, or *stop becomes true
 * (stop may be NULL).
 */
void cpu_run_batch(struct emu_cpu *cpu, long max, const atomic_bool *stop);
/* One instruction (for tests). */
void cpu_step(struct emu_cpu *cpu);
uint64_t cpu_get_flags(struct emu_cpu *cpu);

/*
 * state.c: the CPU's registers in a snapshot section (vmm/state.h), with
 * emu.c's wait-for-SIPI state. The load validates everything it reads and
 * changes nothing when it fails (the reason goes to state_fail); version 1
 * has no x87 instruction and data pointers (loaded as zeros).
 */
struct state_writer;
struct state_reader;
void cpu_state_save(struct emu_cpu *cpu, bool wait_sipi,
		    struct state_writer *w);
int cpu_state_load(struct emu_cpu *cpu, bool *wait_sipi, uint32_t version,
		   struct state_reader *r);

/* dcache.c: NULL on allocation failure (the CPU then decodes each time) */
struct dc_block *dcache_create(void);
void dcache_destroy(struct dc_block *dc);

/* excp.c */
_Noreturn void cpu_raise(struct emu_cpu *cpu, int vec, uint32_t err);
_Noreturn void cpu_raise_noerr(struct emu_cpu *cpu, int vec);
_Noreturn void cpu_fatal(struct emu_cpu *cpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Deliver vector through the IDT. soft: INT n (check DPL, RIP is next). */
void cpu_deliver(struct emu_cpu *cpu, int vec, bool has_err, uint32_t err,
		 bool soft, uint64_t next_rip);
bool excp_has_error_code(int vec);
/* A push of size bytes at base + (*sp - size) & sp_mask as the system */
void push_sys(struct emu_cpu *cpu, uint64_t *sp, uint64_t sp_mask,
	      uint64_t base, uint64_t val, unsigned size);
/* Room below sp for n pushes of size bytes on stack ss, else #SS(err) */
void frame_check(struct emu_cpu *cpu, const struct x86_segment *ss,
		 uint64_t sp, uint64_t mask, unsigned n, unsigned size,
		 uint32_t err);
/* *ss: the TSS's stack segment sel for privilege cpl, checked (#TS, #SS) */
void inner_ss(struct emu_cpu *cpu, struct x86_segment *ss, uint16_t sel,
	      unsigned cpl);

/* mmu.c: linear addresses (segment base already added) */
void tlb_flush(struct emu_cpu *cpu, bool global);
void tlb_flush_page(struct emu_cpu *cpu, uint64_t lin);
/*
 * For a translated lookup that missed: the interpreter's fill when it
 * would not fault, and the host address of the access if the entry
 * then allows it directly, else NULL (mmu.c)
 */
uint8_t *tlb_refill(struct emu_cpu *cpu, uint64_t lin, unsigned size,
		    bool write);
enum mem_access { ACC_R, ACC_W, ACC_X };
/*
 * Scalar accesses move 1 to 8 bytes (a uint64_t); wider operands go through
 * mem_read_buf/mem_write_buf. Every scalar entry point asserts it, the
 * inline TLB hit included, since a wider size would overrun the value on
 * the RAM path and be cut to 8 on the MMIO path.
 */
#define MEM_SIZE_OK(size)	((size) - 1u < 8u)

/* Accesses at the CPU's privilege; mem_read/mem_write below inline a TLB hit */
uint64_t mem_read_slow(struct emu_cpu *cpu, uint64_t lin, unsigned size);
void mem_write_slow(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		    unsigned size);

/*
 * Host pointer of size (at most 8) bytes at lin when the TLB already
 * allows the access (perm: TLB_R or TLB_W) and they are RAM in one page.
 */
static inline __attribute__((always_inline)) uint8_t *
tlb_ram(const struct emu_cpu *cpu, uint64_t lin,
			       unsigned size, uint32_t perm)
{
	const struct tlb_entry *e = &cpu->tlb[(lin >> 12) % TLB_SIZE];

	assert(MEM_SIZE_OK(size));
	if (cpu->cpl == 3)
		perm <<= 3;
	if ((((lin + size - 1) & ~0xfffULL) ^ e->tag) & (~0xfffULL | perm))
		return NULL;
	return (uint8_t *)(uintptr_t)(lin + e->addend);
}

/*
 * The host page of lin's page when the TLB lets the CPU run it from RAM
 * at its CPL (what a fetch would find without a walk), else NULL.
 */
static inline const uint8_t *tlb_code_page(const struct emu_cpu *cpu,
					   uint64_t lin)
{
	const struct tlb_entry *e = &cpu->tlb[(lin >> 12) % TLB_SIZE];
	uint64_t need = cpu->cpl == 3 ? TLB_UX : TLB_X;

	if (((lin & ~0xfffULL) ^ e->tag) & (~0xfffULL | need))
		return NULL;
	return tlb_hva(e);
}

/*
 * Move the fetch window to lin's page when the TLB lets the CPU run it
 * from RAM (what a fetch would find without a walk): its host page, or
 * NULL (the window stays)
 */
static inline const uint8_t *tlb_fetch_page(struct emu_cpu *cpu,
					    uint64_t lin)
{
	const uint8_t *page = tlb_code_page(cpu, lin);

	if (page) {
		cpu->fetch_vpn = lin >> 12;
		cpu->fetch_hva = page;
	}
	return page;
}

static inline __attribute__((always_inline)) uint64_t
mem_read(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
	const uint8_t *p = tlb_ram(cpu, lin, size, TLB_R);
	uint64_t v = 0;

	if (!p)
		return mem_read_slow(cpu, lin, size);
	switch (size) {
	case 1: memcpy(&v, p, 1); break;
	case 2: memcpy(&v, p, 2); break;
	case 4: memcpy(&v, p, 4); break;
	case 8: memcpy(&v, p, 8); break;
	default: memcpy(&v, p, size); break;
	}
	return v;
}

/*
 * A store into the code page goes the slow way, which sets dc_stop. The
 * page is compared by host address, so a store through another linear
 * alias of the same physical page counts too.
 */
static inline __attribute__((always_inline)) void
mem_write(struct emu_cpu *cpu, uint64_t lin, uint64_t val, unsigned size)
{
	uint8_t *p = tlb_ram(cpu, lin, size, TLB_W);

	if (!p || p - (lin & 0xfff) == cpu->fetch_hva) {
		mem_write_slow(cpu, lin, val, size);
		return;
	}
	switch (size) {
	case 1: memcpy(p, &val, 1); break;
	case 2: memcpy(p, &val, 2); break;
	case 4: memcpy(p, &val, 4); break;
	case 8: memcpy(p, &val, 8); break;
	default: memcpy(p, &val, size); break;
	}
}
/*
 * An access of size bytes at lin through SS that missed the TLB: #SS(0)
 * when in long mode any of its bytes is non-canonical (a non-canonical
 * address never hits the TLB)
 */
void mem_stack_canonical(struct emu_cpu *cpu, uint64_t lin, unsigned size);

/*
 * A near branch's target in 64-bit code: #GP(0) at the branch when it is
 * not canonical, before the branch changes anything (a CALL pushes
 * nothing), as this host does; a fetch there would fault at the target
 */
static inline void branch_check(struct emu_cpu *cpu, uint64_t target)
{
	if (cpu->code64 && !x86_canonical(target))
		cpu_raise(cpu, EXC_GP, 0);
}

/* mem_read and mem_write of an implicit stack reference */
static inline __attribute__((always_inline)) uint64_t
mem_read_stack(struct emu_cpu *cpu, uint64_t lin, unsigned size)
{
	if (!tlb_ram(cpu, lin, size, TLB_R))
		mem_stack_canonical(cpu, lin, size);
	return mem_read(cpu, lin, size);
}

static inline __attribute__((always_inline)) void
mem_write_stack(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		unsigned size)
{
	if (!tlb_ram(cpu, lin, size, TLB_W))
		mem_stack_canonical(cpu, lin, size);
	mem_write(cpu, lin, val, size);
}

/* Supervisor (implicit) accesses: descriptor tables, TSS, IDT. */
uint64_t mem_read_sys(struct emu_cpu *cpu, uint64_t lin, unsigned size);
void mem_write_sys(struct emu_cpu *cpu, uint64_t lin, uint64_t val,
		   unsigned size);
void mem_read_buf(struct emu_cpu *cpu, uint64_t lin, void *buf, unsigned n);
void mem_write_buf(struct emu_cpu *cpu, uint64_t lin, const void *buf,
		   unsigned n);
/*
 * Host pointer for size bytes at lin, checked for access, or NULL when the
 * range is MMIO or crosses a page (caller falls back to mem_read/write).
 */
void *mem_ptr(struct emu_cpu *cpu, uint64_t lin, unsigned size,
	      enum mem_access acc);
/*
 * Moves the fetch window to lin's page (none outside RAM), CS:RIP's; may
 * fault (#GP beyond CS.limit, #PF)
 */
void fetch_page(struct emu_cpu *cpu, uint64_t lin);
/* The instruction byte at lin, moving the fetch window there */
uint8_t fetch_slow(struct emu_cpu *cpu, uint64_t lin);
/* Physical-address accesses (page walks, pvclock). */
uint64_t phys_read(struct emu_cpu *cpu, uint64_t gpa, unsigned size);
void phys_write(struct emu_cpu *cpu, uint64_t gpa, uint64_t val,
		unsigned size);

/* seg.c */
/*
 * Outside 64-bit mode, whether n bytes at offset off of segment s may be
 * accessed (acc: ACC_R or ACC_W): its limit and type, a null selector
 * (seg_ok); seg_check raises #GP(0), #SS(0) for SS, when not
 */
bool seg_ok(const struct emu_cpu *cpu, int s, uint64_t off, uint64_t n,
	    enum mem_access acc);
/* The limit part alone: off..off+n-1 within sg's (expand-down: above) */
bool seg_in_limit(const struct x86_segment *sg, uint64_t off, uint64_t n);
void seg_check(struct emu_cpu *cpu, int s, uint64_t off, uint64_t n,
	       enum mem_access acc);
void seg_load(struct emu_cpu *cpu, int sreg, uint16_t sel);
void seg_load_real(struct emu_cpu *cpu, int sreg, uint16_t sel);
/* Read the 8 (or 16 for system descriptors in long mode) byte descriptor */
bool seg_read_desc(struct emu_cpu *cpu, uint16_t sel, uint64_t *lo,
		   uint64_t *hi);
void seg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t lo);
/* The byte limit of descriptor lo (scaled by its G bit) */
uint64_t desc_limit(uint64_t lo);
/* Sets the accessed bit of sel's descriptor lo (in memory and in *lo) */
void desc_accessed(struct emu_cpu *cpu, uint16_t sel, uint64_t *lo);
/* #GP(0) unless ip lies in code segment lo (canonical for 64-bit code) */
void far_ip_check(struct emu_cpu *cpu, uint64_t lo, uint64_t ip);
void seg_far_jump(struct emu_cpu *cpu, uint16_t sel, uint64_t off);
void seg_far_call(struct emu_cpu *cpu, uint16_t sel, uint64_t off,
		  int opsize);
void seg_far_ret(struct emu_cpu *cpu, int opsize, uint16_t imm);
void seg_iret(struct emu_cpu *cpu, int opsize);
void seg_load_tr(struct emu_cpu *cpu, uint16_t sel);
void seg_load_ldt(struct emu_cpu *cpu, uint16_t sel);
/*
 * gate.c: a far JMP or CALL (call) to system descriptor sel (lo, hi in
 * IA-32e mode): through a call gate, or the fault hardware raises
 */
void seg_gate_far(struct emu_cpu *cpu, uint16_t sel, uint64_t lo,
		  uint64_t hi, bool call);
void cpu_write_cr(struct emu_cpu *cpu, int n, uint64_t val);
uint64_t cpu_read_cr(struct emu_cpu *cpu, int n);
void cpu_syscall(struct emu_cpu *cpu);
void cpu_sysret(struct emu_cpu *cpu, int opsize);

/* msr.c */
bool msr_read(struct emu_cpu *cpu, uint32_t msr, uint64_t *val);
bool msr_write(struct emu_cpu *cpu, uint32_t msr, uint64_t val);
uint64_t cpu_rdtsc(struct emu_cpu *cpu);

/* cpuid.c */
void cpu_cpuid(struct emu_cpu *cpu, uint32_t leaf, uint32_t sub,
	       uint32_t out[4]);

static inline uint64_t seg_base(struct emu_cpu *cpu, int s)
{
	return cpu->seg[s].base;
}

#endif
