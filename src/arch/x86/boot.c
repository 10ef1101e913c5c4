// SPDX-License-Identifier: MIT
#include "arch/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/bootparam.h"
#include "arch/x86/e820.h"
#include "devices/display.h"
#include "vmm/vm.h"
#include "vmm/bytes.h"

#define PAGE_SIZE		0x1000ULL
#define HUGE_2M			0x200000ULL
#define BOOT_CS			0x10
#define BOOT_DS			0x18
#define BOOT_TSS		0x20
#define BOOT_MIN_VERSION	0x020c	/* 2.12: xloadflags, 64-bit entry */
#define INITRD_ALIGN		0x200000ULL
/* x86 Linux's COMMAND_LINE_SIZE, less the NUL, for kernels without a header */
#define ELF_CMDLINE_MAX		2047

struct boot_file {
	uint8_t *data;
	size_t size;
};

static int boot_err(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

static int read_file(const char *path, struct boot_file *f, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t done = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_err(err, errlen, -errno, "cannot open kernel '%s': %s",
				path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = boot_err(err, errlen, -EINVAL,
			       "kernel '%s' is not a regular file", path);
		goto out;
	}
	f->size = st.st_size;
	f->data = malloc(f->size ? f->size : 1);
	if (!f->data) {
		ret = boot_err(err, errlen, -ENOMEM, "kernel '%s' too large",
			       path);
		goto out;
	}
	while (done < f->size) {
		ssize_t n = read(fd, f->data + done, f->size - done);

		if (n <= 0) {
			ret = boot_err(err, errlen, -EIO, "reading '%s' failed",
				       path);
			free(f->data);
			f->data = NULL;
			goto out;
		}
		done += n;
	}
out:
	close(fd);
	return ret;
}

/* Copy file bytes to guest RAM, failing if the range is not RAM. */
static int load_bytes(struct vm *vm, uint64_t gpa, const void *src,
		      uint64_t len, uint64_t memsz)
{
	uint8_t *dst = gpa_to_hva(&vm->mem, gpa, memsz);

	if (!dst || len > memsz)
		return -ERANGE;
	memcpy(dst, src, len);
	memset(dst + len, 0, memsz - len);
	return 0;
}

/*
 * Each loader sets *end to the top of what the kernel occupies before it
 * frees anything: a bzImage decompresses within init_size of its load
 * address, an ELF reaches its highest segment's p_paddr + p_memsz. The
 * initrd goes above that.
 */
static int load_bzimage(struct vm *vm, const struct boot_file *k,
			uint8_t *zp, uint64_t *entry, uint64_t *end, char *err,
			size_t errlen)
{
	const char *path = vm->cfg->kernel;
	uint64_t setup_size, load, init_size, align;
	unsigned hdr_end;

	hdr_end = 0x202 + k->data[BP_JUMP + 1];
	if (get_le16(k->data + BP_VERSION) < BOOT_MIN_VERSION ||
	    !(get_le16(k->data + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return boot_err(err, errlen, -ENOEXEC,
				"kernel '%s' has no 64-bit entry point (boot protocol %x)",
				path, get_le16(k->data + BP_VERSION));
	setup_size = ((uint64_t)(k->data[BP_SETUP_SECTS] ?: 4) + 1) * 512;
	if (setup_size >= k->size || hdr_end > 0x300)
		return boot_err(err, errlen, -ENOEXEC,
				"kernel '%s' is truncated", path);
	init_size = get_le32(k->data + BP_INIT_SIZE);
	align = get_le32(k->data + BP_KERNEL_ALIGNMENT);
	load = LAYOUT_KERNEL_ADDR;
	if (align && (load & (align - 1)))
		load = (load + align - 1) & ~(align - 1);
	if (init_size < k->size - setup_size)
		init_size = k->size - setup_size;
	if (load_bytes(vm, load, k->data + setup_size, k->size - setup_size,
		       init_size))
		return boot_err(err, errlen, -ENOMEM,
				"kernel '%s' needs %llu MiB at 0x%llx: not enough guest memory",
				path, (unsigned long long)(init_size >> 20),
				(unsigned long long)load);
	memcpy(zp + BP_HDR, k->data + BP_HDR, hdr_end - BP_HDR);
	*entry = load + 0x200;
	*end = load + init_size;
	return 0;
}

static int load_elf(struct vm *vm, const struct boot_file *k, uint8_t *zp,
		    uint64_t *entry, uint64_t *end, char *err, size_t errlen)
{
	const char *path = vm->cfg->kernel;
	Elf64_Ehdr eh;

	*end = 0;
	if (k->size < sizeof(eh))
		return boot_err(err, errlen, -ENOEXEC, "kernel '%s' is truncated",
				path);
	memcpy(&eh, k->data, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff > k->size ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > k->size - eh.e_phoff)
		return boot_err(err, errlen, -ENOEXEC,
				"kernel '%s' is not a 64-bit x86 ELF", path);
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, k->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > k->size || ph.p_filesz > k->size - ph.p_offset ||
		    load_bytes(vm, ph.p_paddr, k->data + ph.p_offset,
			       ph.p_filesz, ph.p_memsz))
			return boot_err(err, errlen, -ENOEXEC,
					"kernel '%s': segment %d at 0x%llx does not fit guest memory",
					path, i, (unsigned long long)ph.p_paddr);
		/* in RAM, so no overflow */
		if (ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
	}
	/* No setup header in an ELF: write the fields the kernel reads. */
	put_le16(zp + BP_BOOT_FLAG, BOOT_FLAG_MAGIC);
	put_le32(zp + BP_HEADER, HDRS_MAGIC);
	put_le16(zp + BP_VERSION, 0x020f);
	put_le32(zp + BP_KERNEL_ALIGNMENT, 0x1000000);
	put_le16(zp + BP_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(zp + BP_CMDLINE_SIZE, ELF_CMDLINE_MAX);
	zp[BP_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	*entry = eh.e_entry;
	return 0;
}

static int load_initrd(struct vm *vm, uint8_t *zp, uint64_t kernel_end,
		       char *err, size_t errlen)
{
	const char *path = vm->cfg->initrd;
	uint64_t max = guest_mem_low_end(&vm->mem), addr, size;
	uint32_t addr_max = get_le32(zp + BP_INITRD_ADDR_MAX);
	struct stat st;
	uint8_t *dst;
	size_t done = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_err(err, errlen, -errno, "cannot open initrd '%s': %s",
				path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = boot_err(err, errlen, -EINVAL,
			       "initrd '%s' is not a regular file", path);
		goto out;
	}
	size = st.st_size;
	if (addr_max && addr_max + 1ULL < max)
		max = addr_max + 1ULL;
	/* Highest aligned spot below the limit, as bootloaders do. */
	addr = size <= max ? (max - size) & ~(INITRD_ALIGN - 1) : 0;
	if (size > max || addr < kernel_end) {
		ret = boot_err(err, errlen, -ENOMEM,
			       "initrd '%s' (%llu bytes) does not fit in guest memory between the kernel's end at 0x%llx and 0x%llx",
			       path, (unsigned long long)size,
			       (unsigned long long)kernel_end,
			       (unsigned long long)max);
		goto out;
	}
	dst = gpa_to_hva(&vm->mem, addr, size);
	if (!dst) {
		ret = boot_err(err, errlen, -ENOMEM,
			       "initrd '%s' at 0x%llx..0x%llx is not guest RAM",
			       path, (unsigned long long)addr,
			       (unsigned long long)(addr + size));
		goto out;
	}
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, done);

		if (n <= 0) {
			ret = boot_err(err, errlen, -EIO, "reading '%s' failed",
				       path);
			goto out;
		}
		done += n;
	}
	put_le32(zp + BP_RAMDISK_IMAGE, (uint32_t)addr);
	put_le32(zp + BP_RAMDISK_SIZE, (uint32_t)size);
	put_le32(zp + BP_EXT_RAMDISK_IMAGE, addr >> 32);
	put_le32(zp + BP_EXT_RAMDISK_SIZE, size >> 32);
out:
	close(fd);
	return ret;
}

static int write_cmdline(struct vm *vm, uint8_t *zp, char *err,
			 size_t errlen)
{
	const char *cmdline = vm->cfg->cmdline ? vm->cfg->cmdline : "";
	size_t len = strlen(cmdline) + 1;
	uint32_t max = get_le32(zp + BP_CMDLINE_SIZE);

	if (!max)
		max = 255;
	if (len > max + 1ULL || len > LAYOUT_CMDLINE_MAX)
		return boot_err(err, errlen, -E2BIG,
				"kernel command line is %zu bytes; this kernel takes at most %u",
				len - 1, max);
	if (guest_mem_write(&vm->mem, LAYOUT_CMDLINE_ADDR, cmdline, len))
		return boot_err(err, errlen, -ENOMEM,
				"guest memory too small for the command line at 0x%llx",
				(unsigned long long)LAYOUT_CMDLINE_ADDR);
	put_le32(zp + BP_CMD_LINE_PTR, LAYOUT_CMDLINE_ADDR);
	put_le32(zp + BP_CMDLINE_SIZE, max);
	return 0;
}

static void write_e820(struct vm *vm, uint8_t *zp)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(&vm->mem, map, E820_MAX_ENTRIES);

	for (int i = 0; i < n; i++)
		memcpy(zp + BP_E820_TABLE + i * 20, &map[i], 20);
	zp[BP_E820_ENTRIES] = n;
}

/*
 * The display's linear framebuffer as a VESA mode set by firmware: the
 * kernel's simple framebuffer (sysfb) shows output from the first line.
 */
static void write_screen_info(struct vm *vm, uint8_t *zp)
{
	static const uint8_t xrgb[8] = { 8, 16, 8, 8, 8, 0, 0, 0 };
	struct display_boot_fb fb;

	if (!vm->display)
		return;
	display_boot_fb(vm->display, &fb);
	if (fb.bpp != 32 || !fb.width)
		return;
	zp[BP_SI_ISVGA] = VIDEO_TYPE_VLFB;
	put_le16(zp + BP_SI_LFB_WIDTH, fb.width);
	put_le16(zp + BP_SI_LFB_HEIGHT, fb.height);
	put_le16(zp + BP_SI_LFB_DEPTH, fb.bpp);
	put_le32(zp + BP_SI_LFB_BASE, (uint32_t)fb.base);
	put_le32(zp + BP_SI_EXT_LFB_BASE, fb.base >> 32);
	put_le32(zp + BP_SI_CAPABILITIES, VIDEO_CAPABILITY_64BIT_BASE);
	put_le32(zp + BP_SI_LFB_SIZE, fb.size >> 16);
	put_le16(zp + BP_SI_LFB_LINELENGTH, fb.stride);
	memcpy(zp + BP_SI_COLORS, xrgb, sizeof(xrgb));
}

int x86_boot_load(struct vm *vm, uint64_t rsdp, char *err, size_t errlen)
{
	uint8_t *zp = gpa_to_hva(&vm->mem, LAYOUT_ZERO_PAGE, BP_SIZE);
	struct boot_file k = { 0 };
	uint64_t entry = 0, kernel_end = 0;
	int ret;

	if (!zp)
		return boot_err(err, errlen, -ENOMEM, "guest memory too small");
	memset(zp, 0, BP_SIZE);
	ret = read_file(vm->cfg->kernel, &k, err, errlen);
	if (ret)
		return ret;
	if (k.size >= 4 && !memcmp(k.data, ELFMAG, SELFMAG))
		ret = load_elf(vm, &k, zp, &entry, &kernel_end, err, errlen);
	else if (k.size > 0x300 && get_le16(k.data + BP_BOOT_FLAG) == BOOT_FLAG_MAGIC &&
		 get_le32(k.data + BP_HEADER) == HDRS_MAGIC)
		ret = load_bzimage(vm, &k, zp, &entry, &kernel_end, err,
				   errlen);
	else
		ret = boot_err(err, errlen, -ENOEXEC,
			       "kernel '%s' is neither a bzImage nor an ELF vmlinux",
			       vm->cfg->kernel);
	free(k.data);
	if (ret)
		return ret;

	zp[BP_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	zp[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	put_le16(zp + BP_HEAP_END_PTR, 0xfe00);
	put_le16(zp + BP_VID_MODE, 0xffff);
	memcpy(zp + BP_ACPI_RSDP_ADDR, &rsdp, 8);
	ret = write_cmdline(vm, zp, err, errlen);
	if (ret)
		return ret;
	if (vm->cfg->initrd) {
		ret = load_initrd(vm, zp, kernel_end, err, errlen);
		if (ret)
			return ret;
	}
	write_e820(vm, zp);
	write_screen_info(vm, zp);
	if (x86_boot_cpu_state(vm, entry, LAYOUT_ZERO_PAGE))
		return boot_err(err, errlen, -ENOMEM,
				"guest memory too small for the boot GDT and page tables");
	return 0;
}

static int write_page_tables(struct vm *vm)
{
	uint64_t *pml4 = gpa_to_hva(&vm->mem, LAYOUT_PML4_ADDR, PAGE_SIZE);
	uint64_t *pdpt = gpa_to_hva(&vm->mem, LAYOUT_PDPT_ADDR, PAGE_SIZE);
	uint64_t *pd = gpa_to_hva(&vm->mem, LAYOUT_PD_ADDR, 4 * PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	/* Identity map the first 4 GiB with 2 MiB pages (P | W | PS). */
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = LAYOUT_PDPT_ADDR | 0x3;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD_ADDR + i * PAGE_SIZE) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i * HUGE_2M) | 0x83;
	return 0;
}

static int write_gdt(struct vm *vm)
{
	const uint64_t gdt[] = {
		0,
		0,
		0x00af9b000000ffffULL,	/* 0x10: 64-bit code */
		0x00cf93000000ffffULL,	/* 0x18: data */
		0x008f8b000000ffffULL,	/* 0x20: TSS (busy) */
	};

	return guest_mem_write(&vm->mem, LAYOUT_GDT_ADDR, gdt, sizeof(gdt));
}

int x86_boot_cpu_state(struct vm *vm, uint64_t entry, uint64_t zero_page)
{
	struct x86_segment code = {
		.selector = BOOT_CS, .limit = 0xfffff, .type = 0xb,
		.present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct x86_segment data = {
		.selector = BOOT_DS, .limit = 0xfffff, .type = 0x3,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct x86_sregs *s = &vm->boot_sregs;
	int ret;

	ret = write_page_tables(vm);
	if (!ret)
		ret = write_gdt(vm);
	if (ret)
		return ret;
	memset(s, 0, sizeof(*s));
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct x86_segment){ .selector = BOOT_TSS, .limit = 0xfffff,
				      .type = 0xb, .present = 1, .g = 1 };
	s->ldt = (struct x86_segment){ .type = 0x2, .present = 1,
				       .unusable = 1 };
	s->gdt = (struct x86_dtable){ LAYOUT_GDT_ADDR, 5 * 8 - 1 };
	s->idt = (struct x86_dtable){ LAYOUT_IDT_ADDR, 0 };
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		 X86_CR0_WP | X86_CR0_AM | X86_CR0_PG;
	s->cr3 = LAYOUT_PML4_ADDR;
	s->cr4 = X86_CR4_PAE;
	s->efer = X86_EFER_LME | X86_EFER_LMA;
	memset(&vm->boot_regs, 0, sizeof(vm->boot_regs));
	vm->boot_regs.rip = entry;
	vm->boot_regs.rsi = zero_page;
	vm->boot_regs.rsp = LAYOUT_BOOT_STACK;
	vm->boot_regs.rflags = X86_RFLAGS_RESERVED;
	return 0;
}
