// SPDX-License-Identifier: MIT
/* The VM state stream: round trip, and every kind of damage refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmm/state.h"

/* A stream with two sections, in memory. */
static size_t make_stream(char **buf)
{
	size_t len = 0;
	FILE *f = open_memstream(buf, &len);
	struct state_writer *w = state_writer_create(f);
	uint8_t blob[300];

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	state_section_begin(w, 3, "cpu%d", 1);
	state_put_u8(w, 0xab);
	state_put_u16(w, 0xbeef);
	state_put_u32(w, 0xdeadbeef);
	state_put_u64(w, 0x0123456789abcdefULL);
	state_section_end(w);
	state_section_begin(w, 1, "uart0");
	state_put(w, blob, sizeof(blob));
	state_section_end(w);
	CHECK(state_writer_finish(w) == 0);
	state_writer_destroy(w);
	fclose(f);
	return len;
}

/* Read every section of buf; 0 when all is well, else the error. */
static int read_stream(const char *buf, size_t len, int *nr_sections)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	char err[256];
	struct state_reader *r = state_reader_create(f, err, sizeof(err));
	const char *name;
	uint32_t version;
	uint8_t blob[300];
	int ret;

	*nr_sections = 0;
	if (!r) {
		fclose(f);
		return -errno;
	}
	while ((ret = state_next_section(r, &name, &version)) > 0) {
		(*nr_sections)++;
		ret = state_get(r, blob, state_remaining(r));
		if (ret)
			break;
	}
	if (ret < 0)
		CHECK(strlen(state_reader_error(r)) > 0);
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

static void test_state_round_trip(void)
{
	char *buf = NULL;
	size_t len = make_stream(&buf);
	FILE *f = fmemopen(buf, len, "r");
	char err[256];
	struct state_reader *r = state_reader_create(f, err, sizeof(err));
	const char *name;
	uint32_t version, v32;
	uint16_t v16;
	uint64_t v64;
	uint8_t v8, blob[300];

	CHECK(r != NULL);
	CHECK(state_next_section(r, &name, &version) == 1);
	CHECK(!strcmp(name, "cpu1"));
	CHECK_EQ(version, 3);
	CHECK_EQ(state_remaining(r), 15);
	CHECK(state_get_u8(r, &v8) == 0 && v8 == 0xab);
	CHECK(state_get_u16(r, &v16) == 0 && v16 == 0xbeef);
	CHECK(state_get_u32(r, &v32) == 0 && v32 == 0xdeadbeef);
	CHECK(state_get_u64(r, &v64) == 0 && v64 == 0x0123456789abcdefULL);
	/* Past the end of a section: an error and zeroes, not an overread. */
	CHECK(state_get_u64(r, &v64) == -EBADMSG && v64 == 0);
	CHECK(state_next_section(r, &name, &version) == 1);
	CHECK(!strcmp(name, "uart0"));
	CHECK(state_get(r, blob, sizeof(blob)) == 0);
	CHECK_EQ(blob[299], (uint8_t)(299 * 7));
	CHECK(state_next_section(r, &name, &version) == 0);
	CHECK(state_next_section(r, &name, &version) == 0);
	state_reader_destroy(r);
	fclose(f);
	free(buf);
}

static void test_state_truncated_anywhere(void)
{
	char *buf = NULL;
	size_t len = make_stream(&buf);
	int n;

	CHECK(read_stream(buf, len, &n) == 0 && n == 2);
	for (size_t cut = 0; cut < len; cut++)
		CHECK(read_stream(buf, cut, &n) < 0);
	free(buf);
}

static void test_state_flipped_byte_anywhere(void)
{
	char *buf = NULL;
	size_t len = make_stream(&buf);
	int n;

	/* The reserved header word is the only byte nobody reads. */
	for (size_t i = 0; i < len; i++) {
		if (i >= 12 && i < 16)
			continue;
		buf[i] ^= 0x10;
		if (read_stream(buf, len, &n) == 0)
			printf("  flip at %zu accepted\n", i);
		CHECK(read_stream(buf, len, &n) < 0);
		buf[i] ^= 0x10;
	}
	free(buf);
}

static void test_state_other_version_refused(void)
{
	char *buf = NULL;
	size_t len = make_stream(&buf);
	FILE *f;
	char err[256];

	buf[8] = STATE_FORMAT_VERSION + 1;
	f = fmemopen(buf, len, "r");
	errno = 0;
	CHECK(state_reader_create(f, err, sizeof(err)) == NULL);
	CHECK(errno == EPROTONOSUPPORT);
	CHECK(strstr(err, "version") != NULL);
	fclose(f);
	free(buf);
}

static void test_state_writer_misuse(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct state_writer *w = state_writer_create(f);
	char long_name[STATE_NAME_MAX + 1];

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[STATE_NAME_MAX] = 0;
	state_section_begin(w, 1, "%s", long_name);
	state_section_end(w);
	CHECK(state_writer_finish(w) == -ENAMETOOLONG);
	state_writer_destroy(w);
	fclose(f);
	free(buf);
}

int main(void)
{
	RUN(test_state_round_trip);
	RUN(test_state_truncated_anywhere);
	RUN(test_state_flipped_byte_anywhere);
	RUN(test_state_other_version_refused);
	RUN(test_state_writer_misuse);
	return test_summary();
}
