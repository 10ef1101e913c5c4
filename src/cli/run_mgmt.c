// SPDX-License-Identifier: MIT
#include "cli/run_mgmt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "virtio/balloon.h"
#include "vmm/log.h"

static const char *const exit_names[] = {
	[VM_EXIT_NONE] = "none",
	[VM_EXIT_POWEROFF] = "poweroff",
	[VM_EXIT_RESET] = "reset",
	[VM_EXIT_PANIC] = "panic",
	[VM_EXIT_TRIPLE_FAULT] = "triple-fault",
	[VM_EXIT_ERROR] = "error",
	[VM_EXIT_SIGNAL] = "signal",
	[VM_EXIT_QUIT] = "quit",
};

/* Fork; the parent waits until the child has booted (or failed). */
static int run_daemonize(struct run_mgmt *m)
{
	int pipefd[2], devnull;
	pid_t pid;
	char c;

	if (pipe2(pipefd, O_CLOEXEC)) {
		log_error("--daemonize: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("--daemonize: fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(pipefd[1]);
		m->parent_status = read(pipefd[0], &c, 1) == 1 ? 0 : 1;
		close(pipefd[0]);
		/* The child owns the socket now; just drop our copy. */
		return 1;
	}
	close(pipefd[0]);
	m->ready_fd = pipefd[1];
	setsid();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	return 0;
}

int run_mgmt_setup(struct run_mgmt *m, struct vm_config *cfg)
{
	bool named = true;
	char err[256];
	int ret;

	m->ready_fd = -1;
	if (!cfg->name) {
		snprintf(m->name, sizeof(m->name), "vm-%d", (int)getpid());
		cfg->name = m->name;
		named = false;
	}
	m->ctl = control_create(cfg->name, err, sizeof(err));
	if (!m->ctl && !named && !m->daemonize) {
		/* Nobody asked for management: run without a socket. */
		log_warn("no control socket: %s", err);
		return 0;
	}
	if (!m->ctl) {
		log_error("%s", err);
		return -1;
	}
	if (m->daemonize) {
		ret = run_daemonize(m);
		if (ret) {
			if (ret < 0)
				control_destroy(m->ctl);
			else
				control_release(m->ctl);
			m->ctl = NULL;
			return ret;
		}
		control_enable_console(m->ctl);
	}
	ret = control_start(m->ctl);
	if (ret) {
		log_error("cannot start the control thread: %s", strerror(-ret));
		control_destroy(m->ctl);
		m->ctl = NULL;
		return -1;
	}
	return 0;
}

void run_mgmt_console(struct run_mgmt *m, struct vm_config *cfg)
{
	if (!m->daemonize)
		return;
	cfg->console_out = control_console_out;
	cfg->console_opaque = m->ctl;
}

static void run_balloon_changed(void *opaque, uint64_t actual)
{
	control_event(opaque, "balloon-changed", "\"actual\":%llu",
		      (unsigned long long)actual);
}

void run_mgmt_booted(struct run_mgmt *m, struct vm *vm)
{
	int devnull;

	if (!m->ctl)
		return;
	if (vm->balloon)
		virtio_balloon_set_notify(vm->balloon, run_balloon_changed,
					  m->ctl);
	control_set_vm(m->ctl, vm);
	if (m->ready_fd < 0)
		return;
	if (write(m->ready_fd, "1", 1) != 1)
		log_debug("--daemonize: the parent is gone");
	close(m->ready_fd);
	m->ready_fd = -1;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDERR_FILENO);
		close(devnull);
	}
}

void run_mgmt_ended(struct run_mgmt *m, struct vm *vm,
		    enum vm_exit_reason reason)
{
	if (!m->ctl)
		return;
	control_set_vm(m->ctl, NULL);
	if (vm->balloon)
		virtio_balloon_set_notify(vm->balloon, NULL, NULL);
	control_event(m->ctl, reason == VM_EXIT_RESET ? "reset" : "shutdown",
		      "\"reason\":\"%s\"", exit_names[reason]);
}

void run_mgmt_destroy(struct run_mgmt *m)
{
	if (m->ready_fd >= 0)
		close(m->ready_fd);
	control_destroy(m->ctl);
	m->ctl = NULL;
}
