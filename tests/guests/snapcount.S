/*
 * A guest whose progress is state a snapshot must carry: a periodic LAPIC
 * timer (its interrupt wakes the guest from HLT), a counter in a register
 * (r12) and its twin in memory, and a line "tick XXXX" (hex) on COM1 every
 * 4 timer interrupts. Register and memory counters must agree at every
 * tick (else status 3); after tick 0x40 the guest passes. Restored from a
 * snapshot, it goes on from the tick it had reached.
 */
#include "guest.h"

#define LAPIC		0xfee00000
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_TMICT	0x380
#define LAPIC_TDCR	0x3e0
#define VECTOR		0x40
#define PERIODIC	(1 << 17)
#define PERIOD		10000000	/* 10 ms at the 1 GHz bus, divide 1 */
#define LAST_TICK	0x40

	.code64
	.text
	.globl _start
_start:
	PUTS(hello)
	/* An IDT whose only present gate is the timer's. */
	lea timer_irq(%rip), %rax
	lea idt + VECTOR * 16(%rip), %rdi
	mov %ax, (%rdi)
	mov %cs, %bx
	mov %bx, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	lidt idtr(%rip)
	/* Enable the LAPIC, then a periodic timer. */
	mov $LAPIC, %rdi
	movl $0x1ff, LAPIC_SVR(%rdi)
	movl $0xb, LAPIC_TDCR(%rdi)
	movl $(PERIODIC | VECTOR), LAPIC_LVT_TIMER(%rdi)
	movl $PERIOD, LAPIC_TMICT(%rdi)
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

timer_irq:
	push %rax
	incq irqs(%rip)
	mov $LAPIC, %rax
	movl $0, LAPIC_EOI(%rax)
	pop %rax
	iretq

/* Print ax as four hex digits (clobbers rax, rcx, rdx, rsi). */
put_hex16:
	mov %rax, %rsi
	mov $COM1, %dx
	mov $12, %cl
1:	mov %rsi, %rax
	shr %cl, %rax
	and $0xf, %eax
	add $'0', %al
	cmp $'9', %al
	jbe 2f
	add $('a' - '0' - 10), %al
2:	out %al, %dx
	sub $4, %cl
	jns 1b
	ret

GUEST_LIB
	.section .rodata
hello:	.asciz "counting\n"
tick:	.asciz "tick "
newline: .asciz "\n"
bad:	.asciz "register and memory counters differ\n"
idtr:	.word 256 * 16 - 1
	.quad idt
	.data
	.balign 16
idt:	.fill 256 * 16, 1, 0
irqs:	.quad 0
seen:	.quad 0
count:	.quad 0
