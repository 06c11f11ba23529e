// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the CIDR prefix parser, as a rule's "src" reaches it
 * through policy_parse. Oracle: inet_pton(3) takes the address, the length
 * is plain decimal within the family's width, and host bits are refused;
 * what is accepted is exactly that prefix.
 */
#include <arpa/inet.h>

#include "fuzz.h"
#include "policy.h"

/* Does the oracle accept s, and as which prefix? */
static bool oracle(const char *s, void *want)
{
	struct pol_prefix *out = want;
	const char *slash = strchr(s, '/');
	char addr[256];
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned int max, i, len;

	if (alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = 4, max = 32;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = 6, max = 128;
	else
		return false;
	len = max;
	if (slash) {
		const char *d = slash + 1;

		if (!*d || strspn(d, "0123456789") != strlen(d) || (d[0] == '0' && d[1]) ||
		    strlen(d) > 3)
			return false;
		len = (unsigned int)atoi(d);
		if (len > max)
			return false;
	}
	out->len = (uint8_t)len;
	for (i = len; i < max; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static bool same(const struct pol_match *m, const void *want)
{
	return m->n_src == 1 && !memcmp(&m->src[0], want, sizeof(m->src[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_prefix want;

	fuzz_match_field("src", data, size, oracle, same, &want);
	return 0;
}
