/*
 * Serial echo: polls COM1 and writes back each byte received, ending the
 * test when it reads 'q'. Exercises the receive path of the UART.
 */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	PUTS(msg)
poll:
	mov $COM1 + 5, %dx		/* LSR */
	in %dx, %al
	test $1, %al			/* data ready */
	jz poll
	mov $COM1, %dx
	in %dx, %al
	cmp $'q', %al
	je done
	out %al, %dx
	jmp poll
done:
	EXIT(0)
GUEST_LIB
	.section .rodata
msg:	.asciz "echo ready\n"
