// SPDX-License-Identifier: MIT
/* The commands of the control protocol (docs/api.md). ctl->lock is held. */
#include "vmm/control_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/legacy.h"
#include "devices/pci.h"
#include "ui/screendump.h"
#include "ui/vnc.h"
#include "virtio/balloon.h"
#include "vmm/affinity.h"
#include "vmm/json.h"
#include "vmm/migration.h"
#include "vmm/numa_host.h"
#include "vmm/pause.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define STOP_TIMEOUT_DEFAULT	10	/* seconds before stop forces */
#define STOP_TIMEOUT_MAX	3600

struct control_req {
	struct json_val obj;
	char id[72];		/* the request's id as JSON text */
	struct json_out *out;	/* the result object's members */
	char err[512];		/* a command's own error line, if set */
};

static const char *vm_state(struct vm *vm)
{
	if (atomic_load(&vm->stopping))
		return "stopping";
	return vm_is_paused(vm) ? "paused" : "running";
}

static void put_status(struct control *ctl, struct json_out *o)
{
	struct vm *vm = ctl->vm;

	json_out_raw(o, "\"name\":");
	json_out_str(o, ctl->name);
	json_out_fmt(o, ",\"pid\":%d,\"state\":", (int)getpid());
	json_out_str(o, vm_state(vm));
	json_out_fmt(o, ",\"vcpus\":%d,\"memory\":%llu,\"uptime_ms\":%llu,"
		     "\"accel\":", vm->nr_vcpus,
		     (unsigned long long)vm->mem.ram_size,
		     (unsigned long long)(vm->start_ns ?
			(vm_now_ns() - vm->start_ns) / 1000000 : 0));
	json_out_str(o, vm->accel->name);
}

static int cmd_status(struct control *ctl, struct control_req *r)
{
	put_status(ctl, r->out);
	return 0;
}

/* "Key:   123 kB" lines of a smaps block, in bytes. */
static uint64_t smaps_kb(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ':')
		return 0;
	return strtoull(line + n + 1, NULL, 10) * 1024;
}

/* Resident and THP-backed bytes of the guest RAM mapping. */
static void guest_ram_usage(struct vm *vm, uint64_t *rss, uint64_t *huge,
			    uint64_t *proc_rss)
{
	uintptr_t ram = (uintptr_t)vm->mem.mapping;
	uintptr_t ram_end = ram + vm->mem.mapping_size;
	bool in_ram = false;
	char line[256];
	FILE *f;

	*rss = *huge = *proc_rss = 0;
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			/* one mapping per guest NUMA node */
			in_ram = start >= ram && start < ram_end;
			continue;
		}
		*proc_rss += smaps_kb(line, "Rss");
		if (in_ram) {
			*rss += smaps_kb(line, "Rss");
			*huge += smaps_kb(line, "AnonHugePages") +
				 smaps_kb(line, "Private_Hugetlb") +
				 smaps_kb(line, "Shared_Hugetlb");
		}
	}
	fclose(f);
}

/*
 * Per guest NUMA node: its vCPUs, size, host binding, and the bytes
 * resident on each host node (numa_maps).
 */
static void put_numa(struct vm *vm, struct json_out *o)
{
	const struct numa_config *numa = &vm->cfg->numa;
	char list[256];

	json_out_raw(o, "[");
	for (int i = 0; i < vm->mem.nr_nodes; i++) {
		const struct guest_mem_node *n = &vm->mem.nodes[i];
		uint64_t cpus = numa->nr_nodes ? numa->nodes[i].cpus :
				vm->nr_vcpus >= 64 ? ~0ULL :
				(1ULL << vm->nr_vcpus) - 1;
		uint64_t bytes[NUMA_MAX_HOST_NODES];
		bool first = true;

		numa_format_mask(cpus, list, sizeof(list));
		json_out_fmt(o, "%s{\"node\":%d,\"cpus\":", i ? "," : "", i);
		json_out_str(o, list);
		json_out_fmt(o, ",\"size\":%llu,\"policy\":",
			     (unsigned long long)n->size);
		json_out_str(o, numa_policy_name(n->cfg.policy));
		numa_format_mask(n->cfg.host_nodes, list, sizeof(list));
		json_out_raw(o, ",\"host_nodes\":");
		json_out_str(o, list);
		json_out_raw(o, ",\"resident\":{");
		if (!numa_host_resident_self((uintptr_t)n->hva,
					     (uintptr_t)n->hva + n->size, bytes))
			for (int h = 0; h < NUMA_MAX_HOST_NODES; h++) {
				if (!bytes[h])
					continue;
				json_out_fmt(o, "%s\"%d\":%llu", first ? "" : ",",
					     h, (unsigned long long)bytes[h]);
				first = false;
			}
		json_out_raw(o, "}}");
	}
	json_out_raw(o, "]");
}

static void put_balloon(struct vm *vm, struct json_out *o)
{
	struct balloon_info bi;

	if (!vm->balloon) {
		json_out_raw(o, "null");
		return;
	}
	virtio_balloon_get_info(vm->balloon, &bi);
	json_out_fmt(o, "{\"target\":%llu,\"actual\":%llu,\"inflated\":%llu,"
		     "\"reported\":%llu,\"stats\":{",
		     (unsigned long long)bi.target_bytes,
		     (unsigned long long)bi.actual_bytes,
		     (unsigned long long)bi.inflated_bytes,
		     (unsigned long long)bi.reported_bytes);
	for (unsigned i = 0; i < bi.nr_stats; i++) {
		json_out_raw(o, i ? "," : "");
		json_out_str(o, bi.stats[i].name);
		json_out_fmt(o, ":%llu", (unsigned long long)bi.stats[i].value);
	}
	json_out_raw(o, "}}");
}

static int cmd_info(struct control *ctl, struct control_req *r)
{
	struct vm *vm = ctl->vm;
	struct json_out *o = r->out;
	uint64_t rss, huge, proc_rss;
	bool first = true;

	put_status(ctl, o);
	guest_ram_usage(vm, &rss, &huge, &proc_rss);
	json_out_fmt(o, ",\"memory_info\":{\"size\":%llu,\"guest_ram_rss\":%llu,"
		     "\"huge_page_bytes\":%llu,\"process_rss\":%llu,"
		     "\"merge\":%s,\"hugepages\":%s,\"hugetlb\":",
		     (unsigned long long)vm->mem.ram_size,
		     (unsigned long long)rss, (unsigned long long)huge,
		     (unsigned long long)proc_rss,
		     vm->cfg->mem_opts.merge ? "true" : "false",
		     vm->cfg->mem_opts.hugepages ? "true" : "false");
	if (vm->cfg->mem_opts.hugetlb_path)
		json_out_str(o, vm->cfg->mem_opts.hugetlb_path);
	else
		json_out_raw(o, "null");
	json_out_raw(o, "},\"numa\":");
	put_numa(vm, o);
	json_out_fmt(o, ",\"topology\":{\"sockets\":%d,\"cores\":%d,"
		     "\"threads\":%d}", vm->topo.sockets, vm->topo.cores,
		     vm->topo.threads);
	json_out_raw(o, ",\"balloon\":");
	put_balloon(vm, o);
	json_out_raw(o, ",\"vnc\":");
	if (vm->cfg->vnc)
		vnc_server_info(vm->cfg->vnc, o);
	else
		json_out_raw(o, "null");
	json_out_raw(o, ",\"devices\":[");
	for (int i = 0; vm->pci && i < PCI_MAX_SLOTS; i++) {
		struct pci_device *d = vm->pci->devs[i];

		if (!d)
			continue;
		json_out_fmt(o, "%s{\"slot\":%d,\"name\":", first ? "" : ",",
			     d->slot);
		json_out_str(o, d->name ? d->name : "?");
		json_out_raw(o, "}");
		first = false;
	}
	json_out_raw(o, "],\"vcpu_threads\":[");
	for (int i = 0; i < vm->nr_vcpus; i++) {
		int tid = atomic_load(&vm->vcpus[i].tid);
		char cpus[256] = "";
		cpu_set_t set;

		if (tid && !sched_getaffinity(tid, sizeof(set), &set))
			affinity_format(&set, cpus, sizeof(cpus));
		json_out_fmt(o, "%s{\"id\":%d,\"tid\":%d,\"cpus\":", i ? "," : "",
			     i, tid);
		json_out_str(o, cpus);
		json_out_raw(o, "}");
	}
	/* guest accesses no device claimed: ignored, but worth seeing */
	json_out_fmt(o, "],\"unhandled_io\":{\"pio\":%lu,\"mmio\":%lu}",
		     atomic_load(&vm->pio.unhandled),
		     atomic_load(&vm->mmio.unhandled));
	json_out_raw(o, ",\"migration\":");
	migration_info(vm, o);
	return 0;
}

static int cmd_pause(struct control *ctl, struct control_req *r)
{
	(void)r;
	return vm_pause(ctl->vm);
}

static int cmd_resume(struct control *ctl, struct control_req *r)
{
	(void)r;
	vm_resume(ctl->vm);
	return 0;
}

static int cmd_stop(struct control *ctl, struct control_req *r)
{
	int64_t timeout = STOP_TIMEOUT_DEFAULT;
	int ret = json_get_int(&r->obj, "timeout", &timeout);

	if (ret != -ENOENT && (ret || timeout < 0 || timeout > STOP_TIMEOUT_MAX))
		return -EINVAL;
	/* A paused guest cannot react to the button. */
	vm_resume(ctl->vm);
	ret = ctl->vm->acpi_pm ? acpi_pm_power_button(ctl->vm->acpi_pm) :
				-ENODEV;
	if (ret)
		return ret;
	ctl->stop_timeout = timeout;
	ctl->stop_deadline = vm_now_ns() + timeout * 1000000000ULL;
	json_out_fmt(r->out, "\"timeout\":%d", (int)timeout);
	return 0;
}

static int cmd_quit(struct control *ctl, struct control_req *r)
{
	(void)r;
	vm_request_exit(ctl->vm, VM_EXIT_QUIT, "stopped by the control socket");
	return 0;
}

static int cmd_balloon(struct control *ctl, struct control_req *r)
{
	int64_t bytes;

	if (!ctl->vm->balloon)
		return -ENODEV;
	if (json_get_int(&r->obj, "bytes", &bytes) || bytes < 0 ||
	    (uint64_t)bytes > ctl->vm->mem.ram_size)
		return -EINVAL;
	return virtio_balloon_set_target(ctl->vm->balloon, bytes);
}

static int cmd_snapshot(struct control *ctl, struct control_req *r)
{
	char path[PATH_MAX];
	bool stop = false;
	struct json_val v;

	if (json_get_string(&r->obj, "path", path, sizeof(path)) ||
	    path[0] != '/' ||
	    (!json_get(&r->obj, "stop", &v) && json_bool(&v, &stop)))
		return -EINVAL;
	if (vm_snapshot(ctl->vm, path, stop, r->err, sizeof(r->err)))
		return -EIO;
	json_out_raw(r->out, "\"path\":");
	json_out_str(r->out, path);
	return 0;
}

/* Pushed to every client on each iteration and at the end. */
static void migration_event(void *opaque, const char *status,
			    const char *detail)
{
	struct control *ctl = opaque;
	char why[300];
	struct json_out o;

	json_out_init(&o, why, sizeof(why));
	if (detail) {
		json_out_raw(&o, ",\"error\":");
		json_out_str(&o, detail);
	}
	control_event(ctl, "migration", "\"status\":\"%s\"%s", status,
		      json_out_ok(&o) && detail ? why : "");
}

static int cmd_migrate(struct control *ctl, struct control_req *r)
{
	struct migration_params p = {
		.downtime_ms = 300,
		.event = migration_event,
		.event_opaque = ctl,
	};
	char uri[300];
	int64_t v;
	struct json_val b;

	if (json_get_string(&r->obj, "uri", uri, sizeof(uri)) ||
	    migration_parse_uri(uri, p.host, sizeof(p.host), &p.port, r->err,
				sizeof(r->err)) || !p.host[0])
		return -EINVAL;
	if (!json_get_int(&r->obj, "downtime_ms", &v)) {
		if (v < 1 || v > 600000)
			return -EINVAL;
		p.downtime_ms = v;
	}
	if (!json_get_int(&r->obj, "bandwidth", &v)) {
		if (v < 0)
			return -EINVAL;
		p.bandwidth = v;
	}
	if (!json_get_int(&r->obj, "timeout", &v)) {
		if (v < 0 || v > 86400)
			return -EINVAL;
		p.timeout_s = v;
	}
	if (!json_get(&r->obj, "compress", &b) && json_bool(&b, &p.compress))
		return -EINVAL;
	if (migration_start(ctl->vm, &p, r->err, sizeof(r->err)))
		return -EIO;
	return 0;
}

static int cmd_migrate_cancel(struct control *ctl, struct control_req *r)
{
	int ret = migration_cancel(ctl->vm);

	if (ret)
		snprintf(r->err, sizeof(r->err), "no migration is running");
	return ret;
}

static int cmd_screendump(struct control *ctl, struct control_req *r)
{
	char path[PATH_MAX];

	if (json_get_string(&r->obj, "path", path, sizeof(path)) ||
	    path[0] != '/')
		return -EINVAL;
	if (!ctl->vm->display) {
		snprintf(r->err, sizeof(r->err),
			 "the VM has no display (run with --vnc)");
		return -ENODEV;
	}
	if (screendump_png(ctl->vm->display, path, r->err, sizeof(r->err)))
		return -EIO;
	json_out_raw(r->out, "\"path\":");
	json_out_str(r->out, path);
	return 0;
}

static const struct control_cmd {
	const char *name;
	int (*fn)(struct control *ctl, struct control_req *r);
	const char *einval;	/* what -EINVAL means for this command */
} control_cmds[] = {
	{ "status", cmd_status, NULL },
	{ "info", cmd_info, NULL },
	{ "pause", cmd_pause, NULL },
	{ "resume", cmd_resume, NULL },
	{ "stop", cmd_stop, "timeout must be 0-3600 seconds" },
	{ "quit", cmd_quit, NULL },
	{ "force", cmd_quit, NULL },
	{ "balloon", cmd_balloon,
	  "bytes must be an integer from 0 to the VM's memory size" },
	{ "snapshot", cmd_snapshot,
	  "path must be an absolute directory name, stop a boolean" },
	{ "migrate", cmd_migrate,
	  "uri must be tcp:HOST:PORT; downtime_ms 1-600000, bandwidth bytes "
	  "per second, timeout 0-86400 s, compress a boolean" },
	{ "migrate-cancel", cmd_migrate_cancel, NULL },
	{ "screendump", cmd_screendump,
	  "path must be an absolute file name" },
};

static void control_reply(struct control *ctl, struct control_client *c,
			  const char *id, const char *error,
			  const char *result)
{
	char line[CONTROL_REPLY_MAX + 256];
	struct json_out o;

	json_out_init(&o, line, sizeof(line));
	json_out_fmt(&o, "{\"id\":%s,\"ok\":%s", id, error ? "false" : "true");
	if (error) {
		json_out_raw(&o, ",\"error\":");
		json_out_str(&o, error);
	} else {
		json_out_fmt(&o, ",\"result\":{%s}", result);
	}
	json_out_raw(&o, "}");
	if (!json_out_ok(&o))
		snprintf(line, sizeof(line),
			 "{\"id\":%s,\"ok\":false,\"error\":\"reply too long\"}",
			 id);
	control_send(ctl, c, line);
}

/* Echo numbers, short strings and null as they read; refuse the rest. */
static int control_req_id(struct control_req *r)
{
	struct json_out o;
	struct json_val id;

	if (json_get(&r->obj, "id", &id))
		return 0;
	if (!json_is_number(id.v) && !json_is_string(id.v) &&
	    !json_is_null(id.v))
		return -EINVAL;
	json_out_init(&o, r->id, sizeof(r->id));
	json_out_val(&o, &id);
	if (!json_out_ok(&o)) {
		snprintf(r->id, sizeof(r->id), "null");
		return -EINVAL;
	}
	return 0;
}

static void control_run(struct control *ctl, struct control_client *c,
			struct control_req *r)
{
	char result[CONTROL_REPLY_MAX], cmd[32], err[600];
	const struct control_cmd *cc = NULL;
	struct json_out out;
	int ret;

	if (control_req_id(r)) {
		control_reply(ctl, c, r->id,
			      "id must be a number or a string of at most 64 bytes",
			      NULL);
		return;
	}
	if (json_get_string(&r->obj, "cmd", cmd, sizeof(cmd))) {
		control_reply(ctl, c, r->id, "missing \"cmd\"", NULL);
		return;
	}
	if (!strcmp(cmd, "console")) {
		if (!ctl->console_enabled) {
			control_reply(ctl, c, r->id,
				      "the console is a terminal: run with --daemonize to attach",
				      NULL);
			return;
		}
		/* The reply goes first: console bytes follow it. */
		control_reply(ctl, c, r->id, NULL, "");
		if (c->fd >= 0 && control_console_attach(ctl, c))
			control_close_client(ctl, c);
		return;
	}
	if (!strcmp(cmd, "secret-set")) {
		ret = control_cmd_secret_set(ctl, &r->obj, err, sizeof(err));
		control_reply(ctl, c, r->id, ret ? err : NULL, "");
		return;
	}
	for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
		if (!strcmp(cmd, control_cmds[i].name))
			cc = &control_cmds[i];
	if (!cc) {
		snprintf(err, sizeof(err), "unknown command '%s'", cmd);
		control_reply(ctl, c, r->id, err, NULL);
		return;
	}
	if (!ctl->vm) {
		control_reply(ctl, c, r->id, "the VM is not running (starting or rebooting)",
			      NULL);
		return;
	}
	json_out_init(&out, result, sizeof(result));
	r->out = &out;
	ret = cc->fn(ctl, r);
	if (ret && r->err[0])
		snprintf(err, sizeof(err), "%s: %s", cmd, r->err);
	else if (ret == -EINVAL && cc->einval)
		snprintf(err, sizeof(err), "%s: %s", cmd, cc->einval);
	else if (ret == -ENODEV)
		snprintf(err, sizeof(err), "%s: the VM has no balloon device (run with --balloon)",
			 cmd);
	else if (ret)
		snprintf(err, sizeof(err), "%s: %s", cmd, strerror(-ret));
	control_reply(ctl, c, r->id, ret ? err : NULL, result);
}

void control_dispatch(struct control *ctl, struct control_client *c,
		      const char *line, size_t len)
{
	struct control_req r = { .id = "null" };

	if (len && line[len - 1] == '\r')
		len--;
	if (json_parse(line, len, &r.obj) || !json_is_object(r.obj.v)) {
		json_release(&r.obj);
		control_reply(ctl, c, r.id, "invalid JSON: expected one object per line",
			      NULL);
		return;
	}
	control_run(ctl, c, &r);
	json_release(&r.obj);
}
