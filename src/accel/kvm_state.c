// SPDX-License-Identifier: MIT
/*
 * A KVM vCPU's state in its "cpu<id>" section: general and segment
 * registers, XCRs, the FPU/SSE/AVX state (KVM_GET_XSAVE, or KVM_GET_FPU
 * without XSAVE), the MSRs the guest uses, the LAPIC, pending events, the
 * MP state and the debug registers, in that order. A load reads and checks
 * the whole section before the first KVM_SET_*, then sets them in the
 * order KVM needs: SREGS first (IA32_APIC_BASE, EFER and CR4 decide what
 * the rest may hold), XCR0 before the XSAVE area it gates, the LAPIC before
 * IA32_TSC_DEADLINE (ignored unless the LVT timer is in TSC-deadline mode)
 * and before the events, the MP state after the events (a pending SIPI's
 * vector comes with them). The time of the guest's TSC goes on from the
 * saved IA32_TSC; kvmclock is the VM's (kvm_vm_state.c).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm_msrs.h"
#include "accel/kvm_state.h"
#include "accel/state_read.h"
#include "arch/x86/regs.h"

#define FPU_XSAVE		1	/* struct kvm_xsave, KVM_CAP_XSAVE(2) */
#define FPU_LEGACY		2	/* struct kvm_fpu */
#define XSAVE_MAX		(1u << 20)
#define XSAVE_MXCSR		24	/* in the legacy region */
#define XSAVE_XSTATE_BV		512	/* the XSAVE header */

#define RFLAGS_DEFINED	0x3f7fd7ull	/* all but bits 3, 5, 15, 22-63 */
#define EFER_DEFINED	0xfd01ull	/* SCE, LME, LMA, NXE, SVME, LMSLE,
					   FFXSR, TCE */
#define APIC_BASE_VALID	0x000ffffffffffd00ull	/* BSP, EXTD, EN, base */
#define APIC_BASE_EXTD	(1ull << 10)
#define APIC_BASE_EN	(1ull << 11)


_Static_assert(KVM_STATE_MSRS_MAX <= 64, "check_image marks MSRs in a u64");

/* Everything a section holds, read and checked before any of it is set. */
struct kvm_cpu_image {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	uint8_t fpu_kind;
	uint32_t fpu_len;
	void *fpu;
	uint32_t nr_msrs;
	struct kvm_msr_entry msrs[KVM_STATE_MSRS_MAX];
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dbg;
};

static int save_fail(char *err, size_t errlen, int id, const char *what)
{
	int e = errno ? errno : EIO;

	snprintf(err, errlen, "KVM: saving cpu%d: %s: %s", id, what,
		 strerror(e));
	return -e;
}

static size_t kvm_xsave_size(int kvm_fd)
{
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return size > (int)sizeof(struct kvm_xsave) ? (size_t)size :
	       sizeof(struct kvm_xsave);
}

static void put_kvm_seg(struct state_writer *w, const struct kvm_segment *s)
{
	STATE_PUT_SEGMENT(w, s);
}

static struct kvm_segment *sregs_seg(struct kvm_sregs *s, int i)
{
	struct kvm_segment *segs[8] = { &s->cs, &s->ds, &s->es, &s->fs,
					&s->gs, &s->ss, &s->tr, &s->ldt };

	return segs[i];
}

static const char *const seg_names[8] = {
	"CS", "DS", "ES", "FS", "GS", "SS", "TR", "LDTR",
};

static void put_regs(struct state_writer *w, const struct kvm_regs *r)
{
	const uint64_t v[18] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi,
				 r->rdi, r->rsp, r->rbp, r->r8, r->r9, r->r10,
				 r->r11, r->r12, r->r13, r->r14, r->r15,
				 r->rip, r->rflags };

	for (int i = 0; i < 18; i++)
		state_put_u64(w, v[i]);
}

static void put_sregs(struct state_writer *w, struct kvm_sregs *s)
{
	for (int i = 0; i < 8; i++)
		put_kvm_seg(w, sregs_seg(s, i));
	state_put_u64(w, s->gdt.base);
	state_put_u16(w, s->gdt.limit);
	state_put_u64(w, s->idt.base);
	state_put_u16(w, s->idt.limit);
	state_put_u64(w, s->cr0);
	state_put_u64(w, s->cr2);
	state_put_u64(w, s->cr3);
	state_put_u64(w, s->cr4);
	state_put_u64(w, s->cr8);
	state_put_u64(w, s->efer);
	state_put_u64(w, s->apic_base);
	for (int i = 0; i < 4; i++)
		state_put_u64(w, s->interrupt_bitmap[i]);
}

static void put_events(struct state_writer *w,
		       const struct kvm_vcpu_events *e)
{
	state_put_u8(w, e->exception.injected);
	state_put_u8(w, e->exception.nr);
	state_put_u8(w, e->exception.has_error_code);
	state_put_u8(w, e->exception.pending);
	state_put_u32(w, e->exception.error_code);
	state_put_u8(w, e->interrupt.injected);
	state_put_u8(w, e->interrupt.nr);
	state_put_u8(w, e->interrupt.soft);
	state_put_u8(w, e->interrupt.shadow);
	state_put_u8(w, e->nmi.injected);
	state_put_u8(w, e->nmi.pending);
	state_put_u8(w, e->nmi.masked);
	state_put_u32(w, e->sipi_vector);
	state_put_u32(w, e->flags);
	state_put_u8(w, e->smi.smm);
	state_put_u8(w, e->smi.pending);
	state_put_u8(w, e->smi.smm_inside_nmi);
	state_put_u8(w, e->smi.latched_init);
	state_put_u8(w, e->exception_has_payload);
	state_put_u64(w, e->exception_payload);
}

/* Read every part from KVM first: the section is written only whole. */
static int kvm_read_cpu(int kvm_fd, int fd, int id, struct kvm_cpu_image *m,
			char *err, size_t errlen)
{
	const char *what;
	uint32_t failed = 0;
	int ret;

	if (ioctl(fd, KVM_GET_REGS, &m->regs) < 0)
		return save_fail(err, errlen, id, "KVM_GET_REGS");
	if (ioctl(fd, KVM_GET_SREGS, &m->sregs) < 0)
		return save_fail(err, errlen, id, "KVM_GET_SREGS");
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
	    ioctl(fd, KVM_GET_XCRS, &m->xcrs) < 0)
		return save_fail(err, errlen, id, "KVM_GET_XCRS");
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		bool xsave2 = ioctl(kvm_fd, KVM_CHECK_EXTENSION,
				    KVM_CAP_XSAVE2) > 0;

		m->fpu_kind = FPU_XSAVE;
		m->fpu_len = kvm_xsave_size(kvm_fd);
		m->fpu = calloc(1, m->fpu_len);
		if (!m->fpu)
			return -ENOMEM;
		if (ioctl(fd, xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
			  m->fpu) < 0)
			return save_fail(err, errlen, id, xsave2 ?
					 "KVM_GET_XSAVE2" : "KVM_GET_XSAVE");
	} else {
		m->fpu_kind = FPU_LEGACY;
		m->fpu_len = sizeof(struct kvm_fpu);
		m->fpu = calloc(1, m->fpu_len);
		if (!m->fpu)
			return -ENOMEM;
		if (ioctl(fd, KVM_GET_FPU, m->fpu) < 0)
			return save_fail(err, errlen, id, "KVM_GET_FPU");
	}
	ret = kvm_msrs_pick(kvm_fd, fd, m->msrs, &m->nr_msrs, &what);
	if (ret) {
		errno = -ret;
		return save_fail(err, errlen, id, what);
	}
	ret = kvm_msrs_get(fd, m->msrs, m->nr_msrs, &failed);
	if (ret == -EIO) {
		snprintf(err, errlen, "KVM: saving cpu%d: KVM_GET_MSRS cannot "
			 "read MSR %#x", id, failed);
		return ret;
	}
	if (ret) {
		errno = -ret;
		return save_fail(err, errlen, id, "KVM_GET_MSRS");
	}
	if (ioctl(fd, KVM_GET_LAPIC, &m->lapic) < 0)
		return save_fail(err, errlen, id, "KVM_GET_LAPIC");
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &m->events) < 0)
		return save_fail(err, errlen, id, "KVM_GET_VCPU_EVENTS");
	if (ioctl(fd, KVM_GET_MP_STATE, &m->mp) < 0)
		return save_fail(err, errlen, id, "KVM_GET_MP_STATE");
	if (ioctl(fd, KVM_GET_DEBUGREGS, &m->dbg) < 0)
		return save_fail(err, errlen, id, "KVM_GET_DEBUGREGS");
	return 0;
}

int kvm_vcpu_state_save(int kvm_fd, int vcpu_fd, int id,
			struct state_writer *w, char *err, size_t errlen)
{
	struct kvm_cpu_image *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = kvm_read_cpu(kvm_fd, vcpu_fd, id, m, err, errlen);
	if (ret)
		goto out;
	state_section_begin(w, KVM_CPU_STATE_VERSION, "cpu%d", id);
	put_regs(w, &m->regs);
	put_sregs(w, &m->sregs);
	state_put_u32(w, m->xcrs.nr_xcrs);
	for (uint32_t i = 0; i < m->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		state_put_u32(w, m->xcrs.xcrs[i].xcr);
		state_put_u64(w, m->xcrs.xcrs[i].value);
	}
	state_put_u8(w, m->fpu_kind);
	state_put_u32(w, m->fpu_len);
	state_put(w, m->fpu, m->fpu_len);
	state_put_u32(w, m->nr_msrs);
	for (uint32_t i = 0; i < m->nr_msrs; i++) {
		state_put_u32(w, m->msrs[i].index);
		state_put_u64(w, m->msrs[i].data);
	}
	state_put_u32(w, sizeof(m->lapic.regs));
	state_put(w, m->lapic.regs, sizeof(m->lapic.regs));
	put_events(w, &m->events);
	state_put_u32(w, m->mp.mp_state);
	for (int i = 0; i < 4; i++)
		state_put_u64(w, m->dbg.db[i]);
	state_put_u64(w, m->dbg.dr6);
	state_put_u64(w, m->dbg.dr7);
	state_section_end(w);
out:
	free(m->fpu);
	free(m);
	return ret;
}

static void get_kvm_seg(struct state_reader *r, struct kvm_segment *s,
			int *err)
{
	SREAD_SEGMENT(r, s, err);
}

static void get_regs(struct state_reader *r, struct kvm_regs *k, int *err)
{
	__u64 *v[18] = { &k->rax, &k->rbx, &k->rcx, &k->rdx, &k->rsi,
			    &k->rdi, &k->rsp, &k->rbp, &k->r8, &k->r9,
			    &k->r10, &k->r11, &k->r12, &k->r13, &k->r14,
			    &k->r15, &k->rip, &k->rflags };

	for (int i = 0; i < 18; i++)
		*v[i] = sread_u64(r, err);
}

static void get_sregs(struct state_reader *r, struct kvm_sregs *s, int *err)
{
	for (int i = 0; i < 8; i++)
		get_kvm_seg(r, sregs_seg(s, i), err);
	s->gdt.base = sread_u64(r, err);
	s->gdt.limit = sread_u16(r, err);
	s->idt.base = sread_u64(r, err);
	s->idt.limit = sread_u16(r, err);
	s->cr0 = sread_u64(r, err);
	s->cr2 = sread_u64(r, err);
	s->cr3 = sread_u64(r, err);
	s->cr4 = sread_u64(r, err);
	s->cr8 = sread_u64(r, err);
	s->efer = sread_u64(r, err);
	s->apic_base = sread_u64(r, err);
	for (int i = 0; i < 4; i++)
		s->interrupt_bitmap[i] = sread_u64(r, err);
}

static void get_events(struct state_reader *r, struct kvm_vcpu_events *e,
		       int *err)
{
	e->exception.injected = sread_u8(r, err);
	e->exception.nr = sread_u8(r, err);
	e->exception.has_error_code = sread_u8(r, err);
	e->exception.pending = sread_u8(r, err);
	e->exception.error_code = sread_u32(r, err);
	e->interrupt.injected = sread_u8(r, err);
	e->interrupt.nr = sread_u8(r, err);
	e->interrupt.soft = sread_u8(r, err);
	e->interrupt.shadow = sread_u8(r, err);
	e->nmi.injected = sread_u8(r, err);
	e->nmi.pending = sread_u8(r, err);
	e->nmi.masked = sread_u8(r, err);
	e->sipi_vector = sread_u32(r, err);
	e->flags = sread_u32(r, err);
	e->smi.smm = sread_u8(r, err);
	e->smi.pending = sread_u8(r, err);
	e->smi.smm_inside_nmi = sread_u8(r, err);
	e->smi.latched_init = sread_u8(r, err);
	e->exception_has_payload = sread_u8(r, err);
	e->exception_payload = sread_u64(r, err);
}

/* Reads the variable parts too; returns a message for what is wrong. */
static const char *kvm_read_image(struct state_reader *r, int kvm_fd,
				  struct kvm_cpu_image *m, int *err)
{
	uint32_t lapic_len;

	get_regs(r, &m->regs, err);
	get_sregs(r, &m->sregs, err);
	m->xcrs.nr_xcrs = sread_u32(r, err);
	if (m->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return "more XCRs than KVM has";
	for (uint32_t i = 0; i < m->xcrs.nr_xcrs; i++) {
		m->xcrs.xcrs[i].xcr = sread_u32(r, err);
		m->xcrs.xcrs[i].value = sread_u64(r, err);
	}
	m->fpu_kind = sread_u8(r, err);
	m->fpu_len = sread_u32(r, err);
	if (*err)
		return NULL;
	if (m->fpu_kind == FPU_XSAVE) {
		if (m->fpu_len < sizeof(struct kvm_xsave) ||
		    m->fpu_len > XSAVE_MAX)
			return "XSAVE area size out of range";
		if (m->fpu_len > kvm_xsave_size(kvm_fd))
			return "XSAVE area larger than this host's KVM takes";
		/* KVM_SET_XSAVE reads as much as the host's size says. */
		m->fpu = calloc(1, kvm_xsave_size(kvm_fd));
	} else if (m->fpu_kind == FPU_LEGACY) {
		if (m->fpu_len != sizeof(struct kvm_fpu))
			return "FPU state size is not struct kvm_fpu's";
		m->fpu = calloc(1, m->fpu_len);
	} else {
		return "unknown FPU state format";
	}
	if (!m->fpu)
		return "out of memory";
	sread(r, m->fpu, m->fpu_len, err);
	m->nr_msrs = sread_u32(r, err);
	if (m->nr_msrs > KVM_STATE_MSRS_MAX)
		return "more MSRs than cvisor saves";
	for (uint32_t i = 0; i < m->nr_msrs; i++) {
		m->msrs[i].index = sread_u32(r, err);
		m->msrs[i].data = sread_u64(r, err);
	}
	lapic_len = sread_u32(r, err);
	if (!*err && lapic_len != sizeof(m->lapic.regs))
		return "LAPIC state size is not struct kvm_lapic_state's";
	sread(r, m->lapic.regs, sizeof(m->lapic.regs), err);
	get_events(r, &m->events, err);
	m->mp.mp_state = sread_u32(r, err);
	for (int i = 0; i < 4; i++)
		m->dbg.db[i] = sread_u64(r, err);
	m->dbg.dr6 = sread_u64(r, err);
	m->dbg.dr7 = sread_u64(r, err);
	return NULL;
}

static const char *check_sregs(struct kvm_sregs *s, const struct kvm_regs *g,
			       char *buf, size_t len)
{
	bool lma = s->efer & X86_EFER_LMA;
	unsigned pending = 0;

	for (int i = 0; i < 8; i++) {
		const struct kvm_segment *k = sregs_seg(s, i);

		if (k->type > 15 || k->dpl > 3) {
			snprintf(buf, len, "%s: type %u or DPL %u out of "
				 "range", seg_names[i], k->type, k->dpl);
			return buf;
		}
	}
	if ((g->rflags & ~RFLAGS_DEFINED) || !(g->rflags & 2))
		return "RFLAGS has reserved bits wrong";
	if (s->cr0 >> 32 || ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE)))
		return "CR0 has reserved bits set or PG without PE";
	if (s->cr8 > 15)
		return "CR8 out of range";
	if (s->efer & ~EFER_DEFINED)
		return "EFER has reserved bits set";
	if (lma != ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG)))
		return "EFER.LMA does not match EFER.LME and CR0.PG";
	if (lma && !(s->cr4 & X86_CR4_PAE))
		return "long mode without CR4.PAE";
	if (lma && s->cs.l && s->cs.db)
		return "CS has both L and D/B set in long mode";
	if (lma && s->cs.l ? !x86_canonical(g->rip) : g->rip >> 32)
		return "RIP out of range for the code segment";
	if ((s->apic_base & ~APIC_BASE_VALID) ||
	    ((s->apic_base & APIC_BASE_EXTD) && !(s->apic_base & APIC_BASE_EN)))
		return "IA32_APIC_BASE has reserved bits or modes wrong";
	for (int i = 0; i < 4; i++)
		pending += __builtin_popcountll(s->interrupt_bitmap[i]);
	if (pending > 1)
		return "more than one injected interrupt";
	return NULL;
}

static const char *check_image(const struct kvm_cpu_image *m,
			       uint32_t apic_id0)
{
	const struct kvm_vcpu_events *e = &m->events;
	const uint32_t ok_flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
				  KVM_VCPUEVENT_VALID_SIPI_VECTOR |
				  KVM_VCPUEVENT_VALID_SHADOW |
				  KVM_VCPUEVENT_VALID_SMM;
	uint64_t seen = 0;
	uint32_t apic_id;

	for (uint32_t i = 0; i < m->xcrs.nr_xcrs; i++) {
		uint64_t v = m->xcrs.xcrs[i].value;

		if (m->xcrs.xcrs[i].xcr != 0)
			return "an XCR other than XCR0";
		if (!(v & 1) || ((v & 4) && !(v & 2)))
			return "XCR0 without x87, or AVX without SSE";
	}
	for (uint32_t i = 0; i < m->nr_msrs; i++) {
		int k = kvm_msrs_slot(m->msrs[i].index);

		if (k < 0)
			return "an MSR cvisor does not save";
		if (seen & (1ull << k))
			return "an MSR twice";
		seen |= 1ull << k;
	}
	if (m->fpu_kind == FPU_XSAVE) {
		uint32_t mxcsr;
		uint64_t xstate_bv, xcr0 = m->xcrs.nr_xcrs ?
					    m->xcrs.xcrs[0].value : 3;

		memcpy(&mxcsr, (uint8_t *)m->fpu + XSAVE_MXCSR, 4);
		memcpy(&xstate_bv, (uint8_t *)m->fpu + XSAVE_XSTATE_BV, 8);
		if (mxcsr >> 16)
			return "MXCSR has reserved bits set";
		/*
		 * x87 and SSE state is in every XSAVE area (KVM reports
		 * SSE as in use under an XCR0 of 1); the rest must be on.
		 */
		if (xstate_bv & ~(xcr0 | 3))
			return "XSAVE area holds state XCR0 does not enable";
	}
	/*
	 * Without KVM_CAP_X2APIC_API (cvisor does not enable it) KVM keeps
	 * the ID in bits 31:24 in x2APIC mode too, shifting it on get and
	 * set; a Linux guest on VT-x runs its APICs in x2APIC mode.
	 */
	memcpy(&apic_id, m->lapic.regs + 0x20, 4);
	apic_id >>= 24;
	if (apic_id != apic_id0)
		return "APIC ID is not the vCPU's (another --cpus topology?)";
	if (e->flags & ~ok_flags)
		return "vCPU events with flags cvisor does not set";
	if (e->exception.injected > 1 || e->exception.pending > 1 ||
	    e->exception.has_error_code > 1 || e->exception.nr > 31 ||
	    e->exception_has_payload)
		return "pending exception out of range";
	if (e->interrupt.injected > 1 || e->interrupt.soft > 1 ||
	    e->interrupt.shadow > 3)
		return "pending interrupt out of range";
	if (e->nmi.injected > 1 || e->nmi.pending > 2 || e->nmi.masked > 1)
		return "NMI state out of range";
	if (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi ||
	    e->smi.latched_init > 1)
		return "SMM state (cvisor has no SMM)";
	if (e->sipi_vector > 0xff)
		return "SIPI vector out of range";
	if (m->mp.mp_state > KVM_MP_STATE_SIPI_RECEIVED)
		return "MP state not an x86 one";
	if (m->dbg.dr6 >> 32 || m->dbg.dr7 >> 32)
		return "DR6 or DR7 has reserved bits set";
	return NULL;
}

static int set_fail(struct state_reader *r, int id, const char *ioctl_name)
{
	return state_fail(r, "cpu%d: %s: %s", id, ioctl_name, strerror(errno));
}

static int set_msrs(int fd, const struct kvm_cpu_image *m, bool late,
		    struct state_reader *r, int id)
{
	struct kvm_msr_entry bad;
	int ret = kvm_msrs_set(fd, m->msrs, m->nr_msrs, late, &bad);

	if (ret == -EIO)
		return state_fail(r, "cpu%d: KVM_SET_MSRS refuses MSR %#x = "
				  "%#llx", id, bad.index,
				  (unsigned long long)bad.data);
	if (ret)
		return state_fail(r, "cpu%d: KVM_SET_MSRS: %s", id,
				  strerror(-ret));
	return 0;
}

static int kvm_apply(int kvm_fd, int fd, int id, struct kvm_cpu_image *m,
		     struct state_reader *r)
{
	int ret;

	if (ioctl(fd, KVM_SET_SREGS, &m->sregs) < 0)
		return set_fail(r, id, "KVM_SET_SREGS");
	if (ioctl(fd, KVM_SET_REGS, &m->regs) < 0)
		return set_fail(r, id, "KVM_SET_REGS");
	if (m->xcrs.nr_xcrs) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) <= 0)
			return state_fail(r, "cpu%d: XCRs saved, but this "
					  "host's KVM has no KVM_SET_XCRS", id);
		if (ioctl(fd, KVM_SET_XCRS, &m->xcrs) < 0)
			return set_fail(r, id, "KVM_SET_XCRS");
	}
	if (m->fpu_kind == FPU_XSAVE) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
			return state_fail(r, "cpu%d: XSAVE state saved, but "
					  "this host's KVM has no "
					  "KVM_SET_XSAVE", id);
		if (ioctl(fd, KVM_SET_XSAVE, m->fpu) < 0)
			return set_fail(r, id, "KVM_SET_XSAVE");
	} else if (ioctl(fd, KVM_SET_FPU, m->fpu) < 0) {
		return set_fail(r, id, "KVM_SET_FPU");
	}
	ret = set_msrs(fd, m, false, r, id);
	if (ret)
		return ret;
	if (ioctl(fd, KVM_SET_LAPIC, &m->lapic) < 0)
		return set_fail(r, id, "KVM_SET_LAPIC");
	ret = set_msrs(fd, m, true, r, id);
	if (ret)
		return ret;
	m->events.flags |= KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &m->events) < 0)
		return set_fail(r, id, "KVM_SET_VCPU_EVENTS");
	if (ioctl(fd, KVM_SET_MP_STATE, &m->mp) < 0)
		return set_fail(r, id, "KVM_SET_MP_STATE");
	if (ioctl(fd, KVM_SET_DEBUGREGS, &m->dbg) < 0)
		return set_fail(r, id, "KVM_SET_DEBUGREGS");
	return 0;
}

int kvm_vcpu_state_load(int kvm_fd, int vcpu_fd, int id, uint32_t apic_id,
			struct state_reader *r, uint32_t version)
{
	struct kvm_cpu_image *m;
	const char *bad;
	char buf[96];
	int err = 0, ret;

	if (version < KVM_CPU_STATE_MIN_VERSION ||
	    version > KVM_CPU_STATE_VERSION)
		return state_fail(r, "cpu%d: KVM state version %u, this "
				  "cvisor reads %u to %u", id, version,
				  KVM_CPU_STATE_MIN_VERSION,
				  KVM_CPU_STATE_VERSION);
	m = calloc(1, sizeof(*m));
	if (!m)
		return state_fail(r, "cpu%d: out of memory", id);
	bad = kvm_read_image(r, kvm_fd, m, &err);
	if (!bad && err)
		bad = sread_error(err);
	if (!bad && state_remaining(r))
		bad = "bytes past the KVM CPU state";
	if (!bad)
		bad = check_sregs(&m->sregs, &m->regs, buf, sizeof(buf));
	if (!bad)
		bad = check_image(m, apic_id);
	if (bad)
		ret = state_fail(r, "cpu%d: %s", id, bad);
	else
		ret = kvm_apply(kvm_fd, vcpu_fd, id, m, r);
	free(m->fpu);
	free(m);
	return ret;
}
