// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the policy loader end to end, YAML text to compiled
 * tables. Every error must be "FILE:LINE:COLUMN: message"; a policy that
 * loads must resolve for the host, compile within the CMP_MAX_* bounds into tables that
 * point at its own rules, and compile again to the same tables and uids.
 */
#include <errno.h>

#include "compile.h"
#include "fuzz.h"
#include "policy.h"

static size_t n_rules(const struct policy *p)
{
	size_t i, n = 0;
	int d;

	for (i = 0; i < p->n_ifaces; i++)
		for (d = 0; d < POL_DIR_NR; d++)
			n += p->ifaces[i].dir[d].n;
	return n;
}

static void check_tables(const struct policy *p, const struct compiled *c)
{
	size_t i, j, match = 0, cls = 0;

	FUZZ_ASSERT(c->n_uids == n_rules(p), "%zu uids for %zu rules", c->n_uids, n_rules(p));
	for (i = 1; i < c->n_uids; i++)
		FUZZ_ASSERT(strcmp(c->uids[i - 1].ident, c->uids[i].ident) < 0, "uids not sorted");
	for (i = 0; i < c->n_rs; i++) {
		const struct cmp_ruleset *rs = &c->rs[i];
		const struct pol_rules *rules;

		FUZZ_ASSERT(rs->iface < p->n_ifaces && rs->dir >= 0 && rs->dir < TCS_DIR_NR,
			    "ruleset %zu at %zu/%d", i, rs->iface, rs->dir);
		rules = &p->ifaces[rs->iface].dir[rs->dir];
		FUZZ_ASSERT(rules->n > 0, "a ruleset for an empty direction");
		FUZZ_ASSERT(rs->hdr.nshapes >= 1 && rs->hdr.nshapes <= TCS_MAX_SHAPES, "%u shapes",
			    rs->hdr.nshapes);
		FUZZ_ASSERT(rs->hdr.nrules == rules->n, "%u rule bodies for %zu rules",
			    rs->hdr.nrules, rules->n);
		for (j = 0; j < rs->n_match; j++) {
			const struct tcs_rule *r = &rs->rules[rs->match[j].idx];

			FUZZ_ASSERT(rs->match[j].idx < rules->n, "entry for rule %u of %zu",
				    rs->match[j].idx, rules->n);
			FUZZ_ASSERT(r->idx == rs->match[j].idx, "rule %u holds idx %u",
				    rs->match[j].idx, r->idx);
			FUZZ_ASSERT(r->uid != TCS_UID_NONE, "entry without a uid");
		}
		match += rs->n_match;
		cls += rs->n_cls;
	}
	FUZZ_ASSERT(match <= CMP_MAX_MATCH && cls <= CMP_MAX_CLASS && c->n_rs <= CMP_MAX_RULESETS,
		    "%zu match, %zu class entries, %zu rulesets", match, cls, c->n_rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct compiled *c = NULL, *again = NULL;
	struct fuzz_errs e = { 0 };
	struct policy *p = NULL;
	struct pol_host host;
	size_t i;
	int rc;

	rc = policy_parse(FUZZ_FILE, (const char *)data, size, &p, fuzz_err, &e);
	if (rc) {
		FUZZ_ASSERT(!p, "a policy returned with %d", rc);
		FUZZ_ASSERT(rc != -EINVAL || e.n, "-EINVAL without a message");
		FUZZ_ASSERT(rc == -EINVAL || rc == -ENOMEM, "policy_parse: %d", rc);
		return 0;
	}
	FUZZ_ASSERT(p && !e.n, "valid, yet %u messages: %s", e.n, e.first);

	/* a host with or without fq: either resolved or refused with a message */
	host.can_pace = size & 1;
	rc = policy_host_check(p, &host, fuzz_err, &e);
	FUZZ_ASSERT(!rc || (rc == -EINVAL && e.n), "host check: %d, %u messages", rc, e.n);
	if (rc)
		goto out;

	rc = compile_policy_for(p, &host, NULL, &c, fuzz_err, &e);
	if (rc) {
		FUZZ_ASSERT(!c && (rc == -E2BIG || rc == -ENOMEM || rc == -ENOSPC),
			    "compile: %d", rc);
		FUZZ_ASSERT(rc == -ENOMEM || e.n, "compile refused without a message: %d", rc);
		goto out;
	}
	check_tables(p, c);

	/* a reload of the same file keeps every uid and every table */
	rc = compile_policy_for(p, &host, c, &again, fuzz_err, &e);
	FUZZ_ASSERT(!rc, "recompile: %d", rc);
	FUZZ_ASSERT(again->n_rs == c->n_rs && again->n_uids == c->n_uids, "recompile differs");
	for (i = 0; i < c->n_uids; i++)
		FUZZ_ASSERT(again->uids[i].uid == c->uids[i].uid, "uid of %s moved",
			    c->uids[i].ident);
	for (i = 0; i < c->n_rs; i++)
		FUZZ_ASSERT(again->rs[i].digest == c->rs[i].digest &&
				    again->rs[i].n_match == c->rs[i].n_match,
			    "ruleset %zu compiled differently", i);
out:
	compile_free(again);
	compile_free(c);
	policy_free(p);
	return 0;
}
