// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for daemon/policy.c, the proof of docs/policy.md: every key with
 * its value in struct policy, every default, and every refusal with its exact
 * "FILE:LINE:COLUMN: message". In-memory YAML is named "t.yaml"; files come
 * from tests/unit/fixtures/, conf/ and the examples in docs/policy.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "policy.h"
#include "sha256.h"

/* ---- harness ------------------------------------------------------------- */

#define MAX_ERRS 64

static char *errs[MAX_ERRS];
static int n_errs;

static void collect(void *ctx, const char *msg)
{
	(*(int *)ctx)++;
	if (n_errs < MAX_ERRS)
		errs[n_errs++] = strdup(msg);
}

static void reset_errs(void)
{
	while (n_errs)
		free(errs[--n_errs]);
}

static int calls;

static int parse(const char *yaml, struct policy **p)
{
	reset_errs();
	calls = 0;
	*p = (struct policy *)&calls;	/* must come back NULL on failure */
	return policy_parse("t.yaml", yaml, strlen(yaml), p, collect, &calls);
}

static int load(const char *path, struct policy **p)
{
	reset_errs();
	calls = 0;
	*p = (struct policy *)&calls;
	return policy_load(path, p, collect, &calls);
}

static void dump_errs(void)
{
	int i;

	for (i = 0; i < n_errs; i++)
		printf("    error %d: %s\n", i, errs[i]);
}

/* Parse must succeed; on failure show every message. */
#define MUST_PARSE(p, yaml)                                                       \
	do {                                                                      \
		int _rc = parse(yaml, &(p));                                      \
		if (_rc || !(p)) {                                                \
			T_FAILED("policy_parse returned %d", _rc);                \
			dump_errs();                                              \
			(p) = NULL;                                               \
		}                                                                 \
	} while (0)

/* The checks every refusal shares: -EINVAL, nothing returned, n messages. */
#define CHECK_REFUSED(rc, p, n)                                                   \
	do {                                                                      \
		CHECK_INT(rc, -EINVAL);                                           \
		CHECK((p) == NULL);                                               \
		if (n_errs != (n)) {                                              \
			T_FAILED("%d messages, want %d", n_errs, (int)(n));       \
			dump_errs();                                              \
		}                                                                 \
	} while (0)

/* Exactly one message, this one. */
#define EXPECT_ERR(yaml, want)                                                    \
	do {                                                                      \
		struct policy *_p;                                                \
		int _rc = parse(yaml, &_p);                                       \
		CHECK_REFUSED(_rc, _p, 1);                                        \
		CHECK_STR(n_errs ? errs[0] : NULL, want);                         \
		policy_free(_rc ? NULL : _p);                                     \
	} while (0)

/*
 * The repository root as a prefix for paths: "" when run from it, as
 * tests/run.sh does; else $TCS_SRCDIR, else the nearest parent of the binary
 * that holds tests/unit/fixtures.
 */
static const char *src_root(void)
{
	static const char tail[] = "tests/unit/test_policy.c";
	static char root[4100];
	const char *env = getenv("TCS_SRCDIR");
	size_t n = strlen(__FILE__), t = strlen(tail);
	char exe[4000], probe[4200], *slash;
	ssize_t len;

	if (env && *env) {
		snprintf(root, sizeof(root), "%s/", env);
		return root;
	}
	if (n >= t && !strcmp(&__FILE__[n - t], tail))
		snprintf(root, sizeof(root), "%.*s", (int)(n - t), __FILE__);
	snprintf(probe, sizeof(probe), "%stests/unit/fixtures", root);
	if (!access(probe, F_OK))
		return root;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return root;
	exe[len] = '\0';
	while ((slash = strrchr(exe, '/'))) {
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/tests/unit/fixtures", exe);
		if (!access(probe, F_OK)) {
			snprintf(root, sizeof(root), "%s/", exe);
			break;
		}
	}
	return root;
}

static const char *src_path(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", src_root(), rel);
	return buf;
}

/* Rule i of a direction of interface entry ifc, or NULL (reported). */
#define RULE_AT(p, ifc, d, i)                                                     \
	({                                                                        \
		struct pol_rule *_r = NULL;                                       \
		if ((p) && (p)->n_ifaces > (ifc) && (p)->ifaces[ifc].dir[d].n > (i)) \
			_r = &(p)->ifaces[ifc].dir[d].v[i];                       \
		else                                                              \
			T_FAILED("no rule %d in %s of interface entry %d", (int)(i), \
				 pol_dir_name(d), (int)(ifc));                    \
		_r;                                                               \
	})

#define V1 "version: 1\n"
/* A rule list on eth0 egress; the first rule's mapping is at 5:9. */
#define EGRESS V1 "interfaces:\n  - name: eth0\n    egress:\n"
/* Rule "r" at 5:9; body lines start at line 6, keys at column 9. */
#define R(body) EGRESS "      - name: r\n" body
/* Rule "r" with a rate and a match; match keys at line 8, column 11. */
#define M(body) R("        rate: 1mbit\n        match:\n" body)

static int prefix_is(const struct pol_prefix *pf, int family, int len, const char *addr)
{
	unsigned char want[16] = { 0 };

	if (inet_pton(family == 4 ? AF_INET : AF_INET6, addr, want) != 1)
		return 0;
	return pf->family == family && pf->len == len && !memcmp(pf->addr, want, 16);
}

/* ---- what is accepted ------------------------------------------------------ */

static int test_minimal_and_settings_defaults(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "interfaces: []\n");
	if (!p)
		return 0;
	CHECK_STR(p->path, "t.yaml");
	CHECK_INT(p->n_ifaces, 0);
	CHECK(p->ifaces == NULL);
	CHECK_INT(p->settings.max_keys, POL_DEFAULT_MAX_KEYS);
	CHECK_INT(p->settings.max_keys, 131072);
	CHECK_INT(p->settings.tc_priority, POL_DEFAULT_TC_PRIORITY);
	CHECK_INT(p->settings.tc_priority, 1000);
	CHECK_INT(p->settings.on_stop, POL_ON_STOP_REMOVE);
	CHECK_U64(p->settings.resync_ns, 30000000000ull);
	CHECK(p->settings.metrics_textfile == NULL);
	CHECK_U64(p->settings.metrics_interval_ns, 15000000000ull);
	CHECK_INT(calls, 0);
	policy_free(p);
	return 0;
}

/* The fingerprint tcshapectl status shows is the file's SHA-256, as sha256sum prints it. */
static int test_sha256(void)
{
	struct policy *p;
	char hex[65];

	MUST_PARSE(p, V1 "interfaces: []\n");
	if (!p)
		return 0;
	/* printf 'version: 1\ninterfaces: []\n' | sha256sum */
	CHECK_STR(sha256_hex(p->sha256, hex), "8d6410aba2978373d5ec2a65f8848f9ad2f52aa38515c050feca27e3a602a2a5");
	policy_free(p);
	return 0;
}

static int test_settings_lifecycle(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "settings: {on_stop: keep, resync: 5s, metrics_interval: 2s,\n"
			 "  metrics_textfile: /var/lib/node_exporter/tcshaped.prom}\ninterfaces: []\n");
	if (p) {
		CHECK_INT(p->settings.on_stop, POL_ON_STOP_KEEP);
		CHECK_U64(p->settings.resync_ns, 5000000000ull);
		CHECK_U64(p->settings.metrics_interval_ns, 2000000000ull);
		CHECK_STR(p->settings.metrics_textfile, "/var/lib/node_exporter/tcshaped.prom");
	}
	policy_free(p);
	EXPECT_ERR(V1 "settings: {on_stop: leave}\ninterfaces: []\n",
		   "t.yaml:2:21: on_stop \"leave\" is not one of: remove, keep");
	EXPECT_ERR(V1 "settings: {resync: 30}\ninterfaces: []\n",
		   "t.yaml:2:20: bad resync \"30\": expected a time such as 30s");
	EXPECT_ERR(V1 "settings: {resync: 2h}\ninterfaces: []\n",
		   "t.yaml:2:20: bad resync \"2h\": expected a time such as 30s");
	EXPECT_ERR(V1 "settings: {resync: 4000s}\ninterfaces: []\n",
		   "t.yaml:2:20: resync 4000s is out of range 1s-3600s");
	EXPECT_ERR(V1 "settings: {metrics_interval: 10ms}\ninterfaces: []\n",
		   "t.yaml:2:30: metrics_interval 10ms is out of range 1s-3600s");
	EXPECT_ERR(V1 "settings: {metrics_textfile: metrics.prom}\ninterfaces: []\n",
		   "t.yaml:2:30: metrics_textfile \"metrics.prom\" must be an absolute path");
	return 0;
}

static int test_settings_metrics_listen(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "settings: {metrics_textfile: /m.prom}\ninterfaces: []\n");
	if (p)
		CHECK(p->settings.metrics_listen == NULL);	/* off by default */
	policy_free(p);
	MUST_PARSE(p, V1 "settings: {metrics_listen: \"127.0.0.1:9977\"}\ninterfaces: []\n");
	if (p)
		CHECK_STR(p->settings.metrics_listen, "127.0.0.1:9977");
	policy_free(p);
	MUST_PARSE(p, V1 "settings: {metrics_listen: \"[::1]:9977\"}\ninterfaces: []\n");
	if (p)
		CHECK_STR(p->settings.metrics_listen, "[::1]:9977");
	policy_free(p);
	EXPECT_ERR(V1 "settings: {metrics_listen: \"localhost:9977\"}\ninterfaces: []\n",
		   "t.yaml:2:28: metrics_listen \"localhost:9977\": the address must be a numeric "
		   "IPv4 or [IPv6] address (e.g. 127.0.0.1:9977)");
	EXPECT_ERR(V1 "settings: {metrics_listen: \"127.0.0.1:0\"}\ninterfaces: []\n",
		   "t.yaml:2:28: metrics_listen \"127.0.0.1:0\": the port must be a number from 1 to "
		   "65535 (e.g. 127.0.0.1:9977)");
	EXPECT_ERR(V1 "settings: {metrics_listen: \"::1:9977\"}\ninterfaces: []\n",
		   "t.yaml:2:28: metrics_listen \"::1:9977\": expected IP:PORT, or [IPv6]:PORT "
		   "(e.g. 127.0.0.1:9977)");
	EXPECT_ERR(V1 "settings: {metrics_listen: \"[127.0.0.1]:9977\"}\ninterfaces: []\n",
		   "t.yaml:2:28: metrics_listen \"[127.0.0.1]:9977\": the address must be a numeric "
		   "IPv4 or [IPv6] address (e.g. 127.0.0.1:9977)");
	return 0;
}

static int test_settings(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "settings:\n  max_keys: 4096\n  tc_priority: 77\ninterfaces: []\n");
	if (p) {
		CHECK_INT(p->settings.max_keys, 4096);
		CHECK_INT(p->settings.tc_priority, 77);
	}
	policy_free(p);

	MUST_PARSE(p, V1 "settings: {max_keys: 1, tc_priority: 1}\ninterfaces: []\n");
	if (p) {
		CHECK_INT(p->settings.max_keys, 1);
		CHECK_INT(p->settings.tc_priority, 1);
	}
	policy_free(p);

	MUST_PARSE(p, V1 "settings: {max_keys: 134217728, tc_priority: 65535}\ninterfaces: []\n");
	if (p) {
		CHECK_INT(p->settings.max_keys, 134217728);
		CHECK_INT(p->settings.tc_priority, 65535);
	}
	policy_free(p);

	/* a key with no value under it: the same as an empty mapping */
	MUST_PARSE(p, V1 "settings:\ninterfaces: []\n");
	if (p)
		CHECK_INT(p->settings.max_keys, POL_DEFAULT_MAX_KEYS);
	policy_free(p);
	return 0;
}

static const char full_rule[] =
	"version: 1\n"
	"settings:\n"
	"  max_keys: 4096\n"
	"interfaces:\n"
	"  - name: eth0\n"
	"    egress:\n"
	"      - name: backup\n"
	"        match:\n"
	"          proto: [tcp, udp]\n"
	"          src: 198.18.0.0/15\n"
	"          dst: [198.18.4.1, \"2001:db8::/32\"]\n"
	"          sport: 873\n"
	"          dport: [80, \"1000-2000\", \"443\"]\n"
	"          dscp: [10, 46]\n"
	"        rate: 50mbit\n"
	"        burst: 64kb\n"
	"        per: src\n"
	"        action: drop\n"
	"    ingress:\n"
	"      - name: in.1_x-y\n"
	"        rate: 1.5mbit\n";

static int test_every_rule_key(void)
{
	struct policy *p;
	struct pol_rule *r;
	struct pol_match *m;

	MUST_PARSE(p, full_rule);
	if (!p)
		return 0;
	CHECK_INT(p->n_ifaces, 1);
	CHECK_STR(p->ifaces[0].name, "eth0");
	CHECK_INT(p->ifaces[0].pos.line, 5);
	CHECK_INT(p->ifaces[0].pos.col, 5);
	CHECK_INT(p->ifaces[0].dir[POL_EGRESS].n, 1);
	CHECK_INT(p->ifaces[0].dir[POL_INGRESS].n, 1);

	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		m = &r->match;
		CHECK_STR(r->name, "backup");
		CHECK_INT(r->pos.line, 7);
		CHECK_INT(r->pos.col, 9);
		CHECK_INT(m->n_proto, 2);
		CHECK_INT(m->proto[0].lo, 6);
		CHECK_INT(m->proto[0].hi, 6);
		CHECK_INT(m->proto[1].lo, 17);
		CHECK_INT(m->proto[1].hi, 17);
		CHECK_INT(m->n_src, 1);
		CHECK(prefix_is(&m->src[0], 4, 15, "198.18.0.0"));
		CHECK_INT(m->n_dst, 2);
		CHECK(prefix_is(&m->dst[0], 4, 32, "198.18.4.1"));
		CHECK(prefix_is(&m->dst[1], 6, 32, "2001:db8::"));
		CHECK_INT(m->dst[1].addr[0], 0x20);	/* network byte order */
		CHECK_INT(m->dst[1].addr[3], 0xb8);
		CHECK_INT(m->n_sport, 1);
		CHECK_INT(m->sport[0].lo, 873);
		CHECK_INT(m->sport[0].hi, 873);
		CHECK_INT(m->n_dport, 3);
		CHECK_INT(m->dport[0].lo, 80);
		CHECK_INT(m->dport[0].hi, 80);
		CHECK_INT(m->dport[1].lo, 1000);
		CHECK_INT(m->dport[1].hi, 2000);
		CHECK_INT(m->dport[2].lo, 443);
		CHECK_INT(m->dport[2].hi, 443);
		CHECK_INT(m->n_dscp, 2);
		CHECK_INT(m->dscp[0].lo, 10);
		CHECK_INT(m->dscp[0].hi, 10);
		CHECK_INT(m->dscp[1].lo, 46);
		CHECK_U64(r->rate_bps, 50000000);
		CHECK_U64(r->burst_bytes, 65536);
		CHECK_INT(r->per, POL_PER_SRC);
		CHECK_INT(r->action, POL_ACT_DROP);
	}
	r = RULE_AT(p, 0, POL_INGRESS, 0);
	if (r) {
		CHECK_STR(r->name, "in.1_x-y");
		CHECK_INT(r->pos.line, 20);
		CHECK_INT(r->pos.col, 9);
		CHECK_U64(r->rate_bps, 1500000);
	}
	policy_free(p);
	return 0;
}

static int test_rule_defaults(void)
{
	struct policy *p;
	struct pol_rule *r;

	MUST_PARSE(p, R("        rate: 10mbit\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->per, POL_PER_FLOW);
		/* egress without an action: pace where the host can (policy_rule_action) */
		CHECK_INT(r->action, POL_ACT_AUTO);
		CHECK_U64(r->burst_bytes, POL_DEFAULT_BURST_MIN);
		CHECK_INT(r->match.n_proto + r->match.n_sport + r->match.n_dport +
				  r->match.n_dscp + r->match.n_src + r->match.n_dst, 0);
		CHECK(!r->match.proto && !r->match.sport && !r->match.dport && !r->match.dscp &&
		      !r->match.src && !r->match.dst);
		CHECK_INT(p->ifaces[0].dir[POL_INGRESS].n, 0);
	}
	policy_free(p);

	/* empty match, and a match key with nothing under it: all IP traffic */
	MUST_PARSE(p, R("        rate: 10mbit\n        match: {}\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r)
		CHECK_INT(r->match.n_dst, 0);
	policy_free(p);
	MUST_PARSE(p, R("        match:\n        rate: 10mbit\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r)
		CHECK_INT(r->match.n_proto, 0);
	policy_free(p);
	return 0;
}

static uint64_t burst_of(const char *rate, const char *burst)
{
	char yaml[512];
	struct policy *p;
	uint64_t b = 0;

	snprintf(yaml, sizeof(yaml), R("        rate: %s\n%s%s%s"), rate, burst ? "        burst: " : "",
		 burst ? burst : "", burst ? "\n" : "");
	if (parse(yaml, &p) == 0) {
		b = p->ifaces[0].dir[POL_EGRESS].v[0].burst_bytes;
		policy_free(p);
	} else {
		dump_errs();
	}
	return b;
}

/* Default: 10 ms at the rate, rounded up, at least 64 KiB. */
static int test_burst_default(void)
{
	struct policy *p;

	CHECK_U64(burst_of("10mbit", NULL), 65536);
	CHECK_U64(burst_of("1bit", NULL), 65536);
	CHECK_U64(burst_of("100mbit", NULL), 125000);
	CHECK_U64(burst_of("1gbit", NULL), 1250000);
	CHECK_U64(burst_of("52428800bit", NULL), 65536);
	CHECK_U64(burst_of("52428900bit", NULL), 65537);	/* 65536.125: up */
	/* ingress: 100 ms at the rate, a WAN round trip of a TCP sender */
	MUST_PARSE(p, V1 "interfaces:\n  - name: eth0\n    ingress:\n"
			 "      - {name: a, rate: 10mbit}\n      - {name: b, rate: 1mbit}\n");
	if (p) {
		CHECK_U64(p->ifaces[0].dir[POL_INGRESS].v[0].burst_bytes, 125000);
		CHECK_U64(p->ifaces[0].dir[POL_INGRESS].v[1].burst_bytes, 65536);
	}
	policy_free(p);
	CHECK_U64(burst_of("10tbit", NULL), 12500000000ull);
	return 0;
}

static int test_burst_sizes(void)
{
	CHECK_U64(burst_of("10mbit", "64kb"), 65536);
	CHECK_U64(burst_of("10mbit", "64K"), 65536);
	CHECK_U64(burst_of("10mbit", "1500"), 1500);
	CHECK_U64(burst_of("10mbit", "1500b"), 1500);
	CHECK_U64(burst_of("10mbit", "1"), 1);
	CHECK_U64(burst_of("10mbit", "2mb"), 2097152);
	CHECK_U64(burst_of("10mbit", "1g"), 1073741824ull);
	CHECK_U64(burst_of("10mbit", "1mbit"), 131072);
	CHECK_U64(burst_of("10mbit", "1.5kb"), 1536);
	return 0;
}

/* A time is that long at the rate, rounded up, at least one byte. */
static int test_burst_time(void)
{
	CHECK_U64(burst_of("50mbit", "10ms"), 62500);
	CHECK_U64(burst_of("1gbit", "1.5ms"), 187500);
	CHECK_U64(burst_of("8bit", "1s"), 1);
	CHECK_U64(burst_of("3bit", "1sec"), 1);		/* 0.375 byte: up to 1 */
	CHECK_U64(burst_of("1mbit", "1us"), 1);		/* 0.125 byte */
	CHECK_U64(burst_of("1mbit", "100usec"), 13);	/* 12.5 bytes */
	CHECK_U64(burst_of("80mbit", "2secs"), 20000000);
	CHECK_U64(burst_of("1kbps", "1s"), 1000);
	return 0;
}

static int test_per_values(void)
{
	static const char *const names[] = { "flow", "src", "dst", "rule" };
	static const enum pol_per want[] = { POL_PER_FLOW, POL_PER_SRC, POL_PER_DST,
					     POL_PER_RULE };
	char yaml[512];
	struct policy *p;
	struct pol_rule *r;
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(yaml, sizeof(yaml), R("        rate: 1mbit\n        per: %s\n"), names[i]);
		MUST_PARSE(p, yaml);
		r = RULE_AT(p, 0, POL_EGRESS, 0);
		if (r)
			CHECK_INT(r->per, want[i]);
		policy_free(p);
		CHECK_STR(pol_per_name(want[i]), names[i]);
	}
	CHECK_STR(pol_per_name((enum pol_per)99), "?");
	return 0;
}

static int test_protocols(void)
{
	struct policy *p;
	struct pol_rule *r;
	static const int want[] = { 6, 17, 1, 58, 132, 136, 6, 17, 0, 255, 47 };
	size_t i;

	MUST_PARSE(p, M("          proto: [tcp, udp, icmp, icmpv6, sctp, udplite, TCP, Udp, 0, 255, 47]\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->match.n_proto, 11);
		for (i = 0; i < 11 && i < r->match.n_proto; i++) {
			CHECK_INT(r->match.proto[i].lo, want[i]);
			CHECK_INT(r->match.proto[i].hi, want[i]);
		}
	}
	policy_free(p);

	MUST_PARSE(p, M("          proto: icmpv6\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r && r->match.n_proto == 1)
		CHECK_INT(r->match.proto[0].lo, 58);
	policy_free(p);
	return 0;
}

static int test_ports(void)
{
	struct policy *p;
	struct pol_rule *r;

	/* int scalar, quoted number, ranges, the ends of the range */
	MUST_PARSE(p, M("          sport: \"5201\"\n"
			"          dport: [0, 65535, \"80-80\", 0-65535, \"1024-2047\"]\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->match.n_sport, 1);
		CHECK_INT(r->match.sport[0].lo, 5201);
		CHECK_INT(r->match.n_dport, 5);
		CHECK_INT(r->match.dport[0].lo, 0);
		CHECK_INT(r->match.dport[1].lo, 65535);
		CHECK_INT(r->match.dport[1].hi, 65535);
		CHECK_INT(r->match.dport[2].lo, 80);
		CHECK_INT(r->match.dport[2].hi, 80);
		CHECK_INT(r->match.dport[3].lo, 0);
		CHECK_INT(r->match.dport[3].hi, 65535);
		CHECK_INT(r->match.dport[4].lo, 1024);
		CHECK_INT(r->match.dport[4].hi, 2047);
		CHECK_INT(r->match.n_proto, 0);	/* the compile step narrows, not us */
	}
	policy_free(p);

	/* ports with the port protocols, by name and by number */
	MUST_PARSE(p, M("          proto: [tcp, udp, sctp, udplite, 6, 17, 132, 136]\n"
			"          dport: 53\n"));
	policy_free(p);
	return 0;
}

static int test_prefixes(void)
{
	struct policy *p;
	struct pol_rule *r;

	MUST_PARSE(p, M("          src: [10.1.2.3, \"2001:db8::1\", 0.0.0.0/0, \"::/0\", 198.18.0.0/15,\n"
			"                \"2001:db8:ff00::/40\", 192.0.2.128/25, 255.255.255.255/32]\n"
			"          dst:\n"
			"            - ::1\n"
			"            - fe80::/10\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->match.n_src, 8);
		CHECK(prefix_is(&r->match.src[0], 4, 32, "10.1.2.3"));
		CHECK(prefix_is(&r->match.src[1], 6, 128, "2001:db8::1"));
		CHECK(prefix_is(&r->match.src[2], 4, 0, "0.0.0.0"));
		CHECK(prefix_is(&r->match.src[3], 6, 0, "::"));
		CHECK(prefix_is(&r->match.src[4], 4, 15, "198.18.0.0"));
		CHECK(prefix_is(&r->match.src[5], 6, 40, "2001:db8:ff00::"));
		CHECK(prefix_is(&r->match.src[6], 4, 25, "192.0.2.128"));
		CHECK(prefix_is(&r->match.src[7], 4, 32, "255.255.255.255"));
		CHECK_INT(r->match.n_dst, 2);
		CHECK(prefix_is(&r->match.dst[0], 6, 128, "::1"));
		CHECK(prefix_is(&r->match.dst[1], 6, 10, "fe80::"));
		/* an IPv4 prefix leaves addr[4..15] zero */
		CHECK_INT(r->match.src[0].addr[4] | r->match.src[0].addr[15], 0);
	}
	policy_free(p);
	return 0;
}

static int test_dscp(void)
{
	struct policy *p;
	struct pol_rule *r;

	MUST_PARSE(p, M("          dscp: [0, 63, 46]\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->match.n_dscp, 3);
		CHECK_INT(r->match.dscp[0].lo, 0);
		CHECK_INT(r->match.dscp[1].lo, 63);
		CHECK_INT(r->match.dscp[1].hi, 63);
		CHECK_INT(r->match.dscp[2].lo, 46);
	}
	policy_free(p);

	MUST_PARSE(p, M("          dscp: 10\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r && r->match.n_dscp == 1)
		CHECK_INT(r->match.dscp[0].lo, 10);
	policy_free(p);
	return 0;
}

static int test_interfaces_and_order(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "interfaces:\n"
		      "  - name: eth0\n"
		      "    ingress:\n"
		      "      - {name: a, rate: 1mbit}\n"
		      "      - {name: b, rate: 2mbit}\n"
		      "    egress:\n"
		      "      - {name: a, rate: 3mbit}\n"	/* same name, other direction */
		      "  - name: \"veth*\"\n"
		      "    egress:\n"
		      "      - {name: a, rate: 4mbit}\n"	/* same name, other entry */
		      "  - name: lo\n"			/* no rules: valid */
		      "  - name: eth1\n"
		      "    egress:\n"			/* no value: no rules */
		      "    ingress: []\n");
	if (!p)
		return 0;
	CHECK_INT(p->n_ifaces, 4);
	CHECK_STR(p->ifaces[0].name, "eth0");
	CHECK_STR(p->ifaces[1].name, "veth*");
	CHECK_STR(p->ifaces[2].name, "lo");
	CHECK_STR(p->ifaces[3].name, "eth1");
	CHECK_INT(p->ifaces[1].pos.line, 9);
	CHECK_INT(p->ifaces[1].pos.col, 5);
	CHECK_INT(p->ifaces[0].dir[POL_INGRESS].n, 2);
	CHECK_STR(p->ifaces[0].dir[POL_INGRESS].v[0].name, "a");
	CHECK_STR(p->ifaces[0].dir[POL_INGRESS].v[1].name, "b");
	CHECK_U64(p->ifaces[0].dir[POL_INGRESS].v[1].rate_bps, 2000000);
	CHECK_INT(p->ifaces[0].dir[POL_INGRESS].v[0].pos.line, 5);
	CHECK_INT(p->ifaces[0].dir[POL_INGRESS].v[0].pos.col, 9);
	CHECK_U64(p->ifaces[0].dir[POL_EGRESS].v[0].rate_bps, 3000000);
	CHECK_U64(p->ifaces[1].dir[POL_EGRESS].v[0].rate_bps, 4000000);
	CHECK_INT(p->ifaces[2].dir[POL_EGRESS].n + p->ifaces[2].dir[POL_INGRESS].n, 0);
	CHECK_INT(p->ifaces[3].dir[POL_EGRESS].n + p->ifaces[3].dir[POL_INGRESS].n, 0);
	policy_free(p);
	return 0;
}

static int test_iface_for(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "interfaces:\n"
		      "  - name: eth0\n"
		      "  - name: \"eth*\"\n"
		      "    egress: [{name: a, rate: 1mbit}]\n"
		      "  - name: \"veth[0-3]\"\n"
		      "  - name: \"v?th*\"\n");
	if (!p)
		return 0;
	CHECK(policy_iface_for(p, "eth0") == &p->ifaces[0]);	/* first entry wins */
	CHECK(policy_iface_for(p, "eth1") == &p->ifaces[1]);
	CHECK(policy_iface_for(p, "eth") == &p->ifaces[1]);
	CHECK(policy_iface_for(p, "veth2") == &p->ifaces[2]);
	CHECK(policy_iface_for(p, "veth7") == &p->ifaces[3]);
	CHECK(policy_iface_for(p, "vxth") == &p->ifaces[3]);
	CHECK(policy_iface_for(p, "wlan0") == NULL);
	CHECK(policy_iface_for(p, "xeth0") == NULL);
	CHECK(policy_iface_for(p, NULL) == NULL);
	CHECK(policy_iface_for(NULL, "eth0") == NULL);
	/* the entry without rules claims eth0: the glob's rule does not apply */
	CHECK_INT(policy_iface_for(p, "eth0")->dir[POL_EGRESS].n, 0);
	policy_free(p);
	return 0;
}

static int test_dir_names(void)
{
	CHECK_STR(pol_dir_name(POL_INGRESS), "ingress");
	CHECK_STR(pol_dir_name(POL_EGRESS), "egress");
	CHECK_STR(pol_dir_name(POL_DIR_NR), "?");
	CHECK_INT(POL_INGRESS, 0);	/* == TCS_DIR_INGRESS */
	CHECK_INT(POL_EGRESS, 1);	/* == TCS_DIR_EGRESS */
	return 0;
}

static const char anchors[] =
	"version: 1\n"
	"interfaces:\n"
	"  - name: eth0\n"
	"    egress: &common\n"
	"      - name: web\n"
	"        match: &webmatch\n"
	"          proto: tcp\n"
	"          dport: &ports [80, 443]\n"
	"        rate: 10mbit\n"
	"      - &bulk\n"
	"        name: bulk\n"
	"        rate: 1mbit\n"
	"  - name: \"veth*\"\n"
	"    egress: *common\n"
	"    ingress:\n"
	"      - *bulk\n"
	"      - name: web-in\n"
	"        match: *webmatch\n"
	"        rate: 5mbit\n"
	"      - name: ports-only\n"
	"        match: {dport: *ports}\n"
	"        rate: 2mbit\n";

/* An alias is the anchored node itself: a rule list reused across entries. */
static int test_anchors_and_aliases(void)
{
	struct policy *p;
	struct pol_rules *a, *b, *in;

	MUST_PARSE(p, anchors);
	if (!p)
		return 0;
	CHECK_INT(p->n_ifaces, 2);
	a = &p->ifaces[0].dir[POL_EGRESS];
	b = &p->ifaces[1].dir[POL_EGRESS];
	in = &p->ifaces[1].dir[POL_INGRESS];
	CHECK_INT(a->n, 2);
	CHECK_INT(b->n, 2);
	CHECK_INT(in->n, 3);
	if (a->n != 2 || b->n != 2 || in->n != 3)
		goto out;
	CHECK_STR(b->v[0].name, "web");
	CHECK_STR(b->v[1].name, "bulk");
	CHECK(b->v[0].name != a->v[0].name);	/* a copy each: freed separately */
	CHECK(b->v[0].match.dport != a->v[0].match.dport);
	CHECK_INT(b->v[0].match.n_dport, 2);
	CHECK_INT(b->v[0].match.dport[1].lo, 443);
	CHECK_INT(b->v[0].match.n_proto, 1);
	CHECK_U64(b->v[0].rate_bps, 10000000);
	/* positions are the anchored node's */
	CHECK_INT(b->v[0].pos.line, 5);
	CHECK_INT(b->v[1].pos.line, 10);
	CHECK_INT(b->v[1].pos.col, 9);
	CHECK_STR(in->v[0].name, "bulk");
	CHECK_U64(in->v[0].rate_bps, 1000000);
	CHECK_STR(in->v[1].name, "web-in");
	CHECK_INT(in->v[1].match.n_proto, 1);
	CHECK_INT(in->v[1].match.n_dport, 2);
	CHECK_U64(in->v[1].rate_bps, 5000000);
	CHECK_INT(in->v[2].match.n_dport, 2);
	CHECK_INT(in->v[2].match.n_proto, 0);
out:
	policy_free(p);
	return 0;
}

/* Quoting does not change a scalar's meaning: "1" and 1 are the same. */
static int test_quoted_scalars(void)
{
	struct policy *p;
	struct pol_rule *r;

	MUST_PARSE(p, "version: \"1\"\ninterfaces:\n  - name: 'eth0'\n    egress:\n"
		      "      - {name: \"r\", rate: '10mbit', per: \"dst\", match: {dscp: \"7\"}}\n");
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_U64(r->rate_bps, 10000000);
		CHECK_INT(r->per, POL_PER_DST);
		CHECK_INT(r->match.dscp[0].lo, 7);
	}
	policy_free(p);
	return 0;
}

/* ---- what is refused: the document ---------------------------------------- */

static int test_syntax_errors(void)
{
	EXPECT_ERR(V1 "interfaces: [\n",
		   "t.yaml:3:1: YAML syntax error: did not find expected node content while parsing a flow node");
	EXPECT_ERR(V1 "interfaces:\n\t- name: x\n",
		   "t.yaml:3:1: YAML syntax error: found character that cannot start any token while scanning for the next token");
	EXPECT_ERR(V1 "interfaces:\n  - name: \"eth0\n",
		   "t.yaml:4:1: YAML syntax error: found unexpected end of stream while scanning a quoted scalar");
	EXPECT_ERR(V1 " interfaces: []\n",
		   "t.yaml:2:12: YAML syntax error: mapping values are not allowed in this context");
	EXPECT_ERR(V1 "interfaces: *nope\n",
		   "t.yaml:2:13: YAML syntax error: found undefined alias");
	return 0;
}

static int test_empty_policy(void)
{
	static const char msg[] =
		"t.yaml:1:1: empty policy; expected a mapping with \"version: 1\" and \"interfaces\"";

	EXPECT_ERR("", msg);
	EXPECT_ERR("# nothing here\n\n   # still nothing\n", msg);
	EXPECT_ERR("---\n", msg);
	EXPECT_ERR("~\n", msg);
	EXPECT_ERR("- version: 1\n",
		   "t.yaml:1:1: the policy must be a mapping with \"version: 1\" and \"interfaces\"");
	EXPECT_ERR("# hello\nversion 1\n",
		   "t.yaml:2:1: the policy must be a mapping with \"version: 1\" and \"interfaces\"");
	return 0;
}

static int test_version(void)
{
	struct policy *p;
	int rc;

	EXPECT_ERR(V1 "version: 1\ninterfaces: []\n",
		   "t.yaml:2:1: duplicate key \"version\" at the top level (first at 1:1)");
	EXPECT_ERR("version: 2\ninterfaces: []\n",
		   "t.yaml:1:10: unsupported policy version 2; this tcshaped reads version 1");
	EXPECT_ERR("version: 1.0\ninterfaces: []\n",
		   "t.yaml:1:10: unsupported policy version \"1.0\"; this tcshaped reads version 1");
	EXPECT_ERR("version: [1]\ninterfaces: []\n", "t.yaml:1:10: \"version\" must be a scalar");
	EXPECT_ERR("version:\ninterfaces: []\n", "t.yaml:1:9: \"version\" has no value");
	/* another version's keys are not judged: only the version is reported */
	EXPECT_ERR("version: 2\nshapers: {}\ninterfaces: 7\n",
		   "t.yaml:1:10: unsupported policy version 2; this tcshaped reads version 1");

	/* a missing version does not stop the walk: the rest is reported too */
	rc = parse("interfaces: []\nsetting: {}\n", &p);
	CHECK_REFUSED(rc, p, 2);
	if (n_errs == 2) {
		CHECK_STR(errs[0], "t.yaml:1:1: missing \"version\"; the policy should start with \"version: 1\"");
		CHECK_STR(errs[1], "t.yaml:2:1: unknown key \"setting\" at the top level; expected one of: version, settings, interfaces");
	}
	return 0;
}

static int test_second_document(void)
{
	EXPECT_ERR(V1 "interfaces: []\n---\nversion: 1\n",
		   "t.yaml:3:1: a second YAML document; a policy is one document");
	EXPECT_ERR(V1 "interfaces: []\n---\n[\n",
		   "t.yaml:5:1: YAML syntax error: did not find expected node content while parsing a flow node");
	return 0;
}

static int test_missing_interfaces(void)
{
	EXPECT_ERR(V1, "t.yaml:1:1: missing \"interfaces\"");
	EXPECT_ERR(V1 "settings: {max_keys: 5}\n", "t.yaml:1:1: missing \"interfaces\"");
	return 0;
}

static int test_unknown_keys(void)
{
	EXPECT_ERR(V1 "interface: []\ninterfaces: []\n",
		   "t.yaml:2:1: unknown key \"interface\" at the top level; expected one of: version, settings, interfaces");
	EXPECT_ERR(V1 "settings:\n  maxkeys: 5\ninterfaces: []\n",
		   "t.yaml:3:3: unknown key \"maxkeys\" in settings; expected one of: max_keys, "
		   "tc_priority, on_stop, resync, metrics_textfile, metrics_interval, metrics_listen, pace_fallback, "
		   "manage_root_qdisc, socket_pacing");
	EXPECT_ERR(V1 "interfaces:\n  - name: eth0\n    egres: []\n",
		   "t.yaml:4:5: unknown key \"egres\" in interface entry; expected one of: name, ingress, egress");
	EXPECT_ERR(R("        rat: 1mbit\n        rate: 1mbit\n"),
		   "t.yaml:6:9: unknown key \"rat\" in rule; expected one of: name, match, rate, burst, per, action, max_delay, ecn, ecn_threshold, total, key_prefix");
	EXPECT_ERR(M("          port: 80\n"),
		   "t.yaml:8:11: unknown key \"port\" in match; expected one of: proto, src, dst, sport, dport, dscp");
	EXPECT_ERR(M("          Proto: tcp\n"),
		   "t.yaml:8:11: unknown key \"Proto\" in match; expected one of: proto, src, dst, sport, dport, dscp");
	return 0;
}

static int test_wrong_types(void)
{
	EXPECT_ERR(V1 "interfaces: eth0\n",
		   "t.yaml:2:13: \"interfaces\" must be a list of interface entries");
	EXPECT_ERR(V1 "interfaces: {name: eth0}\n",
		   "t.yaml:2:13: \"interfaces\" must be a list of interface entries");
	EXPECT_ERR(V1 "interfaces:\n  - eth0\n",
		   "t.yaml:3:5: each interface entry must be a mapping with \"name\" and rules");
	EXPECT_ERR(V1 "settings: [1]\ninterfaces: []\n", "t.yaml:2:11: \"settings\" must be a mapping");
	EXPECT_ERR(V1 "interfaces:\n  - name: eth0\n    egress:\n      name: r\n      rate: 1mbit\n",
		   "t.yaml:5:7: \"egress\" must be a list of rules");
	EXPECT_ERR(V1 "interfaces:\n  - name: eth0\n    ingress: r\n",
		   "t.yaml:4:14: \"ingress\" must be a list of rules");
	EXPECT_ERR(EGRESS "      - r\n",
		   "t.yaml:5:9: each rule must be a mapping with \"name\" and \"rate\"");
	EXPECT_ERR(R("        rate: [1]\n"), "t.yaml:6:15: \"rate\" must be a scalar");
	EXPECT_ERR(R("        rate: {a: 1}\n"), "t.yaml:6:15: \"rate\" must be a scalar");
	EXPECT_ERR(V1 "interfaces:\n  - name: [eth0]\n", "t.yaml:3:11: \"name\" must be a scalar");
	EXPECT_ERR(R("        rate: 1mbit\n        match: [proto: tcp]\n"),
		   "t.yaml:7:16: \"match\" must be a mapping");
	EXPECT_ERR(M("          dst: {a: 1}\n"),
		   "t.yaml:8:16: \"dst\" must be an address or prefix, or a list of them");
	EXPECT_ERR(M("          dport: [[80]]\n"),
		   "t.yaml:8:19: each item of \"dport\" must be a port or a port range");
	EXPECT_ERR(M("          proto: [tcp, ~]\n"),
		   "t.yaml:8:24: each item of \"proto\" must be a protocol");
	EXPECT_ERR(V1 "interfaces:\n  - name: eth0\n    [a]: 1\n",
		   "t.yaml:4:5: keys in interface entry must be scalars");
	EXPECT_ERR(V1 "settings: {tc_priority: {}}\ninterfaces: []\n",
		   "t.yaml:2:25: \"tc_priority\" must be a scalar");
	return 0;
}

static int test_no_value(void)
{
	EXPECT_ERR(R("        rate:\n"), "t.yaml:6:14: \"rate\" has no value");
	EXPECT_ERR(R("        rate: ~\n"), "t.yaml:6:15: \"rate\" has no value");
	EXPECT_ERR(M("          dst:\n"),
		   "t.yaml:8:15: \"dst\" has no value; remove the key to match any");
	EXPECT_ERR(V1 "interfaces:\n  - name:\n", "t.yaml:3:10: \"name\" has no value");
	EXPECT_ERR(R("        rate: \"1mbit\\0x\"\n"), "t.yaml:6:15: \"rate\" contains a NUL character");
	return 0;
}

static int test_merge_and_duplicate_keys(void)
{
	struct policy *p;
	int rc;

	/* the merge is not done, so the rule really has no rate */
	rc = parse(V1 "interfaces:\n  - name: eth0\n    egress:\n"
		      "      - &base {name: a, rate: 1mbit}\n"
		      "      - <<: *base\n"
		      "        name: b\n",
		   &p);
	CHECK_REFUSED(rc, p, 2);
	if (n_errs == 2) {
		CHECK_STR(errs[0], "t.yaml:6:9: merge keys (\"<<\") are not supported; alias a whole rule, rule list or match instead");
		CHECK_STR(errs[1], "t.yaml:6:9: missing \"rate\" in rule \"b\"");
	}
	EXPECT_ERR(R("        rate: 1mbit\n        rate: 2mbit\n"),
		   "t.yaml:7:9: duplicate key \"rate\" in rule (first at 6:9)");
	return 0;
}

/* ---- what is refused: interfaces and rules ------------------------------- */

static int test_bad_interfaces(void)
{
	EXPECT_ERR(V1 "interfaces:\n  - egress: []\n",
		   "t.yaml:3:5: missing \"name\" in interface entry");
	EXPECT_ERR(V1 "interfaces:\n  - name: eth0\n  - name: eth1\n  - name: eth0\n",
		   "t.yaml:5:11: duplicate interface entry \"eth0\" (first at 3:5)");
	EXPECT_ERR(V1 "interfaces:\n  - name: abcdefghijklmnop\n",
		   "t.yaml:3:11: interface name \"abcdefghijklmnop\" is longer than 15 characters");
	EXPECT_ERR(V1 "interfaces:\n  - name: \"veth*-0123456789012345678901234567890123456789012345678901234567\"\n",
		   "t.yaml:3:11: interface pattern \"veth*-0123456789012345678901234567890123456789012345678901234567\" is longer than 63 characters");
	EXPECT_ERR(V1 "interfaces:\n  - name: \"eth0:1\"\n",
		   "t.yaml:3:11: bad interface name \"eth0:1\": names cannot be \".\" or \"..\" nor contain '/', ':' or whitespace");
	EXPECT_ERR(V1 "interfaces:\n  - name: \"\"\n",
		   "t.yaml:3:11: interface name must not be empty");
	return 0;
}

static int test_bad_rule_names(void)
{
	EXPECT_ERR(EGRESS "      - rate: 1mbit\n", "t.yaml:5:9: missing \"name\" in rule");
	EXPECT_ERR(R("        per: src\n"), "t.yaml:5:9: missing \"rate\" in rule \"r\"");
	EXPECT_ERR(EGRESS "      - name: a b\n        rate: 1mbit\n",
		   "t.yaml:5:15: bad rule name \"a b\": use 1-63 characters from A-Z a-z 0-9 _ . -");
	EXPECT_ERR(EGRESS "      - name: \"\"\n        rate: 1mbit\n",
		   "t.yaml:5:15: bad rule name \"\": use 1-63 characters from A-Z a-z 0-9 _ . -");
	EXPECT_ERR(EGRESS "      - name: x123456789012345678901234567890123456789012345678901234567890123\n"
			  "        rate: 1mbit\n",
		   "t.yaml:5:15: bad rule name \"x123456789012345678901234567890123456789012345678901234567890123\": use 1-63 characters from A-Z a-z 0-9 _ . -");
	EXPECT_ERR(EGRESS "      - name: x\n        rate: 1mbit\n"
			  "      - name: y\n        rate: 1mbit\n"
			  "      - name: x\n        rate: 2mbit\n",
		   "t.yaml:9:15: duplicate rule name \"x\" in eth0 egress (first at 5:9)");
	/* the entry's name labels the message even when it comes after its rules */
	EXPECT_ERR(V1 "interfaces:\n  - ingress:\n      - {name: x, rate: 1bit}\n"
		      "      - {name: x, rate: 1bit}\n    name: \"veth*\"\n",
		   "t.yaml:5:16: duplicate rule name \"x\" in veth* ingress (first at 4:9)");
	return 0;
}

static int test_bad_rates(void)
{
	EXPECT_ERR(R("        rate: 0mbit\n"), "t.yaml:6:15: rate must be greater than 0");
	EXPECT_ERR(R("        rate: 0.4bit\n"), "t.yaml:6:15: rate must be greater than 0");
	EXPECT_ERR(R("        rate: 100\n"),
		   "t.yaml:6:15: rate \"100\" needs a unit, e.g. 100mbit or 100bps (bytes/s)");
	EXPECT_ERR(R("        rate: 0\n"),
		   "t.yaml:6:15: rate \"0\" needs a unit, e.g. 0mbit or 0bps (bytes/s)");
	EXPECT_ERR(R("        rate: 10mbits\n"),
		   "t.yaml:6:15: unknown rate unit \"mbits\" in \"10mbits\"; use bit, kbit, mbit, gbit, tbit, bps, kbps, ... (tc(8) units)");
	EXPECT_ERR(R("        rate: 10mb\n"),
		   "t.yaml:6:15: unknown rate unit \"mb\" in \"10mb\"; use bit, kbit, mbit, gbit, tbit, bps, kbps, ... (tc(8) units)");
	EXPECT_ERR(R("        rate: 10 mbit\n"),
		   "t.yaml:6:15: rate \"10 mbit\" must not contain spaces; write 10mbit");
	EXPECT_ERR(R("        rate: -10mbit\n"),
		   "t.yaml:6:15: bad rate \"-10mbit\": expected a number and a unit, e.g. 10mbit");
	EXPECT_ERR(R("        rate: mbit\n"),
		   "t.yaml:6:15: bad rate \"mbit\": expected a number and a unit, e.g. 10mbit");
	EXPECT_ERR(R("        rate: \"\"\n"),
		   "t.yaml:6:15: bad rate \"\": expected a number and a unit, e.g. 10mbit");
	EXPECT_ERR(R("        rate: 18446744073709551616bit\n"),
		   "t.yaml:6:15: rate \"18446744073709551616bit\" is too large (more than 2^64-1 bit/s)");
	EXPECT_ERR(R("        rate: 20000000tbit\n"),
		   "t.yaml:6:15: rate \"20000000tbit\" is too large (more than 2^64-1 bit/s)");
	return 0;
}

static int test_bad_bursts(void)
{
	struct policy *p;
	int rc;

	EXPECT_ERR(R("        rate: 1mbit\n        burst: 0\n"),
		   "t.yaml:7:16: burst must be greater than 0");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 0kb\n"),
		   "t.yaml:7:16: burst must be greater than 0");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 0ms\n"),
		   "t.yaml:7:16: burst must be greater than 0");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 64kib\n"),
		   "t.yaml:7:16: unknown burst unit \"kib\" in \"64kib\"; use b, kb, mb, gb, kbit, mbit, gbit (tc(8) sizes) or s, ms, us");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 64 kb\n"),
		   "t.yaml:7:16: burst \"64 kb\" must not contain spaces; write 64kb");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: big\n"),
		   "t.yaml:7:16: bad burst \"big\": expected a size such as 64kb or a time such as 10ms");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 17179869184gb\n"),
		   "t.yaml:7:16: burst \"17179869184gb\" is too large");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: 99999999999999999999ms\n"),
		   "t.yaml:7:16: burst \"99999999999999999999ms\" is too large");
	EXPECT_ERR(R("        rate: 10000000tbit\n        burst: 10000000s\n"),
		   "t.yaml:7:16: burst \"10000000s\" is too large at this rate");
	EXPECT_ERR(R("        rate: 1mbit\n        burst: [1]\n"), "t.yaml:7:16: \"burst\" must be a scalar");

	/* the burst is still checked when the rate is wrong */
	rc = parse(R("        rate: 100\n        burst: 0kb\n"), &p);
	CHECK_REFUSED(rc, p, 2);
	if (n_errs == 2) {
		CHECK_STR(errs[0], "t.yaml:6:15: rate \"100\" needs a unit, e.g. 100mbit or 100bps (bytes/s)");
		CHECK_STR(errs[1], "t.yaml:7:16: burst must be greater than 0");
	}
	return 0;
}

static int test_bad_per_and_action(void)
{
	EXPECT_ERR(R("        rate: 1mbit\n        per: host\n"),
		   "t.yaml:7:14: \"per\" must be one of: flow, src, dst, rule; got \"host\"");
	EXPECT_ERR(R("        rate: 1mbit\n        action: reject\n"),
		   "t.yaml:7:17: unknown action \"reject\"; expected drop or pace");
	return 0;
}

#define PACE_IN(dir, body)                                                        \
	V1 "interfaces:\n  - name: eth0\n    " dir ":\n      - name: r\n        rate: 10mbit\n" body

static int test_pace_keys(void)
{
	struct policy *p;
	struct pol_rule *r;

	/* defaults: 5 ms, but never below one 64 KiB skb at the rate; ECN at a quarter */
	MUST_PARSE(p, V1 "interfaces:\n  - name: eth0\n    egress:\n      - name: r\n"
			 "        rate: 1gbit\n        action: pace\n");
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->action, POL_ACT_PACE);
		CHECK_U64(r->max_delay_ns, 5000000);
		CHECK_INT(r->ecn, 0);
		CHECK_U64(r->ecn_ns, 1250000);
	}
	policy_free(p);
	MUST_PARSE(p, PACE_IN("egress", "        action: pace\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) /* 65536 bytes at 10 mbit: 52.4288 ms */
		CHECK_U64(r->max_delay_ns, 52428800);
	policy_free(p);
	MUST_PARSE(p, PACE_IN("egress", "        max_delay: 80ms\n        ecn: true\n"
					"        ecn_threshold: 2ms\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_INT(r->action, POL_ACT_AUTO);
		CHECK_U64(r->max_delay_ns, 80000000);
		CHECK_INT(r->ecn, 1);
		CHECK_U64(r->ecn_ns, 2000000);
	}
	policy_free(p);

	EXPECT_ERR(PACE_IN("ingress", "        action: pace\n"),
		   "t.yaml:7:17: action \"pace\" only works on egress: arriving packets cannot "
		   "be held back; use drop");
	EXPECT_ERR(PACE_IN("egress", "        action: drop\n        max_delay: 80ms\n"),
		   "t.yaml:8:20: max_delay, ecn and ecn_threshold only apply to action: pace");
	EXPECT_ERR(PACE_IN("ingress", "        ecn: true\n"),
		   "t.yaml:7:14: max_delay, ecn and ecn_threshold only apply to action: pace");
	EXPECT_ERR(PACE_IN("egress", "        max_delay: 1ms\n"),
		   "t.yaml:7:20: max_delay 1ms is shorter than one 64 KiB packet takes at 10mbit "
		   "(52428 us)");
	EXPECT_ERR(PACE_IN("egress", "        max_delay: 4295s\n"),
		   "t.yaml:7:20: max_delay 4295s is longer than fq can hold a packet back (its "
		   "horizon is 32 bits of microseconds: 4294 s at most)");
	MUST_PARSE(p, PACE_IN("egress", "        max_delay: 4294s\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r)
		CHECK_U64(r->max_delay_ns, 4294000000000ull);
	policy_free(p);
	EXPECT_ERR(PACE_IN("egress", "        max_delay: soon\n"),
		   "t.yaml:7:20: bad max_delay \"soon\": expected a time such as 5ms");
	EXPECT_ERR(PACE_IN("egress", "        ecn: yes\n"),
		   "t.yaml:7:14: ecn must be true or false; got \"yes\"");
	EXPECT_ERR(PACE_IN("egress", "        ecn: true\n        ecn_threshold: 60ms\n"),
		   "t.yaml:8:24: ecn_threshold 60ms must be below max_delay");
	EXPECT_ERR(PACE_IN("egress", "        ecn_threshold: 6ms\n"),
		   "t.yaml:7:24: ecn_threshold needs ecn: true");
	return 0;
}

static int test_host_resolves_pace(void)
{
	static const char y[] = V1 "settings: {pace_fallback: refuse}\ninterfaces:\n"
				   "  - name: eth0\n    egress:\n"
				   "      - {name: a, rate: 1mbit}\n"
				   "      - {name: b, rate: 1mbit, action: drop}\n"
				   "      - {name: c, rate: 1mbit, action: pace}\n";
	static const struct pol_host fq = { .can_pace = true }, no_fq = { .can_pace = false };
	const struct pol_rule *v;
	struct policy *p;

	MUST_PARSE(p, y);
	if (!p)
		return 0;
	v = p->ifaces[0].dir[POL_EGRESS].v;
	CHECK_INT(p->settings.pace_fallback, POL_PACE_FALLBACK_REFUSE);
	CHECK_INT(p->settings.manage_root_qdisc, POL_ROOT_KERNEL_DEFAULT);
	/* a host with fq: auto and pace both pace */
	CHECK_INT(policy_host_check(p, &fq, collect, &calls), 0);
	CHECK_INT(policy_rule_action(p, &v[0], &fq), POL_ACT_PACE);
	CHECK_INT(policy_rule_action(p, &v[1], &fq), POL_ACT_DROP);
	CHECK_INT(policy_rule_action(p, &v[2], &fq), POL_ACT_PACE);
	CHECK(policy_iface_paces(p, &p->ifaces[0], &fq));
	CHECK(!policy_iface_falls_back(p, &p->ifaces[0], &fq));
	/* the host is an input: the policy stays as written */
	CHECK_INT(v[0].action, POL_ACT_AUTO);
	/* no host (pure tests): as written, auto polices */
	CHECK_INT(policy_rule_action(p, &v[0], NULL), POL_ACT_DROP);
	CHECK_INT(policy_rule_action(p, &v[2], NULL), POL_ACT_PACE);
	policy_free(p);

	/* without fq, refuse: every rule that needed pace is named */
	MUST_PARSE(p, y);
	if (!p)
		return 0;
	reset_errs();
	CHECK_INT(policy_host_check(p, &no_fq, collect, &calls), -EINVAL);
	CHECK_INT(n_errs, 2);
	CHECK_STR(n_errs > 0 ? errs[0] : NULL,
		  "t.yaml:6:9: rule \"a\" needs pacing, but this kernel has no fq qdisc (sch_fq) "
		  "and settings.pace_fallback is refuse");
	CHECK_STR(n_errs > 1 ? errs[1] : NULL,
		  "t.yaml:8:40: rule \"c\" needs pacing, but this kernel has no fq qdisc (sch_fq) "
		  "and settings.pace_fallback is refuse");
	policy_free(p);

	/* without fq, the default fallback: police, and say so for the interface */
	MUST_PARSE(p, V1 "settings: {manage_root_qdisc: false}\ninterfaces:\n"
			 "  - name: eth0\n    egress:\n      - {name: a, rate: 1mbit}\n");
	if (!p)
		return 0;
	CHECK_INT(p->settings.manage_root_qdisc, POL_ROOT_NEVER);
	CHECK_INT(p->settings.socket_pacing, 1);
	CHECK_INT(policy_host_check(p, &no_fq, collect, &calls), 0);
	CHECK_INT(policy_rule_action(p, &p->ifaces[0].dir[POL_EGRESS].v[0], &no_fq), POL_ACT_DROP);
	CHECK(policy_iface_falls_back(p, &p->ifaces[0], &no_fq));
	CHECK(!policy_iface_paces(p, &p->ifaces[0], &no_fq));
	CHECK(policy_iface_paces(p, &p->ifaces[0], &fq));
	policy_free(p);
	return 0;
}

static int test_socket_pacing(void)
{
	struct policy *p;

	MUST_PARSE(p, V1 "settings: {socket_pacing: off}\ninterfaces: []\n");
	if (p)
		CHECK_INT(p->settings.socket_pacing, 0);
	policy_free(p);
	MUST_PARSE(p, V1 "settings: {socket_pacing: auto}\ninterfaces: []\n");
	if (p)
		CHECK_INT(p->settings.socket_pacing, 1);
	policy_free(p);
	EXPECT_ERR(V1 "settings:\n  socket_pacing: yes\ninterfaces: []\n",
		   "t.yaml:3:18: socket_pacing \"yes\" is not one of: auto, off");
	return 0;
}

static int test_bad_protocols(void)
{
	EXPECT_ERR(M("          proto: tcpp\n"),
		   "t.yaml:8:18: unknown protocol \"tcpp\"; use tcp, udp, icmp, icmpv6, sctp, udplite or a number 0-255");
	EXPECT_ERR(M("          proto: 256\n"), "t.yaml:8:18: protocol 256 is out of range 0-255");
	EXPECT_ERR(M("          proto: -1\n"),
		   "t.yaml:8:18: unknown protocol \"-1\"; use tcp, udp, icmp, icmpv6, sctp, udplite or a number 0-255");
	EXPECT_ERR(M("          proto: 06\n"),
		   "t.yaml:8:18: \"proto\" must be a plain decimal number without leading zeros, got \"06\"");
	return 0;
}

static int test_bad_ports(void)
{
	EXPECT_ERR(M("          dport: 70000\n"), "t.yaml:8:18: port 70000 is out of range 0-65535");
	EXPECT_ERR(M("          dport: \"70000\"\n"), "t.yaml:8:18: port 70000 is out of range 0-65535");
	EXPECT_ERR(M("          sport: [80, \"1-70000\"]\n"),
		   "t.yaml:8:23: port 70000 is out of range 0-65535");
	EXPECT_ERR(M("          dport: \"90-80\"\n"), "t.yaml:8:18: port range \"90-80\" is reversed");
	EXPECT_ERR(M("          dport: http\n"),
		   "t.yaml:8:18: bad port \"http\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: 80-\n"),
		   "t.yaml:8:18: bad port \"80-\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: 1-2-3\n"),
		   "t.yaml:8:18: bad port \"1-2-3\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: \"80 - 90\"\n"),
		   "t.yaml:8:18: bad port \"80 - 90\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: -5\n"),
		   "t.yaml:8:18: bad port \"-5\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: 0x50\n"),
		   "t.yaml:8:18: bad port \"0x50\": expected a number 0-65535 or a range \"lo-hi\"");
	EXPECT_ERR(M("          dport: []\n"),
		   "t.yaml:8:18: an empty list matches nothing; remove the key to match any");
	return 0;
}

static int test_ports_need_port_protocols(void)
{
	EXPECT_ERR(M("          proto: icmp\n          dport: 80\n"),
		   "t.yaml:9:18: ports only apply to tcp, udp, sctp and udplite; rule \"r\" matches proto icmp");
	EXPECT_ERR(M("          sport: [53]\n          proto: [udp, 1]\n"),
		   "t.yaml:8:19: ports only apply to tcp, udp, sctp and udplite; rule \"r\" matches proto icmp");
	EXPECT_ERR(M("          proto: [tcp, 47]\n          dport: 80\n"),
		   "t.yaml:9:18: ports only apply to tcp, udp, sctp and udplite; rule \"r\" matches proto 47");
	return 0;
}

static int test_bad_dscp(void)
{
	EXPECT_ERR(M("          dscp: 64\n"), "t.yaml:8:17: dscp 64 is out of range 0-63");
	EXPECT_ERR(M("          dscp: ef\n"),
		   "t.yaml:8:17: \"dscp\" must be a plain decimal number, got \"ef\"");
	EXPECT_ERR(M("          dscp: [1, 010]\n"),
		   "t.yaml:8:21: \"dscp\" must be a plain decimal number without leading zeros, got \"010\"");
	return 0;
}

static int test_bad_prefixes(void)
{
	EXPECT_ERR(M("          dst: 198.18.0.300\n"),
		   "t.yaml:8:16: bad address \"198.18.0.300\": expected an IPv4 or IPv6 address or CIDR prefix");
	EXPECT_ERR(M("          dst: 198.18/15\n"),
		   "t.yaml:8:16: bad address \"198.18/15\": expected an IPv4 or IPv6 address or CIDR prefix");
	EXPECT_ERR(M("          src: example.com\n"),
		   "t.yaml:8:16: bad address \"example.com\": expected an IPv4 or IPv6 address or CIDR prefix");
	EXPECT_ERR(M("          src: \"fe80::1%eth0\"\n"),
		   "t.yaml:8:16: bad address \"fe80::1%eth0\": expected an IPv4 or IPv6 address or CIDR prefix");
	EXPECT_ERR(M("          dst: 198.18.0.1/15\n"),
		   "t.yaml:8:16: 198.18.0.1/15 has host bits set; did you mean 198.18.0.0/15?");
	EXPECT_ERR(M("          dst: [\"2001:db8::1/32\"]\n"),
		   "t.yaml:8:17: 2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?");
	EXPECT_ERR(M("          dst: 10.0.0.0/33\n"),
		   "t.yaml:8:16: prefix length 33 in \"10.0.0.0/33\" is out of range 0-32 for IPv4");
	EXPECT_ERR(M("          dst: \"::/129\"\n"),
		   "t.yaml:8:16: prefix length 129 in \"::/129\" is out of range 0-128 for IPv6");
	EXPECT_ERR(M("          dst: 10.0.0.0/\n"),
		   "t.yaml:8:16: bad prefix length in \"10.0.0.0/\": expected a number 0-32");
	EXPECT_ERR(M("          dst: 10.0.0.0/8/8\n"),
		   "t.yaml:8:16: bad prefix length in \"10.0.0.0/8/8\": expected a number 0-32");
	EXPECT_ERR(M("          dst: []\n"),
		   "t.yaml:8:16: an empty list matches nothing; remove the key to match any");
	return 0;
}

static int test_total_and_key_prefix(void)
{
	struct policy *p;
	struct pol_rule *r;

	MUST_PARSE(p, R("        rate: 10mbit\n        per: src\n        total: 200mbit\n"
			"        key_prefix: { ipv4: 24, ipv6: 56 }\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_U64(r->total_bps, 200000000);
		CHECK_INT(r->prefix4, 24);
		CHECK_INT(r->prefix6, 56);
	}
	policy_free(p);
	/* the defaults: no total, one key per IPv4 host and per IPv6 /64 */
	MUST_PARSE(p, R("        rate: 10mbit\n        per: src\n"));
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_U64(r->total_bps, 0);
		CHECK_INT(r->prefix4, 32);
		CHECK_INT(r->prefix6, 64);
	}
	policy_free(p);

	EXPECT_ERR(R("        rate: 10mbit\n        total: 5mbit\n"),
		   "t.yaml:7:16: total 5mbit is below the rate 10mbit: each key would never reach its rate; raise total or lower rate");
	EXPECT_ERR(R("        rate: 10mbit\n        total: 5 mbit\n"),
		   "t.yaml:7:16: total \"5 mbit\" must not contain spaces; write 5mbit");
	EXPECT_ERR(R("        rate: 10mbit\n        per: rule\n        total: 20mbit\n"),
		   "t.yaml:8:16: total needs several keys (per: flow, src or dst); per: rule has one: set its rate");
	EXPECT_ERR(R("        rate: 10mbit\n        per: src\n        key_prefix: { ipv4: 33 }\n"),
		   "t.yaml:8:29: key_prefix ipv4 must be 0-32 (bits of the address); got 33");
	EXPECT_ERR(R("        rate: 10mbit\n        per: dst\n        key_prefix: { ipv6: 129 }\n"),
		   "t.yaml:8:29: key_prefix ipv6 must be 0-128 (bits of the address); got 129");
	EXPECT_ERR(R("        rate: 10mbit\n        per: src\n        key_prefix: { ipv5: 8 }\n"),
		   "t.yaml:8:23: unknown key \"ipv5\" in key_prefix; expected one of: ipv4, ipv6");
	EXPECT_ERR(R("        rate: 10mbit\n        key_prefix: { ipv6: 48 }\n"),
		   "t.yaml:7:21: key_prefix only applies to per: src or per: dst; this rule is per: flow");
	return 0;
}

static int test_bad_settings(void)
{
	EXPECT_ERR(V1 "settings: {max_keys: 0}\ninterfaces: []\n",
		   "t.yaml:2:22: max_keys 0 is out of range 1-134217728");
	EXPECT_ERR(V1 "settings: {max_keys: 134217729}\ninterfaces: []\n",
		   "t.yaml:2:22: max_keys 134217729 is out of range 1-134217728");
	EXPECT_ERR(V1 "settings: {max_keys: 1k}\ninterfaces: []\n",
		   "t.yaml:2:22: \"max_keys\" must be a plain decimal number, got \"1k\"");
	EXPECT_ERR(V1 "settings: {max_keys: 99999999999999999999999}\ninterfaces: []\n",
		   "t.yaml:2:22: max_keys 99999999999999999999999 is out of range 1-134217728");
	EXPECT_ERR(V1 "settings: {tc_priority: 0}\ninterfaces: []\n",
		   "t.yaml:2:25: tc_priority 0 is out of range 1-65535");
	EXPECT_ERR(V1 "settings: {tc_priority: 65536}\ninterfaces: []\n",
		   "t.yaml:2:25: tc_priority 65536 is out of range 1-65535");
	EXPECT_ERR(V1 "settings: {tc_priority: +5}\ninterfaces: []\n",
		   "t.yaml:2:25: \"tc_priority\" must be a plain decimal number, got \"+5\"");
	return 0;
}

/* ---- reporting ------------------------------------------------------------ */

/* All problems at once, in file order, and still nothing returned. */
static int test_all_errors_reported(void)
{
	struct policy *p;
	int rc;

	rc = parse(V1 "settings: {max_keys: 0}\n"
		      "interfaces:\n"
		      "  - name: eth0\n"
		      "    egress:\n"
		      "      - name: a\n"
		      "        rate: 100\n"
		      "        burst: 1xb\n"
		      "        match: {dst: 198.18.0.1/15, dport: 70000}\n"
		      "      - name: a\n"
		      "        rat: 1mbit\n"
		      "  - name: eth0\n",
		   &p);
	CHECK_REFUSED(rc, p, 9);
	CHECK_INT(calls, 9);
	if (n_errs != 9)
		return 0;
	CHECK_STR(errs[0], "t.yaml:2:22: max_keys 0 is out of range 1-134217728");
	CHECK_STR(errs[1], "t.yaml:7:15: rate \"100\" needs a unit, e.g. 100mbit or 100bps (bytes/s)");
	CHECK_STR(errs[2], "t.yaml:9:22: 198.18.0.1/15 has host bits set; did you mean 198.18.0.0/15?");
	CHECK_STR(errs[3], "t.yaml:9:44: port 70000 is out of range 0-65535");
	CHECK_STR(errs[4], "t.yaml:8:16: unknown burst unit \"xb\" in \"1xb\"; use b, kb, mb, gb, kbit, mbit, gbit (tc(8) sizes) or s, ms, us");
	CHECK_STR(errs[5], "t.yaml:10:15: duplicate rule name \"a\" in eth0 egress (first at 6:9)");
	CHECK_STR(errs[6], "t.yaml:11:9: unknown key \"rat\" in rule; expected one of: name, match, rate, burst, per, action, max_delay, ecn, ecn_threshold, total, key_prefix");
	CHECK_STR(errs[7], "t.yaml:10:9: missing \"rate\" in rule \"a\"");
	CHECK_STR(errs[8], "t.yaml:12:11: duplicate interface entry \"eth0\" (first at 4:5)");
	return 0;
}

/* An aliased node is walked at each use; its problem is said once. */
static int test_alias_error_said_once(void)
{
	EXPECT_ERR(V1 "interfaces:\n"
		      "  - name: a\n"
		      "    egress: &r\n"
		      "      - {name: x, rate: 10}\n"
		      "  - name: b\n"
		      "    egress: *r\n",
		   "t.yaml:5:25: rate \"10\" needs a unit, e.g. 10mbit or 10bps (bytes/s)");
	return 0;
}

static int test_error_cap(void)
{
	char yaml[4096];
	struct policy *p;
	size_t off;
	int i, rc;

	off = (size_t)snprintf(yaml, sizeof(yaml), V1 "interfaces: []\n");
	for (i = 0; i < 60; i++)
		off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "k%d: 1\n", i);
	rc = parse(yaml, &p);
	CHECK_REFUSED(rc, p, 51);
	if (n_errs == 51) {
		CHECK_STR(errs[0], "t.yaml:3:1: unknown key \"k0\" at the top level; expected one of: version, settings, interfaces");
		CHECK_STR(errs[49], "t.yaml:52:1: unknown key \"k49\" at the top level; expected one of: version, settings, interfaces");
		CHECK_STR(errs[50], "t.yaml: too many errors, stopping here");
	}
	return 0;
}

/*
 * A rule list aliased into many entries, each rule with an aliased port list:
 * refused on the event stream, before any document or rule is built, at the
 * alias that goes over.
 */
static int test_alias_expansion_bounded(void)
{
	size_t cap = 1 << 20, off = 0;
	char *yaml = malloc(cap);
	struct policy *p;
	int i, rc;

	if (!yaml)
		return 0;
	off += (size_t)snprintf(yaml + off, cap - off, V1 "ports: &p [1");
	for (i = 1; i < 2048; i++)
		off += (size_t)snprintf(yaml + off, cap - off, ",1");
	off += (size_t)snprintf(yaml + off, cap - off, "]\ninterfaces:\n  - name: e0\n    egress: &r\n");
	for (i = 0; i < 64; i++)
		off += (size_t)snprintf(yaml + off, cap - off,
					"      - {name: r%d, rate: 1mbit, match: {dport: *p}}\n", i);
	for (i = 1; i < 64; i++)
		off += (size_t)snprintf(yaml + off, cap - off, "  - {name: e%d, egress: *r}\n", i);
	rc = parse(yaml, &p);
	free(yaml);
	/* each use of *r is 64 * 2057 + 1 nodes: the use in e31, the 32nd, goes past 2^22 */
	CHECK_REFUSED(rc, p, 1);
	if (n_errs == 1)
		CHECK_STR(errs[0], "t.yaml:100:25: alias *r takes the policy past 4194304 nodes, counting each use of an alias as its whole node");
	return 0;
}

/* An alias inside the node it names would be walked for ever. */
static int test_alias_cycle(void)
{
	struct policy *p;
	int rc;

	rc = parse(V1 "interfaces: &x\n  - name: e0\n    ingress: *x\n", &p);
	CHECK_REFUSED(rc, p, 1);
	if (n_errs == 1)
		CHECK_STR(errs[0], "t.yaml:4:14: alias *x is inside the node it names: it would never end");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * libyaml is quadratic in the depth of flow collections: 100,000 '[' took
 * 14 s, long enough for a reload to stall the event loop into the watchdog.
 * Refused at the 65th level, in far less than a second.
 */
static int test_nesting_bounded(void)
{
	size_t n = 100000, hdr = strlen(V1 "interfaces: ");
	char *yaml = malloc(hdr + 2 * n + 2);
	struct policy *p;
	double t;
	int rc;

	if (!yaml)
		return 0;
	memcpy(yaml, V1 "interfaces: ", hdr);
	memset(yaml + hdr, '[', n);
	yaml[hdr + n] = '\0';
	t = now_s();
	rc = parse(yaml, &p);
	t = now_s() - t;
	CHECK_REFUSED(rc, p, 1);
	/* the root mapping is level 1: the 64th '[' is level 65 */
	if (n_errs == 1)
		CHECK_STR(errs[0], "t.yaml:2:76: collections nested more than 64 deep; a policy needs 7");
	if (t > 1.0)
		T_FAILED("took %.2f s", t);

	/* 64 levels are allowed: the walk sees them and says what is wrong */
	memset(yaml + hdr, '[', 63);
	memset(yaml + hdr + 63, ']', 63);
	strcpy(yaml + hdr + 126, "\n");
	rc = parse(yaml, &p);
	CHECK_REFUSED(rc, p, 1);
	if (n_errs == 1)
		CHECK_STR(errs[0], "t.yaml:2:14: each interface entry must be a mapping with \"name\" and rules");
	free(yaml);
	return 0;
}

/* libyaml holds a node for each value written: bounded before it builds them. */
static int test_written_nodes_bounded(void)
{
	size_t n = (1u << 20) + 1, off = 0, cap = 2 * n + 64;
	char *yaml = malloc(cap);
	struct policy *p;
	size_t i;
	int rc;

	if (!yaml)
		return 0;
	/* the root mapping, 2 keys, 1 value and the list: node 1048577 is item 1048572 */
	off += (size_t)snprintf(yaml, cap, V1 "interfaces: [");
	for (i = 0; i + 5 < n + 1; i++) {
		yaml[off++] = i ? ',' : '1';
		if (i)
			yaml[off++] = '1';
	}
	strcpy(yaml + off, "]\n");
	rc = parse(yaml, &p);
	CHECK_REFUSED(rc, p, 1);
	if (n_errs == 1)
		CHECK_STR(errs[0], "t.yaml:2:2097156: more than 1048576 YAML nodes; a policy is smaller");
	free(yaml);
	return 0;
}

static int test_default_error_stream(void)
{
	static const char yaml[] = V1 "interfaces: 5\n";
	struct policy *p = NULL;
	char got[256] = "";
	FILE *tmp = tmpfile();
	int saved, rc;
	size_t n;

	if (!tmp)
		SKIP("tmpfile: %s", strerror(errno));
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	rc = policy_parse("s.yaml", yaml, strlen(yaml), &p, NULL, NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(got, 1, sizeof(got) - 1, tmp);
	got[n] = '\0';
	fclose(tmp);
	CHECK_INT(rc, -EINVAL);
	CHECK(p == NULL);
	CHECK_STR(got, "s.yaml:2:13: \"interfaces\" must be a list of interface entries\n");
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

static int test_load_good_fixture(void)
{
	char path[4200];
	struct policy *p;
	struct pol_rule *r;
	int rc;

	rc = load(src_path("tests/unit/fixtures/good.yaml", path, sizeof(path)), &p);
	CHECK_INT(rc, 0);
	if (rc) {
		dump_errs();
		return 0;
	}
	CHECK_STR(p->path, path);
	CHECK_INT(p->settings.tc_priority, 2000);
	CHECK_INT(p->n_ifaces, 2);
	r = RULE_AT(p, 0, POL_EGRESS, 0);
	if (r) {
		CHECK_STR(r->name, "backup");
		CHECK_U64(r->rate_bps, 50000000);
		CHECK_U64(r->burst_bytes, 65536);
	}
	r = RULE_AT(p, 1, POL_INGRESS, 0);
	if (r) {
		CHECK_STR(r->name, "guests");
		CHECK_INT(r->per, POL_PER_SRC);
		CHECK_U64(r->burst_bytes, 25000);	/* 20mbit for 10ms */
	}
	policy_free(p);
	return 0;
}

static int test_load_anchors_fixture(void)
{
	char path[4200];
	struct policy *p;
	int rc;

	rc = load(src_path("tests/unit/fixtures/anchors.yaml", path, sizeof(path)), &p);
	CHECK_INT(rc, 0);
	if (rc) {
		dump_errs();
		return 0;
	}
	CHECK_INT(p->n_ifaces, 3);
	CHECK_INT(p->ifaces[0].dir[POL_EGRESS].n, 2);
	CHECK_INT(p->ifaces[1].dir[POL_EGRESS].n, 2);
	CHECK_INT(p->ifaces[2].dir[POL_INGRESS].n, 2);
	if (p->ifaces[1].dir[POL_EGRESS].n == 2)
		CHECK_STR(p->ifaces[1].dir[POL_EGRESS].v[1].name, "bulk");
	policy_free(p);
	return 0;
}

static int test_load_bad_fixtures(void)
{
	char path[4200], want[4400];
	struct policy *p;
	int rc;

	rc = load(src_path("tests/unit/fixtures/bad_syntax.yaml", path, sizeof(path)), &p);
	CHECK_REFUSED(rc, p, 1);
	snprintf(want, sizeof(want), "%s:6:14: YAML syntax error: mapping values are not allowed in this context", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);

	rc = load(src_path("tests/unit/fixtures/empty.yaml", path, sizeof(path)), &p);
	CHECK_REFUSED(rc, p, 1);
	snprintf(want, sizeof(want), "%s:1:1: empty policy; expected a mapping with \"version: 1\" and \"interfaces\"", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);

	rc = load(src_path("tests/unit/fixtures/comments_only.yaml", path, sizeof(path)), &p);
	CHECK_REFUSED(rc, p, 1);
	snprintf(want, sizeof(want), "%s:1:1: empty policy; expected a mapping with \"version: 1\" and \"interfaces\"", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);

	rc = load(src_path("tests/unit/fixtures/bad_version.yaml", path, sizeof(path)), &p);
	CHECK_REFUSED(rc, p, 1);
	snprintf(want, sizeof(want), "%s:3:10: unsupported policy version 2; this tcshaped reads version 1", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);

	rc = load(src_path("tests/unit/fixtures/bad_many.yaml", path, sizeof(path)), &p);
	CHECK_REFUSED(rc, p, 6);
	if (n_errs == 6) {
		snprintf(want, sizeof(want), "%s:7:9: unknown key \"rat\" in rule; expected one of: name, match, rate, burst, per, action, max_delay, ecn, ecn_threshold, total, key_prefix", path);
		CHECK_STR(errs[0], want);
		snprintf(want, sizeof(want), "%s:6:9: missing \"rate\" in rule \"web\"", path);
		CHECK_STR(errs[1], want);
		snprintf(want, sizeof(want), "%s:10:16: bad address \"198.18.0.300\": expected an IPv4 or IPv6 address or CIDR prefix", path);
		CHECK_STR(errs[2], want);
		snprintf(want, sizeof(want), "%s:11:18: port range \"90-80\" is reversed", path);
		CHECK_STR(errs[3], want);
		snprintf(want, sizeof(want), "%s:12:15: rate must be greater than 0", path);
		CHECK_STR(errs[4], want);
		snprintf(want, sizeof(want), "%s:14:13: \"egress\" must be a list of rules", path);
		CHECK_STR(errs[5], want);
	} else {
		dump_errs();
	}
	return 0;
}

static int test_load_missing_file(void)
{
	char path[4200], want[4400];
	struct policy *p;
	int rc;

	rc = load(src_path("tests/unit/fixtures/does-not-exist.yaml", path, sizeof(path)), &p);
	CHECK_INT(rc, -ENOENT);
	CHECK(p == NULL);
	CHECK_INT(n_errs, 1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);

	rc = load(src_path("tests/unit/fixtures", path, sizeof(path)), &p);
	CHECK_INT(rc, -EISDIR);
	CHECK(p == NULL);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);
	return 0;
}

static int test_load_unreadable_file(void)
{
	char path[] = "/tmp/tcs-unreadable-XXXXXX", want[128];
	struct policy *p;
	int fd, rc;

	if (geteuid() == 0)
		SKIP("running as root, which reads a file whatever its mode");
	fd = mkstemp(path);
	if (fd < 0)
		SKIP("mkstemp: %s", strerror(errno));
	if (write(fd, V1 "interfaces: []\n", 26) != 26 || fchmod(fd, 0) < 0) {
		close(fd);
		unlink(path);
		SKIP("cannot prepare %s: %s", path, strerror(errno));
	}
	close(fd);
	rc = load(path, &p);
	unlink(path);
	CHECK_INT(rc, -EACCES);
	CHECK(p == NULL);
	snprintf(want, sizeof(want), "%s: cannot open: Permission denied", path);
	CHECK_STR(n_errs ? errs[0] : NULL, want);
	return 0;
}

/* The shipped example and the demo's policy are valid, and say what they should. */
static int test_conf_files(void)
{
	char path[4200];
	const struct pol_iface *ifc;
	struct policy *p;
	struct pol_rule *r;
	int rc;

	rc = load(src_path("conf/policy.yaml", path, sizeof(path)), &p);
	CHECK_INT(rc, 0);
	if (rc) {
		dump_errs();
	} else {
		CHECK_INT(p->n_ifaces, 1);
		CHECK_STR(p->ifaces[0].name, "eth0");
		CHECK_INT(p->settings.max_keys, POL_DEFAULT_MAX_KEYS);
		policy_free(p);
	}

	rc = load(src_path("conf/demo.yaml", path, sizeof(path)), &p);
	CHECK_INT(rc, 0);
	if (rc) {
		dump_errs();
		return 0;
	}
	ifc = policy_iface_for(p, "tcs-demo0");
	CHECK(ifc != NULL);
	if (!ifc || ifc->dir[POL_EGRESS].n != 3) {
		T_FAILED("tcs-demo0 egress should have 3 rules");
		policy_free(p);
		return 0;
	}
	r = &((struct pol_iface *)ifc)->dir[POL_EGRESS].v[0];
	CHECK_INT(r->per, POL_PER_FLOW);
	CHECK_U64(r->rate_bps, 10000000);
	CHECK_INT(r->match.n_proto, 1);
	CHECK_INT(r->match.proto[0].lo, 17);
	CHECK_INT(r->match.n_dport, 1);
	CHECK_INT(r->match.dport[0].lo, 5201);
	r++;
	CHECK_INT(r->per, POL_PER_SRC);
	CHECK_U64(r->rate_bps, 20000000);
	CHECK_INT(r->match.proto[0].lo, 17);
	CHECK_INT(r->match.dport[0].lo, 5202);
	r++;
	CHECK_INT(r->per, POL_PER_RULE);
	CHECK_U64(r->rate_bps, 20000000);
	CHECK_INT(r->match.proto[0].lo, 6);
	CHECK_INT(r->match.dport[0].lo, 5203);
	policy_free(p);
	return 0;
}

/* Every ```yaml block of docs/policy.md that starts "version: 1" must parse. */
static int test_docs_examples(void)
{
	char path[4200], *doc, *s, *end;
	int n = 0, rc;
	struct policy *p;
	FILE *f;
	long len;

	f = fopen(src_path("docs/policy.md", path, sizeof(path)), "r");
	if (!f) {
		T_FAILED("%s: %s", path, strerror(errno));
		return 0;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	doc = calloc(1, (size_t)len + 1);
	if (!doc || fread(doc, 1, (size_t)len, f) != (size_t)len) {
		T_FAILED("cannot read %s", path);
		fclose(f);
		free(doc);
		return 0;
	}
	fclose(f);
	for (s = doc; (s = strstr(s, "```yaml\n")); s = end + 4) {
		s += 8;
		end = strstr(s, "\n```");
		if (!end)
			break;
		if (strncmp(s, "version: 1\n", 11))
			continue;
		end[1] = '\0';
		rc = policy_parse("docs/policy.md example", s, strlen(s), &p, collect, &calls);
		if (rc) {
			T_FAILED("example %d does not parse:\n%s", n, s);
			dump_errs();
		}
		policy_free(p);
		reset_errs();
		n++;
	}
	if (n < 2)
		T_FAILED("only %d complete examples found in %s", n, path);
	free(doc);
	return 0;
}

int main(void)
{
	TEST(test_minimal_and_settings_defaults);
	TEST(test_settings);
	TEST(test_settings_lifecycle);
	TEST(test_settings_metrics_listen);
	TEST(test_pace_keys);
	TEST(test_host_resolves_pace);
	TEST(test_sha256);
	TEST(test_every_rule_key);
	TEST(test_rule_defaults);
	TEST(test_burst_default);
	TEST(test_burst_sizes);
	TEST(test_burst_time);
	TEST(test_per_values);
	TEST(test_protocols);
	TEST(test_ports);
	TEST(test_prefixes);
	TEST(test_dscp);
	TEST(test_interfaces_and_order);
	TEST(test_iface_for);
	TEST(test_dir_names);
	TEST(test_anchors_and_aliases);
	TEST(test_quoted_scalars);

	TEST(test_syntax_errors);
	TEST(test_empty_policy);
	TEST(test_version);
	TEST(test_second_document);
	TEST(test_missing_interfaces);
	TEST(test_unknown_keys);
	TEST(test_wrong_types);
	TEST(test_no_value);
	TEST(test_merge_and_duplicate_keys);
	TEST(test_bad_interfaces);
	TEST(test_bad_rule_names);
	TEST(test_bad_rates);
	TEST(test_bad_bursts);
	TEST(test_bad_per_and_action);
	TEST(test_bad_protocols);
	TEST(test_bad_ports);
	TEST(test_ports_need_port_protocols);
	TEST(test_bad_dscp);
	TEST(test_bad_prefixes);
	TEST(test_bad_settings);
	TEST(test_total_and_key_prefix);

	TEST(test_all_errors_reported);
	TEST(test_alias_error_said_once);
	TEST(test_error_cap);
	TEST(test_alias_expansion_bounded);
	TEST(test_alias_cycle);
	TEST(test_nesting_bounded);
	TEST(test_written_nodes_bounded);
	TEST(test_default_error_stream);

	TEST(test_load_good_fixture);
	TEST(test_load_anchors_fixture);
	TEST(test_socket_pacing);
	TEST(test_load_bad_fixtures);
	TEST(test_load_missing_file);
	TEST(test_load_unreadable_file);
	TEST(test_conf_files);
	TEST(test_docs_examples);

	reset_errs();
	return tests_done("unit-policy");
}
