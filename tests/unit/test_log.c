// SPDX-License-Identifier: MIT
/* Per-device limits on guest-triggered warnings (struct log_limit). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "vmm/log.h"

static int saved_stderr = -1;
static int capture_fd = -1;

/* Send stderr to a memfd until capture_end returns what was written. */
static void capture_begin(void)
{
	fflush(stderr);
	capture_fd = memfd_create("log", 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(capture_fd, STDERR_FILENO);
}

static char *capture_end(void)
{
	off_t len = lseek(capture_fd, 0, SEEK_END);
	char *buf = calloc(1, len + 1);

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	if (pread(capture_fd, buf, len, 0) != len)
		buf[0] = 0;
	close(capture_fd);
	return buf;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Each device has its own budget; a burst from one is cut at the limit. */
static void test_per_device(void)
{
	struct log_limit a, b;
	char *out;

	log_limit_init(&a, 3, 60000);
	log_limit_init(&b, 3, 60000);
	capture_begin();
	for (int i = 0; i < 10; i++)
		log_limited(&a, "dev-a: error %d", i);
	log_limited(&b, "dev-b: error");
	log_limited(&b, "dev-b: error");
	out = capture_end();
	CHECK_EQ(count(out, "dev-a: error"), 3);
	CHECK(strstr(out, "dev-a: error 2") && !strstr(out, "dev-a: error 3"));
	CHECK_EQ(count(out, "dev-b: error"), 2);
	CHECK_EQ(count(out, "suppressed"), 0);
	CHECK_EQ(count(out, "\r\n"), 5);
	free(out);
}

/* After the interval lines flow again, the first one counting the drops. */
static void test_interval(void)
{
	struct log_limit a;
	char *out;

	log_limit_init(&a, 2, 100);
	capture_begin();
	for (int i = 0; i < 9; i++)
		log_limited(&a, "burst %d", i);
	usleep(150 * 1000);
	log_limited(&a, "later 1");
	log_limited(&a, "later 2");
	log_limited(&a, "later 3");
	out = capture_end();
	CHECK_EQ(count(out, "burst"), 2);
	CHECK(strstr(out, "later 1 (7 earlier messages suppressed)"));
	CHECK(strstr(out, "later 2\r\n"));
	CHECK(!strstr(out, "later 3"));
	free(out);
}

/* A zeroed limit, as in a calloc'ed device, has the default burst. */
static void test_zeroed_defaults(void)
{
	struct log_limit z;
	char *out;

	memset(&z, 0, sizeof(z));
	capture_begin();
	for (int i = 0; i < LOG_LIMIT_BURST + 5; i++)
		log_limited(&z, "zeroed %d", i);
	out = capture_end();
	CHECK_EQ(count(out, "zeroed"), LOG_LIMIT_BURST);
	free(out);
}

int main(void)
{
	RUN(test_per_device);
	RUN(test_interval);
	RUN(test_zeroed_defaults);
	return test_summary();
}
