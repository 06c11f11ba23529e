// SPDX-License-Identifier: GPL-2.0
/*
 * tcshapectl: what tcshaped enforces and what it does to traffic, read from
 * the pinned maps (so it answers while the daemon restarts). Every command
 * but check has --json; the schemas are in docs/operations.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "census.h"
#include "metrics.h"
#include "paths.h"
#include "policy.h"
#include "policy_check.h"
#include "sha256.h"
#include "state.h"
#include "units.h"

static bool json;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A JSON string, escaped. */
static void jstr(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int open_state(const char *dir, struct state_fds *f)
{
	int err = state_open_pins(dir, f);

	if (err == -ENOENT)
		fprintf(stderr,
			"tcshapectl: no tcshaped state in %s: tcshaped is not running "
			"(or runs with another --pin-dir)\n",
			dir);
	else if (err == -EPERM || err == -EACCES)
		fprintf(stderr,
			"tcshapectl: reading %s: %s: run as root (reading BPF maps needs "
			"CAP_BPF or CAP_SYS_ADMIN)\n",
			dir, strerror(-err));
	else if (err)
		fprintf(stderr, "tcshapectl: reading %s: %s\n", dir, strerror(-err));
	return err;
}

static const char *fmt_time(__u64 t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t)
		return "never";
	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
	return buf;
}

static bool daemon_alive(const struct tcs_daemon *d)
{
	return d->pid && d->running && (!kill((pid_t)d->pid, 0) || errno == EPERM);
}

/* ---- status ----------------------------------------------------------------- */

static int cmd_status(const struct state_fds *f)
{
	static const char *const last[] = { "none", "applied", "rejected" };
	struct tcs_iface_key *b = NULL;
	struct state_rule *r = NULL;
	char hex[65], t1[64], t2[64];
	size_t nb = 0, nr = 0, i;
	__u64 keys = 0;
	struct tcs_daemon d;
	bool alive;
	int err;

	if ((err = state_daemon(f, &d)) || (err = state_bindings(f, &b, &nb)) ||
	    (err = state_rules(f, NULL, &r, &nr))) {
		fprintf(stderr, "tcshapectl: read state: %s\n", strerror(-err));
		return 1;
	}
	for (i = 0; i < nr; i++)
		keys += r[i].keys;
	alive = daemon_alive(&d);
	sha256_hex(d.policy_sha256, hex);
	if (json) {
		printf("{\"running\":%s,\"pid\":%u,\"policy\":", alive ? "true" : "false", d.pid);
		jstr((char *)d.policy_path);
		printf(",\"policy_sha256\":\"%s\",\"loaded\":%llu,\"started\":%llu,"
		       "\"last_reload\":{\"result\":\"%s\",\"at\":%llu,\"error\":",
		       hex, (unsigned long long)d.loaded, (unsigned long long)d.started,
		       last[d.last_reload < 3 ? d.last_reload : 0],
		       (unsigned long long)d.reload_at);
		jstr((char *)d.last_error);
		printf("},\"reloads\":{\"applied\":%u,\"rejected\":%u},\"hooks\":[",
		       d.reloads_applied, d.reloads_rejected);
		for (i = 0; i < nb; i++) {
			char name[IF_NAMESIZE] = "";

			if_indextoname(b[i].ifindex, name);
			printf("%s{\"interface\":", i ? "," : "");
			jstr(name);
			printf(",\"ifindex\":%u,\"direction\":\"%s\"}", b[i].ifindex,
			       state_dir_name(b[i].dir));
		}
		printf("],\"rules\":%zu,\"active_keys\":%llu}\n", nr, (unsigned long long)keys);
	} else {
		printf("tcshaped: %s", alive ? "running" : "NOT running");
		if (d.pid)
			printf(" (pid %u)", d.pid);
		if (!alive)
			printf("; the datapath it left %s",
			       nb ? "is still enforcing" : "enforces nothing");
		printf("\npolicy:   %s\nsha256:   %s\nloaded:   %s\n", (char *)d.policy_path, hex,
		       fmt_time(d.loaded, t1, sizeof(t1)));
		printf("reload:   last %s%s%s; %u applied, %u rejected\n",
		       last[d.last_reload < 3 ? d.last_reload : 0], d.last_reload ? " " : "",
		       d.last_reload ? fmt_time(d.reload_at, t2, sizeof(t2)) : "", d.reloads_applied,
		       d.reloads_rejected);
		if (d.last_reload == TCS_RELOAD_REJECTED)
			printf("          %s\n", (char *)d.last_error);
		printf("hooks:    %zu", nb);
		for (i = 0; i < nb; i++) {
			char name[IF_NAMESIZE] = "?";

			if_indextoname(b[i].ifindex, name);
			printf("%s%s %s", i ? ", " : " (", name, state_dir_name(b[i].dir));
		}
		printf("%s\nrules:    %zu, %llu active keys\n", nb ? ")" : "", nr,
		       (unsigned long long)keys);
	}
	free(b);
	free(r);
	return alive ? 0 : 3;
}

/* ---- stats ------------------------------------------------------------------ */

/* A quantile of the interval's RTT samples, for a table cell: "-" without any. */
static const char *rtt_cell(const struct state_rule *now, const struct state_rule *before,
			    double q, char *buf, size_t len)
{
	double us = state_rtt_quantile(now, before, q, NULL);

	if (us < 0)
		snprintf(buf, len, "-");
	else if (us < 10000)
		snprintf(buf, len, "%.0fus", us);
	else
		snprintf(buf, len, "%.1fms", us / 1000);
	return buf;
}

static void tcp_json(const struct state_rule *r, const struct state_rule *old)
{
	__u64 samples;
	double p50 = state_rtt_quantile(r, old, 0.5, &samples);
	double p99 = state_rtt_quantile(r, old, 0.99, NULL);

	printf(",\"tcp\":{\"connections\":%llu,\"paced_sockets\":%llu,\"retransmits\":%llu,"
	       "\"cap_updates\":%llu,\"srtt_samples\":%llu,",
	       (unsigned long long)state_tcp_conns(r), (unsigned long long)state_tcp_paced(r),
	       (unsigned long long)r->tcp.retrans, (unsigned long long)r->tcp.rate_updates,
	       (unsigned long long)samples);
	if (p50 < 0)
		printf("\"srtt_p50_us\":null,\"srtt_p99_us\":null}");
	else
		printf("\"srtt_p50_us\":%.0f,\"srtt_p99_us\":%.0f}", p50, p99);
}

/*
 * The health of the local TCP connections the rules cover (socket pacing):
 * RTT quantiles are of the samples taken during the interval.
 */
static void tcp_table(const struct state_rule *b, size_t nb, const struct state_rule *a,
		      size_t na)
{
	char p50[16], p99[16];
	bool head = false;
	size_t i;

	for (i = 0; i < nb; i++) {
		const struct state_rule *old = state_rule_by_uid(a, na, b[i].uid);

		if (!b[i].tcp.conns_opened)
			continue;
		if (!head)
			printf("local TCP:\n%-12s %-7s %-16s %6s %6s %9s %9s %10s\n", "INTERFACE", "DIR",
			       "RULE", "CONNS", "PACED", "RTT_P50", "RTT_P99", "RETRANS");
		head = true;
		printf("%-12s %-7s %-16s %6llu %6llu %9s %9s %10llu\n", (char *)b[i].info.iface,
		       state_dir_name(b[i].info.dir), (char *)b[i].info.name,
		       (unsigned long long)state_tcp_conns(&b[i]),
		       (unsigned long long)state_tcp_paced(&b[i]),
		       rtt_cell(&b[i], old, 0.5, p50, sizeof(p50)),
		       rtt_cell(&b[i], old, 0.99, p99, sizeof(p99)),
		       (unsigned long long)b[i].tcp.retrans);
	}
}

/* What passed a rule (and so its total) in the interval, bits/s. */
static double sent_rate(const struct state_rule *r, const struct state_rule *old, double dt)
{
	if (!old || state_sent_bytes(r) < state_sent_bytes(old) || dt <= 0)
		return 0;
	return (double)(state_sent_bytes(r) - state_sent_bytes(old)) * 8 / dt;
}

/* Rules with a total: its limit and usage beside the per-key figures. */
static void total_json(const struct state_rule *r, const struct state_rule *old, double dt)
{
	if (!r->info.total_bps)
		return;
	printf(",\"total\":{\"limit_bps\":%llu,\"rate_bps\":%.0f,"
	       "\"dropped_packets\":%llu,\"active_keys\":%llu,\"busy_keys\":%llu,"
	       "\"share_bps\":%llu}",
	       (unsigned long long)r->info.total_bps, sent_rate(r, old, dt),
	       (unsigned long long)r->total.dropped, (unsigned long long)r->total.active_keys,
	       (unsigned long long)r->total.busy_keys,
	       (unsigned long long)(r->total.share_bps ? r->total.share_bps : r->info.rate_bps));
}

static void total_table(const struct state_rule *b, size_t nb, const struct state_rule *a,
			size_t na, double dt)
{
	char lim[32], rt[32], sh[32];
	size_t i, shown = 0;

	for (i = 0; i < nb; i++) {
		const struct state_rule *r = &b[i];

		if (!r->info.total_bps)
			continue;
		if (!shown++)
			printf("\ntotals (all keys of a rule together; SHARE: what each busy key may use)\n"
			       "%-12s %-7s %-16s %10s %10s %10s %8s %8s %12s\n", "INTERFACE", "DIR",
			       "RULE", "TOTAL", "RATE", "SHARE", "ACTIVE", "BUSY", "TOTAL_DROPS");
		units_fmt_rate(r->info.total_bps, lim, sizeof(lim));
		units_fmt_rate((uint64_t)sent_rate(r, state_rule_by_uid(a, na, r->uid), dt), rt, sizeof(rt));
		units_fmt_rate(r->total.share_bps ? r->total.share_bps : r->info.rate_bps, sh,
			       sizeof(sh));
		printf("%-12s %-7s %-16s %10s %10s %10s %8llu %8llu %12llu\n", (char *)r->info.iface,
		       state_dir_name(r->info.dir), (char *)r->info.name, lim, rt, sh,
		       (unsigned long long)r->total.active_keys,
		       (unsigned long long)r->total.busy_keys, (unsigned long long)r->total.dropped);
	}
}

static int cmd_stats(const struct state_fds *f, double interval)
{
	struct state_rule *a = NULL, *b = NULL;
	struct census *keys = NULL;
	size_t na = 0, nb = 0, i;
	double t0, dt;
	__u64 g[TCS_STAT_NR];
	int err;

	t0 = now_s();
	if ((err = state_rules(f, NULL, &a, &na)))
		goto fail;
	sleep_s(interval);
	keys = census_new(f);
	if (!keys) {
		err = -errno;
		goto fail;
	}
	if ((err = census_run(keys)) || (err = state_rules(f, keys, &b, &nb)) ||
	    (err = state_globals(f, g)))
		goto fail;
	dt = now_s() - t0;
	state_rules_sort_by_uid(a, na);

	if (!json)
		printf("%-12s %-7s %-16s %-4s %-5s %10s %10s %12s %14s %12s %10s %6s\n",
		       "INTERFACE", "DIR", "RULE", "PER", "ACT", "LIMIT", "RATE", "SENT_PKTS",
		       "SENT_BYTES", "DROP_PKTS", "ECN_MARKS", "KEYS");
	else
		printf("{\"interval\":%.3f,\"rules\":[", dt);
	for (i = 0; i < nb; i++) {
		const struct state_rule *old = state_rule_by_uid(a, na, b[i].uid);
		double rate = sent_rate(&b[i], old, dt);
		char lim[32], rt[32];

		if (json) {
			printf("%s{\"interface\":", i ? "," : "");
			jstr((char *)b[i].info.iface);
			printf(",\"direction\":\"%s\",\"rule\":", state_dir_name(b[i].info.dir));
			jstr((char *)b[i].info.name);
			printf(",\"per\":\"%s\",\"action\":\"%s\",\"limit_bps\":%llu,"
			       "\"burst_bytes\":%llu,\"rate_bps\":%.0f,"
			       "\"sent\":{\"packets\":%llu,\"bytes\":%llu},"
			       "\"paced_packets\":%llu,\"ecn_marked_packets\":%llu,"
			       "\"dropped\":{\"packets\":%llu,\"bytes\":%llu},\"active_keys\":%llu",
			       state_per_name(b[i].info.per),
			       b[i].info.action == TCS_ACT_PACE ? "pace" : "drop",
			       (unsigned long long)b[i].info.rate_bps,
			       (unsigned long long)b[i].info.burst_bytes, rate,
			       (unsigned long long)state_sent_packets(&b[i]),
			       (unsigned long long)state_sent_bytes(&b[i]),
			       (unsigned long long)(b[i].packets[TCS_V_PACED] + b[i].packets[TCS_V_MARK]),
			       (unsigned long long)b[i].packets[TCS_V_MARK],
			       (unsigned long long)b[i].packets[TCS_V_DROP],
			       (unsigned long long)b[i].bytes[TCS_V_DROP],
			       (unsigned long long)b[i].keys);
			total_json(&b[i], old, dt);
			tcp_json(&b[i], old);
			putchar('}');
			continue;
		}
		units_fmt_rate(b[i].info.rate_bps, lim, sizeof(lim));
		units_fmt_rate((uint64_t)rate, rt, sizeof(rt));
		printf("%-12s %-7s %-16s %-4s %-5s %10s %10s %12llu %14llu %12llu %10llu %6llu\n",
		       (char *)b[i].info.iface, state_dir_name(b[i].info.dir), (char *)b[i].info.name,
		       state_per_name(b[i].info.per),
		       b[i].info.action == TCS_ACT_PACE ? "pace" : "drop", lim, rt,
		       (unsigned long long)state_sent_packets(&b[i]),
		       (unsigned long long)state_sent_bytes(&b[i]),
		       (unsigned long long)b[i].packets[TCS_V_DROP],
		       (unsigned long long)b[i].packets[TCS_V_MARK], (unsigned long long)b[i].keys);
	}
	if (!json) {
		total_table(b, nb, a, na, dt);
		tcp_table(b, nb, a, na);
	}
	if (json) {
		printf("],\"packets\":{");
		for (i = 0; i < TCS_STAT_NR; i++)
			if (i != TCS_STAT_KEYS_CREATED)
				printf("%s\"%s\":%llu", i ? "," : "", state_stat_names[i],
				       (unsigned long long)g[i]);
		printf("},\"keys\":{\"live\":%llu,\"created\":%llu,\"evicted\":%llu}}\n",
		       (unsigned long long)census_live(keys), (unsigned long long)census_created(keys),
		       (unsigned long long)census_evicted(keys));
	} else {
		printf("other packets:");
		for (i = 0; i < TCS_STAT_NR; i++)
			if (i != TCS_STAT_KEYS_CREATED)
				printf(" %s %llu", state_stat_names[i], (unsigned long long)g[i]);
		printf("\nlimiter keys: %llu in the table, %llu created, %llu evicted (estimated)\n",
		       (unsigned long long)census_live(keys), (unsigned long long)census_created(keys),
		       (unsigned long long)census_evicted(keys));
	}
	census_free(keys);
	free(a);
	free(b);
	return 0;
fail:
	fprintf(stderr, "tcshapectl: read counters: %s\n", strerror(-err));
	census_free(keys);
	free(a);
	free(b);
	return 1;
}

/* ---- top -------------------------------------------------------------------- */

struct top_row {
	const struct state_key *k;
	const struct state_rule *r;
	double rate;		/* bit/s passed */
	double drops;		/* packets/s dropped */
};

static int top_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return x->rate < y->rate ? 1 : x->rate > y->rate ? -1 : (x->drops < y->drops) - (x->drops > y->drops);
}

static void addr(const struct tcs_key *k, const __u8 *a, char *buf, size_t len)
{
	inet_ntop(k->family == TCS_FAMILY_V4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len);
}

/* A key as a person reads it: "udp [2001:db8::1]:40000 > [2001:db8::2]:5201". */
static void key_text(const struct tcs_key *k, int per, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], proto[16], num[8];
	bool v6 = k->family == TCS_FAMILY_V6;

	switch (per) {
	case TCS_PER_SRC:
		addr(k, k->src, s, sizeof(s));
		snprintf(buf, len, "src %s", s);
		return;
	case TCS_PER_DST:
		addr(k, k->dst, d, sizeof(d));
		snprintf(buf, len, "dst %s", d);
		return;
	case TCS_PER_RULE:
		snprintf(buf, len, "(all of the rule)");
		return;
	}
	addr(k, k->src, s, sizeof(s));
	addr(k, k->dst, d, sizeof(d));
	/* the policy's names (udplite too), "proto N" for the others */
	if (pol_proto_name(k->proto, num, sizeof(num)) == num)
		snprintf(proto, sizeof(proto), "proto %s", num);
	else
		snprintf(proto, sizeof(proto), "%s", pol_proto_name(k->proto, num, sizeof(num)));
	if (k->sport || k->dport)
		snprintf(buf, len, "%s %s%s%s:%u > %s%s%s:%u", proto, v6 ? "[" : "", s, v6 ? "]" : "",
			 ntohs(k->sport), v6 ? "[" : "", d, v6 ? "]" : "", ntohs(k->dport));
	else
		snprintf(buf, len, "%s %s > %s", proto, s, d);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct state_key *)a)->key, &((const struct state_key *)b)->key,
		      sizeof(struct tcs_key));
}

static int cmd_top(const struct state_fds *f, int limit, const char *rule, double interval)
{
	struct state_key *a = NULL, *b = NULL;
	struct state_rule *r = NULL;
	size_t na = 0, nb = 0, nr = 0, n = 0, i;
	struct top_row *rows = NULL;
	double t0, dt;
	int err;

	t0 = now_s();
	if ((err = state_keys(f, &a, &na)))
		goto fail;
	sleep_s(interval);
	if ((err = state_keys(f, &b, &nb)) || (err = state_rules(f, NULL, &r, &nr)))
		goto fail;
	dt = now_s() - t0;
	rows = calloc(nb + 1, sizeof(*rows));
	if (!rows) {
		err = -ENOMEM;
		goto fail;
	}
	/* the same key in both snapshots */
	qsort(a, na, sizeof(*a), key_cmp);
	state_rules_sort_by_uid(r, nr);
	for (i = 0; i < nb; i++) {
		const struct state_key *old = bsearch(&b[i], a, na, sizeof(*a), key_cmp);
		const struct state_rule *sr = state_rule_by_uid(r, nr, b[i].key.uid);

		if (!sr || (rule && strcmp(rule, (char *)sr->info.name)))
			continue;
		rows[n].k = &b[i];
		rows[n].r = sr;
		rows[n].rate = (double)(b[i].st.bytes - (old ? old->st.bytes : 0)) * 8 / dt;
		rows[n].drops = (double)(b[i].st.dropped - (old ? old->st.dropped : 0)) / dt;
		/* new, or evicted and made again: no rate to tell from one snapshot */
		if (!old || b[i].st.bytes < old->st.bytes || b[i].st.dropped < old->st.dropped)
			rows[n].rate = rows[n].drops = 0;
		n++;
	}
	qsort(rows, n, sizeof(*rows), top_cmp);
	if (n > (size_t)limit)
		n = (size_t)limit;
	if (json)
		printf("{\"interval\":%.3f,\"keys\":[", dt);
	else
		printf("%-10s %-7s %-16s %-52s %10s %9s %12s\n", "INTERFACE", "DIR", "RULE", "KEY",
		       "RATE", "DROPS/S", "DROPPED");
	for (i = 0; i < n; i++) {
		char ifn[IF_NAMESIZE] = "?", key[160], rt[32];

		if_indextoname(rows[i].k->key.ifindex, ifn);
		key_text(&rows[i].k->key, rows[i].r->info.per, key, sizeof(key));
		if (json) {
			printf("%s{\"interface\":", i ? "," : "");
			jstr(ifn);
			printf(",\"direction\":\"%s\",\"rule\":", state_dir_name(rows[i].r->info.dir));
			jstr((char *)rows[i].r->info.name);
			printf(",\"key\":");
			jstr(key);
			printf(",\"rate_bps\":%.0f,\"drops_per_second\":%.1f,\"packets\":%llu,"
			       "\"bytes\":%llu,\"dropped\":%llu}",
			       rows[i].rate, rows[i].drops, (unsigned long long)rows[i].k->st.packets,
			       (unsigned long long)rows[i].k->st.bytes,
			       (unsigned long long)rows[i].k->st.dropped);
			continue;
		}
		units_fmt_rate((uint64_t)rows[i].rate, rt, sizeof(rt));
		printf("%-10s %-7s %-16s %-52s %10s %9.1f %12llu\n", ifn,
		       state_dir_name(rows[i].r->info.dir), (char *)rows[i].r->info.name, key, rt,
		       rows[i].drops, (unsigned long long)rows[i].k->st.dropped);
	}
	if (json)
		printf("]}\n");
	free(rows);
	free(a);
	free(b);
	free(r);
	return 0;
fail:
	fprintf(stderr, "tcshapectl: read keys: %s\n", strerror(-err));
	free(rows);
	free(a);
	free(b);
	free(r);
	return 1;
}

static void usage(FILE *o)
{
	fprintf(o,
		"Usage: tcshapectl [--pin-dir DIR] [--json] COMMAND\n"
		"Show what tcshaped enforces and what it does to traffic.\n\n"
		"Commands:\n"
		"  status                 daemon, policy, last reload, hooks, rules\n"
		"  stats [--interval S]   per rule: limit, current rate, passed and dropped\n"
		"  top [-n N] [--rule NAME] [--interval S]\n"
		"                         the busiest limiter keys right now\n"
		"  metrics                Prometheus text format\n"
		"  check FILE             validate a policy file, as tcshaped --check\n\n"
		"  -p, --pin-dir DIR      the daemon's --pin-dir (default " TCS_DEFAULT_PIN_DIR ")\n"
		"  -j, --json             machine-readable output (schemas: docs/operations.md)\n"
		"See tcshapectl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "rule", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = TCS_DEFAULT_PIN_DIR, *rule = NULL, *cmd;
	double interval = 1.0;
	struct state_fds f;
	int c, limit = 10, ret;

	/* GNU getopt permutes: options may come before or after the command */
	while ((c = getopt_long(argc, argv, "p:jn:i:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			limit = atoi(optarg);
			break;
		case 'i':
			interval = atof(optarg);
			break;
		case 'r':
			rule = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (interval <= 0 || interval > 60 || limit <= 0) {
		fprintf(stderr, "tcshapectl: --interval must be in (0, 60] and -n positive\n");
		return 2;
	}
	if (!strcmp(cmd, "check")) {
		if (optind != argc - 1) {
			fprintf(stderr, "tcshapectl: check takes one FILE\n");
			return 2;
		}
		return policy_check_file(argv[optind]) ? 1 : 0;
	}
	if (optind != argc) {
		fprintf(stderr, "tcshapectl: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "stats") && strcmp(cmd, "top") &&
	    strcmp(cmd, "metrics")) {
		fprintf(stderr, "tcshapectl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (open_state(dir, &f))
		return 1;
	if (!strcmp(cmd, "status"))
		ret = cmd_status(&f);
	else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(&f, interval);
	else if (!strcmp(cmd, "top"))
		ret = cmd_top(&f, limit, rule, interval);
	else
		ret = metrics_write(stdout, &f, NULL) ? 1 : 0;
	state_close(&f);
	return ret;
}
