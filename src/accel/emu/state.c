// SPDX-License-Identifier: MIT
/*
 * The software CPU's architectural state in a snapshot: the first part of
 * the "cpu<id>" section (emu.c adds the LAPIC after it, lapic_state.c).
 * Everything the next instruction depends on is written; what is derived
 * or cached is not: the mode (cpu_update_mode), the TLB (flushed on load)
 * and the decode cache (its blocks compare their bytes with guest memory
 * on every hit, so a block decoded before the load is never used on
 * changed code). Lazy flags never outlive dcache_run (lflags.h), so the
 * RFLAGS saved here are complete. docs/snapshot.md lists the fields.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/cpu.h"
#include "accel/state_read.h"

/* Every RFLAGS bit a CPU can hold: reserved ones must be 0, bit 1 is 1. */
#define FL_VIF		0x80000u
#define FL_VIP		0x100000u
#define FL_DEFINED	(FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | \
			 FL_RF | FL_VM | FL_AC | FL_VIF | FL_VIP | FL_ID | 2u)
#define EFER_DEFINED	(X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | \
			 X86_EFER_NXE)
#define MXCSR_DEFINED	0xffffu

static void put_seg(struct state_writer *w, const struct x86_segment *s)
{
	STATE_PUT_SEGMENT(w, s);
}

static void get_seg(struct state_reader *r, struct x86_segment *s, int *err)
{
	SREAD_SEGMENT(r, s, err);
}

/* The segment registers in the order they are written. */
static struct x86_segment *cpu_seg(struct emu_cpu *c, int i)
{
	return i < 6 ? &c->seg[i] : i == 6 ? &c->tr : &c->ldt;
}

static const char *const seg_names[8] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "TR", "LDTR",
};

void cpu_state_save(struct emu_cpu *c, bool wait_sipi, struct state_writer *w)
{
	for (int i = 0; i < 16; i++)
		state_put_u64(w, c->gpr[i]);
	state_put_u64(w, c->rip);
	state_put_u64(w, cpu_get_flags(c));
	for (int i = 0; i < 8; i++)
		put_seg(w, cpu_seg(c, i));
	state_put_u64(w, c->gdt.base);
	state_put_u16(w, c->gdt.limit);
	state_put_u64(w, c->idt.base);
	state_put_u16(w, c->idt.limit);
	state_put_u64(w, c->cr0);
	state_put_u64(w, c->cr2);
	state_put_u64(w, c->cr3);
	state_put_u64(w, c->cr4);
	state_put_u64(w, c->efer);
	state_put_u64(w, c->cr8);
	for (int i = 0; i < 8; i++)
		state_put_u64(w, c->dr[i]);

	state_put_u64(w, c->star);
	state_put_u64(w, c->lstar);
	state_put_u64(w, c->cstar);
	state_put_u64(w, c->sfmask);
	state_put_u64(w, c->kernel_gs_base);
	state_put_u64(w, c->tsc_aux);
	state_put_u64(w, c->sysenter_cs);
	state_put_u64(w, c->sysenter_esp);
	state_put_u64(w, c->sysenter_eip);
	state_put_u64(w, c->pat);
	state_put_u64(w, c->misc_enable);
	state_put_u64(w, c->tsc_adjust);
	state_put_u64(w, c->kvm_system_time);
	state_put_u64(w, c->kvm_wall_clock);

	for (int i = 0; i < 16; i++)
		state_put(w, c->xmm[i].b, 16);
	state_put_u32(w, c->mxcsr);
	state_put_u16(w, c->fcw);
	state_put_u16(w, c->fsw);
	state_put_u16(w, c->ftw);
	state_put(w, c->fpr, sizeof(c->fpr));

	state_put_u8(w, c->halted);
	state_put_u8(w, c->shadow);
	state_put_u8(w, c->nmi_blocked);
	state_put_u8(w, c->nmi_pending);
	state_put_u8(w, wait_sipi);
	state_put_u8(w, c->events);
	state_put_u8(w, c->sipi_vector);
	/* version 2: the x87 last instruction and data pointers, opcode */
	state_put_u64(w, c->fip);
	state_put_u64(w, c->fdp);
	state_put_u16(w, c->fcs);
	state_put_u16(w, c->fds);
	state_put_u16(w, c->fop);
}

static void get_regs(struct state_reader *r, struct emu_cpu *c,
		     bool *wait_sipi, uint32_t version, int *err)
{
	for (int i = 0; i < 16; i++)
		c->gpr[i] = sread_u64(r, err);
	c->rip = sread_u64(r, err);
	c->rflags = sread_u64(r, err);
	for (int i = 0; i < 8; i++)
		get_seg(r, cpu_seg(c, i), err);
	c->gdt.base = sread_u64(r, err);
	c->gdt.limit = sread_u16(r, err);
	c->idt.base = sread_u64(r, err);
	c->idt.limit = sread_u16(r, err);
	c->cr0 = sread_u64(r, err);
	c->cr2 = sread_u64(r, err);
	c->cr3 = sread_u64(r, err);
	c->cr4 = sread_u64(r, err);
	c->efer = sread_u64(r, err);
	c->cr8 = sread_u64(r, err);
	for (int i = 0; i < 8; i++)
		c->dr[i] = sread_u64(r, err);

	c->star = sread_u64(r, err);
	c->lstar = sread_u64(r, err);
	c->cstar = sread_u64(r, err);
	c->sfmask = sread_u64(r, err);
	c->kernel_gs_base = sread_u64(r, err);
	c->tsc_aux = sread_u64(r, err);
	c->sysenter_cs = sread_u64(r, err);
	c->sysenter_esp = sread_u64(r, err);
	c->sysenter_eip = sread_u64(r, err);
	c->pat = sread_u64(r, err);
	c->misc_enable = sread_u64(r, err);
	c->tsc_adjust = sread_u64(r, err);
	c->kvm_system_time = sread_u64(r, err);
	c->kvm_wall_clock = sread_u64(r, err);

	for (int i = 0; i < 16; i++)
		sread(r, c->xmm[i].b, 16, err);
	c->mxcsr = sread_u32(r, err);
	c->fcw = sread_u16(r, err);
	c->fsw = sread_u16(r, err);
	c->ftw = sread_u16(r, err);
	sread(r, c->fpr, sizeof(c->fpr), err);

	c->halted = sread_bool(r, err);
	c->shadow = sread_bool(r, err);
	c->nmi_blocked = sread_bool(r, err);
	c->nmi_pending = sread_bool(r, err);
	*wait_sipi = sread_bool(r, err);
	c->events = sread_u8(r, err);
	c->sipi_vector = sread_u8(r, err);
	c->fip = c->fdp = 0;
	c->fcs = c->fds = c->fop = 0;
	if (version >= 2) {
		c->fip = sread_u64(r, err);
		c->fdp = sread_u64(r, err);
		c->fcs = sread_u16(r, err);
		c->fds = sread_u16(r, err);
		c->fop = sread_u16(r, err);
	}
}

/*
 * What the interpreter takes for granted about a CPU it runs: the
 * combinations of mode bits a guest cannot reach through instructions.
 * Returns what is wrong, or NULL.
 */
static const char *check_cpu(struct emu_cpu *c, char *buf, size_t len)
{
	bool lma = c->efer & X86_EFER_LMA;
	const struct x86_segment *cs = &c->seg[SEG_CS];

	for (int i = 0; i < 8; i++) {
		const struct x86_segment *s = cpu_seg(c, i);

		if (s->type > 15 || s->dpl > 3 || !x86_canonical(s->base)) {
			snprintf(buf, len, "%s: type %u, DPL %u or base %#llx "
				 "out of range", seg_names[i], s->type, s->dpl,
				 (unsigned long long)s->base);
			return buf;
		}
	}
	if ((c->rflags & ~(uint64_t)FL_DEFINED) || !(c->rflags & 2))
		return "RFLAGS has reserved bits wrong";
	if (c->cr0 >> 32 || !(c->cr0 & X86_CR0_ET))
		return "CR0 has reserved bits wrong";
	if ((c->cr0 & X86_CR0_PG) && !(c->cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	if (c->efer & ~(uint64_t)EFER_DEFINED)
		return "EFER has reserved bits set";
	if (lma != ((c->efer & X86_EFER_LME) && (c->cr0 & X86_CR0_PG)))
		return "EFER.LMA does not match EFER.LME and CR0.PG";
	if (lma && !(c->cr4 & X86_CR4_PAE))
		return "long mode without CR4.PAE";
	if (lma && cs->l && cs->db)
		return "CS has both L and D/B set in long mode";
	if ((c->rflags & FL_VM) && (lma || !(c->cr0 & X86_CR0_PE)))
		return "RFLAGS.VM outside protected mode";
	if (lma && cs->l ? !x86_canonical(c->rip) : c->rip >> 32)
		return "RIP out of range for the code segment";
	if (!x86_canonical(c->gdt.base) || !x86_canonical(c->idt.base))
		return "GDTR or IDTR base not canonical";
	if (!x86_canonical(c->lstar) || !x86_canonical(c->cstar) ||
	    !x86_canonical(c->kernel_gs_base))
		return "LSTAR, CSTAR or KERNEL_GS_BASE not canonical";
	if (c->sfmask >> 32 || c->tsc_aux >> 32)
		return "SFMASK or TSC_AUX wider than 32 bits";
	if (c->mxcsr & ~MXCSR_DEFINED)
		return "MXCSR has reserved bits set";
	if (c->fop > 0x7ff)
		return "x87 FOP wider than 11 bits";
	if (c->events & ~(CPU_EV_INIT | CPU_EV_SIPI))
		return "unknown pending CPU events";
	return NULL;
}

int cpu_state_load(struct emu_cpu *cpu, bool *wait_sipi, uint32_t version,
		   struct state_reader *r)
{
	struct emu_cpu *c = malloc(sizeof(*c));
	const char *bad;
	char buf[96];
	bool sipi;
	int err = 0;

	if (!c)
		return state_fail(r, "cpu%d: out of memory", cpu->id);
	*c = *cpu;
	get_regs(r, c, &sipi, version, &err);
	if (err) {
		free(c);
		return state_fail(r, "cpu%d: %s", cpu->id, sread_error(err));
	}
	bad = check_cpu(c, buf, sizeof(buf));
	if (bad) {
		free(c);
		return state_fail(r, "cpu%d: %s", cpu->id, bad);
	}
	/* Between instructions: nothing is being delivered or unwound. */
	c->delivering = -1;
	c->shutdown = false;
	c->error[0] = 0;
	*cpu = *c;
	free(c);
	*wait_sipi = sipi;
	tlb_flush(cpu, true);
	cpu_update_mode(cpu);
	return 0;
}
