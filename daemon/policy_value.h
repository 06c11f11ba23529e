/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The text of one policy value: protocols, ports, DSCP values, prefixes,
 * rates and bursts. Each parser reports what is wrong with the text as it
 * was written; none knows where in the policy the value stands.
 */
#ifndef TCS_POLICY_VALUE_H
#define TCS_POLICY_VALUE_H

#include "policy.h"
#include "yaml_walk.h"

/* What the match keys write: the rule's lists, and where its first port was. */
struct match_state {
	struct pol_match *m;
	struct ynode *ports; /* where a clash with proto is reported */
};

/* yw_item_fn for the match keys; obj is a struct match_state. */
int value_proto(struct pctx *pc, const char *key, struct ynode *n, void *obj);
int value_port(struct pctx *pc, const char *key, struct ynode *n, void *obj);
int value_dscp(struct pctx *pc, const char *key, struct ynode *n, void *obj);
int value_prefix(struct pctx *pc, const char *key, struct ynode *n, void *obj);

/* A rate such as 10mbit ("rate", "total": what), more than 0; false (reported) when it is not. */
bool value_rate(struct pctx *pc, struct ynode *n, const char *what, uint64_t *bps);
/*
 * A burst as a size (64kb) or a time at the rate (10ms); without a valid
 * rate a time burst is only checked.
 */
void value_burst(struct pctx *pc, struct ynode *n, uint64_t rate_bps, bool rate_ok,
		 uint64_t *bytes);

static inline uint64_t div_round_up(unsigned __int128 a, uint64_t b, bool *overflow)
{
	unsigned __int128 q = (a + b - 1) / b;

	*overflow = q > UINT64_MAX;
	return (uint64_t)q;
}

#endif
