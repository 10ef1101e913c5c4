/* SPDX-License-Identifier: MIT */
/*
 * Slowing the vCPUs down (auto-converge of a migration whose guest dirties
 * memory faster than it can be sent): with a throttle of p percent, a
 * timer kicks the vCPUs every THROTTLE_PERIOD_MS and each then sleeps
 * p percent of that period before entering the guest again.
 */
#ifndef CVISOR_VMM_THROTTLE_H
#define CVISOR_VMM_THROTTLE_H

struct vm;
struct vcpu;

#define THROTTLE_PERIOD_MS	10

/* 0 stops throttling; at most 99. 0 or a negative errno. */
int vm_set_throttle(struct vm *vm, unsigned percent);
/* Called by a vCPU thread between runs: sleeps its share. */
void vm_throttle_point(struct vcpu *vcpu);
/* Stop the timer thread (vm_destroy). */
void vm_throttle_destroy(struct vm *vm);

#endif
