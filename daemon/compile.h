/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy -> the tables the classifier reads (bpf/tcshape_abi.h). Pure: no
 * BPF calls, so the whole translation is unit-tested without root. Ruleset
 * ids in keys are left 0; maps.c stamps them in when it publishes.
 */
#ifndef TCS_COMPILE_H
#define TCS_COMPILE_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "tcshape_abi.h"
#include "policy.h"

/*
 * What a whole policy may put in the maps: half of each map's max_entries
 * (bpf/tcshape.bpf.c; test_compile checks the object), so a reload can
 * publish any valid policy beside the one in force. The bounds are global,
 * over every entry and direction: a rule list aliased into many entries
 * counts once per entry, as it does in the maps and in compile memory.
 */
#define CMP_MAX_MATCH		(1u << 19)	/* tcs_match entries */
#define CMP_MAX_CLASS		(1u << 21)	/* tcs_class entries; a quarter: compile time */
#define CMP_MAX_RULES		32768u		/* tcs_rule_info, tcs_rule_spill (TCS_STAT_SLOTS) */
#define CMP_MAX_RULESETS	8192u		/* tcs_rulesets */
/* ... and combinations listed on the way (repeats too): compile time stays bounded */
#define CMP_MAX_WORK	(8u * CMP_MAX_MATCH)

struct cmp_class {
	struct tcs_class_key key;
	__u32 cls;
};

struct cmp_match {
	struct tcs_match_key key;
	__u32 idx;		/* the rule: its index in rules[] */
};

/* One interface entry's rules for one direction. */
struct cmp_ruleset {
	size_t iface;		/* index into policy->ifaces */
	int dir;		/* TCS_DIR_* */
	struct tcs_ruleset hdr;
	struct cmp_class *cls;
	size_t n_cls;
	struct cmp_match *match;
	size_t n_match;
	struct tcs_rule *rules;	/* bodies, by policy order (tcs_rule.idx); hdr.nrules */
	uint64_t digest;	/* of everything above but iface: equal digests, same tables */
	uint64_t tables_digest;	/* of cls and match alone */
	uint8_t match_key[32];	/* SHA-256 of the rules' match lists: what cls and match come from */
	size_t work;		/* the combinations compiling cls and match listed */
};

/* A rule's identity across reloads, and the uid it keeps while it exists. */
struct cmp_uid {
	char *ident;		/* "iface/dir/name/per", see compile_rule_ident() */
	size_t at;		/* the rule's place in the policy (interface, direction, order) */
	__u32 uid;
	struct tcs_rule_info info;
};

struct compiled {
	struct cmp_ruleset *rs;
	size_t n_rs;
	struct cmp_uid *uids;	/* sorted by ident */
	size_t n_uids;
	__u32 next_uid;		/* uids are never reused */
};

/*
 * Compile p for the host (its facts decide what "auto" and "pace" rules do;
 * check p with policy_host_check() first). prev (may be NULL) is the policy
 * in force: rules with the same identity keep their uid, so their limiter
 * state and counters carry over. Errors go to err as "FILE:LINE:COLUMN:
 * message"; returns 0 or -errno.
 */
int compile_policy_for(const struct policy *p, const struct pol_host *host,
		       const struct compiled *prev, struct compiled **out, pol_err_fn err,
		       void *ctx);
/* The same with the actions as written ("auto" polices): for pure tests. */
int compile_policy(const struct policy *p, const struct compiled *prev, struct compiled **out,
		   pol_err_fn err, void *ctx);
void compile_free(struct compiled *c);

/* The ruleset of interface entry iface in direction dir, or NULL if it has no rules. */
const struct cmp_ruleset *compile_ruleset(const struct compiled *c, size_t iface, int dir);

/* A rule's identity across reloads and restarts; free() it. */
char *compile_rule_ident(const char *iface, int dir, const char *name, int per);

/* rate -> (mult, shift) such that ns = bytes * mult >> shift, as the kernel's psched_ratecfg. */
void compile_ratecfg(uint64_t bits_per_sec, __u32 *mult, __u8 *shift);
/* bytes at the rate, in ns, with the same rounding the classifier uses */
uint64_t compile_bytes_ns(uint64_t bytes, __u32 mult, __u8 shift);

#endif
