// SPDX-License-Identifier: MIT
/*
 * The VMM's start-up reads much of its libraries once: the dynamic linker
 * relocates libcrypto, gnutls (through libvncserver) and the rest and
 * looks up their symbols, and OpenSSL loads its configuration and
 * providers (sandbox.c, so that a cipher works under the seccomp filter).
 * Those pages stay mapped, and counted as the process's resident memory,
 * though most are never read again: 9 MiB of libraries were resident
 * under a Debian boot with --accel emu, more than half the VMM's own
 * memory (bench/emu.sh's vmm row).
 *
 * A private file mapping's page that was never written is the file's page
 * in the page cache: MADV_DONTNEED takes it out of this process's page
 * tables, and the next access maps it again from the page cache (a minor
 * fault, no I/O while the file stays cached). A page that was written
 * (relocations in RELRO, .data) is the process's own copy and would be
 * lost: a mapping with any such page (Anonymous: in smaps), or one that
 * may be written, is left alone.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/mem_trim.h"

struct trim_vma {
	unsigned long start, end;
	bool file;	/* a file's private mapping, not writable */
	bool anon;	/* has pages of its own (written copies) */
	long rss;
};

static long trim_vma(const struct trim_vma *v)
{
	if (!v->file || v->anon || !v->rss)
		return 0;
	if (madvise((void *)v->start, v->end - v->start, MADV_DONTNEED))
		return 0;
	return v->rss;
}

long mem_trim(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	struct trim_vma v = { 0 };
	char line[512];
	long kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, inode;
		char perms[8];
		long n;

		if (sscanf(line, "%lx-%lx %7s %*x %*x:%*x %lu", &start, &end,
			   perms, &inode) == 4) {
			kib += trim_vma(&v);
			v = (struct trim_vma){
				.start = start, .end = end,
				.file = inode && perms[1] != 'w' &&
					perms[3] == 'p',
			};
		} else if (sscanf(line, "Anonymous: %ld", &n) == 1) {
			v.anon = n != 0;
		} else if (sscanf(line, "Rss: %ld", &n) == 1) {
			v.rss = n;
		}
	}
	kib += trim_vma(&v);
	fclose(f);
	malloc_trim(0);
	return kib;
}
