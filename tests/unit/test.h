/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness. Each test_*.c is one binary with several cases:
 *
 *	static void test_something(void) { CHECK(x == 1); CHECK_EQ(a, b); }
 *	int main(void) { RUN(test_something); return test_summary(); }
 *
 * Output lines "PASS: name" / "FAIL: name" / "SKIP: name: reason" are
 * counted by tests/run.sh. A case that cannot run here says why and returns:
 *
 *	if (geteuid() != 0) {
 *		SKIP("needs root");
 *		return;
 *	}
 *
 * A skipped case prints only its SKIP line, unless a CHECK failed before it.
 */
#ifndef CVISOR_TEST_H
#define CVISOR_TEST_H

#include <inttypes.h>
#include <stdio.h>

static int test_failed_cases;
static int test_case_failed;
static int test_case_skipped;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			printf("  %s:%d: CHECK(%s) failed\n", __FILE__,   \
			       __LINE__, #cond);                          \
			test_case_failed = 1;                             \
		}                                                         \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		unsigned long long a_ = (unsigned long long)(a);          \
		unsigned long long b_ = (unsigned long long)(b);          \
		if (a_ != b_) {                                           \
			printf("  %s:%d: %s == %s failed: 0x%llx != 0x%llx\n", \
			       __FILE__, __LINE__, #a, #b, a_, b_);       \
			test_case_failed = 1;                             \
		}                                                         \
	} while (0)

/* Marks the running case skipped; the caller returns. */
#define SKIP(...)                                                         \
	do {                                                              \
		printf("SKIP: %s: ", __func__);                           \
		printf(__VA_ARGS__);                                      \
		printf("\n");                                             \
		test_case_skipped = 1;                                    \
	} while (0)

#define RUN(fn)                                                           \
	do {                                                              \
		test_case_failed = 0;                                     \
		test_case_skipped = 0;                                    \
		fn();                                                     \
		if (test_case_failed || !test_case_skipped)               \
			printf("%s: %s\n",                                \
			       test_case_failed ? "FAIL" : "PASS", #fn);  \
		test_failed_cases += test_case_failed;                    \
		fflush(stdout);                                           \
	} while (0)

static inline int test_summary(void)
{
	return test_failed_cases ? 1 : 0;
}

#endif
