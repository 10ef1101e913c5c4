// SPDX-License-Identifier: MIT
/*
 * KVM's dirty page log on a real /dev/kvm: a tiny long-mode guest stores
 * to the address in its mailbox and reports each store on port 0x80; the
 * test points it at chosen pages and checks what dirty_log_sync reports.
 * Skipped without /dev/kvm or when this KVM cannot log dirty pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "kvm_fixture.h"

#define MEM_SIZE	(32ull << 20)
#define PAGES		(MEM_SIZE >> 12)
#define WORDS		(PAGES / 64)
#define MAILBOX_GPA	0x3000ull
#define SLOT_GPA	0xe0000000ull
#define SLOT_SIZE	(2ull << 20)

/*
 * 1: mov MAILBOX_GPA, %rbx; mov %rax, (%rbx); out %al, $0x80; jmp 1b
 */
static const uint8_t guest_code[] = {
	0x48, 0x8b, 0x1c, 0x25, 0x00, 0x30, 0x00, 0x00,
	0x48, 0x89, 0x03,
	0xe6, KVM_FIXTURE_PORT,
	0xeb, 0xf1,
};

/* One store by the guest to gpa. */
static bool store_to(struct vm *vm, struct kvm_probe *p, uint64_t gpa)
{
	guest_mem_write(&vm->mem, MAILBOX_GPA, &gpa, 8);
	return kvm_run_steps(vm, p, 1, 100);
}

/*
 * Pages the CPU itself may write: the GDT's (accessed bits) and the boot
 * page tables' (A/D bits of the 2 MiB mappings).
 */
static bool cpu_owned(uint64_t page)
{
	return page == 0 || (page >= LAYOUT_PML4_ADDR >> 12 &&
			     page <= (LAYOUT_PD_ADDR >> 12) + 3);
}

/* The pages sync reports are want[] plus, at most, cpu_owned ones. */
static void expect_dirty(struct vm *vm, const uint64_t *want, int n)
{
	uint64_t bm[WORDS] = { 0 };

	CHECK_EQ(vm->accel->dirty_log_sync(vm, bm), 0);
	for (uint64_t pg = 0; pg < PAGES; pg++) {
		bool set = bm[pg / 64] >> (pg % 64) & 1, wanted = false;

		for (int i = 0; i < n; i++)
			wanted |= want[i] >> 12 == pg;
		if (set != wanted && !(set && cpu_owned(pg))) {
			printf("  page 0x%llx: dirty %d, expected %d\n",
			       (unsigned long long)pg << 12, set, wanted);
			CHECK(0);
		}
	}
}

static void test_kvm_dirty_log(void)
{
	const uint64_t first[] = { 0x200000, 0x345678, 0x1000ff8, 0x1fff000 };
	const uint64_t second[] = { 0x345000, 0x700000 };
	struct kvm_probe p = { 0 };
	char reason[300] = "";
	uint64_t bm[WORDS];
	struct vm *vm;
	int ret;

	if (!have_kvm()) {
		SKIP("no usable /dev/kvm");
		return;
	}
	vm = kvm_machine(&p, MEM_SIZE, guest_code, sizeof(guest_code), reason,
			 sizeof(reason));
	if (reason[0]) {
		kvm_machine_free(vm);
		SKIP("%s", reason);
		return;
	}
	/* Before logging: the first store is not reported. */
	CHECK(store_to(vm, &p, 0x400000));
	ret = vm->accel->dirty_log_start(vm);
	if (ret == -ENOTSUP) {
		kvm_machine_free(vm);
		SKIP("%s", vm->accel_error);
		return;
	}
	CHECK_EQ(ret, 0);
	for (int i = 0; i < 4; i++)
		CHECK(store_to(vm, &p, first[i]));
	expect_dirty(vm, first, 4);
	/* Nothing written since: nothing to report. */
	expect_dirty(vm, NULL, 0);
	/* A page reported before is reported again once written again. */
	for (int i = 0; i < 2; i++)
		CHECK(store_to(vm, &p, second[i]));
	expect_dirty(vm, second, 2);
	/* Written by the VMM, not the guest: KVM does not see it. */
	guest_mem_write(&vm->mem, 0x800000, "x", 1);
	expect_dirty(vm, NULL, 0);

	vm->accel->dirty_log_stop(vm);
	CHECK(store_to(vm, &p, 0x900000));
	CHECK(vm->accel->dirty_log_sync(vm, bm) < 0);
	/* And again: logging can start a second time. */
	CHECK_EQ(vm->accel->dirty_log_start(vm), 0);
	CHECK(store_to(vm, &p, 0xa00000));
	expect_dirty(vm, (const uint64_t[]){ 0xa00000 }, 1);
	vm->accel->dirty_log_stop(vm);
	kvm_machine_free(vm);
}

/* The pages of a device slot sync reports are exactly want[] (offsets). */
static void expect_slot_dirty(struct vm *vm, int slot, const uint64_t *want,
			      int n)
{
	uint64_t bm[SLOT_SIZE >> 18] = { 0 };

	CHECK_EQ(vm->accel->dev_slot_sync(vm, slot, bm), 0);
	for (uint64_t pg = 0; pg < SLOT_SIZE >> 12; pg++) {
		bool set = bm[pg / 64] >> (pg % 64) & 1, wanted = false;

		for (int i = 0; i < n; i++)
			wanted |= want[i] >> 12 == pg;
		if (set != wanted) {
			printf("  slot page %llu: dirty %d, expected %d\n",
			       (unsigned long long)pg, set, wanted);
			CHECK(0);
		}
	}
}

/*
 * Device memory (as the display's video memory) mapped as a logged slot:
 * guest stores land in the host buffer without exits and are reported by
 * the slot's own sync, alongside a migration's log of guest RAM, neither
 * seeing the other's pages; the slot can move and go.
 */
static void test_kvm_dev_slot(void)
{
	const uint64_t pages[] = { 0x1008, 0x5000, 0x1ff000 };
	struct kvm_probe p = { 0 };
	char reason[300] = "";
	uint64_t gpa = SLOT_GPA;
	uint8_t *mem;
	struct vm *vm;
	int slot;

	if (!have_kvm()) {
		SKIP("no usable /dev/kvm");
		return;
	}
	vm = kvm_machine(&p, MEM_SIZE, guest_code, sizeof(guest_code), reason,
			 sizeof(reason));
	if (reason[0]) {
		kvm_machine_free(vm);
		SKIP("%s", reason);
		return;
	}
	mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	CHECK(vm->accel->dev_slot_map(vm, gpa + 1, mem, SLOT_SIZE) < 0);
	slot = vm->accel->dev_slot_map(vm, gpa, mem, SLOT_SIZE);
	if (slot == -EINVAL || slot == -ENOTSUP) {
		munmap(mem, SLOT_SIZE);
		kvm_machine_free(vm);
		SKIP("this KVM cannot log a slot's dirty pages");
		return;
	}
	CHECK(slot >= 0);
	/* overlapping slots are refused */
	CHECK(vm->accel->dev_slot_map(vm, gpa, mem, SLOT_SIZE) < 0);
	for (int i = 0; i < 3; i++) {
		mem[pages[i] + 1] = 0x5a;
		CHECK(store_to(vm, &p, gpa + pages[i]));
		/* the guest's 8 bytes of %rax replaced ours */
		CHECK(mem[pages[i] + 1] != 0x5a);
	}
	expect_slot_dirty(vm, slot, pages, 3);
	expect_slot_dirty(vm, slot, NULL, 0);

	/* With a migration's log running, each log sees its own pages. */
	CHECK_EQ(vm->accel->dirty_log_start(vm), 0);
	CHECK(store_to(vm, &p, 0x600000));
	CHECK(store_to(vm, &p, gpa + 0x3000));
	expect_dirty(vm, (const uint64_t[]){ 0x600000 }, 1);
	expect_slot_dirty(vm, slot, (const uint64_t[]){ 0x3000 }, 1);
	CHECK(store_to(vm, &p, gpa + 0x4000));
	vm->accel->dirty_log_stop(vm);
	expect_slot_dirty(vm, slot, (const uint64_t[]){ 0x4000 }, 1);

	/* Moved, as when the guest reprograms the BAR. */
	vm->accel->dev_slot_unmap(vm, slot);
	CHECK(vm->accel->dev_slot_sync(vm, slot, (uint64_t[8]){ 0 }) < 0);
	gpa += SLOT_SIZE;
	slot = vm->accel->dev_slot_map(vm, gpa, mem, SLOT_SIZE);
	CHECK(slot >= 0);
	mem[0x7001] = 0x5a;
	CHECK(store_to(vm, &p, gpa + 0x7000));
	CHECK(mem[0x7001] != 0x5a);
	expect_slot_dirty(vm, slot, (const uint64_t[]){ 0x7000 }, 1);
	vm->accel->dev_slot_unmap(vm, slot);
	munmap(mem, SLOT_SIZE);
	kvm_machine_free(vm);
}

int main(void)
{
	RUN(test_kvm_dirty_log);
	RUN(test_kvm_dev_slot);
	return test_summary();
}
