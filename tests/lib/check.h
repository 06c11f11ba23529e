/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny test harness for the C tiers: each failed check prints file:line and
 * the values seen; tests_done() prints the closing "N passed, N failed,
 * N skipped" line that CI reads, and gives the exit code.
 */
#ifndef TCS_CHECK_H
#define TCS_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int t_pass, t_fail, t_skip, t_cur_failed;
static const char *t_name;

#define TEST(fn)                                                                  \
	do {                                                                      \
		t_name = #fn;                                                     \
		t_cur_failed = 0;                                                 \
		int _skip = fn();                                                 \
		if (_skip > 0) {                                                  \
			t_skip++;                                                 \
			printf("SKIP %s\n", #fn);                                 \
		} else if (t_cur_failed) {                                        \
			t_fail++;                                                 \
			printf("FAIL %s\n", #fn);                                 \
		} else {                                                          \
			t_pass++;                                                 \
			printf("PASS %s\n", #fn);                                 \
		}                                                                 \
	} while (0)

#define T_FAILED(fmt, ...)                                                        \
	do {                                                                      \
		t_cur_failed = 1;                                                 \
		fprintf(stdout, "  %s:%d: %s: " fmt "\n", __FILE__, __LINE__, t_name, \
			##__VA_ARGS__);                                           \
	} while (0)

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond))                                                      \
			T_FAILED("check failed: %s", #cond);                      \
	} while (0)

#define CHECK_INT(a, b)                                                           \
	do {                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);               \
		if (_a != _b)                                                     \
			T_FAILED("%s == %s: got %lld, want %lld", #a, #b, _a, _b); \
	} while (0)

#define CHECK_U64(a, b)                                                           \
	do {                                                                      \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                  \
		if (_a != _b)                                                     \
			T_FAILED("%s == %s: got %" PRIu64 ", want %" PRIu64, #a, #b, _a, _b); \
	} while (0)

#define CHECK_STR(a, b)                                                           \
	do {                                                                      \
		const char *_a = (a), *_b = (b);                                  \
		if (!_a || !_b || strcmp(_a, _b))                                 \
			T_FAILED("%s == %s:\n    got  \"%s\"\n    want \"%s\"", #a, #b, \
				 _a ? _a : "(null)", _b ? _b : "(null)");         \
	} while (0)

/* Skip with the reason: a test that cannot run says so, it never passes. */
#define SKIP(fmt, ...)                                                            \
	do {                                                                      \
		printf("  %s: skipped: " fmt "\n", t_name, ##__VA_ARGS__);        \
		return 1;                                                         \
	} while (0)

/*
 * For the tests that attach to devices: root, in a network namespace of our
 * own (nothing of the host touched). 0, or -1 with the reason to skip in WHY.
 */
static inline int t_private_netns(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "needs root (euid %u)", geteuid());
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static inline int tests_done(const char *suite)
{
	printf("%s: %d passed, %d failed, %d skipped\n", suite, t_pass, t_fail, t_skip);
	return t_fail ? 1 : 0;
}

#endif
