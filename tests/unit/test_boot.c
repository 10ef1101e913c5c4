// SPDX-License-Identifier: MIT
/*
 * The x86 loader (src/arch/x86/boot.c) on guest RAM alone: where a kernel
 * ends (a bzImage at init_size past its load address, an ELF at its highest
 * p_paddr + p_memsz), how small guest memory may be, and how large an initrd
 * fits above the kernel. Kernels are made up here, headers only.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/bootparam.h"
#include "arch/x86/layout.h"
#include "test.h"
#include "vmm/vm.h"

#define MIB		(1ULL << 20)
#define KIB		(1ULL << 10)
#define INITRD_ALIGN	(2 * MIB)

static char dir[] = "/tmp/cvisor-boot-XXXXXX";
static char kernel[64], initrd[64], err[256];
static struct vm_config cfg;
static struct vm vm;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static uint32_t zp32(unsigned off)
{
	uint32_t v = 0;

	CHECK_EQ(guest_mem_read(&vm.mem, LAYOUT_ZERO_PAGE + off, &v, 4), 0);
	return v;
}

static void write_file(const char *path, const void *data, size_t len,
		       uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), len);
	CHECK_EQ(ftruncate(fd, size), 0);
	close(fd);
}

/* A bzImage: 4 setup sectors + the boot sector, then payload bytes. */
static void make_bzimage(uint64_t payload, uint32_t init_size)
{
	uint8_t h[5 * 512] = { 0 };

	h[BP_SETUP_SECTS] = 4;
	put16(h + BP_BOOT_FLAG, BOOT_FLAG_MAGIC);
	h[BP_JUMP + 1] = 0x66;			/* header ends at 0x268 */
	put32(h + BP_HEADER, HDRS_MAGIC);
	put16(h + BP_VERSION, 0x020f);
	put32(h + BP_INITRD_ADDR_MAX, 0x7fffffff);
	put32(h + BP_KERNEL_ALIGNMENT, 0x200000);
	put16(h + BP_XLOADFLAGS, XLF_KERNEL_64);
	put32(h + BP_CMDLINE_SIZE, 2047);
	put32(h + BP_INIT_SIZE, init_size);
	write_file(kernel, h, sizeof(h), sizeof(h) + payload);
}

/* An ELF with one PT_LOAD per (paddr, filesz, memsz). */
static void make_elf(int n, const uint64_t seg[][3])
{
	uint8_t buf[sizeof(Elf64_Ehdr) + 4 * sizeof(Elf64_Phdr)] = { 0 };
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64,
		.e_version = EV_CURRENT, .e_entry = seg[0][0],
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = n,
	};
	uint64_t off = 4096, size = off;

	memcpy(buf, &eh, sizeof(eh));
	for (int i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X,
			.p_offset = off, .p_vaddr = seg[i][0],
			.p_paddr = seg[i][0], .p_filesz = seg[i][1],
			.p_memsz = seg[i][2], .p_align = 4096,
		};

		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		off += seg[i][1];
		size = off;
	}
	write_file(kernel, buf, sizeof(buf), size);
}

/* An initrd of size bytes whose first and last bytes are marked. */
static void make_initrd(uint64_t size)
{
	int fd = open(initrd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, size), 0);
	CHECK_EQ(pwrite(fd, "F", 1, 0), 1);
	CHECK_EQ(pwrite(fd, "L", 1, size - 1), 1);
	close(fd);
}

/* x86_boot_load with mem bytes of guest RAM; the RAM stays for checks. */
static int boot(uint64_t mem, bool with_initrd)
{
	guest_mem_destroy(&vm.mem);
	memset(&vm, 0, sizeof(vm));
	cfg = (struct vm_config){ .kernel = kernel, .cmdline = "console=ttyS0",
				  .initrd = with_initrd ? initrd : NULL };
	vm.cfg = &cfg;
	err[0] = 0;
	CHECK_EQ(guest_mem_init(&vm.mem, mem, NULL), 0);
	return x86_boot_load(&vm, 0, err, sizeof(err));
}

/* The initrd is where the zero page says, whole. */
static void check_initrd_at(uint64_t addr, uint64_t size)
{
	char first = 0, last = 0;

	CHECK_EQ(zp32(BP_RAMDISK_IMAGE), addr);
	CHECK_EQ(zp32(BP_RAMDISK_SIZE), size);
	CHECK_EQ(guest_mem_read(&vm.mem, addr, &first, 1), 0);
	CHECK_EQ(guest_mem_read(&vm.mem, addr + size - 1, &last, 1), 0);
	CHECK(first == 'F' && last == 'L');
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* A bzImage needs init_size from its load address, not its file size. */
static void test_bzimage_smallest_memory(void)
{
	const uint64_t end = LAYOUT_KERNEL_ADDR + 8 * MIB;

	make_bzimage(64 * KIB, 8 * MIB);
	CHECK_EQ(boot(end, false), 0);
	CHECK_EQ(vm.boot_regs.rip, LAYOUT_KERNEL_ADDR + 0x200);
	CHECK_EQ(boot(end - 4 * KIB, false), -ENOMEM);
	CHECK(strstr(err, "not enough guest memory") != NULL);
}

/*
 * The largest initrd ends at the top of RAM and starts at the first 2 MiB
 * boundary past init_size; a byte more would reach into the area the
 * kernel decompresses into (the old check looked at the file's 66 KiB).
 */
static void test_bzimage_largest_initrd(void)
{
	const uint64_t mem = 64 * MIB, end = LAYOUT_KERNEL_ADDR + 7 * MIB;
	const uint64_t largest = mem - align_up(end, INITRD_ALIGN);

	make_bzimage(64 * KIB, 7 * MIB);
	make_initrd(largest);
	CHECK_EQ(boot(mem, true), 0);
	check_initrd_at(align_up(end, INITRD_ALIGN), largest);
	make_initrd(largest + 1);
	CHECK_EQ(boot(mem, true), -ENOMEM);
	CHECK(strstr(err, "does not fit in guest memory") != NULL);
	/* the smallest memory for that bzImage and that initrd */
	make_initrd(largest);
	CHECK_EQ(boot(mem - 4 * KIB, true), -ENOMEM);
}

/* An ELF occupies up to its highest segment's p_paddr + p_memsz (bss). */
static void test_elf_smallest_memory(void)
{
	static const uint64_t seg[2][3] = {
		{ LAYOUT_KERNEL_ADDR, 64 * KIB, 64 * KIB },
		{ LAYOUT_KERNEL_ADDR + 2 * MIB, 4 * KIB, 9 * MIB },
	};
	const uint64_t end = LAYOUT_KERNEL_ADDR + 11 * MIB;

	make_elf(2, seg);
	CHECK_EQ(boot(end, false), 0);
	CHECK_EQ(vm.boot_regs.rip, LAYOUT_KERNEL_ADDR);
	CHECK_EQ(boot(end - 4 * KIB, false), -ENOEXEC);
	CHECK(strstr(err, "segment 1 at 0x1200000 does not fit") != NULL);
}

static void test_elf_largest_initrd(void)
{
	static const uint64_t seg[2][3] = {
		{ LAYOUT_KERNEL_ADDR, 64 * KIB, 64 * KIB },
		{ LAYOUT_KERNEL_ADDR + 2 * MIB, 4 * KIB, 9 * MIB + 4 * KIB },
	};
	const uint64_t mem = 48 * MIB;
	const uint64_t end = LAYOUT_KERNEL_ADDR + 11 * MIB + 4 * KIB;
	const uint64_t largest = mem - align_up(end, INITRD_ALIGN);

	make_elf(2, seg);
	make_initrd(largest);
	CHECK_EQ(boot(mem, true), 0);
	check_initrd_at(align_up(end, INITRD_ALIGN), largest);
	make_initrd(largest + 1);
	CHECK_EQ(boot(mem, true), -ENOMEM);
	CHECK(strstr(err, "kernel's end at 0x1b01000") != NULL);
}

/*
 * RAM that holds the kernel but not the command line, GDT or page tables
 * is an error, never a write through a NULL pointer.
 */
static void test_boot_structures_checked(void)
{
	static const uint64_t low[1][3] = { { 0x10000, 0x100, 0x100 } };

	make_elf(1, low);
	CHECK_EQ(boot(0x20000, false), -ENOMEM);
	CHECK(strstr(err, "command line") != NULL);
	CHECK_EQ(boot(0x40000, false), 0);
	guest_mem_destroy(&vm.mem);
	CHECK_EQ(guest_mem_init(&vm.mem, 0x8000, NULL), 0);
	CHECK_EQ(x86_boot_cpu_state(&vm, 0x1000, LAYOUT_ZERO_PAGE), -EFAULT);
	guest_mem_destroy(&vm.mem);
	CHECK_EQ(guest_mem_init(&vm.mem, 0x10000, NULL), 0);
	CHECK_EQ(x86_boot_cpu_state(&vm, 0x1000, LAYOUT_ZERO_PAGE), 0);
	CHECK_EQ(vm.boot_regs.rip, 0x1000);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	RUN(test_bzimage_smallest_memory);
	RUN(test_bzimage_largest_initrd);
	RUN(test_elf_smallest_memory);
	RUN(test_elf_largest_initrd);
	RUN(test_boot_structures_checked);
	guest_mem_destroy(&vm.mem);
	unlink(kernel);
	unlink(initrd);
	rmdir(dir);
	return test_summary();
}
