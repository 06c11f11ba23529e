// SPDX-License-Identifier: GPL-2.0
/*
 * A ruleset's gate (daemon/gate.c): which fields it tests and which values
 * (port buckets) it lets on, from real compiled policies. That it never
 * shuts out a packet a rule matches is tests/bpf's test_gate_exact.
 */
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

#include "check.h"
#include "compile.h"
#include "gate.h"
#include "policy.h"

static int gate_yaml(const char *rules, struct tcs_gate *g)
{
	char yaml[1024];
	struct policy *p = NULL;
	struct compiled *c = NULL;
	const struct cmp_ruleset *rs;
	int err = -1;

	snprintf(yaml, sizeof(yaml), "version: 1\ninterfaces:\n  - name: lo\n    egress:\n%s",
		 rules);
	if (policy_parse("t.yaml", yaml, strlen(yaml), &p, NULL, NULL) ||
	    compile_policy(p, NULL, &c, NULL, NULL))
		goto out;
	rs = compile_ruleset(c, 0, TCS_DIR_EGRESS);
	if (rs)
		err = gate_of(rs, 7, g);
out:
	compile_free(c);
	policy_free(p);
	return err;
}

static int bit(const __u64 *map, unsigned int b)
{
	return !!(map[b / 64] & (1ull << (b % 64)));
}


/* Each shape is gated on its first of dport, sport, dscp, proto: only its own values. */
static int test_gate_fields(void)
{
	struct tcs_gate g;

	CHECK_INT(gate_yaml("      - { name: a, match: { proto: tcp, dport: 443 }, rate: 1mbit }\n"
			    "      - { name: b, match: { proto: icmp }, rate: 1mbit }\n"
			    "      - { name: c, match: { sport: \"1000-1300\" }, rate: 1mbit }\n"
			    "      - { name: d, match: { dscp: 46, dst: \"198.18.0.0/24\" }, "
			    "rate: 1mbit }\n",
			    &g),
		  0);
	CHECK_INT(g.ruleset, 7);
	CHECK_INT(g.fields, 1 << TCS_F_DPORT | 1 << TCS_F_PROTO | 1 << TCS_F_SPORT |
				    1 << TCS_F_DSCP);
	CHECK_INT(bit(g.dport, 443 >> TCS_GATE_PORT_SHIFT), 1);
	CHECK_INT(bit(g.dport, 0), 0);
	CHECK_INT(bit(g.dport, 2), 0);
	/* 1000-1300: buckets 3 to 5, each whole */
	CHECK_INT(bit(g.sport, 2), 0);
	CHECK_INT(bit(g.sport, 3) && bit(g.sport, 4) && bit(g.sport, 5), 1);
	CHECK_INT(bit(g.sport, 6), 0);
	CHECK_U64(g.dscp, 1ull << 46);
	/* icmp only: the port rules' implied tcp/udp are not the proto rule's */
	CHECK_INT(bit(g.proto, 1), 1);
	CHECK_INT(bit(g.proto, 6) || bit(g.proto, 17), 0);
	return 0;
}

/* A rule that constrains none of the four (addresses only, or nothing): no gate. */
static int test_gate_none(void)
{
	struct tcs_gate g;

	CHECK_INT(gate_yaml("      - { name: a, match: { dport: 443 }, rate: 1mbit }\n"
			    "      - { name: b, match: { src: \"198.18.0.0/24\" }, rate: 1mbit }\n",
			    &g),
		  0);
	CHECK_INT(g.fields, 0);
	CHECK_INT(gate_yaml("      - { name: a, rate: 1mbit }\n", &g), 0);
	CHECK_INT(g.fields, 0);
	/* a port range to the end, and a list */
	CHECK_INT(gate_yaml("      - { name: a, match: { dport: [\"65000-65535\", 22] }, "
			    "rate: 1mbit }\n",
			    &g),
		  0);
	CHECK_INT(g.fields, 1 << TCS_F_DPORT);
	CHECK_INT(bit(g.dport, 0) && bit(g.dport, 253) && bit(g.dport, 255), 1);
	CHECK_INT(bit(g.dport, 1) || bit(g.dport, 252), 0);
	return 0;
}

int main(void)
{
	TEST(test_gate_fields);
	TEST(test_gate_none);
	return tests_done("unit-gate");
}
