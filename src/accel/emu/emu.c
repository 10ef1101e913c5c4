// SPDX-License-Identifier: MIT
/*
 * The emu accelerator: x86-64 in software behind struct accel_ops.
 *
 * Threads and memory: every vCPU runs the interpreter on its own thread
 * and all of them share guest RAM directly (vm->mem). Plain guest loads
 * and stores are host loads and stores, so the guest sees the host's x86
 * memory ordering (TSO), which is the ordering it expects. LOCK-prefixed
 * and implicitly locked instructions (XCHG, CMPXCHG8B/16B) use __atomic
 * builtins or LOCK CMPXCHG16B on the host pointer, which makes guest
 * spinlocks and atomics correct across vCPU threads. Each CPU keeps its
 * own software TLB; like hardware, a CPU relies on the guest's TLB
 * shootdown IPIs to learn about page-table changes made by others.
 *
 * Waiting: HLT and "wait for SIPI" sleep on a per-vCPU condition
 * variable. The irqchip's wake callback and vcpu_kick signal it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/accel.h"
#include "accel/emu/cpu.h"
#include "accel/emu/dirty.h"
#include "accel/emu/irqchip.h"
#include "accel/emu/jit.h"
#include "accel/emu/jit_stats.h"
#include "accel/emu/tlb_ask.h"
#include "vmm/log.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define EMU_BATCH	200000	/* instructions between kick checks */
/* Format version of the "cpu<id>" and "emu" sections (docs/snapshot.md) */
#define EMU_STATE_VERSION	1
/* "cpu<id>": 2 adds the x87 pointers (FIP, FDP, FCS, FDS, FOP); 1 loads */
#define EMU_CPU_VERSION		2

struct emu_vcpu {
	struct emu_cpu cpu;
	struct vcpu *vcpu;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool kick;
	atomic_bool wake;
	bool wait_sipi;		/* AP before start-up, or after INIT */
};

struct emu_vm {
	struct emu_irqchip chip;
	/* vcpus[] changes under lock: the timer thread may wake a CPU
	 * while the VMM tears vCPUs down. */
	pthread_mutex_t lock;
	struct emu_vcpu *vcpus[MAX_VCPUS];
	struct tlb_ask ask;	/* every vCPU's TLB answers its asks */
	struct emu_dirty dirty;
};

static uint32_t apic_mmio_read(void *a, uint32_t off)
{
	return lapic_mmio_read(a, off);
}

static void apic_mmio_write(void *a, uint32_t off, uint32_t val)
{
	lapic_mmio_write(a, off, val);
}

static bool apic_rdmsr(void *a, uint32_t msr, uint64_t *val)
{
	return lapic_rdmsr(a, msr, val);
}

static bool apic_wrmsr(void *a, uint32_t msr, uint64_t val)
{
	return lapic_wrmsr(a, msr, val);
}

static uint64_t apic_base(void *a)
{
	return lapic_apic_base(a);
}

static uint64_t apic_get_cr8(void *a)
{
	return lapic_get_cr8(a);
}

static void apic_set_cr8(void *a, uint64_t v)
{
	lapic_set_cr8(a, v);
}

static bool apic_maybe_pending(void *a)
{
	return lapic_maybe_pending(a);
}

static int apic_pending_vector(void *a)
{
	return lapic_pending_vector(a);
}

static void apic_accept(void *a, int v)
{
	lapic_accept(a, v);
}

static unsigned apic_take_events(void *a, uint8_t *sipi)
{
	unsigned ev = lapic_take_events(a, sipi);

	return ((ev & LAPIC_EV_INIT) ? CPU_EV_INIT : 0) |
	       ((ev & LAPIC_EV_SIPI) ? CPU_EV_SIPI : 0) |
	       ((ev & LAPIC_EV_NMI) ? CPU_EV_NMI : 0);
}

static const struct emu_apic_ops emu_apic_ops = {
	.mmio_read = apic_mmio_read,
	.mmio_write = apic_mmio_write,
	.rdmsr = apic_rdmsr,
	.wrmsr = apic_wrmsr,
	.apic_base = apic_base,
	.get_cr8 = apic_get_cr8,
	.set_cr8 = apic_set_cr8,
	.maybe_pending = apic_maybe_pending,
	.pending_vector = apic_pending_vector,
	.accept = apic_accept,
	.take_events = apic_take_events,
};

static void emu_signal(struct emu_vcpu *ev, atomic_bool *flag)
{
	pthread_mutex_lock(&ev->lock);
	atomic_store(flag, true);
	pthread_cond_signal(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

static void emu_wake(void *opaque, int cpu)
{
	struct emu_vm *evm = opaque;

	if (cpu < 0 || cpu >= MAX_VCPUS)
		return;
	pthread_mutex_lock(&evm->lock);
	if (evm->vcpus[cpu])
		emu_signal(evm->vcpus[cpu], &evm->vcpus[cpu]->wake);
	pthread_mutex_unlock(&evm->lock);
}

static int emu_vm_init(struct vm *vm)
{
	struct emu_vm *evm = calloc(1, sizeof(*evm));
	int ret;

	if (!evm)
		return -ENOMEM;
	pthread_mutex_init(&evm->lock, NULL);
	ret = emu_irqchip_init(&evm->chip, vm, vm->nr_vcpus, emu_wake, evm);
	if (ret) {
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "emu: cannot create interrupt controllers: %s",
			 strerror(-ret));
		pthread_mutex_destroy(&evm->lock);
		free(evm);
		return ret;
	}
	tlb_ask_init(&evm->ask);
	emu_dirty_init(&evm->dirty, &evm->ask, vm->mem.mapping,
		       vm->mem.mapping_size);
	/*
	 * Translated blocks check their page's code generation; without
	 * them (no memory for them) they compare their bytes
	 */
	if (vm->cfg && vm->cfg->emu_jit != EMU_JIT_OFF &&
	    guest_mem_code_start(&vm->mem))
		log_warn("emu: no code page tracking; translated blocks "
			 "compare their bytes");
	vm->accel_data = evm;
	return 0;
}

static void emu_vm_destroy(struct vm *vm)
{
	struct emu_vm *evm = vm->accel_data;

	if (!evm)
		return;
	emu_irqchip_destroy(&evm->chip);
	emu_dirty_destroy(&evm->dirty);
	tlb_ask_destroy(&evm->ask);
	pthread_mutex_destroy(&evm->lock);
	free(evm);
	vm->accel_data = NULL;
}

static int emu_vcpu_init(struct vcpu *vcpu)
{
	struct emu_vm *evm = vcpu->vm->accel_data;
	struct emu_vcpu *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	ev->vcpu = vcpu;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	cpu_reset(&ev->cpu, vcpu->vm, vcpu->id);
	ev->cpu.dcache = dcache_create();
	/* the translator unless --accel emu,jit=off (docs/emu-jit.md) */
	if (vcpu->vm->cfg && vcpu->vm->cfg->emu_jit != EMU_JIT_OFF) {
		ev->cpu.jit = jit_create();
		jit_stats_init();
	}
	ev->cpu.apic = evm->chip.lapics[vcpu->id];
	ev->cpu.apic_ops = &emu_apic_ops;
	lapic_hint_flags(ev->cpu.apic, &ev->cpu.irq_hint, &ev->cpu.irq_extint);
	ev->cpu.clock_offset = &evm->chip.clock_offset;
	ev->wait_sipi = vcpu->id != 0;
	tlb_ask_add_cpu(&evm->ask, &ev->cpu);
	vcpu->accel_data = ev;
	pthread_mutex_lock(&evm->lock);
	evm->vcpus[vcpu->id] = ev;
	pthread_mutex_unlock(&evm->lock);
	return 0;
}

static void emu_vcpu_destroy(struct vcpu *vcpu)
{
	struct emu_vm *evm = vcpu->vm->accel_data;
	struct emu_vcpu *ev = vcpu->accel_data;

	if (!ev)
		return;
	if (evm) {
		pthread_mutex_lock(&evm->lock);
		evm->vcpus[vcpu->id] = NULL;
		pthread_mutex_unlock(&evm->lock);
		tlb_ask_del_cpu(&evm->ask, &ev->cpu);
	}
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
	dcache_destroy(ev->cpu.dcache);
	jit_destroy(ev->cpu.jit);
	free(ev);
	vcpu->accel_data = NULL;
}

static int emu_get_regs(struct vcpu *vcpu, struct x86_regs *r)
{
	struct emu_cpu *c = &((struct emu_vcpu *)vcpu->accel_data)->cpu;

	*r = (struct x86_regs){
		.rax = c->gpr[0], .rcx = c->gpr[1], .rdx = c->gpr[2],
		.rbx = c->gpr[3], .rsp = c->gpr[4], .rbp = c->gpr[5],
		.rsi = c->gpr[6], .rdi = c->gpr[7], .r8 = c->gpr[8],
		.r9 = c->gpr[9], .r10 = c->gpr[10], .r11 = c->gpr[11],
		.r12 = c->gpr[12], .r13 = c->gpr[13], .r14 = c->gpr[14],
		.r15 = c->gpr[15], .rip = c->rip, .rflags = cpu_get_flags(c),
	};
	return 0;
}

static int emu_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	struct emu_cpu *c = &((struct emu_vcpu *)vcpu->accel_data)->cpu;
	const uint64_t g[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp,
				 r->rbp, r->rsi, r->rdi, r->r8, r->r9, r->r10,
				 r->r11, r->r12, r->r13, r->r14, r->r15 };

	memcpy(c->gpr, g, sizeof(g));
	c->rip = r->rip;
	c->rflags = r->rflags | 2;
	return 0;
}

static int emu_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	struct emu_cpu *c = &((struct emu_vcpu *)vcpu->accel_data)->cpu;

	memset(s, 0, sizeof(*s));
	s->es = c->seg[SEG_ES];
	s->cs = c->seg[SEG_CS];
	s->ss = c->seg[SEG_SS];
	s->ds = c->seg[SEG_DS];
	s->fs = c->seg[SEG_FS];
	s->gs = c->seg[SEG_GS];
	s->tr = c->tr;
	s->ldt = c->ldt;
	s->gdt = c->gdt;
	s->idt = c->idt;
	s->cr0 = c->cr0;
	s->cr2 = c->cr2;
	s->cr3 = c->cr3;
	s->cr4 = c->cr4;
	s->efer = c->efer;
	s->cr8 = c->apic ? lapic_get_cr8(c->apic) : c->cr8;
	s->apic_base = c->apic ? lapic_apic_base(c->apic) : 0;
	return 0;
}

static int emu_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	struct emu_cpu *c = &((struct emu_vcpu *)vcpu->accel_data)->cpu;

	c->seg[SEG_ES] = s->es;
	c->seg[SEG_CS] = s->cs;
	c->seg[SEG_SS] = s->ss;
	c->seg[SEG_DS] = s->ds;
	c->seg[SEG_FS] = s->fs;
	c->seg[SEG_GS] = s->gs;
	c->tr = s->tr;
	c->ldt = s->ldt;
	c->gdt = s->gdt;
	c->idt = s->idt;
	c->cr0 = s->cr0;
	c->cr2 = s->cr2;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	c->efer = s->efer;
	if ((c->efer & X86_EFER_LME) && (c->cr0 & X86_CR0_PG))
		c->efer |= X86_EFER_LMA;
	c->cs_real = false;
	tlb_flush(c, true);
	cpu_update_mode(c);
	return 0;
}

/* INIT: the CPU resets and waits for a start-up IPI. */
static void emu_do_init(struct emu_vcpu *ev)
{
	struct emu_cpu *c = &ev->cpu;
	void *apic = c->apic;
	struct dc_block *dc = c->dcache;
	struct jit *jit = c->jit;
	const atomic_bool *hint = c->irq_hint, *extint = c->irq_extint;
	const _Atomic int64_t *clock = c->clock_offset;
	struct tlb_ask *ask = c->ask;

	cpu_reset(c, ev->vcpu->vm, ev->vcpu->id);
	c->ask = ask;
	c->dcache = dc;
	c->jit = jit;
	c->apic = apic;
	c->apic_ops = &emu_apic_ops;
	c->irq_hint = hint;
	c->irq_extint = extint;
	c->clock_offset = clock;
	ev->wait_sipi = true;
}

/* SIPI: real mode at vector:0000 (SDM vol. 3, 8.4.4) */
static void emu_do_sipi(struct emu_vcpu *ev, uint8_t vector)
{
	struct emu_cpu *c = &ev->cpu;

	c->seg[SEG_CS].selector = (uint16_t)vector << 8;
	c->seg[SEG_CS].base = (uint64_t)vector << 12;
	c->rip = 0;
	c->halted = false;
	ev->wait_sipi = false;
	cpu_update_mode(c);
}

static void emu_handle_events(struct emu_vcpu *ev, unsigned events,
			      uint8_t vector)
{
	if (events & CPU_EV_INIT)
		emu_do_init(ev);
	if ((events & CPU_EV_SIPI) && ev->wait_sipi)
		emu_do_sipi(ev, vector);
}

/* Sleep until woken or kicked; a bounded wait guards against lost wakes */
static void emu_sleep(struct emu_vcpu *ev)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&ev->lock);
	while (!atomic_load(&ev->wake) && !atomic_load(&ev->kick))
		if (pthread_cond_timedwait(&ev->cond, &ev->lock, &ts))
			break;
	pthread_mutex_unlock(&ev->lock);
}

static int emu_vcpu_run(struct vcpu *vcpu, struct vcpu_exit *exit)
{
	struct emu_vcpu *ev = vcpu->accel_data;
	struct emu_cpu *c = &ev->cpu;

	memset(exit, 0, sizeof(*exit));
	for (;;) {
		if (atomic_exchange(&ev->kick, false)) {
			exit->reason = VCPU_EXIT_KICKED;
			exit->rip = c->rip;
			return 0;
		}
		if (c->events) {
			emu_handle_events(ev, c->events, c->sipi_vector);
			c->events = 0;
		}
		if (ev->wait_sipi) {
			uint8_t vec = 0;
			unsigned e;

			atomic_store(&ev->wake, false);
			e = apic_take_events(c->apic, &vec);
			if (e) {
				emu_handle_events(ev, e, vec);
				continue;
			}
			emu_sleep(ev);
			continue;
		}
		if (c->halted) {
			atomic_store(&ev->wake, false);
			cpu_run_batch(c, 1, NULL);	/* polls interrupts */
			if (c->halted && !c->events)
				emu_sleep(ev);
			continue;
		}
		cpu_run_batch(c, EMU_BATCH, &ev->kick);
		if (c->shutdown) {
			exit->reason = VCPU_EXIT_SHUTDOWN;
			exit->rip = c->rip;
			return 0;
		}
		if (c->error[0]) {
			exit->reason = VCPU_EXIT_ERROR;
			exit->rip = c->insn_rip;
			snprintf(exit->detail, sizeof(exit->detail), "emu: %.150s",
				 c->error);
			c->error[0] = 0;
			return 0;
		}
	}
}

static void emu_vcpu_kick(struct vcpu *vcpu)
{
	struct emu_vcpu *ev = vcpu->accel_data;

	if (ev)
		emu_signal(ev, &ev->kick);
}

static int emu_set_irq(struct vm *vm, unsigned gsi, int level)
{
	struct emu_vm *evm = vm->accel_data;

	emu_irqchip_set_irq(&evm->chip, gsi, level);
	return 0;
}

static int emu_send_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct emu_vm *evm = vm->accel_data;

	emu_irqchip_send_msi(&evm->chip, addr, data);
	return 0;
}

/* "cpu<id>": the CPU's registers (state.c), then its LAPIC. */
static int emu_vcpu_save(struct vcpu *vcpu, struct state_writer *w)
{
	struct emu_vcpu *ev = vcpu->accel_data;

	state_section_begin(w, EMU_CPU_VERSION, "cpu%d", vcpu->id);
	cpu_state_save(&ev->cpu, ev->wait_sipi, w);
	lapic_save(ev->cpu.apic, w);
	state_section_end(w);
	return 0;
}

static int emu_vcpu_load(struct vcpu *vcpu, struct state_reader *r,
			 uint32_t version)
{
	struct emu_vcpu *ev = vcpu->accel_data;
	int ret;

	if (version < 1 || version > EMU_CPU_VERSION)
		return state_fail(r, "cpu%d: emu state version %u, this "
				  "cvisor reads 1 to %u", vcpu->id, version,
				  EMU_CPU_VERSION);
	ret = cpu_state_load(&ev->cpu, &ev->wait_sipi, version, r);
	if (ret)
		return ret;
	ret = lapic_load(ev->cpu.apic, r);
	if (ret)
		return ret;
	if (state_remaining(r))
		return state_fail(r, "cpu%d: %zu bytes past the emu CPU state",
				  vcpu->id, state_remaining(r));
	return 0;
}

/* "emu": guest time and the VM-wide interrupt controllers and PIT. */
static int emu_vm_save(struct vm *vm, struct state_writer *w)
{
	struct emu_vm *evm = vm->accel_data;

	state_section_begin(w, EMU_STATE_VERSION, "emu");
	emu_irqchip_save(&evm->chip, w);
	state_section_end(w);
	return 0;
}

static int emu_vm_load(struct vm *vm, struct state_reader *r,
		       uint32_t version)
{
	struct emu_vm *evm = vm->accel_data;
	int ret;

	if (version != EMU_STATE_VERSION)
		return state_fail(r, "emu: state version %u, this cvisor "
				  "reads %u", version, EMU_STATE_VERSION);
	ret = emu_irqchip_load(&evm->chip, r);
	if (ret)
		return ret;
	if (state_remaining(r))
		return state_fail(r, "emu: %zu bytes past the VM state",
				  state_remaining(r));
	return 0;
}

static int emu_dirty_log_start(struct vm *vm)
{
	struct emu_vm *evm = vm->accel_data;

	return emu_dirty_start(&evm->dirty);
}

static int emu_dirty_log_sync(struct vm *vm, uint64_t *bitmap)
{
	struct emu_vm *evm = vm->accel_data;

	return emu_dirty_sync(&evm->dirty, bitmap);
}

static void emu_dirty_log_stop(struct vm *vm)
{
	struct emu_vm *evm = vm->accel_data;

	emu_dirty_stop(&evm->dirty);
}

const struct accel_ops emu_accel_ops = {
	.name = "emu",
	.vm_init = emu_vm_init,
	.vm_destroy = emu_vm_destroy,
	.vcpu_init = emu_vcpu_init,
	.vcpu_destroy = emu_vcpu_destroy,
	.get_regs = emu_get_regs,
	.set_regs = emu_set_regs,
	.get_sregs = emu_get_sregs,
	.set_sregs = emu_set_sregs,
	.vcpu_run = emu_vcpu_run,
	.vcpu_kick = emu_vcpu_kick,
	.set_irq = emu_set_irq,
	.send_msi = emu_send_msi,
	.vcpu_save = emu_vcpu_save,
	.vcpu_load = emu_vcpu_load,
	.vm_save = emu_vm_save,
	.vm_load = emu_vm_load,
	.dirty_log_start = emu_dirty_log_start,
	.dirty_log_sync = emu_dirty_log_sync,
	.dirty_log_stop = emu_dirty_log_stop,
};
