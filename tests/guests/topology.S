/*
 * Reports what a guest learns about its CPU topology and NUMA layout:
 * the BSP's CPUID topology leaves, one line each,
 *   "cpuid LLLLLLLL SSSSSSSS: EAX EBX ECX EDX" (hex),
 * then the MADT, SRAT and SLIT found through RSDP -> XSDT, each as
 *   "acpi SIG <the table's bytes in hex>",
 * and "topology: done". tests/integration/numa.sh decodes the tables with
 * iasl and checks both against the --cpus and --numa given.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov 0x70(%rsi), %r12		/* boot_params.acpi_rsdp_addr */
	lea queries(%rip), %r13
1:	mov (%r13), %eax
	cmp $0xffffffff, %eax
	je acpi
	mov 4(%r13), %ecx
	mov %eax, %r8d
	mov %ecx, %r9d
	cpuid
	mov %eax, %r10d
	mov %ebx, %r11d
	mov %ecx, %r14d
	mov %edx, %r15d
	PUTS(s_cpuid)
	mov %r8d, %eax
	call put_hex32
	PUTS(s_space)
	mov %r9d, %eax
	call put_hex32
	PUTS(s_colon)
	mov %r10d, %eax
	call put_hex32
	PUTS(s_space)
	mov %r11d, %eax
	call put_hex32
	PUTS(s_space)
	mov %r14d, %eax
	call put_hex32
	PUTS(s_space)
	mov %r15d, %eax
	call put_hex32
	PUTS(s_nl)
	add $8, %r13
	jmp 1b

acpi:
	test %r12, %r12
	jz fail
	mov 24(%r12), %rbx		/* RSDP.XsdtAddress */
	mov 4(%rbx), %ecx		/* XSDT length */
	sub $36, %ecx
	shr $3, %ecx
	lea 36(%rbx), %r13		/* the entries */
	mov %ecx, %r14d
2:	test %r14d, %r14d
	jz done
	mov (%r13), %rbx		/* a table */
	mov (%rbx), %eax
	cmp $0x43495041, %eax		/* "APIC" */
	je 3f
	cmp $0x54415253, %eax		/* "SRAT" */
	je 3f
	cmp $0x54494c53, %eax		/* "SLIT" */
	jne 4f
3:	PUTS(s_acpi)
	mov (%rbx), %eax		/* the signature as text */
	mov %eax, sig(%rip)
	PUTS(sig)
	PUTS(s_space)
	mov 4(%rbx), %r15d		/* its length */
	cmp $4096, %r15d
	ja fail
5:	test %r15d, %r15d
	jz 6f
	movzbl (%rbx), %eax
	call put_hex8
	inc %rbx
	dec %r15d
	jmp 5b
6:	PUTS(s_nl)
4:	add $8, %r13
	dec %r14d
	jmp 2b

done:
	PUTS(s_done)
	EXIT(0)
fail:
	EXIT(3)

/* put_hex32: eax as 8 hex digits; put_hex8: al as 2 (clobber rcx, rdx, rsi) */
put_hex32:
	mov %eax, %esi
	mov $28, %cl
	jmp 7f
put_hex8:
	mov %eax, %esi
	mov $4, %cl
7:	mov $COM1, %dx
8:	mov %esi, %eax
	shr %cl, %eax
	and $0xf, %eax
	add $'0', %al
	cmp $'9', %al
	jbe 9f
	add $('a' - '0' - 10), %al
9:	out %al, %dx
	sub $4, %cl
	jns 8b
	ret
GUEST_LIB
	.section .rodata
queries:
	.long 0, 0, 1, 0, 4, 0, 4, 1, 4, 2, 4, 3
	.long 0xb, 0, 0xb, 1, 0xb, 2, 0x1f, 0, 0x1f, 1, 0x1f, 2
	.long 0xffffffff, 0
s_cpuid: .asciz "cpuid "
s_space: .asciz " "
s_colon: .asciz ": "
s_nl:	.asciz "\n"
s_acpi:	.asciz "acpi "
s_done:	.asciz "topology: done\n"
	.data
sig:	.long 0, 0
