// SPDX-License-Identifier: MIT
/*
 * CPU topology and guest NUMA nodes: APIC IDs, CPUID leaves (the KVM
 * policy and the emu CPU must agree), --cpus/--numa parsing and checks,
 * SRAT/SLIT (decoded by hand, and by iasl when installed), numa_maps
 * reading, and guest RAM as one mapping per node, bound by mbind.
 */
#include <errno.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/emu/cpu.h"
#include "arch/x86/acpi.h"
#include "arch/x86/acpi_numa.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/topology.h"
#include "cli/numa_opts.h"
#include "cli/run_opts.h"
#include "test.h"
#include "vmm/guest_mem.h"
#include "vmm/numa_host.h"
#include "vmm/vm.h"
#include "vmm/bytes.h"

static void test_topology_apic_ids(void)
{
	struct cpu_topology t = { 2, 3, 2 };
	char err[128];

	CHECK_EQ(topology_resolve(&t, 12, err, sizeof(err)), 0);
	/* threads: 1 bit, cores: 2 bits, so packages start at 8 */
	CHECK_EQ(topology_package_shift(&t), 3);
	CHECK_EQ(topology_apic_id(&t, 0), 0);
	CHECK_EQ(topology_apic_id(&t, 1), 1);
	CHECK_EQ(topology_apic_id(&t, 2), 2);
	CHECK_EQ(topology_apic_id(&t, 5), 5);
	CHECK_EQ(topology_apic_id(&t, 6), 8);
	CHECK_EQ(topology_apic_id(&t, 11), 13);

	t = (struct cpu_topology){ 2, 2, 2 };
	CHECK_EQ(topology_resolve(&t, 6, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "sockets=2 x cores=2 x threads=2 is not 6") != NULL);
	t = (struct cpu_topology){ .sockets = 2 };
	CHECK_EQ(topology_resolve(&t, 8, err, sizeof(err)), 0);
	CHECK_EQ(t.cores, 4);
	CHECK_EQ(t.threads, 1);
	t = (struct cpu_topology){ .sockets = 3 };
	CHECK_EQ(topology_resolve(&t, 8, err, sizeof(err)), -EINVAL);
	/* Zero is flat: APIC ID = vCPU index. */
	t = (struct cpu_topology){ 0 };
	CHECK_EQ(topology_apic_id(&t, 7), 7);
}

/* The KVM path's policy and the emu CPU give the same topology leaves. */
static void test_cpuid_leaves_agree(void)
{
	static const struct { uint32_t leaf, sub; } q[] = {
		{ 1, 0 }, { 4, 0 }, { 4, 2 }, { 4, 3 }, { 0xb, 0 },
		{ 0xb, 1 }, { 0xb, 2 }, { 0x1f, 0 }, { 0x1f, 1 },
	};
	struct vm *vm = calloc(1, sizeof(*vm));
	struct emu_cpu *cpu = calloc(1, sizeof(*cpu));
	uint32_t out[4];

	vm->topo = (struct cpu_topology){ 2, 3, 2 };
	vm->nr_vcpus = 12;
	cpu->vm = vm;
	cpu->id = 7;	/* socket 1, core 0, thread 1: APIC ID 9 */
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		struct cpuid_leaf l;

		cpu_cpuid(cpu, q[i].leaf, q[i].sub, out);
		/* What KVM would offer for the leaf: emu's own values. */
		l = (struct cpuid_leaf){ q[i].leaf, q[i].sub, out[0], out[1],
					 out[2], out[3] };
		cpuid_apply_policy(&l, 1, &vm->topo, 7);
		if (q[i].leaf == 1) {
			CHECK_EQ(out[1] >> 24, 9);
			CHECK_EQ((out[1] >> 16) & 0xff, 8);
			CHECK_EQ(l.ebx, out[1]);
		} else {
			CHECK_EQ(l.eax, out[0]);
			CHECK_EQ(l.ebx, out[1]);
			CHECK_EQ(l.ecx, out[2]);
			CHECK_EQ(l.edx, out[3]);
		}
	}
	cpu_cpuid(cpu, 0xb, 0, out);
	CHECK_EQ(out[0], 1);
	CHECK_EQ(out[1], 2);
	CHECK_EQ(out[2], 0x100);
	CHECK_EQ(out[3], 9);
	cpu_cpuid(cpu, 0xb, 1, out);
	CHECK_EQ(out[0], 3);
	CHECK_EQ(out[1], 6);
	CHECK_EQ(out[2], 0x201);
	cpu_cpuid(cpu, 4, 0, out);	/* L1d: per core, 4 core IDs */
	CHECK_EQ((out[0] >> 14) & 0xfff, 1);
	CHECK_EQ(out[0] >> 26, 3);
	cpu_cpuid(cpu, 4, 3, out);	/* L3: per package */
	CHECK_EQ((out[0] >> 14) & 0xfff, 7);
	cpu_cpuid(cpu, 0, 0, out);
	CHECK_EQ(out[0], 0x1f);
	free(cpu);
	free(vm);
}

static void test_parse_cpus_topology(void)
{
	struct vm_config cfg = { 0 };
	char a[] = "8,sockets=2,cores=2,threads=2";
	char b[] = "6,sockets=2,cores=2,threads=2";
	char c[] = "4,affinity=0-1,3,sockets=2";
	char d[] = "4,sockets=2,affinity=0:1,1:2";
	char e[] = "4,sockets=0";
	char f[] = "4,dies=2";

	CHECK_EQ(run_parse_cpus(a, &cfg), 0);
	CHECK_EQ(cfg.topo.sockets, 2);
	CHECK_EQ(cfg.topo.cores, 2);
	CHECK_EQ(cfg.topo.threads, 2);
	CHECK_EQ(run_parse_cpus(b, &cfg), -EINVAL);
	CHECK_EQ(run_parse_cpus(c, &cfg), 0);
	CHECK(cfg.affinity && !strcmp(cfg.affinity, "0-1,3"));
	CHECK_EQ(cfg.topo.cores, 2);
	CHECK_EQ(run_parse_cpus(d, &cfg), 0);
	CHECK(cfg.affinity && !strcmp(cfg.affinity, "0:1,1:2"));
	CHECK_EQ(run_parse_cpus(e, &cfg), -EINVAL);
	CHECK_EQ(run_parse_cpus(f, &cfg), -EINVAL);
}

static int parse(struct numa_config *n, const char *s, char *err, size_t len)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", s);
	return numa_opts_parse(buf, n, err, len);
}

static void test_parse_numa(void)
{
	struct numa_config n = { 0 };
	char err[256];

	CHECK_EQ(parse(&n, "node=0,cpus=0-1,4,mem=2G,host-node=0,policy=bind",
		       err, sizeof(err)), 0);
	CHECK_EQ(parse(&n, "node=1,cpus=2-3,mem=1G", err, sizeof(err)), 0);
	CHECK_EQ(parse(&n, "distance=0:1=21", err, sizeof(err)), 0);
	CHECK_EQ(n.nr_nodes, 2);
	CHECK_EQ(n.nodes[0].cpus, 0x13);
	CHECK_EQ(n.nodes[0].mem, 2ULL << 30);
	CHECK_EQ(n.nodes[0].host_nodes, 1);
	CHECK_EQ(n.nodes[0].policy, NUMA_POLICY_BIND);
	CHECK_EQ(n.nodes[1].policy, NUMA_POLICY_NONE);
	CHECK_EQ(numa_node_distance(&n, 0, 1), 21);
	CHECK_EQ(numa_node_distance(&n, 1, 0), 21);
	CHECK_EQ(numa_node_distance(&n, 1, 1), 10);
	CHECK_EQ(numa_vcpu_node(&n, 4), 0);
	CHECK_EQ(numa_vcpu_node(&n, 3), 1);
	CHECK_EQ(numa_node_offset(&n, 1), 2ULL << 30);
	CHECK_EQ(numa_check(&n, 5, 3ULL << 30, err, sizeof(err)), 0);

	/* Each refusal names the value. */
	CHECK_EQ(numa_check(&n, 6, 3ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "vCPUs 5 are in no node") != NULL);
	CHECK_EQ(numa_check(&n, 4, 3ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "vCPUs 4 do not exist") != NULL);
	CHECK_EQ(numa_check(&n, 5, 4ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "adds up to 3072 MiB, --memory is 4096 MiB") != NULL);
	CHECK_EQ(numa_check(&n, 5, 2ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "nodes 0-1 have more mem than --memory (2048 MiB)") != NULL);
	CHECK_EQ(parse(&n, "node=0,cpus=0,mem=1G", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "node 0 is given twice") != NULL);
	CHECK_EQ(parse(&n, "node=2,cpus=1,mem=1G", err, sizeof(err)), 0);
	CHECK_EQ(numa_check(&n, 5, 4ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "node 2: vCPUs 1 are in another node") != NULL);
	CHECK_EQ(parse(&n, "node=4,mem=1G", err, sizeof(err)), 0);
	n.nodes[2].cpus = 0;
	CHECK_EQ(numa_check(&n, 5, 5ULL << 30, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "node 3 is missing") != NULL);

	CHECK_EQ(parse(&n, "node=5,mem=1G,host-node=63", err, sizeof(err)), 0);
	n.nodes[4].defined = false;
	n.nr_nodes = 3;
	n.nodes[2] = n.nodes[5];
	if (!(numa_host_nodes() >> 63 & 1)) {
		CHECK_EQ(numa_check(&n, 5, 4ULL << 30, err, sizeof(err)),
			 -EINVAL);
		CHECK(strstr(err, "host-node=63 does not exist") != NULL);
	}
	CHECK_EQ(parse(&n, "node=6,mem=1G,policy=bind", err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "policy=bind needs host-node") != NULL);
	CHECK_EQ(parse(&n, "node=6,mem=1G,host-node=0-1,policy=preferred", err,
		       sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "node=6,mem=1G,host-node=0,policy=local", err,
		       sizeof(err)), -EINVAL);
	CHECK(strstr(err, "policy=local") != NULL);
	CHECK_EQ(parse(&n, "node=6,mem=3M", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "mem=3M") != NULL);
	CHECK_EQ(parse(&n, "node=8,mem=2M", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "node=6,cpus=64,mem=2M", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "node=6,cpus=3-1,mem=2M", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "node=6,cpus=0", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "node=6,mem=2M,speed=9", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "unknown option 'speed'") != NULL);
	CHECK_EQ(parse(&n, "distance=1:1=10", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "distance=0:1=9", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "distance=0:1=255", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "distance=0-1=20", err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&n, "distance=0:7=30", err, sizeof(err)), 0);
	CHECK_EQ(numa_check(&n, 5, 4ULL << 30, err, sizeof(err)), -EINVAL);
}

/* A node spanning the MMIO hole gets a range below it and one at 4 GiB. */
static void test_srat_hole_split(void)
{
	struct numa_config n = { 0 };
	struct cpu_topology t = { 2, 1, 2 };
	uint8_t buf[512];
	char err[128];
	size_t len;

	CHECK_EQ(parse(&n, "node=0,cpus=0-1,mem=2G", err, sizeof(err)), 0);
	CHECK_EQ(parse(&n, "node=1,cpus=2-3,mem=2G", err, sizeof(err)), 0);
	len = acpi_srat_body(NULL, &n, &t, 4, 3ULL << 30);
	CHECK_EQ(len, 12 + 4 * 16 + 3 * 40);
	CHECK_EQ(acpi_srat_body(buf, &n, &t, 4, 3ULL << 30), len);
	CHECK_EQ(get_le32(buf), 1);
	/* vCPU 2: socket 1, APIC ID 2, node 1 */
	CHECK_EQ(buf[12 + 2 * 16], 0);
	CHECK_EQ(buf[12 + 2 * 16 + 2], 1);
	CHECK_EQ(buf[12 + 2 * 16 + 3], 2);
	CHECK_EQ(buf[12 + 16 + 2], 0);
	/* memory: node 0 [0, 2G), node 1 [2G, 3G) and [4G, 5G) */
	CHECK_EQ(get_le32(buf + 76 + 2), 0);
	CHECK_EQ(get_le64(buf + 76 + 8), 0);
	CHECK_EQ(get_le64(buf + 76 + 16), 2ULL << 30);
	CHECK_EQ(get_le32(buf + 116 + 2), 1);
	CHECK_EQ(get_le64(buf + 116 + 8), 2ULL << 30);
	CHECK_EQ(get_le64(buf + 116 + 16), 1ULL << 30);
	CHECK_EQ(get_le32(buf + 156 + 2), 1);
	CHECK_EQ(get_le64(buf + 156 + 8), 4ULL << 30);
	CHECK_EQ(get_le64(buf + 156 + 16), 1ULL << 30);
	CHECK_EQ(get_le32(buf + 156 + 28), 1);	/* enabled */

	CHECK_EQ(parse(&n, "distance=1:0=31", err, sizeof(err)), 0);
	CHECK_EQ(acpi_slit_body(buf, &n), 12);
	CHECK_EQ(get_le64(buf), 2);
	CHECK_EQ(buf[8], 10);
	CHECK_EQ(buf[9], 31);
	CHECK_EQ(buf[10], 31);
	CHECK_EQ(buf[11], 10);
}

/* acpi_build adds SRAT and SLIT; iasl decodes them as written. */
static void test_acpi_numa_tables(void)
{
	static struct vm_config cfg;
	static struct vm vm;
	char dir[] = "/tmp/cvisor-numa-XXXXXX", cmd[600], err[128];
	const uint8_t *rsdp, *xsdt;
	uint64_t rsdp_gpa;
	int found = 0;

	memset(&vm, 0, sizeof(vm));
	memset(&cfg, 0, sizeof(cfg));
	cfg.nr_cpus = 4;
	CHECK_EQ(parse(&cfg.numa, "node=0,cpus=0-1,mem=32M", err,
		       sizeof(err)), 0);
	CHECK_EQ(parse(&cfg.numa, "node=1,cpus=2-3,mem=32M", err,
		       sizeof(err)), 0);
	CHECK_EQ(parse(&cfg.numa, "distance=0:1=20", err, sizeof(err)), 0);
	vm.cfg = &cfg;
	vm.nr_vcpus = 4;
	vm.topo = (struct cpu_topology){ 2, 2, 1 };
	CHECK_EQ(guest_mem_init(&vm.mem, 64 << 20, NULL), 0);
	CHECK_EQ(acpi_build(&vm, &rsdp_gpa), 0);
	rsdp = gpa_to_hva(&vm.mem, rsdp_gpa, 36);
	xsdt = rsdp ? gpa_to_hva(&vm.mem, get_le64(rsdp + 24), 36) : NULL;
	CHECK(xsdt && mkdtemp(dir));
	if (!xsdt)
		goto out;
	for (uint32_t i = 0; i < (get_le32(xsdt + 4) - 36) / 8; i++) {
		const uint8_t *t = gpa_to_hva(&vm.mem, get_le64(xsdt + 36 + 8 * i),
					      36);
		char path[300];
		FILE *f;

		if (!t || (memcmp(t, "SRAT", 4) && memcmp(t, "SLIT", 4)))
			continue;
		found++;
		snprintf(path, sizeof(path), "%s/%.4s.dat", dir, t);
		f = fopen(path, "w");
		CHECK(f && fwrite(t, 1, get_le32(t + 4), f) == get_le32(t + 4));
		if (f)
			fclose(f);
	}
	CHECK_EQ(found, 2);
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		SKIP("iasl not installed (acpica-tools)");
		goto out;
	}
	/* APIC IDs 0,1 (socket 0) and 2,3 (socket 1); node 1 from 32M. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d SRAT.dat >/dev/null 2>&1 && "
		 "iasl -d SLIT.dat >/dev/null 2>&1 && "
		 "grep -q 'Apic ID : 03' SRAT.dsl && "
		 "grep -q 'Base Address : 0000000002000000' SRAT.dsl && "
		 "grep -q 'Address Length : 0000000002000000' SRAT.dsl && "
		 "[ $(grep -c 'Proximity Domain Low(8) : 01' SRAT.dsl) = 2 ] && "
		 "grep -q 'Locality   0 : 0A 14' SLIT.dsl && "
		 "grep -q 'Locality   1 : 14 0A' SLIT.dsl", dir);
	CHECK(system(cmd) == 0);
	if (getenv("CVISOR_KEEP_ACPI"))
		printf("  tables kept in %s\n", dir);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0);
	}
out:
	guest_mem_destroy(&vm.mem);
}

static void test_numa_maps(void)
{
	static const char text[] =
		"7f0000000000 default file=/lib/x.so mapped=3 N0=3 kernelpagesize_kB=4\n"
		"7f1000000000 bind:0 anon=10 dirty=10 N0=6 N1=4 kernelpagesize_kB=4\n"
		"7f1000200000 bind:1 huge anon=2 N1=2 kernelpagesize_kB=2048\n"
		"7f2000000000 default anon=1 N0=1 kernelpagesize_kB=4\n"
		"garbage N0=5\n"
		"7f1000300000 bind:0 N99=5 N0=x N3= kernelpagesize_kB=\n";
	uint64_t b[NUMA_MAX_HOST_NODES];

	CHECK_EQ(numa_host_resident(text, strlen(text), 0x7f1000000000,
				    0x7f2000000000, b), 0);
	CHECK_EQ(b[0], 6 * 4096);
	CHECK_EQ(b[1], 4 * 4096 + 2 * (2 << 20));
	CHECK_EQ(b[2], 0);
	CHECK_EQ(b[3], 0);
}

/* Each node is its own mapping; a bound node carries its policy. */
static void test_guest_mem_nodes(void)
{
	struct numa_config n = { 0 };
	struct guest_mem_opts opts = { .numa = &n };
	struct guest_mem mem;
	unsigned long mask = 0;
	char err[128];
	int mode = -1;

	CHECK_EQ(parse(&n, "node=0,mem=4M", err, sizeof(err)), 0);
	CHECK_EQ(parse(&n, "node=1,mem=8M,host-node=0", err, sizeof(err)), 0);
	CHECK_EQ(guest_mem_init(&mem, 12 << 20, &opts), 0);
	CHECK_EQ(mem.nr_nodes, 2);
	CHECK(mem.nodes[0].hva == mem.mapping);
	CHECK(mem.nodes[1].hva == mem.mapping + (4 << 20));
	CHECK_EQ(mem.nodes[1].size, 8 << 20);
	CHECK_EQ((uintptr_t)mem.mapping % (2 << 20), 0);
	CHECK_EQ(guest_mem_write(&mem, (4 << 20) - 4, "abcdefgh", 8), 0);
	if (get_mempolicy(&mode, &mask, 65, mem.nodes[1].hva, MPOL_F_ADDR)) {
		SKIP("get_mempolicy: %s", strerror(errno));
	} else {
		CHECK_EQ(mode, MPOL_BIND);
		CHECK_EQ(mask, 1);
		CHECK_EQ(get_mempolicy(&mode, &mask, 65, mem.nodes[0].hva,
				       MPOL_F_ADDR), 0);
		CHECK_EQ(mode, MPOL_DEFAULT);
	}
	guest_mem_destroy(&mem);
	/* More memory in the nodes than the VM has */
	CHECK_EQ(guest_mem_init(&mem, 8 << 20, &opts), -EINVAL);
}

int main(void)
{
	RUN(test_topology_apic_ids);
	RUN(test_cpuid_leaves_agree);
	RUN(test_parse_cpus_topology);
	RUN(test_parse_numa);
	RUN(test_srat_hole_split);
	RUN(test_acpi_numa_tables);
	RUN(test_numa_maps);
	RUN(test_guest_mem_nodes);
	return test_summary();
}
