/*
 * The smallest guest both VMMs boot on KVM, for bench/start.sh: it prints
 * one line on COM1 and writes 0 to port 0x501 (cvisor's --test-exit port,
 * QEMU's isa-debug-exit). cvisor enters ELF kernels at e_entry in 64-bit
 * mode; QEMU enters at the PVH note's 32-bit entry, which builds an
 * identity map of the first GiB and switches to long mode first.
 */
#define COM1		0x3f8
#define PORT_EXIT	0x501
#define PML4		0x10000

	.section .note.pvh, "a", @note
	.balign 4
	.long 4				/* name size: "Xen\0" */
	.long 4				/* desc size */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_entry

	.text
	.code32
pvh_entry:
	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB pages */
	mov $PML4, %edi
	xor %eax, %eax
	mov $3 * 4096 / 4, %ecx
	rep stosl
	movl $PML4 + 0x1003, PML4
	movl $PML4 + 0x2003, PML4 + 0x1000
	mov $PML4 + 0x2000, %edi
	mov $0x83, %eax
1:	mov %eax, (%edi)
	add $0x200000, %eax
	add $8, %edi
	cmp $PML4 + 0x3000, %edi
	jb 1b
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $PML4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	lgdt gdtr
	ljmp $8, $_start

	.code64
	.globl _start
_start:
	lea msg(%rip), %rsi
	mov $COM1, %dx
1:	lodsb
	test %al, %al
	jz 2f
	out %al, %dx
	jmp 1b
2:	mov $PORT_EXIT, %dx
	xor %eax, %eax
	out %al, %dx
	hlt
	jmp 2b

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 64-bit code */
gdtr:
	.word gdtr - gdt - 1
	.long gdt
msg:
	.asciz "start-bench: guest up\n"
