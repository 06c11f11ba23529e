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
#include "out.h"
#include "paths.h"
#include "policy.h"
#include "policy_check.h"
#include "sha256.h"
#include "state.h"
#include "units.h"

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

/* A command's exit code; why it failed (WHAT: -errno), if it did. */
static int cmd_end(int err, const char *what)
{
	if (err)
		fprintf(stderr, "tcshapectl: %s: %s\n", what, strerror(-err));
	return err ? 1 : 0;
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
	    (err = state_rules(f, NULL, &r, &nr)))
		return cmd_end(err, "read state");
	for (i = 0; i < nr; i++)
		keys += r[i].keys;
	alive = daemon_alive(&d);
	sha256_hex(d.policy_sha256, hex);
	out_object_open(NULL);
	out_bool(OUT_JSON, "running", NULL, alive);
	out_text("tcshaped: %s", alive ? "running" : "NOT running");
	out_uint(d.pid ? OUT_ANY : OUT_JSON, "pid", " (pid %llu)", d.pid);
	if (!alive)
		out_text("; the datapath it left %s",
			 nb ? "is still enforcing" : "enforces nothing");
	out_string(OUT_ANY, "policy", "\npolicy:   %s", (char *)d.policy_path);
	out_string(OUT_ANY, "policy_sha256", "\nsha256:   %s", hex);
	out_uint(OUT_JSON, "loaded", NULL, d.loaded);
	out_text("\nloaded:   %s\n", fmt_time(d.loaded, t1, sizeof(t1)));
	out_uint(OUT_JSON, "started", NULL, d.started);
	out_object_open("last_reload");
	out_string(OUT_ANY, "result", "reload:   last %s",
		   last[d.last_reload < 3 ? d.last_reload : 0]);
	out_uint(OUT_JSON, "at", NULL, d.reload_at);
	if (d.last_reload)
		out_text(" %s", fmt_time(d.reload_at, t2, sizeof(t2)));
	out_string(OUT_JSON, "error", NULL, (char *)d.last_error);
	out_object_close();
	out_object_open("reloads");
	out_uint(OUT_ANY, "applied", "; %llu applied", d.reloads_applied);
	out_uint(OUT_ANY, "rejected", ", %llu rejected\n", d.reloads_rejected);
	out_object_close();
	if (d.last_reload == TCS_RELOAD_REJECTED)
		out_text("          %s\n", (char *)d.last_error);
	out_text("hooks:    %zu", nb);
	out_array_open("hooks");
	for (i = 0; i < nb; i++) {
		char name[IF_NAMESIZE] = "";
		/* a hook whose interface is gone: "" in JSON, "?" in text */
		int known = if_indextoname(b[i].ifindex, name) ? OUT_TEXT : 0;

		out_object_open(NULL);
		out_string(OUT_JSON | known, "interface", i ? ", %s" : " (%s", name);
		if (!known)
			out_text(i ? ", ?" : " (?");
		out_uint(OUT_JSON, "ifindex", NULL, b[i].ifindex);
		out_string(OUT_ANY, "direction", " %s", state_dir_name(b[i].dir));
		out_object_close();
	}
	out_array_close();
	out_text("%s\n", nb ? ")" : "");
	out_uint(OUT_ANY, "rules", "rules:    %llu", nr);
	out_uint(OUT_ANY, "active_keys", ", %llu active keys\n", keys);
	out_object_close();
	free(b);
	free(r);
	return alive ? 0 : 3;
}

/* ---- stats ------------------------------------------------------------------ */

/* The columns every table of rules starts with: INTERFACE, DIR, RULE. */
static void rule_head(void)
{
	out_text("%-12s %-7s %-16s ", "INTERFACE", "DIR", "RULE");
}

static void rule_cols(int mode, const struct state_rule *r)
{
	out_string(mode, "interface", "%-12s ", (char *)r->info.iface);
	out_string(mode, "direction", "%-7s ", state_dir_name(r->info.dir));
	out_string(mode, "rule", "%-16s ", (char *)r->info.name);
}

/* A rate: bits/s in JSON, in tc's units through FMT ("%10s ") in text. */
static void rate_cell(int mode, const char *key, const char *fmt, double bps)
{
	char buf[32];

	out_float(mode & OUT_JSON, key, "%.0f", bps);
	out_string(mode & OUT_TEXT, NULL, fmt, units_fmt_rate((uint64_t)bps, buf, sizeof(buf)));
}

/* A quantile of the interval's RTT samples in us: null (text "-") without any. */
static void rtt_cell(int mode, const char *key, double us)
{
	if (us < 0) {
		out_null(mode, key, "%9s ", "-");
		return;
	}
	out_float(mode & OUT_JSON, key, "%.0f", us);
	if (us < 10000)
		out_float(mode & OUT_TEXT, NULL, "%7.0fus ", us);
	else
		out_float(mode & OUT_TEXT, NULL, "%7.1fms ", us / 1000);
}

/* What passed a rule (and so its total) in the interval, bits/s. */
static double sent_rate(const struct state_rule *r, const struct state_rule *old, double dt)
{
	if (!old || state_sent_bytes(r) < state_sent_bytes(old) || dt <= 0)
		return 0;
	return (double)(state_sent_bytes(r) - state_sent_bytes(old)) * 8 / dt;
}

/* A rule's figures: a row of the stats table, a rule's object in JSON. */
static void rule_fields(const struct state_rule *r, const struct state_rule *old, double dt)
{
	rule_cols(OUT_ANY, r);
	out_string(OUT_ANY, "per", "%-4s ", state_per_name(r->info.per));
	out_string(OUT_ANY, "action", "%-5s ", r->info.action == TCS_ACT_PACE ? "pace" : "drop");
	rate_cell(OUT_ANY, "limit_bps", "%10s ", (double)r->info.rate_bps);
	out_uint(OUT_JSON, "burst_bytes", NULL, r->info.burst_bytes);
	rate_cell(OUT_ANY, "rate_bps", "%10s ", sent_rate(r, old, dt));
	out_object_open("sent");
	out_uint(OUT_ANY, "packets", "%12llu ", state_sent_packets(r));
	out_uint(OUT_ANY, "bytes", "%14llu ", state_sent_bytes(r));
	out_object_close();
	out_uint(OUT_JSON, "paced_packets", NULL, r->packets[TCS_V_PACED] + r->packets[TCS_V_MARK]);
	out_uint(OUT_JSON, "ecn_marked_packets", NULL, r->packets[TCS_V_MARK]);
	out_object_open("dropped");
	out_uint(OUT_ANY, "packets", "%12llu ", r->packets[TCS_V_DROP]);
	out_uint(OUT_JSON, "bytes", NULL, r->bytes[TCS_V_DROP]);
	out_object_close();
	out_uint(OUT_TEXT, NULL, "%10llu ", r->packets[TCS_V_MARK]);
	out_uint(OUT_ANY, "active_keys", "%6llu\n", r->keys);
}

/* A rule's total: its limit and usage beside the per-key figures. */
static void total_fields(int mode, const struct state_rule *r, const struct state_rule *old,
			 double dt)
{
	double share = (double)(r->total.share_bps ? r->total.share_bps : r->info.rate_bps);

	rate_cell(mode, "limit_bps", "%10s ", (double)r->info.total_bps);
	rate_cell(mode, "rate_bps", "%10s ", sent_rate(r, old, dt));
	out_uint(mode & OUT_JSON, "dropped_packets", NULL, r->total.dropped);
	rate_cell(mode & OUT_TEXT, NULL, "%10s ", share);
	out_uint(mode, "active_keys", "%8llu ", r->total.active_keys);
	out_uint(mode, "busy_keys", "%8llu ", r->total.busy_keys);
	rate_cell(mode & OUT_JSON, "share_bps", NULL, share);
	out_uint(mode & OUT_TEXT, NULL, "%12llu\n", r->total.dropped);
}

/*
 * The health of the local TCP connections a rule covers (socket pacing):
 * RTT quantiles are of the samples taken during the interval.
 */
static void tcp_fields(int mode, const struct state_rule *r, const struct state_rule *old)
{
	__u64 samples;
	double p50 = state_rtt_quantile(r, old, 0.5, &samples);

	out_uint(mode, "connections", "%6llu ", state_tcp_conns(r));
	out_uint(mode, "paced_sockets", "%6llu ", state_tcp_paced(r));
	out_uint(mode & OUT_JSON, "retransmits", NULL, r->tcp.retrans);
	out_uint(mode & OUT_JSON, "cap_updates", NULL, r->tcp.rate_updates);
	out_uint(mode & OUT_JSON, "srtt_samples", NULL, samples);
	rtt_cell(mode, "srtt_p50_us", p50);
	rtt_cell(mode, "srtt_p99_us", state_rtt_quantile(r, old, 0.99, NULL));
	out_uint(mode & OUT_TEXT, NULL, "%10llu\n", r->tcp.retrans);
}

/* Text: the totals and the local TCP connections, a table each after the rules. */
static void rule_tables(const struct state_rule *b, size_t nb, const struct state_rule *a,
			size_t na, double dt)
{
	size_t i, totals = 0, tcp = 0;

	for (i = 0; i < nb; i++) {
		if (!b[i].info.total_bps)
			continue;
		if (!totals++) {
			out_text("\ntotals (all keys of a rule together; "
				 "SHARE: what each busy key may use)\n");
			rule_head();
			out_text("%10s %10s %10s %8s %8s %12s\n", "TOTAL", "RATE", "SHARE",
				 "ACTIVE", "BUSY", "TOTAL_DROPS");
		}
		rule_cols(OUT_TEXT, &b[i]);
		total_fields(OUT_TEXT, &b[i], state_rule_by_uid(a, na, b[i].uid), dt);
	}
	for (i = 0; i < nb; i++) {
		if (!b[i].tcp.conns_opened)
			continue;
		if (!tcp++) {
			out_text("local TCP:\n");
			rule_head();
			out_text("%6s %6s %9s %9s %10s\n", "CONNS", "PACED", "RTT_P50", "RTT_P99",
				 "RETRANS");
		}
		rule_cols(OUT_TEXT, &b[i]);
		tcp_fields(OUT_TEXT, &b[i], state_rule_by_uid(a, na, b[i].uid));
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
		goto out;
	sleep_s(interval);
	keys = census_new(f);
	if (!keys) {
		err = -errno;
		goto out;
	}
	if ((err = census_run(keys)) || (err = state_rules(f, keys, &b, &nb)) ||
	    (err = state_globals(f, g)))
		goto out;
	dt = now_s() - t0;
	state_rules_sort_by_uid(a, na);

	out_object_open(NULL);
	out_float(OUT_JSON, "interval", "%.3f", dt);
	rule_head();
	out_text("%-4s %-5s %10s %10s %12s %14s %12s %10s %6s\n", "PER", "ACT", "LIMIT", "RATE",
		 "SENT_PKTS", "SENT_BYTES", "DROP_PKTS", "ECN_MARKS", "KEYS");
	out_array_open("rules");
	for (i = 0; i < nb; i++) {
		const struct state_rule *old = state_rule_by_uid(a, na, b[i].uid);

		out_object_open(NULL);
		rule_fields(&b[i], old, dt);
		if (b[i].info.total_bps) {
			out_object_open("total");
			total_fields(OUT_JSON, &b[i], old, dt);
			out_object_close();
		}
		out_object_open("tcp");
		tcp_fields(OUT_JSON, &b[i], old);
		out_object_close();
		out_object_close();
	}
	out_array_close();
	rule_tables(b, nb, a, na, dt);
	out_object_open("packets");
	out_text("other packets:");
	for (i = 0; i < TCS_STAT_NR; i++) {
		if (i == TCS_STAT_KEYS_CREATED)
			continue;
		out_text(" %s", state_stat_names[i]);
		out_uint(OUT_ANY, state_stat_names[i], " %llu", g[i]);
	}
	out_object_close();
	out_object_open("keys");
	out_uint(OUT_ANY, "live", "\nlimiter keys: %llu in the table", census_live(keys));
	out_uint(OUT_ANY, "created", ", %llu created", census_created(keys));
	out_uint(OUT_ANY, "evicted", ", %llu evicted (estimated)\n", census_evicted(keys));
	out_object_close();
	out_object_close();
out:
	census_free(keys);
	free(a);
	free(b);
	return cmd_end(err, "read counters");
}

/* ---- top -------------------------------------------------------------------- */

struct top_row {
	const struct state_key *k;
	const struct state_rule *r;
	double rate;  /* bit/s passed */
	double drops; /* packets/s dropped */
};

static int top_cmp(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return x->rate < y->rate ? 1 :
	       x->rate > y->rate ? -1 :
				   (x->drops < y->drops) - (x->drops > y->drops);
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
		snprintf(buf, len, "%s %s%s%s:%u > %s%s%s:%u", proto, v6 ? "[" : "", s,
			 v6 ? "]" : "", ntohs(k->sport), v6 ? "[" : "", d, v6 ? "]" : "",
			 ntohs(k->dport));
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
		goto out;
	sleep_s(interval);
	if ((err = state_keys(f, &b, &nb)) || (err = state_rules(f, NULL, &r, &nr)))
		goto out;
	dt = now_s() - t0;
	rows = calloc(nb + 1, sizeof(*rows));
	if (!rows) {
		err = -ENOMEM;
		goto out;
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
	out_object_open(NULL);
	out_float(OUT_JSON, "interval", "%.3f", dt);
	out_text("%-10s %-7s %-16s %-52s %10s %9s %12s\n", "INTERFACE", "DIR", "RULE", "KEY",
		 "RATE", "DROPS/S", "DROPPED");
	out_array_open("keys");
	for (i = 0; i < n; i++) {
		const struct state_key *k = rows[i].k;
		char ifn[IF_NAMESIZE] = "?", key[160];

		if_indextoname(k->key.ifindex, ifn);
		key_text(&k->key, rows[i].r->info.per, key, sizeof(key));
		out_object_open(NULL);
		out_string(OUT_ANY, "interface", "%-10s ", ifn);
		out_string(OUT_ANY, "direction", "%-7s ", state_dir_name(rows[i].r->info.dir));
		out_string(OUT_ANY, "rule", "%-16s ", (char *)rows[i].r->info.name);
		out_string(OUT_ANY, "key", "%-52s ", key);
		rate_cell(OUT_ANY, "rate_bps", "%10s ", rows[i].rate);
		out_float(OUT_ANY, "drops_per_second", "%9.1f ", rows[i].drops);
		out_uint(OUT_JSON, "packets", NULL, k->st.packets);
		out_uint(OUT_JSON, "bytes", NULL, k->st.bytes);
		out_uint(OUT_ANY, "dropped", "%12llu\n", k->st.dropped);
		out_object_close();
	}
	out_array_close();
	out_object_close();
out:
	free(rows);
	free(a);
	free(b);
	free(r);
	return cmd_end(err, "read keys");
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
		"  -p, --pin-dir DIR      the daemon's --pin-dir (default " TCS_DEFAULT_PIN_DIR
		")\n"
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
	bool json = false;

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
	out_init(stdout, json);
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
