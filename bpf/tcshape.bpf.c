// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc clsact classifier: parse, find the packet's rule (flow cache, else a
 * constant number of class lookups), charge the rule's per-key GCRA bucket,
 * drop or hand the packet on. Policy lives in maps the daemon publishes.
 */
#include <linux/types.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tcshape_abi.h"
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Knobs set before load (rodata: the verifier drops the dead branch).
 * flow_cache: the daemon keeps it on; make bench turns it off to measure
 * classification itself.
 */
const volatile bool flow_cache = true;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcs_iface_key);
	__type(value, struct tcs_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcs_ruleset);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rulesets SEC(".maps");

/* Without preallocation an LPM trie costs only what it holds. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 24);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcs_class_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcs_match_key);
	__type(value, struct tcs_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_match SEC(".maps");

/* max_entries of the two LRUs is settings.max_keys, set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct tcs_flow_key);
	__type(value, struct tcs_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct tcs_key);
	__type(value, struct tcs_key_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_keys SEC(".maps");

/*
 * TCP connections as classified, for their local sockets (sockpace.bpf.c):
 * which limiter key their packets are charged to, by direction. Written on
 * a flow cache miss only. Sized for the local connections of a busy host,
 * not for every key (about 10 MiB); when it overflows, the oldest notes go
 * and their sockets are let go: tc still enforces.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcs_sock_key);
	__type(value, struct tcs_sock_note);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcs_frag_key);
	__type(value, struct tcs_frag_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcs_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCS_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcs_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_meta SEC(".maps");

/* Written by the daemon, read by tcshapectl; the classifier never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcs_rule_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rule_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcs_daemon);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_daemon SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tcs_stats, &idx);

	if (v)
		*v += 1;
}

/*
 * Fragments after the first carry no ports: they take the ports their first
 * fragment recorded, so a fragmented flow is keyed and matched as one. When
 * the first was not seen (reordered, or sent before we attached) the ports
 * stay 0: port rules do not match, address-only rules still do.
 */
static __always_inline void frag_ports(struct pkt *p)
{
	struct tcs_frag_ports *fp, v = {};
	struct tcs_frag_key k = {};

	if (p->frag == FRAG_NONE || !has_ports(p->proto))
		return;
	k.family = p->family;
	k.proto = p->proto;
	k.id = p->frag_id;
	__builtin_memcpy(k.src, p->src, 16);
	__builtin_memcpy(k.dst, p->dst, 16);
	if (p->frag == FRAG_FIRST) {
		v.sport = p->sport;
		v.dport = p->dport;
		bpf_map_update_elem(&tcs_frags, &k, &v, BPF_ANY);
		return;
	}
	fp = bpf_map_lookup_elem(&tcs_frags, &k);
	if (fp) {
		p->sport = fp->sport;
		p->dport = fp->dport;
	} else {
		stat_inc(TCS_STAT_FRAG_NO_FIRST);
	}
}

static __always_inline __u32 class_of(__u32 ruleset, __u8 field, __u8 family,
				      const void *val, __u32 bits)
{
	struct tcs_class_key k = {};
	__u32 *cls;

	k.prefixlen = TCS_CLASS_HDR_BITS + bits;
	k.ruleset = ruleset;
	k.field = field;
	k.family = family;
	__builtin_memcpy(k.data, val, 16);
	cls = bpf_map_lookup_elem(&tcs_class, &k);
	return cls ? *cls : 0;
}

struct shape_walk {
	__u32 ruleset;
	__u32 best;			/* index of the best rule so far */
	__u32 cls[TCS_F_NR];
	struct tcs_rule rule;		/* the best rule so far */
};

/*
 * One rule shape: its table holds, for each combination of the packet's
 * classes on the shape's fields, the first rule of that shape matching them.
 * Run through bpf_loop so the verifier checks the body once, not per shape.
 */
static long shape_step(__u32 i, struct shape_walk *w)
{
	const struct tcs_ruleset *rs = bpf_map_lookup_elem(&tcs_rulesets, &w->ruleset);
	struct tcs_match_key mk = { .ruleset = w->ruleset };
	const struct tcs_rule *r;
	__u32 mask, f;

	if (!rs || i >= rs->nshapes || i >= TCS_MAX_SHAPES)
		return 1;
	/* shapes are sorted by their first rule: none further can beat best */
	if (rs->shapes[i].min_idx >= w->best)
		return 1;
	mask = rs->shapes[i].mask;
	mk.mask = mask;
	for (f = 0; f < TCS_F_NR; f++) {
		if (!(mask & (1 << f)))
			continue;
		if (!w->cls[f])
			return 0; /* a field of this shape matched no rule */
		mk.cls[f] = w->cls[f];
	}
	r = bpf_map_lookup_elem(&tcs_match, &mk);
	if (r && r->idx < w->best) {
		w->rule = *r;
		w->best = r->idx;
	}
	return 0;
}

/*
 * First matching rule of the ruleset, in a cost that depends on neither the
 * number of rules nor of prefixes: one LPM lookup per field any rule uses,
 * then one hash lookup per rule shape (at most 64, usually a handful).
 * Returns 0 and fills *out, or -1 when no rule matches.
 */
__attribute__((noinline)) int classify(const struct pkt *p, __u32 ruleset, struct tcs_rule *out)
{
	const struct tcs_ruleset *rs = bpf_map_lookup_elem(&tcs_rulesets, &ruleset);
	struct shape_walk w = { .ruleset = ruleset, .best = TCS_IDX_NONE };
	__u8 port[16] = {}, byte[16] = {};
	__u32 fields, abits;

	if (!rs || !p || !out)
		return -1;
	fields = rs->fields;
	abits = p->family == TCS_FAMILY_V4 ? 32 : 128;

	if (fields & (1 << TCS_F_PROTO)) {
		byte[0] = p->proto;
		w.cls[TCS_F_PROTO] = class_of(ruleset, TCS_F_PROTO, 0, byte, 8);
	}
	if (fields & (1 << TCS_F_DSCP)) {
		byte[0] = p->dscp;
		w.cls[TCS_F_DSCP] = class_of(ruleset, TCS_F_DSCP, 0, byte, 8);
	}
	if (fields & (1 << TCS_F_SPORT)) {
		__builtin_memcpy(port, &p->sport, 2);
		w.cls[TCS_F_SPORT] = class_of(ruleset, TCS_F_SPORT, 0, port, 16);
	}
	if (fields & (1 << TCS_F_DPORT)) {
		__builtin_memcpy(port, &p->dport, 2);
		w.cls[TCS_F_DPORT] = class_of(ruleset, TCS_F_DPORT, 0, port, 16);
	}
	if (fields & (1 << TCS_F_SRC))
		w.cls[TCS_F_SRC] = class_of(ruleset, TCS_F_SRC, p->family, p->src, abits);
	if (fields & (1 << TCS_F_DST))
		w.cls[TCS_F_DST] = class_of(ruleset, TCS_F_DST, p->family, p->dst, abits);

	bpf_loop(TCS_MAX_SHAPES, shape_step, &w, 0);
	if (w.best == TCS_IDX_NONE)
		return -1;
	*out = w.rule;
	return 0;
}

static __always_inline void flow_key_of(const struct pkt *p, __u32 ruleset,
					struct tcs_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->ruleset = ruleset;
	k->family = p->family;
	k->proto = p->proto;
	k->dscp = p->dscp;
	k->sport = p->sport;
	k->dport = p->dport;
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
}

/* The limiter key: what of the packet the rule's "per" keeps apart. */
static __always_inline void limiter_key_of(const struct pkt *p, const struct tcs_rule *r,
					   __u32 ifindex, struct tcs_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->uid = r->uid;
	k->ifindex = ifindex;
	switch (r->per) {
	case TCS_PER_FLOW:
		k->family = p->family;
		k->proto = p->proto;
		k->sport = p->sport;
		k->dport = p->dport;
		__builtin_memcpy(k->src, p->src, 16);
		__builtin_memcpy(k->dst, p->dst, 16);
		break;
	case TCS_PER_SRC:
		k->family = p->family;
		__builtin_memcpy(k->src, p->src, 16);
		break;
	case TCS_PER_DST:
		k->family = p->family;
		__builtin_memcpy(k->dst, p->dst, 16);
		break;
	}
}

/*
 * A TCP connection was just classified (a new flow, or the first packet
 * after a reload): tell its local socket, if it has one, which limiter key
 * tc charges it to in this direction, or that none does any more. Keyed as
 * the socket sees the connection, so the sockets of forwarded traffic are
 * never found and nothing else pays for it.
 */
static __always_inline void note_sock(const struct pkt *p, __u32 dir, __u32 ruleset,
				      const struct tcs_rule *r, __u32 ifindex)
{
	struct tcs_sock_key k = { .dir = dir, .family = p->family };
	struct tcs_sock_note n = { .ruleset = ruleset };

	if (p->proto != IPPROTO_TCP || p->frag != FRAG_NONE)
		return;
	if (dir == TCS_DIR_EGRESS) {
		k.lport = p->sport;
		k.rport = p->dport;
		__builtin_memcpy(k.laddr, p->src, 16);
		__builtin_memcpy(k.raddr, p->dst, 16);
	} else {
		k.lport = p->dport;
		k.rport = p->sport;
		__builtin_memcpy(k.laddr, p->dst, 16);
		__builtin_memcpy(k.raddr, p->src, 16);
	}
	if (r->uid == TCS_UID_NONE) {
		bpf_map_delete_elem(&tcs_socks, &k);
		return;
	}
	limiter_key_of(p, r, ifindex, &n.key);
	bpf_map_update_elem(&tcs_socks, &k, &n, BPF_ANY);
}

enum { CHARGE_PASS, CHARGE_DROP, CHARGE_CONTENDED };

/*
 * GCRA, the token bucket as one clock: tat is when the bucket would be full
 * again, and a packet may leave once the bucket holds its cost:
 *
 *	dep = max(now, tat - (burst - cost))	then	tat = max(tat, now) + cost
 *
 * Policing passes a packet only if dep is now; pacing (EDT) sends it at dep
 * unless that lies more than max_delay ahead. A packet that finds the bucket
 * full always leaves at once, however large: a GSO super-packet bigger than
 * the burst is not starved, it puts the key in debt. A refused packet costs
 * nothing. Lock-free: one compare-and-swap per packet; losing the race eight
 * times in a row refuses the packet rather than let it pass unaccounted.
 */
static __always_inline int charge(struct tcs_key_state *st, const struct tcs_rule *r,
				  __u64 now, __u64 len, __u64 *dep)
{
	__u64 cost = (len * r->mult) >> r->shift;
	__u64 credit = r->burst_ns > cost ? r->burst_ns - cost : 0;
	__u64 limit = r->action == TCS_ACT_PACE ? r->max_delay_ns : 0;
	int i;

	for (i = 0; i < 8; i++) {
		__u64 tat = READ_ONCE(st->tat);
		__u64 base = tat > now ? tat : now;

		*dep = tat > now + credit ? tat - credit : now;
		if (*dep - now > limit)
			return CHARGE_DROP;
		if (__sync_val_compare_and_swap(&st->tat, tat, base + cost) == tat)
			return CHARGE_PASS;
	}
	return CHARGE_CONTENDED;
}

/*
 * Congestion Experienced on an ECN-capable packet: the sender backs off as
 * from a drop, without losing the packet. IPv4's header checksum is fixed
 * incrementally. Returns 0 if the packet now carries CE.
 */
static __always_inline int mark_ce(struct __sk_buff *skb, const struct pkt *p)
{
	if (p->ecn == 3)
		return 0;
	if (!p->ecn)
		return -1;
	if (p->family == TCS_FAMILY_V4) {
		__u16 old, new;

		if (bpf_skb_load_bytes(skb, p->l3_off, &old, 2))
			return -1;
		new = old | bpf_htons(3);
		if (bpf_l3_csum_replace(skb, p->l3_off + 10, old, new, 2) ||
		    bpf_skb_store_bytes(skb, p->l3_off, &new, 2, 0))
			return -1;
		return 0;
	} else {
		__u8 tcfl;

		if (bpf_skb_load_bytes(skb, p->l3_off + 1, &tcfl, 1))
			return -1;
		tcfl |= 0x30;
		return bpf_skb_store_bytes(skb, p->l3_off + 1, &tcfl, 1, 0) ? -1 : 0;
	}
}

static __always_inline void count(const struct tcs_rule *r, int verdict, __u64 len)
{
	struct tcs_rule_stats *rs = bpf_map_lookup_elem(&tcs_rule_stats, &r->uid);

	if (rs) {
		rs->packets[verdict] += 1;
		rs->bytes[verdict] += len;
	}
}

static __always_inline int tcs_handle(struct __sk_buff *skb, __u32 dir)
{
	struct tcs_iface_key ik = { .ifindex = skb->ifindex, .dir = dir };
	struct tcs_key_state *st, zero = {};
	struct tcs_flow_key fk;
	struct tcs_rule rule = {}, *cached;
	struct tcs_iface *iface;
	struct tcs_key lk;
	__u64 len, now, dep;
	struct pkt p = {};
	int ret;

	iface = bpf_map_lookup_elem(&tcs_ifaces, &ik);
	if (!iface)
		return TC_ACT_UNSPEC;

	ret = parse_pkt(skb, &p);
	if (ret == PARSE_NOT_IP) {
		stat_inc(TCS_STAT_NOT_IP);
		return TC_ACT_UNSPEC;
	}
	if (ret == PARSE_MALFORMED) {
		stat_inc(TCS_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	frag_ports(&p);

	flow_key_of(&p, iface->ruleset, &fk);
	cached = flow_cache ? bpf_map_lookup_elem(&tcs_flows, &fk) : NULL;
	if (cached) {
		rule = *cached;
	} else {
		stat_inc(TCS_STAT_CACHE_MISS);
		if (classify(&p, iface->ruleset, &rule) < 0)
			rule.uid = TCS_UID_NONE;
		if (flow_cache)
			bpf_map_update_elem(&tcs_flows, &fk, &rule, BPF_ANY);
		note_sock(&p, dir, iface->ruleset, &rule, skb->ifindex);
	}
	if (rule.uid == TCS_UID_NONE) {
		stat_inc(TCS_STAT_UNMATCHED);
		return TC_ACT_UNSPEC;
	}

	/* Charge what goes on the wire: every segment of a GSO packet, headers included. */
	len = skb->len;
	if (skb->gso_segs > 1)
		len += (__u64)(skb->gso_segs - 1) * p.hdr_len;

	limiter_key_of(&p, &rule, skb->ifindex, &lk);
	st = bpf_map_lookup_elem(&tcs_keys, &lk);
	if (!st) {
		bpf_map_update_elem(&tcs_keys, &lk, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&tcs_keys, &lk);
		if (!st) {
			stat_inc(TCS_STAT_NO_STATE);
			return TC_ACT_UNSPEC;
		}
	}

	now = bpf_ktime_get_ns();
	ret = charge(st, &rule, now, len, &dep);
	if (ret == CHARGE_PASS) {
		int verdict = TCS_V_PASS;

		if (dep > now) {
			verdict = TCS_V_PACED;
			if ((rule.flags & TCS_RF_ECN) && dep - now > rule.ecn_ns &&
			    !mark_ce(skb, &p))
				verdict = TCS_V_MARK;
			/* fq sends it then; a later time the sender chose stands */
			if (skb->tstamp < dep)
				skb->tstamp = dep;
		}
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, len);
		count(&rule, verdict, len);
		return TC_ACT_UNSPEC;
	}
	if (ret == CHARGE_CONTENDED)
		stat_inc(TCS_STAT_CONTENDED);
	__sync_fetch_and_add(&st->dropped, 1);
	count(&rule, TCS_V_DROP, len);
	return TC_ACT_SHOT;
}

SEC("tc")
int tcs_ingress(struct __sk_buff *skb)
{
	return tcs_handle(skb, TCS_DIR_INGRESS);
}

SEC("tc")
int tcs_egress(struct __sk_buff *skb)
{
	return tcs_handle(skb, TCS_DIR_EGRESS);
}
