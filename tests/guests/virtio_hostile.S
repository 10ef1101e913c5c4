/*
 * A hostile virtio driver against the virtio-rng: a buffer outside guest
 * RAM, an avail index far past the queue size, and a descriptor chain that
 * loops. Each time the device must refuse the ring (DEVICE_NEEDS_RESET, no
 * used entry) while the VMM runs on; after a reset the same device must
 * serve a well-formed request.
 */
#include "guest.h"
#include "virtio.h"

#define DESC		0x200000
#define AVAIL		0x201000
#define USED		0x202000
#define BUF		0x203000
#define NEEDS_RESET	0x40

/* Descriptor n: len bytes at addr, flags, next. */
#define SET_DESC(n, addr, len, flags, next)		\
	movabs $(addr), %rax;				\
	mov %rax, DESC + 16 * (n);			\
	movl $(len), DESC + 16 * (n) + 8;		\
	movw $(flags), DESC + 16 * (n) + 12;		\
	movw $(next), DESC + 16 * (n) + 14

/* Publish descriptor 0 with avail index idx and kick queue 0. */
#define KICK(idx)					\
	movw $0, AVAIL + 4;				\
	movw $(idx), AVAIL + 2;				\
	mfence;						\
	movw $0, (%r14)

	.code64
	.text
	.globl _start
_start:
	call virtio_find
	call virtio_caps
	mov %r14, %rbp			/* notify base */

	/* 1: a device-writable buffer far outside guest RAM */
	call start_q0
	SET_DESC(0, 0x7ff000000000, 64, 2, 0)
	KICK(1)
	call wait_needs_reset

	/* 2: the avail index jumps 32768 entries ahead */
	call start_q0
	SET_DESC(0, BUF, 64, 2, 0)
	KICK(0x8000)
	call wait_needs_reset

	/* 3: descriptors 0 and 1 chained to each other, forever */
	call start_q0
	SET_DESC(0, BUF, 8, 3, 1)
	SET_DESC(1, BUF + 8, 8, 3, 0)
	KICK(1)
	call wait_needs_reset

	/* 4: after a reset the device serves a proper request */
	call start_q0
	SET_DESC(0, BUF, 64, 2, 0)
	KICK(1)
	mov $USED + 2, %edi
	call wait_used
	cmpl $0, USED + 8		/* len > 0 */
	je fail
	mov BUF, %rax
	or BUF + 8, %rax
	jz fail
	PUTS(msg)
	EXIT(0)
fail:
	EXIT(6)

/*
 * Reset the device (waiting for status 0, as the spec asks), clear the
 * rings, negotiate, and bring up queue 0; r14 = its notify address.
 */
start_q0:
	movb $0, C_STATUS(%r13)
	call deadline
1:	cmpb $0, C_STATUS(%r13)
	je 2f
	call past_deadline
	jae fail
	jmp 1b
2:	mov $DESC, %edi
	mov $3 * 4096 / 8, %ecx
	xor %eax, %eax
	rep stosq
	call virtio_negotiate
	mov $DESC, %edi
	call virtio_queue0
	movw $1, C_QENABLE(%r13)
	movb $0xf, C_STATUS(%r13)	/* | DRIVER_OK */
	ret

/* The device flags NEEDS_RESET and completes nothing. */
wait_needs_reset:
	call deadline
1:	testb $NEEDS_RESET, C_STATUS(%r13)
	jnz 2f
	call past_deadline
	jae fail
	jmp 1b
2:	cmpw $0, USED + 2
	jne fail
	ret

/* The used index at rdi reaches 1. */
wait_used:
	call deadline
1:	cmpw $1, (%rdi)
	je 2f
	testb $NEEDS_RESET, C_STATUS(%r13)
	jnz fail
	call past_deadline
	jae fail
	jmp 1b
2:	ret

/*
 * r11 = a deadline 8e9 TSC ticks away (seconds: a pause can cost
 * microseconds under KVM); past_deadline sets CF clear once it passed.
 */
deadline:
	call tsc
	movabs $8000000000, %r11
	add %rax, %r11
	ret
past_deadline:
	pause
	call tsc
	cmp %r11, %rax
	ret
tsc:
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	ret
GUEST_LIB
VIRTIO_LIB
	.section .rodata
msg:	.asciz "virtio-hostile: bad rings refused, device works after reset\n"
