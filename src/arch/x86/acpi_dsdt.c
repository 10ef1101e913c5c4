// SPDX-License-Identifier: MIT
/*
 * The DSDT's namespace: the PCI root bridge with its interrupt routing,
 * the motherboard resources, the legacy devices Linux finds through ACPI
 * (COM1, i8042, RTC, pvpanic), the power button as a Generic Event Device,
 * and \_S5. acpi.c wraps it in the table.
 */
#include "arch/x86/acpi_dsdt.h"

#include <stdio.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/legacy.h"

/*
 * PCI INTx (devices/pci.h): a device in slot s drives GSI 16 + s % 4,
 * level triggered and active high, whatever its pin. _PRT names one link
 * device per line because a GSI listed directly in _PRT would mean active
 * low; the links say active high and accept the one setting they have.
 */
#define ACPI_PCI_SLOTS		32
#define ACPI_PCI_INTX_LINES	4
#define ACPI_PCI_INTX_GSI_BASE	16

static void dsdt_pci_link_name(char *buf, size_t len, int line)
{
	snprintf(buf, len, "\\_SB.GSI%c", 'A' + line);
}

static void dsdt_pci_links(struct aml *a)
{
	char name[5];

	for (int line = 0; line < ACPI_PCI_INTX_LINES; line++) {
		snprintf(name, sizeof(name), "GSI%c", 'A' + line);
		aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0C0F");
		aml_name_integer(a, "_UID", line);
		aml_name(a, "_PRS");
		aml_rt_begin(a);
		aml_rt_interrupt(a, ACPI_PCI_INTX_GSI_BASE + line,
				 AML_IRQ_SHARED);
		aml_rt_end(a);
		aml_name(a, "_CRS");
		aml_rt_begin(a);
		aml_rt_interrupt(a, ACPI_PCI_INTX_GSI_BASE + line,
				 AML_IRQ_SHARED);
		aml_rt_end(a);
		aml_method_begin(a, "_SRS", 1, false);
		aml_end(a);
		aml_end(a);
	}
}

/* Package { slot << 16 | 0xFFFF, pin, link, 0 } for every slot and pin */
static void dsdt_pci_prt(struct aml *a)
{
	char link[16];

	aml_name(a, "_PRT");
	aml_package_begin(a, ACPI_PCI_SLOTS * 4);
	for (int slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		dsdt_pci_link_name(link, sizeof(link),
				   slot % ACPI_PCI_INTX_LINES);
		for (int pin = 0; pin < 4; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, (uint32_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_name_string(a, link);
			aml_integer(a, 0);
			aml_end(a);
		}
	}
	aml_end(a);
}

static void dsdt_pci0(struct aml *a)
{
	aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_word_bus(a, 0, 0);
	aml_rt_io(a, PORT_PCI_CONFIG_ADDR, PORT_PCI_CONFIG_ADDR, 1, 8);
	aml_rt_word_io(a, 0x0000, PORT_PCI_CONFIG_ADDR - 1);
	aml_rt_word_io(a, PORT_PCI_CONFIG_ADDR + 8, 0xffff);
	aml_rt_dword_mem(a, LAYOUT_PCI_MMIO_BASE,
			 LAYOUT_PCI_MMIO_BASE + LAYOUT_PCI_MMIO_SIZE - 1,
			 false);
	aml_rt_end(a);
	dsdt_pci_prt(a);
	/* Grant the OS every PCIe feature it asks for: the capabilities
	 * buffer (Arg3) comes back unchanged, with no error bits. */
	aml_method_begin(a, "_OSC", 4, false);
	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);
	aml_end(a);
}

/* Reserve what no device claims: ECAM (Linux checks MMCONFIG is) and the
 * ACPI PM ports. */
static void dsdt_motherboard(struct aml *a)
{
	aml_device_begin(a, "MBRD");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_mem32_fixed(a, LAYOUT_PCI_ECAM_BASE, LAYOUT_PCI_ECAM_SIZE,
			   true);
	aml_rt_io(a, PORT_ACPI_PM, PORT_ACPI_PM, 1, 3);
	aml_rt_end(a);
	aml_end(a);
}

/*
 * Legacy devices, described so Linux binds them through PNP and maps
 * their ISA IRQs (a hardware-reduced platform has no legacy PIC setup).
 */
static void dsdt_legacy(struct aml *a)
{
	aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_integer(a, "_UID", 1);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, PORT_COM1, PORT_COM1, 1, 8);
	aml_rt_irq_noflags(a, IRQ_COM1);
	aml_rt_end(a);
	aml_end(a);

	aml_device_begin(a, "PS2K");
	aml_name_eisaid(a, "_HID", "PNP0303");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, PORT_I8042_DATA, PORT_I8042_DATA, 1, 1);
	aml_rt_io(a, PORT_I8042_CMD, PORT_I8042_CMD, 1, 1);
	aml_rt_irq_noflags(a, IRQ_KBD);
	aml_rt_end(a);
	aml_end(a);

	/* The mouse on the i8042's aux port: only its interrupt. */
	aml_device_begin(a, "PS2M");
	aml_name_eisaid(a, "_HID", "PNP0F13");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_irq_noflags(a, IRQ_MOUSE);
	aml_rt_end(a);
	aml_end(a);

	aml_device_begin(a, "RTC");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, PORT_RTC, PORT_RTC, 1, 2);
	aml_rt_irq_noflags(a, IRQ_RTC);
	aml_rt_end(a);
	aml_end(a);

	aml_device_begin(a, "PEVT");
	aml_name_str(a, "_HID", "QEMU0001");
	aml_name_integer(a, "_STA", 0xf);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_io(a, PORT_PVPANIC, PORT_PVPANIC, 1, 1);
	aml_rt_end(a);
	aml_end(a);
}

/* Power button on a hardware-reduced platform: GED interrupt → _EVT. */
static void dsdt_power_button(struct aml *a)
{
	aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_name_integer(a, "_UID", 0);
	aml_end(a);

	aml_device_begin(a, "GED");
	aml_name_str(a, "_HID", "ACPI0013");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_rt_begin(a);
	aml_rt_interrupt(a, ACPI_GED_GSI, AML_IRQ_EDGE);
	aml_rt_end(a);
	aml_method_begin(a, "_EVT", 1, true);
	aml_if_arg_equal_begin(a, 0, ACPI_GED_GSI);
	aml_notify(a, "\\_SB.PWRB", 0x80);	/* 0x80: button pressed */
	aml_end(a);
	aml_end(a);
	aml_end(a);
}

void acpi_dsdt_namespace(struct aml *a)
{
	aml_scope_begin(a, "\\_SB");
	dsdt_pci_links(a);
	dsdt_pci0(a);
	dsdt_motherboard(a);
	dsdt_legacy(a);
	dsdt_power_button(a);
	aml_end(a);
	/* Sleep type 5 for SLP_TYP in both PM1a and PM1b terms. */
	aml_name(a, "\\_S5");
	aml_package_begin(a, 4);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, ACPI_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);
}
