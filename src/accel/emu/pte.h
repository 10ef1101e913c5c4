/* SPDX-License-Identifier: MIT */
/*
 * Page-table entry bits of PAE and 4-level paging (Intel SDM vol. 3
 * 4.5), for the page walks of mmu.c and read_window.c.
 */
#ifndef CVISOR_ACCEL_EMU_PTE_H
#define CVISOR_ACCEL_EMU_PTE_H

#include <stdint.h>

#define PTE_P	(1ULL << 0)
#define PTE_W	(1ULL << 1)
#define PTE_U	(1ULL << 2)
#define PTE_A	(1ULL << 5)
#define PTE_D	(1ULL << 6)
#define PTE_PS	(1ULL << 7)
#define PTE_G	(1ULL << 8)
#define PTE_NX	(1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

struct emu_cpu;

/* ORs bits into the entry at pte (guest RAM) as the CPU does (mmu.c) */
void pte_set_bits(struct emu_cpu *cpu, uint64_t *pte, uint64_t bits);

#endif
