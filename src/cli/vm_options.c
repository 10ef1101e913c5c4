// SPDX-License-Identifier: MIT
#include "cli/vm_options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/run_opts.h"
#include "vmm/log.h"

void vm_config_defaults(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.cmdline = "console=ttyS0",
		.mem_size = 512ULL << 20,
		.nr_cpus = 1,
	};
}

static json_t *dump_str(const char *s)
{
	return s ? json_string(s) : NULL;
}

static json_t *dump_flag(bool on)
{
	return on ? json_true() : NULL;
}

static int parse_name(char *arg, struct vm_config *cfg)
{
	cfg->name = arg;
	return 0;
}

static json_t *dump_name(const struct vm_config *cfg)
{
	return dump_str(cfg->name);
}

static int parse_kernel(char *arg, struct vm_config *cfg)
{
	cfg->kernel = arg;
	return 0;
}

static json_t *dump_kernel(const struct vm_config *cfg)
{
	return dump_str(cfg->kernel);
}

static int parse_initrd(char *arg, struct vm_config *cfg)
{
	cfg->initrd = arg;
	return 0;
}

static json_t *dump_initrd(const struct vm_config *cfg)
{
	return dump_str(cfg->initrd);
}

static int parse_cmdline(char *arg, struct vm_config *cfg)
{
	cfg->cmdline = arg;
	return 0;
}

static json_t *dump_cmdline(const struct vm_config *cfg)
{
	return dump_str(cfg->cmdline);
}

/* The largest unit that divides bytes exactly, as --memory spells it. */
static json_t *dump_size(uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	char buf[32];
	int u = -1;

	while (u < 5 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, sizeof(buf), "%llu%c", (unsigned long long)bytes,
			 units[u]);
	return json_string(buf);
}

static json_t *dump_memory(const struct vm_config *cfg)
{
	const struct guest_mem_opts *o = &cfg->mem_opts;
	json_t *obj;

	if (!o->merge && !o->hugepages && !o->hugetlb_path)
		return dump_size(cfg->mem_size);
	obj = json_object();
	json_object_set_new(obj, "size", dump_size(cfg->mem_size));
	if (o->merge)
		json_object_set_new(obj, "merge", json_true());
	if (o->hugepages)
		json_object_set_new(obj, "hugepages", json_true());
	if (o->hugetlb_path)
		json_object_set_new(obj, "hugetlb", json_string(o->hugetlb_path));
	return obj;
}

static json_t *dump_cpus(const struct vm_config *cfg)
{
	json_t *obj;

	if (!cfg->affinity && !cfg->topo.cores)
		return json_integer(cfg->nr_cpus);
	obj = json_object();
	json_object_set_new(obj, "count", json_integer(cfg->nr_cpus));
	if (cfg->topo.cores) {
		json_object_set_new(obj, "sockets",
				    json_integer(cfg->topo.sockets));
		json_object_set_new(obj, "cores", json_integer(cfg->topo.cores));
		json_object_set_new(obj, "threads",
				    json_integer(cfg->topo.threads));
	}
	if (cfg->affinity)
		json_object_set_new(obj, "affinity", json_string(cfg->affinity));
	return obj;
}

static json_t *dump_numa(const struct vm_config *vc)
{
	const struct numa_config *cfg = &vc->numa;
	char buf[256];
	json_t *arr;

	if (!cfg->nr_nodes)
		return NULL;
	arr = json_array();
	for (int i = 0; i < cfg->nr_nodes; i++) {
		const struct numa_node *n = &cfg->nodes[i];
		json_t *obj;

		if (!n->defined)
			continue;
		obj = json_object();
		json_object_set_new(obj, "node", json_integer(i));
		if (n->cpus) {
			numa_format_mask(n->cpus, buf, sizeof(buf));
			json_object_set_new(obj, "cpus", json_string(buf));
		}
		json_object_set_new(obj, "mem", dump_size(n->mem));
		if (n->host_nodes) {
			numa_format_mask(n->host_nodes, buf, sizeof(buf));
			json_object_set_new(obj, "host-node", json_string(buf));
			json_object_set_new(obj, "policy",
				json_string(numa_policy_name(n->policy)));
		}
		json_array_append_new(arr, obj);
	}
	for (int a = 0; a < NUMA_MAX_NODES; a++)
		for (int b = 0; b < NUMA_MAX_NODES; b++) {
			if (!cfg->distance[a][b])
				continue;
			snprintf(buf, sizeof(buf), "%d:%d=%d", a, b,
				 cfg->distance[a][b]);
			json_array_append_new(arr, json_pack("{s:s}",
							     "distance", buf));
		}
	return arr;
}

/* kvm, emu or kvm:emu; the software CPU takes ",jit=on|off" */
static int parse_accel(char *arg, struct vm_config *cfg)
{
	char *opt = strchr(arg, ',');

	cfg->accel = arg;
	cfg->emu_jit = EMU_JIT_DEFAULT;
	if (!opt)
		return 0;
	*opt++ = 0;
	if (strcmp(arg, "emu") && strcmp(arg, "kvm:emu")) {
		log_error("--accel %s takes no options ('%s')", arg, opt);
		return -EINVAL;
	}
	if (!strcmp(opt, "jit=on")) {
		cfg->emu_jit = EMU_JIT_ON;
	} else if (!strcmp(opt, "jit=off")) {
		cfg->emu_jit = EMU_JIT_OFF;
	} else {
		log_error("--accel: unknown option '%s' (emu takes jit=on or jit=off)",
			  opt);
		return -EINVAL;
	}
	return 0;
}

static json_t *dump_accel(const struct vm_config *cfg)
{
	if (cfg->accel && cfg->emu_jit != EMU_JIT_DEFAULT)
		return json_sprintf("%s,jit=%s", cfg->accel,
				    cfg->emu_jit == EMU_JIT_ON ? "on" : "off");
	return dump_str(cfg->accel);
}

/* "backing.key-file", "backing.backing.key-secret", ...: paths and ids */
static void dump_backing_keys(const struct disk_config *d, json_t *obj)
{
	char pre[8 * DISK_MAX_BACKING_KEYS + 1] = "", key[sizeof(pre) + 16];

	for (int i = 0; i < DISK_MAX_BACKING_KEYS; i++) {
		strcat(pre, "backing.");
		snprintf(key, sizeof(key), "%skey-file", pre);
		if (d->backing[i].file)
			json_object_set_new(obj, key,
					    json_string(d->backing[i].file));
		snprintf(key, sizeof(key), "%skey-secret", pre);
		if (d->backing[i].secret)
			json_object_set_new(obj, key,
					    json_string(d->backing[i].secret));
	}
}

static json_t *dump_disk(const struct vm_config *cfg)
{
	json_t *arr;

	if (!cfg->nr_disks)
		return NULL;
	arr = json_array();
	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		json_t *obj = json_object();

		if (d->url)
			json_object_set_new(obj, "url", json_string(d->url));
		else
			json_object_set_new(obj, "path", json_string(d->path));
		if (d->secret_file)
			json_object_set_new(obj, "secret-file",
					    json_string(d->secret_file));
		if (d->readonly)
			json_object_set_new(obj, "readonly", json_true());
		if (d->direct)
			json_object_set_new(obj, "cache", json_string("none"));
		if (d->serial)
			json_object_set_new(obj, "serial", json_string(d->serial));
		if (d->format)
			json_object_set_new(obj, "format", json_string(d->format));
		if (d->key_file)
			json_object_set_new(obj, "key-file",
					    json_string(d->key_file));
		if (d->key_secret)
			json_object_set_new(obj, "key-secret",
					    json_string(d->key_secret));
		dump_backing_keys(d, obj);
		json_array_append_new(arr, obj);
	}
	return arr;
}

static int parse_net(char *arg, struct vm_config *cfg)
{
	return run_parse_net(arg, cfg);
}

static json_t *dump_net(const struct vm_config *cfg)
{
	json_t *arr;

	if (!cfg->nr_nets)
		return NULL;
	arr = json_array();
	for (int i = 0; i < cfg->nr_nets; i++)
		json_array_append_new(arr, json_string(cfg->nets[i].spec));
	return arr;
}

static int parse_virtio_console(char *arg, struct vm_config *cfg)
{
	return run_parse_virtio_console(arg, cfg);
}

static json_t *dump_virtio_console(const struct vm_config *cfg)
{
	return dump_str(cfg->virtio_console_spec);
}

static int parse_vnc(char *arg, struct vm_config *cfg)
{
	return run_parse_vnc(arg, cfg);
}

static json_t *dump_vnc(const struct vm_config *cfg)
{
	return dump_str(cfg->vnc_spec);
}

static int parse_balloon(char *arg, struct vm_config *cfg)
{
	if (arg && strcmp(arg, "free-page-reporting=off") &&
	    strcmp(arg, "free-page-reporting=on")) {
		log_error("--balloon: unknown option '%s'", arg);
		return -EINVAL;
	}
	cfg->balloon = true;
	cfg->balloon_no_reporting = arg && !strcmp(arg, "free-page-reporting=off");
	return 0;
}

static json_t *dump_balloon(const struct vm_config *cfg)
{
	if (!cfg->balloon)
		return NULL;
	if (!cfg->balloon_no_reporting)
		return json_true();
	return json_pack("{s:b}", "free-page-reporting", 0);
}

static int parse_no_reboot(char *arg, struct vm_config *cfg)
{
	(void)arg;
	cfg->no_reboot = true;
	return 0;
}

static json_t *dump_no_reboot(const struct vm_config *cfg)
{
	return dump_flag(cfg->no_reboot);
}

static int parse_no_seccomp(char *arg, struct vm_config *cfg)
{
	(void)arg;
	cfg->no_seccomp = true;
	return 0;
}

static json_t *dump_no_seccomp(const struct vm_config *cfg)
{
	return dump_flag(cfg->no_seccomp);
}

static int parse_debug(char *arg, struct vm_config *cfg)
{
	(void)arg;
	cfg->debug = true;
	log_set_debug(1);
	return 0;
}

static json_t *dump_debug(const struct vm_config *cfg)
{
	return dump_flag(cfg->debug);
}

static int parse_test_exit(char *arg, struct vm_config *cfg)
{
	(void)arg;
	cfg->test_exit = true;
	return 0;
}

static json_t *dump_test_exit(const struct vm_config *cfg)
{
	return dump_flag(cfg->test_exit);
}

/* In the order a definition is written. */
const struct vm_option vm_options[] = {
	{ .name = "name", .has_arg = required_argument,
	  .parse = parse_name, .dump = dump_name },
	{ .name = "kernel", .has_arg = required_argument,
	  .parse = parse_kernel, .dump = dump_kernel },
	{ .name = "initrd", .has_arg = required_argument,
	  .parse = parse_initrd, .dump = dump_initrd },
	{ .name = "cmdline", .has_arg = required_argument,
	  .parse = parse_cmdline, .dump = dump_cmdline },
	{ .name = "memory", .kv = true, .has_arg = required_argument, .lead_key = "size",
	  .parse = run_parse_memory, .dump = dump_memory },
	{ .name = "cpus", .kv = true, .has_arg = required_argument, .lead_key = "count",
	  .parse = run_parse_cpus, .dump = dump_cpus },
	{ .name = "numa", .kv = true, .has_arg = required_argument, .repeat = true,
	  .parse = run_parse_numa, .dump = dump_numa },
	{ .name = "accel", .has_arg = required_argument,
	  .parse = parse_accel, .dump = dump_accel },
	{ .name = "disk", .kv = true, .has_arg = required_argument, .repeat = true,
	  .parse = run_parse_disk, .dump = dump_disk },
	{ .name = "net", .has_arg = required_argument, .repeat = true,
	  .parse = parse_net, .dump = dump_net },
	{ .name = "virtio-console", .has_arg = required_argument,
	  .parse = parse_virtio_console, .dump = dump_virtio_console },
	{ .name = "vnc", .has_arg = required_argument,
	  .parse = parse_vnc, .dump = dump_vnc },
	{ .name = "balloon", .kv = true, .has_arg = optional_argument,
	  .parse = parse_balloon, .dump = dump_balloon },
	{ .name = "no-reboot", .has_arg = no_argument,
	  .parse = parse_no_reboot, .dump = dump_no_reboot },
	{ .name = "no-seccomp", .has_arg = no_argument,
	  .parse = parse_no_seccomp, .dump = dump_no_seccomp },
	{ .name = "debug", .has_arg = no_argument,
	  .parse = parse_debug, .dump = dump_debug },
	{ .name = "test-exit", .has_arg = no_argument,
	  .parse = parse_test_exit, .dump = dump_test_exit },
};

const int vm_nr_options = sizeof(vm_options) / sizeof(vm_options[0]);

const struct vm_option *vm_option_find(const char *name)
{
	for (int i = 0; i < vm_nr_options; i++)
		if (!strcmp(vm_options[i].name, name))
			return &vm_options[i];
	return NULL;
}

void vm_options_getopt(struct option *out, int n, const struct option *extra)
{
	int k = 0;

	for (int i = 0; i < vm_nr_options && k < n - 1; i++)
		out[k++] = (struct option){ vm_options[i].name,
					    vm_options[i].has_arg, NULL,
					    VM_OPT_BASE + i };
	if (k < n - 1)
		out[k++] = (struct option){ "append", required_argument, NULL,
					    VM_OPT_BASE + (int)(vm_option_find("cmdline") -
							      vm_options) };
	for (; extra && extra->name && k < n - 1; extra++)
		out[k++] = *extra;
	out[k] = (struct option){ 0 };
}

int vm_options_parse(int argc, char **argv, struct vm_config *cfg)
{
	struct option opts[64];
	int opt;

	vm_options_getopt(opts, 64, NULL);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt < VM_OPT_BASE || opt >= VM_OPT_BASE + vm_nr_options) {
			log_error(opt == ':' ? "option '%s' needs a value" :
			  "'%s' is not an option of a VM (see 'cvisor run --help')",
				  argv[optind - 1]);
			return -EINVAL;
		}
		if (vm_options[opt - VM_OPT_BASE].parse(optarg, cfg))
			return -EINVAL;
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return run_check_config(cfg);
}
