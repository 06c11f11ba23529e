// SPDX-License-Identifier: GPL-2.0
/*
 * The gate of a ruleset: the fields the classifier tests before anything
 * else, and the values (or port buckets) any rule lists for them, so a
 * packet outside all of them leaves without a hash lookup. It may let on a
 * packet no rule matches; it never stops one a rule matches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

/* The gate field a rule of this shape is tested on, most telling first; -1: none. */
static int gate_field(__u32 mask)
{
	static const int order[] = { TCS_F_DPORT, TCS_F_SPORT, TCS_F_DSCP, TCS_F_PROTO };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (mask & (1u << order[i]))
			return order[i];
	return -1;
}

/* Set bits lo..hi (inclusive) of a bitmap of nbits, those past its end left out. */
static void bits_set(__u64 *map, unsigned int nbits, unsigned int lo, unsigned int hi)
{
	unsigned int b;

	for (b = lo; b <= hi && b < nbits; b++)
		map[b / 64] |= 1ull << (b % 64);
}

/*
 * The classes (of field f) of the gated rules: those a match entry of a
 * shape gated on f names. Such a class holds a value only if one of those
 * rules lists it, and each value they list is in one: their union is
 * exactly what the gated rules list, not what every rule does (a port rule
 * implies its protocols, which would open a proto gate to all of TCP).
 */
static unsigned char *gated_classes(const struct cmp_ruleset *rs, int f, __u32 *n)
{
	unsigned char *want;
	size_t i;

	*n = 1;
	for (i = 0; i < rs->n_match; i++)
		if (rs->match[i].key.cls[f] >= *n)
			*n = rs->match[i].key.cls[f] + 1;
	want = calloc(*n, 1);
	for (i = 0; want && i < rs->n_match; i++)
		if (gate_field(rs->match[i].key.mask) == f)
			want[rs->match[i].key.cls[f]] = 1;
	return want;
}

int gate_of(const struct cmp_ruleset *rs, __u32 id, struct tcs_gate *g)
{
	unsigned char *want[TCS_F_NR] = { 0 };
	__u32 n[TCS_F_NR] = { 0 }, fields = 0, f;
	size_t i;
	int err = 0;

	memset(g, 0, sizeof(*g));
	g->ruleset = id;
	for (i = 0; i < rs->hdr.nshapes && i < TCS_MAX_SHAPES; i++) {
		int gf = gate_field(rs->hdr.shapes[i].mask);

		if (gf < 0)
			return 0;	/* this shape's rules could match any port, proto and dscp */
		fields |= 1u << gf;
	}
	for (f = 0; f < TCS_F_NR; f++)
		if (fields & (1u << f) && !(want[f] = gated_classes(rs, (int)f, &n[f])))
			err = -ENOMEM;
	for (i = 0; i < rs->n_cls && !err; i++) {
		const struct tcs_class_key *k = &rs->cls[i].key;
		unsigned int len = k->prefixlen - TCS_CLASS_HDR_BITS, lo, hi;
		__u32 c = rs->cls[i].cls;

		if (k->field >= TCS_F_NR || !want[k->field] || c >= n[k->field] ||
		    !want[k->field][c])
			continue;	/* not a gated field, or no gated rule's class */
		if (k->field == TCS_F_SPORT || k->field == TCS_F_DPORT) {
			lo = (unsigned int)k->data[0] << 8 | k->data[1];
			hi = len >= 16 ? lo : lo | ((1u << (16 - len)) - 1);
			bits_set(k->field == TCS_F_SPORT ? g->sport : g->dport, 64 * 4,
				 lo >> TCS_GATE_PORT_SHIFT, hi >> TCS_GATE_PORT_SHIFT);
		} else {
			lo = k->data[0];
			hi = len >= 8 ? lo : lo | ((1u << (8 - len)) - 1);
			if (k->field == TCS_F_DSCP)
				bits_set(&g->dscp, 64, lo, hi);
			else
				bits_set(g->proto, 64 * 4, lo, hi);
		}
	}
	for (f = 0; f < TCS_F_NR; f++)
		free(want[f]);
	if (!err)
		g->fields = fields;
	return err;
}
