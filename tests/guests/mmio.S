/*
 * Unclaimed MMIO and port I/O: reads return all ones, writes are ignored,
 * and the VM keeps running. Also checks the boot_params pointer in RSI.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	cmp $0x7000, %rsi
	jne fail
	mov $0xd0000000, %rbx		/* PCI window, nothing mapped */
	movl $0x12345678, (%rbx)
	mov (%rbx), %eax
	cmp $0xffffffff, %eax
	jne fail
	mov $0x2f0, %dx			/* unused port */
	mov $0x55, %al
	out %al, %dx
	in %dx, %al
	cmp $0xff, %al
	jne fail
	PUTS(msg)
	EXIT(0)
fail:
	EXIT(2)
GUEST_LIB
	.section .rodata
msg:	.asciz "mmio: unclaimed accesses ignored\n"
