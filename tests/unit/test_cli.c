// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/topology.h"
#include "cli/cli.h"
#include "cli/run_opts.h"
#include "test.h"

static void test_parse_size(void)
{
	unsigned long long v;

	CHECK_EQ(parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(parse_size("512M", &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(parse_size("2g", &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(parse_size("1T", &v), 0);
	CHECK_EQ(v, 1ULL << 40);
	CHECK_EQ(parse_size("64k", &v), 0);
	CHECK_EQ(v, 64 << 10);
	CHECK_EQ(parse_size("10MB", &v), 0);
	CHECK_EQ(v, 10ULL << 20);
	CHECK_EQ(parse_size("", &v), -EINVAL);
	CHECK_EQ(parse_size("M", &v), -EINVAL);
	CHECK_EQ(parse_size("-1", &v), -EINVAL);
	CHECK_EQ(parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(parse_size("1Mx", &v), -EINVAL);
	CHECK_EQ(parse_size("99999999999999999999", &v), -ERANGE);
	CHECK_EQ(parse_size("16777216T", &v), -ERANGE);
}

static void test_parse_disk(void)
{
	struct vm_config cfg = { 0 };
	char a[] = "path=/x.img,readonly=on,cache=none,serial=abc";
	char b[] = "path=/y.img,readonly=maybe";
	char c[] = "readonly=on";

	CHECK_EQ(run_parse_disk(a, &cfg), 0);
	CHECK_EQ(cfg.nr_disks, 1);
	CHECK(!strcmp(cfg.disks[0].path, "/x.img"));
	CHECK(cfg.disks[0].readonly);
	CHECK(cfg.disks[0].direct);
	CHECK(!strcmp(cfg.disks[0].serial, "abc"));
	CHECK_EQ(run_parse_disk(b, &cfg), -EINVAL);
	CHECK_EQ(run_parse_disk(c, &cfg), -EINVAL);
	CHECK_EQ(cfg.nr_disks, 1);
}

static void test_parse_memory_and_cpus(void)
{
	struct vm_config cfg = { 0 };
	char m[] = "256M,merge=on,hugepages=on";
	char bad[] = "256M,merge";
	char c1[] = "4", c2[] = "0", c3[] = "3x";

	CHECK_EQ(run_parse_memory(m, &cfg), 0);
	CHECK_EQ(cfg.mem_size, 256ULL << 20);
	CHECK(cfg.mem_opts.merge && cfg.mem_opts.hugepages);
	CHECK_EQ(run_parse_memory(bad, &cfg), -EINVAL);
	CHECK_EQ(run_parse_cpus(c1, &cfg), 0);
	CHECK_EQ(cfg.nr_cpus, 4);
	CHECK_EQ(run_parse_cpus(c2, &cfg), -EINVAL);
	CHECK_EQ(run_parse_cpus(c3, &cfg), -EINVAL);
}

static void test_cpuid_topology(void)
{
	struct cpuid_leaf l[] = {
		{ .function = 1, .ebx = 0x00000800, .edx = 0 },
		{ .function = 0xb, .index = 0 },
		{ .function = 0xb, .index = 1 },
		{ .function = 4, .eax = 0x121 },
	};
	struct cpu_topology flat = { 1, 6, 1 };

	cpuid_apply_policy(l, 4, &flat, 5);
	/* Leaf 1: initial APIC ID in EBX[31:24], hypervisor bit. */
	CHECK_EQ(l[0].ebx >> 24, 5);
	CHECK_EQ((l[0].ebx >> 16) & 0xff, 8);
	CHECK(l[0].ecx & (1u << 31));
	/* Leaf 0xB: x2APIC ID in EDX, 6 logical CPUs at the core level. */
	CHECK_EQ(l[1].edx, 5);
	CHECK_EQ(l[1].ebx, 1);
	CHECK_EQ((l[1].ecx >> 8) & 0xff, 1);
	CHECK_EQ(l[2].ebx, 6);
	CHECK_EQ(l[2].eax, 3);
	CHECK_EQ((l[2].ecx >> 8) & 0xff, 2);
	/* Leaf 4: cores per package - 1 in EAX[31:26], cache bits kept. */
	CHECK_EQ(l[3].eax >> 26, 7);
	CHECK_EQ(l[3].eax & 0x3ff, 0x121);
	CHECK_EQ(cpuid_order(1), 0);
	CHECK_EQ(cpuid_order(64), 6);
	CHECK_EQ(cpuid_order(65), 7);
}

int main(void)
{
	RUN(test_parse_size);
	RUN(test_parse_disk);
	RUN(test_parse_memory_and_cpus);
	RUN(test_cpuid_topology);
	return test_summary();
}
