// SPDX-License-Identifier: MIT
/* cvisor define, undefine, autostart, dumpconfig. */
#include "cli/define.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/vm_options.h"
#include "cli/vmdef.h"
#include "vmm/log.h"

static const char define_usage[] =
"usage: cvisor define FILE.json\n"
"       cvisor define NAME -- [cvisor run flags]\n"
"Stores a VM definition (docs/config.md); 'cvisor start NAME' boots it.\n";

int define_load(const char *name, struct vm_config *cfg,
		struct config_args *args)
{
	char path[PATH_MAX];

	if (vmdef_path(name, path, sizeof(path)))
		return 2;
	if (access(path, F_OK)) {
		log_error("%s: no such VM defined (cvisor list --all)", name);
		return 1;
	}
	vm_config_defaults(cfg);
	return config_load(path, cfg, args) ? 2 : 0;
}

/* Store cfg, read from src, as a new definition; an exit status. */
static int define_store(struct vm_config *cfg, const char *src,
			struct config_args *args)
{
	char *text;
	int lock, ret = 2;

	if (config_check_files(cfg, src, args))
		return 2;
	lock = vmdef_lock(cfg->name);
	if (lock < 0)
		return 1;
	if (vmdef_exists(cfg->name)) {
		log_error("%s: name: '%s' is already defined (cvisor edit %s, or undefine it first)",
			  src, cfg->name, cfg->name);
		goto out;
	}
	text = config_to_text(cfg);
	ret = !text || vmdef_write(cfg->name, text) ? 1 : 0;
	free(text);
	if (!ret)
		printf("defined %s\n", cfg->name);
out:
	close(lock);
	return ret;
}

int cmd_define(int argc, char **argv)
{
	struct config_args args = { 0 };
	struct vm_config cfg;
	char src[128];
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(define_usage, stdout);
		return 0;
	}
	vm_config_defaults(&cfg);
	if (argc == 2) {
		ret = config_load(argv[1], &cfg, &args) ? 2 :
		      define_store(&cfg, argv[1], &args);
	} else if (argc >= 3 && !strcmp(argv[2], "--")) {
		snprintf(src, sizeof(src), "%s", argv[1]);
		ret = 2;
		if (!vm_options_parse(argc - 2, argv + 2, &cfg)) {
			if (cfg.name && strcmp(cfg.name, argv[1]))
				log_error("--name %s: the VM is called %s", cfg.name,
					  argv[1]);
			else if (vmdef_name_ok(argv[1])) {
				cfg.name = argv[1];
				ret = define_store(&cfg, src, &args);
			}
		}
	} else {
		fputs(define_usage, stderr);
		ret = 2;
	}
	config_args_free(&args);
	return ret;
}

int cmd_undefine(int argc, char **argv)
{
	bool remove_storage = false, force = false;
	struct config_args args = { 0 };
	struct vm_config cfg;
	const char *name = NULL;
	int lock, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--remove-storage"))
			remove_storage = true;
		else if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else
			name = NULL, argc = 0;
	}
	if (!name) {
		fprintf(stderr, "usage: cvisor undefine NAME [--remove-storage] [--force]\n");
		return 2;
	}
	if (!vmdef_name_ok(name))
		return 2;
	lock = vmdef_lock(name);
	if (lock < 0)
		return 1;
	ret = define_load(name, &cfg, &args);
	if (ret == 1 || (ret && remove_storage))
		goto out;
	if (vm_running(name) && !force) {
		log_error("%s is running: stop it first, or --force removes its definition and leaves it running",
			  name);
		ret = 1;
		goto out;
	}
	for (int i = 0; remove_storage && i < cfg.nr_disks; i++) {
		if (!cfg.disks[i].path)
			continue; /* a network disk is the target's */
		if (unlink(cfg.disks[i].path) && errno != ENOENT) {
			log_error("%s: %s", cfg.disks[i].path, strerror(errno));
			ret = 1;
			goto out;
		}
		printf("removed %s\n", cfg.disks[i].path);
	}
	ret = vmdef_remove(name) ? 1 : 0;
	if (!ret)
		printf("undefined %s\n", name);
out:
	close(lock);
	config_args_free(&args);
	return ret;
}

int cmd_autostart(int argc, char **argv)
{
	bool disable = argc == 3 && !strcmp(argv[2], "--disable");

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("usage: cvisor autostart NAME [--disable]\n");
		return 0;
	}
	if ((argc != 2 && !disable) || argv[1][0] == '-') {
		fprintf(stderr, "usage: cvisor autostart NAME [--disable]\n");
		return 2;
	}
	if (!vmdef_name_ok(argv[1]))
		return 2;
	if (!vmdef_exists(argv[1])) {
		log_error("%s: no such VM defined (cvisor list --all)", argv[1]);
		return 1;
	}
	return vmdef_set_autostart(argv[1], !disable) ? 1 : 0;
}

int cmd_dumpconfig(int argc, char **argv)
{
	struct config_args args = { 0 };
	struct vm_config cfg;
	char *text = NULL;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("usage: cvisor dumpconfig NAME\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: cvisor dumpconfig NAME\n");
		return 2;
	}
	if (!vmdef_name_ok(argv[1]))
		return 2;
	ret = define_load(argv[1], &cfg, &args);
	if (!ret) {
		text = config_to_text(&cfg);
		ret = text ? 0 : 1;
		if (text)
			fputs(text, stdout);
	}
	free(text);
	config_args_free(&args);
	return ret;
}
