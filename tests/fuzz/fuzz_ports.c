// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the port and port range parser, as a rule's "dport"
 * reaches it through policy_parse. Oracle: "N" or "LO-HI", plain decimal
 * without leading zeros, at most 65535, LO <= HI; what is accepted is
 * exactly that range.
 */

#include "fuzz.h"
#include "policy.h"

static bool port(const char *s, size_t n, unsigned int *v)
{
	size_t i;

	if (!n || n > 5 || (s[0] == '0' && n > 1))
		return false;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned int)(s[i] - '0');
	}
	return *v <= 65535;
}

static bool oracle(const char *s, void *want)
{
	struct pol_range *out = want;
	const char *dash = strchr(s, '-');
	unsigned int lo, hi;

	if (!dash) {
		if (!port(s, strlen(s), &lo))
			return false;
		hi = lo;
	} else if (!port(s, (size_t)(dash - s), &lo) || !port(dash + 1, strlen(dash + 1), &hi) ||
		   lo > hi) {
		return false;
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
}

static bool same(const struct pol_match *m, const void *want)
{
	const struct pol_range *r = want;

	return m->n_dport == 1 && m->dport[0].lo == r->lo && m->dport[0].hi == r->hi;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_range want;

	fuzz_match_field("dport", data, size, oracle, same, &want);
	return 0;
}
