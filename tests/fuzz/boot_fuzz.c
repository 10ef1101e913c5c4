// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the kernel loader (src/arch/x86/boot.c): the input
 * is the --kernel file, a bzImage (setup header) or an ELF vmlinux, loaded
 * into 64 MiB of guest RAM with a command line and an initrd. A hostile
 * image must give one error line, never read past the file or write
 * outside guest RAM. With CVISOR_FUZZ_SEEDS=DIR set, the first run writes
 * a minimal bzImage and a minimal ELF into DIR. Build with 'make fuzz';
 * run e.g.
 *
 *   build-fuzz/fuzz/boot_fuzz -max_len=16384
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/bootparam.h"
#include "vmm/vm.h"

#define RAM_SIZE	(64 << 20)

static struct vm vm;
static struct vm_config cfg;
static char kernel[] = "/tmp/cvisor-boot-fuzz-XXXXXX";
static char initrd[] = "/tmp/cvisor-boot-fuzz-initrd-XXXXXX";

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || (n && fwrite(p, n, 1, f) != 1) || fclose(f))
		abort();
}

/* A 64-bit bzImage of one setup sector and 1 KiB of "kernel". */
static void seed_bzimage(const char *dir)
{
	static uint8_t k[2 * 512 + 1024];
	char path[4096];
	uint16_t v16;
	uint32_t v32;

	memset(k, 0, sizeof(k));
	k[BP_SETUP_SECTS] = 1;
	v16 = BOOT_FLAG_MAGIC;
	memcpy(k + BP_BOOT_FLAG, &v16, 2);
	k[BP_JUMP + 1] = 0x6a;		/* header up to 0x26c (2.15) */
	v32 = HDRS_MAGIC;
	memcpy(k + BP_HEADER, &v32, 4);
	v16 = 0x020f;
	memcpy(k + BP_VERSION, &v16, 2);
	v16 = XLF_KERNEL_64;
	memcpy(k + BP_XLOADFLAGS, &v16, 2);
	v32 = 0x200000;
	memcpy(k + BP_KERNEL_ALIGNMENT, &v32, 4);
	v32 = 0x10000;
	memcpy(k + BP_INIT_SIZE, &v32, 4);
	v32 = 2047;
	memcpy(k + BP_CMDLINE_SIZE, &v32, 4);
	v32 = 0x7fffffff;
	memcpy(k + BP_INITRD_ADDR_MAX, &v32, 4);
	snprintf(path, sizeof(path), "%s/bzimage", dir);
	write_file(path, k, sizeof(k));
}

/* An ELF with two PT_LOAD segments (one with bss) and a PT_NOTE. */
static void seed_elf(const char *dir)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[3];
		uint8_t text[256];
	} k;
	char path[4096];

	memset(&k, 0, sizeof(k));
	memcpy(k.eh.e_ident, ELFMAG, SELFMAG);
	k.eh.e_ident[EI_CLASS] = ELFCLASS64;
	k.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	k.eh.e_ident[EI_VERSION] = EV_CURRENT;
	k.eh.e_type = ET_EXEC;
	k.eh.e_machine = EM_X86_64;
	k.eh.e_version = EV_CURRENT;
	k.eh.e_entry = 0x1000000;
	k.eh.e_phoff = sizeof(k.eh);
	k.eh.e_ehsize = sizeof(k.eh);
	k.eh.e_phentsize = sizeof(Elf64_Phdr);
	k.eh.e_phnum = 3;
	k.ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = sizeof(k) - 256,
		.p_paddr = 0x1000000, .p_filesz = 128, .p_memsz = 128 };
	k.ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
		.p_offset = sizeof(k) - 128, .p_paddr = 0x1200000,
		.p_filesz = 128, .p_memsz = 0x10000 };
	k.ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE,
		.p_offset = sizeof(k) - 256, .p_filesz = 16 };
	memset(k.text, 0x90, sizeof(k.text));
	snprintf(path, sizeof(path), "%s/elf", dir);
	write_file(path, &k, sizeof(k));
}

static void setup(void)
{
	int fd = mkstemp(kernel);
	const char *seed = getenv("CVISOR_FUZZ_SEEDS");

	if (fd < 0)
		abort();
	close(fd);
	fd = mkstemp(initrd);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		abort();
	close(fd);
	cfg = (struct vm_config){ .kernel = kernel, .initrd = initrd,
				  .cmdline = "console=ttyS0 quiet" };
	vm.cfg = &cfg;
	if (guest_mem_init(&vm.mem, RAM_SIZE, NULL))
		abort();
	if (seed) {
		seed_bzimage(seed);
		seed_elf(seed);
	}
}

static void cleanup(void)
{
	unlink(kernel);
	unlink(initrd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (!vm.cfg) {
		setup();
		atexit(cleanup);
	}
	write_file(kernel, data, size);
	x86_boot_load(&vm, 0, err, sizeof(err));
	return 0;
}
