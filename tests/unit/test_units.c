// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for daemon/units.c: every tc(8) rate, size and time unit, exact
 * fractions, what is refused (bare rates, spaces, signs, exponents, overflow)
 * and the printed forms.
 */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "units.h"

#define PARSE_OK(fn, s, want)                                                     \
	do {                                                                      \
		uint64_t _v = 0xdeadbeef;                                         \
		int _rc = fn(s, &_v);                                             \
		if (_rc)                                                          \
			T_FAILED("%s(\"%s\") returned %d, want 0", #fn, s, _rc);  \
		else                                                              \
			CHECK_U64(_v, want);                                      \
	} while (0)

#define PARSE_BAD(fn, s)                                                          \
	do {                                                                      \
		uint64_t _v = 0;                                                  \
		int _rc = fn(s, &_v);                                             \
		if (_rc != -EINVAL)                                               \
			T_FAILED("%s(\"%s\") returned %d (value %" PRIu64 "), want -EINVAL", \
				 #fn, s, _rc, _v);                                \
	} while (0)

#define RATE_OK(s, want) PARSE_OK(units_parse_rate, s, want)
#define RATE_BAD(s) PARSE_BAD(units_parse_rate, s)
#define SIZE_OK(s, want) PARSE_OK(units_parse_size, s, want)
#define SIZE_BAD(s) PARSE_BAD(units_parse_size, s)
#define TIME_OK(s, want) PARSE_OK(units_parse_time, s, want)
#define TIME_BAD(s) PARSE_BAD(units_parse_time, s)

static int test_rate_every_unit(void)
{
	RATE_OK("1bit", 1);
	RATE_OK("1kbit", 1000);
	RATE_OK("1mbit", 1000000);
	RATE_OK("1gbit", 1000000000);
	RATE_OK("1tbit", 1000000000000ull);
	RATE_OK("1kibit", 1024);
	RATE_OK("1mibit", 1048576);
	RATE_OK("1gibit", 1073741824ull);
	RATE_OK("1tibit", 1099511627776ull);
	RATE_OK("1bps", 8);
	RATE_OK("1kbps", 8000);
	RATE_OK("1mbps", 8000000);
	RATE_OK("1gbps", 8000000000ull);
	RATE_OK("1tbps", 8000000000000ull);
	RATE_OK("1kibps", 8192);
	RATE_OK("1mibps", 8388608);
	RATE_OK("1gibps", 8589934592ull);
	RATE_OK("1tibps", 8796093022208ull);
	RATE_OK("50mbit", 50000000);
	RATE_OK("0bit", 0);	/* a number; the policy refuses a zero rate itself */
	return 0;
}

static int test_rate_case_insensitive(void)
{
	RATE_OK("10Mbit", 10000000);
	RATE_OK("10MBIT", 10000000);
	RATE_OK("1KiBps", 8192);	/* tc's own spelling */
	RATE_OK("1MBps", 8000000);	/* bytes: "B" and "b" are the same to tc */
	RATE_OK("1mbps", 8000000);
	RATE_OK("2GBit", 2000000000);
	return 0;
}

/* Exact decimal arithmetic: no 1099999 for 1.1mbit as a double would give. */
static int test_rate_fractions(void)
{
	RATE_OK("1.5mbit", 1500000);
	RATE_OK("1.1mbit", 1100000);
	RATE_OK("0.5kbit", 500);
	RATE_OK("1.25kibit", 1280);
	RATE_OK("0.001tbit", 1000000000);
	RATE_OK("2.5bit", 3);		/* nearest, halves up */
	RATE_OK("2.4bit", 2);
	RATE_OK("0.4bit", 0);
	RATE_OK("0.125bps", 1);
	RATE_OK("10.000000000000000000000001mbit", 10000000); /* digits past 18 dropped */
	RATE_OK("007mbit", 7000000);	/* leading zeros are still decimal here */
	return 0;
}

static int test_rate_rejects(void)
{
	uint64_t v;

	RATE_BAD("100");		/* bare: bytes/s in old tc, bit/s in new tc */
	RATE_BAD("");
	RATE_BAD("mbit");
	RATE_BAD("10mbits");
	RATE_BAD("10mb");		/* a size unit, not a rate */
	RATE_BAD("10m");
	RATE_BAD("-10mbit");
	RATE_BAD("+10mbit");
	RATE_BAD("10 mbit");		/* tc takes one argv word; decided: no spaces */
	RATE_BAD(" 10mbit");
	RATE_BAD("10mbit ");
	RATE_BAD("1e6bit");
	RATE_BAD("0x10bit");
	RATE_BAD(".5mbit");
	RATE_BAD("5.mbit");
	RATE_BAD("1..5mbit");
	RATE_BAD("1.5.5mbit");
	RATE_BAD("inf");
	RATE_BAD("nan");
	RATE_BAD("infbit");
	CHECK_INT(units_parse_rate(NULL, &v), -EINVAL);
	return 0;
}

static int test_rate_overflow(void)
{
	RATE_OK("18446744073709551615bit", UINT64_MAX);
	RATE_OK("18446744073709551.615kbit", UINT64_MAX);
	RATE_BAD("18446744073709551616bit");
	RATE_BAD("18446744073709551615kbit");
	RATE_BAD("99999999999999999999999999999999999999999bit");
	RATE_OK("2305843tbps", 18446744000000000000ull);
	RATE_BAD("2305844tbps");
	RATE_BAD("18446744073709551615.5bit"); /* rounds up past the top */
	return 0;
}

static int test_size_every_unit(void)
{
	SIZE_OK("1500", 1500);		/* bare: bytes, as in tc */
	SIZE_OK("1500b", 1500);
	SIZE_OK("64k", 65536);
	SIZE_OK("64kb", 65536);
	SIZE_OK("2m", 2097152);
	SIZE_OK("2mb", 2097152);
	SIZE_OK("1g", 1073741824ull);
	SIZE_OK("1gb", 1073741824ull);
	SIZE_OK("1kbit", 128);
	SIZE_OK("1mbit", 131072);
	SIZE_OK("1gbit", 134217728);
	SIZE_OK("0", 0);		/* a number; the policy refuses a zero burst */
	return 0;
}

static int test_size_case_and_fractions(void)
{
	SIZE_OK("64KB", 65536);
	SIZE_OK("1Mb", 1048576);	/* megabytes: tc's sizes ignore case */
	SIZE_OK("1MBIT", 131072);
	SIZE_OK("1.5kb", 1536);
	SIZE_OK("0.5b", 1);
	SIZE_OK("0.25kbit", 32);
	SIZE_OK("1.5", 2);
	return 0;
}

static int test_size_rejects(void)
{
	SIZE_BAD("");
	SIZE_BAD("kb");
	SIZE_BAD("10kib");
	SIZE_BAD("10 kb");
	SIZE_BAD("-1");
	SIZE_BAD("1tb");
	SIZE_BAD("1e3");
	SIZE_BAD("10ms");		/* a time, not a size */
	SIZE_BAD("18446744073709551616");
	SIZE_BAD("17179869184gb");
	SIZE_OK("17179869183gb", 17179869183ull * 1073741824ull);
	return 0;
}

static int test_time_every_unit(void)
{
	TIME_OK("1s", 1000000000ull);
	TIME_OK("1sec", 1000000000ull);
	TIME_OK("2secs", 2000000000ull);
	TIME_OK("10ms", 10000000);
	TIME_OK("10msec", 10000000);
	TIME_OK("10msecs", 10000000);
	TIME_OK("100us", 100000);
	TIME_OK("100usec", 100000);
	TIME_OK("100usecs", 100000);
	TIME_OK("10MS", 10000000);
	TIME_OK("1.5ms", 1500000);
	TIME_OK("0.5us", 500);
	TIME_OK("0.0004us", 0);
	return 0;
}

static int test_time_rejects(void)
{
	TIME_BAD("10");			/* tc: microseconds; here refused */
	TIME_BAD("");
	TIME_BAD("ms");
	TIME_BAD("10ns");
	TIME_BAD("10m");
	TIME_BAD("10min");
	TIME_BAD("10 ms");
	TIME_BAD("-1ms");
	TIME_BAD("18446744074s");
	return 0;
}

static int test_fmt_rate(void)
{
	char buf[32];

	CHECK_STR(units_fmt_rate(10000000, buf, sizeof(buf)), "10mbit");
	CHECK_STR(units_fmt_rate(1500, buf, sizeof(buf)), "1500bit");
	CHECK_STR(units_fmt_rate(12000000, buf, sizeof(buf)), "12mbit");
	CHECK_STR(units_fmt_rate(1536000, buf, sizeof(buf)), "1536kbit");
	CHECK_STR(units_fmt_rate(1000, buf, sizeof(buf)), "1kbit");
	CHECK_STR(units_fmt_rate(1, buf, sizeof(buf)), "1bit");
	CHECK_STR(units_fmt_rate(0, buf, sizeof(buf)), "0bit");
	CHECK_STR(units_fmt_rate(1500000000, buf, sizeof(buf)), "1500mbit");
	CHECK_STR(units_fmt_rate(1000000000000ull, buf, sizeof(buf)), "1tbit");
	CHECK_STR(units_fmt_rate(1000000000000000ull, buf, sizeof(buf)), "1000tbit");
	CHECK_STR(units_fmt_rate(UINT64_MAX, buf, sizeof(buf)), "18446744073709551615bit");
	return 0;
}

static int test_fmt_size(void)
{
	char buf[32];

	CHECK_STR(units_fmt_size(65536, buf, sizeof(buf)), "64kb");
	CHECK_STR(units_fmt_size(1000, buf, sizeof(buf)), "1000b");
	CHECK_STR(units_fmt_size(1536, buf, sizeof(buf)), "1536b");
	CHECK_STR(units_fmt_size(16384, buf, sizeof(buf)), "16kb");
	CHECK_STR(units_fmt_size(1048576, buf, sizeof(buf)), "1mb");
	CHECK_STR(units_fmt_size(3221225472ull, buf, sizeof(buf)), "3gb");
	CHECK_STR(units_fmt_size(1099511627776ull, buf, sizeof(buf)), "1024gb");
	CHECK_STR(units_fmt_size(0, buf, sizeof(buf)), "0b");
	return 0;
}

/* What is printed parses back to the same value. */
static int test_fmt_round_trip(void)
{
	static const uint64_t vals[] = { 1, 999, 1000, 1024, 1536000, 10000000, 12345678901ull,
					 1000000000000ull, UINT64_MAX };
	char buf[32];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		CHECK_INT(units_parse_rate(units_fmt_rate(vals[i], buf, sizeof(buf)), &v), 0);
		CHECK_U64(v, vals[i]);
		CHECK_INT(units_parse_size(units_fmt_size(vals[i], buf, sizeof(buf)), &v), 0);
		CHECK_U64(v, vals[i]);
	}
	return 0;
}

static int test_fmt_short_buffer(void)
{
	char buf[4];

	CHECK_STR(units_fmt_rate(10000000, buf, sizeof(buf)), "10m");
	CHECK_STR(units_fmt_size(65536, buf, sizeof(buf)), "64k");
	return 0;
}

int main(void)
{
	TEST(test_rate_every_unit);
	TEST(test_rate_case_insensitive);
	TEST(test_rate_fractions);
	TEST(test_rate_rejects);
	TEST(test_rate_overflow);
	TEST(test_size_every_unit);
	TEST(test_size_case_and_fractions);
	TEST(test_size_rejects);
	TEST(test_time_every_unit);
	TEST(test_time_rejects);
	TEST(test_fmt_rate);
	TEST(test_fmt_size);
	TEST(test_fmt_round_trip);
	TEST(test_fmt_short_buffer);
	return tests_done("unit-units");
}
