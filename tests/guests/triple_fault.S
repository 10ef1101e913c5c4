/* An empty IDT makes the first exception a triple fault. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	lidt idtr(%rip)
	ud2
	EXIT(1)
	.section .rodata
idtr:	.word 0
	.quad 0
