// SPDX-License-Identifier: MIT
#include "cli/run_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "block/block.h"
#include "block/iscsi_url.h"
#include "cli/cli.h"
#include "cli/numa_opts.h"
#include "net/net.h"
#include "ui/vnc.h"
#include "ui/vnc_opts.h"
#include "virtio/console.h"
#include "vmm/affinity.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

/*
 * Split "a,k=v,k2=v2" in place: *first gets "a" (when it has no '='),
 * then next_kv() yields the key/value pairs.
 */
static char *next_kv(char **s, char **val)
{
	char *tok = strsep(s, ",");

	if (!tok)
		return NULL;
	*val = strchr(tok, '=');
	if (*val)
		*(*val)++ = 0;
	return tok;
}

static int parse_bool(const char *opt, const char *key, const char *v,
		      bool *out)
{
	if (v && (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))) {
		*out = true;
		return 0;
	}
	if (v && (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))) {
		*out = false;
		return 0;
	}
	log_error("%s: %s=%s: expected on or off", opt, key, v ? v : "");
	return -EINVAL;
}

static uint64_t host_memory_limit(void)
{
	struct sysinfo si;

	if (sysinfo(&si))
		return UINT64_MAX;
	/* Overcommit is allowed, within twice what the host could back. */
	return 2 * ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
}

static int run_parse_hugetlb(const char *dir, uint64_t size,
			     struct vm_config *cfg)
{
	char err[256];

	if (guest_mem_hugetlb_check(dir, size, err, sizeof(err))) {
		log_error("--memory: %s", err);
		return -EINVAL;
	}
	cfg->mem_opts.hugetlb_path = dir;
	return 0;
}

int run_parse_memory(char *arg, struct vm_config *cfg)
{
	char *s = arg, *key, *val, *size = strsep(&s, ",");
	unsigned long long bytes;

	if (parse_size(size, &bytes) || bytes & 0xfff) {
		log_error("--memory: invalid size '%s' (use e.g. 512M or 2G)",
			  size);
		return -EINVAL;
	}
	if (bytes < RUN_MIN_MEMORY) {
		log_error("--memory: %s is too small; at least %lluM", size,
			  RUN_MIN_MEMORY >> 20);
		return -EINVAL;
	}
	if (bytes > host_memory_limit()) {
		log_error("--memory: %s is more than this host allows (%llu MiB)",
			  size, (unsigned long long)(host_memory_limit() >> 20));
		return -EINVAL;
	}
	cfg->mem_size = bytes;
	while ((key = next_kv(&s, &val))) {
		int ret;

		if (!strcmp(key, "merge"))
			ret = parse_bool("--memory", key, val,
					 &cfg->mem_opts.merge);
		else if (!strcmp(key, "hugepages"))
			ret = parse_bool("--memory", key, val,
					 &cfg->mem_opts.hugepages);
		else if (!strcmp(key, "hugetlb") && val && *val)
			ret = run_parse_hugetlb(val, bytes, cfg);
		else {
			log_error("--memory: unknown option '%s'", key);
			ret = -EINVAL;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* sockets=, cores= or threads= of --cpus: 1..MAX_VCPUS. */
static int parse_topology_count(const char *key, const char *val, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = val ? strtol(val, &end, 10) : 0;
	if (!val || errno || end == val || *end || n < 1 || n > MAX_VCPUS) {
		log_error("--cpus: %s=%s: not a number from 1 to %d", key,
			  val ? val : "", MAX_VCPUS);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

/*
 * affinity= takes the items after it up to the next key (an item that
 * starts with a letter), so it may come anywhere: "4,affinity=0-1,3,
 * sockets=2". Cuts it off at that key; returns the rest or NULL.
 */
static char *cut_affinity(char *val)
{
	for (char *p = strchr(val, ','); p; p = strchr(p + 1, ','))
		if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) {
			*p = 0;
			return p + 1;
		}
	return NULL;
}

int run_parse_cpus(char *arg, struct vm_config *cfg)
{
	char *s = arg, *num = strsep(&s, ","), *end, *key, *val = NULL;
	struct cpu_topology t = { 0 };
	char err[160];
	long n;

	errno = 0;
	n = strtol(num, &end, 10);
	if (errno || end == num || *end || n < 1 || n > MAX_VCPUS) {
		log_error("--cpus: '%s' is not a number from 1 to %d", num,
			  MAX_VCPUS);
		return -EINVAL;
	}
	cfg->nr_cpus = n;
	cfg->affinity = NULL;
	while (s && *s) {
		if (!strncmp(s, "affinity=", 9)) {
			cfg->affinity = s + 9;
			s = cut_affinity(s + 9);
			continue;
		}
		key = next_kv(&s, &val);
		if (!strcmp(key, "sockets") || !strcmp(key, "cores") ||
		    !strcmp(key, "threads")) {
			int *count = key[0] == 's' ? &t.sockets :
				     key[0] == 'c' ? &t.cores : &t.threads;

			if (parse_topology_count(key, val, count))
				return -EINVAL;
		} else {
			log_error("--cpus: unknown option '%s'", key);
			return -EINVAL;
		}
	}
	if (cfg->affinity) {
		cpu_set_t sets[MAX_VCPUS];

		if (affinity_parse(cfg->affinity, n, sets, err, sizeof(err))) {
			log_error("--cpus: %s", err);
			return -EINVAL;
		}
	}
	if ((t.sockets || t.cores || t.threads) &&
	    topology_resolve(&t, n, err, sizeof(err))) {
		log_error("--cpus: %s", err);
		return -EINVAL;
	}
	cfg->topo = t;
	return 0;
}

int run_parse_numa(char *arg, struct vm_config *cfg)
{
	char err[256];

	if (numa_opts_parse(arg, &cfg->numa, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	return 0;
}

int run_check_config(const struct vm_config *cfg)
{
	char err[256];

	if (numa_check(&cfg->numa, cfg->nr_cpus, cfg->mem_size, err,
		       sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	for (int i = 0; cfg->mem_opts.hugetlb_path && i < cfg->numa.nr_nodes;
	     i++)
		if (guest_mem_hugetlb_check(cfg->mem_opts.hugetlb_path,
					    cfg->numa.nodes[i].mem, err,
					    sizeof(err))) {
			log_error("--numa: node %d: %s", i, err);
			return -EINVAL;
		}
	return 0;
}

/* url=: checked now, so a typo is a usage error before anything starts. */
static int run_parse_disk_url(const char *val, struct disk_config *d)
{
	struct iscsi_url_parts u;
	char err[256], shown[ISCSI_URL_MAX + 1];

	block_redact(val, shown, sizeof(shown));
	if (!block_url_driver(val)) {
		log_error("--disk: url=%s: not a URL cvisor knows (iscsi://)",
			  shown);
		return -EINVAL;
	}
	if (iscsi_url_parse(val, &u, err, sizeof(err))) {
		log_error("--disk: url=%s: %s", shown, err);
		return -EINVAL;
	}
	explicit_bzero(&u, sizeof(u));
	d->url = val;
	return 0;
}

/*
 * backing.key-file= / backing.key-secret= name the backing file's
 * passphrase, backing.backing.key-file= its backing's, and so on.
 */
static int parse_backing_key(const char *key, char *val,
			     struct disk_config *d)
{
	const char *k = key;
	struct disk_key *dk;
	int n = 0;

	while (!strncmp(k, "backing.", 8) && n <= DISK_MAX_BACKING_KEYS) {
		k += 8;
		n++;
	}
	if (n > DISK_MAX_BACKING_KEYS) {
		log_error("--disk: '%s': keys for at most %d backing files",
			  key, DISK_MAX_BACKING_KEYS);
		return -EINVAL;
	}
	dk = &d->backing[n - 1];
	if (!strcmp(k, "key-file")) {
		dk->file = val;
	} else if (!strcmp(k, "key-secret")) {
		dk->secret = val;
	} else {
		log_error("--disk: unknown option '%s' (a backing file takes "
			  "%.*skey-file= or %.*skey-secret=)", key,
			  (int)(k - key), key, (int)(k - key), key);
		return -EINVAL;
	}
	if (dk->file && dk->secret) {
		log_error("--disk: give %.*skey-file= or %.*skey-secret=, not "
			  "both", (int)(k - key), key, (int)(k - key), key);
		return -EINVAL;
	}
	return 0;
}

static bool backing_keys(const struct disk_config *d)
{
	for (int i = 0; i < DISK_MAX_BACKING_KEYS; i++)
		if (d->backing[i].file || d->backing[i].secret)
			return true;
	return false;
}

int run_parse_disk(char *arg, struct vm_config *cfg)
{
	struct disk_config *d;
	char *s = arg, *key, *val;

	if (cfg->nr_disks == VM_MAX_DISKS) {
		log_error("--disk: at most %d disks", VM_MAX_DISKS);
		return -EINVAL;
	}
	d = &cfg->disks[cfg->nr_disks];
	memset(d, 0, sizeof(*d));
	while ((key = next_kv(&s, &val))) {
		int ret = 0;

		if (!val) {
			log_error("--disk: '%s' needs a value (key=value)", key);
			return -EINVAL;
		}
		if (!strcmp(key, "path") || !strcmp(key, "file"))
			d->path = val;
		else if (!strcmp(key, "url"))
			ret = run_parse_disk_url(val, d);
		else if (!strcmp(key, "secret-file"))
			d->secret_file = val;
		else if (!strcmp(key, "readonly"))
			ret = parse_bool("--disk", key, val, &d->readonly);
		else if (!strcmp(key, "serial"))
			d->serial = val;
		else if (!strcmp(key, "format"))
			d->format = val;
		else if (!strcmp(key, "key-file"))
			d->key_file = val;
		else if (!strcmp(key, "key-secret"))
			d->key_secret = val;
		else if (!strncmp(key, "backing.", 8))
			ret = parse_backing_key(key, val, d);
		else if (!strcmp(key, "cache")) {
			if (!strcmp(val, "none"))
				d->direct = true;
			else if (strcmp(val, "writeback")) {
				log_error("--disk: cache=%s: expected none or writeback",
					  val);
				return -EINVAL;
			}
		} else {
			log_error("--disk: unknown option '%s'", key);
			return -EINVAL;
		}
		if (ret)
			return ret;
	}
	if (!d->path == !d->url) {
		log_error("--disk: path=FILE or url=iscsi://... is required "
			  "(one of them)");
		return -EINVAL;
	}
	if (d->secret_file && !d->url) {
		log_error("--disk: secret-file= is for a url= disk");
		return -EINVAL;
	}
	if ((d->key_file || d->key_secret || backing_keys(d)) && d->url) {
		log_error("--disk: key-file= and key-secret= are for an "
			  "encrypted qcow2 path= disk");
		return -EINVAL;
	}
	if (d->key_file && d->key_secret) {
		log_error("--disk: give key-file= or key-secret=, not both");
		return -EINVAL;
	}
	cfg->nr_disks++;
	return 0;
}

int run_parse_virtio_console(const char *arg, struct vm_config *cfg)
{
	if (cfg->virtio_console_spec) {
		log_error("--virtio-console: at most one");
		return -EINVAL;
	}
	if (strcmp(arg, "pty") && (strncmp(arg, "file=", 5) || !arg[5])) {
		log_error("--virtio-console: '%s': expected pty or file=PATH", arg);
		return -EINVAL;
	}
	cfg->virtio_console_spec = arg;
	return 0;
}

/* The backend is opened once, after parsing: the VM is built anew on every reboot. */
int run_open_virtio_console(struct vm_config *cfg)
{
	static struct vcon_backend be;

	if (!cfg->virtio_console_spec)
		return 0;
	if (vcon_backend_open(cfg->virtio_console_spec, &be))
		return -EINVAL;
	cfg->virtio_console = &be;
	return 0;
}

/*
 * --net SPEC: the syntax is checked now, so a typo is a usage error before
 * anything starts; the backend (tap, bridge, slirp) opens with the device.
 */
int run_parse_net(const char *arg, struct vm_config *cfg)
{
	struct net_opts o;
	char err[256];

	if (cfg->nr_nets == VM_MAX_NETS) {
		log_error("at most %d --net options", VM_MAX_NETS);
		return -EINVAL;
	}
	if (net_parse(arg, &o, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	cfg->nets[cfg->nr_nets++].spec = arg;
	return 0;
}

/*
 * --vnc: the syntax is checked now, so a typo is a usage error. A later
 * one replaces an earlier one, so a restore or an incoming migration on
 * the same host can show the VM on another port than the saved one.
 */
int run_parse_vnc(const char *arg, struct vm_config *cfg)
{
	struct vnc_opts o;
	char err[512];

	if (vnc_opts_parse(arg, &o, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	cfg->vnc_spec = arg;
	return 0;
}

/*
 * The server listens from here on, once per run: a port in use is a usage
 * error before anything starts, and clients stay across guest reboots.
 */
int run_open_vnc(struct vm_config *cfg)
{
	char err[512];

	if (!cfg->vnc_spec)
		return 0;
	if (vnc_server_create(cfg->vnc_spec, &cfg->vnc, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	return 0;
}
