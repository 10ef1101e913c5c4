/* SPDX-License-Identifier: MIT */
/*
 * Pausing a running VM: every vCPU thread is kicked out of the guest and
 * waits in vm_pause_point until vm_resume. Device and event-loop threads
 * keep running; with no vCPU executing, the guest makes no progress.
 */
#ifndef CVISOR_VMM_PAUSE_H
#define CVISOR_VMM_PAUSE_H

#include <stdbool.h>

struct vm;
struct vcpu;

/* Returns once every started vCPU is parked (or the VM is stopping). */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);
/* Called by a vCPU thread between runs: parks it while a pause is asked. */
void vm_pause_point(struct vcpu *vcpu);

#endif
