// SPDX-License-Identifier: MIT
/* The writer of src/vmm/json.h: replies into fixed buffers. */
#include "vmm/json.h"

#include <stdio.h>
#include <stdlib.h>

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

void json_out_val(struct json_out *o, const struct json_val *v)
{
	char *s = v->v ? json_dumps(v->v, JSON_COMPACT | JSON_ENCODE_ANY) :
			 NULL;

	if (!s) {
		o->overflow = true;
		return;
	}
	json_out_raw(o, s);
	free(s);
}
