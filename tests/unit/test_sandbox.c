// SPDX-License-Identifier: MIT
/*
 * The VMM's seccomp filter, each case in a child process: what it denies
 * kills the whole process with SIGSYS (also from a second thread), and
 * what the VMM needs after start-up (files, sockets, threads, mmap,
 * eventfds, io_uring-style memory) still works; mprotect adds PROT_EXEC
 * only at a start in the code-cache range, wherever that range lies.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel/emu/jit.h"
#include "test.h"
#include "vmm/sandbox.h"

/* Run fn in a child, sandboxed first if asked; returns its wait status. */
static int in_child(void (*fn)(void), bool sandboxed)
{
	char err[256];
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (sandboxed && sandbox_install(true, err, sizeof(err))) {
			printf("  %s\n", err);
			_exit(99);
		}
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static int in_sandbox(void (*fn)(void))
{
	return in_child(fn, true);
}

static bool killed_by_sigsys(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static void do_execve(void)
{
	char *argv[] = { "true", NULL };

	execve("/bin/true", argv, environ);
	_exit(1);	/* denied calls must not merely fail */
}

static void *thread_execve(void *unused)
{
	(void)unused;
	do_execve();
	return NULL;
}

static void do_execve_from_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_execve, NULL))
		_exit(2);
	pthread_join(t, NULL);
	_exit(1);
}

static void do_mount(void)
{
	mount("none", "/mnt", "tmpfs", 0, NULL);
	_exit(1);
}

static void do_unshare(void)
{
	syscall(SYS_unshare, 0);
	_exit(1);
}

static int child_fn(void *arg)
{
	(void)arg;
	return 0;
}

/* A new user and network namespace through clone, as a thread would not */
static void do_clone_newns(void)
{
	static char stack[16384];

	clone(child_fn, stack + sizeof(stack), CLONE_NEWUSER | CLONE_NEWNET |
	      SIGCHLD, NULL);
	_exit(1);
}

/* clone3 is refused (ENOSYS), so glibc falls back to clone for threads */
static void do_clone3(void)
{
	struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal,
		 stack, stack_size, tls; } args = { .exit_signal = SIGCHLD };
	long r = syscall(SYS_clone3, &args, sizeof(args));

	if (r == 0)
		_exit(0);	/* the child, had it been allowed */
	_exit(r < 0 && errno == ENOSYS ? 0 : 4);
}

static void do_init_module(void)
{
	syscall(SYS_init_module, NULL, 0, "");
	_exit(1);
}

/*
 * Signals and resource limits of another process (the test runner, with
 * signal 0, which only checks): the VMM has no business with any. The
 * kernel takes a pid as 32 bits, so a pid with high bits set is another
 * process too.
 */
static void do_kill_other(void)
{
	kill(getppid(), 0);
	_exit(1);
}

static void do_kill_other_high_bits(void)
{
	syscall(SYS_kill, 1ULL << 32 | (uint64_t)getppid(), 0);
	_exit(1);
}

static void do_kill_everyone(void)
{
	kill(-1, 0);
	_exit(1);
}

static void do_kill_group(void)
{
	kill(0, 0);
	_exit(1);
}

static void do_tgkill_other(void)
{
	syscall(SYS_tgkill, getppid(), getppid(), 0);
	_exit(1);
}

static void do_tkill_other(void)
{
	syscall(SYS_tkill, getppid(), 0);
	_exit(1);
}

static void do_sigqueue_other(void)
{
	sigqueue(getppid(), 0, (union sigval){ 0 });
	_exit(1);
}

/* pidfd_send_signal takes a /proc/PID directory as a pidfd too */
static void do_pidfd_signal_other(void)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d", (int)getppid());
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		_exit(2);
	syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0);
	_exit(1);
}

static void do_pidfd_open_other(void)
{
	syscall(SYS_pidfd_open, getppid(), 0);
	_exit(1);
}

static void do_prlimit_other(void)
{
	struct rlimit r;

	prlimit(getppid(), RLIMIT_NOFILE, NULL, &r);
	_exit(1);
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Signals to itself and its own limits, as glibc sends and reads them */
static bool own_signals_and_limits(pthread_t t)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct rlimit r;

	return !sigaction(SIGUSR1, &sa, NULL) && !kill(getpid(), 0) &&
	       !raise(SIGUSR1) && !pthread_kill(t, 0) &&
	       !sigqueue(getpid(), SIGUSR1, (union sigval){ 0 }) &&
	       !getrlimit(RLIMIT_NOFILE, &r) && !setrlimit(RLIMIT_NOFILE, &r);
}

static void *thread_nothing(void *unused)
{
	(void)unused;
	return NULL;
}

static void *thread_wait(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

/*
 * What the VMM does after start-up, including re-creating a VM on reboot,
 * and cancelling a thread (event_loop_stop), for which glibc loads
 * libgcc_s on first use: preloaded, as the filter would refuse its mapping.
 */
static void do_vmm_work(void)
{
	int sv[2], fd, efd;
	void *p;
	pthread_t t, w;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || efd < 0 || p == MAP_FAILED ||
	    madvise(p, 1 << 20, MADV_DONTNEED) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pthread_create(&t, NULL, thread_nothing, NULL) ||
	    pthread_join(t, NULL) ||
	    pthread_create(&w, NULL, thread_wait, NULL) ||
	    !own_signals_and_limits(w) ||
	    pthread_cancel(w) || pthread_join(w, NULL))
		_exit(3);
	_exit(0);
}

static void test_sandbox_denies_execve(void)
{
	CHECK(killed_by_sigsys(in_sandbox(do_execve)));
}

static void test_sandbox_covers_every_thread(void)
{
	CHECK(killed_by_sigsys(in_sandbox(do_execve_from_thread)));
}

static void test_sandbox_denies_system_changes(void)
{
	CHECK(killed_by_sigsys(in_sandbox(do_mount)));
	CHECK(killed_by_sigsys(in_sandbox(do_unshare)));
	CHECK(killed_by_sigsys(in_sandbox(do_init_module)));
	CHECK(killed_by_sigsys(in_sandbox(do_clone_newns)));
}

static void test_sandbox_denies_other_processes(void)
{
	CHECK(killed_by_sigsys(in_sandbox(do_kill_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_kill_other_high_bits)));
	CHECK(killed_by_sigsys(in_sandbox(do_kill_everyone)));
	CHECK(killed_by_sigsys(in_sandbox(do_kill_group)));
	CHECK(killed_by_sigsys(in_sandbox(do_tgkill_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_tkill_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_sigqueue_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_pidfd_signal_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_pidfd_open_other)));
	CHECK(killed_by_sigsys(in_sandbox(do_prlimit_other)));
}

/* SysV shared memory attached with SHM_EXEC: anonymous memory made executable */
static bool shm_exec_allowed(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	void *p;

	if (id < 0)
		return false; /* no SysV IPC here: nothing to attach */
	p = shmat(id, NULL, SHM_EXEC | SHM_RDONLY);
	shmctl(id, IPC_RMID, NULL);
	if (p != (void *)-1) {
		shmdt(p);
		return true;
	}
	return errno != EACCES;
}

/* mmap of fd's first page with prot: true if the mapping was made */
static bool file_mapped(int fd, int prot)
{
	void *p = mmap(NULL, 4096, prot, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, 4096);
	return true;
}

/*
 * Executable memory only in the emu translator's code cache: an anonymous
 * mapping cannot be made executable, nor anything writable and executable,
 * nor a file's mapping (code written to a file, or a library dlopen'ed
 * late), and no memfd is made; a file still maps for reading, and the
 * translator's own cache works (jit_create writes and runs its stubs).
 */
static void do_exec_memory(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct jit *j;

	if (p == MAP_FAILED || fd < 0)
		_exit(2);
	if (!mprotect(p, 4096, PROT_READ | PROT_EXEC) || errno != EACCES)
		_exit(3);
	if (mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
		_exit(4);
	if (shm_exec_allowed())
		_exit(6);
	if (file_mapped(fd, PROT_READ | PROT_EXEC) || errno != EACCES)
		_exit(7);
	if (file_mapped(fd, PROT_EXEC) || !file_mapped(fd, PROT_READ))
		_exit(8);
	if (syscall(SYS_memfd_create, "code", 0) >= 0 || errno != EACCES)
		_exit(9);
	j = jit_create();
	if (!j)
		_exit(5);
	jit_destroy(j);
	_exit(0);
}

/*
 * No translator (--accel kvm, or emu,jit=off): nothing is ever made
 * executable, not even in the code-cache range, and a translator cannot
 * start. The cache range is reserved first, as it would be without the
 * filter.
 */
static void do_exec_memory_no_translator(void)
{
	uintptr_t lo, hi;
	char err[256];

	jit_arena_range(&lo, &hi);
	if (hi <= lo)
		_exit(2);
	if (sandbox_install(false, err, sizeof(err))) {
		printf("  %s\n", err);
		_exit(99);
	}
	if (!mprotect((void *)lo, 4096, PROT_READ | PROT_EXEC) ||
	    errno != EACCES)
		_exit(3);
	if (!mprotect((void *)(hi - 4096), 4096, PROT_EXEC) || errno != EACCES)
		_exit(4);
	if (jit_create())
		_exit(5);
	_exit(0);
}

static void test_sandbox_exec_memory_no_translator(void)
{
	int status = in_child(do_exec_memory_no_translator, false);

	CHECK(status != -1 && WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

static void test_sandbox_exec_memory(void)
{
	int status = in_sandbox(do_exec_memory);

	CHECK(status != -1 && WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/*
 * Where mprotect may add PROT_EXEC, probed through the kernel: a call the
 * filter refuses fails with EACCES, which mprotect on anonymous memory or
 * on nothing never does itself. The range is placed against a 4 GiB line
 * in memory the child reserves (PROT_NONE), so a call the filter lets
 * through lands there and is undone; the probes stand at the range's
 * edges, at the line, at their images 4 and 8 GiB away (same low 32 bits)
 * and far above, and at random places, with lengths around one slice.
 */
#define GiB		(1ULL << 30)
#define PAGE		4096ULL
#define ARENA_TRY	(64 * (uint64_t)JIT_ARENA_SLICE)	/* as jit_mem.c */

static const struct exec_place {
	const char *what;
	int64_t lo;		/* from the line */
} exec_places[] = {
	{ "across a 4 GiB line", -(int64_t)(ARENA_TRY / 2) },
	{ "ending at a 4 GiB line", -(int64_t)ARENA_TRY },
	{ "starting at a 4 GiB line", 0 },
	{ "a page over a 4 GiB line", -(int64_t)PAGE },
	{ "ending a page past a 4 GiB line", -(int64_t)(ARENA_TRY - PAGE) },
	{ "within a 4 GiB window", (int64_t)GiB },
};

static const struct exec_place *exec_place;	/* NULL: the real arena */
static uint64_t exec_lo, exec_hi;
static int exec_wrong;

static void exec_probe(long nr, uint64_t addr, uint64_t len, uint64_t prot)
{
	bool want = !(prot & PROT_EXEC) ||
		    (nr == SYS_mprotect && !(prot & PROT_WRITE) &&
		     addr >= exec_lo && addr < exec_hi &&
		     len <= JIT_ARENA_SLICE);
	long r;

	if (nr == SYS_pkey_mprotect)
		r = syscall(nr, addr, len, prot, -1);
	else
		r = syscall(nr, addr, len, prot);
	if ((r < 0 && errno == EACCES) == want) {
		if (exec_wrong++ < 5)
			printf("  %s %s: %s(%#" PRIx64 ", %#" PRIx64 ", %#"
			       PRIx64 ") %s\n", exec_place ? exec_place->what :
			       "real arena", want ? "allows" : "denies",
			       nr == SYS_mprotect ? "mprotect" : "pkey_mprotect",
			       addr, len, prot, want ? "refused" : "went through");
	}
	if (r == 0)
		mprotect((void *)(uintptr_t)addr, len, PROT_NONE);
}

/* x and its images 4 and 8 GiB away, and with a high bit set */
static void exec_probe_images(uint64_t x, uint64_t len)
{
	const uint64_t img[] = { 0, 4 * GiB, -4 * GiB, 8 * GiB, -8 * GiB,
				 1ULL << 47, 1ULL << 63, 1ULL << 32 };

	for (size_t i = 0; i < sizeof(img) / sizeof(img[0]); i++) {
		exec_probe(SYS_mprotect, x + img[i], len, PROT_READ | PROT_EXEC);
		exec_probe(SYS_mprotect, x + img[i], len, PROT_EXEC);
	}
}

static void do_exec_range(void)
{
	const uint64_t lens[] = {
		0, 1, PAGE, JIT_ARENA_SLICE - PAGE, JIT_ARENA_SLICE,
		JIT_ARENA_SLICE + 1, JIT_ARENA_SLICE + PAGE,
		2ULL * JIT_ARENA_SLICE, 1ULL << 32, (1ULL << 32) + PAGE,
		(1ULL << 32) + JIT_ARENA_SLICE, 1ULL << 63, ~0ULL,
	};
	uint64_t line, at[5], rnd = 0x9e3779b97f4a7c15ULL;
	char err[256];
	void *p;

	if (exec_place) {
		p = mmap(NULL, 20 * GiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		line = ((uintptr_t)p + 6 * GiB + 4 * GiB - 1) & ~(4 * GiB - 1);
		exec_lo = line + exec_place->lo;
		exec_hi = exec_lo + ARENA_TRY;
		if (sandbox_install_exec_range(exec_lo, exec_hi, err,
					       sizeof(err))) {
			printf("  %s\n", err);
			_exit(99);
		}
	} else {
		uintptr_t lo, hi;

		jit_arena_range(&lo, &hi);
		if (hi <= lo || sandbox_install(true, err, sizeof(err)))
			_exit(3);
		exec_lo = lo;
		exec_hi = hi;
		line = (lo + 4 * GiB - 1) & ~(4 * GiB - 1);
	}
	at[0] = exec_lo;
	at[1] = exec_hi;
	at[2] = line;
	at[3] = line - 4 * GiB;
	at[4] = exec_lo + (exec_hi - exec_lo) / 2;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		for (int64_t d = -2; d <= 1; d++)
			exec_probe_images(at[i] + d * PAGE, PAGE);
		exec_probe_images(at[i] - 1, PAGE);
		exec_probe_images(at[i] + 1, PAGE);
	}
	for (uint64_t x = exec_lo - 8 * JIT_ARENA_SLICE;
	     x < exec_hi + 8 * JIT_ARENA_SLICE; x += (1 << 20) + PAGE)
		exec_probe_images(x, PAGE);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		exec_probe(SYS_mprotect, exec_lo, lens[i], PROT_READ | PROT_EXEC);
		exec_probe(SYS_mprotect, exec_hi - JIT_ARENA_SLICE, lens[i],
			   PROT_EXEC);
		exec_probe(SYS_mprotect, exec_lo + 4 * GiB, lens[i], PROT_EXEC);
	}
	for (int i = 0; i < 1000; i++) {
		/* xorshift: the same places every run */
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		exec_probe_images(exec_lo - 8 * GiB +
				  (rnd % (16 * GiB) & ~(PAGE - 1)), PAGE);
	}
	/* no W+X anywhere, no PROT_EXEC through pkey_mprotect, reads as ever */
	exec_probe(SYS_mprotect, exec_lo, PAGE,
		   PROT_READ | PROT_WRITE | PROT_EXEC);
	exec_probe(SYS_pkey_mprotect, exec_lo, PAGE, PROT_READ | PROT_EXEC);
	exec_probe(SYS_pkey_mprotect, exec_lo + 4 * GiB, PAGE, PROT_EXEC);
	exec_probe(SYS_pkey_mprotect, exec_lo, PAGE, PROT_READ);
	exec_probe(SYS_mprotect, exec_hi, PAGE, PROT_READ);
	fflush(stdout);
	_exit(exec_wrong ? 1 : 0);
}

static void test_sandbox_exec_range(void)
{
	for (size_t i = 0; i <= sizeof(exec_places) / sizeof(exec_places[0]);
	     i++) {
		int status;

		exec_place = i ? &exec_places[i - 1] : NULL;
		status = in_child(do_exec_range, false);
		CHECK(status != -1 && WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 0);
	}
}

static void test_sandbox_clone3_refused(void)
{
	int status = in_sandbox(do_clone3);

	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_sandbox_allows_vmm_work(void)
{
	int status = in_sandbox(do_vmm_work);

	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	RUN(test_sandbox_denies_execve);
	RUN(test_sandbox_covers_every_thread);
	RUN(test_sandbox_denies_system_changes);
	RUN(test_sandbox_denies_other_processes);
	RUN(test_sandbox_clone3_refused);
	RUN(test_sandbox_exec_memory);
	RUN(test_sandbox_exec_memory_no_translator);
	RUN(test_sandbox_exec_range);
	RUN(test_sandbox_allows_vmm_work);
	return test_summary();
}
