// SPDX-License-Identifier: MIT
/*
 * The control protocol's JSON reader (jansson within the protocol's
 * bounds) and writer against hostile input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "vmm/json.h"

/* The document parse() read last, released by the next parse(). */
static struct json_val last_doc;

static int parse(const char *s, struct json_val *v)
{
	int ret;

	json_release(&last_doc);
	ret = json_parse(s, strlen(s), v ? &last_doc : NULL);
	if (!ret && v)
		*v = last_doc;
	return ret;
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
	/* Neither is a key given twice: which one would count? */
	CHECK(parse("{\"cmd\":\"stop\",\"cmd\":\"quit\"}", NULL) == -EINVAL);
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
			  "\"neg\":-5,\"frac\":1.5}";
	struct json_val obj, v, e;
	char buf[16];
	int64_t x;

	CHECK(parse(doc, &obj) == 0);
	CHECK(json_get_string(&obj, "cmd", buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "balloon"));
	CHECK(json_get_int(&obj, "bytes", &x) == 0 && x == 67108864);
	CHECK(json_get_int(&obj, "neg", &x) == 0 && x == -5);
	CHECK(json_get_int(&obj, "frac", &x) == -EINVAL);
	CHECK(json_get_int(&obj, "missing", &x) == -ENOENT);
	CHECK(json_get_int(&obj, "cmd", &x) == -EINVAL);
	CHECK(json_get(&obj, "arr", &v) == 0 && json_is_array(v.v));
	CHECK(json_index(&v, 1, &e) == 0 && json_int(&e, &x) == 0 && x == 20);
	CHECK(json_index(&v, 2, &e) == 0 && json_get_int(&e, "x", &x) == 0 &&
	      x == 30);
	CHECK(json_index(&v, 3, &e) == -ENOENT);
	CHECK(json_get(&v, "x", &e) == -EINVAL);	/* not an object */
	CHECK(json_index(&obj, 0, &e) == -EINVAL);	/* not an array */
	CHECK(parse("{\"n\":-9223372036854775808}", &obj) == 0 &&
	      json_get_int(&obj, "n", &x) == 0 && x == INT64_MIN);
	/* Beyond int64: refused, never wrapped or rounded. */
	CHECK(parse("{\"n\":9223372036854775808}", &obj) == -EINVAL);
	CHECK(parse("{\"big\":99999999999999999999}", &obj) == -EINVAL);
}

static void test_json_strings(void)
{
	struct json_val v;
	char buf[8];

	CHECK(parse("\"a\\u00e9\\n\"", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "a\xc3\xa9\n"));
	CHECK(parse("\"\\ud83d\\ude00\"", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == 0);
	CHECK(!strcmp(buf, "\xf0\x9f\x98\x80"));
	/* A lone surrogate (no valid UTF-8) and a NUL are refused. */
	CHECK(parse("\"\\udc00\"", &v) == -EINVAL);
	CHECK(parse("\"a\\u0000b\"", &v) == -EINVAL);
	CHECK(parse("\"\xff\"", &v) == -EINVAL);
	/* Not a string: refused. */
	CHECK(parse("12", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == -EINVAL);
	/* Too long for the buffer: an error, never a silent truncation. */
	CHECK(parse("\"12345678\"", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == -ENOSPC);
	CHECK(parse("\"1234567\"", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == 0);
	CHECK(parse("\"\\u00e9\\u00e9\\u00e9\\u00e9\"", &v) == 0);
	CHECK(json_copy_string(&v, buf, sizeof(buf)) == -ENOSPC);
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

/* A value written out reads back as a document equal to it. */
static bool rereads(const struct json_val *v)
{
	char buf[1024];
	struct json_out o;
	struct json_val again;
	bool same;

	json_out_init(&o, buf, sizeof(buf));
	json_out_val(&o, v);
	if (!json_out_ok(&o) || json_parse(buf, strlen(buf), &again))
		return false;
	same = json_equal(again.v, v->v);
	json_release(&again);
	return same;
}

/*
 * What an accepted document yields re-serialises to the same: a string
 * written by json_out_str reads back byte for byte, an integer printed
 * reads back as itself. Returns false if any of that fails.
 */
static bool value_round_trips(const struct json_val *v)
{
	char buf[64], back[64], out[8 * 64];
	struct json_out o;
	struct json_val w;
	int64_t x, y;
	int ret;

	if (json_is_string(v->v)) {
		ret = json_copy_string(v, buf, sizeof(buf));
		if (ret)
			return ret == -ENOSPC || ret == -EINVAL;
		json_out_init(&o, out, sizeof(out));
		json_out_str(&o, buf);
		if (!json_out_ok(&o) || json_parse(out, strlen(out), &w))
			return false;
		ret = json_copy_string(&w, back, sizeof(back)) == 0 &&
		      !strcmp(buf, back);
		json_release(&w);
		return ret;
	}
	ret = json_int(v, &x);
	if (ret)
		return ret == -EINVAL && !json_is_integer(v->v);
	snprintf(out, sizeof(out), "%" PRId64, x);
	if (json_parse(out, strlen(out), &w))
		return false;
	ret = json_int(&w, &y) == 0 && x == y;
	json_release(&w);
	return ret;
}

/*
 * Random and mutated input: the reader either refuses it (-EINVAL) or
 * returns values that, written out, read back to themselves, and
 * re-serialise to the same string or integer.
 */
static void test_json_random_input(void)
{
	static const char alphabet[] = "{}[],:\"\\ u0123456789eE.-+truefalsnl\t\n";
	static const char seed_doc[] =
		"{\"id\":-12,\"cmd\":\"a\\u00e9\\\"\",\"x\":[1,2.5e3,true,null,{}]}";
	unsigned seed = 12345, accepted = 0, bad = 0;
	struct json_val v, e;

	for (int i = 0; i < 60000; i++) {
		size_t n = i % 3 == 2 ? sizeof(seed_doc) - 1 :
					 (size_t)(rand_r(&seed) % 48);
		char *s = malloc(n ? n : 1);
		int ret;

		if (i % 3 == 2) {
			/* one to three bytes of a valid document changed */
			memcpy(s, seed_doc, n);
			for (int k = rand_r(&seed) % 3; k >= 0; k--)
				s[rand_r(&seed) % n] = alphabet[rand_r(&seed) %
								(sizeof(alphabet) - 1)];
		} else {
			for (size_t k = 0; k < n; k++)
				s[k] = i & 1 ? (char)rand_r(&seed) :
				       alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		ret = json_parse(s, n, &v);
		if (ret != (json_validate(s, n) ? -EINVAL : 0))
			bad++;
		if (ret == 0) {
			accepted++;
			if (!rereads(&v) || !value_round_trips(&v))
				bad++;
			if (json_get(&v, "cmd", &e) == 0 &&
			    (!rereads(&e) || !value_round_trips(&e)))
				bad++;
			for (unsigned k = 0; json_index(&v, k, &e) == 0; k++)
				if (!rereads(&e) || !value_round_trips(&e))
					bad++;
			json_release(&v);
		}
		if (bad) {
			printf("  input %d (%zu bytes) broke a property\n", i, n);
			free(s);
			break;
		}
		free(s);
	}
	CHECK_EQ(bad, 0);
	/* both paths were taken: some inputs parse, most do not */
	printf("  %u of 60000 inputs accepted\n", accepted);
	CHECK(accepted > 1000 && accepted < 50000);
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
	json_release(&last_doc);
	return test_summary();
}
