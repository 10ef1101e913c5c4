// SPDX-License-Identifier: MIT
/*
 * AML encoding follows ACPI 6.x section 20.2 (grammar) and section 6.4
 * (resource descriptors). Opcode values are named below as the spec names
 * them.
 */
#include "arch/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	AML_ZERO_OP = 0x00,
	AML_ONE_OP = 0x01,
	AML_NAME_OP = 0x08,
	AML_BYTE_PREFIX = 0x0a,
	AML_WORD_PREFIX = 0x0b,
	AML_DWORD_PREFIX = 0x0c,
	AML_STRING_PREFIX = 0x0d,
	AML_QWORD_PREFIX = 0x0e,
	AML_SCOPE_OP = 0x10,
	AML_BUFFER_OP = 0x11,
	AML_PACKAGE_OP = 0x12,
	AML_METHOD_OP = 0x14,
	AML_DUAL_NAME_PREFIX = 0x2e,
	AML_MULTI_NAME_PREFIX = 0x2f,
	AML_EXT_OP_PREFIX = 0x5b,
	AML_EXT_DEVICE_OP = 0x82,
	AML_ROOT_CHAR = 0x5c,
	AML_PARENT_PREFIX_CHAR = 0x5e,
	AML_ARG0_OP = 0x68,
	AML_NOTIFY_OP = 0x86,
	AML_LEQUAL_OP = 0x93,
	AML_IF_OP = 0xa0,
	AML_RETURN_OP = 0xa4,
	AML_ONES_OP = 0xff,
};

/* Resource descriptor tags (section 6.4.2 small, 6.4.3 large) */
enum {
	RT_IRQ_NOFLAGS = 0x22,		/* type 4, length 2 */
	RT_IO = 0x47,			/* type 8, length 7 */
	RT_END_TAG = 0x79,		/* type 0xF, length 1 */
	RT_MEM32_FIXED = 0x86,
	RT_DWORD_ADDR = 0x87,
	RT_WORD_ADDR = 0x88,
	RT_EXT_IRQ = 0x89,
};

enum { RT_SPACE_MEM = 0, RT_SPACE_IO = 1, RT_SPACE_BUS = 2 };

/* Address space general flags: producer, positive decode, min/max fixed */
#define RT_ADDR_PRODUCER_FIXED	0x0c

enum { BLOCK_PLAIN, BLOCK_BUFFER };

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int aml_error(const struct aml *a)
{
	if (a->err)
		return a->err;
	return a->depth || a->in_rt ? -EINVAL : 0;
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static bool aml_reserve(struct aml *a, size_t n)
{
	if (a->err)
		return false;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		uint8_t *p;

		while (cap < a->len + n)
			cap *= 2;
		p = realloc(a->buf, cap);
		if (!p) {
			aml_fail(a, -ENOMEM);
			return false;
		}
		a->buf = p;
		a->cap = cap;
	}
	return true;
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		aml_byte(a, v >> (8 * i));
}

/* Insert n bytes at pos, shifting what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (!aml_reserve(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

size_t aml_pkglen_encode(uint8_t out[4], uint32_t len)
{
	size_t n;

	/* One byte holds 6 bits; each further byte adds 8 to a 4-bit lead. */
	if (len <= 0x3f) {
		out[0] = len;
		return 1;
	}
	if (len <= 0xfff)
		n = 2;
	else if (len <= 0xfffff)
		n = 3;
	else if (len <= 0xfffffff)
		n = 4;
	else
		return 0;
	out[0] = ((n - 1) << 6) | (len & 0xf);
	for (size_t i = 1; i < n; i++)
		out[i] = len >> (4 + 8 * (i - 1));
	return n;
}

/* PkgLength for a body of body_len bytes: the value counts itself. */
static size_t aml_pkglen_for_body(uint8_t out[4], size_t body_len)
{
	for (size_t n = 1; n <= 4; n++) {
		if (body_len + n > 0xfffffff)
			return 0;
		if (aml_pkglen_encode(out, body_len + n) == n)
			return n;
	}
	return 0;
}

static void aml_open(struct aml *a, int kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		aml_fail(a, -E2BIG);
		return;
	}
	a->open[a->depth].pos = a->len;
	a->open[a->depth].kind = kind;
	a->depth++;
}

/* Encoding of an integer constant, as aml_integer() emits it. */
static size_t aml_integer_encode(uint8_t out[9], uint64_t v)
{
	size_t n;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v == UINT64_MAX) {
		out[0] = AML_ONES_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		out[1 + i] = v >> (8 * i);
	return n + 1;
}

void aml_end(struct aml *a)
{
	uint8_t hdr[4 + 9];
	size_t pos, body, n = 0, m;

	if (a->err)
		return;
	if (a->depth == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	a->depth--;
	pos = a->open[a->depth].pos;
	body = a->len - pos;
	/* A Buffer's BufferSize sits between its PkgLength and its bytes. */
	if (a->open[a->depth].kind == BLOCK_BUFFER)
		n = aml_integer_encode(hdr + 4, body);
	m = aml_pkglen_for_body(hdr, body + n);
	if (!m) {
		aml_fail(a, -E2BIG);
		return;
	}
	memmove(hdr + m, hdr + 4, n);
	aml_insert(a, pos, hdr, m + n);
}

static bool aml_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_name_char(char c)
{
	return aml_lead_char(c) || (c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *p = path;
	uint8_t segs[255][4];
	int nr = 0;

	while (*p == '\\' || *p == '^') {
		aml_byte(a, *p == '\\' ? AML_ROOT_CHAR : AML_PARENT_PREFIX_CHAR);
		if (*p++ == '\\')
			break;
	}
	while (*p) {
		int i = 0;

		if (nr == 255 || !aml_lead_char(*p)) {
			aml_fail(a, -EINVAL);
			return;
		}
		/* Short segments are padded with '_' to four characters. */
		for (; i < 4 && aml_name_char(*p); i++)
			segs[nr][i] = *p++;
		for (; i < 4; i++)
			segs[nr][i] = '_';
		nr++;
		if (*p == '.' && p[1])
			p++;
		else if (*p) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	if (nr == 0)
		aml_byte(a, AML_ZERO_OP);	/* NullName */
	else if (nr == 2)
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	else if (nr > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, nr);
	}
	aml_bytes(a, segs, 4 * nr);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t enc[9];

	aml_bytes(a, enc, aml_integer_encode(enc, v));
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int aml_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t aml_eisaid_value(const char *id)
{
	uint32_t vendor = 0, product = 0;

	if (strlen(id) != 7)
		return 0;
	/* Three letters of five bits each, then four hex digits. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
		vendor = (vendor << 5) | (id[i] - '@');
	}
	for (int i = 3; i < 7; i++) {
		int h = aml_hex(id[i]);

		if (h < 0)
			return 0;
		product = (product << 4) | h;
	}
	/* Stored big-endian: vendor high byte first. */
	return (vendor >> 8) | (vendor & 0xff) << 8 | (product >> 8) << 16 |
	       (product & 0xff) << 24;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = aml_eisaid_value(id);

	if (!v) {
		aml_fail(a, -EINVAL);
		return;
	}
	/* Always a DWord, as compilers emit it, whatever the value. */
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void aml_arg(struct aml *a, int n)
{
	if (n < 0 || n > 6) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_ARG0_OP + n);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_str(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a, BLOCK_PLAIN);
	aml_name_string(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_EXT_DEVICE_OP);
	aml_open(a, BLOCK_PLAIN);
	aml_name_string(a, name);
}

void aml_method_begin(struct aml *a, const char *name, int nargs,
		      bool serialized)
{
	if (nargs < 0 || nargs > 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_METHOD_OP);
	aml_open(a, BLOCK_PLAIN);
	aml_name_string(a, name);
	/* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag */
	aml_byte(a, nargs | (serialized ? 0x08 : 0));
}

void aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a, BLOCK_PLAIN);
	aml_byte(a, nr_elements);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a, BLOCK_BUFFER);
}

void aml_if_arg_equal_begin(struct aml *a, int arg, uint64_t value)
{
	aml_byte(a, AML_IF_OP);
	aml_open(a, BLOCK_PLAIN);
	aml_byte(a, AML_LEQUAL_OP);
	aml_arg(a, arg);
	aml_integer(a, value);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_notify(struct aml *a, const char *path, uint64_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_name_string(a, path);
	aml_integer(a, value);
}

void aml_rt_begin(struct aml *a)
{
	if (a->in_rt) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_buffer_begin(a);
	a->rt_start = a->len;
	a->in_rt = true;
}

void aml_rt_end(struct aml *a)
{
	uint8_t sum = RT_END_TAG;

	if (!a->in_rt) {
		aml_fail(a, -EINVAL);
		return;
	}
	a->in_rt = false;
	if (a->err)
		return;
	for (size_t i = a->rt_start; i < a->len; i++)
		sum += a->buf[i];
	aml_byte(a, RT_END_TAG);
	aml_byte(a, -sum);
	aml_end(a);
}

/* Descriptors are only valid inside aml_rt_begin/aml_rt_end. */
static bool aml_rt_check(struct aml *a)
{
	if (!a->in_rt)
		aml_fail(a, -EINVAL);
	return !a->err;
}

void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len)
{
	if (!aml_rt_check(a))
		return;
	aml_byte(a, RT_IO);
	aml_byte(a, 0x01);		/* decodes 16 address bits */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_rt_irq_noflags(struct aml *a, unsigned irq)
{
	if (!aml_rt_check(a))
		return;
	if (irq > 15) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, RT_IRQ_NOFLAGS);
	aml_le(a, 1u << irq, 2);
}

/* Word address space: type, flags, then granularity/min/max/tra/len. */
static void aml_rt_word_addr(struct aml *a, uint8_t space, uint8_t tflags,
			     uint16_t min, uint16_t max)
{
	if (!aml_rt_check(a))
		return;
	aml_byte(a, RT_WORD_ADDR);
	aml_le(a, 0x0d, 2);
	aml_byte(a, space);
	aml_byte(a, RT_ADDR_PRODUCER_FIXED);
	aml_byte(a, tflags);
	aml_le(a, 0, 2);		/* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2);		/* translation offset */
	aml_le(a, max - min + 1, 2);
}

void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_rt_word_addr(a, RT_SPACE_BUS, 0, min, max);
}

void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	/* Type-specific flags 3: EntireRange (ISA and non-ISA ports) */
	aml_rt_word_addr(a, RT_SPACE_IO, 0x03, min, max);
}

void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max,
		      bool cacheable)
{
	if (!aml_rt_check(a))
		return;
	aml_byte(a, RT_DWORD_ADDR);
	aml_le(a, 0x17, 2);
	aml_byte(a, RT_SPACE_MEM);
	aml_byte(a, RT_ADDR_PRODUCER_FIXED);
	/* bit 0 read-write, bits 2:1 memory attribute (1 = cacheable) */
	aml_byte(a, 0x01 | (cacheable ? 0x02 : 0));
	aml_le(a, 0, 4);		/* granularity */
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);		/* translation offset */
	aml_le(a, (uint64_t)max - min + 1, 4);
}

void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw)
{
	if (!aml_rt_check(a))
		return;
	aml_byte(a, RT_MEM32_FIXED);
	aml_le(a, 0x09, 2);
	aml_byte(a, rw ? 0x01 : 0x00);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

void aml_rt_interrupt(struct aml *a, uint32_t gsi, unsigned flags)
{
	if (!aml_rt_check(a))
		return;
	aml_byte(a, RT_EXT_IRQ);
	aml_le(a, 0x06, 2);
	/* bit 0: consumer; the rest as the AML_IRQ_* flags say */
	aml_byte(a, 0x01 | (flags & (AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW |
				     AML_IRQ_SHARED)));
	aml_byte(a, 1);			/* one interrupt number */
	aml_le(a, gsi, 4);
}
