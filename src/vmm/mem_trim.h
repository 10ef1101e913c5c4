/* SPDX-License-Identifier: MIT */
/*
 * Giving back the memory start-up touched and the run does not need
 * (mem_trim.c).
 */
#ifndef CVISOR_VMM_MEM_TRIM_H
#define CVISOR_VMM_MEM_TRIM_H

/*
 * Unmaps the pages of the read-only file mappings (the program's and the
 * libraries' code and constants) that were never written, and returns
 * the heap's free pages to the kernel. Returns the KiB let go.
 */
long mem_trim(void);

#endif
