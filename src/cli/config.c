// SPDX-License-Identifier: MIT
/* Definitions: JSON to the flags' parsers, vm_config back to JSON. */
#include "cli/config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/run_opts.h"
#include "cli/vm_options.h"
#include "vmm/log.h"

void config_args_free(struct config_args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	for (int i = 0; i < a->nr_keep; i++)
		free(a->keep[i]);
	free(a->argv);
	free(a->keep);
	*a = (struct config_args){ 0 };
}

static int push(char ***v, int *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* A value as it is quoted in a message: compact, at most ~60 bytes. */
static void value_text(json_t *v, char *buf, size_t size)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!s) {
		snprintf(buf, size, "?");
		return;
	}
	if (strlen(s) > 60)
		snprintf(buf, size, "%.57s...", s);
	else
		snprintf(buf, size, "%s", s);
	free(s);
}

static const char *type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

static void bad_value(const char *file, const char *key, json_t *v,
		      const char *want)
{
	char text[64];

	value_text(v, text, sizeof(text));
	log_error("%s: %s: %s: expected %s, not %s", file, key, text, want,
		  type_name(v));
}

/* A scalar inside a KEY=VALUE object, as the flag would spell it. */
static int kv_text(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, size, "%s", json_is_true(v) ? "on" : "off");
	else
		return -EINVAL;
	return 0;
}

/*
 * {"size": "1G", "merge": true} as "1G,merge=on": the lead key first,
 * then the others in the file's order. NULL after a message.
 */
static char *kv_join(const struct vm_option *o, json_t *obj, const char *file,
		     const char *key)
{
	char *out = NULL, val[4096];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *k, *which = o->lead_key;
	json_t *v;
	bool first = true;

	if (!f)
		return NULL;
	if (o->lead_key) {
		v = json_object_get(obj, o->lead_key);
		if (!v) {
			fclose(f);
			free(out);
			log_error("%s: %s: needs \"%s\"", file, key, o->lead_key);
			return NULL;
		}
		if (kv_text(v, val, sizeof(val)))
			goto bad;
		fputs(val, f);
		first = false;
	}
	json_object_foreach(obj, k, v) {
		if (o->lead_key && !strcmp(k, o->lead_key))
			continue;
		which = k;
		if (kv_text(v, val, sizeof(val)))
			goto bad;
		fprintf(f, "%s%s=%s", first ? "" : ",", k, val);
		first = false;
	}
	fclose(f);
	return out;
bad:
	fclose(f);
	free(out);
	{
		char where[160];

		snprintf(where, sizeof(where), "%s.%s", key, which);
		bad_value(file, where, v, "a string, a number or a boolean");
	}
	return NULL;
}

/*
 * One value of option o: *arg gets the flag's argument (NULL for none,
 * malloc'd otherwise). Returns 1 if the option is given, 0 if not (false),
 * -EINVAL after a message.
 */
static int value_arg(const struct vm_option *o, json_t *v, const char *file,
		     const char *key, char **arg)
{
	char buf[32];

	*arg = NULL;
	if (json_is_boolean(v) && o->has_arg != required_argument)
		return json_is_true(v);
	if (json_is_string(v) && o->has_arg != no_argument) {
		*arg = strdup(json_string_value(v));
		return *arg ? 1 : -ENOMEM;
	}
	if (json_is_integer(v) && o->has_arg == required_argument &&
	    o->lead_key) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		*arg = strdup(buf);
		return *arg ? 1 : -ENOMEM;
	}
	if (json_is_object(v) && o->kv) {
		*arg = kv_join(o, v, file, key);
		return *arg ? 1 : -EINVAL;
	}
	if (o->has_arg == no_argument)
		bad_value(file, key, v, "true or false");
	else if (o->kv)
		bad_value(file, key, v, o->has_arg == optional_argument ?
			  "true, false, a string or an object" :
			  o->lead_key ? "a string, a number or an object" :
					"a string or an object");
	else
		bad_value(file, key, v, "a string");
	return -EINVAL;
}

/* Record the flag in args and hand a copy of its argument to the parser. */
static int apply_one(const struct vm_option *o, char *arg, const char *file,
		     const char *key, struct vm_config *cfg,
		     struct config_args *args)
{
	char ctx[256], *copy = NULL, *flag;
	int ret;

	if (arg) {
		copy = strdup(arg);
		if (!copy || push(&args->keep, &args->nr_keep, copy)) {
			free(arg);
			return -ENOMEM;
		}
	}
	if (!arg)
		ret = asprintf(&flag, "--%s", o->name);
	else if (o->has_arg == optional_argument)
		ret = asprintf(&flag, "--%s=%s", o->name, arg);
	else
		ret = asprintf(&flag, "--%s", o->name);
	if (ret < 0 || push(&args->argv, &args->argc, flag)) {
		free(arg);
		return -ENOMEM;
	}
	if (arg && o->has_arg == required_argument) {
		if (push(&args->argv, &args->argc, arg))
			return -ENOMEM;
	} else {
		free(arg);
	}
	snprintf(ctx, sizeof(ctx), "%s: %s: ", file, key);
	log_set_context(ctx);
	ret = o->parse(copy, cfg);
	log_set_context(NULL);
	return ret;
}

static int apply_option(const struct vm_option *o, json_t *v,
			const char *file, struct vm_config *cfg,
			struct config_args *args)
{
	char key[64], *arg;
	size_t i;
	json_t *e;
	int ret;

	if (!o->repeat || !json_is_array(v)) {
		ret = value_arg(o, v, file, o->name, &arg);
		if (ret <= 0)
			return ret;
		return apply_one(o, arg, file, o->name, cfg, args);
	}
	json_array_foreach(v, i, e) {
		snprintf(key, sizeof(key), "%s[%zu]", o->name, i);
		ret = value_arg(o, e, file, key, &arg);
		if (ret < 0)
			return ret;
		if (ret && (ret = apply_one(o, arg, file, key, cfg, args)))
			return ret;
	}
	return 0;
}

int config_apply(json_t *root, const char *file, struct vm_config *cfg,
		 struct config_args *args)
{
	const char *key;
	json_t *v;
	int ret = 0;

	if (!json_is_object(root)) {
		bad_value(file, "(top level)", root, "an object");
		return -EINVAL;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "version") && !vm_option_find(key)) {
			log_error("%s: unknown key '%s' (see docs/config.md)", file,
				  key);
			return -EINVAL;
		}
	}
	v = json_object_get(root, "version");
	if (v && !json_is_integer(v)) {
		bad_value(file, "version", v, "an integer");
		return -EINVAL;
	}
	if (v && (json_integer_value(v) < 1 ||
		  json_integer_value(v) > CONFIG_VERSION)) {
		log_error("%s: version: %lld: this cvisor reads version %d", file,
			  (long long)json_integer_value(v), CONFIG_VERSION);
		return -EINVAL;
	}
	for (int i = 0; i < vm_nr_options && !ret; i++) {
		v = json_object_get(root, vm_options[i].name);
		if (v)
			ret = apply_option(&vm_options[i], v, file, cfg, args);
	}
	if (ret == -ENOMEM)
		log_error("%s: out of memory", file);
	return ret ? -EINVAL : 0;
}

json_t *config_parse(const char *text, size_t len, const char *file)
{
	json_error_t err;
	json_t *root;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		log_error("%s: not a JSON definition: line %d, column %d: %s", file,
			  err.line, err.column, err.text);
		return NULL;
	}
	return root;
}

int config_load(const char *path, struct vm_config *cfg,
		struct config_args *args)
{
	char *text = NULL;
	struct stat st;
	ssize_t n = 0;
	json_t *root;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		log_error("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		log_error("%s: not a definition (a regular file of at most %d bytes)",
			  path, CONFIG_MAX_BYTES);
		goto fail;
	}
	text = malloc(st.st_size + 1);
	if (!text)
		goto fail;
	while (n < st.st_size) {
		ssize_t r = read(fd, text + n, st.st_size - n);

		if (r <= 0) {
			log_error("%s: %s", path, r ? strerror(errno) : "short read");
			goto fail;
		}
		n += r;
	}
	close(fd);
	root = config_parse(text, n, path);
	free(text);
	if (!root)
		return -EINVAL;
	ret = config_apply(root, path, cfg, args);
	json_decref(root);
	return ret;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return -EINVAL;
}

static int absolute_path(const char **path, const char *src, const char *key,
			 struct config_args *args)
{
	char *real = realpath(*path, NULL);

	if (!real) {
		log_error("%s: %s: '%s': %s", src, key, *path, strerror(errno));
		return -EINVAL;
	}
	if (push(&args->keep, &args->nr_keep, real))
		return -ENOMEM;
	*path = real;
	return 0;
}

int config_check_files(struct vm_config *cfg, const char *src,
		       struct config_args *args)
{
	char key[48];

	if (!cfg->name) {
		log_error("%s: name: required", src);
		return -EINVAL;
	}
	if (!cfg->kernel) {
		log_error("%s: kernel: required", src);
		return -EINVAL;
	}
	if (absolute_path(&cfg->kernel, src, "kernel", args) ||
	    (cfg->initrd && absolute_path(&cfg->initrd, src, "initrd", args)))
		return -EINVAL;
	for (int i = 0; i < cfg->nr_disks; i++) {
		snprintf(key, sizeof(key), "disk[%d].path", i);
		if (cfg->disks[i].path &&
		    absolute_path(&cfg->disks[i].path, src, key, args))
			return -EINVAL;
		snprintf(key, sizeof(key), "disk[%d].secret-file", i);
		if (cfg->disks[i].secret_file &&
		    absolute_path(&cfg->disks[i].secret_file, src, key, args))
			return -EINVAL;
		snprintf(key, sizeof(key), "disk[%d].key-file", i);
		if (cfg->disks[i].key_file &&
		    absolute_path(&cfg->disks[i].key_file, src, key, args))
			return -EINVAL;
		for (int l = 0; l < DISK_MAX_BACKING_KEYS; l++) {
			snprintf(key, sizeof(key), "disk[%d].backing[%d].key-file",
				 i, l);
			if (cfg->disks[i].backing[l].file &&
			    absolute_path(&cfg->disks[i].backing[l].file, src,
					  key, args))
				return -EINVAL;
		}
	}
	return run_check_config(cfg);
}

json_t *config_to_json(const struct vm_config *cfg)
{
	json_t *root = json_object();

	if (!root || json_object_set_new(root, "version",
					 json_integer(CONFIG_VERSION)))
		goto fail;
	for (int i = 0; i < vm_nr_options; i++) {
		json_t *v = vm_options[i].dump(cfg);

		if (v && json_object_set_new(root, vm_options[i].name, v))
			goto fail;
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

char *config_to_text(const struct vm_config *cfg)
{
	json_t *root = config_to_json(cfg);
	char *s, *out = NULL;

	if (!root)
		return NULL;
	s = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	if (s && asprintf(&out, "%s\n", s) < 0)
		out = NULL;
	free(s);
	return out;
}
