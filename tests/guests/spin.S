/* Runs forever (with interrupts off): for stop/signal tests. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	PUTS(msg)
1:	pause
	jmp 1b
GUEST_LIB
	.section .rodata
msg:	.asciz "spinning\n"
