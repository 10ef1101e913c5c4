/*
 * A guest that dirties memory as fast as it can: pass after pass it
 * stores the pass number into every page of 8 MiB at 16 MiB, then checks
 * that every page holds it (a page a migration lost would hold an older
 * pass: status 3). A LAPIC timer (10 ms) paces the run: "tick N" every
 * 16 interrupts, and after 1500 interrupts (15 s) the guest passes.
 */
#include "guest.h"

#define LAPIC		0xfee00000
#define VECTOR		0x40
#define BUF		0x1000000
#define PAGES		2048
#define LAST_IRQ	1500

	.code64
	.text
	.globl _start
_start:
	PUTS(hello)
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
	mov $LAPIC, %rdi
	movl $0x1ff, 0xf0(%rdi)
	movl $0xb, 0x3e0(%rdi)
	movl $((1 << 17) | VECTOR), 0x320(%rdi)
	movl $10000000, 0x380(%rdi)
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

timer_irq:
	push %rax
	incq irqs(%rip)
	mov $LAPIC, %rax
	movl $0, 0xb0(%rax)
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
hello:	.asciz "dirtying\n"
tick:	.asciz "tick "
newline: .asciz "\n"
bad:	.asciz "a page holds an older pass\n"
idtr:	.word 256 * 16 - 1
	.quad idt
	.data
	.balign 16
idt:	.fill 256 * 16, 1, 0
irqs:	.quad 0
seen:	.quad 0
