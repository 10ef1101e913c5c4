/*
 * Conventions for test guests (assembled with the C preprocessor).
 *
 * cvisor enters a guest in 64-bit mode exactly as it enters a vmlinux: the
 * first 4 GiB identity mapped, interrupts off, RSI = boot_params, a stack
 * below 0x9000. Guests report over COM1 and end by writing a status to the
 * test exit port (cvisor run --test-exit): 0 passes, anything else fails.
 */
#define COM1		0x3f8
#define PORT_EXIT	0x501
#define ECAM_BASE	0xe0000000

/* Print the NUL-terminated string at label str (clobbers rax, rdx, rsi). */
#define PUTS(str)			\
	lea str(%rip), %rsi;		\
	call guest_puts

/* End the test with status (an immediate). */
#define EXIT(status)			\
	mov $PORT_EXIT, %dx;		\
	mov $status, %eax;		\
	out %eax, %dx;			\
	hlt

/* Shared routines; include once per guest after the code. */
#define GUEST_LIB			\
guest_puts:				\
	mov $COM1, %dx;			\
1:	lodsb;				\
	test %al, %al;			\
	jz 2f;				\
	out %al, %dx;			\
	jmp 1b;				\
2:	ret

/*
 * A periodic LAPIC timer: an IDT whose only present gate (vector 0x40)
 * goes to handler, the LAPIC enabled, a 10 ms period (1 GHz bus, divide
 * 1). Needs TIMER_DATA once in .data. Clobbers rax, rbx, rdi.
 */
#define TIMER_VECTOR	0x40
#define LAPIC_BASE	0xfee00000
#define TIMER_SETUP(handler)				\
	lea handler(%rip), %rax;			\
	lea idt + TIMER_VECTOR * 16(%rip), %rdi;	\
	mov %ax, (%rdi);				\
	mov %cs, %bx;					\
	mov %bx, 2(%rdi);				\
	movw $0x8e00, 4(%rdi);				\
	shr $16, %rax;					\
	mov %ax, 6(%rdi);				\
	shr $16, %rax;					\
	mov %eax, 8(%rdi);				\
	lidt idtr(%rip);				\
	mov $LAPIC_BASE, %rdi;				\
	movl $0x1ff, 0xf0(%rdi);			\
	movl $0xb, 0x3e0(%rdi);				\
	movl $((1 << 17) | TIMER_VECTOR), 0x320(%rdi);	\
	movl $10000000, 0x380(%rdi)

/* The timer's interrupt handler: counts in irqs, then EOI. */
#define TIMER_IRQ(name)					\
name:							\
	push %rax;					\
	incq irqs(%rip);				\
	mov $LAPIC_BASE, %rax;				\
	movl $0, 0xb0(%rax);				\
	pop %rax;					\
	iretq

#define TIMER_DATA					\
	.balign 16;					\
idtr:	.word 256 * 16 - 1;				\
	.quad idt;					\
idt:	.fill 256 * 16, 1, 0;				\
irqs:	.quad 0

/* put_hex16: print ax as four hex digits (clobbers rax, rcx, rdx, rsi). */
#define HEX_LIB						\
put_hex16:						\
	mov %rax, %rsi;					\
	mov $COM1, %dx;					\
	mov $12, %cl;					\
1:	mov %rsi, %rax;					\
	shr %cl, %rax;					\
	and $0xf, %eax;					\
	add $'0', %al;					\
	cmp $'9', %al;					\
	jbe 2f;						\
	add $('a' - '0' - 10), %al;			\
2:	out %al, %dx;					\
	sub $4, %cl;					\
	jns 1b;						\
	ret
