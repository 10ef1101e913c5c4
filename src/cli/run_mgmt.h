/* SPDX-License-Identifier: MIT */
/*
 * What `cvisor run` does for management: the VM's name and control socket,
 * --daemonize, and telling control clients about boots and shutdowns.
 */
#ifndef CVISOR_CLI_RUN_MGMT_H
#define CVISOR_CLI_RUN_MGMT_H

#include <stdbool.h>

#include "vmm/control.h"
#include "vmm/vm.h"

struct run_mgmt {
	struct control *ctl;
	char name[CONTROL_NAME_MAX + 1];
	bool daemonize;
	int ready_fd;		/* daemon: tells the parent the VM booted */
	int parent_status;	/* parent: exit with this */
};

/*
 * Claim the name (refusing a live duplicate), fork when daemonizing and
 * start the control thread. Returns 0 to go on, 1 in the parent of a
 * daemon (exit with m->parent_status), -1 on error (message printed).
 */
int run_mgmt_setup(struct run_mgmt *m, struct vm_config *cfg);
/* For a daemon, route the guest console to control clients. */
void run_mgmt_console(struct run_mgmt *m, struct vm_config *cfg);
void run_mgmt_booted(struct run_mgmt *m, struct vm *vm);
void run_mgmt_ended(struct run_mgmt *m, struct vm *vm,
		    enum vm_exit_reason reason);
void run_mgmt_destroy(struct run_mgmt *m);

#endif
