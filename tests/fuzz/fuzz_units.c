// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the tc unit parsers (daemon/units.c). The first byte
 * picks rate, size or time. A value parsed must print back to text that
 * parses to the same value, and must agree with long double arithmetic on
 * the number times the unit's scale; a refusal must be bad grammar or a
 * value past 2^64-1.
 */
#include <math.h>

#include "fuzz.h"
#include "units.h"

typedef int (*parse_fn)(const char *, uint64_t *);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const parse_fn parsers[] = { units_parse_rate, units_parse_size, units_parse_time };
	parse_fn parse;
	char *s, one[64], buf[64];
	const char *suffix;
	uint64_t v, scale, back;
	long double want;
	bool grammar;
	int rc;

	if (!size || size > 128)
		return 0;
	parse = parsers[data[0] % 3];
	s = fuzz_cstr(data + 1, size - 1);
	if (!s)
		return 0;
	rc = parse(s, &v);

	/* the grammar: DIGITS[.DIGITS] then a unit the parser knows ("1" + unit parses) */
	suffix = s + strspn(s, "0123456789");
	grammar = suffix > s;
	if (grammar && *suffix == '.') {
		size_t nd = strspn(suffix + 1, "0123456789");

		grammar = nd > 0;
		suffix += 1 + nd;
	}
	snprintf(one, sizeof(one), "1%s", suffix);
	/* units are letters only: "1.5.5s" has no unit ".5s" */
	grammar = grammar && strlen(suffix) < 16 &&
		  strspn(suffix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
			  strlen(suffix) &&
		  !parse(one, &scale);
	want = grammar ? strtold(s, NULL) * (long double)scale : 0;

	if (rc) {
		FUZZ_ASSERT(!grammar || want > 18446744073709551615.0L - 2,
			    "\"%s\" refused, yet it is %Lf", s, want);
	} else {
		FUZZ_ASSERT(grammar, "\"%s\" accepted as %llu", s, (unsigned long long)v);
		FUZZ_ASSERT(fabsl(want - (long double)v) <= 1 + want * 1e-18L,
			    "\"%s\" is %llu, want about %Lf", s, (unsigned long long)v, want);
		if (parse == units_parse_rate)
			units_fmt_rate(v, buf, sizeof(buf));
		else if (parse == units_parse_size)
			units_fmt_size(v, buf, sizeof(buf));
		else
			goto out;	/* times are not printed */
		FUZZ_ASSERT(!parse(buf, &back) && back == v, "\"%s\" is %llu, printed \"%s\"", s,
			    (unsigned long long)v, buf);
	}
out:
	free(s);
	return 0;
}
