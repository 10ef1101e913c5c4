// SPDX-License-Identifier: MIT
/* cvisor pause|resume|stop|info|balloon|console NAME */
#include "cli/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "vmm/control.h"
#include "vmm/json.h"

#define CTL_TIMEOUT_MS	10000
#define CTRL_RBRACKET	0x1d

int ctl_check_answer(const char *name, const char *resp, int len,
		     struct json_val *result)
{
	struct json_val obj = { NULL }, v;
	char err[512];
	bool ok = false;

	if (len < 0) {
		fprintf(stderr, "cvisor: %s: no answer: %s\n", name,
			strerror(-len));
		return 1;
	}
	if (result)
		result->v = NULL;
	if (json_parse(resp, len, &obj) || json_get(&obj, "ok", &v) ||
	    json_bool(&v, &ok)) {
		fprintf(stderr, "cvisor: %s: malformed answer\n", name);
		json_release(&obj);
		return 1;
	}
	if (!ok) {
		if (json_get_string(&obj, "error", err, sizeof(err)))
			snprintf(err, sizeof(err), "failed");
		fprintf(stderr, "cvisor: %s: %s\n", name, err);
		json_release(&obj);
		return 1;
	}
	if (result && !json_get(&obj, "result", result))
		json_incref(result->v);
	json_release(&obj);
	return 0;
}

static int ctl_call_fd(int fd, const char *name, const char *req, char *resp,
		       size_t size, struct json_val *result)
{
	int len = control_call(fd, req, resp, size, CTL_TIMEOUT_MS);

	return ctl_check_answer(name, resp, len, result);
}

int ctl_request(const char *name, const char *req, char *resp, size_t size,
		struct json_val *result)
{
	char err[256];
	int fd = control_connect(name, err, sizeof(err)), ret;

	if (fd < 0) {
		fprintf(stderr, "cvisor: %s\n", err);
		return 1;
	}
	ret = ctl_call_fd(fd, name, req, resp, size, result);
	close(fd);
	return ret;
}

static int ctl_usage(const char *usage, int argc, char **argv, int nargs)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: cvisor %s\n", usage);
		return 0;
	}
	if (argc != nargs + 1) {
		fprintf(stderr, "usage: cvisor %s\n", usage);
		return 2;
	}
	return -1;
}

static int ctl_simple(int argc, char **argv, const char *cmd)
{
	char usage[64], req[64], resp[1024];
	int ret;

	snprintf(usage, sizeof(usage), "%s NAME", cmd);
	ret = ctl_usage(usage, argc, argv, 1);
	if (ret >= 0)
		return ret;
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"%s\"}", cmd);
	return ctl_request(argv[1], req, resp, sizeof(resp), NULL);
}

int cmd_pause(int argc, char **argv)
{
	return ctl_simple(argc, argv, "pause");
}

int cmd_resume(int argc, char **argv)
{
	return ctl_simple(argc, argv, "resume");
}

/* Wait for the VM process to close the connection as it exits. */
static int ctl_wait_gone(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[512];

	for (;;) {
		int n = poll(&p, 1, timeout_ms);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return 0;
	}
}

static int stop_one(const char *name, bool force, long timeout)
{
	char req[128], resp[1024], err[256];
	int fd, ret;

	fd = control_connect(name, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "cvisor: %s\n", err);
		return 1;
	}
	if (force)
		snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"quit\"}");
	else
		snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"stop\",\"timeout\":%ld}",
			 timeout);
	ret = ctl_call_fd(fd, name, req, resp, sizeof(resp), NULL);
	if (!ret && ctl_wait_gone(fd, (timeout + 10) * 1000)) {
		fprintf(stderr, "cvisor: %s: still running\n", name);
		ret = 1;
	}
	close(fd);
	return ret;
}

/* Every running VM at once (as the autostart unit does at shutdown). */
static int stop_all(bool force, long timeout)
{
	char dir[108];
	struct dirent *de;
	int ret = 0, status;
	DIR *d;

	if (control_runtime_dir(dir, sizeof(dir), false))
		return 1;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[CONTROL_NAME_MAX + 1];

		if (n < 6 || n - 5 > CONTROL_NAME_MAX ||
		    strcmp(de->d_name + n - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		if (!control_name_valid(name))
			continue;
		fflush(NULL);
		switch (fork()) {
		case -1:
			ret = 1;
			break;
		case 0:
			_exit(stop_one(name, force, timeout));
		}
	}
	if (d)
		closedir(d);
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ret = 1;
	return ret;
}

int cmd_stop(int argc, char **argv)
{
	static const char usage[] =
		"usage: cvisor stop NAME|--all [--force] [--timeout SECONDS]\n";
	const char *name = NULL;
	bool force = false, all = false;
	long timeout = 10;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force")) {
			force = true;
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			char *end;

			timeout = strtol(argv[++i], &end, 10);
			if (*end || timeout < 0 || timeout > 3600) {
				fprintf(stderr, "cvisor stop: --timeout: '%s' is not 0-3600 seconds\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--help")) {
			printf("%s"
			       "Presses the ACPI power button; forces the VM off if the\n"
			       "guest has not powered off after the timeout (default 10).\n"
			       "--all stops every running VM at once.\n", usage);
			return 0;
		} else if (!name && argv[i][0] != '-') {
			name = argv[i];
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (all == !!name) {
		fputs(usage, stderr);
		return 2;
	}
	return all ? stop_all(force, timeout) : stop_one(name, force, timeout);
}

int cmd_balloon(int argc, char **argv)
{
	unsigned long long bytes;
	char req[128], resp[1024];
	int ret = ctl_usage("balloon NAME SIZE", argc, argv, 2);

	if (ret >= 0)
		return ret;
	if (parse_size(argv[2], &bytes)) {
		fprintf(stderr, "cvisor balloon: invalid size '%s' (use e.g. 256M)\n",
			argv[2]);
		return 2;
	}
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"balloon\",\"bytes\":%llu}",
		 bytes);
	return ctl_request(argv[1], req, resp, sizeof(resp), NULL);
}

static uint64_t jint(const struct json_val *obj, const char *key)
{
	int64_t v = 0;

	json_get_int(obj, key, &v);
	return v;
}

static const char *jstr(const struct json_val *obj, const char *key,
			char *buf, size_t size)
{
	if (json_get_string(obj, key, buf, size))
		snprintf(buf, size, "?");
	return buf;
}

/* Topology, then per guest node: vCPUs, size, binding, where pages are. */
static void info_print_numa(const struct json_val *r)
{
	struct json_val t, arr, el, res;
	char s[128], s2[128];

	if (!json_get(r, "topology", &t))
		printf("topology:    %" PRIu64 " sockets x %" PRIu64 " cores x %"
		       PRIu64 " threads\n", jint(&t, "sockets"),
		       jint(&t, "cores"), jint(&t, "threads"));
	if (json_get(r, "numa", &arr))
		return;
	for (unsigned i = 0; !json_index(&arr, i, &el); i++) {
		const char *k;
		json_t *v;

		printf("  node %" PRIu64 ":  vcpus %s, %" PRIu64 " MiB, ",
		       jint(&el, "node"), jstr(&el, "cpus", s, sizeof(s)),
		       jint(&el, "size") >> 20);
		jstr(&el, "host_nodes", s2, sizeof(s2));
		if (s2[0])
			printf("%s host node %s", jstr(&el, "policy", s,
							sizeof(s)), s2);
		else
			printf("not bound");
		printf("; resident:");
		if (json_get(&el, "resident", &res) || !json_is_object(res.v) ||
		    !json_object_size(res.v))
			printf(" none");
		else
			json_object_foreach(res.v, k, v)
				printf(" host node %s %" PRIu64 " KiB", k,
				       (uint64_t)json_integer_value(v) >> 10);
		printf("\n");
	}
}

static void info_print(const struct json_val *r)
{
	struct json_val mem, bal, stats, arr, el;
	char s[128], s2[128];

	printf("name:        %s\n", jstr(r, "name", s, sizeof(s)));
	printf("pid:         %" PRIu64 "\n", jint(r, "pid"));
	printf("state:       %s\n", jstr(r, "state", s, sizeof(s)));
	printf("accel:       %s\n", jstr(r, "accel", s, sizeof(s)));
	printf("uptime:      %.1f s\n", jint(r, "uptime_ms") / 1000.0);
	printf("vcpus:       %" PRIu64 "\n", jint(r, "vcpus"));
	if (!json_get(r, "memory_info", &mem)) {
		printf("memory:      %" PRIu64 " MiB\n", jint(&mem, "size") >> 20);
		printf("  guest RAM resident:  %" PRIu64 " KiB\n",
		       jint(&mem, "guest_ram_rss") >> 10);
		if (!json_get(&mem, "hugetlb", &el) && json_is_string(el.v))
			printf("  hugetlbfs mount:     %s\n",
			       jstr(&mem, "hugetlb", s, sizeof(s)));
		printf("  huge-page backed:    %" PRIu64 " KiB\n",
		       jint(&mem, "huge_page_bytes") >> 10);
		printf("  process RSS:         %" PRIu64 " KiB\n",
		       jint(&mem, "process_rss") >> 10);
	}
	info_print_numa(r);
	if (!json_get(r, "balloon", &bal) && json_is_object(bal.v)) {
		printf("balloon:     target %" PRIu64 " MiB, actual %" PRIu64
		       " MiB\n", jint(&bal, "target") >> 20,
		       jint(&bal, "actual") >> 20);
		printf("  released to the host: %" PRIu64 " MiB inflated, %" PRIu64
		       " MiB free-page reports\n", jint(&bal, "inflated") >> 20,
		       jint(&bal, "reported") >> 20);
		if (!json_get(&bal, "stats", &stats)) {
			static const char *const keys[] = {
				"free-memory", "total-memory", "available-memory",
				"disk-caches", "major-faults", "minor-faults",
				"swap-in", "swap-out",
			};

			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				if (!json_get(&stats, keys[i], &el))
					printf("  guest %-17s %" PRIu64 "\n", keys[i],
					       jint(&stats, keys[i]));
		}
	}
	if (!json_get(r, "devices", &arr)) {
		printf("devices:\n");
		for (unsigned i = 0; !json_index(&arr, i, &el); i++)
			printf("  %02" PRIx64 ".0  %s\n", jint(&el, "slot"),
			       jstr(&el, "name", s, sizeof(s)));
	}
	if (!json_get(r, "vcpu_threads", &arr)) {
		printf("vcpu threads:\n");
		for (unsigned i = 0; !json_index(&arr, i, &el); i++)
			printf("  vcpu%" PRIu64 "  tid %" PRIu64 "  cpus %s\n",
			       jint(&el, "id"), jint(&el, "tid"),
			       jstr(&el, "cpus", s2, sizeof(s2)));
	}
	if (!json_get(r, "vnc", &el) && json_is_object(el.v)) {
		struct json_val cl, c;
		bool pw = false;

		printf("vnc:         %s port %" PRIu64, jstr(&el, "address", s,
							      sizeof(s)),
		       jint(&el, "port"));
		if (!json_get(&el, "websocket", &c) && json_is_integer(c.v))
			printf(", websocket %" PRIu64, jint(&el, "websocket"));
		if (!json_get(&el, "password", &c) && !json_bool(&c, &pw) && pw)
			printf(", password");
		printf("\n");
		if (!json_get(&el, "clients", &cl))
			for (unsigned i = 0; !json_index(&cl, i, &c); i++)
				printf("  client %s\n",
				       json_copy_string(&c, s2, sizeof(s2)) ? "?" : s2);
	}
	if (!json_get(r, "unhandled_io", &el))
		printf("unhandled:   %" PRIu64 " port, %" PRIu64
		       " MMIO accesses (ignored)\n", jint(&el, "pio"),
		       jint(&el, "mmio"));
}

int cmd_info(int argc, char **argv)
{
	static char resp[CONTROL_LINE_MAX * 4];
	struct json_val result;
	const char *name = NULL;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--output=json"))
			json = true;
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else {
			fprintf(stderr, "usage: cvisor info NAME [--output=json]\n");
			return 2;
		}
	}
	if (!name) {
		fprintf(stderr, "usage: cvisor info NAME [--output=json]\n");
		return 2;
	}
	if (ctl_request(name, "{\"id\":1,\"cmd\":\"info\"}", resp, sizeof(resp),
			&result))
		return 1;
	if (json) {
		char *s = json_dumps(result.v, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		info_print(&result);
	}
	json_release(&result);
	return 0;
}

/* Copy between the terminal and the console stream until Ctrl-] or EOF. */
int cmd_console(int argc, char **argv)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true;
	char err[256], resp[512];
	int fd, ret = ctl_usage("console NAME", argc, argv, 1);

	if (ret >= 0)
		return ret;
	fd = control_connect(argv[1], err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "cvisor: %s\n", err);
		return 1;
	}
	if (ctl_call_fd(fd, argv[1], "{\"id\":1,\"cmd\":\"console\"}", resp,
			sizeof(resp), NULL)) {
		close(fd);
		return 1;
	}
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		fprintf(stderr, "[attached to %s; Ctrl-] detaches]\r\n", argv[1]);
		raw = saved;
		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = false;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		char buf[1024];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 || write(STDOUT_FILENO, buf, n) != n)
				break;
		}
		if (p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				continue;
			}
			if (tty && memchr(buf, CTRL_RBRACKET, n))
				break;
			if (write(fd, buf, n) != n)
				break;
		}
	}
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	close(fd);
	return 0;
}
