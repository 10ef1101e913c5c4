/*
 * A minimal virtio 1.x driver: finds the virtio-rng on bus 0, walks its
 * vendor capabilities to the common and notify structures, negotiates
 * VIRTIO_F_VERSION_1, sets up queue 0 with one device-writable buffer,
 * kicks it and polls the used ring. Interrupts stay off; the device must
 * answer the kick (an ioeventfd under KVM) on its own thread.
 */
#include "guest.h"
#include "virtio.h"

#define DESC		0x200000
#define AVAIL		0x201000
#define USED		0x202000
#define BUF		0x203000
#define BUFLEN		64

	.code64
	.text
	.globl _start
_start:
	call virtio_find
	call virtio_caps
	mov %r14, %rbp			/* notify base */
	call virtio_negotiate
	mov $DESC, %edi
	call virtio_queue0
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
VIRTIO_LIB
	.section .rodata
msg:	.asciz "virtio-rng: queue 0 returned random bytes\n"
