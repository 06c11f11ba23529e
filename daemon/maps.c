// SPDX-License-Identifier: GPL-2.0
/*
 * Publishing compiled rulesets into the classifier's maps without a moment
 * of mixed or missing policy: write new rulesets aside, flip the interface
 * bindings; then (maps_collect(), once the new policy is in force and said
 * so) wait out in-flight packets and delete what is unreferenced.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcshape.skel.h"
#include "fault.h"
#include "gate.h"
#include "log.h"
#include "map_walk.h"
#include "maps.h"
#include "state.h"

/* Where a published ruleset is: its id, the tables it reads, its rule bodies. */
struct placed {
	uint32_t id;
	uint32_t class_table;		/* tcs_ruleset.class_table */
	uint32_t match_table;		/* tcs_ruleset.match_table */
	uint32_t base;			/* tcs_ruleset.rule_base: its region of tcs_rules */
};

/* A region of tcs_rules in use: [base, base + n). */
struct region {
	uint32_t base, n;
};

/* any valid policy fits in the half of tcs_rules that holds nothing in force */
_Static_assert(CMP_MAX_RULES <= TCS_RULE_SLOTS / 2, "tcs_rules: a policy's rules in one half");

struct maps {
	int ifaces, ifaces_hi, rulesets, gates, class, match, rules, rule_stats, rule_spill, meta,
	    rule_info, keys, flows, totals;
	int rcu_outer, rcu_inner;	/* see maps_sync() */
	int ncpus;
	struct compiled *cur;
	struct placed *cur_pl;		/* per cur->rs */
	uint32_t half;			/* the half of tcs_rules cur's regions are in */
	uint32_t half_slots;		/* TCS_RULE_SLOTS / 2 (the tests load fewer) */
	uint32_t stat_slots;		/* tcs_rule_stats' size: slots past it spill */
	/* regions an earlier instance's rulesets use, until they are swept */
	struct region *foreign;
	size_t n_foreign;
	/* replaced by the last publish, not yet deleted (maps_collect()) */
	struct compiled *old;
	struct placed *old_pl;
	unsigned char *old_kept;	/* per old->rs: still in force, under the same id */
	struct binding *bind;		/* bindings in force */
	size_t n_bind;
	uint32_t next_id;
	int swept;			/* leftovers of an earlier instance removed */
	bool adopted;			/* maps_open found an earlier instance's state */
};

/*
 * Wait until every classifier run that started before now has finished.
 * Updating a map-in-map from user space does exactly that in the kernel
 * (maybe_wait_bpf_programs(): synchronize_rcu()), so we keep a one-slot
 * array of maps just to poke it.
 */
static int maps_sync(struct maps *m)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(m->rcu_outer, &zero, &m->rcu_inner, BPF_ANY))
		return -errno;
	return 0;
}

static int uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cmp_uid *)a)->ident, ((const struct cmp_uid *)b)->ident);
}

/*
 * Rules a previous instance left in the pinned maps become the "policy in
 * force", so the first compile gives rules with the same identity their
 * old uids back, and with them their limiter state and counters.
 */
static int adopt_uids(struct maps *m)
{
	struct compiled *c = m->cur;
	struct tcs_rule_info ri;
	bool started = false;
	__u32 key;

	while (map_next(m->rule_info, &key, &started)) {
		struct cmp_uid *nu;

		if (bpf_map_lookup_elem(m->rule_info, &key, &ri))
			continue;
		nu = realloc(c->uids, (c->n_uids + 1) * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		c->uids = nu;
		nu = &c->uids[c->n_uids];
		nu->uid = key;
		nu->info = ri;
		ri.iface[sizeof(ri.iface) - 1] = ri.name[sizeof(ri.name) - 1] = 0;
		nu->ident = compile_rule_ident((char *)ri.iface, ri.dir, (char *)ri.name, ri.per);
		if (!nu->ident)
			return -ENOMEM;
		c->n_uids++;
		if (key >= c->next_uid)
			c->next_uid = key + 1;
	}
	if (!c->n_uids)
		return 0;	/* and c->uids is NULL: qsort() of it is undefined */
	log_info("adopting %zu rules left pinned by an earlier instance", c->n_uids);
	qsort(c->uids, c->n_uids, sizeof(*c->uids), uid_cmp);
	return 0;
}

/* One past the highest id the keys of map fd (id at id_off) hold; 0 if none. */
static uint32_t id_after(int fd, size_t id_off)
{
	unsigned char key[64];
	uint32_t id, after = 0;
	bool started = false;

	while (map_next(fd, key, &started)) {
		memcpy(&id, key + id_off, sizeof(id));
		after = id >= after ? id + 1 : after;
	}
	return after;
}

/*
 * tcs_meta is written before the entries it counts (maps_apply reserves ids
 * first), but a meta from an older tcshaped, or one set back by hand, may
 * lag: never hand out an id or uid that an entry in the maps still uses.
 */
static void ids_recover(struct maps *m)
{
	uint32_t after = id_after(m->rulesets, 0), a;

	a = id_after(m->match, offsetof(struct tcs_match_key, ruleset));
	after = a > after ? a : after;
	a = id_after(m->class, offsetof(struct tcs_class_key, ruleset));
	after = a > after ? a : after;
	if (after > m->next_id) {
		log_warn("%s said next ruleset id %u, but the maps hold ruleset %u: continuing "
			 "from %u",
			 TCS_MAP_META, m->next_id, after - 1, after);
		m->next_id = after;
	}
	a = id_after(m->rule_info, 0);
	if (a > m->cur->next_uid) {
		log_warn("%s said next rule uid %u, but the maps hold rule %u: continuing from %u",
			 TCS_MAP_META, m->cur->next_uid, a - 1, a);
		m->cur->next_uid = a;
	}
}

/*
 * The regions of tcs_rules an earlier instance's rulesets name: packets may
 * read them until this instance has flipped and swept, so nothing is placed
 * over them before then.
 */
static int foreign_read(struct maps *m)
{
	struct tcs_ruleset hdr;
	bool started = false;
	__u32 key;

	while (map_next(m->rulesets, &key, &started)) {
		struct region *nf;

		if (bpf_map_lookup_elem(m->rulesets, &key, &hdr) || !hdr.nrules)
			continue;
		nf = realloc(m->foreign, (m->n_foreign + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		m->foreign = nf;
		m->foreign[m->n_foreign++] = (struct region){ hdr.rule_base, hdr.nrules };
	}
	return 0;
}

int maps_open(struct tcshape_bpf *skel, struct maps **out)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	struct maps *m = calloc(1, sizeof(*m));
	struct tcs_meta meta;
	__u32 zero = 0;
	int err;

	if (!m)
		return -ENOMEM;
	m->ifaces = bpf_map__fd(skel->maps.tcs_ifaces);
	m->ifaces_hi = bpf_map__fd(skel->maps.tcs_ifaces_hi);
	m->rulesets = bpf_map__fd(skel->maps.tcs_rulesets);
	m->gates = bpf_map__fd(skel->maps.tcs_gates);
	m->class = bpf_map__fd(skel->maps.tcs_class);
	m->match = bpf_map__fd(skel->maps.tcs_match);
	m->rules = bpf_map__fd(skel->maps.tcs_rules);
	m->half_slots = bpf_map__max_entries(skel->maps.tcs_rules) / 2;
	m->rule_stats = bpf_map__fd(skel->maps.tcs_rule_stats);
	m->rule_spill = bpf_map__fd(skel->maps.tcs_rule_spill);
	m->stat_slots = bpf_map__max_entries(skel->maps.tcs_rule_stats);
	m->meta = bpf_map__fd(skel->maps.tcs_meta);
	m->rule_info = bpf_map__fd(skel->maps.tcs_rule_info);
	m->keys = bpf_map__fd(skel->maps.tcs_keys);
	m->flows = bpf_map__fd(skel->maps.tcs_flows);
	m->totals = bpf_map__fd(skel->maps.tcs_totals);
	m->ncpus = libbpf_num_possible_cpus();
	m->rcu_outer = m->rcu_inner = -1;
	if (m->ncpus < 0) {
		err = m->ncpus;
		goto fail;
	}
	m->rcu_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tcs_rcu_in", 4, 4, 1, NULL);
	if (m->rcu_inner < 0) {
		err = -errno;
		goto fail;
	}
	opts.inner_map_fd = m->rcu_inner;
	m->rcu_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "tcs_rcu", 4, 4, 1, &opts);
	if (m->rcu_outer < 0) {
		err = -errno;
		goto fail;
	}
	/*
	 * Ruleset ids and rule uids must never repeat while flow cache entries
	 * or limiter state may name them: continue where the last instance
	 * using these pinned maps stopped. Start from an empty policy in force.
	 */
	m->cur = calloc(1, sizeof(*m->cur));
	if (!m->cur) {
		err = -ENOMEM;
		goto fail;
	}
	if (bpf_map_lookup_elem(m->meta, &zero, &meta)) {
		err = -errno;
		goto fail;
	}
	m->next_id = meta.next_ruleset ? meta.next_ruleset : 1;
	m->cur->next_uid = meta.next_uid;
	err = adopt_uids(m);
	if (!err)
		err = foreign_read(m);
	if (err)
		goto fail;
	ids_recover(m);
	m->adopted = m->next_id > 1 || m->cur->n_uids;
	*out = m;
	return 0;
fail:
	log_err("maps: %s", strerror(-err));
	maps_close(m);
	return err;
}

void maps_close(struct maps *m)
{
	if (!m)
		return;
	maps_collect(m);
	if (m->rcu_outer >= 0)
		close(m->rcu_outer);
	if (m->rcu_inner >= 0)
		close(m->rcu_inner);
	compile_free(m->cur);
	free(m->cur_pl);
	free(m->foreign);
	free(m->bind);
	free(m);
}

const struct compiled *maps_current(const struct maps *m)
{
	return m->cur;
}

bool maps_adopted(const struct maps *m)
{
	return m->adopted;
}

int maps_rebind(struct maps *m, const struct binding *b, size_t nb)
{
	return maps_apply(m, m->cur, b, nb);
}

static int rs_equal(const struct cmp_ruleset *a, const struct cmp_ruleset *b)
{
	return a->digest == b->digest && a->n_cls == b->n_cls && a->n_match == b->n_match &&
	       !memcmp(&a->hdr, &b->hdr, sizeof(a->hdr)) &&
	       !memcmp(a->cls, b->cls, a->n_cls * sizeof(*a->cls)) &&
	       !memcmp(a->match, b->match, a->n_match * sizeof(*a->match)) &&
	       !memcmp(a->rules, b->rules, a->hdr.nrules * sizeof(*a->rules));
}

/*
 * A ruleset's entries of one table, as maps_apply() writes them: key_size
 * bytes of key (the ruleset id at id_off) and val_size bytes of value at
 * val_off, stride bytes apart.
 */
struct entries {
	int fd;
	const unsigned char *at;
	size_t n, stride, key_size, id_off, val_off, val_size;
};

#define ENTRIES(fd_, arr, n_, key_t, val_m)                                              \
	((struct entries){ .fd = (fd_), .at = (const void *)(arr), .n = (n_),            \
			   .stride = sizeof(*(arr)), .key_size = sizeof(key_t),          \
			   .id_off = offsetof(key_t, ruleset),                           \
			   .val_off = offsetof(typeof(*(arr)), val_m),                   \
			   .val_size = sizeof((arr)->val_m) })

#define BATCH		4096
#ifndef ENOTSUPP
#define ENOTSUPP	524	/* the kernel's: no such operation for this map type */
#endif

/*
 * The kernel refused the batch as a whole (count untouched): no batch
 * operation for this map type, or none at all (before 5.6).
 */
static bool batch_unsupported(int e, __u32 cnt, size_t n)
{
	return cnt == n && (e == ENOTSUPP || e == EOPNOTSUPP || e == EINVAL);
}

/* Keys (and values, if vals) of e's entries [from, from + n) under id. */
static void entries_copy(const struct entries *e, size_t from, size_t n, uint32_t id,
			 unsigned char *keys, unsigned char *vals)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const unsigned char *x = e->at + (from + i) * e->stride;

		memcpy(keys + i * e->key_size, x, e->key_size);
		memcpy(keys + i * e->key_size + e->id_off, &id, sizeof(id));
		if (vals)
			memcpy(vals + i * e->val_size, x + e->val_off, e->val_size);
	}
}

/*
 * Write e's entries under id: a batch of them per syscall where the kernel
 * can (BPF_MAP_UPDATE_BATCH: hashes and LPM tries alike), else one at a
 * time. A table of 100,000 prefixes costs 25 syscalls, not 100,000. A batch
 * cannot say BPF_NOEXIST, and need not: id is fresh (reserved in tcs_meta
 * before anything is written, above every id the maps hold, see
 * ids_recover()), so nothing else is under it. Returns how many it wrote,
 * in order: all of them, or fewer with -errno in *err.
 */
static size_t entries_write(const struct entries *e, uint32_t id, int *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	unsigned char *keys = malloc(BATCH * e->key_size), *vals = malloc(BATCH * e->val_size);
	bool batch = true;
	size_t done = 0, n, i;

	*err = 0;
	if (!keys || !vals) {
		*err = -ENOMEM;
		goto out;
	}
	while (done < e->n) {
		bool fault = false;
		__u32 cnt;

		n = e->n - done < BATCH ? e->n - done : BATCH;
		for (i = 0; i < n && !fault; i++)
			fault = fault_map_write();
		if (fault)
			n = i - 1;	/* the failing write is the i-th */
		entries_copy(e, done, n, id, keys, vals);
		cnt = (__u32)n;
		if (batch && n && bpf_map_update_batch(e->fd, keys, vals, &cnt, &o)) {
			if (!batch_unsupported(errno, cnt, n)) {
				*err = -errno;
				done += cnt;
				goto out;
			}
			batch = false;
		}
		for (i = 0; !batch && i < n; i++) {
			if (bpf_map_update_elem(e->fd, keys + i * e->key_size,
						vals + i * e->val_size, BPF_NOEXIST)) {
				*err = -errno;
				done += i;
				goto out;
			}
		}
		done += n;
		if (fault) {
			*err = -ENOSPC;
			goto out;
		}
	}
out:
	free(keys);
	free(vals);
	return done;
}

/* Delete e's first n entries under id: batched where the kernel can. */
static void entries_delete(const struct entries *e, size_t n, uint32_t id)
{
	unsigned char *keys = malloc(BATCH * e->key_size);
	size_t done = 0, k, i;

	while (done < n) {
		__u32 cnt;

		k = n - done < BATCH ? n - done : BATCH;
		if (!keys) {
			unsigned char key[64];

			entries_copy(e, done++, 1, id, key, NULL);
			bpf_map_delete_elem(e->fd, key);
			continue;
		}
		entries_copy(e, done, k, id, keys, NULL);
		cnt = (__u32)k;
		if (bpf_map_delete_batch(e->fd, keys, &cnt, NULL)) {
			/* unsupported, or one was gone: the rest one at a time */
			for (i = cnt; i < k; i++)
				bpf_map_delete_elem(e->fd, keys + i * e->key_size);
		}
		done += k;
	}
	free(keys);
}

static struct entries class_entries(const struct maps *m, const struct cmp_ruleset *rs)
{
	return ENTRIES(m->class, rs->cls, rs->n_cls, struct tcs_class_key, cls);
}

static struct entries match_entries(const struct maps *m, const struct cmp_ruleset *rs)
{
	return ENTRIES(m->match, rs->match, rs->n_match, struct tcs_match_key, idx);
}

/* Same class table: same prefixes, same class ids. */
static bool cls_equal(const struct cmp_ruleset *a, const struct cmp_ruleset *b)
{
	return a->n_cls == b->n_cls && !memcmp(a->cls, b->cls, a->n_cls * sizeof(*a->cls));
}

/* Same match table: same tcs_match entries (keys and rule indexes). */
static bool match_equal(const struct cmp_ruleset *a, const struct cmp_ruleset *b)
{
	return a->n_match == b->n_match &&
	       !memcmp(a->match, b->match, a->n_match * sizeof(*a->match));
}

/* Is id the class or match table (at offset off in struct placed) of one of pl[0..n)? */
static bool table_in(const struct placed *pl, size_t n, size_t off, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp((const char *)&pl[i] + off, &id, sizeof(id)))
			return true;
	return false;
}

/*
 * The ruleset's gate, in its slot unless a ruleset that may be in use holds
 * that: one whose header is still there (headers go only once no packet
 * can be reading their ruleset). Without it the ruleset just has no gate.
 */
static void gate_write(struct maps *m, const struct cmp_ruleset *rs, uint32_t id)
{
	__u32 slot = id % TCS_GATES;
	struct tcs_ruleset hdr;
	struct tcs_gate g;

	if (!bpf_map_lookup_elem(m->gates, &slot, &g) && g.ruleset && g.ruleset != id &&
	    !bpf_map_lookup_elem(m->rulesets, &g.ruleset, &hdr))
		return;
	gate_of(rs, id, &g);	/* out of memory: no gate, which is only slower */
	bpf_map_update_elem(m->gates, &slot, &g, BPF_ANY);
}

/*
 * Delete the class and match tables ruleset rs at p uses (they hold its
 * entries) unless a ruleset of a[0..na) or b[0..nb) uses them: those in
 * force, and those before it that deleted them already.
 */
static void tables_delete(struct maps *m, const struct cmp_ruleset *rs, const struct placed *p,
			  const struct placed *a, size_t na, const struct placed *b, size_t nb)
{
	struct entries ce = class_entries(m, rs), me = match_entries(m, rs);
	size_t oc = offsetof(struct placed, class_table), om = offsetof(struct placed, match_table);

	if (!table_in(a, na, oc, p->class_table) && !table_in(b, nb, oc, p->class_table))
		entries_delete(&ce, ce.n, p->class_table);
	if (!table_in(a, na, om, p->match_table) && !table_in(b, nb, om, p->match_table))
		entries_delete(&me, me.n, p->match_table);
}

/*
 * A ruleset's rule bodies into its region: one batch (tcs_rules is an
 * array), or one write per rule where the kernel has no batches. No packet
 * reads the region: regions_place() gave it clear of every one in use.
 */
static int region_write(struct maps *m, const struct cmp_ruleset *rs, uint32_t base)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 n = rs->hdr.nrules, cnt = n, i;
	__u32 *keys = malloc((n ? n : 1) * sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = base + i;
	if (fault_map_write()) {
		err = -ENOSPC;
	} else if (n && bpf_map_update_batch(m->rules, keys, rs->rules, &cnt, &o)) {
		err = -errno;
		if (batch_unsupported(-err, cnt, n))
			for (err = 0, i = 0; !err && i < n; i++)
				if (bpf_map_update_elem(m->rules, &keys[i], &rs->rules[i], BPF_ANY))
					err = -errno;
	}
	free(keys);
	return err;
}

/*
 * Write a ruleset under a new id: the class and match tables it owns (those
 * named by its id; others are in force already), its rule bodies, its gate,
 * and its header last, when it is complete. On failure it deletes what it
 * wrote, and only that (a gate no header names is only unused).
 */
static int rs_write(struct maps *m, const struct cmp_ruleset *rs, const struct placed *p)
{
	struct entries ce = class_entries(m, rs), me = match_entries(m, rs);
	struct tcs_ruleset hdr = rs->hdr;
	size_t c = 0, n = 0;
	int err = 0;

	if (p->class_table == p->id)
		c = entries_write(&ce, p->id, &err);
	if (!err && p->match_table == p->id)
		n = entries_write(&me, p->id, &err);
	if (!err)
		err = region_write(m, rs, p->base);
	hdr.class_table = p->class_table;
	hdr.match_table = p->match_table;
	hdr.rule_base = p->base;
	if (!err)
		gate_write(m, rs, p->id);
	if (!err && !bpf_map_update_elem(m->rulesets, &p->id, &hdr, BPF_NOEXIST))
		return 0;
	if (!err)
		err = -errno;
	entries_delete(&me, n, p->id);
	entries_delete(&ce, c, p->id);
	return err;
}

static int region_cmp(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

/*
 * Give each ruleset of c marked in place[] a region of half h of tcs_rules,
 * first fit, clear of every region a packet may read: cur's (all in force
 * until the flip), an earlier instance's, and those given before it here.
 * -ENOSPC if one does not fit.
 */
static int regions_place(const struct maps *m, const struct compiled *c, struct placed *pl,
			 const unsigned char *place, uint32_t h)
{
	size_t n = 0, i, k, cap = m->cur->n_rs + m->n_foreign + c->n_rs;
	struct region *used = malloc((cap ? cap : 1) * sizeof(*used));
	uint64_t lo = (uint64_t)h * m->half_slots, hi = lo + m->half_slots;
	int err = 0;

	if (!used)
		return -ENOMEM;
	for (i = 0; i < m->cur->n_rs; i++)
		used[n++] = (struct region){ m->cur_pl[i].base, m->cur->rs[i].hdr.nrules };
	for (i = 0; i < m->n_foreign; i++)
		used[n++] = m->foreign[i];
	qsort(used, n, sizeof(*used), region_cmp);
	for (i = 0; i < c->n_rs && !err; i++) {
		uint64_t at = lo, need = c->rs[i].hdr.nrules;

		if (!place[i])
			continue;
		for (k = 0; k < n && used[k].base < at + need; k++)
			if ((uint64_t)used[k].base + used[k].n > at)
				at = (uint64_t)used[k].base + used[k].n;
		if (at + need > hi) {
			err = -ENOSPC;
			break;
		}
		pl[i].base = (uint32_t)at;
		memmove(&used[k + 1], &used[k], (n - k) * sizeof(*used));
		used[k] = (struct region){ (uint32_t)at, (uint32_t)need };
		n++;
	}
	free(used);
	return err;
}

/*
 * The rule of c with u's identity (and so its uid), or NULL. The callers
 * go through a list sorted as c->uids is (by ident): *j walks c->uids once
 * for the whole list, not a search per rule.
 */
static const struct cmp_uid *rule_next(const struct compiled *c, const struct cmp_uid *u,
				       size_t *j)
{
	int d = 1;

	while (*j < c->n_uids && (d = strcmp(c->uids[*j].ident, u->ident)) < 0)
		(*j)++;
	return *j < c->n_uids && !d ? &c->uids[*j] : NULL;
}

/*
 * Write n keys of fd (key_size each) with their values (val_size each; vals
 * NULL: all zero), BATCH per syscall where the kernel can, else one at a
 * time. A key past tcs_rule_stats is a per-CPU hash entry, from the
 * kernel's per-CPU allocator, whose free pages are refilled in the
 * background: a policy of thousands of new rules can find it empty for a
 * moment (ENOMEM) and succeed a millisecond later. Wait for it, up to a
 * second.
 */
static int keys_write(int fd, const void *keys, size_t key_size, const void *vals,
		      size_t val_size, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	const unsigned char *k = keys, *v = vals;
	unsigned char *zero = NULL;
	size_t done = 0;
	bool batch = true;
	int waits = 0, err = 0;

	if (!vals && n && !(zero = calloc(n < BATCH ? n : BATCH, val_size)))
		return -ENOMEM;
	while (done < n && !err) {
		__u32 want = (__u32)(n - done < BATCH ? n - done : BATCH), cnt = want;
		const void *at = vals ? v + done * val_size : zero;

		if (!batch)
			cnt = bpf_map_update_elem(fd, k + done * key_size, at, BPF_ANY) ? 0 : 1;
		else if (!bpf_map_update_batch(fd, k + done * key_size, at, &cnt, &o))
			cnt = want;
		else if (batch_unsupported(errno, cnt, want))
			batch = false, cnt = 0, errno = 0;
		done += cnt;
		if (done == n || (batch && cnt == want) || (!batch && cnt) || !errno)
			continue;
		err = -errno;
		if (err == -ENOMEM && ++waits < 1000) {
			usleep(1000);
			err = 0;
		}
	}
	free(zero);
	return err;
}

/*
 * Counters of new rules start at zero, those of kept rules continue; every
 * rule's description is written for tcshapectl and later restarts. prev is
 * what this instance published last (NULL: nothing yet): a rule it holds
 * with the same uid has its counters, and its description if unchanged, so
 * a reload that changes one rule of 10,000 writes one. A uid from
 * prev->next_uid on is new to the maps (uids are reserved in tcs_meta
 * before use, and never reused); without prev, a rule whose description is
 * pinned already is one an earlier instance counted. The writes are
 * batched: a policy of 10,000 new rules is a few syscalls, not 30,000.
 */
static int rules_publish(struct maps *m, const struct compiled *c, const struct compiled *prev)
{
	size_t n = c->n_uids ? c->n_uids : 1, na = 0, ns = 0, ni = 0, i, j = 0;
	size_t stats_size = (size_t)m->ncpus * sizeof(struct tcs_rule_stats);
	__u32 *arr = malloc(n * sizeof(*arr)), *spill = malloc(n * sizeof(*spill));
	__u32 *uids = malloc(n * sizeof(*uids));
	struct tcs_rule_info *infos = malloc(n * sizeof(*infos)), ri;
	int err = -ENOMEM;

	if (!arr || !spill || !uids || !infos)
		goto out;
	for (i = 0; i < c->n_uids; i++) {
		const struct cmp_uid *u = &c->uids[i], *o = prev ? rule_next(prev, u, &j) : NULL;

		if (o && o->uid == u->uid) {
			if (!memcmp(&o->info, &u->info, sizeof(u->info)))
				continue;
		} else if ((prev && u->uid >= prev->next_uid) ||
			   bpf_map_lookup_elem(m->rule_info, &u->uid, &ri)) {
			if (u->info.slot < m->stat_slots)
				arr[na++] = u->info.slot;
			else
				spill[ns++] = u->info.slot;
		}
		uids[ni] = u->uid;
		infos[ni++] = u->info;
	}
	err = keys_write(m->rule_stats, arr, sizeof(*arr), NULL, stats_size, na);
	if (!err)
		err = keys_write(m->rule_spill, spill, sizeof(*spill), NULL, stats_size, ns);
	if (!err)
		err = keys_write(m->rule_info, uids, sizeof(*uids), infos, sizeof(*infos), ni);
out:
	free(arr);
	free(spill);
	free(uids);
	free(infos);
	return err;
}

/* Forget the rules of old that are not in c: counters and descriptions. */
static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Free the limiter keys of rules no longer in force now, rather than when
 * the LRU gets to them: they would hold max_keys slots for nothing. One
 * batched walk of the map, whatever its size.
 */
struct purge {
	int keys, flows;
	const __u32 *uids;
	size_t n;
	unsigned int freed;
};

static int purge_one(const struct tcs_key *k, const struct tcs_key_state *st,
		     const struct tcs_flow_key *fk, void *ctx)
{
	struct purge *p = ctx;

	if (!bsearch(&k->uid, p->uids, p->n, sizeof(*p->uids), u32_cmp))
		return 0;
	/* a per: flow key goes with its flow's entry: the next packet classifies it afresh */
	p->freed += !(fk ? bpf_map_delete_elem(p->flows, fk) : bpf_map_delete_elem(p->keys, k));
	return 0;
}

static void keys_purge(struct maps *m, __u32 *uids, size_t n)
{
	struct purge p = { .keys = m->keys, .flows = m->flows, .uids = uids, .n = n };
	struct tcs_meta meta;
	__u32 zero = 0;

	if (!n)
		return;
	qsort(uids, n, sizeof(*uids), u32_cmp);
	state_keys_walk(m->keys, m->flows, purge_one, &p);
	if (!p.freed)
		return;
	log_debug("freed %u limiter keys of %zu removed rules", p.freed, n);
	/* not evicted: census.c tells the two apart by this count */
	if (!bpf_map_lookup_elem(m->meta, &zero, &meta)) {
		meta.keys_freed += p.freed;
		bpf_map_update_elem(m->meta, &zero, &meta, BPF_ANY);
	}
}

/*
 * The totals' state of removed rules (uids sorted): a small map (rules with
 * a total x interfaces), not preallocated, so nothing else would free it.
 * Its keys are collected first: deleting while walking restarts the walk.
 */
static void totals_purge(struct maps *m, const __u32 *uids, size_t n)
{
	struct tcs_total_key k, *del = NULL, *nd;
	size_t nd_n = 0, i;
	bool started = false;

	while (n && map_next(m->totals, &k, &started)) {
		if (!bsearch(&k.uid, uids, n, sizeof(*uids), u32_cmp))
			continue;
		nd = realloc(del, (nd_n + 1) * sizeof(*del));
		if (!nd)
			break;
		del = nd;
		del[nd_n++] = k;
	}
	for (i = 0; i < nd_n; i++)
		bpf_map_delete_elem(m->totals, &del[i]);
	free(del);
}

/* Forget the rules of old that are not in c: counters, descriptions, limiter keys. */
static void rules_forget(struct maps *m, const struct compiled *old, const struct compiled *c)
{
	__u32 *gone = calloc(old->n_uids + 1, sizeof(*gone));
	struct tcs_rule_stats *zero = calloc(m->ncpus, sizeof(*zero));
	size_t i, j = 0, n = 0;

	for (i = 0; i < old->n_uids; i++) {
		if (rule_next(c, &old->uids[i], &j))
			continue;
		/* its slot is free for a new rule once zeroed; not zeroed, a new rule zeroes it */
		if (old->uids[i].info.slot >= m->stat_slots)
			bpf_map_delete_elem(m->rule_spill, &old->uids[i].info.slot);
		else if (zero)
			bpf_map_update_elem(m->rule_stats, &old->uids[i].info.slot, zero, BPF_ANY);
		bpf_map_delete_elem(m->rule_info, &old->uids[i].uid);
		if (gone)
			gone[n++] = old->uids[i].uid;
	}
	if (gone) {
		keys_purge(m, gone, n);	/* sorts gone */
		totals_purge(m, gone, n);
	}
	free(gone);
	free(zero);
}

/*
 * Delete the entries of map fd (keys of key_size, ruleset or table id at
 * id_off) whose id is not the one at off of a live (the nl in force): what
 * a killed earlier instance left.
 */
static void sweep_map(int fd, size_t key_size, size_t id_off, const struct placed *live,
		      size_t off, size_t nl)
{
	unsigned char key[64], *stale = NULL;
	bool started = false;
	size_t n = 0, i;

	while (map_next(fd, key, &started)) {
		uint32_t id;
		unsigned char *ns;

		memcpy(&id, key + id_off, sizeof(id));
		if (table_in(live, nl, off, id))
			continue;
		ns = realloc(stale, (n + 1) * key_size);
		if (!ns)
			break;
		stale = ns;
		memcpy(stale + n++ * key_size, key, key_size);
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, stale + i * key_size);
	if (n)
		log_info("removed %zu stale entries left by an earlier instance", n);
	free(stale);
}

static const struct binding *bind_find(const struct binding *b, size_t n, uint32_t ifindex,
				       int dir);

/* A binding's TCS_IF_* flags: how its device parses, and whether its ruleset matches DSCP. */
static __u32 bind_flags(const struct binding *b, const struct cmp_ruleset *rs)
{
	return b->if_flags | (rs->hdr.fields & (1 << TCS_F_DSCP) ? TCS_IF_DSCP : 0);
}

/* Bind (ifindex, dir) to v, one map write; v NULL unbinds. See TCS_IFACES_DIRECT. */
static int bind_write(struct maps *m, uint32_t ifindex, int dir, const struct tcs_iface *v)
{
	struct tcs_iface_key k = { .ifindex = ifindex, .dir = (__u32)dir };
	struct tcs_iface none = { 0 };
	__u32 i = ifindex << 1 | (__u32)dir;

	if (ifindex < TCS_IFACES_DIRECT)
		return bpf_map_update_elem(m->ifaces, &i, v ? v : &none, BPF_ANY) ? -errno : 0;
	if (v)
		return bpf_map_update_elem(m->ifaces_hi, &k, v, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(m->ifaces_hi, &k) && errno != ENOENT ? -errno : 0;
}

static void sweep_bindings(struct maps *m)
{
	struct tcs_iface_key k, *stale = NULL, *ns;
	bool started = false;
	struct tcs_iface v;
	size_t n = 0, i;

	for (i = 0; i < TCS_IFACES_DIRECT * TCS_DIR_NR; i++) {
		__u32 idx = (__u32)i;

		if (!bpf_map_lookup_elem(m->ifaces, &idx, &v) && v.ruleset &&
		    !bind_find(m->bind, m->n_bind, idx >> 1, (int)(idx & 1)))
			bind_write(m, idx >> 1, (int)(idx & 1), NULL);
	}
	while (map_next(m->ifaces_hi, &k, &started)) {
		if (bind_find(m->bind, m->n_bind, k.ifindex, (int)k.dir))
			continue;
		ns = realloc(stale, (n + 1) * sizeof(*stale));
		if (!ns)
			break;
		stale = ns;
		stale[n++] = k;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(m->ifaces_hi, &stale[i]);
	free(stale);
}

static void maps_sweep(struct maps *m)
{
	size_t n = m->cur->n_rs;

	sweep_map(m->rulesets, sizeof(__u32), 0, m->cur_pl, offsetof(struct placed, id), n);
	sweep_map(m->match, sizeof(struct tcs_match_key), offsetof(struct tcs_match_key, ruleset),
		  m->cur_pl, offsetof(struct placed, match_table), n);
	sweep_map(m->class, sizeof(struct tcs_class_key), offsetof(struct tcs_class_key, ruleset),
		  m->cur_pl, offsetof(struct placed, class_table), n);
	sweep_bindings(m);
	/* no ruleset names their regions now, and no packet reads them */
	free(m->foreign);
	m->foreign = NULL;
	m->n_foreign = 0;
	m->swept = 1;
}

static const struct binding *bind_find(const struct binding *b, size_t n, uint32_t ifindex,
				       int dir)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i].ifindex == ifindex && b[i].dir == dir)
			return &b[i];
	return NULL;
}

/*
 * 3. no packet can be reading the rulesets the last publish replaced any
 * more: delete their headers (their regions of tcs_rules are free from
 * now), the class and match tables nothing in force uses, and the state of
 * rules that are gone.
 */
void maps_collect(struct maps *m)
{
	struct compiled *old = m->old;
	size_t j;

	/* the leftovers of an earlier instance, once this one has published */
	bool sweep = !m->swept && m->cur_pl;

	if (!old && !sweep)
		return;
	maps_sync(m);
	for (j = 0; old && j < old->n_rs; j++)
		if (!m->old_kept[j])
			bpf_map_delete_elem(m->rulesets, &m->old_pl[j].id);
	for (j = 0; old && j < old->n_rs; j++)
		tables_delete(m, &old->rs[j], &m->old_pl[j], m->cur_pl, m->cur->n_rs, m->old_pl, j);
	if (old) {
		rules_forget(m, old, m->cur);
		fault_point("freed");
		compile_free(old);
	}
	free(m->old_pl);
	free(m->old_kept);
	m->old = NULL;
	m->old_pl = NULL;
	m->old_kept = NULL;
	if (sweep)
		maps_sweep(m);
}

int maps_apply(struct maps *m, struct compiled *c, const struct binding *b, size_t nb)
{
	int err = maps_publish(m, c, b, nb);

	maps_collect(m);
	return err;
}

/*
 * A new ruleset's id, and the class and match tables it uses: one in force
 * (or written before it, at pl[0..i)) if it holds the same, else its own.
 */
static void rs_name(const struct maps *m, const struct compiled *c, size_t i, struct placed *pl,
		    uint32_t id)
{
	const struct cmp_ruleset *rs = &c->rs[i];
	size_t j;

	pl[i].id = pl[i].class_table = pl[i].match_table = id;
	for (j = 0; j < m->cur->n_rs; j++) {
		if (pl[i].class_table == id && cls_equal(rs, &m->cur->rs[j]))
			pl[i].class_table = m->cur_pl[j].class_table;
		if (pl[i].match_table == id && match_equal(rs, &m->cur->rs[j]))
			pl[i].match_table = m->cur_pl[j].match_table;
	}
	for (j = 0; j < i; j++) {
		if (pl[i].class_table == id && cls_equal(rs, &c->rs[j]))
			pl[i].class_table = pl[j].class_table;
		if (pl[i].match_table == id && match_equal(rs, &c->rs[j]))
			pl[i].match_table = pl[j].match_table;
	}
}

int maps_publish(struct maps *m, struct compiled *c, const struct binding *b, size_t nb)
{
	struct placed *pl = calloc(c->n_rs ? c->n_rs : 1, sizeof(*pl));
	unsigned char *fresh = calloc(c->n_rs ? c->n_rs : 1, 1);
	unsigned char *isnew = calloc(c->n_rs ? c->n_rs : 1, 1);
	unsigned char *kept = calloc(m->cur->n_rs + 1, 1);
	struct binding *nbind = calloc(nb ? nb : 1, sizeof(*nbind));
	struct tcs_meta meta = { 0 };
	uint32_t next_id = m->next_id, half = m->half, rules = 0;
	__u32 zero = 0;
	size_t i, j;
	int err = 0;

	if (!pl || !fresh || !isnew || !kept || !nbind) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(nbind, b, nb * sizeof(*b));
	maps_collect(m);	/* the ids below are only those in force */

	/*
	 * 1. every ruleset: the one already published if identical, else a
	 * new one; a new one shares the class table (most of a big policy's
	 * entries) and the match table of one in force or written before it
	 * if it holds the same: a reload that changed rates writes a header
	 * and a region of rule bodies per ruleset it changed.
	 */
	for (i = 0; i < c->n_rs; i++) {
		for (j = 0; j < m->cur->n_rs; j++) {
			if (c == m->cur ? i == j : rs_equal(&c->rs[i], &m->cur->rs[j])) {
				pl[i] = m->cur_pl[j];
				kept[j] = 1;
				break;
			}
		}
		if (j == m->cur->n_rs) {
			rs_name(m, c, i, pl, next_id++);
			isnew[i] = 1;
		}
		rules += c->rs[i].hdr.nrules;
	}
	/*
	 * Regions for the new ones beside those in force, in the half of
	 * tcs_rules they are in; where that is too full or too fragmented,
	 * every ruleset moves to the other half (those kept under new ids,
	 * sharing their tables), which holds none in force.
	 */
	err = regions_place(m, c, pl, isnew, half);
	if (err == -ENOSPC) {
		half ^= 1;
		for (i = 0; i < c->n_rs; i++) {
			if (!isnew[i]) {
				struct placed p = pl[i];

				rs_name(m, c, i, pl, next_id++);
				pl[i].class_table = p.class_table;
				pl[i].match_table = p.match_table;
				isnew[i] = 1;
			}
		}
		memset(kept, 0, m->cur->n_rs);
		err = regions_place(m, c, pl, isnew, half);
	}
	if (err) {
		log_err("%s: no room for the bodies of %u rules beside the %zu regions in use "
			"(an earlier instance's leftovers?): %s",
			TCS_MAP_RULES, rules, m->cur->n_rs + m->n_foreign, strerror(-err));
		goto out;
	}
	/*
	 * The ids (and rule uids) are reserved before anything is written
	 * under them: killed at any later step, the next start never hands
	 * them out again.
	 */
	bpf_map_lookup_elem(m->meta, &zero, &meta);	/* keeps keys_freed */
	meta.next_ruleset = next_id;
	meta.next_uid = c->next_uid;
	if (next_id != m->next_id || c->next_uid != m->cur->next_uid) {
		if (bpf_map_update_elem(m->meta, &zero, &meta, BPF_ANY)) {
			err = -errno;
			log_err("update %s: %s", TCS_MAP_META, strerror(-err));
			goto out;
		}
		m->next_id = next_id;
	}
	if (c != m->cur)
		fault_point("reserved");
	for (i = 0; i < c->n_rs; i++) {
		if (!isnew[i])
			continue;
		err = rs_write(m, &c->rs[i], &pl[i]);
		if (err) {
			log_err("publish ruleset %u: %s", pl[i].id, strerror(-err));
			goto undo;
		}
		fresh[i] = 1;
	}
	if (c != m->cur)
		fault_point("written");
	err = c == m->cur ? 0 : rules_publish(m, c, m->cur_pl ? m->cur : NULL);
	if (err) {
		log_err("publish rules: %s", strerror(-err));
		goto undo;
	}

	/* 2. flip: each binding switches with one map write */
	for (i = 0; i < nb; i++) {
		struct tcs_iface v = { .ruleset = pl[b[i].rs].id,
				       .flags = bind_flags(&b[i], &c->rs[b[i].rs]) };

		err = bind_write(m, b[i].ifindex, b[i].dir, &v);
		if (err) {
			log_err("bind ifindex %u %s: %s", b[i].ifindex,
				b[i].dir ? "egress" : "ingress", strerror(-err));
			goto unflip;
		}
	}
	for (i = 0; i < m->n_bind; i++)
		if (!bind_find(b, nb, m->bind[i].ifindex, m->bind[i].dir))
			bind_write(m, m->bind[i].ifindex, m->bind[i].dir, NULL);

	if (c != m->cur)
		fault_point("flipped");

	/* 3. is maps_collect()'s: what this replaced is kept until then */
	if (c != m->cur) {
		m->old = m->cur;
		m->old_pl = m->cur_pl;
		m->old_kept = kept;
		kept = NULL;
	} else {
		free(m->cur_pl);
	}
	free(m->bind);
	m->cur = c;
	m->cur_pl = pl;
	m->half = half;
	m->bind = nbind;
	m->n_bind = nb;
	pl = NULL;
	nbind = NULL;
	goto out;

unflip:
	/* put back the bindings in force */
	for (i = 0; i < nb; i++) {
		const struct binding *old = bind_find(m->bind, m->n_bind, b[i].ifindex, b[i].dir);
		struct tcs_iface v = { .ruleset = old ? m->cur_pl[old->rs].id : 0,
				       .flags = old ? bind_flags(old, &m->cur->rs[old->rs]) : 0 };

		bind_write(m, b[i].ifindex, b[i].dir, old ? &v : NULL);
	}
	maps_sync(m);
undo:
	for (i = 0; i < c->n_rs; i++) {
		if (!fresh[i])
			continue;
		bpf_map_delete_elem(m->rulesets, &pl[i].id);
		tables_delete(m, &c->rs[i], &pl[i], m->cur_pl, m->cur->n_rs, pl, i);
	}
	rules_forget(m, c, m->cur);
	rules_publish(m, m->cur, c);
	/* the uids c took are reserved in tcs_meta: never hand them out again */
	if (c->next_uid > m->cur->next_uid)
		m->cur->next_uid = c->next_uid;
out:
	free(pl);
	free(fresh);
	free(isnew);
	free(kept);
	free(nbind);
	return err;
}
