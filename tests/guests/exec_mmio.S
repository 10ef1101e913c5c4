/*
 * Jumps into the PCI window, where nothing is mapped: KVM cannot fetch
 * instructions from emulated MMIO and stops with an internal error (on
 * VT-x/AMD-V and kvm_pvm alike), and the VMM must end with one line naming
 * the exit and the guest RIP. The software CPU fetches all ones there, as
 * hardware does, and raises #UD: the handler checks the frame's RIP and
 * passes (run with --test-exit).
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	lea ud_handler(%rip), %rax
	lea idt + 6 * 16(%rip), %rdi
	mov %ax, (%rdi)
	mov %cs, %bx
	mov %bx, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	lidt idtr(%rip)
	mov $0xd0000000, %rax
	jmp *%rax

ud_handler:
	mov $0xd0000000, %ecx
	cmp %rcx, (%rsp)
	jne 1f
	PUTS(msg)
	EXIT(0)
1:	EXIT(1)
GUEST_LIB

	.section .rodata	/* guest RAM is writable all the same */
	.balign 16
idtr:	.word 256 * 16 - 1
	.quad idt
idt:	.fill 256 * 16, 1, 0
msg:	.asciz "#UD at 0xd0000000\n"
