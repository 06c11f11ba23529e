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

static bool oracle(const char *s, struct pol_range *out)
{
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_range want;
	struct policy *p;
	char *s;
	bool ok;

	if (size > 256)
		return 0;
	s = fuzz_cstr(data, size);
	ok = s && oracle(s, &want);
	p = fuzz_parse_field("dport", data, size, s, ok);
	if (p) {
		const struct pol_match *m = &p->ifaces[0].dir[POL_INGRESS].v[0].match;

		FUZZ_ASSERT(m->n_dport == 1 && m->dport[0].lo == want.lo &&
				    m->dport[0].hi == want.hi,
			    "\"%s\" parsed as another range", s);
	}
	policy_free(p);
	free(s);
	return 0;
}
