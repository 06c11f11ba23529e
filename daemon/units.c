// SPDX-License-Identifier: GPL-2.0
/*
 * tc(8) units: the rate, size and time suffixes of iproute2's get_rate(),
 * get_size() and get_time(), parsed in exact decimal arithmetic (so "1.1mbit"
 * is 1100000 bit/s, not 1099999) and printed back in the largest exact unit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

typedef unsigned __int128 u128;

struct unit {
	const char *name;
	uint64_t scale;
};

/* Bits per second; tc's suffixes table. Matched case-insensitively, as tc does. */
static const struct unit rate_units[] = {
	{ "bit", 1ull },
	{ "kbit", 1000ull },
	{ "mbit", 1000000ull },
	{ "gbit", 1000000000ull },
	{ "tbit", 1000000000000ull },
	{ "kibit", 1024ull },
	{ "mibit", 1024ull * 1024 },
	{ "gibit", 1024ull * 1024 * 1024 },
	{ "tibit", 1024ull * 1024 * 1024 * 1024 },
	{ "bps", 8ull },
	{ "kbps", 8000ull },
	{ "mbps", 8000000ull },
	{ "gbps", 8000000000ull },
	{ "tbps", 8000000000000ull },
	{ "kibps", 8ull * 1024 },
	{ "mibps", 8ull * 1024 * 1024 },
	{ "gibps", 8ull * 1024 * 1024 * 1024 },
	{ "tibps", 8ull * 1024 * 1024 * 1024 * 1024 },
	{ NULL, 0 },
};

/* Bytes; tc's get_size(). The "bit" sizes are tc's 1024/8 multiples. */
static const struct unit size_units[] = {
	{ "b", 1ull },
	{ "k", 1024ull },
	{ "kb", 1024ull },
	{ "m", 1024ull * 1024 },
	{ "mb", 1024ull * 1024 },
	{ "g", 1024ull * 1024 * 1024 },
	{ "gb", 1024ull * 1024 * 1024 },
	{ "kbit", 1024ull / 8 },
	{ "mbit", 1024ull * 1024 / 8 },
	{ "gbit", 1024ull * 1024 * 1024 / 8 },
	{ NULL, 0 },
};

/* Nanoseconds; tc's get_time() suffixes. */
static const struct unit time_units[] = {
	{ "s", 1000000000ull },
	{ "sec", 1000000000ull },
	{ "secs", 1000000000ull },
	{ "ms", 1000000ull },
	{ "msec", 1000000ull },
	{ "msecs", 1000000ull },
	{ "us", 1000ull },
	{ "usec", 1000ull },
	{ "usecs", 1000ull },
	{ NULL, 0 },
};

/* Fraction digits kept; later ones cannot move a 64-bit result by one unit. */
#define FRAC_DIGITS_MAX 18

/*
 * value = number * scale, rounded to nearest, where number is
 * DIGITS[.DIGITS] (no sign, no exponent, no spaces: what tc takes minus
 * strtod's extras) and the unit follows with nothing after it.
 */
static int parse_scaled(const char *s, const struct unit *units, bool unit_required,
			uint64_t *out)
{
	u128 ip = 0, frac = 0, den = 1, v;
	const struct unit *u;
	const char *p = s;
	uint64_t scale = 1;

	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		ip = ip * 10 + (u128)(*p - '0');
		if (ip > UINT64_MAX)
			return -EINVAL;
	}
	if (*p == '.') {
		int nd = 0;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (nd++ >= FRAC_DIGITS_MAX)
				continue;
			frac = frac * 10 + (u128)(*p - '0');
			den *= 10;
		}
	}

	if (*p) {
		for (u = units; u->name; u++)
			if (!strcasecmp(p, u->name))
				break;
		if (!u->name)
			return -EINVAL;
		scale = u->scale;
	} else if (unit_required) {
		return -EINVAL;
	}

	v = ip * scale + (frac * scale + den / 2) / den;
	if (v > UINT64_MAX)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* A bare number is refused: tc read it as bytes/s once and as bit/s now. */
int units_parse_rate(const char *s, uint64_t *bits_per_sec)
{
	return parse_scaled(s, rate_units, true, bits_per_sec);
}

/* A bare number is bytes, as in tc. */
int units_parse_size(const char *s, uint64_t *bytes)
{
	return parse_scaled(s, size_units, false, bytes);
}

/* A bare number is refused: tc reads it as microseconds, nobody expects that. */
int units_parse_time(const char *s, uint64_t *ns)
{
	return parse_scaled(s, time_units, true, ns);
}

static char *fmt_exact(uint64_t v, const struct unit *units, const char *base, char *buf,
		       size_t len)
{
	const struct unit *u, *best = NULL;

	/* units are listed smallest to largest: the last exact one wins */
	for (u = units; u->name; u++)
		if (v && v % u->scale == 0)
			best = u;
	if (best)
		snprintf(buf, len, "%llu%s", (unsigned long long)(v / best->scale), best->name);
	else
		snprintf(buf, len, "%llu%s", (unsigned long long)v, base);
	return buf;
}

/* Decimal bit units only: "1536kbit" rather than "1.5mibit", as tc prints. */
char *units_fmt_rate(uint64_t bits_per_sec, char *buf, size_t len)
{
	static const struct unit fmt_rate[] = {
		{ "bit", 1ull },
		{ "kbit", 1000ull },
		{ "mbit", 1000000ull },
		{ "gbit", 1000000000ull },
		{ "tbit", 1000000000000ull },
		{ NULL, 0 },
	};

	return fmt_exact(bits_per_sec, fmt_rate, "bit", buf, len);
}

char *units_fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const struct unit fmt_size[] = {
		{ "b", 1ull },
		{ "kb", 1024ull },
		{ "mb", 1024ull * 1024 },
		{ "gb", 1024ull * 1024 * 1024 },
		{ NULL, 0 },
	};

	return fmt_exact(bytes, fmt_size, "b", buf, len);
}
