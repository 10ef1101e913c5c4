/*
 * Fills 16 MiB at 16 MiB with one repeated pattern, says "filled" and
 * spins: identical pages for KSM tests (run with at least 64M).
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov $0x1000000, %rdi
	mov $(0x1000000 / 8), %rcx
	mov $0x5a5a5a5a12345678, %rax
	cld
	rep stosq
	PUTS(msg)
1:	hlt
	jmp 1b
GUEST_LIB
	.section .rodata
msg:	.asciz "filled\n"
