// SPDX-License-Identifier: MIT
#include "accel/kvm_cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"

#define KVM_CPUID_MAX_ENTRIES 256

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
	n = c->nent;
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
