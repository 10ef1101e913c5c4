/*
 * A guest whose progress is state a snapshot must carry: a periodic LAPIC
 * timer (its interrupt wakes the guest from HLT), a counter in a register
 * (r12) and its twin in memory, and a line "tick XXXX" (hex) on COM1 every
 * 4 timer interrupts. Register and memory counters must agree at every
 * tick (else status 3); after tick 0x40 the guest passes. Restored from a
 * snapshot, it goes on from the tick it had reached.
 */
#include "guest.h"

#define LAST_TICK	0x40

	.code64
	.text
	.globl _start
_start:
	PUTS(hello)
	/* An IDT whose only present gate is the timer's. */
	TIMER_SETUP(timer_irq)
	xor %r12, %r12
	sti
wait:
	hlt
	mov irqs(%rip), %rax
	cmp seen(%rip), %rax
	je wait
	mov %rax, seen(%rip)
	test $3, %rax
	jnz wait
	inc %r12
	incq count(%rip)
	cmp count(%rip), %r12
	jne mismatch
	PUTS(tick)
	mov %r12, %rax
	call put_hex16
	PUTS(newline)
	cmp $LAST_TICK, %r12
	jb wait
	EXIT(0)
mismatch:
	PUTS(bad)
	EXIT(3)

TIMER_IRQ(timer_irq)

HEX_LIB
GUEST_LIB
	.section .rodata
hello:	.asciz "counting\n"
tick:	.asciz "tick "
newline: .asciz "\n"
bad:	.asciz "register and memory counters differ\n"
	.data
	TIMER_DATA
seen:	.quad 0
count:	.quad 0
