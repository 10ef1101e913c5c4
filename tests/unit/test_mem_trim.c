// SPDX-License-Identifier: MIT
/*
 * mem_trim: the pages of a read-only private file mapping that were never
 * written leave the process's resident memory and read back as the file's;
 * pages the process wrote (a RELRO-like mapping written then made
 * read-only, a writable mapping) keep what was written.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "vmm/mem_trim.h"

#define PAGES	64
#define PAGE	4096

/* Rss and Anonymous (KiB) of the mapping holding p */
static bool vma_kib(const void *p, long *rss, long *anon)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	uintptr_t a = (uintptr_t)p;
	bool in = false, found = false;
	char line[512];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e, ino;
		long n;

		if (sscanf(line, "%lx-%lx %*s %*x %*x:%*x %lu", &s, &e,
			   &ino) == 3) {
			in = a >= s && a < e;
			found |= in;
		} else if (in && sscanf(line, "Rss: %ld", &n) == 1) {
			*rss = n;
		} else if (in && sscanf(line, "Anonymous: %ld", &n) == 1) {
			*anon = n;
		}
	}
	fclose(f);
	return found;
}

static unsigned char expect(size_t off)
{
	return (unsigned char)(off / PAGE * 7 + off % 251);
}

static int make_file(void)
{
	char path[] = "/tmp/cvisor-trim-XXXXXX";
	static unsigned char buf[PAGES * PAGE];
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = expect(i);
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* m reads as the file but at offset but (where something else was written) */
static bool same_as_file(const unsigned char *m, size_t but)
{
	for (size_t i = 0; i < PAGES * PAGE; i++)
		if (i != but && m[i] != expect(i))
			return false;
	return true;
}

static void test_trim_clean_and_written(void)
{
	int fd = make_file();
	unsigned char *ro, *relro, *rw;
	long rss = -1, anon = -1, sum = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	ro = mmap(NULL, PAGES * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	relro = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		     fd, 0);
	rw = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		  fd, 0);
	CHECK(ro != MAP_FAILED && relro != MAP_FAILED && rw != MAP_FAILED);
	if (ro == MAP_FAILED || relro == MAP_FAILED || rw == MAP_FAILED)
		return;
	for (size_t i = 0; i < PAGES * PAGE; i += PAGE)
		sum += ro[i] + relro[i] + rw[i];
	CHECK(sum > 0);
	relro[3 * PAGE + 5] = 0xee;
	rw[9 * PAGE] = 0xdd;
	CHECK(!mprotect(relro, PAGES * PAGE, PROT_READ));

	CHECK(vma_kib(ro, &rss, &anon));
	CHECK_EQ(rss, PAGES * PAGE / 1024);
	CHECK_EQ(anon, 0);
	CHECK(vma_kib(relro, &rss, &anon));
	CHECK_EQ(anon, 4);

	CHECK(mem_trim() >= PAGES * PAGE / 1024);
	CHECK(vma_kib(ro, &rss, &anon));
	CHECK_EQ(rss, 0);
	/* what was written stays, what was not still reads as the file */
	CHECK(vma_kib(relro, &rss, &anon));
	CHECK_EQ(rss, PAGES * PAGE / 1024);
	CHECK_EQ(relro[3 * PAGE + 5], 0xee);
	CHECK_EQ(rw[9 * PAGE], 0xdd);
	CHECK(same_as_file(ro, PAGES * PAGE));
	CHECK(same_as_file(relro, 3 * PAGE + 5));
	CHECK(same_as_file(rw, 9 * PAGE));
	CHECK(vma_kib(ro, &rss, &anon));
	CHECK_EQ(rss, PAGES * PAGE / 1024);
	munmap(ro, PAGES * PAGE);
	munmap(relro, PAGES * PAGE);
	munmap(rw, PAGES * PAGE);
	close(fd);
}

int main(void)
{
	RUN(test_trim_clean_and_written);
	return test_summary();
}
