/* Reports a panic through the pvpanic port, as Linux's driver does. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov $0x505, %dx
	in %dx, %al
	test $1, %al			/* PANICKED supported */
	jz fail
	mov $1, %al
	out %al, %dx
	hlt
fail:
	EXIT(4)
