/* SPDX-License-Identifier: MIT */
/* vCPU threads: one per virtual CPU, each looping in the accelerator. */
#ifndef CVISOR_VMM_VCPU_H
#define CVISOR_VMM_VCPU_H

struct vm;

/* Create every vCPU in the accelerator and load the BSP's entry state. */
int vcpus_create(struct vm *vm);
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of the guest and join its thread. */
void vcpus_stop(struct vm *vm);
void vcpus_destroy(struct vm *vm);

#endif
