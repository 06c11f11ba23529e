// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots of the pinned maps for tcshapectl and the metrics textfile:
 * rules with their counters and key counts, limiter keys, global counters,
 * the daemon's own record. Reads only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <stdbool.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "census.h"
#include "map_walk.h"
#include "pinlock.h"
#include "state.h"
#include "total.bpf.h"	/* the share arithmetic, as the classifier does it */

const char *const state_stat_names[TCS_STAT_NR] = {
	[TCS_STAT_NOT_IP] = "not_ip",
	[TCS_STAT_MALFORMED] = "malformed",
	[TCS_STAT_UNMATCHED] = "unmatched",
	[TCS_STAT_CACHE_MISS] = "classified",
	[TCS_STAT_CONTENDED] = "contended",
	[TCS_STAT_FRAG_NO_FIRST] = "frag_no_first",
	[TCS_STAT_NO_STATE] = "no_state",
	[TCS_STAT_KEYS_CREATED] = "keys_created",
};

const char *state_per_name(int per)
{
	static const char *const n[] = { "flow", "src", "dst", "rule" };

	return per >= 0 && per < 4 ? n[per] : "?";
}

const char *state_dir_name(int dir)
{
	return dir == TCS_DIR_INGRESS ? "ingress" : "egress";
}

int state_open_pins(const char *dir, struct state_fds *f)
{
	static const struct {
		const char *name;
		size_t off;
	} maps[] = {
		{ TCS_MAP_IFACES, offsetof(struct state_fds, ifaces) },
		{ TCS_MAP_IFACES_HI, offsetof(struct state_fds, ifaces_hi) },
		{ TCS_MAP_KEYS, offsetof(struct state_fds, keys) },
		{ TCS_MAP_FLOWS, offsetof(struct state_fds, flows) },
		{ TCS_MAP_RULE_INFO, offsetof(struct state_fds, rule_info) },
		{ TCS_MAP_RULE_STATS, offsetof(struct state_fds, rule_stats) },
		{ TCS_MAP_RULE_SPILL, offsetof(struct state_fds, rule_spill) },
		{ TCS_MAP_STATS, offsetof(struct state_fds, stats) },
		{ TCS_MAP_META, offsetof(struct state_fds, meta) },
		{ TCS_MAP_DAEMON, offsetof(struct state_fds, daemon) },
		{ TCS_MAP_TCP_STATS, offsetof(struct state_fds, tcp_stats) },
		{ TCS_MAP_TOTALS, offsetof(struct state_fds, totals) },
	};
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	size_t i;
	int err;

	memset(f, -1, sizeof(*f));
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, maps[i].name);
		fd = bpf_obj_get_opts(path, &ro);
		if (fd < 0 && errno == ENOENT && maps[i].off == offsetof(struct state_fds, tcp_stats))
			continue;	/* socket pacing off: no TCP health to show */
		if (fd < 0 && errno == ENOENT && maps[i].off == offsetof(struct state_fds, totals))
			continue;	/* an older tcshaped's pins */
		if (fd < 0) {
			err = -errno;
			state_close(f);
			return err;
		}
		*(int *)((char *)f + maps[i].off) = fd;
	}
	f->dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir < 0) {
		err = -errno;
		state_close(f);
		return err;
	}
	return 0;
}

void state_close(struct state_fds *f)
{
	int *fd = (int *)f;
	size_t i;

	for (i = 0; i < sizeof(*f) / sizeof(int); i++)
		if (fd[i] >= 0) {
			close(fd[i]);
			fd[i] = -1;
		}
}

__u64 state_sent_packets(const struct state_rule *r)
{
	return r->packets[TCS_V_PASS] + r->packets[TCS_V_PACED] + r->packets[TCS_V_MARK];
}

__u64 state_sent_bytes(const struct state_rule *r)
{
	return r->bytes[TCS_V_PASS] + r->bytes[TCS_V_PACED] + r->bytes[TCS_V_MARK];
}

/* Gauges kept as two counters; a snapshot can catch a close before its open. */
static __u64 gauge(__u64 up, __u64 down)
{
	return up > down ? up - down : 0;
}

__u64 state_tcp_conns(const struct state_rule *r)
{
	return gauge(r->tcp.conns_opened, r->tcp.conns_closed);
}

__u64 state_tcp_paced(const struct state_rule *r)
{
	return gauge(r->tcp.paced_started, r->tcp.paced_ended);
}

double state_rtt_quantile(const struct state_rule *now, const struct state_rule *before, double q,
			  __u64 *samples)
{
	__u64 d[TCS_RTT_SLOTS], total = 0, seen = 0;
	double want;
	int i;

	for (i = 0; i < TCS_RTT_SLOTS; i++) {
		__u64 b = before ? before->tcp.srtt_log2[i] : 0;

		d[i] = now->tcp.srtt_log2[i] >= b ? now->tcp.srtt_log2[i] - b : 0;
		total += d[i];
	}
	if (samples)
		*samples = total;
	if (!total)
		return -1;
	want = q * (double)total;
	for (i = 0; i < TCS_RTT_SLOTS; i++) {
		if (d[i] && (double)(seen + d[i]) >= want) {
			double lo = (double)(1ull << i), frac = (want - (double)seen) / (double)d[i];

			/* slot i holds [2^i, 2^(i+1)) us; the first holds 0 and 1 too */
			return i ? lo + frac * lo : frac * 2;
		}
		seen += d[i];
	}
	return (double)(1ull << (TCS_RTT_SLOTS - 1));
}

static int rule_cmp(const void *a, const void *b)
{
	const struct state_rule *x = a, *y = b;
	int c = strcmp((const char *)x->info.iface, (const char *)y->info.iface);

	if (c)
		return c;
	if (x->info.dir != y->info.dir)
		return (int)y->info.dir - (int)x->info.dir; /* egress first */
	return x->info.idx < y->info.idx ? -1 : x->info.idx > y->info.idx;
}

static int uid_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct state_rule *)a)->uid, y = ((const struct state_rule *)b)->uid;

	return x < y ? -1 : x > y;
}

void state_rules_sort_by_uid(struct state_rule *r, size_t n)
{
	qsort(r, n, sizeof(*r), uid_cmp);
}

/* O(log rules) for each of up to max_keys keys */
const struct state_rule *state_rule_by_uid(const struct state_rule *r, size_t n, __u32 uid)
{
	struct state_rule k = { .uid = uid };

	return n ? bsearch(&k, r, n, sizeof(*r), uid_cmp) : NULL;
}

int state_batch(int fd, struct state_walk *w, void *k, void *v, __u32 *count)
{
	__u64 out = 0;
	int last = 0;

	if (bpf_map_lookup_batch(fd, w->started ? &w->next : NULL, &out, k, v, count, NULL)) {
		if (errno != ENOENT)
			return -errno;
		last = 1;	/* ENOENT: this was the last batch */
	}
	w->next = out;
	w->started = 1;
	return last;
}

void state_flow_key(const struct tcs_flow_key *fk, const struct tcs_flow *f, struct tcs_key *k)
{
	memset(k, 0, sizeof(*k));
	k->uid = f->uid;
	k->ifindex = fk->ifindex;
	k->family = fk->family;
	k->proto = fk->proto;
	k->sport = fk->sport;
	k->dport = fk->dport;
	memcpy(k->src, fk->src, sizeof(k->src));
	memcpy(k->dst, fk->dst, sizeof(k->dst));
}

#define WALK_BATCH 4096

int state_keys_walk(int keys, int flows, state_key_fn fn, void *ctx)
{
	struct tcs_key *k = calloc(WALK_BATCH, sizeof(*k));
	struct tcs_key_state *v = calloc(WALK_BATCH, sizeof(*v));
	struct tcs_flow_key *fk = calloc(WALK_BATCH, sizeof(*fk));
	struct tcs_flow *fv = calloc(WALK_BATCH, sizeof(*fv));
	struct state_walk w = { 0 };
	int err = 0, last = 0;
	__u32 count, i;

	if (!k || !v || !fk || !fv) {
		err = -ENOMEM;
		goto out;
	}
	while (!last && !err) {
		count = WALK_BATCH;
		last = state_batch(keys, &w, k, v, &count);
		if (last < 0)
			err = last;
		for (i = 0; i < count && !err; i++)
			err = fn(&k[i], &v[i], NULL, ctx);
	}
	memset(&w, 0, sizeof(w));
	last = flows < 0;
	while (!last && !err) {
		count = WALK_BATCH;
		last = state_batch(flows, &w, fk, fv, &count);
		if (last < 0)
			err = last;
		for (i = 0; i < count && !err; i++) {
			if (fv[i].uid == TCS_UID_NONE)
				continue;
			state_flow_key(&fk[i], &fv[i], &k[0]);
			err = fn(&k[0], &fv[i].st, &fk[i], ctx);
		}
	}
out:
	free(k);
	free(v);
	free(fk);
	free(fv);
	return err;
}

struct key_list {
	struct state_key *v;
	size_t n, cap;
};

static int key_add(const struct tcs_key *k, const struct tcs_key_state *st,
		   const struct tcs_flow_key *fk, void *ctx)
{
	struct key_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct state_key *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].key = *k;
	l->v[l->n++].st = *st;
	return 0;
}

int state_keys(const struct state_fds *f, struct state_key **out, size_t *n)
{
	struct key_list l = { 0 };
	int err = state_keys_walk(f->keys, f->flows, key_add, &l);

	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* Each rule's totals, from tcs_totals (one entry per rule and interface: a small map). */
static void totals_add(const struct state_fds *f, struct state_rule *r, size_t n)
{
	struct tcs_total_key k;
	struct tcs_total_state ts;
	struct state_rule *sr;
	struct timespec now;
	__u64 ns, e, kw, bps;
	bool started = false;

	if (f->totals < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);	/* bpf_ktime_get_ns()'s clock */
	ns = (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec;
	e = ns / TCS_SHARE_PERIOD_NS;
	while (map_next(f->totals, &k, &started)) {
		sr = (struct state_rule *)state_rule_by_uid(r, n, k.uid);
		if (!sr || bpf_map_lookup_elem(f->totals, &k, &ts))
			continue;
		sr->total.dropped += ts.clock.dropped;
		/* the last period that is complete */
		kw = ts.keys[(e - 1) & 1];
		if (tagged(kw, e - 1)) {
			sr->total.active_keys += kw & TCS_KEYS_MASK;
			sr->total.busy_keys += (kw >> TCS_TOTAL_KEYS_BITS) & TCS_KEYS_MASK;
		}
		bps = total_key_bps(&ts, ns, sr->info.rate_bps);
		if (bps < sr->info.rate_bps && (!sr->total.share_bps || bps < sr->total.share_bps))
			sr->total.share_bps = bps;
	}
}

int state_rules(const struct state_fds *f, const struct census *keys, struct state_rule **out,
		size_t *n)
{
	struct census *now = NULL;
	int ncpus = libbpf_num_possible_cpus(), c, v;
	struct tcs_tcp_stats *tcp = NULL;
	struct tcs_rule_stats *per = NULL;
	struct state_rule *r = NULL, *nr;
	size_t nrules = 0, i;
	bool started = false;
	__u32 key;
	int err = 0;

	if (ncpus < 0)
		return ncpus;
	per = calloc(ncpus, sizeof(*per));
	tcp = calloc(ncpus, sizeof(*tcp));
	if (!per || !tcp) {
		err = -ENOMEM;
		goto out;
	}
	while (map_next(f->rule_info, &key, &started)) {
		nr = realloc(r, (nrules + 1) * sizeof(*r));
		if (!nr) {
			err = -ENOMEM;
			goto out;
		}
		r = nr;
		memset(&r[nrules], 0, sizeof(*r));
		if (bpf_map_lookup_elem(f->rule_info, &key, &r[nrules].info))
			continue;
		r[nrules].uid = key;
		/* as the classifier counts: the array answers ENOENT past its end (its size) */
		if (!bpf_map_lookup_elem(f->rule_stats, &r[nrules].info.slot, per) ||
		    !bpf_map_lookup_elem(f->rule_spill, &r[nrules].info.slot, per))
			for (c = 0; c < ncpus; c++)
				for (v = 0; v < TCS_V_NR; v++) {
					r[nrules].packets[v] += per[c].packets[v];
					r[nrules].bytes[v] += per[c].bytes[v];
				}
		if (f->tcp_stats >= 0 && !bpf_map_lookup_elem(f->tcp_stats, &key, tcp))
			for (c = 0; c < ncpus; c++) {
				/* every field is a __u64 counter: add them as an array */
				const __u64 *src = (const __u64 *)&tcp[c];
				__u64 *dst = (__u64 *)&r[nrules].tcp;

				for (v = 0; v < (int)(sizeof(*tcp) / sizeof(__u64)); v++)
					dst[v] += src[v];
			}
		nrules++;
	}
	if (nrules)
		state_rules_sort_by_uid(r, nrules);
	totals_add(f, r, nrules);
	if (!keys) {
		now = census_new(f);
		err = now ? census_run(now) : -errno;
		if (err)
			goto out;
		keys = now;
	}
	for (i = 0; i < nrules; i++)
		r[i].keys = census_keys(keys, r[i].uid);
	if (nrules)
		qsort(r, nrules, sizeof(*r), rule_cmp);
	*out = r;
	*n = nrules;
	r = NULL;
out:
	census_free(now);
	free(per);
	free(tcp);
	free(r);
	return err;
}

int state_globals(const struct state_fds *f, __u64 out[TCS_STAT_NR])
{
	int ncpus = libbpf_num_possible_cpus(), c;
	__u64 *per;
	__u32 i;

	if (ncpus < 0)
		return ncpus;
	per = calloc(ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (i = 0; i < TCS_STAT_NR; i++) {
		out[i] = 0;
		if (!bpf_map_lookup_elem(f->stats, &i, per))
			for (c = 0; c < ncpus; c++)
				out[i] += per[c];
	}
	free(per);
	return 0;
}

int state_daemon(const struct state_fds *f, struct tcs_daemon *d)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(f->daemon, &zero, d))
		return -errno;
	/* killed, its pid maybe reused since: only the lock tells */
	if (f->dir >= 0 && !pinlock_held(f->dir))
		d->running = 0;
	d->policy_path[sizeof(d->policy_path) - 1] = 0;
	d->last_error[sizeof(d->last_error) - 1] = 0;
	return 0;
}

static int binding_add(struct tcs_iface_key **b, size_t *n, __u32 ifindex, __u32 dir)
{
	struct tcs_iface_key *nb = realloc(*b, (*n + 1) * sizeof(**b));

	if (!nb)
		return -ENOMEM;
	*b = nb;
	nb[(*n)++] = (struct tcs_iface_key){ .ifindex = ifindex, .dir = dir };
	return 0;
}

int state_bindings(const struct state_fds *f, struct tcs_iface_key **out, size_t *n)
{
	struct tcs_iface_key key, *b = NULL;
	bool started = false;
	struct tcs_iface v;
	size_t cnt = 0;
	int err = 0;
	__u32 i;

	for (i = 0; i < TCS_IFACES_DIRECT * TCS_DIR_NR && !err; i++)
		if (!bpf_map_lookup_elem(f->ifaces, &i, &v) && v.ruleset)
			err = binding_add(&b, &cnt, i >> 1, i & 1);
	while (!err && map_next(f->ifaces_hi, &key, &started)) {
		err = binding_add(&b, &cnt, key.ifindex, key.dir);
	}
	if (err) {
		free(b);
		return err;
	}
	*out = b;
	*n = cnt;
	return 0;
}
