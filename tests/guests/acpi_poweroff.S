/*
 * Finds the RSDP where boot_params says it is, checks its signature, then
 * powers off through the ACPI sleep control register with SLP_TYP = 5.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov 0x70(%rsi), %rbx		/* boot_params.acpi_rsdp_addr */
	test %rbx, %rbx
	jz fail
	mov (%rbx), %rax
	mov rsd_ptr(%rip), %rcx
	cmp %rcx, %rax
	jne fail
	PUTS(msg)
	mov $0x600, %dx			/* sleep control register */
	mov $(0x20 | (5 << 2)), %al	/* SLP_EN | SLP_TYP(S5) */
	out %al, %dx
	hlt
fail:
	EXIT(3)
GUEST_LIB
	.section .rodata
rsd_ptr: .ascii "RSD PTR "
msg:	.asciz "acpi: RSDP found, powering off\n"
