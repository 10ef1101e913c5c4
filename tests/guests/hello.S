/* Prints a line on the serial console and passes. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	PUTS(msg)
	EXIT(0)
GUEST_LIB
	.section .rodata
msg:	.asciz "hello from a cvisor test guest\n"
