// SPDX-License-Identifier: GPL-2.0
/*
 * The text of one policy value (policy_value.h): each parser says what is
 * wrong with the text as written, with a hint at what would be right.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "policy_value.h"
#include "units.h"

/* ---- match fields ---------------------------------------------------------- */

static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "tcp", 6 },	  { "udp", 17 },   { "icmp", 1 },
	{ "icmpv6", 58 }, { "sctp", 132 }, { "udplite", 136 },
};

const uint8_t pol_port_protos[POL_N_PORT_PROTOS] = { 6, 17, 132, 136 };

bool pol_proto_has_ports(unsigned int num)
{
	size_t i;

	for (i = 0; i < POL_N_PORT_PROTOS; i++)
		if (pol_port_protos[i] == num)
			return true;
	return false;
}

const char *pol_proto_name(unsigned int num, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == num)
			return protos[i].name;
	snprintf(buf, len, "%u", num);
	return buf;
}

static int add_range(struct pol_range **v, size_t *n, unsigned int lo, unsigned int hi)
{
	return ARRAY_PUSH(v, n, ((struct pol_range){ (uint16_t)lo, (uint16_t)hi }));
}

int value_proto(struct pctx *pc, const char *key, struct ynode *n, void *obj)
{
	struct pol_match *m = ((struct match_state *)obj)->m;
	const char *s = sval(n);
	uint64_t v;
	size_t i;

	if (*s >= '0' && *s <= '9') {
		if (!parse_uint(pc, n, key, &v))
			return 0;
		if (v > 255) {
			perr(pc, n, "protocol %s is out of range 0-255", s);
			return 0;
		}
		return add_range(&m->proto, &m->n_proto, (unsigned int)v, (unsigned int)v);
	}
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(s, protos[i].name))
			return add_range(&m->proto, &m->n_proto, protos[i].num, protos[i].num);
	perr(pc, n,
	     "unknown protocol \"%s\"; use tcp, udp, icmp, icmpv6, sctp, udplite or a number 0-255",
	     s);
	return 0;
}

/* One side of a port range; false (reported) when it is not a port. */
static bool port_value(struct pctx *pc, struct ynode *n, const char *text, uint64_t *v)
{
	if (!parse_dec(text, v)) {
		perr(pc, n, "bad port \"%s\": expected a number 0-65535 or a range \"lo-hi\"",
		     sval(n));
		return false;
	}
	if (*v > 65535) {
		perr(pc, n, "port %s is out of range 0-65535", text);
		return false;
	}
	return true;
}

int value_port(struct pctx *pc, const char *key, struct ynode *n, void *obj)
{
	struct match_state *ms = obj;
	struct pol_match *m = ms->m;
	const char *s = sval(n), *dash = strchr(s, '-');
	uint64_t lo, hi;
	char left[32];

	if (!ms->ports)
		ms->ports = n;
	if (!dash) {
		if (!port_value(pc, n, s, &lo))
			return 0;
		hi = lo;
	} else {
		if ((size_t)(dash - s) >= sizeof(left)) {
			perr(pc, n,
			     "bad port \"%s\": expected a number 0-65535 or a range \"lo-hi\"", s);
			return 0;
		}
		memcpy(left, s, (size_t)(dash - s));
		left[dash - s] = '\0';
		if (!port_value(pc, n, left, &lo) || !port_value(pc, n, dash + 1, &hi))
			return 0;
		if (lo > hi) {
			perr(pc, n, "port range \"%s\" is reversed", s);
			return 0;
		}
	}
	if (!strcmp(key, "sport"))
		return add_range(&m->sport, &m->n_sport, (unsigned int)lo, (unsigned int)hi);
	return add_range(&m->dport, &m->n_dport, (unsigned int)lo, (unsigned int)hi);
}

int value_dscp(struct pctx *pc, const char *key, struct ynode *n, void *obj)
{
	struct pol_match *m = ((struct match_state *)obj)->m;
	uint64_t v;

	if (!parse_uint(pc, n, key, &v))
		return 0;
	if (v > 63) {
		perr(pc, n, "dscp %s is out of range 0-63", sval(n));
		return 0;
	}
	return add_range(&m->dscp, &m->n_dscp, (unsigned int)v, (unsigned int)v);
}

int value_prefix(struct pctx *pc, const char *key, struct ynode *n, void *obj)
{
	struct pol_match *m = ((struct match_state *)obj)->m;
	const char *s = sval(n), *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct pol_prefix pfx = { 0 };
	char addr[INET6_ADDRSTRLEN + 1], fixed[INET6_ADDRSTRLEN];
	unsigned int max, i;
	bool host_bits = false;
	uint64_t len;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, pfx.addr) == 1) {
		pfx.family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, pfx.addr) == 1) {
		pfx.family = 6;
		max = 128;
	} else {
		goto bad;
	}

	len = max;
	if (slash && !parse_dec(slash + 1, &len)) {
		perr(pc, n, "bad prefix length in \"%s\": expected a number 0-%u", s, max);
		return 0;
	}
	if (len > max) {
		perr(pc, n, "prefix length %s in \"%s\" is out of range 0-%u for IPv%u", slash + 1,
		     s, max, pfx.family);
		return 0;
	}
	pfx.len = (uint8_t)len;
	for (i = 0; i < max / 8; i++) {
		unsigned int keep = len >= (i + 1) * 8 ? 8 : len > i * 8 ? len - i * 8 : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);

		if (pfx.addr[i] & ~mask)
			host_bits = true;
		pfx.addr[i] &= mask;
	}
	if (host_bits) {
		inet_ntop(pfx.family == 4 ? AF_INET : AF_INET6, pfx.addr, fixed, sizeof(fixed));
		perr(pc, n, "%s has host bits set; did you mean %s/%u?", s, fixed, pfx.len);
		return 0;
	}

	if (!strcmp(key, "src"))
		return ARRAY_PUSH(&m->src, &m->n_src, pfx);
	return ARRAY_PUSH(&m->dst, &m->n_dst, pfx);
bad:
	perr(pc, n, "bad address \"%s\": expected an IPv4 or IPv6 address or CIDR prefix", s);
	return 0;
}

/* ---- rates and bursts -------------------------------------------------------- */

/* Where the number of "12.5mbit" ends: DIGITS[.DIGITS], else NULL. */
static const char *number_end(const char *s)
{
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return s;
}

/* units_parse_* says only "no"; this says why, for the message. */
enum unit_verdict { UV_OK, UV_BAD_NUMBER, UV_NO_UNIT, UV_BAD_UNIT, UV_SPACE, UV_TOO_BIG };

static enum unit_verdict unit_why(const char *s, int (*parse)(const char *, uint64_t *),
				  uint64_t *v, const char **unit)
{
	char probe[64];
	const char *end;

	if (!parse(s, v))
		return UV_OK;
	if (strpbrk(s, " \t"))
		return UV_SPACE;
	end = number_end(s);
	if (!end)
		return UV_BAD_NUMBER;
	*unit = end;
	if (!*end)
		return UV_NO_UNIT;
	if (strlen(end) + 2 > sizeof(probe))
		return UV_BAD_UNIT;
	snprintf(probe, sizeof(probe), "1%s", end);
	if (parse(probe, v))
		return UV_BAD_UNIT;
	return UV_TOO_BIG;
}

static void no_spaces(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		if (*s != ' ' && *s != '\t')
			out[o++] = *s;
	out[o] = '\0';
}

bool value_rate(struct pctx *pc, struct ynode *n, const char *what, uint64_t *bps)
{
	const char *s = sval(n), *unit = "";
	char fixed[64];

	switch (unit_why(s, units_parse_rate, bps, &unit)) {
	case UV_OK:
		if (!*bps) {
			perr(pc, n, "%s must be greater than 0", what);
			return false;
		}
		return true;
	case UV_SPACE:
		no_spaces(s, fixed, sizeof(fixed));
		perr(pc, n, "%s \"%s\" must not contain spaces; write %s", what, s, fixed);
		return false;
	case UV_BAD_NUMBER:
		perr(pc, n, "bad %s \"%s\": expected a number and a unit, e.g. 10mbit", what, s);
		return false;
	case UV_NO_UNIT:
		perr(pc, n, "%s \"%s\" needs a unit, e.g. %smbit or %sbps (bytes/s)", what, s, s,
		     s);
		return false;
	case UV_BAD_UNIT:
		perr(pc, n,
		     "unknown %s unit \"%s\" in \"%s\"; use bit, kbit, mbit, gbit, tbit, bps, kbps, ... (tc(8) units)",
		     what, unit, s);
		return false;
	case UV_TOO_BIG:
		perr(pc, n, "%s \"%s\" is too large (more than 2^64-1 bit/s)", what, s);
		return false;
	}
	return false;
}

void value_burst(struct pctx *pc, struct ynode *n, uint64_t rate_bps, bool rate_ok, uint64_t *bytes)
{
	const char *s, *unit = "";
	enum unit_verdict why;
	uint64_t v, ns;
	bool overflow;
	char fixed[64];

	s = sval(n);
	if (units_parse_time(s, &ns) == 0) {
		v = div_round_up((unsigned __int128)rate_bps * ns, 8000000000ull, &overflow);
		if (!ns) {
			perr(pc, n, "burst must be greater than 0");
		} else if (!rate_ok) {
			return;
		} else if (overflow) {
			perr(pc, n, "burst \"%s\" is too large at this rate", s);
		} else {
			*bytes = v ? v : 1;
		}
		return;
	}

	why = unit_why(s, units_parse_size, &v, &unit);
	if (why == UV_BAD_UNIT || why == UV_TOO_BIG) {
		/* "99999999999999999999ms" overflows as a time, not as an unknown size */
		char probe[64];

		snprintf(probe, sizeof(probe), "1%s", unit);
		if (strlen(unit) + 2 <= sizeof(probe) && units_parse_time(probe, &ns) == 0)
			why = UV_TOO_BIG;
	}
	switch (why) {
	case UV_OK:
		if (!v)
			perr(pc, n, "burst must be greater than 0");
		*bytes = v;
		break;
	case UV_SPACE:
		no_spaces(s, fixed, sizeof(fixed));
		perr(pc, n, "burst \"%s\" must not contain spaces; write %s", s, fixed);
		break;
	case UV_BAD_NUMBER:
	case UV_NO_UNIT:
		perr(pc, n, "bad burst \"%s\": expected a size such as 64kb or a time such as 10ms",
		     s);
		break;
	case UV_BAD_UNIT:
		perr(pc, n,
		     "unknown burst unit \"%s\" in \"%s\"; use b, kb, mb, gb, kbit, mbit, gbit (tc(8) sizes) or s, ms, us",
		     unit, s);
		break;
	case UV_TOO_BIG:
		perr(pc, n, "burst \"%s\" is too large", s);
		break;
	}
}
