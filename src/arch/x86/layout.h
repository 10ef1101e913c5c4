/* SPDX-License-Identifier: MIT */
/*
 * The guest physical address map of the cvisor x86 machine. Every device,
 * table and loader takes its addresses from here so the map is in one place.
 *
 *   0x0000_0000 .. 0x0009_FFFF  RAM (low 640 KiB: boot_params, cmdline, tables)
 *   0x000A_0000 .. 0x000F_FFFF  reserved (VGA hole, BIOS area; ACPI tables live
 *                               at 0xE0000 so the RSDP scan finds them)
 *   0x0010_0000 .. 3 GiB        RAM
 *   3 GiB       .. 4 GiB        MMIO hole: PCI BARs, ECAM, IOAPIC, LAPIC
 *   4 GiB       ..              RAM above the hole
 */
#ifndef CVISOR_ARCH_X86_LAYOUT_H
#define CVISOR_ARCH_X86_LAYOUT_H

#define LAYOUT_GDT_ADDR		0x500ULL
#define LAYOUT_IDT_ADDR		0x520ULL
#define LAYOUT_BOOT_STACK	0x8ff0ULL
#define LAYOUT_PML4_ADDR	0x9000ULL	/* page tables: 0x9000..0xEFFF */
#define LAYOUT_PDPT_ADDR	0xa000ULL
#define LAYOUT_PD_ADDR		0xb000ULL	/* four PDs: 0xB000..0xEFFF */
#define LAYOUT_ZERO_PAGE	0x7000ULL	/* struct boot_params */
#define LAYOUT_CMDLINE_ADDR	0x20000ULL
#define LAYOUT_CMDLINE_MAX	0x10000ULL
#define LAYOUT_EBDA_START	0x9fc00ULL
#define LAYOUT_LOW_RAM_END	0xa0000ULL
#define LAYOUT_ACPI_ADDR	0xe0000ULL	/* RSDP + tables, up to 0xFFFFF */
#define LAYOUT_ACPI_END		0x100000ULL
/* the real-mode reset vector F000:FFF0, in the BIOS area (reset_vector.c) */
#define LAYOUT_RESET_VECTOR	0xffff0ULL
#define LAYOUT_RESET_VECTOR_LEN	16
#define LAYOUT_EXT_RAM_START	0x100000ULL	/* extended memory: RAM from 1 MiB */
#define LAYOUT_KERNEL_ADDR	0x1000000ULL	/* default 64-bit kernel load */

#define LAYOUT_MMIO_HOLE	0xc0000000ULL	/* 3 GiB */
#define LAYOUT_MMIO_HOLE_END	0x100000000ULL	/* 4 GiB */
#define LAYOUT_PCI_MMIO_BASE	0xc0000000ULL	/* 32-bit BAR window */
#define LAYOUT_PCI_MMIO_SIZE	0x20000000ULL	/* 512 MiB */
#define LAYOUT_PCI_ECAM_BASE	0xe0000000ULL	/* bus 0 only: 1 MiB */
#define LAYOUT_PCI_ECAM_SIZE	0x100000ULL
#define LAYOUT_IOAPIC_ADDR	0xfec00000ULL
#define LAYOUT_IOAPIC_SIZE	0x1000ULL
#define LAYOUT_LAPIC_ADDR	0xfee00000ULL
#define LAYOUT_LAPIC_SIZE	0x1000ULL
#define LAYOUT_HIGH_MEM_START	0x100000000ULL	/* RAM above the MMIO hole */

/* I/O ports */
#define PORT_PIC_MASTER		0x20
#define PORT_PIT		0x40
#define PORT_I8042_DATA		0x60
#define PORT_SYSCTRL_B		0x61
#define PORT_I8042_CMD		0x64
#define PORT_RTC		0x70
#define PORT_PIC_SLAVE		0xa0
#define PORT_ELCR		0x4d0	/* PIC edge/level control */
#define PORT_COM1		0x3f8
#define PORT_PCI_CONFIG_ADDR	0xcf8
#define PORT_PCI_CONFIG_DATA	0xcfc
#define PORT_ACPI_PM		0x600	/* ACPI sleep control/status + reset */
#define PORT_ACPI_SLEEP_CTL	0x600
#define PORT_ACPI_SLEEP_STS	0x601
#define PORT_ACPI_RESET		0x602
#define PORT_DEBUG_EXIT		0x501	/* test guests: write status to exit */
#define PORT_PVPANIC		0x505

/* Legacy IRQ lines (ISA) as wired to the IOAPIC. */
#define IRQ_PIT			0
#define IRQ_KBD			1
#define IRQ_COM1		4
#define IRQ_RTC			8
#define IRQ_MOUSE		12
#define IRQ_ACPI_SCI		9
#define IRQ_IOAPIC_PINS		24

#define MAX_VCPUS		64

#endif
