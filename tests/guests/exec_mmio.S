/*
 * Jumps into the PCI window, where nothing is mapped: KVM cannot fetch
 * instructions from emulated MMIO and stops with an internal error (on
 * VT-x/AMD-V and kvm_pvm alike), the software CPU with a fetch fault. The
 * VMM must end with one line naming the exit and the guest RIP.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov $0xd0000000, %rax
	jmp *%rax
GUEST_LIB
