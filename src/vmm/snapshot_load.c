// SPDX-License-Identifier: MIT
/*
 * Restoring a snapshot (snapshot.h): its configuration, memory and state.
 * Everything read is untrusted: a bad file is one line and no guest code
 * runs.
 */
#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "vmm/json.h"
#include "vmm/log.h"
#include "vmm/snapshot_int.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#define CONFIG_MAX	(1u << 20)

int snapshot_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

void snapshot_put_vm(struct vm *vm, struct state_writer *w)
{
	char accel[SNAPSHOT_ACCEL_NAME] = { 0 };

	strncpy(accel, vm->accel->name, sizeof(accel) - 1);
	state_put_u64(w, vm->mem.ram_size);
	state_put_u32(w, vm->nr_vcpus);
	state_put(w, accel, sizeof(accel));
	state_put_u32(w, vm->nr_devices);
}

static int read_file(int dirfd, const char *name, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > CONFIG_MAX) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return -EIO;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

static int check_disk(const struct json_val *d, bool force, char *err,
		      size_t errlen)
{
	char path[PATH_MAX];
	int64_t size, mtime;
	struct stat st;

	if (json_get_string(d, "path", path, sizeof(path)) ||
	    json_get_int(d, "size", &size) ||
	    json_get_int(d, "mtime_ns", &mtime)) {
		snprintf(err, errlen, "snapshot configuration: bad disk entry");
		return -EINVAL;
	}
	if (block_url_driver(path)) {
		/* a migration (force) hands over a disk in use: nothing to tell */
		if (!force)
			log_warn("snapshot disk %s: a network disk; whether it "
				 "changed since the snapshot cannot be told",
				 path);
		return 0;
	}
	if (stat(path, &st)) {
		snprintf(err, errlen, "snapshot disk %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	if (force)
		return 0;
	if (st.st_size != size ||
	    st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != mtime) {
		snprintf(err, errlen, "disk %s changed since the snapshot "
			 "(size or modification time); --force restores "
			 "anyway", path);
		return -ESTALE;
	}
	return 0;
}

/* doc: the configuration document, a JSON object (borrowed). */
static int parse_config_doc(const struct json_val *doc, bool force,
			    struct snapshot_config *sc, char *err,
			    size_t errlen)
{
	struct json_val root = *doc, args, v;
	int64_t version;
	char buf[PATH_MAX];
	int ret;

	if (json_get_int(&root, "version", &version) ||
	    version != SNAPSHOT_VERSION) {
		snprintf(err, errlen, "snapshot configuration version is not "
			 "%d", SNAPSHOT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (json_get_string(&root, "cwd", sc->cwd, sizeof(sc->cwd)) ||
	    json_get(&root, "argv", &args) || !json_is_array(args.v)) {
		snprintf(err, errlen, "snapshot configuration lacks cwd or "
			 "argv");
		return -EINVAL;
	}
	sc->argv = calloc(SNAPSHOT_MAX_ARGS + 1, sizeof(char *));
	if (!sc->argv)
		return -ENOMEM;
	for (unsigned i = 0; json_index(&args, i, &v) == 0; i++) {
		if (i == SNAPSHOT_MAX_ARGS || json_copy_string(&v, buf, sizeof(buf))) {
			snprintf(err, errlen, "snapshot configuration: bad "
				 "argument %u", i);
			return -EINVAL;
		}
		sc->argv[sc->argc] = strdup(buf);
		if (!sc->argv[sc->argc++])
			return -ENOMEM;
	}
	if (chdir(sc->cwd)) {
		snprintf(err, errlen, "snapshot working directory %s: %s",
			 sc->cwd, strerror(errno));
		return -errno;
	}
	if (json_get(&root, "disks", &args) || !json_is_array(args.v)) {
		snprintf(err, errlen, "snapshot configuration lacks disks");
		return -EINVAL;
	}
	for (unsigned i = 0; json_index(&args, i, &v) == 0; i++) {
		ret = check_disk(&v, force, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_config(const char *text, size_t len, bool force,
			struct snapshot_config *sc, char *err, size_t errlen)
{
	struct json_val root = { NULL };
	int ret;

	if (json_parse(text, len, &root) || !json_is_object(root.v)) {
		json_release(&root);
		snprintf(err, errlen, "snapshot configuration is not valid "
			 "JSON");
		return -EINVAL;
	}
	ret = parse_config_doc(&root, force, sc, err, errlen);
	json_release(&root);
	return ret;
}

int snapshot_read_config(const char *dir, bool force,
			 struct snapshot_config *sc, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int dirfd, ret;

	memset(sc, 0, sizeof(*sc));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, errlen, "snapshot %s: %s", dir, strerror(errno));
		return -errno;
	}
	ret = read_file(dirfd, SNAPSHOT_CONFIG, &text, &len);
	close(dirfd);
	if (ret) {
		snprintf(err, errlen, "snapshot %s: cannot read %s: %s", dir,
			 SNAPSHOT_CONFIG, strerror(-ret));
		return ret;
	}
	ret = snapshot_config_parse(text, len, !force, sc, err, errlen);
	free(text);
	return ret;
}

int snapshot_config_parse(const char *text, size_t len, bool check_disks,
			  struct snapshot_config *sc, char *err, size_t errlen)
{
	char *old_cwd;
	int ret;

	memset(sc, 0, sizeof(*sc));
	/* Disk paths are relative to where the VM was started. */
	old_cwd = getcwd(NULL, 0);
	ret = parse_config(text, len, !check_disks, sc, err, errlen);
	if (old_cwd && chdir(old_cwd) && !ret) {
		snprintf(err, errlen, "cannot return to %s", old_cwd);
		ret = -errno;
	}
	free(old_cwd);
	if (ret)
		snapshot_config_free(sc);
	return ret;
}

void snapshot_config_free(struct snapshot_config *sc)
{
	for (int i = 0; sc->argv && i < sc->argc; i++)
		free(sc->argv[i]);
	free(sc->argv);
	sc->argv = NULL;
	sc->argc = 0;
}

/* Copy the file's data extents into guest RAM (hugetlbfs, prefault). */
static int read_memory(struct vm *vm, int fd, uint64_t size)
{
	off_t off = 0;

	for (;;) {
		off_t data = lseek(fd, off, SEEK_DATA), end;

		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		end = lseek(fd, data, SEEK_HOLE);
		if (end < 0 || (uint64_t)end > size)
			end = size;
		while (data < end) {
			ssize_t n = pread(fd, vm->mem.mapping + data,
					  end - data, data);

			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			guest_mem_code_written(&vm->mem,
					       vm->mem.mapping + data, n);
			data += n;
		}
		off = end;
	}
}

int snapshot_map_memory(struct vm *vm, char *err, size_t errlen)
{
	const char *dir = vm->cfg->restore_dir;
	uint64_t size = vm->mem.mapping_size;
	struct stat st;
	int dirfd, fd, ret = 0;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dirfd < 0 ? -1 : openat(dirfd, SNAPSHOT_MEMORY,
				      O_RDONLY | O_CLOEXEC);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0) {
		snprintf(err, errlen, "snapshot %s: cannot open %s: %s", dir,
			 SNAPSHOT_MEMORY, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_size != size) {
		snprintf(err, errlen, "snapshot %s: memory file holds %lld "
			 "bytes, the VM has %llu", dir, (long long)st.st_size,
			 (unsigned long long)size);
		close(fd);
		return -EINVAL;
	}
	if (vm->cfg->restore_prefault || vm->cfg->mem_opts.hugetlb_path) {
		ret = read_memory(vm, fd, size);
	} else {
		ret = guest_mem_map_file(&vm->mem, fd);
	}
	close(fd);
	if (ret)
		snprintf(err, errlen, "snapshot %s: cannot load memory: %s",
			 dir, strerror(-ret));
	return ret;
}

static int load_vm_section(struct vm *vm, struct state_reader *r)
{
	char accel[SNAPSHOT_ACCEL_NAME];
	uint32_t nr_vcpus, nr_devices;
	uint64_t ram;
	int ret;

	ret = state_get_u64(r, &ram);
	ret = ret ?: state_get_u32(r, &nr_vcpus);
	ret = ret ?: state_get(r, accel, sizeof(accel));
	ret = ret ?: state_get_u32(r, &nr_devices);
	if (ret)
		return ret;
	accel[sizeof(accel) - 1] = 0;
	if (ram != vm->mem.ram_size)
		return state_fail(r, "snapshot has %llu MiB of memory, the VM "
				  "%llu MiB", (unsigned long long)(ram >> 20),
				  (unsigned long long)(vm->mem.ram_size >> 20));
	if ((int)nr_vcpus != vm->nr_vcpus)
		return state_fail(r, "snapshot has %u vCPUs, the VM %d",
				  nr_vcpus, vm->nr_vcpus);
	if (strcmp(accel, vm->accel->name))
		return state_fail(r, "snapshot was made under --accel %s, "
				  "the VM runs under %s", accel,
				  vm->accel->name);
	if ((int)nr_devices != vm->nr_devices)
		return state_fail(r, "snapshot has %u devices, the VM %d: "
				  "the device set does not match", nr_devices,
				  vm->nr_devices);
	return 0;
}

/* Sections in the order they were written; each must be the expected. */
static int load_sections(struct vm *vm, struct state_reader *r)
{
	int nr = 2 + vm->nr_vcpus + vm->nr_devices;
	const char *name;
	char want[STATE_NAME_MAX];
	uint32_t version;
	int ret;

	for (int i = 0; i < nr; i++) {
		struct device *dev = NULL;

		if (i == 0)
			snprintf(want, sizeof(want), "vm");
		else if (i == 1)
			snprintf(want, sizeof(want), "%s", vm->accel->name);
		else if (i < 2 + vm->nr_vcpus)
			snprintf(want, sizeof(want), "cpu%d", i - 2);
		else
			dev = vm->devices[i - 2 - vm->nr_vcpus];
		if (dev)
			snprintf(want, sizeof(want), "%s", dev->name);
		ret = state_next_section(r, &name, &version);
		if (ret == 0)
			return state_fail(r, "state ends before section '%s'",
					  want);
		if (ret < 0)
			return ret;
		if (strcmp(name, want))
			return state_fail(r, "state has section '%s' where "
					  "'%s' belongs: the device set does "
					  "not match", name, want);
		if (i == 0)
			ret = version == SNAPSHOT_VM_VERSION ?
			      load_vm_section(vm, r) :
			      state_fail(r, "vm section version %u", version);
		else if (i == 1)
			ret = vm->accel->vm_load(vm, r, version);
		else if (!dev)
			ret = vm->accel->vcpu_load(&vm->vcpus[i - 2], r,
						   version);
		else if (version > dev->ops->state_version ||
			 version < (dev->ops->min_state_version ?:
				    dev->ops->state_version))
			ret = state_fail(r, "%s: state version %u, this cvisor "
					 "has %u", dev->name, version,
					 dev->ops->state_version);
		else
			ret = dev->ops->load(dev, r, version);
		if (ret)
			return ret;
		if (state_remaining(r))
			return state_fail(r, "section '%s' has %zu bytes more "
					  "than its owner reads", name,
					  state_remaining(r));
	}
	ret = state_next_section(r, &name, &version);
	if (ret > 0)
		return state_fail(r, "state has an extra section '%s'", name);
	return ret;
}

int snapshot_load_state(struct vm *vm, char *err, size_t errlen)
{
	const char *dir = vm->cfg->restore_dir;
	struct state_reader *r;
	int dirfd, fd, ret;
	FILE *f;

	if (!vm->accel->vm_load || !vm->accel->vcpu_load) {
		snprintf(err, errlen, "the %s accelerator cannot load state",
			 vm->accel->name);
		return -ENOTSUP;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dirfd < 0 ? -1 : openat(dirfd, SNAPSHOT_STATE,
				      O_RDONLY | O_CLOEXEC);
	if (dirfd >= 0)
		close(dirfd);
	f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "snapshot %s: cannot open %s: %s", dir,
			 SNAPSHOT_STATE, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	r = state_reader_create(f, err, errlen);
	if (!r) {
		ret = -errno;
		fclose(f);
		return ret;
	}
	ret = snapshot_load_stream(vm, r);
	if (ret)
		snprintf(err, errlen, "snapshot %s: %s", dir,
			 state_reader_error(r));
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

int snapshot_load_stream(struct vm *vm, struct state_reader *r)
{
	int ret = load_sections(vm, r);

	if (!ret)
		snapshot_devices_resume(vm);
	return ret;
}
