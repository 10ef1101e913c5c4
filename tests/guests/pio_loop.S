/* 2,000,000 port writes to the POST port, then pass: for bench/pio.sh. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	mov $2000000, %ecx
1:	out %al, $0x80
	dec %ecx
	jnz 1b
	EXIT(0)
