// SPDX-License-Identifier: GPL-2.0
/*
 * The policy schema: which keys a policy has, where each one goes in struct
 * policy, and what a rule means once all its keys are read (default burst,
 * pace keys). The key tables are the contract docs/policy.md describes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "endpoint.h"
#include "policy_schema.h"
#include "policy_value.h"
#include "strmap.h"
#include "units.h"
#include "units.h"
#include "yaml_walk.h"

#define POL_VERSION	  1
#define POL_MAX_KEYS_MAX  (1u << 27)
#define POL_RULE_NAME_MAX 63
#define POL_IFNAME_MAX	  15 /* IFNAMSIZ - 1 */
/* a pattern is part of a rule's identity, kept in tcs_rule_info.iface (64 bytes) */
#define POL_IFGLOB_MAX 63

/*
 * Names seen so far in one list, and where each was first written: duplicate
 * checks in O(1) (a policy of 10,000 rules spent most of its parse in
 * pairwise strcmp() otherwise). The names are owned by the rules and
 * entries, whose strings do not move.
 */
static bool name_find(const struct strmap *names, const char *name, struct pol_pos *first)
{
	const struct strmap_slot *sl = strmap_get(names, name);

	if (sl)
		*first = (struct pol_pos){ (unsigned int)(sl->val >> 32), (unsigned int)sl->val };
	return sl != NULL;
}

static int name_add(struct strmap *names, const char *name, struct pol_pos pos)
{
	struct strmap_slot *sl;
	bool added;

	sl = strmap_put(names, name, &added);
	if (!sl)
		return -ENOMEM;
	if (added)
		sl->val = (uint64_t)pos.line << 32 | pos.col;
	return 0;
}

/* ---- rules: match fields ------------------------------------------------- */

struct root_state;

struct iface_state {
	struct root_state *root;
	struct pol_iface ifc;
	const char *label; /* the entry's name for messages */
	struct strmap rule_names[POL_DIR_NR];
};

struct rule_state {
	struct iface_state *is;
	enum pol_dir dir;
	struct pol_rule r;
	bool rate_ok;
	struct ynode *burst;
	struct ynode *ports; /* first sport/dport: where a proto clash is reported */
	struct ynode *action;
	struct ynode *max_delay, *ecn, *ecn_threshold; /* pace keys, checked once all are read */
	struct ynode *total, *key_prefix;	       /* checked once rate and per are read */
};

#define IFACE(f) offsetof(struct iface_state, f)

/* The whole policy while its top level is walked. */
struct root_state {
	struct policy *p;
	struct strmap ifnames;
};

static const struct yw_items proto_items = { "a protocol", value_proto };
static const struct yw_items port_items = { "a port or a port range", value_port };
static const struct yw_items dscp_items = { "a DSCP value", value_dscp };
static const struct yw_items prefix_items = { "an address or prefix", value_prefix };

static const struct yw_key match_keys[] = {
	{ "proto", YAML_NO_NODE, NULL, yw_list, 0, &proto_items },
	{ "src", YAML_NO_NODE, NULL, yw_list, 0, &prefix_items },
	{ "dst", YAML_NO_NODE, NULL, yw_list, 0, &prefix_items },
	{ "sport", YAML_NO_NODE, NULL, yw_list, 0, &port_items },
	{ "dport", YAML_NO_NODE, NULL, yw_list, 0, &port_items },
	{ "dscp", YAML_NO_NODE, NULL, yw_list, 0, &dscp_items },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};

/* ---- rules --------------------------------------------------------------- */

static int h_rule_name(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct rule_state *rs = obj;
	struct strmap *names = &rs->is->rule_names[rs->dir];
	struct pol_pos first;
	bool dup;
	const char *s = sval(n);
	size_t len = strlen(s);

	if (!len || len > POL_RULE_NAME_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "abcdefghijklmnopqrstuvwxyz"
		      "0123456789_.-") != len) {
		perr(pc, n, "bad rule name \"%s\": use 1-%d characters from A-Z a-z 0-9 _ . -", s,
		     POL_RULE_NAME_MAX);
		return 0; /* unnamed: it cannot clash with later rules */
	}
	dup = name_find(names, s, &first);
	if (dup)
		perr(pc, n, "duplicate rule name \"%s\" in %s %s (first at %u:%u)", s,
		     rs->is->label, pol_dir_name(rs->dir), first.line, first.col);
	/* kept even when a duplicate: it names the rule in later messages */
	rs->r.name = strdup(s);
	if (!rs->r.name)
		return -ENOMEM;
	return dup ? 0 : name_add(names, rs->r.name, rs->r.pos);
}

static int h_match(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct rule_state *rs = obj;
	struct match_state ms = { &rs->r.match, rs->ports };
	int err;

	err = walk_map(pc, n, match_keys, "in match", &ms, NULL);
	rs->ports = ms.ports;
	return err;
}

static int h_rate(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct rule_state *rs = obj;

	rs->rate_ok = value_rate(pc, n, "rate", &rs->r.rate_bps);
	return 0;
}

static const struct yw_choice per_choices[] = {
	{ "flow", POL_PER_FLOW },
	{ "src", POL_PER_SRC },
	{ "dst", POL_PER_DST },
	{ "rule", POL_PER_RULE },
	{ NULL, 0 },
};
static const struct yw_enum per_enum = {
	per_choices, NULL, "one of: flow, src, dst, rule", "\"per\"", false,
};

/* Every action a policy may name. */
static const struct yw_choice action_choices[] = {
	{ "drop", POL_ACT_DROP },
	{ "pace", POL_ACT_PACE },
	{ NULL, 0 },
};

static int h_action(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct rule_state *rs = obj;
	int act = yw_choice_find(action_choices, sval(n));

	if (act < 0) {
		perr(pc, n, "unknown action \"%s\"; expected drop or pace", sval(n));
		return 0;
	}
	rs->r.action = (enum pol_action)act;
	rs->r.action_pos = pos_of(n);
	rs->action = n;
	return 0;
}

static const struct yw_choice bool_choices[] = { { "true", 1 }, { "false", 0 }, { NULL, 0 } };
static const struct yw_enum ecn_enum = { bool_choices, NULL, "true or false", NULL, true };

/* ecn is both a value and, for the pace checks, a key that was given */
static int h_ecn(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	((struct rule_state *)obj)->ecn = n;
	return yw_enum(pc, n, obj, key);
}

static uint64_t bytes_ns(uint64_t bytes, uint64_t bps)
{
	return (uint64_t)(((unsigned __int128)bytes * 8000000000ull + bps - 1) / bps);
}

/*
 * Pace keys, once the whole rule is read: max_delay defaults to 5 ms and is
 * never below the time one 64 KiB skb takes at the rate (such a packet could
 * never be sent); ecn_threshold defaults to a quarter of max_delay.
 */
static void resolve_pace(struct pctx *pc, struct rule_state *rs)
{
	struct ynode *only = rs->max_delay ? rs->max_delay : rs->ecn ? rs->ecn : rs->ecn_threshold;
	uint64_t floor, ns;
	char rate[32];

	if (rs->r.action == POL_ACT_PACE && rs->dir == POL_INGRESS) {
		perr(pc, rs->action,
		     "action \"pace\" only works on egress: arriving packets cannot be held back; "
		     "use drop");
		return;
	}
	if (rs->r.action == POL_ACT_DROP && only) {
		perr(pc, only, "max_delay, ecn and ecn_threshold only apply to action: pace");
		return;
	}
	if (rs->dir == POL_INGRESS && only) {
		perr(pc, only, "max_delay, ecn and ecn_threshold only apply to egress rules");
		return;
	}
	if (!rs->rate_ok)
		return;
	floor = bytes_ns(POL_MAX_SKB_BYTES, rs->r.rate_bps);
	rs->r.max_delay_ns = floor > POL_DEFAULT_MAX_DELAY_NS ? floor : POL_DEFAULT_MAX_DELAY_NS;
	if (rs->max_delay) {
		if (units_parse_time(sval(rs->max_delay), &ns)) {
			perr(pc, rs->max_delay, "bad max_delay \"%s\": expected a time such as 5ms",
			     sval(rs->max_delay));
			return;
		}
		if (ns < floor) {
			perr(pc, rs->max_delay,
			     "max_delay %s is shorter than one 64 KiB packet takes at %s (%llu us)",
			     sval(rs->max_delay),
			     units_fmt_rate(rs->r.rate_bps, rate, sizeof(rate)),
			     (unsigned long long)(floor / 1000));
			return;
		}
		if (ns > POL_MAX_MAX_DELAY_NS) {
			perr(pc, rs->max_delay,
			     "max_delay %s is longer than fq can hold a packet back (its horizon is "
			     "32 bits of microseconds: 4294 s at most)",
			     sval(rs->max_delay));
			return;
		}
		rs->r.max_delay_ns = ns;
	}
	rs->r.ecn_ns = rs->r.max_delay_ns / 4;
	if (rs->ecn_threshold) {
		if (units_parse_time(sval(rs->ecn_threshold), &ns)) {
			perr(pc, rs->ecn_threshold,
			     "bad ecn_threshold \"%s\": expected a time such as 1ms",
			     sval(rs->ecn_threshold));
			return;
		}
		if (ns >= rs->r.max_delay_ns) {
			perr(pc, rs->ecn_threshold, "ecn_threshold %s must be below max_delay",
			     sval(rs->ecn_threshold));
			return;
		}
		if (!rs->r.ecn)
			perr(pc, rs->ecn_threshold, "ecn_threshold needs ecn: true");
		rs->r.ecn_ns = ns;
	}
}

static int h_total(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct rule_state *rs = obj;

	rs->total = n;
	if (!value_rate(pc, n, "total", &rs->r.total_bps))
		rs->r.total_bps = 0;
	return 0;
}

/* key_prefix's ipv4 or ipv6: bits of the address, arg the family's width. */
static int h_prefix_bits(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	unsigned int max = *(const unsigned int *)key->arg;
	uint64_t v;

	if (!parse_uint(pc, n, key->name, &v))
		return 0;
	if (v > max)
		perr(pc, n, "key_prefix %s must be 0-%u (bits of the address); got %s", key->name,
		     max, sval(n));
	else
		*(uint8_t *)((char *)obj + key->off) = (uint8_t)v;
	return 0;
}

static const unsigned int bits4 = 32, bits6 = 128;
static const struct yw_key key_prefix_keys[] = {
	{ "ipv4", YAML_SCALAR_NODE, "a number of bits, 0-32", h_prefix_bits,
	  offsetof(struct rule_state, r.prefix4), &bits4 },
	{ "ipv6", YAML_SCALAR_NODE, "a number of bits, 0-128", h_prefix_bits,
	  offsetof(struct rule_state, r.prefix6), &bits6 },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};

static int h_key_prefix(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	((struct rule_state *)obj)->key_prefix = n;
	return walk_map(pc, n, key_prefix_keys, "in key_prefix", obj, NULL);
}

/* Once the whole rule is read: a total holds several keys, at least one at its rate. */
static void check_total(struct pctx *pc, struct rule_state *rs)
{
	char rate[32], total[32];

	if (rs->key_prefix && rs->r.per != POL_PER_SRC && rs->r.per != POL_PER_DST)
		perr(pc, rs->key_prefix,
		     "key_prefix only applies to per: src or per: dst; this rule is per: %s",
		     pol_per_name(rs->r.per));
	if (!rs->total || !rs->r.total_bps)
		return;
	if (rs->r.per == POL_PER_RULE) {
		perr(pc, rs->total,
		     "total needs several keys (per: flow, src or dst); per: rule has one: set its rate");
		return;
	}
	if (rs->rate_ok && rs->r.total_bps < rs->r.rate_bps)
		perr(pc, rs->total,
		     "total %s is below the rate %s: each key would never reach its rate; raise total or lower rate",
		     units_fmt_rate(rs->r.total_bps, total, sizeof(total)),
		     units_fmt_rate(rs->r.rate_bps, rate, sizeof(rate)));
}

#define RULE(f) offsetof(struct rule_state, f)
static const struct yw_key rule_keys[] = {
	{ "name", YAML_SCALAR_NODE, "a scalar", h_rule_name, 0, NULL },
	{ "match", YAML_MAPPING_NODE, "a mapping", h_match, 0, NULL },
	{ "rate", YAML_SCALAR_NODE, "a scalar", h_rate, 0, NULL },
	/* resolved once the rate is known, in any key order */
	{ "burst", YAML_SCALAR_NODE, "a scalar", yw_node, RULE(burst), NULL },
	{ "per", YAML_SCALAR_NODE, "a scalar", yw_enum, RULE(r.per), &per_enum },
	{ "action", YAML_SCALAR_NODE, "a scalar", h_action, 0, NULL },
	{ "max_delay", YAML_SCALAR_NODE, "a scalar", yw_node, RULE(max_delay), NULL },
	{ "ecn", YAML_SCALAR_NODE, "a scalar", h_ecn, RULE(r.ecn), &ecn_enum },
	{ "ecn_threshold", YAML_SCALAR_NODE, "a scalar", yw_node, RULE(ecn_threshold), NULL },
	{ "total", YAML_SCALAR_NODE, "a scalar", h_total, 0, NULL },
	{ "key_prefix", YAML_MAPPING_NODE, "a mapping such as { ipv4: 24, ipv6: 56 }", h_key_prefix,
	  0, NULL },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};
enum { RK_NAME, RK_MATCH, RK_RATE };

/*
 * bytes = rate for the time, rounded up: a burst never gets shorter than
 * asked. Without a valid rate the burst is only checked.
 */
static void resolve_burst(struct pctx *pc, struct rule_state *rs)
{
	uint64_t v, ns;
	bool overflow;

	if (!rs->burst) {
		ns = rs->dir == POL_INGRESS ? POL_DEFAULT_INGRESS_BURST_NS : POL_DEFAULT_BURST_NS;
		v = div_round_up((unsigned __int128)rs->r.rate_bps * ns, 8000000000ull, &overflow);
		rs->r.burst_bytes = overflow ? UINT64_MAX : v;
		if (rs->r.burst_bytes < POL_DEFAULT_BURST_MIN)
			rs->r.burst_bytes = POL_DEFAULT_BURST_MIN;
		return;
	}
	value_burst(pc, rs->burst, rs->r.rate_bps, rs->rate_ok, &rs->r.burst_bytes);
}

static void free_rule(struct pol_rule *r)
{
	free(r->name);
	free(r->match.proto);
	free(r->match.sport);
	free(r->match.dport);
	free(r->match.dscp);
	free(r->match.src);
	free(r->match.dst);
}

/* One rule of the list key->off of an interface entry: ingress or egress. */
static int parse_rule(struct pctx *pc, struct ynode *map, void *obj, const struct yw_key *key)
{
	struct iface_state *is = obj;
	enum pol_dir dir = key->off == IFACE(ifc.dir[POL_INGRESS]) ? POL_INGRESS : POL_EGRESS;
	struct rule_state rs = {
		.is = is,
		.dir = dir,
		.r = { .pos = pos_of(map),
		       .per = POL_PER_FLOW,
		       .action = dir == POL_EGRESS ? POL_ACT_AUTO : POL_ACT_DROP,
		       .prefix4 = POL_DEFAULT_PREFIX4,
		       .prefix6 = POL_DEFAULT_PREFIX6 },
	};
	struct pol_rules *rules = &is->ifc.dir[dir];
	unsigned int seen;
	char num[8];
	size_t i;
	int err;

	err = walk_map(pc, map, rule_keys, "in rule", &rs, &seen);
	if (err)
		goto out_free;

	if (!(seen & KEY_BIT(RK_NAME)))
		perr(pc, map, "missing \"name\" in rule");
	if (!(seen & KEY_BIT(RK_RATE))) {
		if (rs.r.name)
			perr(pc, map, "missing \"rate\" in rule \"%s\"", rs.r.name);
		else
			perr(pc, map, "missing \"rate\" in rule");
	}
	if (rs.rate_ok || rs.burst)
		resolve_burst(pc, &rs);
	if (!rs.action)
		rs.r.action_pos = rs.r.pos;
	resolve_pace(pc, &rs);
	check_total(pc, &rs);

	/* ports without proto: the compile step narrows to the port protocols */
	for (i = 0; rs.ports && i < rs.r.match.n_proto; i++) {
		if (!pol_proto_has_ports(rs.r.match.proto[i].lo)) {
			perr(pc, rs.ports,
			     "ports only apply to tcp, udp, sctp and udplite; rule \"%s\" matches proto %s",
			     rs.r.name ? rs.r.name : "?",
			     pol_proto_name(rs.r.match.proto[i].lo, num, sizeof(num)));
			break;
		}
	}

	/* kept even when wrong: later duplicates are still found, all is freed as one */
	err = ARRAY_PUSH(&rules->v, &rules->n, rs.r);
	if (err)
		goto out_free;
	return 0;

out_free:
	free_rule(&rs.r);
	return err;
}

/* ---- interfaces ---------------------------------------------------------- */

static int h_iface_name(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct iface_state *is = obj;
	struct pol_pos first;
	bool dup;
	const char *s = sval(n);
	size_t len = strlen(s);
	bool glob = strpbrk(s, "*?[") != NULL;

	if (!len)
		perr(pc, n, "interface name must not be empty");
	else if (strpbrk(s, "/: \t\r\n\v\f") || !strcmp(s, ".") || !strcmp(s, ".."))
		perr(pc, n,
		     "bad interface name \"%s\": names cannot be \".\" or \"..\" nor contain '/', ':' or whitespace",
		     s);
	else if (!glob && len > POL_IFNAME_MAX)
		perr(pc, n, "interface name \"%s\" is longer than %d characters", s,
		     POL_IFNAME_MAX);
	else if (glob && len > POL_IFGLOB_MAX)
		perr(pc, n, "interface pattern \"%s\" is longer than %d characters", s,
		     POL_IFGLOB_MAX);

	dup = name_find(&is->root->ifnames, s, &first);
	if (dup)
		perr(pc, n, "duplicate interface entry \"%s\" (first at %u:%u)", s, first.line,
		     first.col);
	is->ifc.name = strdup(s);
	if (!is->ifc.name)
		return -ENOMEM;
	return dup ? 0 : name_add(&is->root->ifnames, is->ifc.name, is->ifc.pos);
}

static const struct yw_each each_rule = {
	"rule must be a mapping with \"name\" and \"rate\"",
	parse_rule,
};

static const struct yw_key iface_keys[] = {
	{ "name", YAML_SCALAR_NODE, "a scalar", h_iface_name, 0, NULL },
	{ "ingress", YAML_SEQUENCE_NODE, "a list of rules", yw_each, IFACE(ifc.dir[POL_INGRESS]),
	  &each_rule },
	{ "egress", YAML_SEQUENCE_NODE, "a list of rules", yw_each, IFACE(ifc.dir[POL_EGRESS]),
	  &each_rule },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};
enum { IK_NAME };

void pol_iface_free(struct pol_iface *ifc)
{
	size_t i;
	int d;

	free(ifc->name);
	for (d = 0; d < POL_DIR_NR; d++) {
		for (i = 0; i < ifc->dir[d].n; i++)
			free_rule(&ifc->dir[d].v[i]);
		free(ifc->dir[d].v);
	}
}

static int parse_iface(struct pctx *pc, struct ynode *map, void *obj, const struct yw_key *key)
{
	struct root_state *root = obj;
	struct iface_state is = { .root = root,
				  .ifc = { .pos = pos_of(map) },
				  .label = "(unnamed)" };
	struct policy *p = root->p;
	struct ynode *name = map_get(pc, map, "name");
	unsigned int seen;
	int err;

	/* the name labels messages about rules, which may come before it */
	if (name && name->type == YAML_SCALAR_NODE && !is_null(name))
		is.label = sval(name);

	err = walk_map(pc, map, iface_keys, "in interface entry", &is, &seen);
	if (err)
		goto out_free;
	if (!(seen & KEY_BIT(IK_NAME)))
		perr(pc, map, "missing \"name\" in interface entry");

	err = ARRAY_PUSH(&p->ifaces, &p->n_ifaces, is.ifc);
	if (err)
		goto out_free;
	goto out;

out_free:
	pol_iface_free(&is.ifc);
out:
	strmap_free(&is.rule_names[POL_INGRESS]);
	strmap_free(&is.rule_names[POL_EGRESS]);
	return err;
}

static const struct yw_each each_iface = {
	"interface entry must be a mapping with \"name\" and rules",
	parse_iface,
};

/* ---- settings and the top level ------------------------------------------ */

static int h_metrics_textfile(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct policy *p = obj;
	const char *s = sval(n);

	if (s[0] != '/' || strlen(s) >= 4096) {
		perr(pc, n, "metrics_textfile \"%s\" must be an absolute path", s);
		return 0;
	}
	free(p->settings.metrics_textfile);
	p->settings.metrics_textfile = strdup(s);
	return p->settings.metrics_textfile ? 0 : -ENOMEM;
}

static int h_metrics_listen(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	struct policy *p = obj;
	struct sockaddr_storage ss;
	const char *why;
	socklen_t len;

	if (endpoint_parse(sval(n), &ss, &len, &why)) {
		perr(pc, n, "metrics_listen \"%s\": %s (e.g. 127.0.0.1:9977)", sval(n), why);
		return 0;
	}
	free(p->settings.metrics_listen);
	p->settings.metrics_listen = strdup(sval(n));
	return p->settings.metrics_listen ? 0 : -ENOMEM;
}

static const struct yw_range max_keys_range = { 1, POL_MAX_KEYS_MAX };
static const struct yw_range tc_priority_range = { 1, 65535 };
static const struct yw_range period_range = { 1, 3600 }; /* seconds */

static const struct yw_choice on_stop_choices[] = {
	{ "remove", POL_ON_STOP_REMOVE },
	{ "keep", POL_ON_STOP_KEEP },
	{ NULL, 0 },
};
static const struct yw_enum on_stop_enum = { on_stop_choices, "remove, keep", NULL, NULL, false };

static const struct yw_choice pace_fallback_choices[] = {
	{ "drop", POL_PACE_FALLBACK_DROP },
	{ "refuse", POL_PACE_FALLBACK_REFUSE },
	{ NULL, 0 },
};
static const struct yw_enum pace_fallback_enum = {
	pace_fallback_choices, "drop, refuse", NULL, NULL, false,
};

static const struct yw_choice root_qdisc_choices[] = {
	{ "true", POL_ROOT_ANY },
	{ "false", POL_ROOT_NEVER },
	{ "kernel-default", POL_ROOT_KERNEL_DEFAULT },
	{ NULL, 0 },
};
static const struct yw_enum root_qdisc_enum = {
	root_qdisc_choices, NULL, "true, false or kernel-default", NULL, false,
};

static const struct yw_choice socket_pacing_choices[] = {
	{ "auto", 1 },
	{ "off", 0 },
	{ NULL, 0 },
};
static const struct yw_enum socket_pacing_enum = {
	socket_pacing_choices, "auto, off", NULL, NULL, true,
};

#define SET(f) offsetof(struct policy, settings.f)
static const struct yw_key settings_keys[] = {
	{ "max_keys", YAML_SCALAR_NODE, "a scalar", yw_uint, SET(max_keys), &max_keys_range },
	{ "tc_priority", YAML_SCALAR_NODE, "a scalar", yw_uint, SET(tc_priority),
	  &tc_priority_range },
	{ "on_stop", YAML_SCALAR_NODE, "a scalar", yw_enum, SET(on_stop), &on_stop_enum },
	{ "resync", YAML_SCALAR_NODE, "a scalar", yw_time, SET(resync_ns), &period_range },
	{ "metrics_textfile", YAML_SCALAR_NODE, "a scalar", h_metrics_textfile, 0, NULL },
	{ "metrics_interval", YAML_SCALAR_NODE, "a scalar", yw_time, SET(metrics_interval_ns),
	  &period_range },
	{ "metrics_listen", YAML_SCALAR_NODE, "a scalar", h_metrics_listen, 0, NULL },
	{ "pace_fallback", YAML_SCALAR_NODE, "a scalar", yw_enum, SET(pace_fallback),
	  &pace_fallback_enum },
	{ "manage_root_qdisc", YAML_SCALAR_NODE, "a scalar", yw_enum, SET(manage_root_qdisc),
	  &root_qdisc_enum },
	{ "socket_pacing", YAML_SCALAR_NODE, "a scalar", yw_enum, SET(socket_pacing),
	  &socket_pacing_enum },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};

static int h_settings(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	return walk_map(pc, n, settings_keys, "in settings", ((struct root_state *)obj)->p, NULL);
}

/* Checked before the walk (see walk_root): nothing to do here. */
static int h_version(struct pctx *pc, struct ynode *n, void *obj, const struct yw_key *key)
{
	return 0;
}

static const struct yw_key root_keys[] = {
	{ "version", YAML_SCALAR_NODE, "a scalar", h_version, 0, NULL },
	{ "settings", YAML_MAPPING_NODE, "a mapping", h_settings, 0, NULL },
	{ "interfaces", YAML_SEQUENCE_NODE, "a list of interface entries", yw_each, 0,
	  &each_iface },
	{ NULL, YAML_NO_NODE, NULL, NULL, 0, NULL },
};
enum { TK_VERSION, TK_SETTINGS, TK_INTERFACES };

/* A policy of another version is not read further: its keys would only be noise. */
static bool version_ok(struct pctx *pc, struct ynode *v)
{
	uint64_t num;

	if (v->type != YAML_SCALAR_NODE) {
		perr(pc, v, "\"version\" must be a scalar");
		return false;
	}
	if (!scalar_ok(pc, v, "version"))
		return false;
	if (parse_dec(sval(v), &num)) {
		if (num == POL_VERSION)
			return true;
		perr(pc, v, "unsupported policy version %s; this tcshaped reads version %d",
		     sval(v), POL_VERSION);
	} else {
		perr(pc, v, "unsupported policy version \"%s\"; this tcshaped reads version %d",
		     sval(v), POL_VERSION);
	}
	return false;
}

static int walk_root(struct pctx *pc, struct root_state *rst, struct ynode *root)
{
	unsigned int seen;
	struct ynode *v;
	int err;

	if (!root || is_null(root)) {
		perr_at(pc, 1, 1,
			"empty policy; expected a mapping with \"version: %d\" and \"interfaces\"",
			POL_VERSION);
		return 0;
	}
	if (root->type != YAML_MAPPING_NODE) {
		perr(pc, root,
		     "the policy must be a mapping with \"version: %d\" and \"interfaces\"",
		     POL_VERSION);
		return 0;
	}
	v = map_get(pc, root, "version");
	if (!v)
		perr(pc, root, "missing \"version\"; the policy should start with \"version: %d\"",
		     POL_VERSION);
	else if (!version_ok(pc, v))
		return 0;

	err = walk_map(pc, root, root_keys, "at the top level", rst, &seen);
	if (err)
		return err;
	if (!(seen & KEY_BIT(TK_INTERFACES)))
		perr(pc, root, "missing \"interfaces\"");
	return 0;
}

int policy_schema_walk(struct pctx *pc, struct ynode *root, void *obj)
{
	struct root_state rst = { .p = obj };
	int err;

	err = walk_root(pc, &rst, root);
	strmap_free(&rst.ifnames);
	return err;
}
