/*
 * A minimal virtio 1.x driver: finds the virtio-rng on bus 0, walks its
 * vendor capabilities to the common and notify structures, negotiates
 * VIRTIO_F_VERSION_1, sets up queue 0 with one device-writable buffer,
 * kicks it and polls the used ring. Interrupts stay off; the device must
 * answer the kick (an ioeventfd under KVM) on its own thread.
 */
#include "guest.h"

#define DESC		0x200000
#define AVAIL		0x201000
#define USED		0x202000
#define BUF		0x203000
#define BUFLEN		64

/* common configuration structure offsets (virtio 1.x, 4.1.4.3) */
#define C_DFSELECT	0x00
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_STATUS	0x14
#define C_QSELECT	0x16
#define C_QSIZE		0x18
#define C_QENABLE	0x1c
#define C_QNOTIFYOFF	0x1e
#define C_QDESC		0x20
#define C_QAVAIL	0x28
#define C_QUSED		0x30

	.code64
	.text
	.globl _start
_start:
	/* find 1af4:1044 on bus 0 through ECAM */
	mov $ECAM_BASE, %r12
	mov $1, %esi
scan:
	mov %rsi, %rdi
	shl $15, %rdi
	add %r12, %rdi
	cmpl $0x10441af4, (%rdi)
	je found
	inc %esi
	cmp $32, %esi
	jb scan
	jmp fail
found:
	mov %rdi, %r12
	movw $0x6, 4(%r12)		/* memory decode + bus master */
	xor %r13, %r13			/* common cfg */
	xor %r14, %r14			/* notify base */
	movzbl 0x34(%r12), %ecx		/* capability pointer */
caps:
	test %ecx, %ecx
	jz caps_done
	lea (%r12,%rcx), %rdi
	cmpb $9, (%rdi)			/* vendor-specific */
	jne next_cap
	movzbl 4(%rdi), %ebx		/* BAR */
	lea 0x10(%r12,%rbx,4), %r8
	mov (%r8), %r9d
	mov %r9d, %r10d
	and $~0xf, %r9d
	and $6, %r10d
	cmp $4, %r10d			/* 64-bit BAR */
	jne 1f
	mov 4(%r8), %r10d
	shl $32, %r10
	or %r10, %r9
1:	mov 8(%rdi), %eax		/* offset within the BAR */
	add %rax, %r9
	movzbl 3(%rdi), %eax		/* cfg_type */
	cmp $1, %eax
	jne 2f
	mov %r9, %r13
2:	cmp $2, %eax
	jne next_cap
	mov %r9, %r14
	mov 16(%rdi), %r15d		/* notify_off_multiplier */
next_cap:
	movzbl 1(%rdi), %ecx
	jmp caps
caps_done:
	test %r13, %r13
	jz fail
	test %r14, %r14
	jz fail

	movb $0, C_STATUS(%r13)		/* reset */
	movb $1, C_STATUS(%r13)		/* ACKNOWLEDGE */
	movb $3, C_STATUS(%r13)		/* | DRIVER */
	movl $1, C_GFSELECT(%r13)
	movl $1, C_GF(%r13)		/* VIRTIO_F_VERSION_1 (bit 32) */
	movl $0, C_GFSELECT(%r13)
	movl $0, C_GF(%r13)
	movb $0xb, C_STATUS(%r13)	/* | FEATURES_OK */
	movzbl C_STATUS(%r13), %eax
	test $8, %al
	jz fail

	movw $0, C_QSELECT(%r13)
	movzwl C_QSIZE(%r13), %eax
	test %eax, %eax
	jz fail
	mov %eax, %ebp			/* queue size */
	movq $DESC, C_QDESC(%r13)
	movq $AVAIL, C_QAVAIL(%r13)
	movq $USED, C_QUSED(%r13)
	movzwl C_QNOTIFYOFF(%r13), %eax
	imul %r15d, %eax
	add %rax, %r14			/* this queue's notify address */
	movw $1, C_QENABLE(%r13)
	movb $0xf, C_STATUS(%r13)	/* | DRIVER_OK */

	/* descriptor 0: BUFLEN bytes at BUF, device-writable */
	movq $BUF, DESC
	movl $BUFLEN, DESC + 8
	movw $2, DESC + 12
	movw $0, DESC + 14
	movw $0, AVAIL + 4		/* ring[0] = descriptor 0 */
	movw $1, AVAIL + 2		/* idx */
	mfence
	movw $0, (%r14)			/* kick queue 0 */

	mov $100000000, %ecx		/* bounded wait for the device */
poll:
	cmpw $1, USED + 2
	je done
	pause
	dec %ecx
	jnz poll
	jmp fail
done:
	cmpl $0, USED + 4		/* used elem id == 0 */
	jne fail
	cmpl $0, USED + 8		/* len > 0 */
	je fail
	mov BUF, %rax			/* random bytes, not left as zero */
	or BUF + 8, %rax
	jz fail
	PUTS(msg)
	EXIT(0)
fail:
	EXIT(6)
GUEST_LIB
	.section .rodata
msg:	.asciz "virtio-rng: queue 0 returned random bytes\n"
