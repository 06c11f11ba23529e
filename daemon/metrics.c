// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text format from the pinned state: per-rule counters and
 * gauges, the classifier's global counters, the daemon's reload record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "census.h"
#include "metrics.h"
#include "sha256.h"

/* Label values: backslash, double quote and newline escaped. */
static void label(FILE *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', o);
		if (*s == '\n') {
			fputs("\\n", o);
			continue;
		}
		fputc(*s, o);
	}
}

static void rule_labels(FILE *o, const struct state_rule *r)
{
	fputs("{interface=\"", o);
	label(o, (const char *)r->info.iface);
	fprintf(o, "\",direction=\"%s\",rule=\"", state_dir_name(r->info.dir));
	label(o, (const char *)r->info.name);
	fputc('"', o);
}

static void help(FILE *o, const char *name, const char *type, const char *text)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* One gauge or counter per rule. */
static void per_rule(FILE *o, const struct state_rule *r, size_t n, const char *name,
		     const char *type, const char *text, __u64 (*val)(const struct state_rule *))
{
	size_t i;

	help(o, name, type, text);
	for (i = 0; i < n; i++) {
		fputs(name, o);
		rule_labels(o, &r[i]);
		fprintf(o, "} %llu\n", (unsigned long long)val(&r[i]));
	}
}

/* A gauge or counter per rule, with its help text. */
struct rule_metric {
	const char *name, *type, *text;
	__u64 (*val)(const struct state_rule *r);
};

static void per_rules(FILE *o, const struct state_rule *r, size_t n,
		      const struct rule_metric *m, size_t nm)
{
	size_t i;

	for (i = 0; i < nm; i++)
		per_rule(o, r, n, m[i].name, m[i].type, m[i].text, m[i].val);
}

/* One counter per rule and verdict, of the __u64[TCS_V_NR] at FIELD of a rule. */
static void per_verdict(FILE *o, const struct state_rule *r, size_t n, const char *name,
			const char *text, size_t field)
{
	static const char *const verdict[TCS_V_NR] = {
		[TCS_V_PASS] = "pass", [TCS_V_DROP] = "drop", [TCS_V_PACED] = "paced",
		[TCS_V_MARK] = "ecn_mark",
	};
	size_t i, v;

	help(o, name, "counter", text);
	for (i = 0; i < n; i++) {
		const __u64 *count = (const __u64 *)((const char *)&r[i] + field);

		for (v = 0; v < TCS_V_NR; v++) {
			if (!verdict[v])
				continue;
			fputs(name, o);
			rule_labels(o, &r[i]);
			fprintf(o, ",verdict=\"%s\"} %llu\n", verdict[v], (unsigned long long)count[v]);
		}
	}
}

static __u64 rule_limit(const struct state_rule *r)
{
	return r->info.rate_bps / 8;
}

static __u64 rule_burst(const struct state_rule *r)
{
	return r->info.burst_bytes;
}

static __u64 rule_keys(const struct state_rule *r)
{
	return r->keys;
}

static __u64 total_limit(const struct state_rule *r)
{
	return r->info.total_bps / 8;
}

static __u64 total_dropped(const struct state_rule *r)
{
	return r->total.dropped;
}

static __u64 total_share(const struct state_rule *r)
{
	return (r->total.share_bps ? r->total.share_bps : r->info.rate_bps) / 8;
}

static __u64 total_keys(const struct state_rule *r)
{
	return r->total.active_keys;
}

/*
 * Rules with a total (bpf/total.bpf.h): its limit, refusals and fair share;
 * what passes it is tcshaped_rule_bytes_total.
 */
static void total_metrics(FILE *o, const struct state_rule *r, size_t n)
{
	static const struct rule_metric totals[] = {
		{ "tcshaped_rule_total_limit_bytes_per_second", "gauge",
		  "A rule's total: all its keys together, L2 bytes per second", total_limit },
		{ "tcshaped_rule_total_dropped_packets_total", "counter",
		  "Packets within their key's limit that the rule's total refused", total_dropped },
		{ "tcshaped_rule_total_share_bytes_per_second", "gauge",
		  "The fair share of the total each busy key may use now", total_share },
		{ "tcshaped_rule_total_active_keys", "gauge",
		  "Keys that sent in the last share period (100 ms)", total_keys },
	};
	struct state_rule *t = calloc(n ? n : 1, sizeof(*t));
	size_t i, nt = 0;

	if (!t)
		return;
	for (i = 0; i < n; i++)
		if (r[i].info.total_bps)
			t[nt++] = r[i];
	if (nt) {
		per_rules(o, t, nt, totals, sizeof(totals) / sizeof(totals[0]));
	}
	free(t);
}

static __u64 tcp_retrans(const struct state_rule *r)
{
	return r->tcp.retrans;
}

static __u64 tcp_updates(const struct state_rule *r)
{
	return r->tcp.rate_updates;
}

/*
 * The health of each rule's local TCP connections (socket pacing). The RTT
 * histogram's buckets are the classifier's log2 slots; its _sum is estimated
 * from their midpoints, as the kernel side keeps no sum.
 */
static void tcp_metrics(FILE *o, const struct state_rule *r, size_t n)
{
	static const struct rule_metric tcp[] = {
		{ "tcshaped_rule_tcp_connections", "gauge", "Local TCP connections the rule covers",
		  state_tcp_conns },
		{ "tcshaped_rule_tcp_paced_sockets", "gauge",
		  "Local TCP connections whose pacing rate or window we cap", state_tcp_paced },
		{ "tcshaped_rule_tcp_retransmits_total", "counter",
		  "Retransmissions by the rule's local TCP senders (one per retransmitted packet)",
		  tcp_retrans },
		{ "tcshaped_rule_tcp_cap_updates_total", "counter",
		  "Changes of a socket's cap: its share or its rule's rate moved", tcp_updates },
	};
	const char *h = "tcshaped_rule_tcp_srtt_seconds";
	size_t i;
	int s;

	per_rules(o, r, n, tcp, sizeof(tcp) / sizeof(tcp[0]));
	help(o, h, "histogram",
	     "Smoothed RTT of the rule's local TCP connections, one sample per ACK of new "
	     "data (senders) or per pass (receivers); _sum estimated from bucket midpoints");
	for (i = 0; i < n; i++) {
		__u64 cum = 0;
		double sum = 0;

		for (s = 0; s < TCS_RTT_SLOTS; s++) {
			cum += r[i].tcp.srtt_log2[s];
			sum += (double)r[i].tcp.srtt_log2[s] * 1.5e-6 * (double)(1ull << s);
			if (s == TCS_RTT_SLOTS - 1)
				break;	/* the last slot is open-ended: only +Inf */
			fprintf(o, "%s_bucket", h);
			rule_labels(o, &r[i]);
			fprintf(o, ",le=\"%.9g\"} %llu\n", (double)(2ull << s) * 1e-6,
				(unsigned long long)cum);
		}
		fprintf(o, "%s_bucket", h);
		rule_labels(o, &r[i]);
		fprintf(o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		fprintf(o, "%s_sum", h);
		rule_labels(o, &r[i]);
		fprintf(o, "} %.9g\n", sum);
		fprintf(o, "%s_count", h);
		rule_labels(o, &r[i]);
		fprintf(o, "} %llu\n", (unsigned long long)cum);
	}
}

int metrics_write(FILE *o, const struct state_fds *f, const struct census *c)
{
	struct census *now = NULL;
	struct state_rule *r = NULL;
	__u64 g[TCS_STAT_NR];
	struct tcs_daemon d;
	size_t n = 0, i;
	char hex[65];
	int err = 0;

	if (!c) {
		now = census_new(f);
		err = now ? census_run(now) : -errno;
		c = now;
	}
	if (err || (err = state_daemon(f, &d)) || (err = state_globals(f, g)) ||
	    (err = state_rules(f, c, &r, &n))) {
		census_free(now);
		return err;
	}

	help(o, "tcshaped_up", "gauge", "1 if the daemon that wrote this state is running");
	fprintf(o, "tcshaped_up %d\n", d.pid && d.running && !kill((pid_t)d.pid, 0));
	help(o, "tcshaped_policy_info", "gauge", "The policy in force: file and SHA-256");
	fputs("tcshaped_policy_info{path=\"", o);
	label(o, (const char *)d.policy_path);
	fprintf(o, "\",sha256=\"%s\"} 1\n", sha256_hex(d.policy_sha256, hex));
	help(o, "tcshaped_policy_loaded_timestamp_seconds", "gauge",
	     "When the policy in force was loaded");
	fprintf(o, "tcshaped_policy_loaded_timestamp_seconds %llu\n", (unsigned long long)d.loaded);
	help(o, "tcshaped_reloads_total", "counter", "Reloads, by result");
	fprintf(o, "tcshaped_reloads_total{result=\"applied\"} %u\n", d.reloads_applied);
	fprintf(o, "tcshaped_reloads_total{result=\"rejected\"} %u\n", d.reloads_rejected);
	help(o, "tcshaped_hooks", "gauge", "tc hooks (interface and direction) with our filter");
	fprintf(o, "tcshaped_hooks %u\n", d.hooks);

	per_verdict(o, r, n, "tcshaped_rule_packets_total",
		    "Packets matched by a rule, by verdict: pass (sent at once), paced (sent later), "
		    "ecn_mark (paced and CE-marked), drop",
		    offsetof(struct state_rule, packets));
	per_verdict(o, r, n, "tcshaped_rule_bytes_total",
		    "L2 bytes matched by a rule, by verdict (GSO packets as all their segments)",
		    offsetof(struct state_rule, bytes));
	/* Prometheus wants base units: bytes, not bits */
	per_rule(o, r, n, "tcshaped_rule_limit_bytes_per_second", "gauge",
		 "A rule's configured rate, L2 bytes per second", rule_limit);
	per_rule(o, r, n, "tcshaped_rule_burst_bytes", "gauge", "A rule's bucket depth",
		 rule_burst);
	if (census_done(c))	/* not a 0 before the daemon's first count */
		per_rule(o, r, n, "tcshaped_rule_active_keys", "gauge",
			 "Limiter keys a rule holds, at the last count", rule_keys);
	total_metrics(o, r, n);
	tcp_metrics(o, r, n);
	help(o, "tcshaped_packets_total", "counter",
	     "Packets outside any rule's counters, by reason (classified: flow cache misses)");
	for (i = 0; i < TCS_STAT_NR; i++)
		if (i != TCS_STAT_KEYS_CREATED)
			fprintf(o, "tcshaped_packets_total{reason=\"%s\"} %llu\n",
				state_stat_names[i], (unsigned long long)g[i]);
	if (census_done(c)) {
		help(o, "tcshaped_keys", "gauge", "Limiter keys in the table, at the last count");
		fprintf(o, "tcshaped_keys %llu\n", (unsigned long long)census_live(c));
		help(o, "tcshaped_keys_created_total", "counter", "Limiter keys the classifier created");
		fprintf(o, "tcshaped_keys_created_total %llu\n", (unsigned long long)census_created(c));
		help(o, "tcshaped_keys_evicted_total", "counter",
		     "Limiter keys the full table evicted (estimated: created, less those alive "
		     "and those of removed rules)");
		fprintf(o, "tcshaped_keys_evicted_total %llu\n", (unsigned long long)census_evicted(c));
	}
	census_free(now);
	free(r);
	return ferror(o) ? -EIO : 0;
}

/*
 * We run as root and the directory may be writable by others: the temporary
 * file gets a random name in the target's directory and is created
 * exclusively (mkostemp: O_CREAT | O_EXCL, which never follows a symlink),
 * so nobody can plant a link for us to write through; rename() replaces a
 * link at path itself, not what it points to.
 */
int metrics_write_file(const char *path, const struct state_fds *f, const struct census *c)
{
	char tmp[4096];
	const char *base = strrchr(path, '/');
	FILE *o;
	int fd, err;

	base = base ? base + 1 : path;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)(base - path), path, base) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	o = fdopen(fd, "w");
	if (!o) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	/* node_exporter reads it as its own user; the unit's UMask is 0077 */
	fchmod(fd, 0644);
	err = metrics_write(o, f, c);
	if (fclose(o) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
