// SPDX-License-Identifier: MIT
/*
 * emu: instructions fetched from outside RAM. A device's MMIO range runs
 * the bytes its registers read as (one read per byte); unassigned space
 * reads all ones, as a data read there does, and FF FF raises #UD in the
 * guest. Neither stops the VM (both did, with "instruction fetch from
 * MMIO"). Byte arrays are GNU as output of the listed code.
 */
#include <stdbool.h>
#include <stdio.h>

#include "accel/emu/jit.h"
#include "emu_test.h"
#include "test.h"

#define MMIO_CODE	0xd0000000ULL

/* 0xc0000000-0xffffffff: PDPT entry 3, a PD with one 2 MiB page at lin */
static void map_high(struct emu_test *t, uint64_t lin)
{
	uint64_t pd = EMU_TEST_PML4 + 0x3000;

	emu_test_w64(t, EMU_TEST_PML4 + 0x1000 + 3 * 8, pd | 7);
	emu_test_w64(t, pd + ((lin - 0xc0000000ULL) >> 21) * 8, lin | 0x87);
	tlb_flush(&t->cpu, true);
}

/*
 *	mov eax, 0xd0000000
 *	jmp rax
 */
static const uint8_t jump[] = { 0xb8, 0x00, 0x00, 0x00, 0xd0, 0xff, 0xe0 };

/* The RIP of the exception frame the stub halted on (no error code) */
static uint64_t frame_rip(struct emu_test *t)
{
	return emu_test_r64(t, t->cpu.gpr[R_SP]);
}

/* With the translator or without: code outside RAM is never its own */
static bool use_jit;

static struct emu_test *fetch_test_new(void)
{
	struct emu_test *t = emu_test_init64();

	if (use_jit)
		t->cpu.jit = jit_create();
	CHECK(!use_jit || t->cpu.jit);
	return t;
}

static void fetch_test_free(struct emu_test *t)
{
	jit_destroy(t->cpu.jit);
	emu_test_free(t);
}

static void test_fetch_unassigned_ud(void)
{
	struct emu_test *t = fetch_test_new();

	map_high(t, MMIO_CODE);
	emu_test_run(t, jump, sizeof(jump));
	if (t->cpu.error[0])
		printf("  stopped: %s\n", t->cpu.error);
	CHECK(!t->cpu.error[0]);
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), EXC_UD);
	CHECK_EQ(frame_rip(t), MMIO_CODE);
	fetch_test_free(t);
}

/*
 * A device whose registers read as code, and as 0x10 at offset 0x800:
 *	mov eax, 42
 *	add eax, [rip + 0x7f5]		(offset 0x800)
 *	hlt
 */
static const uint8_t dev_code[] = {
	0xb8, 0x2a, 0x00, 0x00, 0x00, 0x03, 0x05, 0xf5, 0x07, 0x00, 0x00,
	0xf4,
};

struct code_dev {
	unsigned reads;
};

static uint64_t code_dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct code_dev *d = opaque;
	uint64_t v = 0;

	d->reads++;
	for (unsigned i = 0; i < size; i++) {
		uint64_t b = off + i < sizeof(dev_code) ? dev_code[off + i] :
			     off + i == 0x800 ? 0x10 : 0;

		v |= b << (8 * i);
	}
	return v;
}

static const struct bus_ops code_dev_ops = { .read = code_dev_read };

static void test_fetch_device_runs(void)
{
	struct emu_test *t = fetch_test_new();
	struct code_dev d = { 0 };

	map_high(t, MMIO_CODE);
	CHECK_EQ(bus_register(&t->vm.mmio, MMIO_CODE, 0x1000, &code_dev_ops,
			      &d, "code"), 0);
	emu_test_run(t, jump, sizeof(jump));
	if (t->cpu.error[0])
		printf("  stopped: %s\n", t->cpu.error);
	CHECK(!t->cpu.error[0]);
	CHECK(t->cpu.halted);
	CHECK_EQ(emu_test_vector(t), -1);
	CHECK_EQ(t->cpu.rip, MMIO_CODE + sizeof(dev_code));
	CHECK_EQ(t->cpu.gpr[R_AX], 42 + 0x10);
	/* each code byte read once, and the operand */
	CHECK_EQ(d.reads, sizeof(dev_code) + 1);
	fetch_test_free(t);
}

static void test_fetch_unassigned_ud_jit(void)
{
	use_jit = true;
	test_fetch_unassigned_ud();
	use_jit = false;
}

static void test_fetch_device_runs_jit(void)
{
	use_jit = true;
	test_fetch_device_runs();
	use_jit = false;
}

int main(void)
{
	RUN(test_fetch_unassigned_ud);
	RUN(test_fetch_device_runs);
	RUN(test_fetch_unassigned_ud_jit);
	RUN(test_fetch_device_runs_jit);
	return test_summary();
}
