// SPDX-License-Identifier: MIT
/*
 * cvisor migrate NAME tcp:HOST:PORT [--downtime-ms N] [--bandwidth SIZE]
 *                [--timeout S] [--compress]
 * cvisor migrate --cancel NAME
 * Starts a live migration through the VM's control socket and follows its
 * "migration" events until it ends: 0 once the destination runs the
 * guest, 1 with the reason if the guest stayed here.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ctl.h"
#include "vmm/control.h"
#include "vmm/json.h"

static const char migrate_usage[] =
	"usage: cvisor migrate NAME tcp:HOST:PORT [--downtime-ms N] "
	"[--bandwidth SIZE] [--timeout SECONDS] [--compress]\n"
	"       cvisor migrate --cancel NAME\n"
	"Move running VM NAME to 'cvisor run --incoming tcp:ADDR:PORT' on\n"
	"another host while it runs (pre-copy). --downtime-ms is the pause the\n"
	"guest may see (default 300), --bandwidth caps the rate (e.g. 1G: bytes\n"
	"per second), --timeout gives up (the guest stays here), --compress\n"
	"sends pages zstd-compressed.\n";

/* Read event lines until the migration ends; 0 when it completed. */
static int follow(int fd, const char *name, int timeout_s)
{
	char line[1024], status[32], err[512];
	size_t have = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int wait_ms = timeout_s ? (timeout_s + 120) * 1000 : -1;

	for (;;) {
		struct json_val obj = { NULL };
		bool done, active;
		ssize_t n;
		char c;

		if (poll(&pfd, 1, wait_ms) <= 0) {
			fprintf(stderr, "cvisor: %s: no word from the migration\n",
				name);
			return 1;
		}
		n = read(fd, &c, 1);
		if (n <= 0) {
			fprintf(stderr, "cvisor: %s: the VM went away during "
				"the migration\n", name);
			return 1;
		}
		if (c != '\n') {
			if (have < sizeof(line) - 1)
				line[have++] = c;
			continue;
		}
		line[have] = 0;
		have = 0;
		if (json_parse(line, strlen(line), &obj) ||
		    json_get_string(&obj, "event", status, sizeof(status)) ||
		    strcmp(status, "migration") ||
		    json_get_string(&obj, "status", status, sizeof(status))) {
			json_release(&obj);
			continue;
		}
		done = !strcmp(status, "completed");
		active = !strcmp(status, "active");
		if (!done && !active &&
		    json_get_string(&obj, "error", err, sizeof(err)))
			snprintf(err, sizeof(err), "%s", status);
		json_release(&obj);
		if (done)
			return 0;
		if (active)
			continue;
		fprintf(stderr, "cvisor: %s: migration %s: %s; the guest goes "
			"on here\n", name, status, err);
		return 1;
	}
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "downtime-ms", required_argument, NULL, 'd' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "compress", no_argument, NULL, 'c' },
		{ "cancel", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long long bw = 0;
	long downtime = 300, timeout = 0;
	bool compress = false, cancel = false;
	char req[600], resp[2048], err[256], *end;
	struct json_out o;
	int opt, fd, len, ret;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			downtime = strtol(optarg, &end, 10);
			if (*end || downtime < 1 || downtime > 600000) {
				fprintf(stderr, "cvisor migrate: --downtime-ms "
					"'%s': expected 1-600000\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_size(optarg, &bw)) {
				fprintf(stderr, "cvisor migrate: --bandwidth "
					"'%s': expected a size such as 1G\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 0 || timeout > 86400) {
				fprintf(stderr, "cvisor migrate: --timeout "
					"'%s': expected 0-86400 seconds\n",
					optarg);
				return 2;
			}
			break;
		case 'c':
			compress = true;
			break;
		case 'x':
			cancel = true;
			break;
		case 'h':
			fputs(migrate_usage, stdout);
			return 0;
		default:
			fputs(migrate_usage, stderr);
			return 2;
		}
	}
	if (cancel && optind == argc - 1)
		return ctl_request(argv[optind],
				   "{\"id\":1,\"cmd\":\"migrate-cancel\"}",
				   resp, sizeof(resp), NULL);
	if (cancel || optind != argc - 2) {
		fputs(migrate_usage, stderr);
		return 2;
	}
	json_out_init(&o, req, sizeof(req));
	json_out_raw(&o, "{\"id\":1,\"cmd\":\"migrate\",\"uri\":");
	json_out_str(&o, argv[optind + 1]);
	json_out_fmt(&o, ",\"downtime_ms\":%ld,\"bandwidth\":%llu,"
		     "\"timeout\":%ld,\"compress\":%s}", downtime, bw, timeout,
		     compress ? "true" : "false");
	if (!json_out_ok(&o)) {
		fprintf(stderr, "cvisor migrate: destination too long\n");
		return 2;
	}
	fd = control_connect(argv[optind], err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "cvisor: %s\n", err);
		return 1;
	}
	len = control_call(fd, req, resp, sizeof(resp), 10000);
	ret = ctl_check_answer(argv[optind], resp, len, NULL);
	if (!ret)
		ret = follow(fd, argv[optind], (int)timeout);
	close(fd);
	return ret;
}
