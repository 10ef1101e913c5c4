// SPDX-License-Identifier: MIT
/*
 * The VMM's seccomp filter, each case in a child process: what it denies
 * kills the whole process with SIGSYS (also from a second thread), and
 * what the VMM needs after start-up (files, sockets, threads, mmap,
 * eventfds, io_uring-style memory) still works.
 */
#include <errno.h>
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel/emu/jit.h"
#include "test.h"
#include "vmm/sandbox.h"

/* Run fn in a sandboxed child; returns its wait status. */
static int in_sandbox(void (*fn)(void))
{
	char err[256];
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (sandbox_install(err, sizeof(err))) {
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

static void *thread_nothing(void *unused)
{
	(void)unused;
	return NULL;
}

/* What the VMM does after start-up, including re-creating a VM on reboot. */
static void do_vmm_work(void)
{
	int sv[2], fd, efd;
	void *p;
	pthread_t t;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	efd = eventfd(0, EFD_CLOEXEC);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || efd < 0 || p == MAP_FAILED ||
	    madvise(p, 1 << 20, MADV_DONTNEED) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pthread_create(&t, NULL, thread_nothing, NULL) ||
	    pthread_join(t, NULL))
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

/*
 * Executable memory only in the emu translator's code cache: an anonymous
 * mapping cannot be made executable, nor anything writable and executable;
 * the translator's own cache works (jit_create writes and runs its stubs).
 */
static void do_exec_memory(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct jit *j;

	if (p == MAP_FAILED)
		_exit(2);
	if (!mprotect(p, 4096, PROT_READ | PROT_EXEC) || errno != EACCES)
		_exit(3);
	if (mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
		_exit(4);
	j = jit_create();
	if (!j)
		_exit(5);
	jit_destroy(j);
	_exit(0);
}

static void test_sandbox_exec_memory(void)
{
	int status = in_sandbox(do_exec_memory);

	CHECK(status != -1 && WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
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
	RUN(test_sandbox_clone3_refused);
	RUN(test_sandbox_exec_memory);
	RUN(test_sandbox_allows_vmm_work);
	return test_summary();
}
