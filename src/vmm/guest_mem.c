// SPDX-License-Identifier: MIT
#include "vmm/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "arch/x86/layout.h"

int guest_mem_hugetlb_check(const char *dir, uint64_t size, char *err,
			    size_t err_size)
{
	struct statfs sf;

	if (statfs(dir, &sf)) {
		int e = errno;

		snprintf(err, err_size, "hugetlb=%s: %s", dir, strerror(e));
		return -e;
	}
	if (sf.f_type != HUGETLBFS_MAGIC) {
		snprintf(err, err_size, "hugetlb=%s is not a hugetlbfs mount", dir);
		return -EINVAL;
	}
	if (sf.f_bsize <= 0 || size % sf.f_bsize) {
		snprintf(err, err_size,
			 "%llu MiB is not a multiple of the %ld KiB huge pages of %s",
			 (unsigned long long)(size >> 20), (long)sf.f_bsize >> 10,
			 dir);
		return -EINVAL;
	}
	return 0;
}

/*
 * RAM from a hugetlbfs mount: an unlinked file sized to the guest, mapped
 * shared so the kernel backs it with the mount's huge pages.
 */
static void *guest_mem_map_hugetlb(const char *dir, uint64_t size)
{
	char err[160];
	void *p;
	int fd;

	/* Elsewhere the file would be ordinary shared memory. */
	if (guest_mem_hugetlb_check(dir, size, err, sizeof(err))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return MAP_FAILED;
	if (ftruncate(fd, size) < 0) {
		close(fd);
		return MAP_FAILED;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p;
}

int guest_mem_init(struct guest_mem *mem, uint64_t ram_size,
		   const struct guest_mem_opts *opts)
{
	uint64_t low = ram_size, high = 0;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint8_t *p;

	memset(mem, 0, sizeof(*mem));
	if (ram_size == 0 || ram_size & 0xfff)
		return -EINVAL;
	if (ram_size > LAYOUT_MMIO_HOLE) {
		low = LAYOUT_MMIO_HOLE;
		high = ram_size - LAYOUT_MMIO_HOLE;
	}
	/* One mapping keeps RSS accounting and madvise calls simple. */
	if (opts && opts->hugetlb_path)
		p = guest_mem_map_hugetlb(opts->hugetlb_path, ram_size);
	else
		p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (opts && opts->hugepages)
		madvise(p, ram_size, MADV_HUGEPAGE);
	if (opts && opts->merge)
		madvise(p, ram_size, MADV_MERGEABLE);
	mem->mapping = p;
	mem->mapping_size = ram_size;
	mem->ram_size = ram_size;
	mem->regions[0] = (struct guest_region){ 0, low, p };
	mem->nr_regions = 1;
	if (high) {
		mem->regions[1] = (struct guest_region){
			LAYOUT_HIGH_MEM_START, high, p + low };
		mem->nr_regions = 2;
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	guest_mem_log_stop(mem);
	if (mem->mapping)
		munmap(mem->mapping, mem->mapping_size);
	memset(mem, 0, sizeof(*mem));
}

void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
		   size_t len)
{
	void *p = gpa_to_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa,
		    const void *buf, size_t len)
{
	void *p = gpa_to_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->regions[0].size;
}

uint64_t guest_mem_high_size(const struct guest_mem *mem)
{
	return mem->nr_regions > 1 ? mem->regions[1].size : 0;
}

int guest_mem_log_start(struct guest_mem *mem)
{
	size_t words = (guest_mem_pages(mem) + 63) / 64;

	mem->dirty = calloc(words ? words : 1, sizeof(uint64_t));
	return mem->dirty ? 0 : -ENOMEM;
}

void guest_mem_log_mark(const struct guest_mem *mem, const void *hva,
			size_t len)
{
	_Atomic uint64_t *dirty = mem->dirty;
	uint64_t first, last;

	if (!dirty || !len)
		return;
	if ((const uint8_t *)hva < mem->mapping ||
	    (const uint8_t *)hva >= mem->mapping + mem->mapping_size)
		return;
	first = ((const uint8_t *)hva - mem->mapping) >> 12;
	last = ((const uint8_t *)hva - mem->mapping + len - 1) >> 12;
	if (last >= guest_mem_pages(mem))
		last = guest_mem_pages(mem) - 1;
	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or(&dirty[p / 64], 1ULL << (p % 64));
}

void guest_mem_log_sync(const struct guest_mem *mem, uint64_t *bitmap)
{
	size_t words = (guest_mem_pages(mem) + 63) / 64;

	if (!mem->dirty)
		return;
	for (size_t i = 0; i < words; i++)
		bitmap[i] |= atomic_exchange(&mem->dirty[i], 0);
}

void guest_mem_log_stop(struct guest_mem *mem)
{
	free((void *)mem->dirty);
	mem->dirty = NULL;
}
