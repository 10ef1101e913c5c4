/*
 * A guest that dirties memory as fast as it can: pass after pass it
 * stores the pass number into every page of 8 MiB at 16 MiB, then checks
 * that every page holds it (a page a migration lost would hold an older
 * pass: status 3). A LAPIC timer (10 ms) paces the run: "tick N" every
 * 16 interrupts, and after 1500 interrupts (15 s) the guest passes.
 */
#include "guest.h"

#define BUF		0x1000000
#define PAGES		2048
#define LAST_IRQ	1500

	.code64
	.text
	.globl _start
_start:
	PUTS(hello)
	TIMER_SETUP(timer_irq)
	xor %r12, %r12
	sti
pass:
	inc %r12
	mov $BUF, %rdi
	mov $PAGES, %ecx
1:	mov %r12, (%rdi)
	add $4096, %rdi
	dec %ecx
	jnz 1b
	mov $BUF, %rdi
	mov $PAGES, %ecx
2:	cmp %r12, (%rdi)
	jne stale
	add $4096, %rdi
	dec %ecx
	jnz 2b
	mov irqs(%rip), %rax
	cmp seen(%rip), %rax
	je pass
	mov %rax, seen(%rip)
	test $15, %rax
	jnz 3f
	PUTS(tick)
	mov irqs(%rip), %rax
	shr $4, %rax
	call put_hex16
	PUTS(newline)
3:	cmpq $LAST_IRQ, irqs(%rip)
	jb pass
	EXIT(0)
stale:
	PUTS(bad)
	EXIT(3)

TIMER_IRQ(timer_irq)

HEX_LIB
GUEST_LIB
	.section .rodata
hello:	.asciz "dirtying\n"
tick:	.asciz "tick "
newline: .asciz "\n"
bad:	.asciz "a page holds an older pass\n"
	.data
	TIMER_DATA
seen:	.quad 0
