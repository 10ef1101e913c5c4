/*
 * PCI configuration space: the host bridge reads the same through the
 * 0xCF8/0xCFC ports and through ECAM, and a virtio-rng (1af4:1044) is
 * found by scanning bus 0.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov $0x80000000, %eax		/* bus 0, device 0, function 0, reg 0 */
	mov $0xcf8, %dx
	out %eax, %dx
	mov $0xcfc, %dx
	in %dx, %eax
	mov %eax, %ebx
	cmp $0xffff, %bx
	je fail
	mov $ECAM_BASE, %rcx
	mov (%rcx), %eax
	cmp %eax, %ebx
	jne fail
	/* class code of the host bridge: 06 00 */
	mov 8(%rcx), %eax
	shr $16, %eax
	cmp $0x0600, %eax
	jne fail
	/* scan devices 1..31 for virtio-rng */
	mov $1, %esi
scan:
	mov %rsi, %rdi
	shl $15, %rdi
	add %rcx, %rdi
	mov (%rdi), %eax
	cmp $0x10441af4, %eax
	je found
	inc %esi
	cmp $32, %esi
	jb scan
	jmp fail
found:
	PUTS(msg)
	EXIT(0)
fail:
	EXIT(5)
GUEST_LIB
	.section .rodata
msg:	.asciz "pci: host bridge and virtio-rng found\n"
