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
