/*
 * The virtio-rng mini driver of virtio_rng.S with interrupts: queue 0 on
 * MSI-X vector 0, sent to the LAPIC as IDT vector 0x40. Checks, one buffer
 * per step, that the interrupt arrives; that a masked vector (entry mask,
 * then function mask) only sets its pending bit and fires on unmask; and
 * that rewriting the entry's data moves it to vector 0x41. Under KVM the
 * device raises each vector through its irqfd route, after which COM1's
 * IRQ 4 must still reach the IOAPIC (vector 0x42): the GSI routing table
 * KVM got holds the default IOAPIC routes too. Any other interrupt fails.
 */
#include "guest.h"
#include "virtio.h"

#define DESC		0x200000
#define AVAIL		0x201000
#define USED		0x202000
#define BUF		0x203000
#define BUFLEN		64
#define IDT		0x204000
#define HITS_A		0x205000	/* interrupts taken on VEC_A */
#define HITS_B		0x205008	/* ... on VEC_B */
#define HITS_C		0x205010	/* ... on VEC_C */
#define LAPIC		0xfee00000
#define IOAPIC		0xfec00000
#define VEC_A		0x40
#define VEC_B		0x41
#define VEC_C		0x42

/* MSI-X table entry 0 fields, message control bits */
#define E_ADDR		0
#define E_DATA		8
#define E_CTRL		12
#define MSIX_ENABLE	0x8000
#define MSIX_MASKALL	0xc000

/* Hand descriptor 0 to the device as avail entry n-1 and kick. */
#define POST(n)					\
	movw $0, AVAIL + 4 + 2 * ((n) - 1);	\
	movw $(n), AVAIL + 2;			\
	mfence;					\
	movw $0, (%r14)

/* Wait (a few seconds at most) for the dword at addr to be val. */
#define WAIT_Q(addr, val)			\
	mov $(addr), %edi;			\
	mov $(val), %esi;			\
	call wait_q;				\
	jne fail

	.code64
	.text
	.globl _start
_start:
	/* IDT: a stray interrupt fails, VEC_A and VEC_B count */
	mov %cs, %r8w
	xor %edi, %edi
1:	lea stray(%rip), %rax
	call set_gate
	inc %edi
	cmp $256, %edi
	jb 1b
	mov $VEC_A, %edi
	lea isr_a(%rip), %rax
	call set_gate
	mov $VEC_B, %edi
	lea isr_b(%rip), %rax
	call set_gate
	mov $VEC_C, %edi
	lea isr_c(%rip), %rax
	call set_gate
	lidt idtr(%rip)
	movq $0, HITS_A
	movq $0, HITS_B
	movq $0, HITS_C
	mov $0xff, %al			/* both PICs masked */
	out %al, $0x21
	out %al, $0xa1

	/* LAPIC on (APIC_BASE enable, SVR software enable), TPR 0 */
	mov $0x1b, %ecx
	rdmsr
	or $0x800, %eax
	wrmsr
	mov $LAPIC, %ebx
	movl $0x1ff, 0xf0(%rbx)
	movl $0, 0x80(%rbx)

	call virtio_find
	call virtio_caps
	test %r11, %r11			/* an MSI-X capability */
	jz fail
	mov %r14, %rbp			/* notify base */
	call virtio_negotiate
	movw $0xffff, C_MSIXCFG(%r13)	/* no config interrupts */

	mov $DESC, %edi
	call virtio_queue0
	movw $0, C_QMSIX(%r13)		/* queue 0 on vector 0 */
	cmpw $0, C_QMSIX(%r13)
	jne fail
	movw $1, C_QENABLE(%r13)
	movb $0xf, C_STATUS(%r13)	/* | DRIVER_OK */

	/* MSI-X table (r15) and PBA (rbx) from the capability */
	mov 4(%r11), %ebx
	mov %ebx, %r15d
	and $7, %ebx
	call bar_base
	and $~7, %r15d
	add %r9, %r15
	mov 8(%r11), %ebx
	mov %ebx, %esi
	and $7, %ebx
	call bar_base
	and $~7, %esi
	lea (%r9,%rsi), %rbx
	movl $LAPIC, E_ADDR(%r15)	/* physical destination APIC 0 */
	movl $0, E_ADDR + 4(%r15)
	movl $VEC_A, E_DATA(%r15)	/* fixed, edge */
	cmpl $1, E_CTRL(%r15)		/* entries start masked */
	jne fail
	movw $MSIX_ENABLE, 2(%r11)

	/* descriptor 0: BUFLEN bytes at BUF, device-writable */
	movq $BUF, DESC
	movl $BUFLEN, DESC + 8
	movw $2, DESC + 12
	movw $0, DESC + 14
	sti

	/* 1: masked entry: the buffer comes back, only the PBA bit is set */
	POST(1)
	WAIT_Q(USED, 1 << 16)		/* flags 0, idx 1 */
	mov %rbx, %rdi
	mov $1, %esi
	call wait_q
	jne fail
	cmpq $0, HITS_A
	jne fail
	movl $0, E_CTRL(%r15)		/* unmask: the pending one fires */
	WAIT_Q(HITS_A, 1)
	cmpq $0, (%rbx)
	jne fail

	/* 2: unmasked: straight through */
	POST(2)
	WAIT_Q(HITS_A, 2)

	/* 3: rewritten while masked: now on VEC_B */
	movl $1, E_CTRL(%r15)
	movl $VEC_B, E_DATA(%r15)
	movl $0, E_CTRL(%r15)
	POST(3)
	WAIT_Q(HITS_B, 1)

	/* 4: function mask: pending until cleared */
	movw $MSIX_MASKALL, 2(%r11)
	POST(4)
	WAIT_Q(USED, 4 << 16)
	mov %rbx, %rdi
	mov $1, %esi
	call wait_q
	jne fail
	cmpq $1, HITS_B
	jne fail
	movw $MSIX_ENABLE, 2(%r11)
	WAIT_Q(HITS_B, 2)
	cmpq $2, HITS_A
	jne fail

	/* 5: COM1 (IRQ 4, GSI 4) through IOAPIC pin 4 to VEC_C, APIC 0 */
	mov $IOAPIC, %eax
	movl $0x19, (%rax)		/* redirection entry 4, high */
	movl $0, 0x10(%rax)
	movl $0x18, (%rax)		/* low: fixed, edge, unmasked */
	movl $VEC_C, 0x10(%rax)
	mov $COM1 + 1, %dx		/* IER: THR empty raises the line */
	mov $2, %al
	out %al, %dx
	WAIT_Q(HITS_C, 1)

	cli
	mov BUF, %rax			/* random bytes, not left as zero */
	or BUF + 8, %rax
	jz fail
	PUTS(msg)
	EXIT(0)
fail:
	cli
	EXIT(6)

/* IDT gate for vector edi to handler rax (below 4 GiB), selector r8w. */
set_gate:
	mov %edi, %ecx
	shl $4, %ecx
	add $IDT, %ecx
	mov %ax, (%rcx)
	mov %r8w, 2(%rcx)
	movw $0x8e00, 4(%rcx)		/* present, DPL 0, interrupt gate */
	shr $16, %eax
	mov %ax, 6(%rcx)
	movq $0, 8(%rcx)
	ret

/*
 * Wait for the dword at rdi to equal esi, for 8e9 TSC ticks at most (a
 * bound in time: a pause can cost microseconds under KVM); ZF set when it
 * does. Clobbers rax, rcx, rdx.
 */
wait_q:
	call tsc
	movabs $8000000000, %rcx
	add %rax, %rcx
1:	cmp (%rdi), %esi
	je 2f
	pause
	call tsc
	cmp %rcx, %rax
	jb 1b
	cmp (%rdi), %esi
2:	ret

tsc:
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	ret

isr_a:
	lock incq HITS_A
	jmp eoi
isr_b:
	lock incq HITS_B
	jmp eoi
isr_c:
	push %rax
	push %rdx
	mov $COM1 + 1, %dx		/* IER off: the line drops */
	xor %eax, %eax
	out %al, %dx
	pop %rdx
	pop %rax
	lock incq HITS_C
eoi:
	push %rax
	mov $LAPIC, %eax
	movl $0, 0xb0(%rax)
	pop %rax
	iretq

stray:
	PUTS(stray_msg)
	EXIT(8)
GUEST_LIB
VIRTIO_LIB
	.section .rodata
idtr:	.word 0xfff
	.quad IDT
msg:	.ascii "virtio-msix: queue interrupts through MSI-X: masked, pending, "
	.asciz "unmasked, moved; COM1 through the IOAPIC\n"
stray_msg:
	.asciz "virtio-msix: unexpected interrupt\n"
