// SPDX-License-Identifier: MIT
/*
 * KVM's snapshot sections on a real /dev/kvm: a tiny long-mode guest
 * counts in RAX and reports each step on port 0x80; it is stopped, its
 * vCPU and VM state saved, loaded into a second VM (same memory) and run
 * on: the count goes on from where it was. Damaged sections are refused
 * before KVM sees them. Skipped without /dev/kvm or an ioctl this host's
 * KVM lacks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/kvm_state.h"
#include "accel_state.h"
#include "kvm_fixture.h"

#define MAX_STEPS	1000

/* Section layout (docs/snapshot.md): where the tests below poke. */
#define CPU_RFLAGS	(17 * 8)
#define CPU_SREGS	(18 * 8)

/*
 * 1: inc %rax; out %al, $0x80; jmp 1b  (and nothing else).
 */
static const uint8_t guest_code[] = {
	0x48, 0xff, 0xc0, 0xe6, KVM_FIXTURE_PORT, 0xeb, 0xf9,
};

static struct vm *machine(struct kvm_probe *p, char *reason, size_t len)
{
	return kvm_machine(p, 32 << 20, guest_code, sizeof(guest_code), reason,
			   len);
}

/* blob_save, or a reason to skip when this KVM lacks an ioctl. */
static bool try_save(struct vm *vm, struct vcpu *vcpu, struct blob *b,
		     char *reason, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct state_writer *w = state_writer_create(f);
	int ret = vcpu ? vm->accel->vcpu_save(vcpu, w) :
		  vm->accel->vm_save(vm, w);

	state_writer_destroy(w);
	fclose(f);
	free(buf);
	if (ret) {
		snprintf(reason, len, "%s", vm->accel_error);
		return false;
	}
	blob_save(vm, vcpu, b);
	return true;
}

static void test_kvm_roundtrip(void)
{
	struct kvm_probe pa = { 0 }, pb = { 0 };
	struct vm *a, *b;
	struct blob cpu, vm;
	struct x86_regs ra, rb;
	struct x86_sregs sa, sb;
	char reason[300] = "", err[256];

	if (!have_kvm()) {
		SKIP("no usable /dev/kvm");
		return;
	}
	a = machine(&pa, reason, sizeof(reason));
	if (reason[0]) {
		kvm_machine_free(a);
		SKIP("%s", reason);
		return;
	}
	CHECK(kvm_run_steps(a, &pa, 5, MAX_STEPS));
	CHECK_EQ(pa.last, 5);
	if (!try_save(a, &a->vcpus[0], &cpu, reason, sizeof(reason)) ||
	    !try_save(a, NULL, &vm, reason, sizeof(reason))) {
		kvm_machine_free(a);
		SKIP("%s", reason);
		return;
	}
	CHECK(!strcmp(cpu.name, "cpu0") && !strcmp(vm.name, "kvm"));
	CHECK_EQ(cpu.version, KVM_CPU_STATE_VERSION);

	b = machine(&pb, reason, sizeof(reason));
	CHECK(!reason[0]);
	if (blob_load(b, NULL, &vm, err, sizeof(err)) ||
	    blob_load(b, &b->vcpus[0], &cpu, err, sizeof(err))) {
		printf("  load: %s\n", err);
		CHECK(0);
	}
	a->accel->get_regs(&a->vcpus[0], &ra);
	b->accel->get_regs(&b->vcpus[0], &rb);
	CHECK(!memcmp(&ra, &rb, sizeof(ra)));
	a->accel->get_sregs(&a->vcpus[0], &sa);
	b->accel->get_sregs(&b->vcpus[0], &sb);
	CHECK(same_sregs(&sa, &sb));
	/* The copy counts on from 5; the original is unharmed. */
	CHECK(kvm_run_steps(b, &pb, 3, MAX_STEPS));
	CHECK_EQ(pb.last, 8);
	CHECK(kvm_run_steps(a, &pa, 1, MAX_STEPS));
	CHECK_EQ(pa.last, 6);

	blob_free(&cpu);
	blob_free(&vm);
	kvm_machine_free(a);
	kvm_machine_free(b);
}

/* The fd of a "kvm-vcpu:0" other than not (the accel keeps it private). */
static int vcpu0_fd(int not)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], link[64];
	int fd = -1;

	while (d && (e = readdir(d)) && fd < 0) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, "anon_inode:kvm-vcpu:0") &&
		    atoi(e->d_name) != not)
			fd = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return fd;
}

static const uint32_t mtrr_index[] = { 0x2ff, 0x250, 0x26f, 0x200, 0x201,
				       0x20e, 0x20f };

static int mtrrs_access(int fd, uint64_t *val, bool set)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[7];
	} k = { .m.nmsrs = 7 };

	for (int i = 0; i < 7; i++) {
		k.e[i].index = mtrr_index[i];
		k.e[i].data = val[i];
	}
	if (ioctl(fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &k) != 7)
		return -1;
	for (int i = 0; i < 7; i++)
		val[i] = k.e[i].data;
	return 0;
}

/*
 * The MTRRs a guest set (default type, a fixed and the first and last
 * variable range) are in the copy; an older section version loads, a
 * newer one is refused.
 */
static void test_kvm_mtrrs(void)
{
	uint64_t set[7] = { 0xc06, 0x0606060606060606ull,
			    0x0505050505050505ull, 0x6, 0xff000800,
			    0x1000000, 0xfff000800 }, got[7] = { 0 };
	struct kvm_probe pa = { 0 }, pb = { 0 };
	char reason[300] = "", err[256];
	struct vm *a, *b;
	struct blob cpu;
	int fa, fb;

	if (!have_kvm()) {
		SKIP("no usable /dev/kvm");
		return;
	}
	a = machine(&pa, reason, sizeof(reason));
	fa = vcpu0_fd(-1);
	if (reason[0] || fa < 0 || mtrrs_access(fa, set, true)) {
		kvm_machine_free(a);
		SKIP("%s", reason[0] ? reason : "this KVM has no MTRRs");
		return;
	}
	if (!try_save(a, &a->vcpus[0], &cpu, reason, sizeof(reason))) {
		kvm_machine_free(a);
		SKIP("%s", reason);
		return;
	}
	b = machine(&pb, reason, sizeof(reason));
	fb = vcpu0_fd(fa);
	CHECK(!reason[0] && fb >= 0);
	CHECK_EQ(mtrrs_access(fb, got, false), 0);
	CHECK(got[0] == 0);	/* MTRRs off in a fresh vCPU */
	if (blob_load(b, &b->vcpus[0], &cpu, err, sizeof(err))) {
		printf("  load: %s\n", err);
		CHECK(0);
	}
	CHECK_EQ(mtrrs_access(fb, got, false), 0);
	for (int i = 0; i < 7; i++)
		if (got[i] != set[i]) {
			printf("  MSR %#x: %#llx, saved %#llx\n",
			       mtrr_index[i], (unsigned long long)got[i],
			       (unsigned long long)set[i]);
			CHECK(0);
		}
	CHECK_EQ(blob_load_raw(b, &b->vcpus[0], cpu.name, 1, cpu.p, cpu.n,
			       err, sizeof(err)), 0);
	CHECK(blob_load_raw(b, &b->vcpus[0], cpu.name,
			    KVM_CPU_STATE_VERSION + 1, cpu.p, cpu.n, err,
			    sizeof(err)) < 0 && strstr(err, "version"));
	blob_free(&cpu);
	kvm_machine_free(a);
	kvm_machine_free(b);
}

static void expect_refused(struct vm *vm, struct vcpu *vcpu,
			   const struct blob *b, const uint8_t *p, size_t n,
			   const char *want)
{
	char err[256] = "";

	CHECK(blob_load_raw(vm, vcpu, b->name, b->version, p, n, err,
			    sizeof(err)) < 0);
	if (!err[0] || (want && !strstr(err, want))) {
		printf("  %s: \"%s\" does not say \"%s\"\n", b->name, err,
		       want ? want : "anything");
		CHECK(0);
	}
}

static void poke(struct vm *vm, struct vcpu *vcpu, const struct blob *b,
		 size_t off, const void *val, size_t len, const char *want)
{
	uint8_t *p = malloc(b->n);

	memcpy(p, b->p, b->n);
	memcpy(p + off, val, len);
	expect_refused(vm, vcpu, b, p, b->n, want);
	free(p);
}

static void test_kvm_bad_sections(void)
{
	struct kvm_probe pa = { 0 };
	struct vm *a;
	struct vcpu *v;
	struct blob cpu, vm;
	char reason[300] = "";
	uint64_t u64;

	if (!have_kvm()) {
		SKIP("no usable /dev/kvm");
		return;
	}
	a = machine(&pa, reason, sizeof(reason));
	v = &a->vcpus[0];
	if (reason[0] || !try_save(a, v, &cpu, reason, sizeof(reason)) ||
	    !try_save(a, NULL, &vm, reason, sizeof(reason))) {
		kvm_machine_free(a);
		SKIP("%s", reason);
		return;
	}
	for (size_t n = 0; n < cpu.n; n++)
		expect_refused(a, v, &cpu, cpu.p, n, NULL);
	for (size_t n = 0; n < vm.n; n++)
		expect_refused(a, NULL, &vm, vm.p, n, NULL);
	u64 = 2 | (1ull << 22);
	poke(a, v, &cpu, CPU_RFLAGS, &u64, 8, "RFLAGS");
	u64 = 1ull << 63;	/* EFER */
	poke(a, v, &cpu, CPU_SREGS + 8 * 23 + 20 + 5 * 8, &u64, 8, "EFER");
	u64 = 0xfed00000;	/* the IOAPIC's base address */
	poke(a, NULL, &vm, 8 + 32, &u64, 8, "IOAPIC");
	blob_free(&cpu);
	blob_free(&vm);
	kvm_machine_free(a);
}

int main(void)
{
	RUN(test_kvm_roundtrip);
	RUN(test_kvm_mtrrs);
	RUN(test_kvm_bad_sections);
	return test_summary();
}
