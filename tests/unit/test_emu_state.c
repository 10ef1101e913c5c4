// SPDX-License-Identifier: MIT
/*
 * The emu accelerator's snapshot sections: a CPU, its LAPIC and the
 * VM-wide controllers saved from one VM and loaded into a fresh one come
 * back the same; guest time and an armed LAPIC timer go on from the save;
 * short, long and inconsistent sections are refused with a message.
 */
#include <stddef.h>
#include <time.h>

#include "accel/emu/cpu.h"
#include "accel/emu/irqchip.h"
#include "accel/emu/tsc.h"
#include "accel_state.h"
#include "test.h"
#include "vmm/bus.h"

/* Section layout (docs/snapshot.md): where the tests below poke. */
#define CPU_RFLAGS	136
#define CPU_SEG(i)	(144 + 23 * (i))	/* ES CS SS DS FS GS TR LDTR */
#define SEG_TYPE	14
#define CPU_RIP		128
#define CPU_EFER	380
#define CPU_MXCSR	828
#define CPU_HALTED	918
#define CPU_X87_PTRS	925			/* version 2: FIP FDP FCS FDS FOP */
#define CPU_FOP		(CPU_X87_PTRS + 20)
#define CPU_REGS_LEN	947			/* then the LAPIC */
#define LAPIC_NOW	(CPU_REGS_LEN + 0)
#define LAPIC_ID	(CPU_REGS_LEN + 16)
#define LAPIC_LVT_TIMER	(CPU_REGS_LEN + 52)
#define CPU_LEN		(CPU_REGS_LEN + 207)
#define EMU_IOAPIC_LINES 16
#define EMU_PIC_BASE	217			/* master's ICW2 */
#define EMU_PIT_MODE	244			/* channel 0 */
#define EMU_PIT_COUNT	247
#define EMU_LEN		362

#define IOAPIC_BASE	0xfec00000ull
#define MS		1000000ull

static struct vm *machine_new(int nr_cpus)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm || guest_mem_init(&vm->mem, 32 << 20, NULL))
		abort();
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->nr_vcpus = nr_cpus;
	vm->accel = &emu_accel_ops;
	CHECK_EQ(vm->accel->vm_init(vm), 0);
	for (int i = 0; i < nr_cpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
		CHECK_EQ(vm->accel->vcpu_init(&vm->vcpus[i]), 0);
	}
	return vm;
}

static void machine_free(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++)
		vm->accel->vcpu_destroy(&vm->vcpus[i]);
	vm->accel->vm_destroy(vm);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	free(vm);
}

/* emu.c's per-vCPU data begins with its struct emu_cpu. */
static struct emu_cpu *cpu_of(struct vm *vm, int i)
{
	return vm->vcpus[i].accel_data;
}

static struct lapic *apic_of(struct vm *vm, int i)
{
	return cpu_of(vm, i)->apic;
}

static uint64_t load_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Two saves of one state differ only in the guest time they were made. */
static bool same_but_time(const struct blob *a, const struct blob *b,
			  size_t time_off)
{
	return a->n == b->n && a->n >= time_off + 8 &&
	       !memcmp(a->p, b->p, time_off) &&
	       !memcmp(a->p + time_off + 8, b->p + time_off + 8,
		       a->n - time_off - 8);
}

static bool load_ok(struct vm *vm, struct vcpu *vcpu, const struct blob *b)
{
	char err[256];
	int ret = blob_load(vm, vcpu, b, err, sizeof(err));

	if (ret)
		printf("  load of %s: %s\n", b->name, err);
	return ret == 0;
}

static void setup_long_mode_cpu(struct emu_cpu *c)
{
	for (int i = 0; i < 16; i++)
		c->gpr[i] = 0x0101010101010101ull * (i + 1);
	c->rip = 0xffffffff81000123ull;
	c->rflags = 0x2 | FL_CF | FL_ZF | FL_IF | FL_AC;
	c->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		 X86_CR0_WP | X86_CR0_PG;
	c->cr2 = 0x7fff12345000ull;
	c->cr3 = 0x123000;
	c->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | CR4_PGE | CR4_OSXMMEXCPT;
	c->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	c->seg[SEG_CS] = (struct x86_segment){ .selector = 0x10, .type = 0xb,
		.present = 1, .s = 1, .l = 1, .g = 1, .limit = 0xffffffff };
	c->seg[SEG_SS] = (struct x86_segment){ .selector = 0x18, .type = 3,
		.present = 1, .s = 1, .db = 1, .g = 1, .limit = 0xffffffff };
	c->seg[SEG_GS].base = 0xffff888000001000ull;
	c->tr = (struct x86_segment){ .selector = 0x40, .type = 0xb,
		.present = 1, .base = 0xfffffe0000003000ull, .limit = 0x4087 };
	c->gdt = (struct x86_dtable){ 0xfffffe0000001000ull, 0x7f };
	c->idt = (struct x86_dtable){ 0xfffffe0000000000ull, 0xfff };
	c->dr[0] = 0x1000;
	c->dr[7] = 0x401;
	c->star = 0x0023001000000000ull;
	c->lstar = 0xffffffff81a00000ull;
	c->sfmask = 0x47700;
	c->kernel_gs_base = 0x7f0000001000ull;
	c->tsc_aux = 3;
	c->sysenter_cs = 0x10;
	c->pat = 0x0407050600070106ull;
	c->kvm_system_time = 0x5001;
	for (int i = 0; i < 16; i++)
		memset(c->xmm[i].b, 0x30 + i, 16);
	c->mxcsr = 0x1fa0;
	c->fcw = 0x27f;
	c->fsw = 0x3800;
	c->ftw = 0xfff0;
	for (int i = 0; i < 8; i++)
		memset(c->fpr[i], 0x70 + i, 10);
	c->nmi_blocked = true;
	c->halted = true;
	c->sipi_vector = 0x9a;
	tlb_flush(c, true);
	cpu_update_mode(c);
}

static void test_cpu_roundtrip(void)
{
	struct vm *a = machine_new(2), *b = machine_new(2);
	struct emu_cpu *ca = cpu_of(a, 0), *cb = cpu_of(b, 0);
	struct blob cpu0, cpu1, vm, again;
	struct x86_regs ra, rb;
	struct x86_sregs sa, sb;

	setup_long_mode_cpu(ca);
	ca->fip = 0xffffffff81001234ull;
	ca->fdp = 0x7ffc12345678ull;
	ca->fcs = 0x10;
	ca->fds = 0x2b;
	ca->fop = 0x5c1;
	lapic_mmio_write(apic_of(a, 0), 0xf0, 0x1ff);	/* SVR: enabled */
	lapic_mmio_write(apic_of(a, 0), 0x80, 0x20);	/* TPR */
	CHECK_EQ(a->accel->send_msi(a, 0xfee00000, 0x45), 0);
	blob_save(a, &a->vcpus[0], &cpu0);
	blob_save(a, &a->vcpus[1], &cpu1);
	blob_save(a, NULL, &vm);
	CHECK_EQ(cpu0.n, CPU_LEN);
	CHECK_EQ(vm.n, EMU_LEN);
	CHECK(!strcmp(cpu0.name, "cpu0") && !strcmp(cpu1.name, "cpu1"));
	CHECK(!strcmp(vm.name, "emu"));

	CHECK(load_ok(b, NULL, &vm));
	CHECK(load_ok(b, &b->vcpus[0], &cpu0));
	CHECK(load_ok(b, &b->vcpus[1], &cpu1));

	a->accel->get_regs(&a->vcpus[0], &ra);
	b->accel->get_regs(&b->vcpus[0], &rb);
	CHECK(!memcmp(&ra, &rb, sizeof(ra)));
	a->accel->get_sregs(&a->vcpus[0], &sa);
	b->accel->get_sregs(&b->vcpus[0], &sb);
	CHECK(same_sregs(&sa, &sb));
	CHECK(!memcmp(ca->xmm, cb->xmm, sizeof(ca->xmm)));
	CHECK(!memcmp(ca->fpr, cb->fpr, sizeof(ca->fpr)));
	CHECK_EQ(cb->fip, ca->fip);
	CHECK_EQ(cb->fdp, ca->fdp);
	CHECK_EQ(cb->fcs, 0x10);
	CHECK_EQ(cb->fds, 0x2b);
	CHECK_EQ(cb->fop, 0x5c1);
	CHECK_EQ(cb->lstar, ca->lstar);
	CHECK_EQ(cb->kernel_gs_base, ca->kernel_gs_base);
	CHECK(cb->halted && cb->nmi_blocked && cb->code64 && cb->lma);
	CHECK_EQ(cb->cpl, 0);
	/* The IPI that was pending is pending again, above the TPR. */
	CHECK_EQ(lapic_pending_vector(apic_of(b, 0)), 0x45);

	/* Everything else: saving the copy gives the same bytes. */
	blob_save(b, &b->vcpus[0], &again);
	CHECK(same_but_time(&cpu0, &again, LAPIC_NOW));
	blob_free(&again);
	blob_save(b, &b->vcpus[1], &again);
	CHECK(same_but_time(&cpu1, &again, LAPIC_NOW));
	blob_free(&again);
	blob_save(b, NULL, &again);
	CHECK(same_but_time(&vm, &again, 0));
	blob_free(&again);

	blob_free(&cpu0);
	blob_free(&cpu1);
	blob_free(&vm);
	machine_free(a);
	machine_free(b);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Host ns until the LAPIC has an interrupt, or 0 after timeout_ms. */
static uint64_t wait_irq(struct lapic *apic, unsigned timeout_ms)
{
	uint64_t start = emu_monotonic_ns();

	while (!lapic_maybe_pending(apic)) {
		if (emu_monotonic_ns() - start > timeout_ms * MS)
			return 0;
		sleep_ms(1);
	}
	return emu_monotonic_ns() - start;
}

/*
 * A timer with 300 ms to go at the save, restored 400 ms of host time
 * later: the guest's TSC goes on from the saved value and the timer fires
 * 300 ms after the load, not at once. vm_first: the order of the loads.
 */
static void timer_survives(bool tsc_deadline, bool vm_first)
{
	struct vm *a = machine_new(1), *b;
	struct lapic *apic = apic_of(a, 0);
	struct blob cpu, vm;
	uint64_t tsc_a, tsc_b, waited;

	lapic_mmio_write(apic, 0xf0, 0x1ff);
	if (tsc_deadline) {
		lapic_mmio_write(apic, 0x320, 2u << 17 | 0x41);
		tsc_a = cpu_rdtsc(cpu_of(a, 0));
		CHECK(lapic_wrmsr(apic, LAPIC_MSR_TSC_DEADLINE,
				  tsc_a + 300 * MS * EMU_TSC_PER_NS));
	} else {
		lapic_mmio_write(apic, 0x3e0, 0xb);	/* divide by 1 */
		lapic_mmio_write(apic, 0x320, 0x41);	/* one-shot */
		lapic_mmio_write(apic, 0x380, 300 * MS);
	}
	tsc_a = cpu_rdtsc(cpu_of(a, 0));
	blob_save(a, &a->vcpus[0], &cpu);
	blob_save(a, NULL, &vm);
	machine_free(a);
	sleep_ms(400);

	b = machine_new(1);
	apic = apic_of(b, 0);
	if (vm_first)
		CHECK(load_ok(b, NULL, &vm));
	CHECK(load_ok(b, &b->vcpus[0], &cpu));
	if (!vm_first)
		CHECK(load_ok(b, NULL, &vm));
	tsc_b = cpu_rdtsc(cpu_of(b, 0));
	CHECK(tsc_b > tsc_a);
	CHECK(tsc_b - tsc_a < 100 * MS * EMU_TSC_PER_NS);
	CHECK(!lapic_maybe_pending(apic));
	if (!tsc_deadline)
		CHECK(lapic_mmio_read(apic, 0x390) > 150 * MS);	/* TMCCT */
	waited = wait_irq(apic, 2000);
	CHECK(waited > 150 * MS);
	CHECK(waited < 1000 * MS);
	CHECK_EQ(lapic_pending_vector(apic), 0x41);
	blob_free(&cpu);
	blob_free(&vm);
	machine_free(b);
}

static void test_oneshot_timer_after_load(void)
{
	timer_survives(false, true);
}

static void test_tsc_deadline_after_load_cpu_first(void)
{
	timer_survives(true, false);
}

static uint8_t inb(struct vm *vm, uint16_t port)
{
	uint64_t v = 0;

	CHECK(bus_read(&vm->pio, port, &v, 1));
	return v;
}

static void outb(struct vm *vm, uint16_t port, uint8_t v)
{
	CHECK(bus_write(&vm->pio, port, v, 1));
}

static uint32_t ioapic_read(struct vm *vm, uint32_t reg)
{
	uint64_t v = 0;

	CHECK(bus_write(&vm->mmio, IOAPIC_BASE, reg, 4));
	CHECK(bus_read(&vm->mmio, IOAPIC_BASE + 0x10, &v, 4));
	return v;
}

static void test_controllers_roundtrip(void)
{
	struct vm *a = machine_new(1), *b = machine_new(1);
	struct blob vm, again;
	uint16_t count;

	/* PIT channel 0: mode 2, LSB then MSB, count 0x1234 */
	outb(a, 0x43, 0x34);
	outb(a, 0x40, 0x34);
	outb(a, 0x40, 0x12);
	/* PIC master: ICW1-4 with base 0x30, then a mask */
	outb(a, 0x20, 0x11);
	outb(a, 0x21, 0x30);
	outb(a, 0x21, 0x04);
	outb(a, 0x21, 0x01);
	outb(a, 0x21, 0xfa);
	/* IOAPIC pin 5: vector 0x35, level, masked; IOREGSEL left at it */
	CHECK(bus_write(&a->mmio, IOAPIC_BASE, 0x10 + 2 * 5, 4));
	CHECK(bus_write(&a->mmio, IOAPIC_BASE + 0x10, 0x18035, 4));
	blob_save(a, NULL, &vm);
	CHECK(load_ok(b, NULL, &vm));
	blob_save(b, NULL, &again);
	CHECK(same_but_time(&vm, &again, 0));
	blob_free(&again);

	CHECK_EQ(inb(b, 0x21), 0xfa);
	CHECK_EQ(ioapic_read(b, 0x10 + 2 * 5), 0x18035);
	outb(b, 0x43, 0xe2);		/* read-back: status of channel 0 */
	CHECK_EQ(inb(b, 0x40) & 0x7f, 0x34);
	outb(b, 0x43, 0x00);		/* latch channel 0's count */
	count = inb(b, 0x40);
	count |= inb(b, 0x40) << 8;
	CHECK(count > 0 && count <= 0x1234);
	blob_free(&vm);
	machine_free(a);
	machine_free(b);
}

/* Load p (n bytes) as name; expect a refusal whose message has want. */
static void expect_refused(struct vm *vm, struct vcpu *vcpu,
			   const struct blob *b, const uint8_t *p, size_t n,
			   const char *want)
{
	char err[256] = "";
	int ret = blob_load_raw(vm, vcpu, b->name, b->version, p, n, err,
				sizeof(err));

	CHECK(ret < 0);
	CHECK(err[0]);
	if (want && !strstr(err, want)) {
		printf("  %s: \"%s\" does not say \"%s\"\n", b->name, err,
		       want);
		CHECK(0);
	}
}

static void poke(struct vm *vm, struct vcpu *vcpu, const struct blob *b,
		 size_t off, const void *val, size_t len, const char *want)
{
	uint8_t *p = malloc(b->n);

	memcpy(p, b->p, b->n);
	memcpy(p + off, val, len);
	expect_refused(vm, vcpu, b, p, b->n, want);
	free(p);
}

static void test_bad_cpu_sections(void)
{
	struct vm *a = machine_new(1), *b = machine_new(1);
	struct vcpu *v = &b->vcpus[0];
	struct blob cpu;
	uint8_t *longer;
	uint64_t u64;
	uint32_t u32;
	uint8_t u8;
	char err[256];

	setup_long_mode_cpu(cpu_of(a, 0));
	blob_save(a, &a->vcpus[0], &cpu);
	for (size_t n = 0; n < cpu.n; n++)
		expect_refused(b, v, &cpu, cpu.p, n, "too short");
	longer = calloc(1, cpu.n + 1);
	memcpy(longer, cpu.p, cpu.n);
	expect_refused(b, v, &cpu, longer, cpu.n + 1, "bytes past");
	free(longer);
	CHECK(blob_load_raw(b, v, "cpu0", cpu.version + 1, cpu.p, cpu.n, err,
			    sizeof(err)) < 0);
	CHECK(strstr(err, "version"));

	u64 = load_u64(cpu.p + CPU_RFLAGS) | 8;
	poke(b, v, &cpu, CPU_RFLAGS, &u64, 8, "RFLAGS");
	u64 = 0x0000800000000000ull;
	poke(b, v, &cpu, CPU_RIP, &u64, 8, "RIP");
	u64 = X86_EFER_LME | X86_EFER_SCE;	/* LMA gone, PG still set */
	poke(b, v, &cpu, CPU_EFER, &u64, 8, "LMA");
	u8 = 16;
	poke(b, v, &cpu, CPU_SEG(1) + SEG_TYPE, &u8, 1, "CS");
	u8 = 2;
	poke(b, v, &cpu, CPU_HALTED, &u8, 1, "flag");
	u32 = 0x10000;
	poke(b, v, &cpu, CPU_MXCSR, &u32, 4, "MXCSR");
	u32 = 5;
	poke(b, v, &cpu, LAPIC_ID, &u32, 4, "APIC ID");
	u32 = 3u << 17;
	poke(b, v, &cpu, LAPIC_LVT_TIMER, &u32, 4, "timer mode");
	u32 = 0x800;
	poke(b, v, &cpu, CPU_FOP, &u32, 2, "FOP");

	/* version 1, without the x87 pointers, loads them as zeros */
	{
		size_t n = cpu.n - (CPU_REGS_LEN - CPU_X87_PTRS);
		uint8_t *v1 = malloc(n);

		memcpy(v1, cpu.p, CPU_X87_PTRS);
		memcpy(v1 + CPU_X87_PTRS, cpu.p + CPU_REGS_LEN,
		       cpu.n - CPU_REGS_LEN);
		cpu_of(b, 0)->fip = 1;
		CHECK_EQ(blob_load_raw(b, v, "cpu0", 1, v1, n, err,
				       sizeof(err)), 0);
		CHECK_EQ(cpu_of(b, 0)->fip, 0);
		free(v1);
	}

	/* After all that, the good section still loads. */
	CHECK(load_ok(b, v, &cpu));
	blob_free(&cpu);
	machine_free(a);
	machine_free(b);
}

static void test_bad_vm_sections(void)
{
	struct vm *a = machine_new(1), *b = machine_new(1);
	struct blob vm;
	uint32_t u32;
	uint8_t u8;

	blob_save(a, NULL, &vm);
	for (size_t n = 0; n < vm.n; n++)
		expect_refused(b, NULL, &vm, vm.p, n, "too short");
	u32 = 1u << 24;
	poke(b, NULL, &vm, EMU_IOAPIC_LINES, &u32, 4, "input lines");
	u8 = 0x09;
	poke(b, NULL, &vm, EMU_PIC_BASE, &u8, 1, "vector base");
	u8 = 6;
	poke(b, NULL, &vm, EMU_PIT_MODE, &u8, 1, "PIT channel 0");
	u32 = 0;
	poke(b, NULL, &vm, EMU_PIT_COUNT, &u32, 4, "reload value");
	CHECK(load_ok(b, NULL, &vm));
	blob_free(&vm);
	machine_free(a);
	machine_free(b);
}

int main(void)
{
	RUN(test_cpu_roundtrip);
	RUN(test_oneshot_timer_after_load);
	RUN(test_tsc_deadline_after_load_cpu_first);
	RUN(test_controllers_roundtrip);
	RUN(test_bad_cpu_sections);
	RUN(test_bad_vm_sections);
	return test_summary();
}
