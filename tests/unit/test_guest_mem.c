// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/bootparam.h"
#include "arch/x86/layout.h"
#include "test.h"
#include "vmm/guest_mem.h"

/* hugetlb=DIR must name a hugetlbfs mount, else it is plain shared memory. */
static void test_guest_mem_hugetlb_refuses_other_fs(void)
{
	struct guest_mem_opts opts = { .hugetlb_path = "/tmp" };
	struct guest_mem mem;
	char err[256];

	CHECK_EQ(guest_mem_hugetlb_check("/tmp", 64 << 20, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "/tmp is not a hugetlbfs mount") != NULL);
	CHECK_EQ(guest_mem_hugetlb_check("/nonexistent-dir", 64 << 20, err,
					 sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent-dir") != NULL);
	CHECK_EQ(guest_mem_init(&mem, 64 << 20, &opts), -EINVAL);
}

static void test_guest_mem_bounds(void)
{
	struct guest_mem mem;
	uint8_t buf[16] = { 1, 2, 3 };

	CHECK_EQ(guest_mem_init(&mem, 1 << 20, NULL), 0);
	CHECK(gpa_to_hva(&mem, 0, 1 << 20) != NULL);
	CHECK(gpa_to_hva(&mem, (1 << 20) - 16, 16) != NULL);
	CHECK(gpa_to_hva(&mem, (1 << 20) - 15, 16) == NULL);
	CHECK(gpa_to_hva(&mem, 1 << 20, 0) != NULL);
	CHECK(gpa_to_hva(&mem, (1 << 20) + 1, 0) == NULL);
	/* Lengths that would wrap around must not pass the check. */
	CHECK(gpa_to_hva(&mem, 16, ~0ULL) == NULL);
	CHECK(gpa_to_hva(&mem, ~0ULL, 2) == NULL);
	CHECK_EQ(guest_mem_write(&mem, 100, buf, 3), 0);
	CHECK_EQ(guest_mem_read(&mem, (1 << 20) - 2, buf, 3), -EFAULT);
	guest_mem_destroy(&mem);
}

static void test_guest_mem_hole(void)
{
	struct guest_mem mem;
	uint64_t size = LAYOUT_MMIO_HOLE + (256ULL << 20);

	CHECK_EQ(guest_mem_init(&mem, size, NULL), 0);
	CHECK_EQ(mem.nr_regions, 2);
	CHECK_EQ(guest_mem_low_end(&mem), LAYOUT_MMIO_HOLE);
	CHECK_EQ(guest_mem_high_size(&mem), 256ULL << 20);
	CHECK(gpa_to_hva(&mem, LAYOUT_MMIO_HOLE, 1) == NULL);
	CHECK(gpa_to_hva(&mem, LAYOUT_IOAPIC_ADDR, 4) == NULL);
	CHECK(gpa_to_hva(&mem, LAYOUT_HIGH_MEM_START, 4096) != NULL);
	/* A range straddling the hole is not RAM as a whole. */
	CHECK(gpa_to_hva(&mem, LAYOUT_MMIO_HOLE - 8, 16) == NULL);
	guest_mem_destroy(&mem);
}

static void test_e820_map(void)
{
	struct guest_mem mem;
	struct e820_entry map[E820_MAX_ENTRIES];
	uint64_t ram = 0;
	int n;

	guest_mem_init(&mem, LAYOUT_MMIO_HOLE + (64ULL << 20), NULL);
	n = e820_build(&mem, map, E820_MAX_ENTRIES);
	for (int i = 0; i < n; i++) {
		if (map[i].type == E820_RAM)
			ram += map[i].size;
		/* Sorted and non-overlapping, as the kernel expects. */
		if (i)
			CHECK(map[i].addr >= map[i - 1].addr + map[i - 1].size);
		/* No RAM where the ACPI tables or the MMIO hole are. */
		if (map[i].type == E820_RAM) {
			CHECK(map[i].addr + map[i].size <= LAYOUT_ACPI_ADDR ||
			      map[i].addr >= LAYOUT_ACPI_END);
			CHECK(map[i].addr + map[i].size <= LAYOUT_MMIO_HOLE ||
			      map[i].addr >= LAYOUT_MMIO_HOLE_END);
		}
	}
	/* All RAM but the legacy hole between 640 KiB and 1 MiB. */
	CHECK_EQ(ram, mem.ram_size - (LAYOUT_EXT_RAM_START - LAYOUT_EBDA_START));
	guest_mem_destroy(&mem);
}

int main(void)
{
	RUN(test_guest_mem_bounds);
	RUN(test_guest_mem_hugetlb_refuses_other_fs);
	RUN(test_guest_mem_hole);
	RUN(test_e820_map);
	return test_summary();
}
