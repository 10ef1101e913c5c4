// SPDX-License-Identifier: MIT
/*
 * KVM's dirty page log. Logging re-registers each guest RAM slot with
 * KVM_MEM_LOG_DIRTY_PAGES (same address and size: KVM only changes the
 * flags and write-protects the slot). A sync reads each slot's bitmap with
 * KVM_GET_DIRTY_LOG. Without manual protection that call also clears the
 * log and write-protects the pages again, as one step in the kernel. With
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 the read does not clear, and
 * KVM_CLEAR_DIRTY_LOG clears and re-protects only the pages just read: a
 * page written between the two calls is either in what was read or still
 * set for the next sync.
 *
 * Device memory (video memory) mapped as its own slots logs from the
 * moment it is mapped, whether or not a migration runs; it is synced on
 * its own, so the two users never take each other's bits. Both follow the
 * one VM-wide choice of manual protection, taken under the same lock.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm_dirty.h"
#include "vmm/guest_mem.h"

#define PAGE_SHIFT	12

struct kvm_dirty_slot {
	struct kvm_userspace_memory_region region;
	uint64_t first;		/* its first page in the RAM mapping */
	uint64_t *buf;		/* KVM's bitmap of the slot */
	size_t words;
};

/* Device memory slots: ids after the guest RAM slots. */
#define DEV_SLOT_BASE	GUEST_MEM_MAX_REGIONS
#define DEV_SLOTS	4

struct kvm_dirty {
	int kvm_fd, vm_fd;
	const struct guest_mem *mem;
	pthread_mutex_t lock;	/* start, sync and stop one at a time */
	bool logging;
	bool manual;		/* KVM_CLEAR_DIRTY_LOG clears */
	int nr_slots;
	struct kvm_dirty_slot slots[GUEST_MEM_MAX_REGIONS];
	struct kvm_dirty_slot dev[DEV_SLOTS];	/* buf NULL: free */
};

struct kvm_dirty *kvm_dirty_create(int kvm_fd, int vm_fd,
				   const struct guest_mem *mem)
{
	struct kvm_dirty *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->kvm_fd = kvm_fd;
	d->vm_fd = vm_fd;
	d->mem = mem;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

static void free_slots(struct kvm_dirty *d)
{
	for (int i = 0; i < d->nr_slots; i++)
		free(d->slots[i].buf);
	d->nr_slots = 0;
}

void kvm_dirty_destroy(struct kvm_dirty *d)
{
	if (!d)
		return;
	free_slots(d);
	for (int i = 0; i < DEV_SLOTS; i++)
		free(d->dev[i].buf);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int set_flags(struct kvm_dirty *d, int n, uint32_t flags)
{
	for (int i = 0; i < n; i++) {
		d->slots[i].region.flags = flags;
		if (ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION,
			  &d->slots[i].region) < 0)
			return -errno;
	}
	return 0;
}

/* Manual protection, once per VM and before any slot logs. */
static bool enable_manual(struct kvm_dirty *d)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
	};
	int have = ioctl(d->kvm_fd, KVM_CHECK_EXTENSION,
			 KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	if (d->manual)
		return true;
	if (have <= 0 || !(have & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
		return false;
	return ioctl(d->vm_fd, KVM_ENABLE_CAP, &cap) == 0;
}

int kvm_dirty_start(struct kvm_dirty *d, char *err, size_t errlen)
{
	const struct guest_mem *mem = d->mem;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->logging)
		goto out;
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_dirty_slot *s = &d->slots[i];
		uint64_t pages = r->size >> PAGE_SHIFT;

		s->region = (struct kvm_userspace_memory_region){
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		s->first = (uint64_t)(r->hva - mem->mapping) >> PAGE_SHIFT;
		s->words = (pages + 63) / 64;
		s->buf = calloc(s->words ? s->words : 1, sizeof(uint64_t));
		d->nr_slots = i + 1;
		if (!s->buf) {
			ret = -ENOMEM;
			snprintf(err, errlen, "KVM dirty log: out of memory");
			goto fail;
		}
	}
	d->manual = enable_manual(d);
	ret = set_flags(d, d->nr_slots, KVM_MEM_LOG_DIRTY_PAGES);
	if (ret) {
		snprintf(err, errlen,
			 "KVM cannot log dirty pages (KVM_SET_USER_MEMORY_REGION with KVM_MEM_LOG_DIRTY_PAGES: %s)",
			 strerror(-ret));
		ret = ret == -EINVAL ? -ENOTSUP : ret;
		set_flags(d, d->nr_slots, 0);
		goto fail;
	}
	d->logging = true;
	goto out;
fail:
	free_slots(d);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/*
 * OR the words of src into dst from bit first on. The bits KVM sets are
 * all pages of the slot, so a carry into the next word is still inside
 * the mapping's bitmap.
 */
static void or_bits(uint64_t *dst, uint64_t first, const uint64_t *src,
		    size_t words)
{
	unsigned shift = first % 64;
	uint64_t *w = dst + first / 64;

	for (size_t i = 0; i < words; i++) {
		if (!src[i])
			continue;
		w[i] |= src[i] << shift;
		if (shift && src[i] >> (64 - shift))
			w[i + 1] |= src[i] >> (64 - shift);
	}
}

static int sync_slot(struct kvm_dirty *d, const struct kvm_dirty_slot *s,
		     uint64_t *bitmap)
{
	struct kvm_dirty_log log = {
		.slot = s->region.slot,
		.dirty_bitmap = s->buf,
	};
	struct kvm_clear_dirty_log clear = {
		.slot = s->region.slot,
		.num_pages = s->region.memory_size >> PAGE_SHIFT,
		.dirty_bitmap = s->buf,
	};
	bool any = false;

	if (ioctl(d->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -errno;
	for (size_t i = 0; i < s->words && !any; i++)
		any = s->buf[i] != 0;
	if (!any)
		return 0;
	if (d->manual && ioctl(d->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0)
		return -errno;
	or_bits(bitmap, s->first, s->buf, s->words);
	return 0;
}

int kvm_dirty_sync(struct kvm_dirty *d, uint64_t *bitmap)
{
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (!d->logging)
		ret = -EINVAL;
	for (int i = 0; i < d->nr_slots && !ret; i++)
		ret = sync_slot(d, &d->slots[i], bitmap);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void kvm_dirty_stop(struct kvm_dirty *d)
{
	pthread_mutex_lock(&d->lock);
	if (d->logging) {
		set_flags(d, d->nr_slots, 0);
		free_slots(d);
		d->logging = false;
	}
	pthread_mutex_unlock(&d->lock);
}

int kvm_dirty_dev_map(struct kvm_dirty *d, uint64_t gpa, void *hva,
		      uint64_t size)
{
	struct kvm_dirty_slot *s = NULL;
	int i, ret;

	if ((gpa | size | (uintptr_t)hva) & ((1u << PAGE_SHIFT) - 1) || !size ||
	    gpa + size < gpa)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	for (i = 0; i < DEV_SLOTS && !s; i++)
		if (!d->dev[i].buf)
			s = &d->dev[i];
	ret = -ENOSPC;
	if (!s)
		goto out;
	i = s - d->dev;
	s->region = (struct kvm_userspace_memory_region){
		.slot = DEV_SLOT_BASE + i,
		.flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	s->first = 0;
	s->words = ((size >> PAGE_SHIFT) + 63) / 64;
	s->buf = calloc(s->words, sizeof(uint64_t));
	ret = -ENOMEM;
	if (!s->buf)
		goto out;
	d->manual = enable_manual(d);
	if (ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &s->region) < 0) {
		ret = -errno;
		free(s->buf);
		s->buf = NULL;
		goto out;
	}
	ret = i;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static struct kvm_dirty_slot *dev_slot(struct kvm_dirty *d, int id)
{
	if (id < 0 || id >= DEV_SLOTS || !d->dev[id].buf)
		return NULL;
	return &d->dev[id];
}

void kvm_dirty_dev_unmap(struct kvm_dirty *d, int id)
{
	struct kvm_dirty_slot *s;

	pthread_mutex_lock(&d->lock);
	s = dev_slot(d, id);
	if (s) {
		s->region.flags = 0;
		s->region.memory_size = 0;
		ioctl(d->vm_fd, KVM_SET_USER_MEMORY_REGION, &s->region);
		free(s->buf);
		s->buf = NULL;
	}
	pthread_mutex_unlock(&d->lock);
}

int kvm_dirty_dev_sync(struct kvm_dirty *d, int id, uint64_t *bitmap)
{
	struct kvm_dirty_slot *s;
	int ret = -EINVAL;

	pthread_mutex_lock(&d->lock);
	s = dev_slot(d, id);
	if (s)
		ret = sync_slot(d, s, bitmap);
	pthread_mutex_unlock(&d->lock);
	return ret;
}
