// SPDX-License-Identifier: MIT
/*
 * The one configuration model: every VM flag has a definition key that
 * reads back to the same vm_config, and bad definitions are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/vm_options.h"
#include "test.h"

/* A value for every flag. A flag added without one here fails the test. */
static const struct {
	const char *flag, *arg;
} examples[] = {
	{ "name", "web1" },
	{ "kernel", "/boot/vmlinuz" },
	{ "initrd", "/boot/initrd.img" },
	{ "cmdline", "console=ttyS0 quiet" },
	{ "memory", "256M,merge=on,hugepages=on" },
	{ "cpus", "4,affinity=0:0,1:0,sockets=2,threads=2" },
	{ "numa", "node=0,cpus=0-1,4,mem=512M,host-node=0,policy=preferred" },
	{ "accel", "kvm:emu" },
	{ "disk", "path=/srv/a.qcow2,readonly=on,cache=none,serial=abc,format=qcow2" },
	{ "net", "user,hostfwd=tcp::2222-:22" },
	{ "virtio-console", "file=/tmp/hvc0.log" },
	{ "vnc", "0.0.0.0:1,websocket=5701" },
	{ "balloon", "free-page-reporting=off" },
	{ "no-reboot", NULL },
	{ "no-seccomp", NULL },
	{ "debug", NULL },
	{ "test-exit", NULL },
};

#define NR_EXAMPLES	(int)(sizeof(examples) / sizeof(examples[0]))

static const char *example_of(const char *flag, bool *found)
{
	for (int i = 0; i < NR_EXAMPLES; i++)
		if (!strcmp(examples[i].flag, flag)) {
			*found = true;
			return examples[i].arg;
		}
	*found = false;
	return NULL;
}

/* Apply a definition's text; 0 or -EINVAL. */
static int apply_text(const char *text, struct vm_config *cfg,
		      struct config_args *ca)
{
	json_t *root = config_parse(text, strlen(text), "t.json");
	int ret;

	if (!root)
		return -EINVAL;
	ret = config_apply(root, "t.json", cfg, ca);
	json_decref(root);
	return ret;
}

/* Flag -> vm_config -> JSON -> vm_config -> JSON: one key, same JSON. */
static void test_every_flag_round_trips(void)
{
	for (int i = 0; i < vm_nr_options; i++) {
		const struct vm_option *o = &vm_options[i];
		struct vm_config a, b;
		struct config_args ca = { 0 };
		json_t *ja, *jb;
		char *arg = NULL, *text;
		bool found;
		const char *ex = example_of(o->name, &found);

		if (!found) {
			printf("  no example for --%s\n", o->name);
			CHECK(found);
			continue;
		}
		vm_config_defaults(&a);
		if (ex)
			arg = strdup(ex);
		CHECK_EQ(o->parse(arg, &a), 0);
		ja = config_to_json(&a);
		CHECK(ja && json_object_get(ja, o->name));
		text = json_dumps(ja, 0);
		vm_config_defaults(&b);
		CHECK_EQ(apply_text(text, &b, &ca), 0);
		jb = config_to_json(&b);
		if (!json_equal(ja, jb)) {
			char *t2 = json_dumps(jb, 0);

			printf("  --%s: %s != %s\n", o->name, text, t2);
			free(t2);
			CHECK(0);
		}
		/* What a snapshot records: the flag as it would be given. */
		found = false;
		for (int k = 0; k < ca.argc; k++)
			found |= !strncmp(ca.argv[k], "--", 2) &&
				 !strncmp(ca.argv[k] + 2, o->name,
					  strlen(o->name));
		CHECK(found);
		free(text);
		json_decref(ja);
		json_decref(jb);
		config_args_free(&ca);
		free(arg);
	}
	for (int i = 0; i < NR_EXAMPLES; i++)
		CHECK(vm_option_find(examples[i].flag));
}

/* A definition using every key reads back to the same text. */
static void test_full_definition(void)
{
	static const char text[] =
		"{\n"
		"  \"version\": 1,\n"
		"  \"name\": \"web1\",\n"
		"  \"kernel\": \"/boot/vmlinuz\",\n"
		"  \"initrd\": \"/boot/initrd.img\",\n"
		"  \"cmdline\": \"console=ttyS0\",\n"
		"  \"memory\": {\n"
		"    \"size\": \"1G\",\n"
		"    \"merge\": true\n"
		"  },\n"
		"  \"cpus\": 2,\n"
		"  \"accel\": \"kvm\",\n"
		"  \"disk\": [\n"
		"    {\n"
		"      \"path\": \"/srv/web1.qcow2\"\n"
		"    },\n"
		"    {\n"
		"      \"path\": \"/srv/data.raw\",\n"
		"      \"readonly\": true,\n"
		"      \"cache\": \"none\",\n"
		"      \"serial\": \"data\",\n"
		"      \"format\": \"raw\"\n"
		"    }\n"
		"  ],\n"
		"  \"net\": [\n"
		"    \"user,hostfwd=tcp::2222-:22\",\n"
		"    \"user\"\n"
		"  ],\n"
		"  \"virtio-console\": \"pty\",\n"
		"  \"vnc\": \":3\",\n"
		"  \"balloon\": true,\n"
		"  \"no-reboot\": true,\n"
		"  \"no-seccomp\": true,\n"
		"  \"debug\": true,\n"
		"  \"test-exit\": true\n"
		"}\n";
	struct vm_config cfg;
	struct config_args ca = { 0 };
	char *out;

	vm_config_defaults(&cfg);
	CHECK_EQ(apply_text(text, &cfg, &ca), 0);
	CHECK_EQ(cfg.mem_size, 1ULL << 30);
	CHECK_EQ(cfg.nr_disks, 2);
	CHECK_EQ(cfg.nr_nets, 2);
	CHECK(cfg.disks[1].direct && cfg.disks[1].readonly);
	out = config_to_text(&cfg);
	CHECK(out && !strcmp(out, text));
	if (out && strcmp(out, text))
		printf("%s", out);
	free(out);
	config_args_free(&ca);
}

/* Bad definitions: refused, and the line names file, key and value. */
static void test_bad_definitions(void)
{
	static const char *const bad[] = {
		"",
		"[1]",
		"{\"cpus\": 2,}",
		"{\"cpus\": 2, \"cpus\": 3}",
		"{\"memry\": \"1G\"}",
		"{\"version\": 2}",
		"{\"version\": \"1\"}",
		"{\"kernel\": 3}",
		"{\"kernel\": null}",
		"{\"cpus\": 0}",
		"{\"cpus\": 2.5}",
		"{\"cpus\": [2]}",
		"{\"cpus\": {\"affinity\": \"0\"}}",
		"{\"memory\": \"lots\"}",
		"{\"memory\": {\"size\": \"1G\", \"merge\": [true]}}",
		"{\"disk\": [{\"readonly\": true}]}",
		"{\"disk\": [{\"path\": \"/x\", \"shiny\": true}]}",
		"{\"disk\": [3]}",
		"{\"net\": {\"type\": \"user\"}}",
		"{\"net\": [\"carrier-pigeon\"]}",
		"{\"no-reboot\": \"yes\"}",
		"{\"balloon\": 1}",
		"{\"virtio-console\": \"serial\"}",
		"\"\\u0000\"",
	};
	char deep[40000];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vm_config cfg;
		struct config_args ca = { 0 };

		vm_config_defaults(&cfg);
		if (apply_text(bad[i], &cfg, &ca) != -EINVAL) {
			printf("  accepted: %s\n", bad[i]);
			CHECK(0);
		}
		config_args_free(&ca);
	}
	/* Nesting beyond the library's bound is an error, not a crash. */
	n += snprintf(deep, sizeof(deep), "{\"disk\":");
	while (n < sizeof(deep) - 20000)
		deep[n++] = '[';
	deep[n] = 0;
	CHECK(!config_parse(deep, n, "deep.json"));
}

int main(void)
{
	RUN(test_every_flag_round_trips);
	RUN(test_full_definition);
	RUN(test_bad_definitions);
	return test_summary();
}
