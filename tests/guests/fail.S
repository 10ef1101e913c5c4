/* Reports failure 7 through the exit port. */
#include "guest.h"
	.code64
	.text
	.globl _start
_start:
	EXIT(7)
