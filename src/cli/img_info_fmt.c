// SPDX-License-Identifier: MIT
/*
 * "img info" for the format-specific information a driver returns as a
 * JSON object (block_driver.info): printed as qemu-img prints it, both in
 * its human form (keys with spaces, arrays as "[i]:") and as JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/img.h"

static void print_key(const char *key, int indent)
{
	printf("%*s", indent, "");
	for (; *key; key++)
		putchar(*key == '-' ? ' ' : *key);
	putchar(':');
}

static void print_value(json_t *v, int indent);

static void print_object(json_t *obj, int indent)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		print_key(key, indent);
		if (json_is_object(v) || json_is_array(v)) {
			putchar('\n');
			print_value(v, indent + 4);
		} else {
			putchar(' ');
			print_value(v, 0);
		}
	}
}

static void print_value(json_t *v, int indent)
{
	size_t i;
	json_t *e;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		print_object(v, indent);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, e) {
			printf("%*s[%zu]:\n", indent, "", i);
			print_value(e, indent + 4);
		}
		break;
	case JSON_STRING:
		printf("%s\n", json_string_value(v));
		break;
	case JSON_INTEGER:
		printf("%lld\n", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%g\n", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		printf("%s\n", json_is_true(v) ? "true" : "false");
		break;
	case JSON_NULL:
		printf("null\n");
		break;
	}
}

/* The driver's object, NULL if it has none or it failed. */
static json_t *specific(struct block_dev *dev)
{
	json_t *data = NULL;

	if (!dev->drv->info || dev->drv->info(dev, &data) < 0)
		return NULL;
	return data;
}

void img_info_driver_human(struct block_dev *dev)
{
	json_t *data = specific(dev);

	if (dev->drv->cluster_size && dev->drv->cluster_size(dev))
		printf("cluster_size: %llu\n",
		       (unsigned long long)dev->drv->cluster_size(dev));
	if (!data)
		return;
	printf("Format specific information:\n");
	print_object(data, 4);
	json_decref(data);
}

void img_info_driver_json(FILE *f, struct block_dev *dev)
{
	json_t *data = specific(dev);
	char *text, *line, *save = NULL;

	if (!data)
		return;
	text = json_dumps(data, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(data);
	if (!text)
		return;
	fprintf(f, "    \"format-specific\": {\n        \"type\": ");
	img_json_str(f, dev->drv->name);
	fprintf(f, ",\n        \"data\": ");
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(f, "%s%s", line == text ? "" : "\n        ", line);
	fprintf(f, "\n    },\n");
	free(text);
}
