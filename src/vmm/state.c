// SPDX-License-Identifier: MIT
#include "vmm/state.h"
#include "vmm/bytes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/*
 * Fuzzing builds accept any checksum, so mutated inputs reach the parsers
 * behind it instead of stopping at the CRC.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_OK(a, b)	((void)(a), (void)(b), true)
#else
#define CRC_OK(a, b)	((a) == (b))
#endif

/*
 * Stream header: magic[8], u32 format version, u32 reserved (0).
 * Section header: name[STATE_NAME_MAX] (NUL padded), u32 version,
 * u32 payload length, u32 CRC-32 of the payload, u32 CRC-32 of the
 * preceding 44 header bytes. The end of the stream is a section named
 * "end" with no payload, so truncation after a whole section is caught.
 */
#define STATE_HDR_LEN		16
#define SECTION_HDR_LEN		(STATE_NAME_MAX + 16)
#define STATE_END_NAME		"end"

struct state_writer {
	FILE *f;
	int error;
	bool in_section;
	char name[STATE_NAME_MAX];
	uint32_t version;
	uint8_t *buf;
	size_t len, cap;
};

struct state_reader {
	FILE *f;
	char name[STATE_NAME_MAX];
	uint8_t *buf;
	size_t len, pos;
	bool ended;
	char error[256];
};

static void writer_fail(struct state_writer *w, int err)
{
	if (!w->error)
		w->error = err;
}

struct state_writer *state_writer_create(FILE *f)
{
	struct state_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[STATE_HDR_LEN] = { 0 };

	if (!w)
		return NULL;
	w->f = f;
	memcpy(hdr, STATE_MAGIC, 8);
	put_le32(hdr + 8, STATE_FORMAT_VERSION);
	if (fwrite(hdr, sizeof(hdr), 1, f) != 1)
		writer_fail(w, -EIO);
	return w;
}

void state_section_begin(struct state_writer *w, uint32_t version,
			 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->in_section)
		writer_fail(w, -EINVAL);
	w->in_section = true;
	w->version = version;
	w->len = 0;
	va_start(ap, fmt);
	n = vsnprintf(w->name, sizeof(w->name), fmt, ap);
	va_end(ap);
	if (n <= 0 || n >= STATE_NAME_MAX)
		writer_fail(w, -ENAMETOOLONG);
}

void state_put(struct state_writer *w, const void *buf, size_t len)
{
	if (!w->in_section) {
		writer_fail(w, -EINVAL);
		return;
	}
	if (!len)
		return;
	if (w->len + len > STATE_SECTION_MAX) {
		writer_fail(w, -EFBIG);
		return;
	}
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *p;

		while (cap < w->len + len)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			writer_fail(w, -ENOMEM);
			return;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, buf, len);
	w->len += len;
}

void state_put_u8(struct state_writer *w, uint8_t v)
{
	state_put(w, &v, 1);
}

void state_put_u16(struct state_writer *w, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };

	state_put(w, b, 2);
}

void state_put_u32(struct state_writer *w, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	state_put(w, b, 4);
}

void state_put_u64(struct state_writer *w, uint64_t v)
{
	state_put_u32(w, (uint32_t)v);
	state_put_u32(w, (uint32_t)(v >> 32));
}

static void write_section(struct state_writer *w, const char *name,
			  uint32_t version, const uint8_t *buf, size_t len)
{
	uint8_t hdr[SECTION_HDR_LEN] = { 0 };

	strncpy((char *)hdr, name, STATE_NAME_MAX - 1);
	put_le32(hdr + STATE_NAME_MAX, version);
	put_le32(hdr + STATE_NAME_MAX + 4, (uint32_t)len);
	put_le32(hdr + STATE_NAME_MAX + 8, crc32(0, buf, (uInt)len));
	put_le32(hdr + STATE_NAME_MAX + 12, crc32(0, hdr, STATE_NAME_MAX + 12));
	errno = 0;
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1 ||
	    (len && fwrite(buf, len, 1, w->f) != 1))
		writer_fail(w, -errno ? -errno : -EIO);
}

void state_section_end(struct state_writer *w)
{
	if (!w->in_section) {
		writer_fail(w, -EINVAL);
		return;
	}
	w->in_section = false;
	if (!w->error)
		write_section(w, w->name, w->version, w->buf, w->len);
}

int state_writer_error(const struct state_writer *w)
{
	return w->error;
}

int state_writer_finish(struct state_writer *w)
{
	if (w->in_section)
		writer_fail(w, -EINVAL);
	if (!w->error)
		write_section(w, STATE_END_NAME, 0, NULL, 0);
	if (fflush(w->f))
		writer_fail(w, -errno);
	return w->error;
}

void state_writer_destroy(struct state_writer *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

struct state_reader *state_reader_create(FILE *f, char *err, size_t errlen)
{
	uint8_t hdr[STATE_HDR_LEN];
	struct state_reader *r;
	uint32_t version;

	if (fread(hdr, sizeof(hdr), 1, f) != 1 || memcmp(hdr, STATE_MAGIC, 8)) {
		snprintf(err, errlen, "not a cvisor state file");
		errno = EINVAL;
		return NULL;
	}
	version = get_le32(hdr + 8);
	if (version != STATE_FORMAT_VERSION) {
		snprintf(err, errlen,
			 "state format version %u is not supported (this "
			 "cvisor reads version %u)", version,
			 STATE_FORMAT_VERSION);
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->f = f;
	return r;
}

void state_reader_destroy(struct state_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

int state_fail(struct state_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->error[0]) {
		va_start(ap, fmt);
		vsnprintf(r->error, sizeof(r->error), fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

const char *state_reader_error(const struct state_reader *r)
{
	return r->error[0] ? r->error : "state stream error";
}

int state_next_section(struct state_reader *r, const char **name,
		       uint32_t *version)
{
	uint8_t hdr[SECTION_HDR_LEN];
	uint32_t len, crc;

	if (r->ended)
		return 0;
	r->len = r->pos = 0;
	if (fread(hdr, sizeof(hdr), 1, r->f) != 1)
		return state_fail(r, "state file is truncated (after "
				  "section '%s')", r->name[0] ? r->name :
				  "header");
	if (!CRC_OK(crc32(0, hdr, STATE_NAME_MAX + 12),
		    get_le32(hdr + STATE_NAME_MAX + 12)))
		return state_fail(r, "state file is corrupt: bad section "
				  "header checksum after '%s'",
				  r->name[0] ? r->name : "header");
	if (memchr(hdr, 0, STATE_NAME_MAX) == NULL || !hdr[0])
		return state_fail(r, "state file is corrupt: bad section name");
	memcpy(r->name, hdr, STATE_NAME_MAX);
	len = get_le32(hdr + STATE_NAME_MAX + 4);
	crc = get_le32(hdr + STATE_NAME_MAX + 8);
	if (len > STATE_SECTION_MAX)
		return state_fail(r, "state section '%s' is too large (%u "
				  "bytes)", r->name, len);
	if (len > 0) {
		uint8_t *p = realloc(r->buf, len);

		if (!p)
			return state_fail(r, "out of memory");
		r->buf = p;
		if (fread(r->buf, len, 1, r->f) != 1)
			return state_fail(r, "state file is truncated "
					  "(section '%s')", r->name);
	}
	if (!CRC_OK(crc32(0, r->buf, len), crc))
		return state_fail(r, "state section '%s' is corrupt (bad "
				  "checksum)", r->name);
	r->len = len;
	if (!strcmp(r->name, STATE_END_NAME)) {
		r->ended = true;
		return 0;
	}
	*name = r->name;
	*version = get_le32(hdr + STATE_NAME_MAX);
	return 1;
}

int state_get(struct state_reader *r, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (len > r->len - r->pos) {
		memset(buf, 0, len);
		return state_fail(r, "state section '%s' is too short",
				  r->name);
	}
	memcpy(buf, r->buf + r->pos, len);
	r->pos += len;
	return 0;
}

int state_get_u8(struct state_reader *r, uint8_t *v)
{
	return state_get(r, v, 1);
}

int state_get_u16(struct state_reader *r, uint16_t *v)
{
	uint8_t b[2];
	int ret = state_get(r, b, 2);

	*v = get_le16(b);
	return ret;
}

int state_get_u32(struct state_reader *r, uint32_t *v)
{
	uint8_t b[4];
	int ret = state_get(r, b, 4);

	*v = get_le32(b);
	return ret;
}

int state_get_u64(struct state_reader *r, uint64_t *v)
{
	uint32_t lo, hi;
	int ret = state_get_u32(r, &lo);

	ret = ret ? ret : state_get_u32(r, &hi);
	if (ret)
		hi = lo = 0;
	*v = lo | (uint64_t)hi << 32;
	return ret;
}

size_t state_remaining(const struct state_reader *r)
{
	return r->len - r->pos;
}
