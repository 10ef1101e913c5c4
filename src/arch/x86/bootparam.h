/* SPDX-License-Identifier: MIT */
/*
 * Offsets into the Linux boot_params ("zero page") and its setup header, as
 * given by the x86 boot protocol. Offsets rather than a struct keep the
 * 4 KiB page layout explicit and free of padding questions.
 */
#ifndef CVISOR_ARCH_X86_BOOTPARAM_H
#define CVISOR_ARCH_X86_BOOTPARAM_H

/* screen_info at 0x000 (include/uapi/linux/screen_info.h) */
#define BP_SI_ISVGA		0x00f	/* u8: VIDEO_TYPE_* */
#define BP_SI_LFB_WIDTH		0x012	/* u16 */
#define BP_SI_LFB_HEIGHT	0x014	/* u16 */
#define BP_SI_LFB_DEPTH		0x016	/* u16 */
#define BP_SI_LFB_BASE		0x018	/* u32 */
#define BP_SI_LFB_SIZE		0x01c	/* u32, in 64 KiB units for VLFB */
#define BP_SI_LFB_LINELENGTH	0x024	/* u16 */
#define BP_SI_COLORS		0x026	/* u8 x 8: red, green, blue, rsvd */
#define BP_SI_CAPABILITIES	0x036	/* u32 */
#define BP_SI_EXT_LFB_BASE	0x03a	/* u32 */
#define VIDEO_TYPE_VLFB		0x23	/* VESA VGA in graphic mode */
#define VIDEO_CAPABILITY_64BIT_BASE 0x2
#define BP_ACPI_RSDP_ADDR	0x070	/* u64, protocol 2.14+ */
#define BP_EXT_RAMDISK_IMAGE	0x0c0	/* u32 */
#define BP_EXT_RAMDISK_SIZE	0x0c4	/* u32 */
#define BP_EXT_CMD_LINE_PTR	0x0c8	/* u32 */
#define BP_E820_ENTRIES		0x1e8	/* u8 */
#define BP_HDR			0x1f1	/* setup header start */
#define BP_SETUP_SECTS		0x1f1	/* u8 */
#define BP_VID_MODE		0x1fa	/* u16 */
#define BP_BOOT_FLAG		0x1fe	/* u16: 0xAA55 */
#define BP_JUMP			0x200	/* u16; hdr end = 0x202 + byte at 0x201 */
#define BP_HEADER		0x202	/* u32: "HdrS" */
#define BP_VERSION		0x206	/* u16 */
#define BP_TYPE_OF_LOADER	0x210	/* u8 */
#define BP_LOADFLAGS		0x211	/* u8 */
#define BP_RAMDISK_IMAGE	0x218	/* u32 */
#define BP_RAMDISK_SIZE		0x21c	/* u32 */
#define BP_HEAP_END_PTR		0x224	/* u16 */
#define BP_CMD_LINE_PTR		0x228	/* u32 */
#define BP_INITRD_ADDR_MAX	0x22c	/* u32 */
#define BP_KERNEL_ALIGNMENT	0x230	/* u32 */
#define BP_RELOCATABLE		0x234	/* u8 */
#define BP_XLOADFLAGS		0x236	/* u16 */
#define BP_CMDLINE_SIZE		0x238	/* u32 */
#define BP_PREF_ADDRESS		0x258	/* u64 */
#define BP_INIT_SIZE		0x260	/* u32 */
#define BP_E820_TABLE		0x2d0	/* 128 x 20 bytes */
#define BP_SIZE			0x1000

#define BP_E820_MAX		128
#define BOOT_FLAG_MAGIC		0xaa55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define LOADFLAG_LOADED_HIGH	0x01
#define LOADFLAG_CAN_USE_HEAP	0x80
#define XLF_KERNEL_64		0x01
#define LOADER_TYPE_UNDEFINED	0xff

#define E820_RAM		1
#define E820_RESERVED		2

#endif
