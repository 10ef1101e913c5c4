// SPDX-License-Identifier: MIT
/* The reader of src/vmm/json.h: jansson, within the protocol's bounds. */
#include "vmm/json.h"

#include <errno.h>
#include <string.h>

/* Deeper than max? Recursion is bounded by the parser's own limit. */
static bool too_deep(json_t *v, int max)
{
	const char *key;
	json_t *e;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return false;
	if (max == 0)
		return true;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (too_deep(e, max - 1))
				return true;
	} else {
		json_object_foreach(v, key, e)
			if (too_deep(e, max - 1))
				return true;
	}
	return false;
}

int json_parse(const char *s, size_t len, struct json_val *out)
{
	json_error_t err;
	json_t *root;

	root = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			  &err);
	if (!root)
		return -EINVAL;
	if (too_deep(root, JSON_MAX_DEPTH)) {
		json_decref(root);
		return -EINVAL;
	}
	if (out)
		out->v = root;
	else
		json_decref(root);
	return 0;
}

int json_validate(const char *s, size_t len)
{
	return json_parse(s, len, NULL);
}

void json_release(struct json_val *root)
{
	json_decref(root->v);
	root->v = NULL;
}

int json_get(const struct json_val *obj, const char *key,
	     struct json_val *out)
{
	if (!json_is_object(obj->v))
		return -EINVAL;
	out->v = json_object_get(obj->v, key);
	return out->v ? 0 : -ENOENT;
}

int json_index(const struct json_val *arr, unsigned i, struct json_val *out)
{
	if (!json_is_array(arr->v))
		return -EINVAL;
	out->v = json_array_get(arr->v, i);
	return out->v ? 0 : -ENOENT;
}

int json_copy_string(const struct json_val *v, char *buf, size_t size)
{
	size_t len;

	if (!json_is_string(v->v))
		return -EINVAL;
	len = json_string_length(v->v);
	if (len >= size)
		return -ENOSPC;
	memcpy(buf, json_string_value(v->v), len + 1);
	return 0;
}

int json_int(const struct json_val *v, int64_t *out)
{
	if (!json_is_integer(v->v))
		return -EINVAL;
	*out = json_integer_value(v->v);
	return 0;
}

int json_bool(const struct json_val *v, bool *out)
{
	if (!json_is_boolean(v->v))
		return -EINVAL;
	*out = json_is_true(v->v);
	return 0;
}

int json_get_string(const struct json_val *obj, const char *key, char *buf,
		    size_t size)
{
	struct json_val v;
	int ret = json_get(obj, key, &v);

	return ret ? ret : json_copy_string(&v, buf, size);
}

int json_get_int(const struct json_val *obj, const char *key, int64_t *out)
{
	struct json_val v;
	int ret = json_get(obj, key, &v);

	return ret ? ret : json_int(&v, out);
}
