// SPDX-License-Identifier: MIT
/*
 * ACPI tables (ACPI 6.x, chapter 5). The platform is hardware-reduced: no
 * PM1 event/control blocks, no PM timer, no GPEs, no FACS; sleep and reset
 * go through the FADT's sleep control and reset registers (acpi_pm.c), and
 * the power button is a Generic Event Device.
 *
 * Layout at LAYOUT_ACPI_ADDR: RSDP first (so the BIOS-area scan finds it),
 * then DSDT, FADT, MADT, MCFG, with NUMA nodes SRAT and SLIT
 * (acpi_numa.c), and XSDT, each 16-byte aligned.
 */
#include "arch/x86/acpi.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi_dsdt.h"
#include "arch/x86/acpi_numa.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "devices/legacy.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define ACPI_OEM_ID		"CVISOR"
#define ACPI_OEM_TABLE_ID	"CVISORVM"
#define ACPI_CREATOR_ID		"CVSR"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum;		/* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure (5.2.3.2) */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1

/* FADT (5.2.9), revision 6 */
struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED_ACPI	(1u << 20)

/* CMOS index of the RTC's century byte (rtc.c) */
#define ACPI_RTC_CENTURY	0x32

#define FADT_BOOT_8042		(1u << 1)
#define FADT_BOOT_NO_VGA	(1u << 2)

/* MADT (5.2.12) */
struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	(1u << 0)

enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_INT_OVERRIDE = 2,
	MADT_LAPIC_NMI = 4,
};

struct madt_lapic {
	uint8_t type, length;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;			/* bit 0: enabled */
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_int_override {
	uint8_t type, length;
	uint8_t bus;			/* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2 */
#define MPS_INTI_CONFORMING	0x0000
#define MPS_INTI_EDGE_HIGH	0x0005

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t uid;			/* 0xFF: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

/* MCFG (PCI Firmware spec 3.0, 4.1.2) */
struct acpi_mcfg {
	struct acpi_header hdr;
	uint64_t reserved;
	struct {
		uint64_t base;
		uint16_t segment;
		uint8_t start_bus;
		uint8_t end_bus;
		uint32_t reserved;
	} __attribute__((packed)) alloc;
} __attribute__((packed));

static_assert(sizeof(struct acpi_header) == 36, "ACPI header size");
static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");
static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC size");
static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC size");
static_assert(sizeof(struct madt_int_override) == 10, "MADT ISO size");
static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT NMI size");
static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG size");

/* Tables are assembled in a host buffer mirroring the ACPI area. */
struct acpi_area {
	uint8_t *buf;
	size_t len, cap;
};

static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

/* Reserve len bytes, 16-byte aligned; returns its offset or -ENOSPC. */
static long acpi_alloc(struct acpi_area *area, size_t len)
{
	size_t off = (area->len + 15) & ~(size_t)15;

	if (off > area->cap || len > area->cap - off)
		return -ENOSPC;
	area->len = off + len;
	return off;
}

static uint64_t acpi_gpa(long off)
{
	return LAYOUT_ACPI_ADDR + off;
}

static void acpi_header_init(struct acpi_header *h, const char *sig,
			     uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = htole32(len);
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = htole32(1);
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = htole32(1);
}

/* Fill in the checksum once the table body is final. */
static void acpi_header_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, le32toh(h->length));
}

static struct acpi_gas acpi_gas_io8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = htole64(port),
	};
}

static int acpi_build_dsdt(struct acpi_area *area, long *dsdt_off)
{
	struct acpi_header *h;
	struct aml a;
	long off;
	int ret;

	aml_init(&a);
	acpi_dsdt_namespace(&a);

	ret = aml_error(&a);
	if (ret)
		goto out;
	off = acpi_alloc(area, sizeof(*h) + a.len);
	if (off < 0) {
		ret = off;
		goto out;
	}
	h = (struct acpi_header *)(area->buf + off);
	/* Revision 2: integers are 64 bits wide. */
	acpi_header_init(h, "DSDT", sizeof(*h) + a.len, 2);
	memcpy(h + 1, a.buf, a.len);
	acpi_header_finish(h);
	*dsdt_off = off;
out:
	aml_free(&a);
	return ret;
}

static long acpi_build_fadt(struct acpi_area *area, long dsdt_off)
{
	struct acpi_fadt *f;
	long off = acpi_alloc(area, sizeof(*f));

	if (off < 0)
		return off;
	f = (struct acpi_fadt *)(area->buf + off);
	acpi_header_init(&f->hdr, "FACP", sizeof(*f), 6);
	f->dsdt = htole32(acpi_gpa(dsdt_off));
	f->x_dsdt = htole64(acpi_gpa(dsdt_off));
	f->sci_int = htole16(ACPI_GED_GSI);
	f->flags = htole32(FADT_F_WBINVD | FADT_F_PWR_BUTTON |
			   FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP |
			   FADT_F_HW_REDUCED_ACPI);
	f->century = ACPI_RTC_CENTURY;
	f->iapc_boot_arch = htole16(FADT_BOOT_8042 | FADT_BOOT_NO_VGA);
	f->reset_reg = acpi_gas_io8(PORT_ACPI_RESET);
	f->reset_value = ACPI_RESET_VALUE;
	f->sleep_control_reg = acpi_gas_io8(PORT_ACPI_SLEEP_CTL);
	f->sleep_status_reg = acpi_gas_io8(PORT_ACPI_SLEEP_STS);
	memcpy(f->hypervisor_vendor_id, "CVISOR  ", 8);
	acpi_header_finish(&f->hdr);
	return off;
}

static long acpi_build_madt(struct acpi_area *area,
			    const struct cpu_topology *t, int nr_cpus)
{
	size_t len = sizeof(struct acpi_madt) +
		     nr_cpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) +
		     2 * sizeof(struct madt_int_override) +
		     sizeof(struct madt_lapic_nmi);
	long off = acpi_alloc(area, len);
	struct madt_int_override *iso;
	struct madt_lapic_nmi *nmi;
	struct madt_ioapic *ioapic;
	struct acpi_madt *m;
	uint8_t *p;

	if (off < 0)
		return off;
	m = (struct acpi_madt *)(area->buf + off);
	acpi_header_init(&m->hdr, "APIC", len, 4);
	m->lapic_addr = htole32(LAYOUT_LAPIC_ADDR);
	m->flags = htole32(MADT_PCAT_COMPAT);
	p = (uint8_t *)(m + 1);

	for (int i = 0; i < nr_cpus; i++) {
		struct madt_lapic *l = (struct madt_lapic *)p;

		*l = (struct madt_lapic){
			.type = MADT_LAPIC, .length = sizeof(*l),
			.uid = i, .apic_id = topology_apic_id(t, i),
			.flags = htole32(1),
		};
		p += sizeof(*l);
	}

	/* IOAPIC ID after the last APIC ID so the two never collide. */
	ioapic = (struct madt_ioapic *)p;
	*ioapic = (struct madt_ioapic){
		.type = MADT_IOAPIC, .length = sizeof(*ioapic),
		.id = topology_apic_id(t, nr_cpus - 1) + 1,
		.addr = htole32(LAYOUT_IOAPIC_ADDR),
		.gsi_base = 0,
	};
	p += sizeof(*ioapic);

	/* The PIT is wired to IOAPIC pin 2 on every PC. */
	iso = (struct madt_int_override *)p;
	*iso = (struct madt_int_override){
		.type = MADT_INT_OVERRIDE, .length = sizeof(*iso),
		.bus = 0, .source = IRQ_PIT, .gsi = htole32(2),
		.flags = htole16(MPS_INTI_CONFORMING),
	};
	p += sizeof(*iso);

	/*
	 * FADT.SCI_INT names the GED line; without an override Linux would
	 * configure an SCI there as level/active-low, but the GED is edge.
	 */
	iso = (struct madt_int_override *)p;
	*iso = (struct madt_int_override){
		.type = MADT_INT_OVERRIDE, .length = sizeof(*iso),
		.bus = 0, .source = ACPI_GED_GSI,
		.gsi = htole32(ACPI_GED_GSI),
		.flags = htole16(MPS_INTI_EDGE_HIGH),
	};
	p += sizeof(*iso);

	nmi = (struct madt_lapic_nmi *)p;
	*nmi = (struct madt_lapic_nmi){
		.type = MADT_LAPIC_NMI, .length = sizeof(*nmi),
		.uid = 0xff, .flags = htole16(MPS_INTI_CONFORMING), .lint = 1,
	};

	acpi_header_finish(&m->hdr);
	return off;
}

/* SRAT (revision 3) and SLIT (revision 1) around acpi_numa.c's bodies. */
static long acpi_build_numa(struct acpi_area *area, struct vm *vm,
			    int nr_cpus, bool slit)
{
	const struct numa_config *numa = &vm->cfg->numa;
	uint64_t low = guest_mem_low_end(&vm->mem);
	struct acpi_header *h;
	size_t body = slit ? acpi_slit_body(NULL, numa) :
		      acpi_srat_body(NULL, numa, &vm->topo, nr_cpus, low);
	long off = acpi_alloc(area, sizeof(*h) + body);

	if (off < 0)
		return off;
	h = (struct acpi_header *)(area->buf + off);
	acpi_header_init(h, slit ? "SLIT" : "SRAT", sizeof(*h) + body,
			 slit ? 1 : 3);
	if (slit)
		acpi_slit_body((uint8_t *)(h + 1), numa);
	else
		acpi_srat_body((uint8_t *)(h + 1), numa, &vm->topo, nr_cpus,
			       low);
	acpi_header_finish(h);
	return off;
}

static long acpi_build_mcfg(struct acpi_area *area)
{
	struct acpi_mcfg *m;
	long off = acpi_alloc(area, sizeof(*m));

	if (off < 0)
		return off;
	m = (struct acpi_mcfg *)(area->buf + off);
	acpi_header_init(&m->hdr, "MCFG", sizeof(*m), 1);
	m->alloc.base = htole64(LAYOUT_PCI_ECAM_BASE);
	m->alloc.segment = 0;
	m->alloc.start_bus = 0;
	m->alloc.end_bus = LAYOUT_PCI_ECAM_SIZE / (1 << 20) - 1;
	acpi_header_finish(&m->hdr);
	return off;
}

static long acpi_build_xsdt(struct acpi_area *area, const long *tables,
			    int nr)
{
	size_t len = sizeof(struct acpi_header) + nr * sizeof(uint64_t);
	struct acpi_header *h;
	long off = acpi_alloc(area, len);
	uint64_t entry;

	if (off < 0)
		return off;
	h = (struct acpi_header *)(area->buf + off);
	acpi_header_init(h, "XSDT", len, 1);
	for (int i = 0; i < nr; i++) {
		entry = htole64(acpi_gpa(tables[i]));
		memcpy((uint8_t *)(h + 1) + i * sizeof(entry), &entry,
		       sizeof(entry));
	}
	acpi_header_finish(h);
	return off;
}

int acpi_build(struct vm *vm, uint64_t *rsdp_gpa)
{
	/* up to the reset vector, the last 16 bytes of the BIOS area */
	struct acpi_area area = { .cap = LAYOUT_RESET_VECTOR -
					 LAYOUT_ACPI_ADDR };
	int nr_cpus = vm->cfg->nr_cpus, nr_tables = 3;
	long rsdp_off, xsdt_off, dsdt_off = 0, tables[5];
	struct acpi_rsdp *rsdp;
	int ret;

	/* The MADT's and SRAT's APIC IDs are 8 bits; 0xff is broadcast. */
	if (nr_cpus < 1 || nr_cpus > MAX_VCPUS ||
	    topology_apic_id(&vm->topo, nr_cpus - 1) > 254)
		return -EINVAL;
	area.buf = calloc(1, area.cap);
	if (!area.buf)
		return -ENOMEM;

	/* The RSDP goes first: the legacy scan looks on 16-byte bounds. */
	rsdp_off = acpi_alloc(&area, sizeof(*rsdp));
	ret = acpi_build_dsdt(&area, &dsdt_off);
	if (ret)
		goto out;
	tables[0] = acpi_build_fadt(&area, dsdt_off);
	tables[1] = acpi_build_madt(&area, &vm->topo, nr_cpus);
	tables[2] = acpi_build_mcfg(&area);
	if (vm->cfg->numa.nr_nodes) {
		tables[nr_tables++] = acpi_build_numa(&area, vm, nr_cpus, false);
		tables[nr_tables++] = acpi_build_numa(&area, vm, nr_cpus, true);
	}
	xsdt_off = acpi_build_xsdt(&area, tables, nr_tables);
	ret = rsdp_off < 0 || xsdt_off < 0 ? -ENOSPC : 0;
	for (int i = 0; i < nr_tables; i++)
		if (tables[i] < 0)
			ret = -ENOSPC;
	if (ret)
		goto out;

	rsdp = (struct acpi_rsdp *)(area.buf + rsdp_off);
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = htole32(sizeof(*rsdp));
	rsdp->xsdt_addr = htole64(acpi_gpa(xsdt_off));
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->ext_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	ret = guest_mem_write(&vm->mem, LAYOUT_ACPI_ADDR, area.buf, area.len);
	if (ret) {
		log_error("ACPI tables: 0x%llx..0x%llx is not guest RAM",
			  LAYOUT_ACPI_ADDR, LAYOUT_ACPI_ADDR + area.len);
		goto out;
	}
	*rsdp_gpa = acpi_gpa(rsdp_off);
out:
	free(area.buf);
	return ret;
}
