/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader and writer for the control protocol (docs/api.md).
 *
 * The reader validates a whole document (RFC 8259 grammar, nesting at most
 * JSON_MAX_DEPTH) before anything is looked up, and never allocates: values
 * are spans of the input. Input comes from any local client, so every
 * length and depth is bounded.
 */
#ifndef CVISOR_VMM_JSON_H
#define CVISOR_VMM_JSON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH	16

enum json_type {
	JSON_NONE, JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT,
};

struct json_val {
	enum json_type type;
	const char *p;		/* the value's text, quotes included */
	size_t len;
};

/* 0 if s[0..len) is exactly one valid JSON value (whitespace around). */
int json_validate(const char *s, size_t len);
/* Parse a validated document into its top-level value. */
int json_parse(const char *s, size_t len, struct json_val *out);
/* Member key of object obj; -ENOENT if absent, -EINVAL if not an object. */
int json_get(const struct json_val *obj, const char *key,
	     struct json_val *out);
/* Element i of array arr; -ENOENT past the end. */
int json_index(const struct json_val *arr, unsigned i, struct json_val *out);
/* Unescape a string value into buf (NUL-terminated); -ENOSPC if too long. */
int json_unescape(const struct json_val *v, char *buf, size_t size);
/* An integer value in [INT64_MIN, INT64_MAX]; -ERANGE, -EINVAL. */
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
static inline bool json_out_ok(const struct json_out *o)
{
	return !o->overflow;
}

#endif
