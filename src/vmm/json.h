/* SPDX-License-Identifier: MIT */
/*
 * JSON for the control protocol (docs/api.md) and snapshot configs:
 * documents are read by jansson, within this protocol's bounds (nesting
 * at most JSON_MAX_DEPTH, no NUL, integers within int64, no duplicate
 * keys), and looked up through small accessors; replies are written
 * into fixed buffers by json_out, which never overflows.
 */
#ifndef CVISOR_VMM_JSON_H
#define CVISOR_VMM_JSON_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH	16

/*
 * A value: the root of a document json_parse read (owned: json_release
 * frees the document), or a value inside one (valid while it lives).
 */
struct json_val {
	json_t *v;
};

/*
 * Read s[0..len) as exactly one JSON value (whitespace around) into
 * *out (NULL: only check it). 0, or -EINVAL if it is not one within the
 * bounds above.
 */
int json_parse(const char *s, size_t len, struct json_val *out);
int json_validate(const char *s, size_t len);
void json_release(struct json_val *root);

/* Member key of object obj; -ENOENT if absent, -EINVAL if not an object. */
int json_get(const struct json_val *obj, const char *key,
	     struct json_val *out);
/* Element i of array arr; -ENOENT past the end. */
int json_index(const struct json_val *arr, unsigned i, struct json_val *out);
/* A string value into buf (NUL-terminated); -ENOSPC if too long. */
int json_copy_string(const struct json_val *v, char *buf, size_t size);
/* An integer value; -EINVAL for anything else. */
int json_int(const struct json_val *v, int64_t *out);
int json_bool(const struct json_val *v, bool *out);

/* Shortcuts on an object: -ENOENT if the key is missing. */
int json_get_string(const struct json_val *obj, const char *key, char *buf,
		    size_t size);
int json_get_int(const struct json_val *obj, const char *key, int64_t *out);

/* An output buffer that truncates safely; json_out_ok says if it fit. */
struct json_out {
	char *buf;
	size_t size, len;
	bool overflow;
};

void json_out_init(struct json_out *o, char *buf, size_t size);
void json_out_raw(struct json_out *o, const char *s);
void json_out_fmt(struct json_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* s as a quoted JSON string, escaping quotes, backslashes and controls. */
void json_out_str(struct json_out *o, const char *s);
/* A value as compact JSON text. */
void json_out_val(struct json_out *o, const struct json_val *v);
static inline bool json_out_ok(const struct json_out *o)
{
	return !o->overflow;
}

#endif
