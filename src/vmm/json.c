// SPDX-License-Identifier: MIT
#include "vmm/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct json_cur {
	const char *s;
	size_t pos, len;
};

static void skip_ws(struct json_cur *c)
{
	while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
				   c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
		c->pos++;
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

static int scan_string(struct json_cur *c)
{
	if (c->pos >= c->len || c->s[c->pos] != '"')
		return -EINVAL;
	c->pos++;
	while (c->pos < c->len) {
		unsigned char ch = c->s[c->pos++];

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -EINVAL;
		if (ch != '\\')
			continue;
		if (c->pos >= c->len)
			return -EINVAL;
		ch = c->s[c->pos++];
		if (ch == 'u') {
			if (c->len - c->pos < 4)
				return -EINVAL;
			for (int i = 0; i < 4; i++)
				if (!is_hex(c->s[c->pos + i]))
					return -EINVAL;
			c->pos += 4;
		} else if (!strchr("\"\\/bfnrt", ch) || !ch) {
			return -EINVAL;
		}
	}
	return -EINVAL;
}

static bool at_digit(const struct json_cur *c)
{
	return c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9';
}

static int scan_number(struct json_cur *c)
{
	if (c->pos < c->len && c->s[c->pos] == '-')
		c->pos++;
	if (!at_digit(c))
		return -EINVAL;
	if (c->s[c->pos] == '0')
		c->pos++;
	else
		while (at_digit(c))
			c->pos++;
	if (c->pos < c->len && c->s[c->pos] == '.') {
		c->pos++;
		if (!at_digit(c))
			return -EINVAL;
		while (at_digit(c))
			c->pos++;
	}
	if (c->pos < c->len && (c->s[c->pos] == 'e' || c->s[c->pos] == 'E')) {
		c->pos++;
		if (c->pos < c->len && (c->s[c->pos] == '+' || c->s[c->pos] == '-'))
			c->pos++;
		if (!at_digit(c))
			return -EINVAL;
		while (at_digit(c))
			c->pos++;
	}
	return 0;
}

static int scan_word(struct json_cur *c, const char *w)
{
	size_t n = strlen(w);

	if (c->len - c->pos < n || memcmp(c->s + c->pos, w, n))
		return -EINVAL;
	c->pos += n;
	return 0;
}

/* Scan one value at c->pos (no leading whitespace); fill v if non-NULL. */
static int scan_value(struct json_cur *c, int depth, struct json_val *v)
{
	size_t start = c->pos;
	enum json_type type;
	int ret;

	if (c->pos >= c->len)
		return -EINVAL;
	switch (c->s[c->pos]) {
	case '{':
	case '[': {
		char close = c->s[c->pos] == '{' ? '}' : ']';
		bool first = true;

		type = close == '}' ? JSON_OBJECT : JSON_ARRAY;
		if (depth >= JSON_MAX_DEPTH)
			return -EINVAL;
		c->pos++;
		for (;;) {
			skip_ws(c);
			if (c->pos >= c->len)
				return -EINVAL;
			if (c->s[c->pos] == close && first) {
				c->pos++;
				break;
			}
			if (type == JSON_OBJECT) {
				ret = scan_string(c);
				if (ret)
					return ret;
				skip_ws(c);
				if (c->pos >= c->len || c->s[c->pos] != ':')
					return -EINVAL;
				c->pos++;
				skip_ws(c);
			}
			ret = scan_value(c, depth + 1, NULL);
			if (ret)
				return ret;
			skip_ws(c);
			if (c->pos >= c->len)
				return -EINVAL;
			if (c->s[c->pos] == close) {
				c->pos++;
				break;
			}
			if (c->s[c->pos] != ',')
				return -EINVAL;
			c->pos++;
			first = false;
		}
		break;
	}
	case '"':
		type = JSON_STRING;
		ret = scan_string(c);
		if (ret)
			return ret;
		break;
	case 't':
		type = JSON_BOOL;
		if (scan_word(c, "true"))
			return -EINVAL;
		break;
	case 'f':
		type = JSON_BOOL;
		if (scan_word(c, "false"))
			return -EINVAL;
		break;
	case 'n':
		type = JSON_NULL;
		if (scan_word(c, "null"))
			return -EINVAL;
		break;
	default:
		type = JSON_NUMBER;
		if (scan_number(c))
			return -EINVAL;
		break;
	}
	if (v)
		*v = (struct json_val){ type, c->s + start, c->pos - start };
	return 0;
}

int json_parse(const char *s, size_t len, struct json_val *out)
{
	struct json_cur c = { s, 0, len };
	struct json_val v;

	skip_ws(&c);
	if (scan_value(&c, 0, &v))
		return -EINVAL;
	skip_ws(&c);
	if (c.pos != len)
		return -EINVAL;
	if (out)
		*out = v;
	return 0;
}

int json_validate(const char *s, size_t len)
{
	return json_parse(s, len, NULL);
}

/* Walk a validated container; cb gets each member (key NULL in arrays). */
static int json_walk(const struct json_val *con, enum json_type type,
		     bool (*cb)(void *arg, const struct json_val *key,
				const struct json_val *val),
		     void *arg)
{
	struct json_cur c = { con->p, 1, con->len };
	struct json_val key = { 0 }, val;

	if (con->type != type)
		return -EINVAL;
	for (;;) {
		skip_ws(&c);
		if (c.pos >= c.len || c.s[c.pos] == '}' || c.s[c.pos] == ']')
			return -ENOENT;
		if (type == JSON_OBJECT) {
			if (scan_value(&c, JSON_MAX_DEPTH - 1, &key))
				return -EINVAL;
			skip_ws(&c);
			c.pos++;	/* ':' */
			skip_ws(&c);
		}
		if (scan_value(&c, 0, &val))
			return -EINVAL;
		if (cb(arg, type == JSON_OBJECT ? &key : NULL, &val))
			return 0;
		skip_ws(&c);
		c.pos++;		/* ',' or the closing bracket */
	}
}

struct json_find {
	const char *key;
	unsigned index;
	struct json_val *out;
};

static bool match_key(void *arg, const struct json_val *key,
		      const struct json_val *val)
{
	struct json_find *f = arg;
	char buf[128];

	if (json_unescape(key, buf, sizeof(buf)) || strcmp(buf, f->key))
		return false;
	*f->out = *val;
	return true;
}

static bool match_index(void *arg, const struct json_val *key,
			const struct json_val *val)
{
	struct json_find *f = arg;

	if (f->index--)
		return false;
	*f->out = *val;
	return true;
}

int json_get(const struct json_val *obj, const char *key,
	     struct json_val *out)
{
	struct json_find f = { .key = key, .out = out };

	return json_walk(obj, JSON_OBJECT, match_key, &f);
}

int json_index(const struct json_val *arr, unsigned i, struct json_val *out)
{
	struct json_find f = { .index = i, .out = out };

	return json_walk(arr, JSON_ARRAY, match_index, &f);
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char ch = p[i];

		v = v * 16 + (ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
	}
	return v;
}

static int put_utf8(char *buf, size_t size, size_t *n, unsigned cp)
{
	char tmp[4];
	size_t k;

	if (cp < 0x80) {
		tmp[0] = cp;
		k = 1;
	} else if (cp < 0x800) {
		tmp[0] = 0xc0 | cp >> 6;
		tmp[1] = 0x80 | (cp & 0x3f);
		k = 2;
	} else if (cp < 0x10000) {
		tmp[0] = 0xe0 | cp >> 12;
		tmp[1] = 0x80 | ((cp >> 6) & 0x3f);
		tmp[2] = 0x80 | (cp & 0x3f);
		k = 3;
	} else {
		tmp[0] = 0xf0 | cp >> 18;
		tmp[1] = 0x80 | ((cp >> 12) & 0x3f);
		tmp[2] = 0x80 | ((cp >> 6) & 0x3f);
		tmp[3] = 0x80 | (cp & 0x3f);
		k = 4;
	}
	if (size - *n <= k)
		return -ENOSPC;
	memcpy(buf + *n, tmp, k);
	*n += k;
	return 0;
}

int json_unescape(const struct json_val *v, char *buf, size_t size)
{
	const char *p, *end;
	size_t n = 0;

	if (v->type != JSON_STRING || size == 0)
		return -EINVAL;
	p = v->p + 1;
	end = v->p + v->len - 1;
	while (p < end) {
		unsigned cp;

		if (*p != '\\') {
			if (size - n <= 1)
				return -ENOSPC;
			buf[n++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = hex4(p + 1);
			p += 4;
			/* A surrogate pair, or U+FFFD for a lone half. */
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 7 &&
			    p[1] == '\\' && p[2] == 'u') {
				unsigned lo = hex4(p + 3);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			/* NUL would truncate names silently: refuse it. */
			if (cp == 0)
				return -EINVAL;
			break;
		default: cp = (unsigned char)*p; break;
		}
		p++;
		if (put_utf8(buf, size, &n, cp))
			return -ENOSPC;
	}
	buf[n] = 0;
	return 0;
}

int json_int(const struct json_val *v, int64_t *out)
{
	bool neg = false;
	uint64_t x = 0;
	size_t i = 0;

	if (v->type != JSON_NUMBER)
		return -EINVAL;
	if (v->p[0] == '-') {
		neg = true;
		i++;
	}
	for (; i < v->len; i++) {
		unsigned d = v->p[i] - '0';

		if (d > 9)
			return -EINVAL;	/* fractions and exponents */
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (x > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return 0;
}

int json_bool(const struct json_val *v, bool *out)
{
	if (v->type != JSON_BOOL)
		return -EINVAL;
	*out = v->p[0] == 't';
	return 0;
}

int json_get_string(const struct json_val *obj, const char *key, char *buf,
		    size_t size)
{
	struct json_val v;
	int ret = json_get(obj, key, &v);

	return ret ? ret : json_unescape(&v, buf, size);
}

int json_get_int(const struct json_val *obj, const char *key, int64_t *out)
{
	struct json_val v;
	int ret = json_get(obj, key, &v);

	return ret ? ret : json_int(&v, out);
}

void json_out_init(struct json_out *o, char *buf, size_t size)
{
	*o = (struct json_out){ .buf = buf, .size = size };
	if (size)
		buf[0] = 0;
}

static void json_out_putc(struct json_out *o, char ch)
{
	if (o->len + 1 >= o->size) {
		o->overflow = true;
		return;
	}
	o->buf[o->len++] = ch;
	o->buf[o->len] = 0;
}

void json_out_raw(struct json_out *o, const char *s)
{
	while (*s)
		json_out_putc(o, *s++);
}

void json_out_fmt(struct json_out *o, const char *fmt, ...)
{
	size_t room = o->size > o->len ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		o->overflow = true;
		if (room)
			o->buf[o->len] = 0;
		return;
	}
	o->len += n;
}

void json_out_str(struct json_out *o, const char *s)
{
	json_out_putc(o, '"');
	for (; *s; s++) {
		unsigned char ch = *s;
		char esc[8];

		if (ch == '"' || ch == '\\') {
			json_out_putc(o, '\\');
			json_out_putc(o, ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			json_out_raw(o, esc);
		} else {
			json_out_putc(o, ch);
		}
	}
	json_out_putc(o, '"');
}
