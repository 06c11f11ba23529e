/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one contract between the classifier (bpf/tcshape.bpf.c) and user space
 * (daemon/, tcshapectl, tests). Fixed-width fields, explicit padding, sizes
 * asserted: both sides compile this file and must agree to the byte.
 * Includes nothing: the includer provides __u8/__u16/__u32/__u64.
 */
#ifndef TCSHAPE_ABI_H
#define TCSHAPE_ABI_H

/* Map names: pinned by these names under the pin dir (15 chars at most). */
#define TCS_MAP_IFACES		"tcs_ifaces"
#define TCS_MAP_IFACES_HI	"tcs_ifaces_hi"
#define TCS_MAP_RULESETS	"tcs_rulesets"
#define TCS_MAP_CLASS		"tcs_class"
#define TCS_MAP_MATCH		"tcs_match"
#define TCS_MAP_RULES		"tcs_rules"
#define TCS_MAP_GATES		"tcs_gates"
#define TCS_MAP_FLOWS		"tcs_flows"
#define TCS_MAP_KEYS		"tcs_keys"
#define TCS_MAP_FRAGS		"tcs_frags"
#define TCS_MAP_RULE_STATS	"tcs_rule_stats"
#define TCS_MAP_RULE_SPILL	"tcs_rule_spill"
#define TCS_MAP_STATS		"tcs_stats"
#define TCS_MAP_META		"tcs_meta"
#define TCS_MAP_RULE_INFO	"tcs_rule_info"
#define TCS_MAP_DAEMON		"tcs_daemon"
#define TCS_MAP_SOCKS		"tcs_socks"
#define TCS_MAP_SHARES		"tcs_shares"
#define TCS_MAP_TCP_STATS	"tcs_tcp_stats"
#define TCS_MAP_SK		"tcs_sk"
#define TCS_MAP_TOTALS		"tcs_totals"

#define TCS_DIR_INGRESS	0
#define TCS_DIR_EGRESS	1
#define TCS_DIR_NR	2

/*
 * Match fields. Each rule constrains a subset of them (its "shape", a bit
 * mask of 1 << TCS_F_*). A lookup of a packet's field value in tcs_class
 * gives a class id: the set of rules of the ruleset whose list for that field
 * contains the value (0: no rule's list does).
 */
#define TCS_F_PROTO	0
#define TCS_F_SPORT	1
#define TCS_F_DPORT	2
#define TCS_F_DSCP	3
#define TCS_F_SRC	4
#define TCS_F_DST	5
#define TCS_F_NR	6
#define TCS_MAX_SHAPES	(1 << TCS_F_NR)

#define TCS_FAMILY_NONE	0	/* proto, ports, dscp */
#define TCS_FAMILY_V4	4
#define TCS_FAMILY_V6	6

/* How a rule's traffic is split into limiter keys. */
#define TCS_PER_FLOW	0	/* proto + addresses + ports */
#define TCS_PER_SRC	1
#define TCS_PER_DST	2
#define TCS_PER_RULE	3	/* one bucket for all the rule's traffic */

#define TCS_ACT_DROP	0	/* police: over the limit is dropped */
#define TCS_ACT_PACE	1	/* shape: stamp a departure time for fq (egress) */

#define TCS_RF_ECN	1	/* pace: CE-mark ECN-capable packets past ecn_us */
#define TCS_RF_TOTAL	2	/* the rule has a total (tcs_totals) */

/* Per-rule verdict counters. */
#define TCS_V_PASS	0	/* sent now */
#define TCS_V_DROP	1
#define TCS_V_PACED	2	/* sent, with a departure time in the future */
#define TCS_V_MARK	3	/* sent, paced past ecn_us and CE-marked */
#define TCS_V_NR	4

/* Global counters, tcs_stats index. */
#define TCS_STAT_NOT_IP		0	/* non-IP frames, passed */
#define TCS_STAT_MALFORMED	1	/* broken IP headers, dropped */
#define TCS_STAT_UNMATCHED	2	/* IP packets no rule matched, passed */
#define TCS_STAT_CACHE_MISS	3	/* packets that paid for classification */
#define TCS_STAT_CONTENDED	4	/* lost the bucket race too often, dropped */
#define TCS_STAT_FRAG_NO_FIRST	5	/* later fragment, first not seen: dropped */
#define TCS_STAT_NO_STATE	6	/* limiter state could not be created, passed */
#define TCS_STAT_KEYS_CREATED	7	/* limiter keys created (not packets): census.c */
#define TCS_STAT_NR		8

/*
 * A packet charged by a filter of this hook carries this in its qdisc cb
 * (__sk_buff cb[0..2]): the mark, (ifindex << 1 | dir), and the low 32 bits
 * of the charge time in ns. While settings.tc_priority moves, the old and the
 * new filter both see each packet; the second finds the mark and passes the
 * packet on uncharged. A mark older than TCS_CB_FRESH_NS is stale (another
 * packet's cb contents), so is one from another interface or direction.
 */
#define TCS_CB_MARK		0x7463730aU	/* "tcs\n" */
#define TCS_CB_FRESH_NS		10000000U	/* 10 ms */

/* Special values. */
#define TCS_UID_NONE	0xffffffffu	/* cached "no rule matched" */
#define TCS_IDX_NONE	0xffffffffu

/*
 * Which published ruleset an (interface, direction) uses. An ifindex below
 * TCS_IFACES_DIRECT is found in tcs_ifaces, an array indexed by ifindex << 1
 * | dir (ruleset 0: not bound; ruleset ids start at 1), whose lookup the
 * verifier inlines; a larger one (container hosts number veths upward
 * without end) in tcs_ifaces_hi, a hash by tcs_iface_key. Either way one
 * binding is one map entry.
 */
#define TCS_IFACES_DIRECT	4096
struct tcs_iface_key {
	__u32 ifindex;
	__u32 dir;
};

struct tcs_iface {
	__u32 ruleset;
	__u32 flags;		/* TCS_IF_* */
};

/*
 * The device has no link-layer header (tun, WireGuard, PPP, ipip, sit, gre):
 * packets start at the IP header and skb->protocol says which IP.
 */
#define TCS_IF_L3	1
/*
 * A rule of the bound ruleset matches on DSCP: a flow's entry remembers the
 * DSCP it was classified with, and a packet with another is classified again
 * (struct tcs_flow).
 */
#define TCS_IF_DSCP	2

/*
 * tcs_rulesets: header of an immutable, published ruleset. Shapes are sorted
 * by the lowest policy index among their rules, so the lookup stops as soon
 * as no later shape can hold an earlier rule than the best match so far.
 */
struct tcs_shape {
	__u32 mask;		/* 1 << TCS_F_* of the constrained fields */
	__u32 min_idx;		/* lowest rule index with this shape */
};

struct tcs_ruleset {
	__u32 fields;		/* union of all shapes: fields worth looking up */
	__u32 nshapes;
	__u32 class_table;	/* whose tcs_class entries it uses (see below) */
	__u32 match_table;	/* whose tcs_match entries it uses (the same way) */
	__u32 rule_base;	/* its rule bodies: tcs_rules[rule_base + idx] */
	__u32 nrules;
	struct tcs_shape shapes[TCS_MAX_SHAPES];
};

/*
 * tcs_rules: the rule bodies of every published ruleset, a region of nrules
 * slots each, which the daemon allocates and never writes while a ruleset
 * that names it may be read. Two halves of TCS_RULE_SLOTS / 2, each enough
 * for a whole policy's rules (compile.h: CMP_MAX_RULES): the rulesets in
 * force live in one, and a reload whose new regions do not fit beside them
 * there moves every ruleset to the other (daemon/maps.c: regions_place()).
 */
#define TCS_RULE_SLOTS	65536

/*
 * tcs_class: LPM trie. prefixlen counts from ruleset: 64 bits of
 * ruleset/field/family/pad, then up to 128 bits of value. ruleset is the
 * class table's id: the id of the ruleset that first published it. A new
 * ruleset whose class table is the same as one in force (a reload that
 * changed rates, actions or other interfaces) names that one in its
 * class_table instead of publishing its own. Values are
 * network byte order: an IPv4 address in data[0..3], an IPv6 address in
 * data[0..15], a port as two bytes, proto and dscp as one byte.
 */
#define TCS_CLASS_HDR_BITS	64
struct tcs_class_key {
	__u32 prefixlen;
	__u32 ruleset;
	__u8 field;
	__u8 family;
	__u8 pad[2];
	__u8 data[16];
};

/*
 * tcs_gates[ruleset % TCS_GATES]: what a ruleset's rules can match at all,
 * tested right after parsing, so a packet no rule can match leaves before
 * the flow cache. Each rule constrains at least one of the gate's fields
 * (dport, else sport, else dscp, else proto: the first its shape has); for
 * each of them the gate holds every value any rule lists for it (ports by
 * TCS_GATE_PORT_SHIFT buckets). A packet whose value of every such field is
 * outside them matches no rule. Coarse only towards letting a packet on:
 * ruleset not the slot's (another ruleset holds it), or fields 0 (a rule
 * constrains none of the four: src or dst only, or nothing), means no gate.
 * The daemon writes a slot only when no ruleset that may be in use holds
 * it (daemon/gate.c).
 */
#define TCS_GATES		128
#define TCS_GATE_PORT_SHIFT	8	/* 256 buckets of 256 ports */
struct tcs_gate {
	__u32 ruleset;
	__u32 fields;		/* 1 << TCS_F_* of the fields tested */
	__u64 proto[4];		/* bit per protocol number */
	__u64 dscp;		/* bit per DSCP */
	__u64 sport[4];		/* bit per port >> TCS_GATE_PORT_SHIFT */
	__u64 dport[4];
};

/*
 * tcs_match: (match table, shape, class per field; 0 for unconstrained) ->
 * the rule's index in its ruleset (__u32). The match table is the id of the
 * ruleset that first published it; rulesets whose matching is the same (a
 * reload that changed only rates or actions) share it, as with class tables.
 */
struct tcs_match_key {
	__u32 ruleset;
	__u32 mask;
	__u32 cls[TCS_F_NR];
};

/*
 * A compiled rule: a tcs_rules slot, found by classification. The rate is
 * kept as the kernel's psched_ratecfg does: ns = len * mult >> shift. With
 * TCS_RF_TOTAL the rule has a total (bpf/total.bpf.h), whose own rate is in
 * its tcs_rule_info and cached in its tcs_totals entries, not here.
 * host4/host6: the trailing bits of the address a per: src or per: dst key
 * ignores (its key_prefix is what is left; a zeroed rule keeps whole
 * addresses).
 */
struct tcs_rule {
	__u16 idx;		/* position in its ruleset: first match wins (< CMP_MAX_RULES) */
	__u8 host4;
	__u8 host6;
	__u32 uid;		/* stable across reloads: limiter state, counters */
	__u32 mult;
	__u8 shift;
	__u8 action;		/* TCS_ACT_* */
	__u8 per;		/* TCS_PER_* */
	__u8 flags;		/* TCS_RF_* */
	__u64 burst_ns;		/* bucket depth, as time at the rate */
	__u64 max_delay_ns;	/* pace: a later departure is dropped */
	__u32 ecn_us;		/* pace + TCS_RF_ECN: a later departure is CE-marked (rounded up) */
	__u32 slot;		/* its counters: see TCS_STAT_SLOTS */
};

/*
 * tcs_flows: the flow table, by interface, direction and flow (not DSCP). A
 * hit whose ruleset is the binding's and whose dscp is the packet's (where
 * the binding has TCS_IF_DSCP, else 0) skips classification, and for a per:
 * flow rule it is the limiter state too: one hash lookup gives rule and
 * clock. slot is the rule's tcs_rules slot (none with TCS_FLOW_NO_RULE),
 * valid while ruleset is the binding's: ruleset ids never repeat,
 * and no packet looks up a ruleset no binding names.
 *
 * uid names the per: flow rule whose key st is (TCS_UID_NONE: none), its
 * owner: the rule of the packet that made the entry for its ruleset. A
 * packet of another DSCP (remarked) is classified again and the entry's
 * rule word rewritten, never its owner: its rule's per: flow key is st if
 * that rule is the owner, else in tcs_keys, so every key keeps one clock
 * whatever the DSCPs a sender mixes. An entry of another ruleset (a reload)
 * is classified again in place and takes the packet's rule as owner: its
 * clock is kept if that rule has the same uid and is still per: flow, else
 * reset. With flow_cache off (bench) every packet is classified and the
 * table holds only per: flow keys.
 */
struct tcs_flow_key {
	__u32 ifindex;
	__u8 dir;		/* TCS_DIR_* */
	__u8 family;
	__u8 proto;
	__u8 pad;
	__u16 sport;		/* network byte order */
	__u16 dport;
	__u8 src[16];
	__u8 dst[16];
};

/*
 * tcs_keys: per (rule, interface, key) limiter state of the keys several
 * flows share (per: src, dst, rule); a per: flow key's is its tcs_flows
 * entry's, where tcs_key names it for tcs_socks, tcs_shares and readers. tat is the GCRA's
 * theoretical arrival time: the bucket is full when tat <= now, and holds
 * burst_ns - (tat - now) worth of bytes otherwise.
 */
struct tcs_key {
	__u32 uid;
	__u32 ifindex;
	__u8 family;
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u8 pad[2];
	__u8 src[16];
	__u8 dst[16];
};

struct tcs_key_state {
	__u64 tat;
	__u64 packets;
	__u64 bytes;
	__u64 dropped;		/* packets */
	/*
	 * Rules with a total: the share period the key last counted in (low
	 * 24 bits, at TCS_TAG_SHIFT), whether it was busy (bit 39), and the
	 * low 39 bits of bytes then: what it used since is bytes minus those.
	 */
	__u64 period;
};

/*
 * tcs_flow.flags: no rule matched (slot names none). A flag for "none", not
 * for "matched": an entry left pinned by a version whose slot was 32 bits
 * reads as its slot with flags 0, and its "none" (TCS_IDX_NONE) as dscp 255,
 * which no packet has, so it is classified again.
 */
#define TCS_FLOW_NO_RULE	1

struct tcs_flow {
	__u32 ruleset;		/* with slot, dscp and flags, one 8-byte word: written together */
	__u16 slot;		/* < TCS_RULE_SLOTS */
	__u8 dscp;
	__u8 flags;		/* TCS_FLOW_* */
	__u32 uid;
	__u32 pad;
	struct tcs_key_state st;
};

/*
 * tcs_totals: per (rule, interface), the rule's total (bpf/total.bpf.h):
 * the aggregate clock (clock.tat; clock.dropped counts what the total
 * refused: what passes is the rule's tcs_rule_stats), and per share period
 * (TCS_SHARE_PERIOD_NS; slot period & 1, tagged with the period's low 24
 * bits in bits 40-63) the keys that were active in it, how many of them
 * used their whole share (busy), what the others used, and the share each
 * key is held to in it.
 */
struct tcs_total_key {
	__u32 uid;
	__u32 ifindex;
};

#define TCS_TAG_SHIFT		40
#define TCS_TOTAL_KEYS_BITS	20	/* keys[]: busy << 20 | active */
#define TCS_LIGHT_UNIT		64	/* light[]: bytes / 64 */

struct tcs_total_state {
	struct tcs_key_state clock;
	__u64 keys[2];		/* tag | busy keys << 20 | active keys */
	__u64 light[2];		/* tag | bytes set aside for keys below their share, / 64 */
	__u64 share[2];		/* tag | known << 39 | shift << 32 | mult: a key's rate (mult 0: the rule's) */
	__u32 total_mult;	/* the total, from tcs_rule_info, re-read every period */
	__u8 total_shift;
	__u8 pad[3];
};

/*
 * tcs_frags: protocol and ports of a fragmented datagram, learnt from its
 * first fragment. The key is the datagram's identity: IPv4's (src, dst,
 * proto, id), IPv6's (src, dst, id) with proto 0 (a later IPv6 fragment
 * need not show the transport protocol).
 */
struct tcs_frag_key {
	__u8 family;
	__u8 proto;
	__u8 pad[2];
	__u32 id;
	__u8 src[16];
	__u8 dst[16];
};

struct tcs_frag_ports {
	__u16 sport;
	__u16 dport;
	__u8 proto;		/* the transport protocol, after extension headers */
	__u8 pad[3];
};

/*
 * tcs_meta[0]: user space's own bookkeeping, pinned with the maps so that a
 * restarted daemon never reuses an id that flow cache entries or limiter
 * state may still name. The classifier does not read it.
 */
struct tcs_meta {
	__u32 next_ruleset;
	__u32 next_uid;
	__u64 keys_freed;	/* limiter keys of removed rules the daemon deleted */
	__u64 reserved[2];
};

/*
 * tcs_rule_info: by rule uid, what the rule is, for tcshapectl and for a
 * restarted daemon to give rules their old uids (and so their state) back.
 * Strings are NUL-terminated.
 */
#define TCS_NAME_MAX	64
struct tcs_rule_info {
	__u64 rate_bps;
	__u64 burst_bytes;
	__u64 total_bps;	/* 0: no total */
	__u32 idx;		/* position in its interface entry + direction */
	__u8 dir;
	__u8 per;
	__u8 action;
	__u8 pad;
	__u8 prefix4;		/* per: src/dst key prefix lengths */
	__u8 prefix6;
	__u8 total_shift;	/* the total as the classifier charges it */
	__u8 pad2;
	__u32 total_mult;
	__u32 slot;		/* its counters (tcs_rule.slot) */
	__u32 pad3;
	__u8 iface[TCS_NAME_MAX];	/* interface entry: name or glob */
	__u8 name[TCS_NAME_MAX];
};

/*
 * tcs_daemon[0]: what the daemon is doing, for tcshapectl status. Pinned,
 * so it still answers while the daemon restarts (pid then names a process
 * that is gone). Times are CLOCK_REALTIME seconds.
 */
#define TCS_RELOAD_NONE		0
#define TCS_RELOAD_APPLIED	1
#define TCS_RELOAD_REJECTED	2

struct tcs_daemon {
	__u32 pid;
	__u32 running;		/* 0 after a clean stop with on_stop: keep */
	__u64 started;
	__u64 loaded;		/* when the policy in force was read */
	__u64 reload_at;	/* last reload attempt */
	__u32 reloads_applied;
	__u32 reloads_rejected;
	__u32 last_reload;	/* TCS_RELOAD_* */
	__u32 rules;
	__u32 hooks;
	__u32 pad;
	__u8 policy_sha256[32];	/* of the file in force */
	__u8 policy_path[256];
	__u8 last_error[1024];	/* the rejected reload's first errors */
};

/*
 * Socket pacing (bpf/sockpace.bpf.c). The classifier writes tcs_socks when it
 * classifies a TCP flow (a flow cache miss: a new flow, or the first packet
 * after a reload), so a local socket can find the rule tc limits it by, on
 * the interface and direction its packets really take. Keyed by the
 * connection as the socket sees it: local and remote end, and the direction
 * of the packets that were classified.
 */
struct tcs_sock_key {
	__u8 dir;		/* TCS_DIR_*: egress limits our sending, ingress our receiving */
	__u8 family;
	__u16 lport;		/* network byte order */
	__u16 rport;
	__u16 pad;
	__u8 laddr[16];
	__u8 raddr[16];
};

/*
 * tcs_socks holds this many connections (and tcs_shares half as many keys
 * with local sockets) for a max_keys: local connections are a fraction of
 * the keys, and the tables are preallocated (2.5 and 1 MiB at the default).
 */
#define TCS_SOCKS_ENTRIES(max_keys)	((max_keys) / 8 > 1024 ? (max_keys) / 8 : 1024)

/*
 * tcs_keys holds this many keys for a max_keys (tcs_flows: max_keys flows):
 * the keys several flows share (per: src, dst, rule) are fewer than the
 * flows, and per: flow keys live in tcs_flows.
 */
#define TCS_KEYS_ENTRIES(max_keys)	((max_keys) / 2 > 1024 ? (max_keys) / 2 : 1024)

/*
 * The limiter key, and the ruleset that classified the connection: once
 * its (interface, direction) uses another ruleset (a reload), the note is
 * stale until the connection's next packet is classified again.
 */
struct tcs_sock_note {
	struct tcs_key key;
	__u32 ruleset;
	__u32 pad;
};

/*
 * tcs_shares: by limiter key, how many local sockets were active in the last
 * two share periods (TCS_SHARE_PERIOD_NS): a key's rate is divided among them.
 * Slot (period & 1) counts that period; a socket counts once per period.
 */
#define TCS_SHARE_PERIOD_NS	(100ULL * 1000 * 1000)
struct tcs_share {
	__u64 slot[2];		/* period << 24 | sockets counted in it */
};

/*
 * tcs_tcp_stats: per-CPU, by rule uid: the health of the rule's local TCP
 * connections. Gauges are kept as two counters (opened - closed), so no CPU
 * ever does a read-modify-write of another's value. srtt_log2[i] counts RTT
 * samples of 2^i to 2^(i+1) microseconds (the last slot: that and above).
 */
#define TCS_RTT_SLOTS		24
struct tcs_tcp_stats {
	__u64 conns_opened;
	__u64 conns_closed;
	__u64 paced_started;	/* sockets we capped (pacing rate or window) */
	__u64 paced_ended;
	__u64 retrans;		/* retransmitted segments */
	__u64 rate_updates;	/* a socket's cap changed (share or rate) */
	__u64 srtt_log2[TCS_RTT_SLOTS];
};

/*
 * tcs_sk: socket storage, what sockpace.bpf.c did to a socket so that it can
 * undo exactly that: which rule it counts for in each direction, the caps we
 * set, and the application's own caps to give back.
 */
struct tcs_sock {
	__u32 uid[TCS_DIR_NR];		/* valid where assoc */
	__u8 assoc[TCS_DIR_NR];
	__u8 capped[TCS_DIR_NR];	/* we hold its cap in that direction */
	__u32 our_clamp;		/* ingress: TCP_WINDOW_CLAMP we set last */
	__u32 app_clamp;		/* ... and the one before ours */
	__u32 our_cwnd;			/* egress: TCP_BPF_SNDCWND_CLAMP we set last (0: none) */
	__u64 our_rate;			/* egress: SO_MAX_PACING_RATE we set last */
	__u64 app_rate;			/* ... and the application's own (~0: none) */
	__u64 epoch[TCS_DIR_NR];	/* last share period it was counted in */
	__u64 rcv_bytes;		/* bytes received at the last pass: a receiver is active */
	__u64 rcv_at;			/* ... and when (ns): what it got against its share */
	__u32 gain;			/* ingress: window feedback, 1024 = 1.0 (0: not yet) */
	__u32 pad2;
};

/*
 * Per-rule counters, per-CPU, by rule slot. A rule keeps its slot as it
 * keeps its uid, across reloads and restarts (tcs_rule_info.slot); a slot
 * is reused only after its rule is gone and its counters are zeroed, and
 * the lowest free slot is taken. The first slots are tcs_rule_stats, a
 * per-CPU array (the verifier inlines its lookup); the others, which only
 * large policies reach, tcs_rule_spill, a per-CPU hash. Rules in force and
 * those a reload adds (CMP_MAX_RULES each) fit at once.
 *
 * The array is preallocated on every possible CPU, so its size comes from a
 * budget of per-CPU memory, TCS_STAT_CPU_SLOTS slots over all CPUs (2 MiB,
 * what the zero-rule footprint under 64 MiB leaves room for): 32,768 slots
 * on 1 CPU, 16,384 on 2, 1,024 from 32 CPUs on (never fewer: what every host
 * had before). The daemon sets it before load; a
 * restart adopts the pinned array's size, so readers take the boundary from
 * the map (max_entries), not from this formula.
 */
#define TCS_STAT_SLOTS		65536
#define TCS_STAT_CPU_SLOTS	32768u
#define TCS_STAT_SLOTS_MIN	1024u
/* ncpus as libbpf_num_possible_cpus() gives it: an error (< 1) gets the least */
#define TCS_STAT_SLOTS_ARRAY(ncpus)						\
	((ncpus) < 1 ? TCS_STAT_SLOTS_MIN :					\
	 TCS_STAT_CPU_SLOTS / (ncpus) > TCS_STAT_SLOTS_MIN ? TCS_STAT_CPU_SLOTS / (ncpus) :	\
							      TCS_STAT_SLOTS_MIN)
struct tcs_rule_stats {
	__u64 packets[TCS_V_NR];
	__u64 bytes[TCS_V_NR];
};

_Static_assert(sizeof(struct tcs_iface_key) == 8, "abi");
_Static_assert(sizeof(struct tcs_iface) == 8, "abi");
_Static_assert(sizeof(struct tcs_ruleset) == 24 + 8 * TCS_MAX_SHAPES, "abi");
_Static_assert(sizeof(struct tcs_class_key) == 28, "abi");
_Static_assert(sizeof(struct tcs_match_key) == 32, "abi");
_Static_assert(sizeof(struct tcs_gate) == 112, "abi");
_Static_assert(sizeof(struct tcs_rule) == 40, "abi");
_Static_assert(sizeof(struct tcs_flow_key) == 44, "abi");
_Static_assert(sizeof(struct tcs_key) == 48, "abi");
_Static_assert(sizeof(struct tcs_key_state) == 40, "abi");
_Static_assert(sizeof(struct tcs_flow) == 56, "abi");
_Static_assert(TCS_RULE_SLOTS <= 65536, "tcs_flow.slot is 16 bits");
_Static_assert(sizeof(struct tcs_total_key) == 8, "abi");
_Static_assert(sizeof(struct tcs_total_state) == 96, "abi");
_Static_assert(sizeof(struct tcs_frag_key) == 40, "abi");
_Static_assert(sizeof(struct tcs_frag_ports) == 8, "abi");
_Static_assert(sizeof(struct tcs_rule_stats) == 64, "abi");
_Static_assert(TCS_STAT_CPU_SLOTS <= TCS_STAT_SLOTS, "abi");
_Static_assert(sizeof(struct tcs_meta) == 32, "abi");
_Static_assert(sizeof(struct tcs_rule_info) == 176, "abi");
_Static_assert(sizeof(struct tcs_daemon) == 1368, "abi");
_Static_assert(sizeof(struct tcs_sock_key) == 40, "abi");
_Static_assert(sizeof(struct tcs_sock_note) == 56, "abi");
_Static_assert(sizeof(struct tcs_share) == 16, "abi");
_Static_assert(sizeof(struct tcs_sock) == 80, "abi");
_Static_assert(sizeof(struct tcs_tcp_stats) == 48 + 8 * TCS_RTT_SLOTS, "abi");

#endif
