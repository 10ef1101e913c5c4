// SPDX-License-Identifier: MIT
/* ACPI tables: build them into guest RAM and parse them back. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "devices/legacy.h"
#include "test.h"
#include "vmm/vm.h"
#include "vmm/bytes.h"

static struct vm_config cfg;
static struct vm vm;

static int setup(int nr_cpus)
{
	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_cpus = nr_cpus;
	vm.cfg = &cfg;
	return guest_mem_init(&vm.mem, 64 << 20, NULL);
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* Host pointer to the table at gpa after checking signature and sum. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = gpa_to_hva(&vm.mem, gpa, 36);

	if (!t || memcmp(t, sig, 4))
		return NULL;
	if (gpa < LAYOUT_ACPI_ADDR || gpa + get_le32(t + 4) > LAYOUT_ACPI_END)
		return NULL;
	return sum(t, get_le32(t + 4)) == 0 ? t : NULL;
}

static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	uint32_t n = (get_le32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t gpa = get_le64(xsdt + 36 + 8 * i);
		const uint8_t *t = gpa_to_hva(&vm.mem, gpa, 36);

		if (t && !memcmp(t, sig, 4))
			return table(gpa, sig);
	}
	return NULL;
}

static const uint8_t *build(int nr_cpus, const uint8_t **xsdt)
{
	uint64_t rsdp_gpa = 0;
	const uint8_t *rsdp;

	*xsdt = NULL;
	if (setup(nr_cpus) || acpi_build(&vm, &rsdp_gpa))
		return NULL;
	rsdp = gpa_to_hva(&vm.mem, rsdp_gpa, 36);
	if (rsdp)
		*xsdt = table(get_le64(rsdp + 24), "XSDT");
	return rsdp;
}

static void test_rsdp(void)
{
	const uint8_t *xsdt, *rsdp = build(2, &xsdt);

	CHECK(rsdp);
	if (!rsdp)
		return;
	CHECK(rsdp == gpa_to_hva(&vm.mem, LAYOUT_ACPI_ADDR, 36));
	CHECK(!memcmp(rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum(rsdp, 20), 0);
	CHECK_EQ(sum(rsdp, 36), 0);
	CHECK_EQ(rsdp[15], 2);
	CHECK_EQ(get_le32(rsdp + 20), 36);
	CHECK(xsdt);
	if (xsdt) {
		CHECK_EQ(get_le32(xsdt + 4), 36 + 3 * 8);
		CHECK(xsdt_find(xsdt, "FACP"));
		CHECK(xsdt_find(xsdt, "APIC"));
		CHECK(xsdt_find(xsdt, "MCFG"));
	}
	guest_mem_destroy(&vm.mem);
}

static void test_fadt(void)
{
	const uint8_t *xsdt, *f, *dsdt;

	build(1, &xsdt);
	f = xsdt ? xsdt_find(xsdt, "FACP") : NULL;
	CHECK(f);
	if (!f)
		goto out;
	CHECK_EQ(get_le32(f + 4), 276);
	CHECK_EQ(f[8], 6);
	CHECK(get_le32(f + 112) & (1u << 20));		/* HW_REDUCED_ACPI */
	CHECK(get_le32(f + 112) & (1u << 10));		/* RESET_REG_SUP */
	CHECK_EQ(f[109] | f[110] << 8, 0x6);		/* 8042, no VGA */
	CHECK_EQ(get_le32(f + 76), 0);			/* no PM timer */
	CHECK_EQ(get_le32(f + 56), 0);			/* no PM1a_EVT */
	/* RESET_REG: system I/O, 8 bits, at PORT_ACPI_RESET */
	CHECK_EQ(f[116], 1);
	CHECK_EQ(f[117], 8);
	CHECK_EQ(get_le64(f + 120), PORT_ACPI_RESET);
	CHECK_EQ(f[128], ACPI_RESET_VALUE);
	CHECK_EQ(f[108], 0x32);			/* CMOS century */
	CHECK_EQ(f[244], 1);
	CHECK_EQ(get_le64(f + 248), PORT_ACPI_SLEEP_CTL);
	CHECK_EQ(f[256], 1);
	CHECK_EQ(get_le64(f + 260), PORT_ACPI_SLEEP_STS);
	CHECK(!memcmp(f + 268, "CVISOR  ", 8));
	dsdt = table(get_le64(f + 140), "DSDT");
	CHECK(dsdt);
	CHECK_EQ(get_le32(f + 40), get_le64(f + 140));
out:
	guest_mem_destroy(&vm.mem);
}

static void test_madt(void)
{
	const int nr_cpus = 4;
	const uint8_t *xsdt, *m, *p, *end;
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	bool irq0_to_2 = false;

	build(nr_cpus, &xsdt);
	m = xsdt ? xsdt_find(xsdt, "APIC") : NULL;
	CHECK(m);
	if (!m)
		goto out;
	CHECK_EQ(get_le32(m + 36), LAYOUT_LAPIC_ADDR);
	end = m + get_le32(m + 4);
	for (p = m + 44; p < end && p[1]; p += p[1]) {
		switch (p[0]) {
		case 0:
			CHECK_EQ(p[2], lapics);		/* UID */
			CHECK_EQ(p[3], lapics);		/* APIC ID */
			CHECK_EQ(get_le32(p + 4), 1);
			lapics++;
			break;
		case 1:
			CHECK_EQ(p[2], nr_cpus);
			CHECK_EQ(get_le32(p + 4), LAYOUT_IOAPIC_ADDR);
			CHECK_EQ(get_le32(p + 8), 0);
			ioapics++;
			break;
		case 2:
			if (p[3] == 0 && get_le32(p + 4) == 2)
				irq0_to_2 = true;
			isos++;
			break;
		case 4:
			CHECK_EQ(p[2], 0xff);
			CHECK_EQ(p[5], 1);
			nmis++;
			break;
		}
	}
	CHECK(p == end);
	CHECK_EQ(lapics, nr_cpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, 2);
	CHECK_EQ(nmis, 1);
	CHECK(irq0_to_2);
out:
	guest_mem_destroy(&vm.mem);
}

static void test_madt_max_cpus(void)
{
	const uint8_t *xsdt, *m;

	build(MAX_VCPUS, &xsdt);
	m = xsdt ? xsdt_find(xsdt, "APIC") : NULL;
	CHECK(m);
	if (m)
		CHECK_EQ(get_le32(m + 4), 44 + MAX_VCPUS * 8 + 12 + 2 * 10 + 6);
	guest_mem_destroy(&vm.mem);
	/* RAM ending below the ACPI area: an error, not a crash */
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	cfg.nr_cpus = 1;
	CHECK_EQ(guest_mem_init(&vm.mem, 512 << 10, NULL), 0);
	{
		uint64_t gpa;

		CHECK(acpi_build(&vm, &gpa) < 0);
	}
	guest_mem_destroy(&vm.mem);
	CHECK(setup(0) == 0);
	{
		uint64_t gpa;

		CHECK(acpi_build(&vm, &gpa) < 0);
	}
	guest_mem_destroy(&vm.mem);
}

static void test_mcfg(void)
{
	const uint8_t *xsdt, *m;

	build(1, &xsdt);
	m = xsdt ? xsdt_find(xsdt, "MCFG") : NULL;
	CHECK(m);
	if (m) {
		CHECK_EQ(get_le32(m + 4), 60);
		CHECK_EQ(get_le64(m + 44), LAYOUT_PCI_ECAM_BASE);
		CHECK_EQ(m[52] | m[53] << 8, 0);
		CHECK_EQ(m[54], 0);
		CHECK_EQ(m[55], 0);
	}
	guest_mem_destroy(&vm.mem);
}

static bool contains(const uint8_t *p, size_t len, const void *s, size_t n)
{
	return memmem(p, len, s, n) != NULL;
}

static const uint8_t *dsdt_of(const uint8_t *xsdt)
{
	const uint8_t *f = xsdt ? xsdt_find(xsdt, "FACP") : NULL;

	return f ? table(get_le64(f + 140), "DSDT") : NULL;
}

static void test_dsdt_names(void)
{
	static const char *const names[] = {
		"PCI0", "_HID", "_CID", "_SEG", "_BBN", "_CRS", "_OSC", "MBRD",
		"COM1", "PS2K", "RTC_", "PEVT", "QEMU0001", "_S5_", "GED_",
		"ACPI0013", "_EVT", "PWRB", "_PRT", "GSIA", "GSID", "_SRS",
		"_PRS",
	};
	const uint8_t *xsdt, *d;
	uint32_t len;
	/* Name(\_S5, Package(4) {5, 5, 0, 0}) */
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12,
				      0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05,
				      0x00, 0x00 };
	/* Name(_HID, EisaId("PNP0A08")) */
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
				       0x41, 0xd0, 0x0a, 0x08 };

	build(1, &xsdt);
	d = dsdt_of(xsdt);
	CHECK(d);
	if (!d)
		goto out;
	len = get_le32(d + 4);
	CHECK_EQ(d[8], 2);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!contains(d, len, names[i], strlen(names[i]))) {
			printf("  missing %s\n", names[i]);
			CHECK(0);
		}
	}
	CHECK(contains(d, len, s5, sizeof(s5)));
	CHECK(contains(d, len, hid, sizeof(hid)));
out:
	guest_mem_destroy(&vm.mem);
}

static int write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The tables must be what the ACPICA disassembler accepts. */
static void test_iasl(void)
{
	char dir[] = "/tmp/cvisor-acpi-XXXXXX", cmd[512], path[300];
	static const char *const sigs[] = { "FACP", "APIC", "MCFG" };
	const uint8_t *xsdt, *d;
	FILE *dsl;
	char line[512];
	bool pci0 = false, s5 = false, pvpanic = false;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		SKIP("iasl not installed (acpica-tools)");
		return;
	}
	build(2, &xsdt);
	d = dsdt_of(xsdt);
	CHECK(d && mkdtemp(dir));
	if (!d)
		goto out;
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	CHECK(write_file(path, d, get_le32(d + 4)) == 0);
	for (size_t i = 0; i < 3; i++) {
		const uint8_t *t = xsdt_find(xsdt, sigs[i]);

		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		CHECK(t && write_file(path, t, get_le32(t + 4)) == 0);
	}
	snprintf(cmd, sizeof(cmd),
		 "cd %s && for f in *.dat; do iasl -d $f >$f.log 2>&1 || "
		 "{ cat $f.log; exit 1; }; done", dir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = fopen(path, "r");
	CHECK(dsl);
	while (dsl && fgets(line, sizeof(line), dsl)) {
		pci0 |= strstr(line, "Device (PCI0)") != NULL;
		s5 |= strstr(line, "_S5, Package") != NULL;
		pvpanic |= strstr(line, "\"QEMU0001\"") != NULL;
	}
	if (dsl)
		fclose(dsl);
	CHECK(pci0 && s5 && pvpanic);
	/* Recompile the disassembly: the AML must round-trip. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -p re dsdt.dsl >re.log 2>&1"
		 " || cat re.log", dir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/re.aml", dir);
	CHECK(access(path, F_OK) == 0);
	if (!getenv("CVISOR_KEEP_ACPI")) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	} else {
		printf("  tables kept in %s\n", dir);
	}
out:
	guest_mem_destroy(&vm.mem);
}

int main(void)
{
	RUN(test_rsdp);
	RUN(test_fadt);
	RUN(test_madt);
	RUN(test_madt_max_cpus);
	RUN(test_mcfg);
	RUN(test_dsdt_names);
	RUN(test_iasl);
	return test_summary();
}
