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
#define MSR_MTRRCAP		0xfe
#define MSR_MTRR_PHYSBASE0	0x200
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MTRRCAP_VCNT		0xffu
#define MTRRCAP_FIX		(1u << 8)
#define CPUID_KVM_FEATURES	0x40000001
#define CPUID_1_EDX_MTRR	(1u << 12)
#define NO_FEATURE		-1
#define MTRR_FIXED		-2	/* when MTRRcap has FIX */
#define MTRR_VAR		-3	/* pairs below MTRRcap's VCNT */
#define MTRR_VAR_PAIR(n)	{ MSR_MTRR_PHYSBASE0 + 2 * (n), MTRR_VAR }, \
				{ MSR_MTRR_PHYSBASE0 + 2 * (n) + 1, MTRR_VAR }
#define MTRR_VAR_MAX		8	/* KVM's KVM_NR_VAR_MTRR */

/*
 * The MSRs saved when this host's KVM lists them (KVM_GET_MSR_INDEX_LIST)
 * and, for the paravirtual ones, when the guest's CPUID offers the
 * feature. Loads write them in this order: ASYNC_PF_INT before
 * ASYNC_PF_EN, which refuses interrupt delivery without a vector.
 * EFER, FS/GS base and IA32_APIC_BASE travel in the segment registers.
 * The MTRRs, which KVM does not list, go when the guest's CPUID has MTRR:
 * MTRRcap (read-only) says how many of them the vCPU has.
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
	{ MSR_MTRR_DEF_TYPE, MTRR_FIXED },
	{ 0x250, MTRR_FIXED },			/* MTRRfix64K_00000 */
	{ 0x258, MTRR_FIXED },			/* MTRRfix16K_80000 */
	{ 0x259, MTRR_FIXED },			/* MTRRfix16K_A0000 */
	{ 0x268, MTRR_FIXED },			/* MTRRfix4K_C0000 .. */
	{ 0x269, MTRR_FIXED },
	{ 0x26a, MTRR_FIXED },
	{ 0x26b, MTRR_FIXED },
	{ 0x26c, MTRR_FIXED },
	{ 0x26d, MTRR_FIXED },
	{ 0x26e, MTRR_FIXED },
	{ 0x26f, MTRR_FIXED },			/* .. MTRRfix4K_F8000 */
	MTRR_VAR_PAIR(0), MTRR_VAR_PAIR(1), MTRR_VAR_PAIR(2), MTRR_VAR_PAIR(3),
	MTRR_VAR_PAIR(4), MTRR_VAR_PAIR(5), MTRR_VAR_PAIR(6), MTRR_VAR_PAIR(7),
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

/*
 * The KVM paravirtual features the guest's CPUID offers (leaf 0x40000001)
 * and leaf 1's EDX.
 */
static int kvm_guest_features(int vcpu_fd, uint32_t *pv, uint32_t *edx1)
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
	*pv = 0;
	*edx1 = 0;
	for (unsigned i = 0; i < c->nent; i++) {
		if (c->entries[i].function == CPUID_KVM_FEATURES)
			*pv = c->entries[i].eax;
		if (c->entries[i].function == 1)
			*edx1 = c->entries[i].edx;
	}
	free(c);
	return 0;
}

/* MTRRcap of a guest with MTRRs, 0 without; its VCNT capped at ours. */
static int kvm_guest_mtrrcap(int vcpu_fd, uint32_t edx1, uint64_t *cap)
{
	struct kvm_msr_entry e = { .index = MSR_MTRRCAP };
	uint32_t failed;
	int ret;

	*cap = 0;
	if (!(edx1 & CPUID_1_EDX_MTRR))
		return 0;
	ret = kvm_msrs_get(vcpu_fd, &e, 1, &failed);
	if (ret)
		return ret;
	*cap = e.data;
	if ((*cap & MTRRCAP_VCNT) > MTRR_VAR_MAX)
		*cap = (*cap & ~(uint64_t)MTRRCAP_VCNT) | MTRR_VAR_MAX;
	return 0;
}

/* Whether the guest has this one of the state_msrs, by its feature. */
static bool kvm_guest_has(int f, uint32_t index, uint32_t pv, uint64_t cap,
			  bool listed)
{
	switch (f) {
	case MTRR_FIXED:
		return cap && (index == MSR_MTRR_DEF_TYPE ||
			       (cap & MTRRCAP_FIX));
	case MTRR_VAR:
		return (index - MSR_MTRR_PHYSBASE0) / 2 < (cap & MTRRCAP_VCNT);
	case NO_FEATURE:
		return listed;
	default:
		return listed && (pv & (1u << f));
	}
}

/* The state_msrs this KVM has and this guest uses, for KVM_GET_MSRS. */
int kvm_msrs_pick(int kvm_fd, int vcpu_fd, struct kvm_msr_entry *out,
		  uint32_t *nr, const char **what)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint32_t pv = 0, edx1 = 0;
	uint64_t cap = 0;
	int ret;

	*what = "KVM_GET_CPUID2";
	ret = kvm_guest_features(vcpu_fd, &pv, &edx1);
	if (ret)
		return ret;
	*what = "KVM_GET_MSRS (MTRRcap)";
	ret = kvm_guest_mtrrcap(vcpu_fd, edx1, &cap);
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
		bool listed = false;

		for (uint32_t j = 0; j < list->nmsrs && !listed; j++)
			listed = list->indices[j] == state_msrs[i].index;
		if (kvm_guest_has(state_msrs[i].kvm_feature,
				  state_msrs[i].index, pv, cap, listed))
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
