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
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tcshape_abi.h"
#include "parse.bpf.h"
#include "gcra.bpf.h"
#include "total.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * Knobs set before load (rodata: the verifier drops the dead branch).
 * flow_cache: the daemon keeps it on; make bench turns it off to measure
 * classification itself.
 */
const volatile bool flow_cache = true;

/* tcs_ifaces(_hi), tcs_rule_info, tcs_totals, tcs_socks: shared with sockpace.bpf.c */
#include "shared_maps.bpf.h"

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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCS_GATES);
	__type(key, __u32);
	__type(value, struct tcs_gate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_gates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcs_match_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_match SEC(".maps");

/* An array lookup is inlined by the verifier: a rule body costs a bounds check. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TCS_RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct tcs_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rules SEC(".maps");

/*
 * max_entries of the two LRUs is set before load: tcs_flows holds
 * settings.max_keys flows, tcs_keys half as many shared keys (daemon/pins.c).
 * Both hold limiter state (a per: flow key lives in its flow's entry), so
 * both are one table with one LRU order (the common LRU): a busy CPU evicts
 * the least recently used entry of all, not its own share's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcs_flow_key);
	__type(value, struct tcs_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tcs_key);
	__type(value, struct tcs_key_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcs_frag_key);
	__type(value, struct tcs_frag_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_frags SEC(".maps");

/*
 * Per-rule counters by slot: the first slots in an array, the rest spill
 * (tcshape_abi.h). max_entries is set before load (daemon/pins.c): count()
 * needs no boundary of its own, the array answers NULL past its end.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCS_STAT_SLOTS_MIN);
	__type(key, __u32);
	__type(value, struct tcs_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, TCS_STAT_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcs_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tcs_rule_spill SEC(".maps");

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
 * Fragments after the first carry no transport header: they take the
 * protocol and ports their first fragment recorded, so a fragmented flow is
 * keyed and matched as one. Returns 0, or -1 for a later fragment whose first
 * was not seen (reordered, lost, or sent before we attached) and which still
 * lacks what a rule could need (PKT_NO_*): see orphan_lacks().
 */
static __always_inline int frag_learn(struct pkt *p)
{
	struct tcs_frag_ports *fp, v = {};
	struct tcs_frag_key k = {};

	if (p->frag == FRAG_NONE)
		return 0;
	if (p->frag == FRAG_FIRST ? p->family == TCS_FAMILY_V4 && !has_ports(p->proto)
				  : !p->flags)
		return 0;	/* the later fragments will show all there is */
	k.family = p->family;
	k.proto = p->family == TCS_FAMILY_V4 ? p->proto : 0;
	k.id = p->frag_id;
	__builtin_memcpy(k.src, p->src, 16);
	__builtin_memcpy(k.dst, p->dst, 16);
	if (p->frag == FRAG_FIRST) {
		v.sport = p->sport;
		v.dport = p->dport;
		v.proto = p->proto;
		bpf_map_update_elem(&tcs_frags, &k, &v, BPF_ANY);
		return 0;
	}
	fp = bpf_map_lookup_elem(&tcs_frags, &k);
	if (!fp)
		return -1;
	p->proto = fp->proto;
	p->sport = fp->sport;
	p->dport = fp->dport;
	p->flags = 0;
	return 0;
}

static __always_inline bool bit_in(const __u64 *map, __u32 b)
{
	return map[(b / 64) & 3] & (1ULL << (b % 64));
}

/*
 * No rule of the ruleset can match the packet: none of the values it has
 * in the fields the ruleset's gate tests is one a rule lists (tcs_gate).
 * An inlined array lookup and a few bit tests, before any hash lookup.
 */
static __always_inline bool gate_shut(const struct pkt *p, __u32 ruleset)
{
	__u32 slot = ruleset % TCS_GATES;
	const struct tcs_gate *g = bpf_map_lookup_elem(&tcs_gates, &slot);
	__u32 f;

	if (!g || g->ruleset != ruleset || !g->fields)
		return false;
	f = g->fields;
	return !((f & (1 << TCS_F_DPORT) &&
		  bit_in(g->dport, bpf_ntohs(p->dport) >> TCS_GATE_PORT_SHIFT)) ||
		 (f & (1 << TCS_F_SPORT) &&
		  bit_in(g->sport, bpf_ntohs(p->sport) >> TCS_GATE_PORT_SHIFT)) ||
		 (f & (1 << TCS_F_DSCP) && (g->dscp & (1ULL << (p->dscp & 63)))) ||
		 (f & (1 << TCS_F_PROTO) && bit_in(g->proto, p->proto)));
}

static __always_inline __u32 class_of(__u32 table, __u8 field, __u8 family,
				      const void *val, __u32 bits)
{
	struct tcs_class_key k = {};
	__u32 *cls;

	k.prefixlen = TCS_CLASS_HDR_BITS + bits;
	k.ruleset = table;
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
};

/*
 * One rule shape: its table holds, for each combination of the packet's
 * classes on the shape's fields, the first rule of that shape matching them.
 * Run through bpf_loop so the verifier checks the body once, not per shape.
 */
static long shape_step(__u32 i, struct shape_walk *w)
{
	const struct tcs_ruleset *rs = bpf_map_lookup_elem(&tcs_rulesets, &w->ruleset);
	struct tcs_match_key mk = {};
	const __u32 *idx;
	__u32 mask, f;

	if (!rs || i >= rs->nshapes || i >= TCS_MAX_SHAPES)
		return 1;
	mk.ruleset = rs->match_table;
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
	idx = bpf_map_lookup_elem(&tcs_match, &mk);
	if (idx && *idx < w->best)
		w->best = *idx;
	return 0;
}

/*
 * First matching rule of the ruleset, in a cost that depends on neither the
 * number of rules nor of prefixes: one LPM lookup per field any rule uses,
 * then one hash lookup per rule shape (at most 64, usually a handful).
 * Returns the rule's tcs_rules slot, or TCS_IDX_NONE when no rule matches.
 */
__attribute__((noinline)) __u32 classify(const struct pkt *p, __u32 ruleset)
{
	const struct tcs_ruleset *rs = bpf_map_lookup_elem(&tcs_rulesets, &ruleset);
	struct shape_walk w = { .ruleset = ruleset, .best = TCS_IDX_NONE };
	__u8 port[16] = {}, byte[16] = {};
	__u32 fields, abits, table;

	if (!rs || !p)
		return TCS_IDX_NONE;
	fields = rs->fields;
	table = rs->class_table;
	abits = p->family == TCS_FAMILY_V4 ? 32 : 128;

	if (fields & (1 << TCS_F_PROTO)) {
		byte[0] = p->proto;
		w.cls[TCS_F_PROTO] = class_of(table, TCS_F_PROTO, 0, byte, 8);
	}
	if (fields & (1 << TCS_F_DSCP)) {
		byte[0] = p->dscp;
		w.cls[TCS_F_DSCP] = class_of(table, TCS_F_DSCP, 0, byte, 8);
	}
	if (fields & (1 << TCS_F_SPORT)) {
		__builtin_memcpy(port, &p->sport, 2);
		w.cls[TCS_F_SPORT] = class_of(table, TCS_F_SPORT, 0, port, 16);
	}
	if (fields & (1 << TCS_F_DPORT)) {
		__builtin_memcpy(port, &p->dport, 2);
		w.cls[TCS_F_DPORT] = class_of(table, TCS_F_DPORT, 0, port, 16);
	}
	if (fields & (1 << TCS_F_SRC))
		w.cls[TCS_F_SRC] = class_of(table, TCS_F_SRC, p->family, p->src, abits);
	if (fields & (1 << TCS_F_DST))
		w.cls[TCS_F_DST] = class_of(table, TCS_F_DST, p->family, p->dst, abits);

	bpf_loop(TCS_MAX_SHAPES, shape_step, &w, 0);
	if (w.best >= rs->nrules)
		return TCS_IDX_NONE;
	return rs->rule_base + w.best;
}

/* Not the DSCP: the entry holds the one it was classified with (struct tcs_flow). */
static __always_inline void flow_key_of(const struct pkt *p, __u32 ifindex, __u32 dir,
					struct tcs_flow_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->ifindex = ifindex;
	k->dir = dir;
	k->family = p->family;
	k->proto = p->proto;
	k->sport = p->sport;
	k->dport = p->dport;
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
}

/*
 * Keep the first bits of an address (network byte order), per 32-bit word:
 * a per: src or per: dst key covers the rule's prefix (an IPv6 /64 by default).
 */
static __always_inline void addr_prefix(__u8 *a, __u32 bits)
{
	__u32 w[4], i, keep;

	__builtin_memcpy(w, a, 16);
	for (i = 0; i < 4; i++) {
		keep = bits > 32 * i ? bits - 32 * i : 0;
		if (keep < 32)
			w[i] &= keep ? bpf_htonl(~0U << (32 - keep)) : 0;
	}
	__builtin_memcpy(a, w, 16);
}

/* The limiter key: what of the packet the rule's "per" keeps apart. */
static __always_inline void limiter_key_of(const struct pkt *p, const struct tcs_rule *r,
					   __u32 ifindex, struct tcs_key *k)
{
	__u32 host = p->family == TCS_FAMILY_V4 ? r->host4 : r->host6;
	__u32 len = p->family == TCS_FAMILY_V4 ? 32 : 128;
	__u32 bits = host < len ? len - host : 0;

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
		addr_prefix(k->src, bits);
		break;
	case TCS_PER_DST:
		k->family = p->family;
		__builtin_memcpy(k->dst, p->dst, 16);
		addr_prefix(k->dst, bits);
		break;
	}
}

/*
 * A TCP connection was just classified (a new flow, or the first packet
 * after a reload): tell its local socket, if it has one, which limiter key
 * tc charges it to in this direction (rule r), or that none does any more
 * (r NULL). Keyed as the socket sees the connection, so the sockets of
 * forwarded traffic are never found and nothing else pays for it.
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
	if (!r) {
		bpf_map_delete_elem(&tcs_socks, &k);
		return;
	}
	limiter_key_of(p, r, ifindex, &n.key);
	bpf_map_update_elem(&tcs_socks, &k, &n, BPF_ANY);
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
	/*
	 * The array answers NULL past its end. Two calls in a row, not a
	 * choice of map: clang would merge those into one call through a map
	 * pointer the verifier cannot inline.
	 */
	struct tcs_rule_stats *rs = bpf_map_lookup_elem(&tcs_rule_stats, &r->slot);

	if (!rs)
		rs = bpf_map_lookup_elem(&tcs_rule_spill, &r->slot);
	if (rs) {
		rs->packets[verdict] += 1;
		rs->bytes[verdict] += len;
	}
}

/*
 * A later fragment whose first was not seen lacks its ports (and, behind an
 * IPv6 extension header, its protocol). It may belong to any rule that
 * constrains what it lacks, and passing it uncharged would let a sender that
 * reorders its fragments around that rule's limit; charging it with ports 0
 * would charge a rule it may not belong to. So where the ruleset constrains
 * what it lacks, it is dropped, as is one whose rule keys flows by their
 * ports (per: flow). Elsewhere what it lacks cannot change its rule, and it
 * is classified and charged like any packet. The receiver cannot reassemble
 * a datagram whose first fragment never came anyway.
 */
static __always_inline int orphan_lacks(const struct pkt *p, __u32 ruleset)
{
	const struct tcs_ruleset *rs = bpf_map_lookup_elem(&tcs_rulesets, &ruleset);
	__u32 lacks = (1 << TCS_F_SPORT) | (1 << TCS_F_DPORT);

	if (p->flags & PKT_NO_PROTO)
		lacks |= 1 << TCS_F_PROTO;
	return rs && (rs->fields & lacks);
}

/*
 * What goes on the wire: every segment of a GSO packet, headers included,
 * and a tunnel's segments with their inner headers too (tunnel_hdr_len).
 * gso_segs is 0 on a packet from an untrusted source (SKB_GSO_DODGY: tap,
 * virtio, packet sockets) and may be too small: the segment count is at
 * least what the payload needs at gso_size, as the kernel's own
 * qdisc_pkt_len_init() reckons.
 */
static __always_inline __u64 wire_len(struct __sk_buff *skb, const struct pkt *p)
{
	__u64 len = skb->len, segs = skb->gso_segs, hdr = p->hdr_len, size = skb->gso_size;

	if (size) {
		int th = tunnel_hdr_len(skb, p);

		if (th > 0)
			hdr = (__u64)th;
	}
	if (size && len > hdr) {
		__u64 need = (len - hdr + size - 1) / size;

		if (need > segs)
			segs = need;
	}
	if (segs > 1)
		len += (segs - 1) * hdr;
	return len;
}

/* read-only data, not the stack: the classifier's frames are near the limit */
static const struct tcs_key_state key_zero;
static const struct tcs_flow flow_zero;
static const struct tcs_total_state total_zero;

/*
 * A rule with a total: its (rule, interface) state, made on first use; the
 * total itself is read from the rule's tcs_rule_info once a share period
 * (so a reload that changes it takes effect within one). If the state
 * cannot be made, or the total is not known, the key's own limit holds.
 */
static __attribute__((noinline)) int charge_total(const struct tcs_rule *r, __u32 ifindex,
						  struct tcs_key_state *st, struct total_io *io)
{
	struct tcs_total_key tk = { .uid = r->uid, .ifindex = ifindex };
	__u64 e = io->now / TCS_SHARE_PERIOD_NS;
	const struct tcs_rule_info *ri;
	struct tcs_total_state *ts;

	ts = bpf_map_lookup_elem(&tcs_totals, &tk);
	if (!ts) {
		bpf_map_update_elem(&tcs_totals, &tk, &total_zero, BPF_NOEXIST);
		ts = bpf_map_lookup_elem(&tcs_totals, &tk);
		if (!ts) {
			stat_inc(TCS_STAT_NO_STATE);
			return charge(st, r, io->now, io->len, &io->dep);
		}
	}
	if (!tagged(READ_ONCE(ts->share[e & 1]), e) || !ts->total_mult) {
		ri = bpf_map_lookup_elem(&tcs_rule_info, &r->uid);
		if (ri && ri->total_mult) {
			WRITE_ONCE(ts->total_mult, ri->total_mult);
			WRITE_ONCE(ts->total_shift, ri->total_shift);
		}
	}
	if (!ts->total_mult)
		return charge(st, r, io->now, io->len, &io->dep);
	return total_charge(ts, st, r, io);
}

/*
 * The state of a key in tcs_keys, made on first use; NULL if it cannot be:
 * keys several flows share (per: src, dst, rule), and the per: flow keys of
 * rules other than their flow entry's owner (a remarked flow's, struct tcs_flow).
 */
static __always_inline struct tcs_key_state *table_key(const struct pkt *p,
							const struct tcs_rule *rule, __u32 ifindex)
{
	struct tcs_key_state *st;
	struct tcs_key lk;

	limiter_key_of(p, rule, ifindex, &lk);
	st = bpf_map_lookup_elem(&tcs_keys, &lk);
	if (st)
		return st;
	if (!bpf_map_update_elem(&tcs_keys, &lk, &key_zero, BPF_NOEXIST))
		stat_inc(TCS_STAT_KEYS_CREATED);	/* evictions are invisible: census.c */
	return bpf_map_lookup_elem(&tcs_keys, &lk);
}

/* Rule r keys per: flow: the flow's entry may hold its key (flow_fill()). */
static __always_inline bool per_flow(const struct tcs_rule *r)
{
	return r && r->per == TCS_PER_FLOW;
}

/*
 * An entry's ruleset, rule slot and DSCP, read and written as one 8-byte
 * word: a packet on another CPU never sees the new ruleset with the old
 * slot, whose region may be reused once the old ruleset is collected, nor
 * one DSCP's slot with another DSCP.
 */
union flow_rule {
	struct {
		__u32 ruleset;
		__u16 slot;
		__u8 dscp;
		__u8 flags;
	} s;
	__u64 w;
};

static __always_inline union flow_rule flow_rule_get(struct tcs_flow *fl)
{
	union flow_rule u;

	u.w = READ_ONCE(*(__u64 *)&fl->ruleset);
	return u;
}

/*
 * The flow's entry once classification gave it slot (rule r, or NULL) in
 * binding b's ruleset for a packet of DSCP dscp. fl is the entry found, if
 * any: one of another ruleset (a reload) or DSCP (a remark), or, with
 * flow_cache off, any. An entry new or of another ruleset takes r as its
 * owner: its clock is kept if r is the per: flow rule it counts for (the
 * same uid), else reset, a new key. A remark changes the rule word only:
 * the owner's clock stays the owner's. Returns the entry, or NULL if it
 * cannot be made.
 */
static __always_inline struct tcs_flow *flow_fill(const struct tcs_flow_key *fk,
						  struct tcs_flow *fl, const struct tcs_iface *b,
						  __u32 slot, __u8 dscp, const struct tcs_rule *r)
{
	__u32 uid = per_flow(r) ? r->uid : TCS_UID_NONE;
	union flow_rule u = { .s = { .ruleset = b->ruleset, .slot = slot, .dscp = dscp,
				     .flags = r ? 0 : TCS_FLOW_NO_RULE } };

	if (!fl) {
		/* a zeroed entry names ruleset 0, which no binding does, until filled */
		if (!bpf_map_update_elem(&tcs_flows, fk, &flow_zero, BPF_NOEXIST) &&
		    uid != TCS_UID_NONE)
			stat_inc(TCS_STAT_KEYS_CREATED);
		fl = bpf_map_lookup_elem(&tcs_flows, fk);
		if (!fl)
			return NULL;
		fl->uid = uid;
	} else if (flow_rule_get(fl).s.ruleset != b->ruleset && fl->uid != uid) {
		fl->st = key_zero;
		fl->uid = uid;
		if (uid != TCS_UID_NONE)
			stat_inc(TCS_STAT_KEYS_CREATED);
	}
	WRITE_ONCE(*(__u64 *)&fl->ruleset, u.w);
	return fl;
}

/*
 * The charge step: the packet's limiter key under its rule (state st) pays
 * len bytes to its GCRA clock; returns the packet's fate. Every matched
 * packet that is not dropped beforehand goes through here, from one call
 * site.
 */
static __always_inline int charge_key(struct __sk_buff *skb, const struct pkt *p,
				      const struct tcs_rule *rule, struct tcs_key_state *st,
				      __u64 len, __u32 dir)
{
	__u64 now, dep;
	int ret;

	now = bpf_ktime_get_ns();
	skb->cb[0] = TCS_CB_MARK;
	skb->cb[1] = skb->ifindex << 1 | dir;
	skb->cb[2] = (__u32)now;
	if (rule->flags & TCS_RF_TOTAL) {
		struct total_io io = { .now = now, .len = len };

		ret = charge_total(rule, skb->ifindex, st, &io);
		dep = io.dep;
	} else {
		ret = gcra_charge(st, rule, now, len, &dep);
	}
	if (ret == CHARGE_CONTENDED)
		stat_inc(TCS_STAT_CONTENDED);
	if (ret != CHARGE_DROP) {
		int verdict = TCS_V_PASS;

		if (dep > now) {
			verdict = TCS_V_PACED;
			if ((rule->flags & TCS_RF_ECN) && dep - now > (__u64)rule->ecn_us * 1000 &&
			    !mark_ce(skb, p))
				verdict = TCS_V_MARK;
			/* fq sends it then; a later time the sender chose stands */
			if (skb->tstamp < dep)
				skb->tstamp = dep;
		}
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, len);
		count(rule, verdict, len);
		return TC_ACT_UNSPEC;
	}
	__sync_fetch_and_add(&st->dropped, 1);
	count(rule, TCS_V_DROP, len);
	return TC_ACT_SHOT;
}

/*
 * Charged once per hook: see TCS_CB_MARK. Clocks are compared in 32 bits,
 * which wrap every 4.3 s; a stale mark that matched after a wrap would need
 * the same interface, direction and a time within 10 ms of now.
 */
static __always_inline bool charged_here(struct __sk_buff *skb, __u32 tag)
{
	return skb->cb[0] == TCS_CB_MARK && skb->cb[1] == tag &&
	       (__u32)bpf_ktime_get_ns() - skb->cb[2] < TCS_CB_FRESH_NS;
}

static __always_inline int tcs_handle(struct __sk_buff *skb, __u32 dir)
{
	struct tcs_flow_key fk;
	const struct tcs_rule *rule;
	struct tcs_key_state *st;
	struct tcs_iface *iface;
	union flow_rule fr = {};
	struct tcs_flow *fl;
	__u32 slot;
	__u64 len;
	struct pkt p = {};
	int ret, orphan;
	__u8 dscp;

	iface = tcs_binding(skb->ifindex, dir);
	if (!iface || charged_here(skb, skb->ifindex << 1 | dir))
		return TC_ACT_UNSPEC;

	ret = parse_fast(skb, &p, iface->flags);
	if (ret != PARSE_OK)
		ret = parse_pkt(skb, &p, iface->flags);
	if (ret == PARSE_NOT_IP) {
		stat_inc(TCS_STAT_NOT_IP);
		return TC_ACT_UNSPEC;
	}
	if (ret == PARSE_MALFORMED) {
		stat_inc(TCS_STAT_MALFORMED);
		return TC_ACT_SHOT;
	}
	orphan = frag_learn(&p) < 0;
	if (orphan && orphan_lacks(&p, iface->ruleset))
		goto drop_orphan;
	/* its socket's note, if any, is left: it names another ruleset (sockpace.bpf.c) */
	if (gate_shut(&p, iface->ruleset)) {
		stat_inc(TCS_STAT_UNMATCHED);
		return TC_ACT_UNSPEC;
	}

	flow_key_of(&p, skb->ifindex, dir, &fk);
	/* the DSCP a classification holds for: none where no rule of the ruleset looks */
	dscp = iface->flags & TCS_IF_DSCP ? p.dscp : 0;
	/* an orphan's ports 0 are not its flow's: it neither reads nor fills the table */
	fl = flow_cache && !orphan ? bpf_map_lookup_elem(&tcs_flows, &fk) : NULL;
	if (fl)
		fr = flow_rule_get(fl);
	if (fl && fr.s.ruleset == iface->ruleset && fr.s.dscp == dscp) {
		slot = fr.s.slot;
		rule = fr.s.flags & TCS_FLOW_NO_RULE ? NULL : bpf_map_lookup_elem(&tcs_rules, &slot);
	} else {
		stat_inc(TCS_STAT_CACHE_MISS);
		slot = classify(&p, iface->ruleset);
		rule = slot != TCS_IDX_NONE ? bpf_map_lookup_elem(&tcs_rules, &slot) : NULL;
		/* without the cache the table holds only per: flow keys */
		if (!flow_cache && !orphan && per_flow(rule))
			fl = bpf_map_lookup_elem(&tcs_flows, &fk);
		if (!orphan && (flow_cache || per_flow(rule)))
			fl = flow_fill(&fk, fl, iface, slot, dscp, rule);
		note_sock(&p, dir, iface->ruleset, rule, skb->ifindex);
	}
	if (!rule) {
		stat_inc(TCS_STAT_UNMATCHED);
		return TC_ACT_UNSPEC;
	}
	if (orphan && rule->per == TCS_PER_FLOW)
		goto drop_orphan;	/* its flow's key needs the ports */

	/* a per: flow key not its entry's owner's (a remarked flow's, or no entry) is in tcs_keys */
	if (per_flow(rule) && fl && fl->uid == rule->uid)
		st = &fl->st;
	else
		st = table_key(&p, rule, skb->ifindex);
	if (!st) {
		stat_inc(TCS_STAT_NO_STATE);
		return TC_ACT_UNSPEC;
	}
	len = wire_len(skb, &p);
	return charge_key(skb, &p, rule, st, len, dir);

drop_orphan:
	stat_inc(TCS_STAT_FRAG_NO_FIRST);
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
