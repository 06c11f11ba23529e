// SPDX-License-Identifier: GPL-2.0
/*
 * Policy -> classifier tables. Each match field's values become classes (the
 * set of rules whose list for that field holds the value), stored as LPM
 * prefixes; rules of one shape combine their classes in one hash table.
 * docs/design.md explains why this keeps the per-packet cost constant.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "hash.h"
#include "sha256.h"

#define NSEC_PER_SEC 1000000000ull

struct err_ctx {
	const struct policy *p;
	const struct pol_host *host;	/* what the actions are resolved against */
	pol_err_fn fn;
	void *ctx;
};

void compile_ratecfg(uint64_t bits_per_sec, __u32 *mult, __u8 *shift)
{
	if (!bits_per_sec)
		bits_per_sec = 1;
	/* ns per byte = 8e9 / bps; keep 31-32 significant bits of it. */
	unsigned __int128 factor = 8 * NSEC_PER_SEC;
	unsigned __int128 m;
	__u8 s = 0;

	for (;;) {
		m = factor / bits_per_sec;
		if (m >= (1u << 31) || s == 63)
			break;
		factor <<= 1;
		s++;
	}
	if (m > 0xffffffffu) /* below 2 bit/s: enforced as about 1.9 bit/s */
		m = 0xffffffffu;
	*mult = (__u32)m;
	*shift = s;
}

uint64_t compile_bytes_ns(uint64_t bytes, __u32 mult, __u8 shift)
{
	unsigned __int128 ns = ((unsigned __int128)bytes * mult) >> shift;

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* ---- a small open-addressing index: hash -> item number ------------------ */

struct idx {
	size_t cap;		/* power of two */
	size_t n;
	uint64_t *hash;
	size_t *item;		/* item + 1; 0 = empty slot */
};

static int idx_grow(struct idx *x)
{
	size_t cap = x->cap ? x->cap * 2 : 64, i;
	uint64_t *h = calloc(cap, sizeof(*h));
	size_t *it = calloc(cap, sizeof(*it));

	if (!h || !it) {
		free(h);
		free(it);
		return -ENOMEM;
	}
	for (i = 0; i < x->cap; i++) {
		size_t j;

		if (!x->item[i])
			continue;
		for (j = x->hash[i] & (cap - 1); it[j]; j = (j + 1) & (cap - 1))
			;
		h[j] = x->hash[i];
		it[j] = x->item[i];
	}
	free(x->hash);
	free(x->item);
	x->hash = h;
	x->item = it;
	x->cap = cap;
	return 0;
}

/*
 * Find the item equal to the probe (eq(item, probe)) with this hash; if none,
 * insert new_item. Returns the found or inserted item number, or -ENOMEM.
 */
static long idx_get(struct idx *x, uint64_t hash, size_t new_item,
		    int (*eq)(size_t item, const void *probe, const void *ctx), const void *probe,
		    const void *ctx)
{
	size_t j;

	if ((x->n + 1) * 2 > x->cap && idx_grow(x))
		return -ENOMEM;
	for (j = hash & (x->cap - 1); x->item[j]; j = (j + 1) & (x->cap - 1))
		if (x->hash[j] == hash && eq(x->item[j] - 1, probe, ctx))
			return (long)(x->item[j] - 1);
	x->hash[j] = hash;
	x->item[j] = new_item + 1;
	x->n++;
	return (long)new_item;
}

static void idx_free(struct idx *x)
{
	free(x->hash);
	free(x->item);
	memset(x, 0, sizeof(*x));
}

/* ---- growable arrays ------------------------------------------------------ */

#define VEC(T)                                                                    \
	struct {                                                                  \
		T *v;                                                             \
		size_t n, cap;                                                    \
	}

static int vec_reserve(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#define VEC_PUSH(vec, val)                                                        \
	(vec_reserve((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) \
		 ? -ENOMEM                                                        \
		 : ((vec).v[(vec).n++] = (val), 0))

/* ---- field values as prefixes ---------------------------------------------- */

/* One prefix of one rule's list for one field. */
struct item {
	__u8 family;
	__u8 len;		/* significant bits of data */
	__u8 data[16];
	__u32 rule;
};

typedef VEC(struct item) item_vec;
typedef VEC(__u32) u32_vec;

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(x->data, y->data, 16);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len - y->len;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int prefix_contains(const struct item *outer, const struct item *in)
{
	unsigned int full = outer->len / 8, rest = outer->len % 8;

	if (outer->family != in->family || outer->len > in->len)
		return 0;
	if (memcmp(outer->data, in->data, full))
		return 0;
	return !rest || !((outer->data[full] ^ in->data[full]) & (0xff00 >> rest));
}

/* Split [lo, hi] of a width-bit space into aligned prefixes. */
static int push_range(item_vec *out, unsigned int width, __u32 lo, __u32 hi, __u32 rule)
{
	__u64 l = lo, h = hi;

	while (l <= h) {
		__u64 size = l ? (l & -l) : (1ull << width);
		struct item it = { .rule = rule };
		unsigned int bits = 0;

		while (l + size - 1 > h)
			size >>= 1;
		while ((1ull << bits) < size)
			bits++;
		it.len = width - bits;
		if (width == 16) {
			it.data[0] = l >> 8;
			it.data[1] = l & 0xff;
		} else {
			it.data[0] = l;
		}
		if (VEC_PUSH(*out, it))
			return -ENOMEM;
		l += size;
	}
	return 0;
}

/* The items of rule r for field f; none when r leaves f unconstrained. */
static int field_items(const struct pol_rule *r, __u32 idx, int f, item_vec *out)
{
	const struct pol_match *m = &r->match;
	const struct pol_range *rg = NULL;
	const struct pol_prefix *pf = NULL;
	size_t n = 0, i;
	unsigned int width = 8;

	switch (f) {
	case TCS_F_PROTO:
		rg = m->proto, n = m->n_proto;
		if (!n && (m->n_sport || m->n_dport)) {
			/* ports only exist for these: a port rule implies them */
			for (i = 0; i < POL_N_PORT_PROTOS; i++)
				if (push_range(out, 8, pol_port_protos[i], pol_port_protos[i], idx))
					return -ENOMEM;
			return 0;
		}
		break;
	case TCS_F_SPORT:
		rg = m->sport, n = m->n_sport, width = 16;
		break;
	case TCS_F_DPORT:
		rg = m->dport, n = m->n_dport, width = 16;
		break;
	case TCS_F_DSCP:
		rg = m->dscp, n = m->n_dscp;
		break;
	case TCS_F_SRC:
		pf = m->src, n = m->n_src;
		break;
	case TCS_F_DST:
		pf = m->dst, n = m->n_dst;
		break;
	}
	for (i = 0; i < n; i++) {
		if (rg) {
			if (push_range(out, width, rg[i].lo, rg[i].hi, idx))
				return -ENOMEM;
		} else {
			struct item it = { .rule = idx, .len = pf[i].len };

			it.family = pf[i].family == 4 ? TCS_FAMILY_V4 : TCS_FAMILY_V6;
			memcpy(it.data, pf[i].addr, pf[i].family == 4 ? 4 : 16);
			if (VEC_PUSH(*out, it))
				return -ENOMEM;
		}
	}
	return 0;
}

static __u32 rule_mask(const struct pol_rule *r)
{
	const struct pol_match *m = &r->match;

	return (m->n_proto || m->n_sport || m->n_dport ? 1u << TCS_F_PROTO : 0) |
	       (m->n_sport ? 1u << TCS_F_SPORT : 0) | (m->n_dport ? 1u << TCS_F_DPORT : 0) |
	       (m->n_dscp ? 1u << TCS_F_DSCP : 0) | (m->n_src ? 1u << TCS_F_SRC : 0) |
	       (m->n_dst ? 1u << TCS_F_DST : 0);
}

/* ---- classes of one field ---------------------------------------------------- */

/* Rule sets, stored back to back in one pool; a set is (off, n). */
struct sets {
	u32_vec pool;
	VEC(size_t) off;
	VEC(size_t) len;
	struct idx index;
};

static int set_eq(size_t item, const void *probe, const void *ctx)
{
	const struct sets *s = ctx;
	const u32_vec *pr = probe;

	return s->len.v[item] == pr->n &&
	       !memcmp(s->pool.v + s->off.v[item], pr->v, pr->n * sizeof(__u32));
}

/* Class id (1-based) of the rule set in tmp, interning it. */
static long set_intern(struct sets *s, const u32_vec *tmp)
{
	uint64_t h = fnv1a(tmp->v, tmp->n * sizeof(__u32), FNV1A_INIT);
	long id = idx_get(&s->index, h, s->off.n, set_eq, tmp, s);
	size_t i;

	if (id < 0 || (size_t)id < s->off.n)
		return id < 0 ? id : id + 1;
	if (VEC_PUSH(s->off, s->pool.n) || VEC_PUSH(s->len, tmp->n))
		return -ENOMEM;
	for (i = 0; i < tmp->n; i++)
		if (VEC_PUSH(s->pool, tmp->v[i]))
			return -ENOMEM;
	return id + 1;
}

static void sets_free(struct sets *s)
{
	free(s->pool.v);
	free(s->off.v);
	free(s->len.v);
	idx_free(&s->index);
}

/* Merge sorted a and b into out (sorted, unique). */
static int set_union(const __u32 *a, size_t na, const __u32 *b, size_t nb, u32_vec *out)
{
	size_t i = 0, j = 0;

	out->n = 0;
	while (i < na || j < nb) {
		__u32 v;

		if (j >= nb || (i < na && a[i] < b[j]))
			v = a[i++];
		else if (i >= na || b[j] < a[i])
			v = b[j++];
		else
			v = a[i++], j++;
		if (VEC_PUSH(*out, v))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Classes of field f: every distinct prefix any rule lists, with the set of
 * rules owning it or an enclosing prefix. LPM then finds, for any value, the
 * longest listed prefix holding it, whose set is exactly the rules matching.
 * Appends the LPM entries to rs and, per class, its rules to s.
 */
static int field_classes(struct item *it, size_t n, int f, struct sets *s,
			 struct cmp_ruleset *rs, size_t *cls_cap)
{
	VEC(size_t) stack = { 0 };	/* indices of enclosing distinct prefixes */
	VEC(long) cls_of = { 0 };	/* class of each distinct prefix, by first item */
	u32_vec own = { 0 }, tmp = { 0 };
	size_t i = 0;
	int err = 0;

	qsort(it, n, sizeof(*it), item_cmp);
	if (vec_reserve((void **)&cls_of.v, &cls_of.cap, n, sizeof(long)))
		return -ENOMEM;
	cls_of.n = n;
	while (i < n) {
		size_t j = i, parent_off = 0, parent_n = 0;
		long id, parent = -1;
		struct cmp_class *c;

		own.n = 0;
		for (; j < n && it[j].family == it[i].family && it[j].len == it[i].len &&
		       !memcmp(it[j].data, it[i].data, 16); j++)
			if ((!own.n || own.v[own.n - 1] != it[j].rule) && VEC_PUSH(own, it[j].rule))
				goto nomem;
		while (stack.n && !prefix_contains(&it[stack.v[stack.n - 1]], &it[i]))
			stack.n--;
		if (stack.n) {
			long pc = cls_of.v[stack.v[stack.n - 1]] - 1;

			parent = pc + 1;
			parent_off = s->off.v[pc];
			parent_n = s->len.v[pc];
		}
		/* no parent: the pool may still be NULL, and NULL + 0 is undefined in C */
		if (set_union(own.v, own.n, parent_n ? s->pool.v + parent_off : NULL, parent_n,
			      &tmp))
			goto nomem;
		id = set_intern(s, &tmp);
		if (id < 0)
			goto nomem;
		cls_of.v[i] = id;
		if (VEC_PUSH(stack, i))
			goto nomem;
		/*
		 * Its rules are its parent's: the lookup would find the same class
		 * one prefix up (and so would any prefix within it that this one
		 * does not hold), so the LPM needs no entry for it.
		 */
		if (id == parent) {
			i = j;
			continue;
		}
		if (vec_reserve((void **)&rs->cls, cls_cap, rs->n_cls + 1, sizeof(*rs->cls)))
			goto nomem;
		c = &rs->cls[rs->n_cls++];
		memset(c, 0, sizeof(*c));
		c->key.prefixlen = TCS_CLASS_HDR_BITS + it[i].len;
		c->key.field = f;
		c->key.family = f == TCS_F_SRC || f == TCS_F_DST ? it[i].family : 0;
		memcpy(c->key.data, it[i].data, 16);
		c->cls = (__u32)id;
		i = j;
	}
out:
	free(stack.v);
	free(cls_of.v);
	free(own.v);
	free(tmp.v);
	return err;
nomem:
	err = -ENOMEM;
	goto out;
}

/* ---- match entries ------------------------------------------------------------ */

/* What the rulesets compiled so far hold, against the CMP_MAX_* bounds. */
struct budget {
	size_t match;		/* entries of the rulesets before this one */
	size_t cls;
	size_t work;		/* combinations listed, new or not: bounds compile time */
};

struct match_tab {
	struct cmp_ruleset *rs;
	size_t cap;
	struct idx index;
	struct budget *b;
};

static int match_eq(size_t item, const void *probe, const void *ctx)
{
	const struct match_tab *t = ctx;

	return !memcmp(&t->rs->match[item].key, probe, sizeof(struct tcs_match_key));
}

/* Add key -> rule idx unless an earlier rule already holds the key. */
static int match_add(struct match_tab *t, const struct tcs_match_key *k, __u32 idx)
{
	struct cmp_ruleset *rs = t->rs;
	long id = idx_get(&t->index, fnv1a(k, sizeof(*k), FNV1A_INIT), rs->n_match, match_eq, k, t);

	if (id < 0)
		return (int)id;
	if ((size_t)id < rs->n_match)
		return 0;
	if (vec_reserve((void **)&rs->match, &t->cap, rs->n_match + 1, sizeof(*rs->match)))
		return -ENOMEM;
	rs->match[rs->n_match].key = *k;
	rs->match[rs->n_match].idx = idx;
	rs->n_match++;
	return 0;
}

/* classes[f] of one rule: the classes whose set holds it */
struct rule_cls {
	u32_vec f[TCS_F_NR];
};

static int rule_entries(struct match_tab *t, const struct rule_cls *rc, __u32 mask, __u32 idx)
{
	size_t pos[TCS_F_NR] = { 0 };
	struct tcs_match_key k = { .mask = mask };
	int f, err;

	for (f = 0; f < TCS_F_NR; f++)
		if ((mask & (1u << f)) && !rc->f[f].n)
			return 0; /* a class of its own field always holds it; defensive */
	for (;;) {
		for (f = 0; f < TCS_F_NR; f++)
			k.cls[f] = (mask & (1u << f)) ? rc->f[f].v[pos[f]] : 0;
		err = match_add(t, &k, idx);
		if (err)
			return err;
		if (t->b->match + t->rs->n_match > CMP_MAX_MATCH || ++t->b->work > CMP_MAX_WORK)
			return -E2BIG;
		/* odometer over the fields of the mask */
		for (f = 0; f < TCS_F_NR; f++) {
			if (!(mask & (1u << f)))
				continue;
			if (++pos[f] < rc->f[f].n)
				break;
			pos[f] = 0;
		}
		if (f == TCS_F_NR)
			return 0;
	}
}

static int shape_cmp(const void *a, const void *b)
{
	const struct tcs_shape *x = a, *y = b;

	return x->min_idx < y->min_idx ? -1 : x->min_idx > y->min_idx;
}

/* ---- uids ------------------------------------------------------------------------ */

char *compile_rule_ident(const char *iface, int dir, const char *name, int per)
{
	char *s;

	if (asprintf(&s, "%s/%s/%s/%s", iface, pol_dir_name(dir), name, pol_per_name(per)) < 0)
		return NULL;
	return s;
}

static char *rule_ident(const struct pol_iface *pi, int dir, const struct pol_rule *r)
{
	return compile_rule_ident(pi->name, dir, r->name, r->per);
}

static void rule_info(const struct pol_iface *pi, int dir, size_t idx, const struct pol_rule *r,
		      enum pol_action action, struct tcs_rule_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->rate_bps = r->rate_bps;
	ri->burst_bytes = r->burst_bytes;
	ri->idx = (__u32)idx;
	ri->dir = (__u8)dir;
	ri->per = (__u8)r->per;
	ri->total_bps = r->total_bps;
	if (r->total_bps)
		compile_ratecfg(r->total_bps, &ri->total_mult, &ri->total_shift);
	ri->prefix4 = r->prefix4;
	ri->prefix6 = r->prefix6;
	ri->action = action == POL_ACT_PACE ? TCS_ACT_PACE : TCS_ACT_DROP;
	snprintf((char *)ri->iface, sizeof(ri->iface), "%s", pi->name);
	snprintf((char *)ri->name, sizeof(ri->name), "%s", r->name);
}

static int uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cmp_uid *)a)->ident, ((const struct cmp_uid *)b)->ident);
}

/*
 * Rules that existed before keep their uid and counter slot; new rules get
 * fresh uids, never reused, so no rule inherits a removed rule's limiter
 * state, and the lowest slots no rule of prev holds: a removed rule's slot
 * is free once prev is no longer in force (maps.c zeroes it then).
 */
static int assign_uids(struct compiled *c, const struct compiled *prev)
{
	unsigned char *held = calloc(TCS_STAT_SLOTS / 8, 1);
	__u32 slot = 0;
	size_t i, j = 0;
	int err = 0;

	if (!held)
		return -ENOMEM;
	c->next_uid = prev ? prev->next_uid : 0;
	for (i = 0; prev && i < prev->n_uids; i++)
		if (prev->uids[i].info.slot < TCS_STAT_SLOTS)
			held[prev->uids[i].info.slot / 8] |= 1 << (prev->uids[i].info.slot % 8);
	for (i = 0; i < c->n_uids; i++) {
		/* both sorted by ident: one walk of prev's */
		const struct cmp_uid *old = NULL;
		int d = 1;

		while (prev && j < prev->n_uids &&
		       (d = strcmp(prev->uids[j].ident, c->uids[i].ident)) < 0)
			j++;
		if (prev && j < prev->n_uids && !d)
			old = &prev->uids[j];
		c->uids[i].uid = old ? old->uid : TCS_UID_NONE;
		c->uids[i].info.slot = old ? old->info.slot : TCS_STAT_SLOTS;
	}
	for (i = 0; i < c->n_uids; i++) {
		if (c->uids[i].uid != TCS_UID_NONE)
			continue;
		while (slot < TCS_STAT_SLOTS && held[slot / 8] & (1 << (slot % 8)))
			slot++;
		if (c->next_uid == TCS_UID_NONE || slot == TCS_STAT_SLOTS) {
			err = -ENOSPC;
			break;
		}
		c->uids[i].uid = c->next_uid++;
		c->uids[i].info.slot = slot++;
	}
	free(held);
	return err;
}

/* ---- one ruleset --------------------------------------------------------------------- */

/* The input of a ruleset's tables: every rule's match lists and their shape. */
static int match_key(const struct pol_rules *rules, uint8_t key[32])
{
	size_t len = sizeof(size_t), i, at;
	unsigned char *buf;

	for (i = 0; i < rules->n; i++) {
		const struct pol_match *m = &rules->v[i].match;

		len += 6 * sizeof(size_t) +
		       (m->n_proto + m->n_sport + m->n_dport + m->n_dscp) * sizeof(struct pol_range) +
		       (m->n_src + m->n_dst) * sizeof(struct pol_prefix);
	}
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &rules->n, sizeof(size_t));
	at = sizeof(size_t);
#define PUT(v, n)                                                                    \
	do {                                                                         \
		memcpy(buf + at, &(n), sizeof(size_t));                              \
		at += sizeof(size_t);                                                \
		if (n)                                                               \
			memcpy(buf + at, v, (n) * sizeof(*(v)));                     \
		at += (n) * sizeof(*(v));                                            \
	} while (0)
	for (i = 0; i < rules->n; i++) {
		const struct pol_match *m = &rules->v[i].match;

		PUT(m->proto, m->n_proto);
		PUT(m->sport, m->n_sport);
		PUT(m->dport, m->n_dport);
		PUT(m->dscp, m->n_dscp);
		PUT(m->src, m->n_src);
		PUT(m->dst, m->n_dst);
	}
#undef PUT
	sha256(buf, len, key);
	free(buf);
	return 0;
}

static void *memdup(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

/*
 * A ruleset of the policy in force whose tables came from the same match
 * lists (rates, actions and names may differ), if taking its tables keeps
 * within the budget: over it, the tables are computed, for the message.
 */
static const struct cmp_ruleset *tables_in_force(const struct compiled *prev,
						 const struct cmp_ruleset *rs,
						 const struct budget *b)
{
	size_t j;

	for (j = 0; prev && j < prev->n_rs; j++) {
		const struct cmp_ruleset *o = &prev->rs[j];

		if (!memcmp(o->match_key, rs->match_key, sizeof(o->match_key)) &&
		    b->cls + o->n_cls <= CMP_MAX_CLASS && b->match + o->n_match <= CMP_MAX_MATCH &&
		    b->work + o->work <= CMP_MAX_WORK)
			return o;
	}
	return NULL;
}

/* The class and match tables of one ruleset, and its shapes. */
static int compile_tables(const struct err_ctx *e, const struct pol_iface *pi, int dir,
			  struct cmp_ruleset *rs, struct budget *b)
{
	const struct pol_rules *rules = &pi->dir[dir];
	struct rule_cls *rc = calloc(rules->n ? rules->n : 1, sizeof(*rc));
	struct match_tab mt = { .rs = rs, .b = b };
	size_t cls_cap = 0, work = b->work, i, k;
	struct sets s = { 0 };
	item_vec items = { 0 };
	int f, err = 0;

	if (!rc)
		return -ENOMEM;

	/* classes, field by field */
	for (f = 0; f < TCS_F_NR; f++) {
		items.n = 0;
		for (i = 0; i < rules->n; i++)
			if ((err = field_items(&rules->v[i], (__u32)i, f, &items)))
				goto out;
		if (!items.n)
			continue;
		rs->hdr.fields |= 1u << f;
		sets_free(&s);
		memset(&s, 0, sizeof(s));
		if ((err = field_classes(items.v, items.n, f, &s, rs, &cls_cap)))
			goto out;
		if (b->cls + rs->n_cls > CMP_MAX_CLASS) {
			policy_report(e->fn, e->ctx, e->p->path, pi->pos,
				      "with interface entry \"%s\" %s, the policy's match values "
				      "make more than %u prefix entries in all; list fewer prefixes "
				      "or port ranges, or share fewer rule lists between entries",
				      pi->name, pol_dir_name(dir), CMP_MAX_CLASS);
			err = -E2BIG;
			goto out;
		}
		for (k = 0; k < s.off.n; k++)
			for (i = 0; i < s.len.v[k]; i++)
				if (VEC_PUSH(rc[s.pool.v[s.off.v[k] + i]].f[f], (__u32)k + 1)) {
					err = -ENOMEM;
					goto out;
				}
	}

	/* shapes, and every rule's combinations of classes */
	for (i = 0; i < rules->n; i++) {
		const struct pol_rule *r = &rules->v[i];
		__u32 mask = rule_mask(r), si;

		for (si = 0; si < rs->hdr.nshapes && rs->hdr.shapes[si].mask != mask; si++)
			;
		if (si == rs->hdr.nshapes) {
			rs->hdr.shapes[si].mask = mask;
			rs->hdr.shapes[si].min_idx = (__u32)i;
			rs->hdr.nshapes++;
		}
		err = rule_entries(&mt, &rc[i], mask, (__u32)i);
		if (err == -E2BIG && !b->match)
			policy_report(e->fn, e->ctx, e->p->path, r->pos,
				      "rule \"%s\": the %s %s rules combine into more than %u table "
				      "entries; use fewer overlapping prefixes or split the rule",
				      r->name, pi->name, pol_dir_name(dir), CMP_MAX_MATCH);
		else if (err == -E2BIG)
			policy_report(e->fn, e->ctx, e->p->path, r->pos,
				      "rule \"%s\": with the %s %s rules, the policy's rules combine "
				      "into more than %u table entries in all (the %zu entries before "
				      "them included); share fewer rule lists between entries, use "
				      "fewer overlapping prefixes or split the rule",
				      r->name, pi->name, pol_dir_name(dir), CMP_MAX_MATCH, b->match);
		if (err)
			goto out;
	}
	qsort(rs->hdr.shapes, rs->hdr.nshapes, sizeof(rs->hdr.shapes[0]), shape_cmp);
	rs->work = b->work - work;
	rs->tables_digest = fnv1a(rs->cls, rs->n_cls * sizeof(*rs->cls), FNV1A_INIT);
	rs->tables_digest = fnv1a(rs->match, rs->n_match * sizeof(*rs->match), rs->tables_digest);
out:
	for (i = 0; i < rules->n; i++)
		for (f = 0; f < TCS_F_NR; f++)
			free(rc[i].f[f].v);
	free(rc);
	free(items.v);
	sets_free(&s);
	idx_free(&mt.index);
	return err;
}

/* The tables of o, a ruleset in force with the same match lists. */
static int tables_copy(struct cmp_ruleset *rs, const struct cmp_ruleset *o, struct budget *b)
{
	rs->cls = memdup(o->cls, o->n_cls * sizeof(*o->cls));
	rs->match = memdup(o->match, o->n_match * sizeof(*o->match));
	if (!rs->cls || !rs->match)
		return -ENOMEM;
	rs->n_cls = o->n_cls;
	rs->n_match = o->n_match;
	rs->hdr.fields = o->hdr.fields;
	rs->hdr.nshapes = o->hdr.nshapes;
	memcpy(rs->hdr.shapes, o->hdr.shapes, sizeof(rs->hdr.shapes));
	rs->work = o->work;
	rs->tables_digest = o->tables_digest;
	b->work += o->work;
	return 0;
}

/* Rule i's body (u: its uid): what the classifier does with a packet the rule matched. */
static void rule_body(const struct err_ctx *e, const struct cmp_uid *u,
		      const struct pol_iface *pi, int dir, size_t i, struct tcs_rule *tr)
{
	const struct pol_rule *r = &pi->dir[dir].v[i];

	memset(tr, 0, sizeof(*tr));
	tr->idx = (__u16)i;	/* i < CMP_MAX_RULES */
	tr->uid = u->uid;
	tr->slot = u->info.slot;
	compile_ratecfg(r->rate_bps, &tr->mult, &tr->shift);
	tr->burst_ns = compile_bytes_ns(r->burst_bytes, tr->mult, tr->shift);
	tr->flags = r->total_bps ? TCS_RF_TOTAL : 0;
	tr->host4 = (__u8)(32 - r->prefix4);
	tr->host6 = (__u8)(128 - r->prefix6);
	tr->per = r->per == POL_PER_SRC	   ? TCS_PER_SRC
		  : r->per == POL_PER_DST  ? TCS_PER_DST
		  : r->per == POL_PER_RULE ? TCS_PER_RULE
					   : TCS_PER_FLOW;
	if (policy_rule_action(e->p, r, e->host) == POL_ACT_PACE) {
		tr->action = TCS_ACT_PACE;
		tr->max_delay_ns = r->max_delay_ns;
		tr->ecn_us = (__u32)((r->ecn_ns + 999) / 1000); /* < max_delay: 32 bits of us */
		tr->flags |= r->ecn ? TCS_RF_ECN : 0;
	} else {
		tr->action = TCS_ACT_DROP;
	}
}

/*
 * One ruleset. A reload that changed no rule's match lists here (rates,
 * actions, other interfaces) takes the tables of the ruleset in force that
 * has the same ones instead of computing them again from every prefix.
 */
static int compile_rules(const struct err_ctx *e, const struct cmp_uid *const *uids,
			 const struct compiled *prev, const struct pol_iface *pi, int dir,
			 struct cmp_ruleset *rs, struct budget *b)
{
	const struct pol_rules *rules = &pi->dir[dir];
	const struct cmp_ruleset *o;
	size_t i;
	int err;

	rs->rules = calloc(rules->n ? rules->n : 1, sizeof(*rs->rules));
	if (!rs->rules || match_key(rules, rs->match_key))
		return -ENOMEM;
	rs->hdr.nrules = (__u32)rules->n;
	o = tables_in_force(prev, rs, b);
	err = o ? tables_copy(rs, o, b) : compile_tables(e, pi, dir, rs, b);
	if (err)
		return err;
	for (i = 0; i < rules->n; i++)
		rule_body(e, uids[i], pi, dir, i, &rs->rules[i]);

	rs->digest = fnv1a(&rs->hdr, sizeof(rs->hdr), rs->tables_digest);
	rs->digest = fnv1a(rs->rules, rs->hdr.nrules * sizeof(*rs->rules), rs->digest);
	b->match += rs->n_match;
	b->cls += rs->n_cls;
	return 0;
}

/* ---- the whole policy ----------------------------------------------------------------- */

int compile_policy(const struct policy *p, const struct compiled *prev, struct compiled **out,
		   pol_err_fn err_fn, void *ctx)
{
	return compile_policy_for(p, NULL, prev, out, err_fn, ctx);
}

int compile_policy_for(const struct policy *p, const struct pol_host *host,
		       const struct compiled *prev, struct compiled **out, pol_err_fn err_fn,
		       void *ctx)
{
	struct err_ctx e = { .p = p, .host = host, .fn = err_fn, .ctx = ctx };
	struct compiled *c = calloc(1, sizeof(*c));
	struct budget b = { 0 };
	const struct cmp_uid **by_at = NULL;
	size_t i, n_rs = 0, n_rules = 0, u = 0, r;
	int dir, err = 0;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	for (i = 0; i < p->n_ifaces; i++)
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			n_rs += p->ifaces[i].dir[dir].n > 0;
			n_rules += p->ifaces[i].dir[dir].n;
		}
	if (n_rules > CMP_MAX_RULES || n_rs > CMP_MAX_RULESETS) {
		policy_report(err_fn, ctx, p->path, (struct pol_pos){ 1, 1 },
			      "%zu rules in %zu interface entries and directions; tcshaped holds "
			      "at most %u rules in %u",
			      n_rules, n_rs, CMP_MAX_RULES, CMP_MAX_RULESETS);
		err = -E2BIG;
		goto fail;
	}
	c->rs = calloc(n_rs ? n_rs : 1, sizeof(*c->rs));
	c->uids = calloc(n_rules ? n_rules : 1, sizeof(*c->uids));
	if (!c->rs || !c->uids)
		goto nomem;

	for (i = 0; i < p->n_ifaces; i++)
		for (dir = 0; dir < TCS_DIR_NR; dir++)
			for (r = 0; r < p->ifaces[i].dir[dir].n; r++) {
				const struct pol_rule *pr = &p->ifaces[i].dir[dir].v[r];

				c->uids[u].ident = rule_ident(&p->ifaces[i], dir, pr);
				c->uids[u].at = u;
				rule_info(&p->ifaces[i], dir, r, pr, policy_rule_action(p, pr, host),
					  &c->uids[u].info);
				if (!c->uids[u++].ident)
					goto nomem;
				c->n_uids = u;
			}
	qsort(c->uids, c->n_uids, sizeof(*c->uids), uid_cmp);
	if ((err = assign_uids(c, prev))) {
		if (err == -ENOSPC)
			policy_report(err_fn, ctx, p->path, (struct pol_pos){ 1, 1 },
				      "no rule uid or counter slot is free for the new rules: "
				      "the rules in force and these hold all %u slots",
				      TCS_STAT_SLOTS);
		goto fail;
	}
	/* each rule's uid by its place in the policy, for its body */
	by_at = malloc((n_rules ? n_rules : 1) * sizeof(*by_at));
	if (!by_at)
		goto nomem;
	for (u = 0; u < c->n_uids; u++)
		by_at[c->uids[u].at] = &c->uids[u];

	r = 0;
	for (i = 0; i < p->n_ifaces; i++)
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			struct cmp_ruleset *rs;

			if (!p->ifaces[i].dir[dir].n)
				continue;
			rs = &c->rs[c->n_rs++];
			rs->iface = i;
			rs->dir = dir;
			if ((err = compile_rules(&e, by_at + r, prev, &p->ifaces[i], dir, rs, &b)))
				goto fail;
			r += p->ifaces[i].dir[dir].n;
		}
	free(by_at);
	*out = c;
	return 0;
nomem:
	err = -ENOMEM;
fail:
	free(by_at);
	compile_free(c);
	return err;
}

void compile_free(struct compiled *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_rs; i++) {
		free(c->rs[i].cls);
		free(c->rs[i].match);
		free(c->rs[i].rules);
	}
	for (i = 0; i < c->n_uids; i++)
		free(c->uids[i].ident);
	free(c->rs);
	free(c->uids);
	free(c);
}

const struct cmp_ruleset *compile_ruleset(const struct compiled *c, size_t iface, int dir)
{
	size_t i;

	for (i = 0; i < c->n_rs; i++)
		if (c->rs[i].iface == iface && c->rs[i].dir == dir)
			return &c->rs[i];
	return NULL;
}
