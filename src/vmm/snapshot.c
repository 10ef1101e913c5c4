// SPDX-License-Identifier: MIT
/* Saving a running VM into a snapshot directory (snapshot.h). */
#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/json.h"
#include "vmm/pause.h"
#include "vmm/snapshot_int.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define PAGE		4096u

/* Guest RAM as one file, sparse: runs of non-zero pages are written. */
static int save_memory(struct vm *vm, int dirfd)
{
	const uint8_t *m = vm->mem.mapping;
	uint64_t size = vm->mem.mapping_size, off = 0;
	int fd, ret = 0;

	fd = openat(dirfd, SNAPSHOT_MEMORY, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (off < size && !ret) {
		uint64_t start, len;

		while (off < size && guest_mem_page_is_zero(m + off))
			off += PAGE;
		start = off;
		while (off < size && !guest_mem_page_is_zero(m + off) &&
		       off - start < (64u << 20))
			off += PAGE;
		len = off - start;
		if (len)
			ret = snapshot_pwrite_all(fd, m + start, len, start);
	}
	if (!ret && ftruncate(fd, size))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int snapshot_write_state(struct vm *vm, struct state_writer *w)
{
	int ret;

	state_section_begin(w, SNAPSHOT_VM_VERSION, "vm");
	snapshot_put_vm(vm, w);
	state_section_end(w);
	ret = vm->accel->vm_save(vm, w);
	for (int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vm->accel->vcpu_save(&vm->vcpus[i], w);
	for (int i = 0; !ret && i < vm->nr_devices; i++)
		ret = device_save(vm->devices[i], w);
	return ret;
}

static int save_state(struct vm *vm, int dirfd)
{
	struct state_writer *w;
	FILE *f;
	int fd, ret;

	fd = openat(dirfd, SNAPSHOT_STATE, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	w = state_writer_create(f);
	if (!w) {
		fclose(f);
		return -ENOMEM;
	}
	ret = snapshot_write_state(vm, w);
	if (!ret)
		ret = state_writer_finish(w);
	state_writer_destroy(w);
	if (!ret && fsync(fileno(f)))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -EIO;
	return ret;
}

static void put_disk(struct json_out *o, const struct disk_config *d,
		     bool first)
{
	char shown[BLOCK_ERR_LEN];
	struct stat st;

	/*
	 * A network disk is named without its password and has no size or
	 * time to check: the restore says it cannot tell whether it changed.
	 */
	if (d->url)
		block_redact(d->url, shown, sizeof(shown));
	if (d->url || stat(d->path, &st))
		memset(&st, 0, sizeof(st));
	json_out_raw(o, first ? "{\"path\":" : ",{\"path\":");
	json_out_str(o, d->url ? shown : d->path);
	json_out_fmt(o, ",\"size\":%lld,\"mtime_ns\":%lld}",
		     (long long)st.st_size,
		     (long long)st.st_mtim.tv_sec * 1000000000LL +
		     st.st_mtim.tv_nsec);
}

char *snapshot_config_text(struct vm *vm, size_t *len)
{
	const struct vm_config *cfg = vm->cfg;
	char cwd[PATH_MAX];
	struct json_out o;
	size_t size = 65536;
	char *buf = malloc(size);

	if (!buf)
		return NULL;
	if (!getcwd(cwd, sizeof(cwd))) {
		free(buf);
		return NULL;
	}
	json_out_init(&o, buf, size);
	json_out_fmt(&o, "{\"version\":%d,\"cwd\":", SNAPSHOT_VERSION);
	json_out_str(&o, cwd);
	json_out_raw(&o, ",\"argv\":[");
	for (int i = 0; i < cfg->argc; i++) {
		if (i)
			json_out_raw(&o, ",");
		json_out_str(&o, cfg->argv[i]);
	}
	json_out_raw(&o, "],\"disks\":[");
	for (int i = 0; i < cfg->nr_disks; i++)
		put_disk(&o, &cfg->disks[i], i == 0);
	json_out_raw(&o, "]}\n");
	if (!json_out_ok(&o)) {
		free(buf);
		return NULL;
	}
	*len = o.len;
	return buf;
}

static int save_config(struct vm *vm, int dirfd)
{
	size_t len;
	char *buf = snapshot_config_text(vm, &len);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = openat(dirfd, SNAPSHOT_CONFIG, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		ret = -errno;
	else
		ret = snapshot_pwrite_all(fd, buf, len, 0);
	if (fd >= 0 && !ret && fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static void remove_partial(const char *dir, int dirfd)
{
	unlinkat(dirfd, SNAPSHOT_MEMORY, 0);
	unlinkat(dirfd, SNAPSHOT_STATE, 0);
	unlinkat(dirfd, SNAPSHOT_CONFIG, 0);
	rmdir(dir);
}

void snapshot_devices_quiesce(struct vm *vm)
{
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i]->ops->quiesce)
			vm->devices[i]->ops->quiesce(vm->devices[i]);
}

void snapshot_devices_resume(struct vm *vm)
{
	for (int i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i]->ops->resume)
			vm->devices[i]->ops->resume(vm->devices[i]);
}

int vm_snapshot(struct vm *vm, const char *dir, bool stop, char *err,
		size_t errlen)
{
	bool was_paused = vm_is_paused(vm);
	const char *what = "create";
	int dirfd, ret;

	if (!vm->accel->vm_save || !vm->accel->vcpu_save) {
		snprintf(err, errlen, "the %s accelerator cannot save state",
			 vm->accel->name);
		return -ENOTSUP;
	}
	if (mkdir(dir, 0700)) {
		ret = -errno;
		snprintf(err, errlen, "snapshot %s: %s", dir, strerror(-ret));
		return ret;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ret = -errno;
		rmdir(dir);
		snprintf(err, errlen, "snapshot %s: %s", dir, strerror(-ret));
		return ret;
	}
	ret = vm_pause(vm);
	if (ret) {
		snprintf(err, errlen, "the VM is stopping");
		goto out_remove;
	}
	snapshot_devices_quiesce(vm);
	what = "write the state of";
	ret = save_state(vm, dirfd);
	if (!ret) {
		what = "write the memory of";
		ret = save_memory(vm, dirfd);
	}
	if (!ret) {
		what = "write the configuration of";
		ret = save_config(vm, dirfd);
	}
	if (!ret && fsync(dirfd))
		ret = -errno;
	snapshot_devices_resume(vm);
	if (ret)
		snprintf(err, errlen, "cannot %s snapshot %s: %s", what, dir,
			 vm->accel_error[0] ? vm->accel_error : strerror(-ret));
	if (!ret && stop)
		vm_request_exit(vm, VM_EXIT_QUIT, "saved to %s", dir);
	else if (!was_paused)
		vm_resume(vm);
out_remove:
	if (ret)
		remove_partial(dir, dirfd);
	close(dirfd);
	return ret;
}
