/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM. Every access to guest memory from the VMM goes through the
 * checked accessors here: a guest physical address plus a length becomes a
 * host pointer only if the whole range lies inside one RAM region.
 */
#ifndef CVISOR_VMM_GUEST_MEM_H
#define CVISOR_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/numa.h"

#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem_opts {
	bool hugepages;		/* back RAM with transparent huge pages */
	bool merge;		/* mark RAM MADV_MERGEABLE for KSM */
	const char *hugetlb_path; /* hugetlbfs mount to back RAM, or NULL */
	/* Guest NUMA nodes (numa.h), or NULL: one node, unbound. */
	const struct numa_config *numa;
};

/*
 * A guest NUMA node's RAM: its own host mapping inside the one reserved
 * range, so each node is bound (and could be backed) on its own.
 */
struct guest_mem_node {
	uint8_t *hva;
	uint64_t offset;	/* from the start of RAM (mapping) */
	uint64_t size;
	struct numa_node cfg;	/* host binding; cpus unused here */
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	int nr_regions;
	uint64_t ram_size;	/* total RAM, excluding the MMIO hole */
	/*
	 * One reserved host range holding all regions, RAM in guest
	 * physical order, aligned for huge pages; each node is a mapping of
	 * its own inside it.
	 */
	uint8_t *mapping;
	uint64_t mapping_size;
	struct guest_mem_node nodes[NUMA_MAX_NODES];
	int nr_nodes;
	bool merge;		/* MADV_MERGEABLE, again after a remap */
	/*
	 * While migrating: one bit per page of the mapping that the VMM
	 * itself (device threads) wrote; NULL otherwise. The accelerator
	 * tracks the guest's own writes (accel_ops dirty_log_*).
	 */
	_Atomic uint64_t *dirty;
	/*
	 * With a software CPU that translates guest code (accel emu): one
	 * word per page of the mapping, its code generation (GUEST_CODE_*
	 * below); NULL otherwise.
	 */
	_Atomic uint32_t *code;
};

/*
 * A page's code generation. A CPU that translates code from a page sets
 * GUEST_CODE_SET in its word, asks every CPU's soft TLB to send stores to
 * the page the slow way, then sets GUEST_CODE_SEEN and puts the ask's
 * number (modulo 2^29) in the bits from GUEST_CODE_ASK_SHIFT
 * (accel/emu/code_track.h). Every write to a page with GUEST_CODE_SET
 * clears both (guest_mem_code_written), and only a new ask sets them
 * again, so a translated block whose page's word is what it was when the
 * block was made runs the bytes it was made from. GUEST_CODE_MIXED (kept
 * by writes): the page's blocks were found unchanged after writes too
 * often (code and data written in one page); blocks made from it compare
 * their bytes.
 */
#define GUEST_CODE_SET		1u
#define GUEST_CODE_SEEN		2u
#define GUEST_CODE_ASK_SHIFT	2
#define GUEST_CODE_ASK_MASK	((1u << 29) - 1)
#define GUEST_CODE_MIXED	(1u << 31)

/*
 * Map ram_size bytes of guest RAM, split around the MMIO hole below 4 GiB.
 * Returns 0 or a negative errno.
 */
int guest_mem_init(struct guest_mem *mem, uint64_t ram_size,
		   const struct guest_mem_opts *opts);
void guest_mem_destroy(struct guest_mem *mem);
/*
 * Map fd (a snapshot's memory file, laid out as RAM) copy-on-write over
 * every node, keeping each node's binding. 0 or a negative errno.
 */
int guest_mem_map_file(struct guest_mem *mem, int fd);
/*
 * Can size bytes of RAM come from the hugetlbfs mount dir? 0, or -errno
 * with a one-line reason naming dir in err.
 */
int guest_mem_hugetlb_check(const char *dir, uint64_t size, char *err,
			    size_t err_size);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside RAM. */
void *gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy in or out of guest RAM; -EFAULT if the range is not all RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf,
		   size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa,
		    const void *buf, size_t len);

/*
 * Code generations (the code member): start maps them (all zero, no page
 * is code), stop unmaps them. 0 or a negative errno.
 */
int guest_mem_code_start(struct guest_mem *mem);
void guest_mem_code_stop(struct guest_mem *mem);
void guest_mem_code_end(_Atomic uint32_t *gen);

/*
 * After the VMM or a CPU wrote [hva, hva+len) of RAM (hva inside the
 * mapping) other than through a soft TLB's direct write: every page in
 * it that translated code was made from ends its generation. Device
 * writes (DMA) call it before the guest can learn that they are done
 * (virtq_push before the used index). A no-op without code generations.
 */
static inline void guest_mem_code_written(const struct guest_mem *mem,
					  const void *hva, size_t len)
{
	uint64_t first, last;

	if (!mem->code || !len)
		return;
	/* the stores before the loads of the words (see code_track) */
	atomic_thread_fence(memory_order_seq_cst);
	first = (uint64_t)((const uint8_t *)hva - mem->mapping) >> 12;
	last = (uint64_t)((const uint8_t *)hva - mem->mapping + len - 1) >> 12;
	for (uint64_t p = first; p <= last; p++)
		if (atomic_load_explicit(&mem->code[p], memory_order_relaxed) &
		    GUEST_CODE_SET)
			guest_mem_code_end(&mem->code[p]);
}

/*
 * Device writes for live migration: start allocates the bitmap, mark
 * records [hva, hva+len) (a no-op while not logging; hva inside the
 * mapping), sync ORs the record into bitmap and clears it, stop frees it.
 * Start and stop run with no device thread writing guest memory.
 */
int guest_mem_log_start(struct guest_mem *mem);
void guest_mem_log_mark(const struct guest_mem *mem, const void *hva,
			size_t len);
void guest_mem_log_sync(const struct guest_mem *mem, uint64_t *bitmap);
void guest_mem_log_stop(struct guest_mem *mem);
static inline uint64_t guest_mem_pages(const struct guest_mem *mem)
{
	return mem->mapping_size >> 12;
}

/* Is the 4 KiB page at p (8-byte aligned) all zero? */
static inline bool guest_mem_page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < 4096 / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* Top of RAM below the hole, and RAM above 4 GiB (0 when there is none). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);
uint64_t guest_mem_high_size(const struct guest_mem *mem);

#endif
