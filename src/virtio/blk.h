/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VIRTIO_BLK_H
#define CVISOR_VIRTIO_BLK_H

struct vm;
struct disk_config;

/*
 * Open and lock the image of one --disk and add a virtio-blk device for it
 * to vm->pci; pci_destroy frees it. Prints one error line on failure.
 */
int virtio_blk_create(struct vm *vm, const struct disk_config *disk);

#endif
