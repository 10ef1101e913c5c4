/*
 * Prints a '.' after every 2^14 rounds of a busy loop, forever: output
 * that grows only while a vCPU runs (pause/resume tests).
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	PUTS(msg)
	mov $COM1, %dx
1:	mov $(1 << 14), %ecx
2:	dec %ecx
	jnz 2b
	mov $'.', %al
	out %al, %dx
	jmp 1b
GUEST_LIB
	.section .rodata
msg:	.asciz "ticking\n"
