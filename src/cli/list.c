// SPDX-License-Identifier: MIT
/*
 * cvisor list: every VM with a control socket, asked for its status;
 * with --all, the defined VMs that are not running too ("shut off").
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "cli/vmdef.h"
#include "vmm/control.h"
#include "vmm/json.h"

#define LIST_TIMEOUT_MS	3000

/*
 * Status of one VM into *result, which the caller json_release()s; 0, or
 * -errno (stale sockets are removed).
 */
static int list_one(const char *name, char *resp, size_t size,
		    struct json_val *result)
{
	struct json_val obj = { NULL }, ok;
	char err[256];
	bool is_ok = false;
	int fd, len;

	fd = control_connect(name, err, sizeof(err));
	/* Its VM died without cleaning up, or is just starting (rechecked). */
	if (fd == -ECONNREFUSED)
		control_remove_stale(name);
	if (fd < 0)
		return fd;
	len = control_call(fd, "{\"id\":1,\"cmd\":\"status\"}", resp, size,
			   LIST_TIMEOUT_MS);
	close(fd);
	if (len < 0)
		return len;
	if (json_parse(resp, len, &obj) || json_get(&obj, "ok", &ok) ||
	    json_bool(&ok, &is_ok) || !is_ok ||
	    json_get(&obj, "result", result) || !json_is_object(result->v)) {
		json_release(&obj);
		return -EPROTO;
	}
	json_incref(result->v);
	json_release(&obj);
	return 0;
}

static void fmt_uptime(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = ms / 1000;

	if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s / 60 % 60);
}

static bool list_has(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* The defined VMs not in running[]: shut off. */
static void list_shut_off(char **running, int nr_running, bool json,
			  bool first)
{
	int n;
	char **names = vmdef_names(&n);

	for (int i = 0; i < n; i++) {
		bool autostart = vmdef_autostart(names[i]);

		if (list_has(running, nr_running, names[i]))
			continue;
		if (json)
			printf("%s{\"name\":\"%s\",\"state\":\"shut off\",\"autostart\":%s}",
			       first ? "" : ",", names[i],
			       autostart ? "true" : "false");
		else
			printf("%-20s %8s %-8s %5s %10s %9s %s\n", names[i], "-",
			       "shut off", "-", "-", "-", autostart ? "yes" : "no");
		first = false;
	}
	vmdef_names_free(names, n);
}

int cmd_list(int argc, char **argv)
{
	static const char usage[] = "usage: cvisor list [--all] [--output=json]\n";
	char dir[108], resp[2048], state[32], up[32];
	char **running = NULL;
	int nr_running = 0;
	struct json_val r;
	bool json = false, all = false, first = true;
	struct dirent *de;
	DIR *d;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--output=json")) {
			json = true;
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (control_runtime_dir(dir, sizeof(dir), false))
		return 1;
	d = opendir(dir);
	if (json)
		printf("[");
	else
		printf("%-20s %8s %-8s %5s %10s %9s%s\n", "NAME", "PID", "STATE",
		       "VCPUS", "MEMORY", "UPTIME", all ? " AUTOSTART" : "");
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[CONTROL_NAME_MAX + 1];
		int64_t pid = 0, vcpus = 0, mem = 0, uptime = 0;

		if (n < 6 || n - 5 > CONTROL_NAME_MAX ||
		    strcmp(de->d_name + n - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		if (!control_name_valid(name) ||
		    list_one(name, resp, sizeof(resp), &r))
			continue;
		if (all) {
			char **nr = realloc(running, (nr_running + 1) * sizeof(char *));

			if (nr) {
				running = nr;
				running[nr_running] = strdup(name);
				if (running[nr_running])
					nr_running++;
			}
		}
		if (json) {
			char *s;

			if (all)
				json_object_set_new(r.v, "autostart",
						    json_boolean(vmdef_autostart(name)));
			s = json_dumps(r.v, JSON_COMPACT);
			printf("%s%s", first ? "" : ",", s ? s : "{}");
			free(s);
			json_release(&r);
			first = false;
			continue;
		}
		json_get_int(&r, "pid", &pid);
		json_get_int(&r, "vcpus", &vcpus);
		json_get_int(&r, "memory", &mem);
		json_get_int(&r, "uptime_ms", &uptime);
		if (json_get_string(&r, "state", state, sizeof(state)))
			snprintf(state, sizeof(state), "?");
		json_release(&r);
		fmt_uptime(uptime, up, sizeof(up));
		printf("%-20s %8" PRId64 " %-8s %5" PRId64 " %9" PRId64 "M %9s%s\n",
		       name, pid, state, vcpus, mem >> 20, up,
		       !all ? "" : vmdef_autostart(name) ? " yes" : " no");
	}
	if (all)
		list_shut_off(running, nr_running, json, first);
	for (int i = 0; i < nr_running; i++)
		free(running[i]);
	free(running);
	if (json)
		printf("]\n");
	if (d)
		closedir(d);
	return 0;
}
