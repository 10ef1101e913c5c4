/* SPDX-License-Identifier: MIT */
/* Shared by the snapshot save (snapshot.c) and load (snapshot_load.c). */
#ifndef CVISOR_VMM_SNAPSHOT_INT_H
#define CVISOR_VMM_SNAPSHOT_INT_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct state_writer;

/*
 * The "vm" section: RAM size, vCPU count, accelerator name and the number
 * of devices, so a restore into another shape is refused up front.
 */
#define SNAPSHOT_VM_VERSION	1
#define SNAPSHOT_ACCEL_NAME	16

void snapshot_put_vm(struct vm *vm, struct state_writer *w);
void snapshot_devices_quiesce(struct vm *vm);
/* Every device's resume, after a save or a load. */
void snapshot_devices_resume(struct vm *vm);
int snapshot_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

#endif
