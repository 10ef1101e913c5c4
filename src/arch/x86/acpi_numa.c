// SPDX-License-Identifier: MIT
#include "arch/x86/acpi_numa.h"

#include <assert.h>
#include <endian.h>
#include <string.h>

#include "arch/x86/layout.h"

/* SRAT (5.2.16) after its header: reserved 1 (for compatibility), 8 zero */
struct srat_head {
	uint32_t reserved1;
	uint64_t reserved2;
} __attribute__((packed));

enum {
	SRAT_LAPIC = 0,
	SRAT_MEMORY = 1,
};

/* Processor Local APIC/SAPIC Affinity Structure (5.2.16.1) */
struct srat_lapic {
	uint8_t type, length;
	uint8_t domain_lo;
	uint8_t apic_id;
	uint32_t flags;			/* bit 0: enabled */
	uint8_t sapic_eid;
	uint8_t domain_hi[3];
	uint32_t clock_domain;
} __attribute__((packed));

/* Memory Affinity Structure (5.2.16.2) */
struct srat_memory {
	uint8_t type, length;
	uint32_t domain;
	uint16_t reserved1;
	uint64_t base;
	uint64_t size;
	uint32_t reserved2;
	uint32_t flags;			/* bit 0: enabled */
	uint64_t reserved3;
} __attribute__((packed));

#define SRAT_ENABLED	1u

static_assert(sizeof(struct srat_head) == 12, "SRAT head size");
static_assert(sizeof(struct srat_lapic) == 16, "SRAT LAPIC size");
static_assert(sizeof(struct srat_memory) == 40, "SRAT memory size");

static size_t srat_memory(uint8_t *buf, size_t off, int node, uint64_t base,
			  uint64_t size)
{
	struct srat_memory m = {
		.type = SRAT_MEMORY, .length = sizeof(m),
		.domain = htole32(node), .base = htole64(base),
		.size = htole64(size), .flags = htole32(SRAT_ENABLED),
	};

	if (!size)
		return 0;
	if (buf)
		memcpy(buf + off, &m, sizeof(m));
	return sizeof(m);
}

size_t acpi_srat_body(uint8_t *buf, const struct numa_config *numa,
		      const struct cpu_topology *t, int nr_cpus,
		      uint64_t low_end)
{
	struct srat_head head = { .reserved1 = htole32(1) };
	size_t off = sizeof(head);

	if (buf)
		memcpy(buf, &head, sizeof(head));
	for (int i = 0; i < nr_cpus; i++) {
		int node = numa_vcpu_node(numa, i);
		struct srat_lapic l = {
			.type = SRAT_LAPIC, .length = sizeof(l),
			.domain_lo = node, .apic_id = topology_apic_id(t, i),
			.flags = htole32(SRAT_ENABLED),
		};

		if (buf)
			memcpy(buf + off, &l, sizeof(l));
		off += sizeof(l);
	}
	for (int i = 0; i < numa->nr_nodes; i++) {
		uint64_t start = numa_node_offset(numa, i);
		uint64_t end = start + numa->nodes[i].mem;

		if (start < low_end)
			off += srat_memory(buf, off, i, start,
					   (end < low_end ? end : low_end) - start);
		if (end > low_end) {
			uint64_t hi = start > low_end ? start : low_end;

			off += srat_memory(buf, off, i, LAYOUT_HIGH_MEM_START +
					   hi - low_end, end - hi);
		}
	}
	return off;
}

size_t acpi_slit_body(uint8_t *buf, const struct numa_config *numa)
{
	uint64_t n = numa->nr_nodes;

	if (buf) {
		uint64_t le = htole64(n);

		memcpy(buf, &le, sizeof(le));
		for (int a = 0; a < numa->nr_nodes; a++)
			for (int b = 0; b < numa->nr_nodes; b++)
				buf[8 + a * n + b] = numa_node_distance(numa, a, b);
	}
	return 8 + n * n;
}
