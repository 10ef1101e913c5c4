// SPDX-License-Identifier: MIT
/*
 * A seccomp filter over the whole VMM process, installed once the command
 * line is parsed and before any guest code runs. Device emulation parses
 * guest-controlled data; if a bug there is ever exploited, the process
 * still cannot start programs, trace, write or signal other processes, load
 * kernel code, or change the system (mounts, namespaces, clock, swap,
 * reboot).
 *
 * It is a deny list: cvisor opens files, sockets, taps and /dev/kvm again
 * on every guest reboot and for hot paths like io_uring and slirp, so an
 * allow list would have to track every library's syscalls. A denied call
 * kills the whole process (SIGSYS), which a supervisor sees, rather than
 * failing quietly.
 */
#include "vmm/sandbox.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "accel/emu/jit.h"

/* Calls no part of cvisor makes once it runs; names libseccomp resolves. */
static const char *const sandbox_denied[] = {
	/* other programs and other processes */
	"execve", "execveat", "process_vm_readv",
#ifndef __SANITIZE_ADDRESS__
	/* LeakSanitizer stops the world with ptrace at exit */
	"ptrace",
#endif
	"process_vm_writev", "kcmp", "pidfd_getfd",
	/* signals: glibc uses tgkill; a pidfd, or a /proc/PID fd, names anyone */
	"tkill", "pidfd_open", "pidfd_send_signal",
	/* kernel code and kernel facilities an attacker would want */
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "bpf", "perf_event_open", "userfaultfd",
	"add_key", "request_key", "keyctl", "lookup_dcookie",
	/* the system: mounts, namespaces, identity, time, power */
	"mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "setns", "unshare", "setuid", "setgid",
	"setreuid", "setregid", "setresuid", "setresgid", "setgroups",
	"setfsuid", "setfsgid", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "swapon", "swapoff", "reboot",
	"sethostname", "setdomainname", "acct", "quotactl",
	"iopl", "ioperm", "personality", "syslog", "vhangup",
	"name_to_handle_at", "open_by_handle_at", "uselib",
};

/*
 * Threads yes, namespaces no: clone with a CLONE_NEW* flag kills, like
 * unshare. clone3 passes its flags in memory a filter cannot read, so it
 * fails with ENOSYS, on which glibc creates threads with clone instead.
 */
static int sandbox_deny_namespaces(scmp_filter_ctx ctx, char *err,
				   size_t errlen)
{
	static const uint64_t new_ns[] = {
		CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
		CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	};
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(new_ns) / sizeof(new_ns[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
				       SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, new_ns[i],
					       new_ns[i]));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	if (ret)
		snprintf(err, errlen, "seccomp: cannot deny new namespaces: %s",
			 strerror(-ret));
	return ret;
}

/*
 * Signals only to the VMM itself (the vCPU kick, raise, pthread_cancel),
 * resource limits only its own (glibc's getrlimit and setrlimit pass pid
 * 0): run as root it could otherwise stop or kill any process, another
 * VM's included. A pid compared whole: high bits set, which the kernel
 * drops, make it another value, so such a call is refused too.
 */
static int sandbox_own_process(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	static const char *const to_pid[] = {
		"kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	};
	uint64_t self = (uint64_t)getpid();
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(to_pid) / sizeof(to_pid[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
				       seccomp_syscall_resolve_name(to_pid[i]),
				       1, SCMP_A0(SCMP_CMP_NE, self, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS,
				       SCMP_SYS(prlimit64), 1,
				       SCMP_A0(SCMP_CMP_NE, 0, 0));
	if (ret)
		snprintf(err, errlen, "seccomp: cannot limit signals to the VMM: %s",
			 strerror(-ret));
	return ret;
}

/*
 * The addresses and lengths below are tested with masked equalities only.
 * libseccomp 2.5 compiles several 64-bit range comparisons (LT, GE, GT) on
 * one syscall into a filter that compares a half of one argument it has
 * not loaded (a path from the low-half test of one rule reaches the
 * high-half test of the next): mprotect at addresses whose upper 32 bits
 * differed from a bound's was judged wrongly. A masked equality loads both
 * halves it tests.
 *
 * x < lo holds when, at some bit set in lo, x has it clear and agrees with
 * lo above it: one aligned block of addresses per set bit. x >= hi holds
 * when x agrees with hi from its lowest set bit t up, or, at some clear bit
 * of hi above t, x has it set and agrees with hi above it.
 */
static uint64_t bits_above(uint64_t x, int i)
{
	return i >= 63 ? 0 : x & ~0ULL << (i + 1);
}

/* Deny (EACCES) nr adding PROT_EXEC where arg's bits under mask equal val */
static int deny_exec_where(scmp_filter_ctx ctx, int nr, unsigned int arg,
			   uint64_t mask, uint64_t val)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 2,
				SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC),
				SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, val));
}

/* ... where the start (argument 0) is outside [lo, hi) */
static int deny_exec_outside(scmp_filter_ctx ctx, int nr, uint64_t lo,
			     uint64_t hi)
{
	int t, ret = 0;

	if (hi <= lo)
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
						PROT_EXEC));
	for (int i = 0; i < 64 && !ret; i++)
		if (lo >> i & 1)
			ret = deny_exec_where(ctx, nr, 0, ~0ULL << i,
					      bits_above(lo, i));
	t = __builtin_ctzll(hi);
	if (!ret)
		ret = deny_exec_where(ctx, nr, 0, ~0ULL << t, hi);
	for (int i = t + 1; i < 64 && !ret; i++)
		if (!(hi >> i & 1))
			ret = deny_exec_where(ctx, nr, 0, ~0ULL << i,
					      bits_above(hi, i) | 1ULL << i);
	return ret;
}

/* ... where the length (argument 1) is over max, a power of two */
static int deny_exec_longer(scmp_filter_ctx ctx, int nr, uint64_t max)
{
	int k = __builtin_ctzll(max), ret = 0;

	for (int i = k + 1; i < 64 && !ret; i++)
		ret = deny_exec_where(ctx, nr, 1, 1ULL << i, 1ULL << i);
	for (int i = 0; i < k && !ret; i++)
		ret = deny_exec_where(ctx, nr, 1, max | 1ULL << i,
				      max | 1ULL << i);
	return ret;
}

_Static_assert((JIT_ARENA_SLICE & (JIT_ARENA_SLICE - 1)) == 0,
	       "deny_exec_longer takes a power of two");

/*
 * Executable memory: no new mapping is executable (a file's, a memfd's or
 * anonymous memory: every library is loaded before the filter, see
 * sandbox_install), nor SysV shared memory attached with SHM_EXEC;
 * PROT_EXEC is added by mprotect only in the emu translator's code cache
 * range [lo, hi) (jit_mem.c; empty when no vCPU runs the translator), at
 * most one cache long, and never together with PROT_WRITE;
 * pkey_mprotect, which the translator does not use, never adds it. No
 * memfd is made at all (cvisor makes none; one would only be a file to
 * write code into). These fail with EACCES rather than kill, like a
 * kernel refusing the mapping.
 */
static int sandbox_limit_exec(scmp_filter_ctx ctx, uintptr_t lo,
			      uintptr_t hi, char *err, size_t errlen)
{
	const uint32_t deny = SCMP_ACT_ERRNO(EACCES);
	const uint64_t wx = PROT_WRITE | PROT_EXEC;
	int ret;

	ret = seccomp_rule_add(ctx, deny, SCMP_SYS(mmap), 1,
			       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	if (!ret)
		ret = seccomp_rule_add(ctx, deny, SCMP_SYS(memfd_create), 0);
	/* SysV shared memory is anonymous memory too */
	if (!ret)
		ret = seccomp_rule_add(ctx, deny, SCMP_SYS(shmat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC,
					       SHM_EXEC));
	if (!ret)
		ret = seccomp_rule_add(ctx, deny, SCMP_SYS(pkey_mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       PROT_EXEC));
	if (!ret)
		ret = seccomp_rule_add(ctx, deny, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, wx, wx));
	if (!ret)
		ret = deny_exec_outside(ctx, SCMP_SYS(mprotect), lo, hi);
	if (!ret)
		ret = deny_exec_longer(ctx, SCMP_SYS(mprotect), JIT_ARENA_SLICE);
	if (ret)
		snprintf(err, errlen, "seccomp: cannot limit executable memory: %s",
			 strerror(-ret));
	return ret;
}

/*
 * A library opened on first use, which the filter's refusal of executable
 * mappings would make fail: libgcc_s, the unwinder glibc's pthread_cancel
 * needs (glibc aborts the process when it cannot load it). Opened here, it
 * is found already loaded then. Never closed. What only some VMs need is
 * the caller's to open (OpenSSL's providers: sector_cipher_preload).
 */
static void sandbox_preload(void)
{
	dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
}

int sandbox_install_exec_range(uintptr_t lo, uintptr_t hi, char *err,
			       size_t errlen)
{
	scmp_filter_ctx ctx;
	int ret = 0;

	sandbox_preload();
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* every thread, including the ones already running */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (ret)
		snprintf(err, errlen, "seccomp: cannot filter all threads: %s",
			 strerror(-ret));
	/*
	 * A binary tree instead of one comparison per denied call: KVM_RUN
	 * and the I/O threads' calls pass the filter on every exit (kernels
	 * since 5.11 also cache the verdict for calls that are always
	 * allowed). Older libseccomp lacks the attribute; that only costs
	 * time.
	 */
	if (!ret)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; !ret && i < sizeof(sandbox_denied) /
					sizeof(sandbox_denied[0]); i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_denied[i]);

		/* a call this architecture or libseccomp does not know */
		if (nr == __NR_SCMP_ERROR)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
		if (ret)
			snprintf(err, errlen, "seccomp: cannot deny %s: %s",
				 sandbox_denied[i], strerror(-ret));
	}
	if (!ret)
		ret = sandbox_deny_namespaces(ctx, err, errlen);
	if (!ret)
		ret = sandbox_own_process(ctx, err, errlen);
	if (!ret)
		ret = sandbox_limit_exec(ctx, lo, hi, err, errlen);
	if (!ret) {
		ret = seccomp_load(ctx);
		if (ret)
			snprintf(err, errlen, "seccomp: cannot load the filter: %s",
				 strerror(-ret));
	}
	seccomp_release(ctx);
	return ret;
}

int sandbox_install(bool translator, char *err, size_t errlen)
{
	uintptr_t lo = 0, hi = 0;

	/* without it the range is not even reserved: an empty one denies all */
	if (translator)
		jit_arena_range(&lo, &hi);
	return sandbox_install_exec_range(lo, hi, err, errlen);
}
