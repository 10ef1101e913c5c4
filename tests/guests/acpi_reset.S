/* Announces itself and resets through the ACPI reset register. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	PUTS(msg)
	mov $0x602, %dx
	mov $1, %al
	out %al, %dx
	hlt
GUEST_LIB
	.section .rodata
msg:	.asciz "reset-guest booted\n"
