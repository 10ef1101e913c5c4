// SPDX-License-Identifier: MIT
/*
 * Which MSRs a vCPU snapshot carries, and getting and setting them. The
 * list is cvisor's; KVM_GET_MSR_INDEX_LIST says which of them this host's
 * KVM has, the guest's CPUID (leaf 0x40000001) which paravirtual ones the
 * guest may use.
 */
#include "accel/kvm_msrs.h"

#include <asm/kvm_para.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC		0x10
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define CPUID_KVM_FEATURES	0x40000001
#define NO_FEATURE		-1

/*
 * The MSRs saved when this host's KVM lists them (KVM_GET_MSR_INDEX_LIST)
 * and, for the paravirtual ones, when the guest's CPUID offers the
 * feature. Loads write them in this order: ASYNC_PF_INT before
 * ASYNC_PF_EN, which refuses interrupt delivery without a vector.
 * EFER, FS/GS base and IA32_APIC_BASE travel in the segment registers.
 */
static const struct {
	uint32_t index;
	int kvm_feature;
} state_msrs[] = {
	{ MSR_IA32_TSC, NO_FEATURE },
	{ 0x3a, NO_FEATURE },			/* IA32_FEATURE_CONTROL */
	{ 0x3b, NO_FEATURE },			/* IA32_TSC_ADJUST */
	{ 0x48, NO_FEATURE },			/* IA32_SPEC_CTRL */
	{ 0x174, NO_FEATURE },			/* IA32_SYSENTER_CS */
	{ 0x175, NO_FEATURE },			/* IA32_SYSENTER_ESP */
	{ 0x176, NO_FEATURE },			/* IA32_SYSENTER_EIP */
	{ 0x1a0, NO_FEATURE },			/* IA32_MISC_ENABLE */
	{ 0x277, NO_FEATURE },			/* IA32_PAT */
	{ 0xc0000081, NO_FEATURE },		/* STAR */
	{ 0xc0000082, NO_FEATURE },		/* LSTAR */
	{ 0xc0000083, NO_FEATURE },		/* CSTAR */
	{ 0xc0000084, NO_FEATURE },		/* SFMASK */
	{ 0xc0000102, NO_FEATURE },		/* KERNEL_GS_BASE */
	{ 0xc0000103, NO_FEATURE },		/* TSC_AUX */
	/*
	 * Supervisor XSAVE state is not in KVM_GET_XSAVE's area: IA32_XSS
	 * and the CET state KVM keeps in MSRs (KVM lists them only where
	 * it virtualizes CET).
	 */
	{ 0xda0, NO_FEATURE },			/* IA32_XSS */
	{ 0x6a0, NO_FEATURE },			/* IA32_U_CET */
	{ 0x6a2, NO_FEATURE },			/* IA32_S_CET */
	{ 0x6a4, NO_FEATURE },			/* IA32_PL0_SSP */
	{ 0x6a5, NO_FEATURE },			/* IA32_PL1_SSP */
	{ 0x6a6, NO_FEATURE },			/* IA32_PL2_SSP */
	{ 0x6a7, NO_FEATURE },			/* IA32_PL3_SSP */
	{ 0x6a8, NO_FEATURE },		/* IA32_INTERRUPT_SSP_TABLE_ADDR */
	{ MSR_KVM_WALL_CLOCK, KVM_FEATURE_CLOCKSOURCE },
	{ MSR_KVM_SYSTEM_TIME, KVM_FEATURE_CLOCKSOURCE },
	{ MSR_KVM_WALL_CLOCK_NEW, KVM_FEATURE_CLOCKSOURCE2 },
	{ MSR_KVM_SYSTEM_TIME_NEW, KVM_FEATURE_CLOCKSOURCE2 },
	{ MSR_KVM_ASYNC_PF_INT, KVM_FEATURE_ASYNC_PF_INT },
	{ MSR_KVM_ASYNC_PF_EN, KVM_FEATURE_ASYNC_PF },
	{ MSR_KVM_STEAL_TIME, KVM_FEATURE_STEAL_TIME },
	{ MSR_KVM_PV_EOI_EN, KVM_FEATURE_PV_EOI },
	{ MSR_KVM_POLL_CONTROL, KVM_FEATURE_POLL_CONTROL },
	{ MSR_IA32_TSC_DEADLINE, NO_FEATURE },	/* after the LAPIC */
};
#define NR_STATE_MSRS	(sizeof(state_msrs) / sizeof(state_msrs[0]))

_Static_assert(NR_STATE_MSRS == KVM_STATE_MSRS_MAX,
	       "KVM_STATE_MSRS_MAX is the length of state_msrs");

int kvm_msrs_slot(uint32_t index)
{
	for (size_t i = 0; i < NR_STATE_MSRS; i++)
		if (state_msrs[i].index == index)
			return i;
	return -1;
}

/* The KVM paravirtual features the guest's CPUID offers (leaf 0x40000001) */
static int kvm_guest_pv_features(int vcpu_fd, uint32_t *features)
{
	const unsigned max = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      max * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = max;
	if (ioctl(vcpu_fd, KVM_GET_CPUID2, c) < 0) {
		free(c);
		return -errno;
	}
	*features = 0;
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == CPUID_KVM_FEATURES)
			*features = c->entries[i].eax;
	free(c);
	return 0;
}

/* The state_msrs this KVM has and this guest uses, for KVM_GET_MSRS. */
int kvm_msrs_pick(int kvm_fd, int vcpu_fd, struct kvm_msr_entry *out,
		  uint32_t *nr, const char **what)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint32_t features = 0;
	int ret;

	*what = "KVM_GET_CPUID2";
	ret = kvm_guest_pv_features(vcpu_fd, &features);
	if (ret)
		return ret;
	*what = "KVM_GET_MSR_INDEX_LIST";
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
	    errno != E2BIG)
		return -errno;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		ret = -errno;
		free(list);
		return ret;
	}
	*nr = 0;
	for (size_t i = 0; i < NR_STATE_MSRS; i++) {
		int f = state_msrs[i].kvm_feature;
		bool listed = false;

		if (f != NO_FEATURE && !(features & (1u << f)))
			continue;
		for (uint32_t j = 0; j < list->nmsrs && !listed; j++)
			listed = list->indices[j] == state_msrs[i].index;
		if (listed)
			out[(*nr)++].index = state_msrs[i].index;
	}
	free(list);
	return 0;
}

int kvm_msrs_get(int vcpu_fd, struct kvm_msr_entry *e, uint32_t nr,
		 uint32_t *failed)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + nr * sizeof(*e));
	int ret;

	if (!m)
		return -ENOMEM;
	m->nmsrs = nr;
	memcpy(m->entries, e, nr * sizeof(*e));
	ret = ioctl(vcpu_fd, KVM_GET_MSRS, m);
	if (ret >= 0 && (uint32_t)ret < nr)
		*failed = e[ret].index;
	if (ret >= 0)
		memcpy(e, m->entries, nr * sizeof(*e));
	free(m);
	return ret < 0 ? -errno : ret == (int)nr ? 0 : -EIO;
}

int kvm_msrs_set(int vcpu_fd, const struct kvm_msr_entry *e, uint32_t nr,
		 bool late, struct kvm_msr_entry *failed)
{
	struct kvm_msrs *k = calloc(1, sizeof(*k) + nr * sizeof(*e));
	int ret;

	if (!k)
		return -ENOMEM;
	for (uint32_t i = 0; i < nr; i++)
		if ((e[i].index == MSR_IA32_TSC_DEADLINE) == late)
			k->entries[k->nmsrs++] = e[i];
	ret = ioctl(vcpu_fd, KVM_SET_MSRS, k);
	if (ret < 0) {
		ret = -errno;
	} else if ((uint32_t)ret < k->nmsrs) {
		*failed = k->entries[ret];
		ret = -EIO;
	} else {
		ret = 0;
	}
	free(k);
	return ret;
}
