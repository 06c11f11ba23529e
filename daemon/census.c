// SPDX-License-Identifier: GPL-2.0
/*
 * Counting the limiter keys by rule, a batch at a time (census.h).
 *
 * A pass walks tcs_keys, then the per: flow keys in tcs_flows.
 *
 * Evictions: both are LRU hashes, and the kernel evicts from them without
 * telling anyone. The classifier counts the keys it creates (per CPU,
 * tcs_stats "keys_created"); the daemon counts the keys it frees itself
 * (the rules a reload removed: tcs_meta.keys_freed). What is neither alive
 * at the end of a pass nor freed was evicted. The walk is not a snapshot
 * (keys come and go while it runs), so this is an estimate, made monotonic
 * for a Prometheus counter; it is exact on a quiet table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "census.h"

#define BATCH 4096

/* Keys by uid: open addressing, TCS_UID_NONE marks a free slot. */
struct tally {
	__u32 *uid;
	__u64 *n;
	size_t cap, used;
	__u64 live;
};

struct census {
	int keys, flows, stats, meta, ncpus;
	struct state_walk walk;
	bool in_flows;			/* the pass is at tcs_flows */
	struct tally cur, done;
	bool have;
	__u64 created, evicted;
	struct tcs_key k[BATCH];
	struct tcs_key_state v[BATCH];
	struct tcs_flow_key fk[BATCH];
	struct tcs_flow fv[BATCH];
};

static size_t slot(const struct tally *t, __u32 uid)
{
	size_t i = (uid * 2654435761u) & (t->cap - 1);

	while (t->uid[i] != uid && t->uid[i] != TCS_UID_NONE)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int tally_add(struct tally *t, __u32 uid)
{
	size_t i;

	if (2 * (t->used + 1) > t->cap) {
		struct tally g = { .cap = t->cap ? 2 * t->cap : 64, .live = t->live };
		size_t j;

		g.uid = malloc(g.cap * sizeof(*g.uid));
		g.n = calloc(g.cap, sizeof(*g.n));
		if (!g.uid || !g.n) {
			free(g.uid);
			free(g.n);
			return -ENOMEM;
		}
		memset(g.uid, 0xff, g.cap * sizeof(*g.uid));
		for (j = 0; j < t->cap; j++)
			if (t->uid[j] != TCS_UID_NONE) {
				i = slot(&g, t->uid[j]);
				g.uid[i] = t->uid[j];
				g.n[i] = t->n[j];
			}
		g.used = t->used;
		free(t->uid);
		free(t->n);
		*t = g;
	}
	i = slot(t, uid);
	if (t->uid[i] == TCS_UID_NONE) {
		t->uid[i] = uid;
		t->used++;
	}
	t->n[i]++;
	return 0;
}

static void tally_clear(struct tally *t)
{
	if (t->cap) {
		memset(t->uid, 0xff, t->cap * sizeof(*t->uid));
		memset(t->n, 0, t->cap * sizeof(*t->n));
	}
	t->used = 0;
	t->live = 0;
}

struct census *census_new(const struct state_fds *f)
{
	struct census *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->keys = f->keys;
	c->flows = f->flows;
	c->stats = f->stats;
	c->meta = f->meta;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus < 0) {
		errno = -c->ncpus;
		free(c);
		return NULL;
	}
	return c;
}

void census_free(struct census *c)
{
	if (!c)
		return;
	free(c->cur.uid);
	free(c->cur.n);
	free(c->done.uid);
	free(c->done.n);
	free(c);
}

/* The walk just ended: its counts become the census's. */
static void pass_end(struct census *c)
{
	struct tally t = c->done;
	__u32 idx = TCS_STAT_KEYS_CREATED, zero = 0;
	__u64 per[c->ncpus], gone, freed = 0;
	struct tcs_meta meta;
	int i;

	c->done = c->cur;
	c->cur = t;
	tally_clear(&c->cur);
	memset(&c->walk, 0, sizeof(c->walk));
	c->in_flows = false;
	c->have = true;

	if (!bpf_map_lookup_elem(c->stats, &idx, per)) {
		c->created = 0;
		for (i = 0; i < c->ncpus; i++)
			c->created += per[i];
	}
	if (c->meta >= 0 && !bpf_map_lookup_elem(c->meta, &zero, &meta))
		freed = meta.keys_freed;
	gone = c->created > c->done.live + freed ? c->created - c->done.live - freed : 0;
	if (gone > c->evicted)
		c->evicted = gone;
}

int census_step(struct census *c, unsigned int budget)
{
	unsigned int seen = 0;
	int last = 0, err;
	__u32 n, i;

	while (!last && seen < budget) {
		n = BATCH;
		if (c->in_flows)
			last = state_batch(c->flows, &c->walk, c->fk, c->fv, &n);
		else
			last = state_batch(c->keys, &c->walk, c->k, c->v, &n);
		if (last < 0) {
			memset(&c->walk, 0, sizeof(c->walk));
			c->in_flows = false;
			tally_clear(&c->cur);
			return last;
		}
		for (i = 0; i < n; i++) {
			__u32 uid = c->in_flows ? c->fv[i].uid : c->k[i].uid;

			if (uid == TCS_UID_NONE)
				continue;	/* a flow whose rule keys in tcs_keys, or none */
			err = tally_add(&c->cur, uid);
			if (err)
				return err;
			c->cur.live++;
		}
		seen += n;
		if (last && !c->in_flows && c->flows >= 0) {
			memset(&c->walk, 0, sizeof(c->walk));
			c->in_flows = true;
			last = 0;
		}
	}
	if (!last)
		return 0;
	pass_end(c);
	return 1;
}

int census_run(struct census *c)
{
	int err;

	while (!(err = census_step(c, ~0u)))
		;
	return err < 0 ? err : 0;
}

bool census_done(const struct census *c)
{
	return c->have;
}

__u64 census_keys(const struct census *c, __u32 uid)
{
	size_t i;

	if (!c->done.cap)
		return 0;
	i = slot(&c->done, uid);
	return c->done.uid[i] == uid ? c->done.n[i] : 0;
}

__u64 census_live(const struct census *c)
{
	return c->done.live;
}

__u64 census_created(const struct census *c)
{
	return c->created;
}

__u64 census_evicted(const struct census *c)
{
	return c->evicted;
}
