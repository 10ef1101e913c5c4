/*
 * A virtio 1.x driver's first steps, shared by the virtio test guests:
 * find the device, walk its PCI capabilities, negotiate VERSION_1.
 * Include after guest.h; put VIRTIO_LIB once after the code. The routines
 * jump to the guest's `fail` label when the device is not as the spec says.
 */

/* common configuration structure offsets (virtio 1.x, 4.1.4.3) */
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_MSIXCFG	0x10
#define C_STATUS	0x14
#define C_QSELECT	0x16
#define C_QSIZE		0x18
#define C_QMSIX		0x1a
#define C_QENABLE	0x1c
#define C_QNOTIFYOFF	0x1e
#define C_QDESC		0x20
#define C_QAVAIL	0x28
#define C_QUSED		0x30

/*
 * virtio_find: r12 = ECAM config space of the virtio-rng (1af4:1044) on
 * bus 0, memory decode and bus mastering on.
 * virtio_caps: from r12, r13 = common cfg, r14 = notify base, r15d = notify
 * offset multiplier, r11 = MSI-X capability or 0 (clobbers rax, rbx, rcx,
 * rdi, r8-r10).
 * virtio_negotiate: reset, ACKNOWLEDGE | DRIVER, only VIRTIO_F_VERSION_1
 * (feature bit 32), FEATURES_OK, which the device must keep.
 * virtio_queue0: select queue 0, which must have a size, and give it the
 * descriptor table at rdi, the avail ring at rdi + 0x1000 and the used
 * ring at rdi + 0x2000; r14 = its notify address from the notify base in
 * rbp (clobbers rax). The caller enables it.
 * bar_base: r9 = address of memory BAR ebx of the device at r12
 * (clobbers r8, r10).
 */
#define VIRTIO_LIB				\
virtio_find:					\
	mov $ECAM_BASE, %r12;			\
	mov $1, %esi;				\
1:	mov %rsi, %rdi;				\
	shl $15, %rdi;				\
	add %r12, %rdi;				\
	cmpl $0x10441af4, (%rdi);		\
	je 2f;					\
	inc %esi;				\
	cmp $32, %esi;				\
	jb 1b;					\
	jmp fail;				\
2:	mov %rdi, %r12;				\
	movw $0x6, 4(%r12);			\
	ret;					\
						\
virtio_caps:					\
	xor %r13, %r13;				\
	xor %r14, %r14;				\
	xor %r11, %r11;				\
	movzbl 0x34(%r12), %ecx;		\
1:	test %ecx, %ecx;			\
	jz 4f;					\
	lea (%r12,%rcx), %rdi;			\
	cmpb $0x11, (%rdi);			\
	jne 2f;					\
	mov %rdi, %r11;				\
	jmp 3f;					\
2:	cmpb $9, (%rdi);			\
	jne 3f;					\
	movzbl 4(%rdi), %ebx;			\
	call bar_base;				\
	mov 8(%rdi), %eax;			\
	add %rax, %r9;				\
	movzbl 3(%rdi), %eax;			\
	cmp $1, %eax;				\
	jne 5f;					\
	mov %r9, %r13;				\
5:	cmp $2, %eax;				\
	jne 3f;					\
	mov %r9, %r14;				\
	mov 16(%rdi), %r15d;			\
3:	movzbl 1(%rdi), %ecx;			\
	jmp 1b;					\
4:	test %r13, %r13;			\
	jz fail;				\
	test %r14, %r14;			\
	jz fail;				\
	ret;					\
						\
virtio_negotiate:				\
	movb $0, C_STATUS(%r13);		\
	movb $1, C_STATUS(%r13);		\
	movb $3, C_STATUS(%r13);		\
	movl $1, C_GFSELECT(%r13);		\
	movl $1, C_GF(%r13);			\
	movl $0, C_GFSELECT(%r13);		\
	movl $0, C_GF(%r13);			\
	movb $0xb, C_STATUS(%r13);		\
	movzbl C_STATUS(%r13), %eax;		\
	test $8, %al;				\
	jz fail;				\
	ret;					\
						\
virtio_queue0:					\
	movw $0, C_QSELECT(%r13);		\
	cmpw $0, C_QSIZE(%r13);			\
	je fail;				\
	mov %rdi, C_QDESC(%r13);		\
	lea 0x1000(%rdi), %rax;			\
	mov %rax, C_QAVAIL(%r13);		\
	lea 0x2000(%rdi), %rax;			\
	mov %rax, C_QUSED(%r13);		\
	movzwl C_QNOTIFYOFF(%r13), %eax;	\
	imul %r15d, %eax;			\
	lea (%rbp,%rax), %r14;			\
	ret;					\
						\
bar_base:					\
	lea 0x10(%r12,%rbx,4), %r8;		\
	mov (%r8), %r9d;			\
	mov %r9d, %r10d;			\
	and $~0xf, %r9d;			\
	and $6, %r10d;				\
	cmp $4, %r10d;				\
	jne 1f;					\
	mov 4(%r8), %r10d;			\
	shl $32, %r10;				\
	or %r10, %r9;				\
1:	ret
