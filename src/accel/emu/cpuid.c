// SPDX-License-Identifier: MIT
/*
 * CPUID: advertise exactly what the interpreter implements. The CPU
 * presents itself as an Intel Atom (Bonnell, family 6 model 0x1c), a model
 * Linux knows to be free of speculative-execution bugs, so the guest does
 * not turn on page-table isolation or other mitigations that would only
 * slow the interpreter down. No XSAVE/AVX/PCID/PKU/LA57/MTRR/MCE.
 */
#include <string.h>

#include "accel/emu/cpu.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/topology.h"
#include "accel/emu/tsc.h"
#include "vmm/vm.h"

#define CPUID_MAX_BASIC	0x1f
#define CPUID_MAX_EXT	0x80000008u

/* leaf 1 EDX: FPU PSE TSC MSR PAE CX8 APIC PGE CMOV PAT CLFSH MMX FXSR
 * SSE SSE2 */
#define L1_EDX	((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | \
		 (1u << 8) | (1u << 9) | (1u << 13) | (1u << 15) |           \
		 (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) |         \
		 (1u << 25) | (1u << 26))
/* leaf 1 ECX: CX16 x2APIC POPCNT TSC-deadline hypervisor */
#define L1_ECX	((1u << 13) | (1u << 21) | (1u << 23) | (1u << 24) |         \
		 (1u << 31))
/* 0x80000001 EDX: SYSCALL NX 1G-pages RDTSCP LM; ECX: LAHF ABM(LZCNT) */
#define E1_EDX	((1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) |          \
		 (1u << 29))
#define E1_ECX	((1u << 0) | (1u << 5))
/* leaf 7: EBX ERMS; ECX RDPID; EDX FSRM */
#define L7_EBX	(1u << 9)
#define L7_ECX	(1u << 22)
#define L7_EDX	(1u << 4)

/* KVM paravirt: CLOCKSOURCE, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
#define KVM_FEATURES	((1u << 0) | (1u << 3) | (1u << 24))

static void str4(uint32_t *out, const char *s)
{
	memcpy(out, s, 4);
}

/*
 * Leaf 4, deterministic cache parameters: 32K L1d and L1i, 256K L2 per
 * core, 8M L3 per package (the sharing fields come from the topology).
 * Nothing is cached, but libc sizes its copy strategies from these.
 */
static void cpuid_cache(uint32_t sub, uint32_t out[4])
{
	static const struct {
		uint8_t type, level, ways;
		uint32_t size;
	} caches[] = {
		{ 1, 1, 8, 32 << 10 }, { 2, 1, 8, 32 << 10 },
		{ 3, 2, 8, 256 << 10 }, { 3, 3, 16, 8 << 20 },
	};

	if (sub >= sizeof(caches) / sizeof(caches[0]))
		return;
	out[0] = caches[sub].type | (caches[sub].level << 5) | (1u << 8);
	out[1] = ((uint32_t)(caches[sub].ways - 1) << 22) | 63;
	out[2] = caches[sub].size / (caches[sub].ways * 64) - 1;
}

void cpu_cpuid(struct emu_cpu *cpu, uint32_t leaf, uint32_t sub,
	       uint32_t out[4])
{
	static const struct cpu_topology one = { 1, 1, 1 };
	const struct cpu_topology *t = cpu->vm && cpu->vm->topo.cores ?
				       &cpu->vm->topo : &one;
	static const char brand[48] = "cvisor emu x86-64 CPU";
	struct cpuid_leaf l;

	memset(out, 0, 16);
	if ((leaf < 0x40000000 && leaf > CPUID_MAX_BASIC) ||
	    (leaf >= 0x80000000u && leaf > CPUID_MAX_EXT) ||
	    (leaf > 0x40000001 && leaf < 0x80000000u))
		leaf = CPUID_MAX_BASIC;	/* what Intel parts do */
	switch (leaf) {
	case 0:
		out[0] = CPUID_MAX_BASIC;
		str4(&out[1], "Genu");
		str4(&out[3], "ineI");
		str4(&out[2], "ntel");
		break;
	case 1:
		out[0] = 0x106ca;	/* family 6, model 0x1c, stepping 10 */
		out[1] = 8u << 8;	/* CLFLUSH line: 64 bytes */
		out[2] = L1_ECX;
		out[3] = L1_EDX;
		break;
	case 2:
		out[0] = 1;
		break;
	case 4:
		cpuid_cache(sub, out);
		break;
	case 6:
		/*
		 * ARAT: the LAPIC timer runs in every C-state, as this one
		 * does. Without it Linux marks lapic-deadline C3STOP and,
		 * having no HPET to broadcast from, never leaves periodic
		 * mode: no high-resolution timers and a tick every 4 ms in
		 * an idle guest, each one interpreted.
		 */
		out[0] = 1u << 2;
		break;
	case 7:
		if (sub == 0) {
			out[1] = L7_EBX;
			out[2] = L7_ECX;
			out[3] = L7_EDX;
		}
		break;
	case 0xb:
	case 0x1f:
		break;	/* all topology: below */
	case 0x40000000:
		out[0] = 0x40000001;
		str4(&out[1], "KVMK");
		str4(&out[2], "VMKV");
		str4(&out[3], "M\0\0\0");
		break;
	case 0x40000001:
		out[0] = KVM_FEATURES;
		break;
	case 0x80000000:
		out[0] = CPUID_MAX_EXT;
		break;
	case 0x80000001:
		out[2] = E1_ECX;
		out[3] = E1_EDX;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
		break;
	case 0x80000007:
		out[3] = 1u << 8;	/* invariant TSC */
		break;
	case 0x80000008:
		out[0] = 40 | (48 << 8);
		break;
	}
	l = (struct cpuid_leaf){ leaf, sub, out[0], out[1], out[2], out[3] };
	cpuid_topology_leaf(&l, t, cpu->id);
	out[0] = l.eax;
	out[1] = l.ebx;
	out[2] = l.ecx;
	out[3] = l.edx;
}
