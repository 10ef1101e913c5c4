// SPDX-License-Identifier: MIT
/* The control protocol's JSON reader and writer against hostile input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmm/json.h"

static int parse(const char *s, struct json_val *v)
{
	return json_parse(s, strlen(s), v);
}

static void test_json_valid_documents(void)
{
	static const char *const ok[] = {
		"{}", "[]", " {\"a\":1} ", "{\"id\":1,\"cmd\":\"status\"}",
		"[1,-2,3.5e+2,0,-0.0,true,false,null,\"x\"]",
		"{\"a\":{\"b\":[{\"c\":\"\\u00e9\\n\\\"\"}]}}", "\"\\ud83d\\ude00\"",
		"0", "1E5", "\r\n\t[ ]\n",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(parse(ok[i], NULL) == 0);
}

static void test_json_invalid_documents(void)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"[1,]", "[,1]", "{a:1}", "{'a':1}", "01", "1.", ".5", "-",
		"1e", "+1", "tru", "nul", "True", "\"abc", "\"a\\x\"",
		"\"\\u12\"", "\"\\u12G4\"", "\"tab\there\"", "{}{}", "[] x",
		"{\"a\":1 \"b\":2}", "NaN", "Infinity", "\"\\", "{\"a\":[}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], NULL) != -EINVAL)
			printf("  accepted: '%s'\n", bad[i]);
		CHECK(parse(bad[i], NULL) == -EINVAL);
	}
	/* An embedded NUL is not whitespace: the document is invalid. */
	CHECK(json_parse("{}\0", 3, NULL) == -EINVAL);
}

static void test_json_nesting_is_bounded(void)
{
	size_t n = 100000;
	char *s = malloc(2 * n + 1);

	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = 0;
	CHECK(parse(s, NULL) == -EINVAL);
	/* Exactly the limit is fine, one more is not. */
	memset(s, '[', JSON_MAX_DEPTH);
	memset(s + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	CHECK(json_parse(s, 2 * JSON_MAX_DEPTH, NULL) == 0);
	memset(s, '[', JSON_MAX_DEPTH + 1);
	memset(s + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	CHECK(json_parse(s, 2 * JSON_MAX_DEPTH + 2, NULL) == -EINVAL);
	free(s);
}

static void test_json_lookup(void)
{
	const char *doc = "{\"id\":7,\"cmd\":\"balloon\",\"bytes\":67108864,"
			  "\"nested\":{\"cmd\":\"wrong\"},\"arr\":[10,20,{\"x\":30}],"
			  "\"neg\":-5,\"frac\":1.5,\"big\":99999999999999999999}";
	struct json_val obj, v, e;
	char buf[16];
	int64_t x;

	CHECK(parse(doc, &obj) == 0);
	CHECK(json_get_string(&obj, "cmd", buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "balloon"));
	CHECK(json_get_int(&obj, "bytes", &x) == 0 && x == 67108864);
	CHECK(json_get_int(&obj, "neg", &x) == 0 && x == -5);
	CHECK(json_get_int(&obj, "frac", &x) == -EINVAL);
	CHECK(json_get_int(&obj, "big", &x) == -ERANGE);
	CHECK(json_get_int(&obj, "missing", &x) == -ENOENT);
	CHECK(json_get_int(&obj, "cmd", &x) == -EINVAL);
	CHECK(json_get(&obj, "arr", &v) == 0 && v.type == JSON_ARRAY);
	CHECK(json_index(&v, 1, &e) == 0 && json_int(&e, &x) == 0 && x == 20);
	CHECK(json_index(&v, 2, &e) == 0 && json_get_int(&e, "x", &x) == 0 &&
	      x == 30);
	CHECK(json_index(&v, 3, &e) == -ENOENT);
	CHECK(json_get(&v, "x", &e) == -EINVAL);	/* not an object */
	CHECK(json_index(&obj, 0, &e) == -EINVAL);	/* not an array */
	CHECK(parse("{\"n\":-9223372036854775808}", &obj) == 0 &&
	      json_get_int(&obj, "n", &x) == 0 && x == INT64_MIN);
	CHECK(parse("{\"n\":9223372036854775808}", &obj) == 0 &&
	      json_get_int(&obj, "n", &x) == -ERANGE);
}

static void test_json_strings(void)
{
	struct json_val v;
	char buf[8];

	CHECK(parse("\"a\\u00e9\\n\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "a\xc3\xa9\n"));
	CHECK(parse("\"\\ud83d\\ude00\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "\xf0\x9f\x98\x80"));
	/* A lone surrogate becomes U+FFFD, a NUL is refused. */
	CHECK(parse("\"\\udc00\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "\xef\xbf\xbd"));
	CHECK(parse("\"a\\u0000b\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == -EINVAL);
	/* Too long for the buffer: an error, never a silent truncation. */
	CHECK(parse("\"12345678\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == -ENOSPC);
	CHECK(parse("\"1234567\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == 0);
	CHECK(parse("\"\\u00e9\\u00e9\\u00e9\\u00e9\"", &v) == 0);
	CHECK(json_string(&v, buf, sizeof(buf)) == -ENOSPC);
}

static void test_json_writer(void)
{
	char small[8], buf[64];
	struct json_out o;
	struct json_val v;

	json_out_init(&o, buf, sizeof(buf));
	json_out_raw(&o, "{\"s\":");
	json_out_str(&o, "q\"b\\c\n\x01");
	json_out_fmt(&o, ",\"n\":%d}", 42);
	CHECK(json_out_ok(&o));
	CHECK(!strcmp(buf, "{\"s\":\"q\\\"b\\\\c\\u000a\\u0001\",\"n\":42}"));
	CHECK(parse(buf, &v) == 0);
	json_out_init(&o, small, sizeof(small));
	json_out_str(&o, "0123456789");
	CHECK(!json_out_ok(&o));
	CHECK(strlen(small) < sizeof(small));
	json_out_init(&o, small, sizeof(small));
	json_out_fmt(&o, "%s", "0123456789");
	CHECK(!json_out_ok(&o));
	CHECK(strlen(small) < sizeof(small));
}

/* Random and mutated input must never crash or read out of bounds. */
static void test_json_random_input(void)
{
	static const char alphabet[] = "{}[],:\"\\ u0123456789eE.-+truefalsnl\t\n";
	unsigned seed = 12345;
	struct json_val v, e;
	char buf[64];

	for (int i = 0; i < 50000; i++) {
		size_t n = rand_r(&seed) % 48;
		char *s = malloc(n ? n : 1);
		int64_t x;

		for (size_t k = 0; k < n; k++)
			s[k] = i & 1 ? (char)rand_r(&seed) :
			       alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		if (json_parse(s, n, &v) == 0) {
			json_get(&v, "cmd", &e);
			json_index(&v, 0, &e);
			if (v.type == JSON_STRING)
				json_string(&v, buf, sizeof(buf));
			json_int(&v, &x);
		}
		free(s);
	}
	CHECK(1);
}

int main(void)
{
	RUN(test_json_valid_documents);
	RUN(test_json_invalid_documents);
	RUN(test_json_nesting_is_bounded);
	RUN(test_json_lookup);
	RUN(test_json_strings);
	RUN(test_json_writer);
	RUN(test_json_random_input);
	return test_summary();
}
