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
#include "vmm/numa_host.h"

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
 * RAM from a hugetlbfs mount: an unlinked file sized to the node, mapped
 * shared at addr so the kernel backs it with the mount's huge pages.
 */
static int guest_mem_map_hugetlb(const char *dir, void *addr, uint64_t size)
{
	char err[160];
	void *p;
	int fd;

	/* Elsewhere the file would be ordinary shared memory. */
	if (guest_mem_hugetlb_check(dir, size, err, sizeof(err)))
		return -EINVAL;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0) {
		close(fd);
		return -errno;
	}
	p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	close(fd);
	return p == MAP_FAILED ? -errno : 0;
}

/* The huge page size of a hugetlbfs mount, or 2 MiB (THP). */
static uint64_t guest_mem_align(const struct guest_mem_opts *opts)
{
	struct statfs sf;

	if (opts && opts->hugetlb_path && !statfs(opts->hugetlb_path, &sf) &&
	    sf.f_bsize > (2 << 20))
		return sf.f_bsize;
	return 2 << 20;
}

/*
 * A PROT_NONE range of size bytes aligned to align (so THP and
 * hugetlbfs pages fit from its start); the nodes are mapped over it.
 */
static uint8_t *guest_mem_reserve(uint64_t size, uint64_t align)
{
	uint64_t len = size + align;
	uint8_t *p, *start;

	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (start > p)
		munmap(p, start - p);
	len -= start - p;
	if (len > size)
		munmap(start + size, len - size);
	return start;
}

static void guest_mem_advise(const struct guest_mem_opts *opts, void *p,
			     uint64_t size)
{
	if (opts && opts->hugepages)
		madvise(p, size, MADV_HUGEPAGE);
	if (opts && opts->merge)
		madvise(p, size, MADV_MERGEABLE);
}

/* Map node n, empty, at its place, and bind it. */
static int guest_mem_map_node(struct guest_mem_node *n,
			      const struct guest_mem_opts *opts)
{
	int ret;

	if (opts && opts->hugetlb_path) {
		ret = guest_mem_map_hugetlb(opts->hugetlb_path, n->hva, n->size);
	} else {
		void *p = mmap(n->hva, n->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			       MAP_FIXED, -1, 0);

		ret = p == MAP_FAILED ? -errno : 0;
	}
	if (ret)
		return ret;
	guest_mem_advise(opts, n->hva, n->size);
	return numa_host_bind(n->hva, n->size, &n->cfg);
}

int guest_mem_init(struct guest_mem *mem, uint64_t ram_size,
		   const struct guest_mem_opts *opts)
{
	const struct numa_config *numa = opts ? opts->numa : NULL;
	uint64_t low = ram_size, high = 0, off = 0;
	uint8_t *p;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (ram_size == 0 || ram_size & 0xfff)
		return -EINVAL;
	if (ram_size > LAYOUT_MMIO_HOLE) {
		low = LAYOUT_MMIO_HOLE;
		high = ram_size - LAYOUT_MMIO_HOLE;
	}
	p = guest_mem_reserve(ram_size, guest_mem_align(opts));
	if (!p)
		return -errno;
	mem->mapping = p;
	mem->mapping_size = ram_size;
	mem->ram_size = ram_size;
	mem->merge = opts && opts->merge;
	mem->nr_nodes = numa && numa->nr_nodes ? numa->nr_nodes : 1;
	for (int i = 0; i < mem->nr_nodes; i++) {
		struct guest_mem_node *n = &mem->nodes[i];

		n->offset = off;
		n->size = numa && numa->nr_nodes ? numa->nodes[i].mem : ram_size;
		if (n->size > ram_size - off) {
			guest_mem_destroy(mem);
			return -EINVAL;
		}
		n->hva = p + off;
		if (numa && numa->nr_nodes)
			n->cfg = numa->nodes[i];
		off += n->size;
		ret = guest_mem_map_node(n, opts);
		if (ret) {
			guest_mem_destroy(mem);
			return ret;
		}
	}
	if (off != ram_size) {
		guest_mem_destroy(mem);
		return -EINVAL;
	}
	mem->regions[0] = (struct guest_region){ 0, low, p };
	mem->nr_regions = 1;
	if (high) {
		mem->regions[1] = (struct guest_region){
			LAYOUT_HIGH_MEM_START, high, p + low };
		mem->nr_regions = 2;
	}
	return 0;
}

int guest_mem_map_file(struct guest_mem *mem, int fd)
{
	for (int i = 0; i < mem->nr_nodes; i++) {
		struct guest_mem_node *n = &mem->nodes[i];
		void *p = mmap(n->hva, n->size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
			       n->offset);
		int ret;

		if (p == MAP_FAILED)
			return -errno;
		if (mem->merge)
			madvise(p, n->size, MADV_MERGEABLE);
		ret = numa_host_bind(n->hva, n->size, &n->cfg);
		if (ret)
			return ret;
		guest_mem_code_written(mem, n->hva, n->size);
	}
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	guest_mem_log_stop(mem);
	guest_mem_code_stop(mem);
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
	guest_mem_code_written(mem, p, len);
	return 0;
}

/*
 * Reserved, not committed: only the words of pages that held code are
 * ever written (a 256 MiB guest has 256 KiB of them)
 */
int guest_mem_code_start(struct guest_mem *mem)
{
	size_t size = guest_mem_pages(mem) * sizeof(*mem->code);
	void *p;

	if (mem->code)
		return 0;
	p = mmap(NULL, size ? size : 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	mem->code = p;
	return 0;
}

void guest_mem_code_stop(struct guest_mem *mem)
{
	size_t size = guest_mem_pages(mem) * sizeof(*mem->code);

	if (mem->code)
		munmap((void *)mem->code, size ? size : 4096);
	mem->code = NULL;
}

/* A write to a page with GUEST_CODE_SET: not code, its generation ends */
void guest_mem_code_end(_Atomic uint32_t *gen)
{
	atomic_fetch_and(gen, ~(GUEST_CODE_SET | GUEST_CODE_SEEN));
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
