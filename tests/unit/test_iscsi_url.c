// SPDX-License-Identifier: MIT
/* iSCSI URL and secret-file parsing, redaction, and URL dispatch in block_open. */
#include <errno.h>
#include <string.h>

#include "block/block.h"
#include "block/iscsi_url.h"
#include "test.h"

static void test_parse_good(void)
{
	static const struct {
		const char *url, *user, *password, *portal, *target;
		int lun;
	} cases[] = {
		{ "iscsi://127.0.0.1/iqn.2026-01.test:disk/1", "", "",
		  "127.0.0.1:3260", "iqn.2026-01.test:disk", 1 },
		{ "iscsi://host.example:3261/iqn.a:b/0", "", "",
		  "host.example:3261", "iqn.a:b", 0 },
		{ "iscsi://bob@h/iqn.a:b/16383", "bob", "", "h:3260", "iqn.a:b",
		  16383 },
		{ "iscsi://bob%s3cr@t@h:1/iqn.a/7", "bob", "s3cr@t", "h:1",
		  "iqn.a", 7 },
		{ "iscsi://[::1]:3260/iqn.a:b/2", "", "", "[::1]:3260", "iqn.a:b",
		  2 },
		{ "iscsi://[fe80::1]/eui.0123456789ABCDEF/3", "", "",
		  "[fe80::1]:3260", "eui.0123456789ABCDEF", 3 },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iscsi_url_parts u;
		int ret = iscsi_url_parse(cases[i].url, &u, err, sizeof(err));

		if (ret)
			printf("  %s: %s\n", cases[i].url, err);
		CHECK_EQ(ret, 0);
		if (ret)
			continue;
		CHECK(!strcmp(u.user, cases[i].user));
		CHECK(!strcmp(u.password, cases[i].password));
		CHECK_EQ(u.has_password, cases[i].password[0] != 0);
		CHECK(!strcmp(u.portal, cases[i].portal));
		CHECK(!strcmp(u.target, cases[i].target));
		CHECK_EQ(u.lun, cases[i].lun);
	}
}

static void test_parse_bad(void)
{
	static const struct {
		const char *url, *why;
	} cases[] = {
		{ "iscsi:/h/iqn.a/1", "not an iscsi" },
		{ "http://h/iqn.a/1", "not an iscsi" },
		{ "iscsi://h", "no target" },
		{ "iscsi://h/iqn.a", "no LUN" },
		{ "iscsi://h/iqn.a/", "bad LUN" },
		{ "iscsi://h/iqn.a/x", "not a number" },
		{ "iscsi://h/iqn.a/-1", "not a number" },
		{ "iscsi://h/iqn.a/16384", "out of range" },
		{ "iscsi://h/iqn.a/123456", "bad LUN" },
		{ "iscsi://h/iqn.a/1/2", "not a number" },
		{ "iscsi://h/iqn.a/1?header_digest=crc32c", "options after" },
		{ "iscsi://h//1", "bad target" },
		{ "iscsi://h/iqn a/1", "bad target" },
		{ "iscsi:///iqn.a/1", "bad host" },
		{ "iscsi://h:0/iqn.a/1", "port out of range" },
		{ "iscsi://h:65536/iqn.a/1", "port out of range" },
		{ "iscsi://h:/iqn.a/1", "bad port" },
		{ "iscsi://h:12a/iqn.a/1", "bad port" },
		{ "iscsi://[::1/iqn.a/1", "without ']'" },
		{ "iscsi://[]/iqn.a/1", "bad IPv6" },
		{ "iscsi://[::1]x/iqn.a/1", "junk after" },
		{ "iscsi://@h/iqn.a/1", "bad user" },
		{ "iscsi://u%@h/iqn.a/1", "bad password" },
		{ "iscsi://u v@h/iqn.a/1", "bad character in user" },
		{ "iscsi://u%p w@h/iqn.a/1", "bad character in password" },
		{ "iscsi://h;rm/iqn.a/1", "bad host" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct iscsi_url_parts u;
		int ret = iscsi_url_parse(cases[i].url, &u, err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, cases[i].why))
			printf("  %s: %d '%s', want '%s'\n", cases[i].url, ret,
			       err, cases[i].why);
		CHECK_EQ(ret, -EINVAL);
		CHECK(strstr(err, cases[i].why) != NULL);
	}
}

static void test_redact(void)
{
	char out[256];

	iscsi_url_redact("iscsi://bob%s3cr@t@h:1/iqn.a/7", out, sizeof(out));
	CHECK(!strcmp(out, "iscsi://bob@h:1/iqn.a/7"));
	iscsi_url_redact("iscsi://bob@h/iqn.a/7", out, sizeof(out));
	CHECK(!strcmp(out, "iscsi://bob@h/iqn.a/7"));
	iscsi_url_redact("/var/lib/a%b@c", out, sizeof(out));
	CHECK(!strcmp(out, "/var/lib/a%b@c"));
	/* a target name with '%' and '@' is not userinfo */
	iscsi_url_redact("iscsi://h/x%y@z/1", out, sizeof(out));
	CHECK(!strcmp(out, "iscsi://h/x%y@z/1"));
}

static void test_secret(void)
{
	char out[ISCSI_SECRET_MAX + 1], err[256], big[400];

	CHECK_EQ(iscsi_secret_parse("pw\n", 3, out, sizeof(out), err,
				    sizeof(err)), 0);
	CHECK(!strcmp(out, "pw"));
	CHECK_EQ(iscsi_secret_parse("pw\r\n", 4, out, sizeof(out), err,
				    sizeof(err)), 0);
	CHECK(!strcmp(out, "pw"));
	CHECK_EQ(iscsi_secret_parse("p w", 3, out, sizeof(out), err,
				    sizeof(err)), 0);
	CHECK(!strcmp(out, "p w"));
	CHECK_EQ(iscsi_secret_parse("", 0, out, sizeof(out), err, sizeof(err)),
		 -EINVAL);
	CHECK_EQ(iscsi_secret_parse("\n", 1, out, sizeof(out), err,
				    sizeof(err)), -EINVAL);
	CHECK_EQ(iscsi_secret_parse("a\nb\n", 4, out, sizeof(out), err,
				    sizeof(err)), -EINVAL);
	CHECK(strstr(err, "more than one line") != NULL);
	CHECK_EQ(iscsi_secret_parse("a\0b", 3, out, sizeof(out), err,
				    sizeof(err)), -EINVAL);
	memset(big, 'x', sizeof(big));
	CHECK_EQ(iscsi_secret_parse(big, sizeof(big), out, sizeof(out), err,
				    sizeof(err)), -EINVAL);
	CHECK_EQ(iscsi_secret_read("/nonexistent/secret", out, sizeof(out), err,
				   sizeof(err)), -ENOENT);
	CHECK(strstr(err, "/nonexistent/secret") != NULL);
}

static void test_block_open_url(void)
{
	char err[BLOCK_ERR_LEN];
	struct block_dev *dev;

	CHECK(block_url_driver("iscsi://h/iqn.a/1") == &block_iscsi_driver);
	CHECK(block_url_driver("/tmp/iscsi://x") == NULL);
	CHECK(block_url_driver("nbd://h/x") == NULL);
	/* only raw on a network disk; the password never reaches err */
	CHECK_EQ(block_open("iscsi://u%pw-xyz@127.0.0.1/iqn.a/1", "qcow2", 0,
			    &dev, err, sizeof(err)), -ENOTSUP);
	CHECK(strstr(err, "only raw") && !strstr(err, "pw-xyz"));
	CHECK_EQ(block_open("iscsi://h/iqn.a/x", NULL, 0, &dev, err,
			    sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a number") != NULL);
	/* nothing listens on port 1: one line, no wait */
	CHECK(block_open("iscsi://127.0.0.1:1/iqn.a/1", NULL, 0, &dev, err,
			 sizeof(err)) < 0);
	CHECK(strstr(err, "cannot connect to 127.0.0.1:1") != NULL);
	CHECK(!strchr(err, '\n'));
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_redact);
	RUN(test_secret);
	RUN(test_block_open_url);
	return test_summary();
}
