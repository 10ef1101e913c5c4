// SPDX-License-Identifier: MIT
#include "accel/kvm_cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"

#define KVM_CPUID_MAX_ENTRIES 256

/*
 * Leaves 0xB and 0x1F (when the table's basic range reaches them) as the
 * SMT level, the core level and the end: what KVM lists there follows the
 * host (an AMD host lists only index 0). Returns the new count.
 */
static int kvm_cpuid_topology_entries(struct kvm_cpuid2 *c)
{
	static const uint32_t leaves[] = { 0xb, 0x1f };
	uint32_t max = 0;
	int n = 0;

	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0)
			max = c->entries[i].eax;
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function != 0xb &&
		    c->entries[i].function != 0x1f)
			c->entries[n++] = c->entries[i];
	for (size_t l = 0; l < sizeof(leaves) / sizeof(leaves[0]); l++) {
		if (max < leaves[l])
			continue;
		for (uint32_t index = 0; index < 3; index++) {
			if (n == KVM_CPUID_MAX_ENTRIES)
				break;
			c->entries[n++] = (struct kvm_cpuid_entry2){
				.function = leaves[l], .index = index,
				.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			};
		}
	}
	c->nent = n;
	return n;
}

int kvm_cpuid_setup(int kvm_fd, int vcpu_fd, const struct cpu_topology *t,
		    int cpu)
{
	struct kvm_cpuid2 *c;
	struct cpuid_leaf *leaves;
	int ret = 0, n;

	c = calloc(1, sizeof(*c) +
		   KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	leaves = calloc(KVM_CPUID_MAX_ENTRIES, sizeof(*leaves));
	if (!c || !leaves) {
		ret = -ENOMEM;
		goto out;
	}
	c->nent = KVM_CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		ret = -errno;
		goto out;
	}
	n = kvm_cpuid_topology_entries(c);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		leaves[i] = (struct cpuid_leaf){ e->function, e->index,
			e->eax, e->ebx, e->ecx, e->edx };
	}
	cpuid_apply_policy(leaves, n, t, cpu);
	for (int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		e->eax = leaves[i].eax;
		e->ebx = leaves[i].ebx;
		e->ecx = leaves[i].ecx;
		e->edx = leaves[i].edx;
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
out:
	free(leaves);
	free(c);
	return ret;
}
