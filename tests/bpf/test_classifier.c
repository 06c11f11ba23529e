// SPDX-License-Identifier: GPL-2.0
/*
 * The classifier under BPF_PROG_TEST_RUN (root). Each test loads the skeleton
 * with unpinned maps, publishes a policy the daemon's way (policy_parse ->
 * compile_policy -> maps_apply), runs hand-built frames through tcs_egress or
 * tcs_ingress and checks the verdict, ctx_out and the maps' side effects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "check.h"
#include "census.h"
#include "compile.h"
#include "maps.h"
#include "policy.h"
#include "tcshape.skel.h"
#include "tcshape_abi.h"
#include "total.bpf.h"

#define LO		1		/* loopback: where test_run puts the skb by default */
#define MAX_KEYS	256		/* tcs_flows / tcs_keys size for the tests */
#define RULE_SLOTS	64		/* tcs_rules: halves of 32 rule bodies */
#define VETH		"tcsc0"
#define VETH_PEER	"tcsc1"
#define VETH_BIG	"tcsc2"		/* ifindex BIG_IDX: past TCS_IFACES_DIRECT */
#define VETH_BIG_PEER	"tcsc3"
#define BIG_IDX		70000

#define PASS		TC_ACT_UNSPEC	/* handed on */
#define DROP		TC_ACT_SHOT

static char skip_why[256];
static int load_err;
static uint32_t veth_idx;	/* a second device in our netns, 0 if none */
static uint32_t big_idx;	/* one with ifindex BIG_IDX, 0 if none */

/* ---- frames --------------------------------------------------------------------- */

enum { FR_NONE, FR_FIRST, FR_LATER };

/* What to build; zero fields take the defaults noted. */
struct fr {
	int v6;
	__u8 proto;		/* 0: UDP */
	const char *src;	/* NULL: 198.18.0.1 / 2001:db8::1 */
	const char *dst;	/* NULL: 198.18.0.2 / 2001:db8::2 */
	__u16 sport;		/* 0: 4000 */
	__u16 dport;		/* 0: 5201 */
	__u8 dscp;
	__u8 ecn;		/* the low two bits of TOS / traffic class */
	int df;			/* IPv4 don't-fragment bit */
	int vlans;		/* in-frame tags; tpid[i] (0: 802.1Q) */
	__u16 tpid[3];
	int frag;		/* FR_* */
	__u16 frag_off;		/* FR_LATER: offset in 8-byte units (0: 185) */
	__u16 frag_id;
	int ihl;		/* IPv4 IHL in words (0: 5); options are NOPs */
	int ext;		/* IPv6 destination-options headers before the L4 header */
	__u8 after_frag;	/* IPv6: IPPROTO_DSTOPTS or _AH right after the Fragment header */
	size_t len;		/* whole frame (0: headers + 16 bytes) */
};

#define FRAME_MAX	4096

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void addr(int v6, const char *s, const char *def, __u8 *out)
{
	if (inet_pton(v6 ? AF_INET6 : AF_INET, s ? s : def, out) != 1) {
		fprintf(stderr, "bad test address %s\n", s);
		abort();
	}
}

/* Build the frame described by f into buf; returns its length. */
static size_t build(__u8 *buf, const struct fr *f)
{
	__u8 proto = f->proto ? f->proto : IPPROTO_UDP;
	__u16 sport = f->sport ? f->sport : 4000, dport = f->dport ? f->dport : 5201;
	size_t off = 12, l3, l4, hdrs, len;
	__u8 *nh_slot;
	int i;

	memset(buf, 0, FRAME_MAX);
	memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < f->vlans; i++) {
		put16(buf + off, f->tpid[i] ? f->tpid[i] : ETH_P_8021Q);
		put16(buf + off + 2, 100 + i);
		off += 4;
	}
	put16(buf + off, f->v6 ? ETH_P_IPV6 : ETH_P_IP);
	l3 = off + 2;

	if (!f->v6) {
		struct iphdr *ip = (struct iphdr *)(buf + l3);
		int ihl = f->ihl ? f->ihl : 5;

		ip->version = 4;
		ip->ihl = ihl;
		ip->tos = f->dscp << 2 | f->ecn;
		ip->id = htons(f->frag_id);
		if (f->df)
			ip->frag_off = htons(0x4000);
		if (f->frag == FR_FIRST)
			ip->frag_off = htons(0x2000);
		else if (f->frag == FR_LATER)
			ip->frag_off = htons(f->frag_off ? f->frag_off : 185);
		ip->ttl = 64;
		ip->protocol = proto;
		addr(0, f->src, "198.18.0.1", (__u8 *)&ip->saddr);
		addr(0, f->dst, "198.18.0.2", (__u8 *)&ip->daddr);
		memset(buf + l3 + 20, 1, (size_t)(ihl - 5) * 4);	/* NOP options */
		l4 = l3 + (size_t)ihl * 4;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(buf + l3);
		__u8 tc = f->dscp << 2 | f->ecn;

		ip6->version = 6;
		ip6->priority = tc >> 4;
		ip6->flow_lbl[0] = (tc & 0xf) << 4;
		ip6->hop_limit = 64;
		addr(1, f->src, "2001:db8::1", ip6->saddr.s6_addr);
		addr(1, f->dst, "2001:db8::2", ip6->daddr.s6_addr);
		nh_slot = &ip6->nexthdr;
		l4 = l3 + sizeof(*ip6);
		for (i = 0; i < f->ext; i++) {
			*nh_slot = IPPROTO_DSTOPTS;
			nh_slot = buf + l4;
			buf[l4 + 1] = 0;		/* 8 bytes */
			buf[l4 + 2] = 1;		/* PadN, 4 bytes */
			buf[l4 + 3] = 4;
			l4 += 8;
		}
		if (f->frag) {
			__u16 fo = f->frag == FR_FIRST ? 1 : (f->frag_off ? f->frag_off : 185) << 3;

			*nh_slot = IPPROTO_FRAGMENT;
			nh_slot = buf + l4;
			put16(buf + l4 + 2, fo);
			put16(buf + l4 + 6, f->frag_id);
			l4 += 8;
			if (f->after_frag) {
				static __u8 unused;

				*nh_slot = f->after_frag;
				nh_slot = &unused;
				if (f->frag == FR_FIRST) {
					/* AH: (2 + 2) * 4 bytes; options: 8 bytes */
					nh_slot = buf + l4;
					buf[l4 + 1] = f->after_frag == IPPROTO_AH ? 2 : 0;
					l4 += f->after_frag == IPPROTO_AH ? 16 : 8;
				}
				/* a later fragment: that header was in the first, payload follows */
			}
		}
		*nh_slot = proto;
	}

	hdrs = l4;
	if (f->frag == FR_LATER) {
		/* no L4 header: bytes that would read as ports 0xabab if misparsed */
		memset(buf + l4, 0xab, 16);
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *u = (struct udphdr *)(buf + l4);

		u->source = htons(sport);
		u->dest = htons(dport);
		hdrs += sizeof(*u);
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr *t = (struct tcphdr *)(buf + l4);

		t->source = htons(sport);
		t->dest = htons(dport);
		t->doff = 5;
		t->ack = 1;
		hdrs += sizeof(*t);
	} else if (proto == IPPROTO_SCTP || proto == IPPROTO_UDPLITE) {
		put16(buf + l4, sport);
		put16(buf + l4 + 2, dport);
		hdrs += 8;
	} else {
		buf[l4] = 8;	/* ICMP echo request */
		hdrs += 8;
	}
	len = f->len ? f->len : hdrs + 16;
	if (len > FRAME_MAX || len < hdrs) {
		fprintf(stderr, "bad test frame length %zu (headers %zu)\n", len, hdrs);
		abort();
	}
	if (!f->v6)
		put16(buf + l3 + 2, len - l3);
	else
		put16(buf + l3 + 4, len - l3 - 40);
	if (f->frag != FR_LATER && proto == IPPROTO_UDP)
		put16(buf + l4 + 4, len - l4);
	return len;
}

/* ---- the loaded classifier ------------------------------------------------------ */

static struct {
	struct tcshape_bpf *skel;
	struct maps *m;
	int eg, in;
	int keys, flows, frags, rstats, rspill, stats, ifaces, totals;
	int ncpus;
	__u32 stat_slots;	/* tcs_rule_stats' size: slots past it spill */
} E;

/* tcs_rules for the next env_load() only: RULE_SLOTS unless a test needs more */
static __u32 rule_slots = RULE_SLOTS;
/* tcs_rule_stats for the next env_load() only: 0, the daemon's size for this host */
static __u32 stat_slots;
static bool cache_off;	/* the next env_load() turns the flow cache off (bench's "classified") */

static void env_down(void)
{
	maps_close(E.m);
	tcshape_bpf__destroy(E.skel);
	memset(&E, 0, sizeof(E));
}

/*
 * Load a fresh classifier: nothing pinned, small LRUs. tcs_ingress only when
 * INGRESS: the verifier's pass over each program is most of a load (about a
 * second under the vm tier's emulated CPU), and a test whose policy has no
 * ingress rules never runs it. setup() loads both: test_load's verdict.
 */
static int env_load(bool ingress)
{
	struct bpf_map *map;
	int err;

	memset(&E, 0, sizeof(E));
	E.skel = tcshape_bpf__open();
	if (!E.skel)
		return -errno;
	bpf_object__for_each_map(map, E.skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto fail;
	}
	bpf_map__set_max_entries(E.skel->maps.tcs_flows, MAX_KEYS);
	bpf_map__set_max_entries(E.skel->maps.tcs_keys, MAX_KEYS);
	bpf_map__set_max_entries(E.skel->maps.tcs_rules, rule_slots);
	rule_slots = RULE_SLOTS;
	bpf_map__set_max_entries(E.skel->maps.tcs_rule_stats,
				 stat_slots ?: TCS_STAT_SLOTS_ARRAY(libbpf_num_possible_cpus()));
	stat_slots = 0;
	E.skel->rodata->flow_cache = !cache_off;
	cache_off = false;
	err = bpf_program__set_autoload(E.skel->progs.tcs_ingress, ingress);
	if (err)
		goto fail;
	err = tcshape_bpf__load(E.skel);
	if (err)
		goto fail;
	err = maps_open(E.skel, &E.m);
	if (err)
		goto fail;
	E.eg = bpf_program__fd(E.skel->progs.tcs_egress);
	E.in = ingress ? bpf_program__fd(E.skel->progs.tcs_ingress) : -1;
	E.keys = bpf_map__fd(E.skel->maps.tcs_keys);
	E.flows = bpf_map__fd(E.skel->maps.tcs_flows);
	E.frags = bpf_map__fd(E.skel->maps.tcs_frags);
	E.rstats = bpf_map__fd(E.skel->maps.tcs_rule_stats);
	E.rspill = bpf_map__fd(E.skel->maps.tcs_rule_spill);
	E.stats = bpf_map__fd(E.skel->maps.tcs_stats);
	E.ifaces = bpf_map__fd(E.skel->maps.tcs_ifaces);
	E.totals = bpf_map__fd(E.skel->maps.tcs_totals);
	E.ncpus = libbpf_num_possible_cpus();
	E.stat_slots = bpf_map__max_entries(E.skel->maps.tcs_rule_stats);
	return 0;
fail:
	env_down();
	return err;
}

static void pol_err(void *ctx, const char *msg)
{
	printf("    policy: %s\n", msg);
}

/*
 * Publish a policy: the rulesets of its first interface entry, bound to
 * ifindex in each direction that has rules.
 */
static int apply_dev(const char *yaml, uint32_t ifindex, uint32_t if_flags)
{
	struct policy *p = NULL;
	struct compiled *c = NULL;
	struct binding b[TCS_DIR_NR];
	size_t nb = 0;
	int dir, err;

	err = policy_parse("test.yaml", yaml, strlen(yaml), &p, pol_err, NULL);
	if (err)
		return err;
	err = compile_policy(p, maps_current(E.m), &c, pol_err, NULL);
	policy_free(p);
	if (err)
		return err;
	for (dir = 0; dir < TCS_DIR_NR; dir++) {
		const struct cmp_ruleset *rs = compile_ruleset(c, 0, dir);

		if (rs)
			b[nb++] = (struct binding){ .ifindex = ifindex, .dir = dir,
						    .rs = (size_t)(rs - c->rs), .if_flags = if_flags };
	}
	err = maps_apply(E.m, c, b, nb);
	if (err)
		compile_free(c);
	return err;
}

static int apply_on(const char *yaml, uint32_t ifindex)
{
	return apply_dev(yaml, ifindex, 0);
}

static int apply(const char *yaml)
{
	return apply_on(yaml, LO);
}

/*
 * Every test starts from a fresh classifier holding this policy; with
 * tcs_ingress loaded when the policy has ingress rules.
 */
#define SETUP(yaml)                                                                \
	do {                                                                       \
		int _e;                                                            \
		if (skip_why[0])                                                   \
			SKIP("%s", skip_why);                                      \
		_e = env_load(strstr((yaml), "ingress:") != NULL);                 \
		if (_e) {                                                          \
			T_FAILED("load classifier: %s", strerror(-_e));            \
			return 0;                                                  \
		}                                                                  \
		_e = apply(yaml);                                                  \
		if (_e) {                                                          \
			T_FAILED("apply policy: %s", strerror(-_e));               \
			env_down();                                                \
			return 0;                                                  \
		}                                                                  \
	} while (0)

/* Rule uid by ident "iface/dir/name/per" in the policy in force. */
static __u32 uid_of(const char *ident)
{
	const struct compiled *c = maps_current(E.m);
	size_t i;

	for (i = 0; c && i < c->n_uids; i++)
		if (!strcmp(c->uids[i].ident, ident))
			return c->uids[i].uid;
	printf("    no rule %s in the policy in force\n", ident);
	return TCS_UID_NONE;
}

/* The compiled rule of a uid, for its rate and burst. */
static struct tcs_rule rule_of(__u32 uid)
{
	const struct compiled *c = maps_current(E.m);
	struct tcs_rule none = { .uid = TCS_UID_NONE };
	size_t i, j;

	for (i = 0; c && i < c->n_rs; i++)
		for (j = 0; j < c->rs[i].hdr.nrules; j++)
			if (c->rs[i].rules[j].uid == uid)
				return c->rs[i].rules[j];
	return none;
}

/*
 * One run: the verdict, or -errno when BPF_PROG_TEST_RUN refused the input.
 * in (may be NULL) is ctx_in; out (may be NULL) receives ctx_out, which is
 * not fit to be the next ctx_in (its wire_len is this frame's length). Also
 * checks the frame comes back unmodified: the classifier only reads packets.
 */
static int run_raw(int line, int prog, const void *frame, size_t len,
		   const struct __sk_buff *in, struct __sk_buff *out)
{
	static __u8 data_out[FRAME_MAX + 256];
	struct __sk_buff ci = { 0 }, co = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = data_out, .data_size_out = sizeof(data_out), .ctx_in = &ci,
		    .ctx_size_in = sizeof(ci), .ctx_out = &co, .ctx_size_out = sizeof(co));

	if (in)
		ci = *in;
	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	if (o.data_size_out != len || memcmp(data_out, frame, len))
		T_FAILED("line %d: frame changed: %u bytes back of %zu", line, o.data_size_out,
			 len);
	if (out)
		*out = co;
	return (int)o.retval;
}

/* The same, for input the kernel must accept: a refusal fails the test. */
static int run_at(int line, int prog, const void *frame, size_t len,
		  const struct __sk_buff *in, struct __sk_buff *out)
{
	int v = run_raw(line, prog, frame, len, in, out);

	if (v < -1) {
		T_FAILED("line %d: test_run of %zu bytes: %s", line, len, strerror(-v));
		return -1000;
	}
	return v;
}

#define run(prog, frame, len, in) run_at(__LINE__, prog, frame, len, in, NULL)
#define run_ctx(prog, frame, len, in, out) run_at(__LINE__, prog, frame, len, in, out)

static __u8 frame[FRAME_MAX];

/* Build f and run it through prog; the verdict. */
static int tx(int prog, const struct fr *f)
{
	size_t len = build(frame, f);

	return run(prog, frame, len, NULL);
}

/* ---- reading the maps ----------------------------------------------------------- */

static __u64 stat_get(__u32 idx)
{
	__u64 v[E.ncpus > 0 ? E.ncpus : 1], sum = 0;
	int i;

	if (bpf_map_lookup_elem(E.stats, &idx, v))
		return ~0ull;
	for (i = 0; i < E.ncpus; i++)
		sum += v[i];
	return sum;
}

struct rst {
	int exists;
	__u64 pass, drop;		/* packets */
	__u64 bpass, bdrop;		/* bytes */
};

/* A rule's counter slot, from its pinned description; TCS_STAT_SLOTS if it has none. */
static __u32 slot_of(__u32 uid)
{
	struct tcs_rule_info ri;

	if (bpf_map_lookup_elem(bpf_map__fd(E.skel->maps.tcs_rule_info), &uid, &ri))
		return TCS_STAT_SLOTS;
	return ri.slot;
}

static struct rst rst_get(__u32 uid)
{
	struct tcs_rule_stats v[E.ncpus > 0 ? E.ncpus : 1];
	__u32 slot = slot_of(uid);
	struct rst r = { 0 };
	int i;

	if (bpf_map_lookup_elem(slot < E.stat_slots ? E.rstats : E.rspill, &slot, v))
		return r;
	r.exists = 1;
	for (i = 0; i < E.ncpus; i++) {
		r.pass += v[i].packets[TCS_V_PASS];
		r.drop += v[i].packets[TCS_V_DROP];
		r.bpass += v[i].bytes[TCS_V_PASS];
		r.bdrop += v[i].bytes[TCS_V_DROP];
	}
	return r;
}

/* Packets counted by all rules of the policy in force. */
static __u64 rules_total(void)
{
	const struct compiled *c = maps_current(E.m);
	__u64 n = 0;
	size_t i;

	for (i = 0; c && i < c->n_uids; i++) {
		struct rst r = rst_get(c->uids[i].uid);

		n += r.pass + r.drop;
	}
	return n;
}

static int map_count(int fd, size_t key_size)
{
	__u8 k[64], next[64];
	int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

#define MAX_DUMP 16
/*
 * The limiter keys, as the daemon walks them (state_keys_walk()): those of
 * tcs_keys, then the per: flow keys tcs_flows entries hold; returns how many.
 */
struct dump {
	struct tcs_key *k;
	struct tcs_key_state *st;
	int n;
};

static int dump_one(const struct tcs_key *k, const struct tcs_key_state *st,
		    const struct tcs_flow_key *fk, void *ctx)
{
	struct dump *d = ctx;

	if (d->n == MAX_DUMP)
		return 1;
	d->k[d->n] = *k;
	d->st[d->n++] = *st;
	return 0;
}

static int keys_dump(struct tcs_key *k, struct tcs_key_state *st)
{
	struct dump d = { k, st, 0 };

	state_keys_walk(E.keys, E.flows, dump_one, &d);
	return d.n;
}

/*
 * A limiter key's state, wherever it lives; tat ~0 if there is none. One
 * lookup for a key of tcs_keys: timing tests read it between packets.
 */
static struct tcs_key_state key_state(const struct tcs_key *k)
{
	struct tcs_key_state st = { .tat = ~0ull };
	struct tcs_flow_key fk, next;
	struct tcs_key name;
	struct tcs_flow v;
	void *prev = NULL;

	if (!bpf_map_lookup_elem(E.keys, k, &st))
		return st;
	while (!bpf_map_get_next_key(E.flows, prev, &next)) {
		fk = next;
		prev = &fk;
		if (bpf_map_lookup_elem(E.flows, &fk, &v) || v.uid == TCS_UID_NONE)
			continue;
		state_flow_key(&fk, &v, &name);
		if (!memcmp(&name, k, sizeof(name)))
			return v.st;
	}
	return st;
}

static void key_print(const char *what, const struct tcs_key *k)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = k->family == TCS_FAMILY_V6 ? AF_INET6 : AF_INET;

	inet_ntop(af, k->src, s, sizeof(s));
	inet_ntop(af, k->dst, d, sizeof(d));
	printf("    %s: uid %u ifindex %u family %u proto %u sport %u dport %u src %s dst %s\n",
	       what, k->uid, k->ifindex, k->family, k->proto, ntohs(k->sport), ntohs(k->dport),
	       s, d);
}

/* The tcs_keys key the classifier should have made; addresses by text. */
static struct tcs_key key_make(__u32 uid, int per, const struct fr *f)
{
	struct tcs_key k = { .uid = uid, .ifindex = LO };
	int v6 = f->v6;

	if (per == TCS_PER_RULE)
		return k;
	k.family = v6 ? TCS_FAMILY_V6 : TCS_FAMILY_V4;
	if (per == TCS_PER_FLOW || per == TCS_PER_SRC)
		addr(v6, f->src, v6 ? "2001:db8::1" : "198.18.0.1", k.src);
	if (per == TCS_PER_FLOW || per == TCS_PER_DST)
		addr(v6, f->dst, v6 ? "2001:db8::2" : "198.18.0.2", k.dst);
	if (per == TCS_PER_FLOW) {
		k.proto = f->proto ? f->proto : IPPROTO_UDP;
		k.sport = htons(f->sport ? f->sport : 4000);
		k.dport = htons(f->dport ? f->dport : 5201);
	}
	/* the default key_prefix: an IPv6 per: src/dst key is the /64 */
	if (v6 && per == TCS_PER_SRC)
		memset(k.src + 8, 0, 8);
	if (v6 && per == TCS_PER_DST)
		memset(k.dst + 8, 0, 8);
	return k;
}

/* Check that tcs_keys holds exactly the n keys want, in any order. */
#define CHECK_KEYS(want, n) check_keys(__LINE__, want, n)
static void check_keys(int line, const struct tcs_key *want, int n)
{
	struct tcs_key got[MAX_DUMP];
	struct tcs_key_state st[MAX_DUMP];
	int ng = keys_dump(got, st), i, j, bad = ng != n;

	for (i = 0; !bad && i < n; i++) {
		for (j = 0; j < ng && memcmp(&want[i], &got[j], sizeof(got[j])); j++)
			;
		bad = j == ng;
	}
	if (!bad)
		return;
	T_FAILED("line %d: tcs_keys holds %d entries, want %d:", line, ng, n);
	for (i = 0; i < ng; i++)
		key_print("got ", &got[i]);
	for (i = 0; i < n; i++)
		key_print("want", &want[i]);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* A rate no test reaches: counting without dropping. */
#define FAST	"rate: 10gbit, burst: 1mb"

/* ---- 1. every match field, both families ---------------------------------------- */

struct field_case {
	const char *what;
	const char *match;	/* YAML flow mapping */
	struct fr hit, miss;
};

static const struct field_case field_cases[] = {
	{ "proto v4", "{ proto: tcp }", { .proto = IPPROTO_TCP }, { .proto = IPPROTO_UDP } },
	{ "proto v6", "{ proto: tcp }", { .v6 = 1, .proto = IPPROTO_TCP },
	  { .v6 = 1, .proto = IPPROTO_UDP } },
	{ "proto number", "{ proto: 132 }", { .proto = IPPROTO_SCTP },
	  { .proto = IPPROTO_UDPLITE } },
	{ "icmp", "{ proto: icmp }", { .proto = IPPROTO_ICMP }, { .proto = IPPROTO_IGMP } },
	{ "src v4", "{ src: \"198.18.0.0/24\" }", { .src = "198.18.0.77" },
	  { .src = "198.18.1.77" } },
	{ "src v6", "{ src: \"2001:db8:0:1::/64\" }", { .v6 = 1, .src = "2001:db8:0:1::7" },
	  { .v6 = 1, .src = "2001:db8:0:2::7" } },
	{ "src v4 host", "{ src: \"198.18.0.9\" }", { .src = "198.18.0.9" },
	  { .src = "198.18.0.8" } },
	{ "src v6 host", "{ src: \"2001:db8::9\" }", { .v6 = 1, .src = "2001:db8::9" },
	  { .v6 = 1, .src = "2001:db8::8" } },
	{ "dst v4", "{ dst: \"198.19.128.0/17\" }", { .dst = "198.19.200.1" },
	  { .dst = "198.19.100.1" } },
	{ "dst v6", "{ dst: \"2001:db8:8000::/33\" }", { .v6 = 1, .dst = "2001:db8:8000::1" },
	  { .v6 = 1, .dst = "2001:db8:7fff::1" } },
	{ "sport v4", "{ sport: 4000 }", { .sport = 4000 }, { .sport = 4001 } },
	{ "sport v6", "{ sport: 4000 }", { .v6 = 1, .sport = 4000 }, { .v6 = 1, .sport = 3999 } },
	{ "dport v4", "{ dport: 5201 }", { .dport = 5201 }, { .dport = 5202 } },
	{ "dport v6", "{ dport: 5201 }", { .v6 = 1, .dport = 5201 }, { .v6 = 1, .dport = 5200 } },
	{ "dport tcp v4", "{ dport: 443 }", { .proto = IPPROTO_TCP, .dport = 443 },
	  { .proto = IPPROTO_TCP, .dport = 444 } },
	{ "dport sctp v6", "{ dport: 443 }", { .v6 = 1, .proto = IPPROTO_SCTP, .dport = 443 },
	  { .v6 = 1, .proto = IPPROTO_SCTP, .dport = 80 } },
	/* 46 and 47 differ in the bits IPv6 keeps in its second byte */
	{ "dscp v4", "{ dscp: 46 }", { .dscp = 46 }, { .dscp = 47 } },
	{ "dscp v6", "{ dscp: 46 }", { .v6 = 1, .dscp = 46 }, { .v6 = 1, .dscp = 47 } },
	{ "dscp v6 high", "{ dscp: 32 }", { .v6 = 1, .dscp = 32 }, { .v6 = 1, .dscp = 0 } },
	{ "dscp v6 low", "{ dscp: 1 }", { .v6 = 1, .dscp = 1 }, { .v6 = 1, .dscp = 2 } },
	/* ECN bits are not DSCP */
	{ "dscp v4 ecn", "{ dscp: 46 }", { .dscp = 46, .ecn = 3 }, { .dscp = 47, .ecn = 2 } },
	{ "dscp v6 ecn", "{ dscp: 46 }", { .v6 = 1, .dscp = 46, .ecn = 3 },
	  { .v6 = 1, .dscp = 45, .ecn = 3 } },
	/* a prefix of one family never matches the other */
	{ "src v4 vs v6 packet", "{ src: \"198.18.0.0/15\" }", { .src = "198.18.0.1" },
	  { .v6 = 1 } },
	{ "src v6 vs v4 packet", "{ src: \"2001:db8::/32\" }", { .v6 = 1 }, { .src = "198.18.0.1" } },
	/* ports imply a port protocol: an echo request's first bytes read as port 2048 */
	{ "sport vs icmp", "{ sport: 2048 }", { .proto = IPPROTO_TCP, .sport = 2048 },
	  { .proto = IPPROTO_ICMP } },
};

static int test_match_fields(void)
{
	size_t i;

	if (skip_why[0])
		SKIP("%s", skip_why);
	for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		const struct field_case *fc = &field_cases[i];
		char yaml[512];
		struct rst a, b;
		__u64 un0, un1;
		__u32 uid;
		size_t len;
		int v;

		snprintf(yaml, sizeof(yaml),
			 "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			 "      - { name: r, match: %s, " FAST ", per: rule }\n",
			 fc->match);
		if (env_load(false) || apply(yaml)) {
			T_FAILED("%s: cannot set up", fc->what);
			env_down();
			continue;
		}
		uid = uid_of("lo/egress/r/rule");
		a = rst_get(uid);
		un0 = stat_get(TCS_STAT_UNMATCHED);

		len = build(frame, &fc->hit);
		v = run(E.eg, frame, len, NULL);
		b = rst_get(uid);
		un1 = stat_get(TCS_STAT_UNMATCHED);
		if (v != PASS || b.pass != a.pass + 1 || b.bpass != a.bpass + len || un1 != un0)
			T_FAILED("%s: matching packet: verdict %d, rule passed %llu (%llu bytes) "
				 "of %zu, unmatched +%llu",
				 fc->what, v, (unsigned long long)(b.pass - a.pass),
				 (unsigned long long)(b.bpass - a.bpass), len,
				 (unsigned long long)(un1 - un0));

		v = tx(E.eg, &fc->miss);
		a = rst_get(uid);
		un0 = stat_get(TCS_STAT_UNMATCHED);
		if (v != PASS || a.pass != b.pass || a.drop != b.drop || un0 != un1 + 1)
			T_FAILED("%s: other packet: verdict %d, rule +%llu, unmatched +%llu",
				 fc->what, v, (unsigned long long)(a.pass + a.drop - b.pass - b.drop),
				 (unsigned long long)(un0 - un1));
		CHECK_INT(stat_get(TCS_STAT_MALFORMED), 0);
		env_down();
	}
	return 0;
}

/* Several fields at once: every one must match. */
static int test_match_all_fields(void)
{
	const struct fr hit = { .proto = IPPROTO_TCP, .src = "198.18.3.4", .dst = "198.19.5.6",
				.sport = 1234, .dport = 443, .dscp = 10 };
	struct fr miss;
	__u32 uid;
	int i;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { proto: tcp, src: \"198.18.3.0/24\", "
	      "dst: \"198.19.5.0/24\", sport: 1234, dport: 443, dscp: 10 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	CHECK_INT(tx(E.eg, &hit), PASS);
	CHECK_U64(rst_get(uid).pass, 1);
	for (i = 0; i < 6; i++) {
		miss = hit;
		switch (i) {
		case 0: miss.proto = IPPROTO_UDP; break;
		case 1: miss.src = "198.18.4.4"; break;
		case 2: miss.dst = "198.19.6.6"; break;
		case 3: miss.sport = 1235; break;
		case 4: miss.dport = 444; break;
		case 5: miss.dscp = 11; break;
		}
		CHECK_INT(tx(E.eg, &miss), PASS);
		CHECK_U64(stat_get(TCS_STAT_UNMATCHED), (__u64)i + 1);
	}
	CHECK_U64(rst_get(uid).pass, 1);
	env_down();
	return 0;
}

/* ---- 2. first match wins -------------------------------------------------------- */

static int first_match_case(int v6, int port_first)
{
	char yaml[512];
	const char *ra = "{ name: a, match: { dport: 80 }, " FAST ", per: rule }";
	const char *rb = v6 ? "{ name: b, match: { dst: \"2001:db8:5::/48\" }, " FAST ", per: rule }"
			    : "{ name: b, match: { dst: \"198.18.5.0/24\" }, " FAST ", per: rule }";
	struct fr both = { .v6 = v6, .dport = 80, .dst = v6 ? "2001:db8:5::1" : "198.18.5.1" };
	struct fr only_a = { .v6 = v6, .dport = 80, .dst = v6 ? "2001:db8:6::1" : "198.18.6.1" };
	struct fr only_b = { .v6 = v6, .dport = 81, .dst = both.dst };
	struct fr none = { .v6 = v6, .dport = 81, .dst = only_a.dst };
	__u32 ua, ub;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\ninterfaces:\n  - name: lo\n    egress:\n      - %s\n      - %s\n",
		 port_first ? ra : rb, port_first ? rb : ra);
	SETUP(yaml);
	ua = uid_of("lo/egress/a/rule");
	ub = uid_of("lo/egress/b/rule");

	CHECK_INT(tx(E.eg, &both), PASS);
	CHECK_U64(rst_get(ua).pass, port_first ? 1 : 0);
	CHECK_U64(rst_get(ub).pass, port_first ? 0 : 1);
	CHECK_INT(tx(E.eg, &only_a), PASS);
	CHECK_INT(tx(E.eg, &only_b), PASS);
	CHECK_U64(rst_get(ua).pass, port_first ? 2 : 1);
	CHECK_U64(rst_get(ub).pass, port_first ? 1 : 2);
	CHECK_INT(tx(E.eg, &none), PASS);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK_U64(rules_total(), 3);
	env_down();
	return 0;
}

static int test_first_match_port_then_prefix(void)
{
	return first_match_case(0, 1);
}

static int test_first_match_prefix_then_port(void)
{
	return first_match_case(0, 0);
}

static int test_first_match_port_then_prefix_v6(void)
{
	return first_match_case(1, 1);
}

static int test_first_match_prefix_then_port_v6(void)
{
	return first_match_case(1, 0);
}

static int nested_case(int v6, int narrow_first)
{
	char yaml[512];
	const char *ra = v6 ? "{ name: a, match: { dst: \"2001:db8:1::/48\" }, " FAST ", per: rule }"
			    : "{ name: a, match: { dst: \"198.18.1.0/24\" }, " FAST ", per: rule }";
	const char *rb = v6 ? "{ name: b, match: { dst: \"2001:db8::/33\" }, " FAST ", per: rule }"
			    : "{ name: b, match: { dst: \"198.18.0.0/16\" }, " FAST ", per: rule }";
	const char *in_a[] = { "198.18.1.0", "198.18.1.7", "198.18.1.255" };
	const char *in_b[] = { "198.18.0.255", "198.18.2.0", "198.18.255.255", "198.18.0.0" };
	const char *in_a6[] = { "2001:db8:1::", "2001:db8:1:ffff::1",
				"2001:db8:1:0:ffff:ffff:ffff:ffff" };
	const char *in_b6[] = { "2001:db8:0:ffff::1", "2001:db8:2::", "2001:db8:7fff::1",
				"2001:db8::" };
	const char *outside = v6 ? "2001:db8:8000::1" : "198.19.0.1";
	struct fr f = { .v6 = v6 };
	__u32 ua, ub;
	size_t i;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\ninterfaces:\n  - name: lo\n    egress:\n      - %s\n      - %s\n",
		 narrow_first ? ra : rb, narrow_first ? rb : ra);
	SETUP(yaml);
	ua = uid_of("lo/egress/a/rule");
	ub = uid_of("lo/egress/b/rule");
	for (i = 0; i < 3; i++) {
		f.dst = v6 ? in_a6[i] : in_a[i];
		CHECK_INT(tx(E.eg, &f), PASS);
	}
	for (i = 0; i < 4; i++) {
		f.dst = v6 ? in_b6[i] : in_b[i];
		CHECK_INT(tx(E.eg, &f), PASS);
	}
	/* the /24 sits inside the /16: listed after it, it never wins */
	CHECK_U64(rst_get(ua).pass, narrow_first ? 3 : 0);
	CHECK_U64(rst_get(ub).pass, narrow_first ? 4 : 7);
	f.dst = outside;
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	env_down();
	return 0;
}

static int test_nested_prefixes(void)
{
	return nested_case(0, 1);
}

static int test_nested_prefixes_v6(void)
{
	return nested_case(1, 1);
}

static int test_nested_prefixes_wide_first(void)
{
	return nested_case(0, 0);
}

/*
 * Three rules of three shapes; the later shapes' rules come first in the
 * policy for some packets: the walk must not stop at the first hit.
 */
static int test_first_match_across_shapes(void)
{
	struct fr f = { 0 };
	__u32 u1, u2, u3;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r1, match: { src: \"198.18.0.0/24\", dport: 80 }, " FAST
	      ", per: rule }\n"
	      "      - { name: r2, match: { dscp: 8 }, " FAST ", per: rule }\n"
	      "      - { name: r3, match: { src: \"198.18.0.0/24\", dport: 80 }, " FAST
	      ", per: rule }\n"
	      "      - { name: r4, match: { dport: 80 }, " FAST ", per: rule }\n");
	u1 = uid_of("lo/egress/r1/rule");
	u2 = uid_of("lo/egress/r2/rule");
	u3 = uid_of("lo/egress/r3/rule");
	f.dport = 80;
	f.dscp = 8;
	CHECK_INT(tx(E.eg, &f), PASS);	/* r1, r2, r3, r4 all match: r1 */
	f.src = "198.18.1.1";
	CHECK_INT(tx(E.eg, &f), PASS);	/* r2, r4: r2 */
	f.dscp = 0;
	CHECK_INT(tx(E.eg, &f), PASS);	/* r4 */
	CHECK_U64(rst_get(u1).pass, 1);
	CHECK_U64(rst_get(u2).pass, 1);
	CHECK_U64(rst_get(u3).pass, 0);	/* shadowed by r1, same shape */
	CHECK_U64(rst_get(uid_of("lo/egress/r4/rule")).pass, 1);
	env_down();
	return 0;
}

/* ---- 3. per kinds: one bucket per what the rule keeps apart --------------------- */

/*
 * A burst of exactly two 1000-byte frames, each 800 ms at the rate: no refill
 * mid-test, even under the vm tier's emulated CPU on a loaded host, where the
 * few syscalls between two frames took over 80 ms (100kbit refilled a frame).
 */
#define PER_RULE_YAML(per, dst)                                                    \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                         \
	"      - { name: r, match: { dst: [\"" dst "\", \"2001:db8::/32\"] }, rate: 10kbit, "  \
	"burst: 2000, per: " per " }\n"

/* Send f n times; how many passed. */
static int tx_n(const struct fr *f, int n)
{
	int i, p = 0;

	for (i = 0; i < n; i++)
		p += tx(E.eg, f) == PASS;
	return p;
}

static int per_case(const char *per_name, int per, int v6)
{
	char yaml[512], ident[64];
	/* IPv6: in another /64, or per src/dst would share the first one's key */
	const char *s2 = v6 ? "2001:db8:0:1::21" : "198.18.0.21";
	const char *d2 = v6 ? "2001:db8:0:1::22" : "198.18.0.22";
	struct fr f1 = { .v6 = v6, .len = 1000 };
	struct fr f2 = f1, f3 = f1, f4 = f1;	/* other sport; other src; other dst */
	struct tcs_key want[4];
	int n = 0;
	__u32 uid;

	snprintf(yaml, sizeof(yaml), PER_RULE_YAML("%s", "198.18.0.0/16"), per_name);
	snprintf(ident, sizeof(ident), "lo/egress/r/%s", per_name);
	SETUP(yaml);
	uid = uid_of(ident);
	f2.sport = 4001;
	f3.src = s2;
	f4.dst = d2;

	CHECK_INT(tx_n(&f1, 3), 2);	/* its burst, then a drop */
	want[n++] = key_make(uid, per, &f1);
	CHECK_KEYS(want, n);

	/* other sport: own bucket only per flow */
	CHECK_INT(tx_n(&f2, 1), per == TCS_PER_FLOW ? 1 : 0);
	if (per == TCS_PER_FLOW)
		want[n++] = key_make(uid, per, &f2);
	CHECK_KEYS(want, n);

	/* other source: own bucket per flow and per src */
	CHECK_INT(tx_n(&f3, 1), per == TCS_PER_FLOW || per == TCS_PER_SRC ? 1 : 0);
	if (per == TCS_PER_FLOW || per == TCS_PER_SRC)
		want[n++] = key_make(uid, per, &f3);
	CHECK_KEYS(want, n);

	/* other destination: own bucket per flow and per dst */
	CHECK_INT(tx_n(&f4, 1), per == TCS_PER_FLOW || per == TCS_PER_DST ? 1 : 0);
	if (per == TCS_PER_FLOW || per == TCS_PER_DST)
		want[n++] = key_make(uid, per, &f4);
	CHECK_KEYS(want, n);

	/* the first bucket is still empty, whatever the others did */
	CHECK_INT(tx_n(&f1, 1), 0);
	{
		struct tcs_key_state st = key_state(&want[0]);

		CHECK_U64(st.packets, 2);
		CHECK_U64(st.bytes, 2000);
		CHECK_U64(st.dropped, per == TCS_PER_FLOW ? 2 : per == TCS_PER_RULE ? 5 : 4);
	}
	env_down();
	return 0;
}

static int test_per_flow(void)
{
	return per_case("flow", TCS_PER_FLOW, 0);
}

static int test_per_flow_v6(void)
{
	return per_case("flow", TCS_PER_FLOW, 1);
}

static int test_per_src(void)
{
	return per_case("src", TCS_PER_SRC, 0);
}

static int test_per_src_v6(void)
{
	return per_case("src", TCS_PER_SRC, 1);
}

static int test_per_dst(void)
{
	return per_case("dst", TCS_PER_DST, 0);
}

static int test_per_dst_v6(void)
{
	return per_case("dst", TCS_PER_DST, 1);
}

static int test_per_rule(void)
{
	return per_case("rule", TCS_PER_RULE, 0);
}

/* per rule: both families share the one bucket */
static int test_per_rule_mixed_families(void)
{
	struct fr f4 = { .len = 1000 }, f6 = { .v6 = 1, .len = 1000 };
	struct tcs_key want;

	SETUP(PER_RULE_YAML("rule", "198.18.0.0/16"));
	CHECK_INT(tx_n(&f4, 1), 1);
	CHECK_INT(tx_n(&f6, 1), 1);
	CHECK_INT(tx_n(&f4, 1), 0);
	CHECK_INT(tx_n(&f6, 1), 0);
	want = key_make(uid_of("lo/egress/r/rule"), TCS_PER_RULE, &f4);
	CHECK_KEYS(&want, 1);
	env_down();
	return 0;
}

/* per flow: TCP and UDP between the same ports are two flows */
static int test_per_flow_proto(void)
{
	struct fr u = { .len = 1000 }, t = { .proto = IPPROTO_TCP, .len = 1000 };
	struct tcs_key want[2];
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, rate: 100kbit, burst: 1000, per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	CHECK_INT(tx_n(&u, 2), 1);
	CHECK_INT(tx_n(&t, 2), 1);
	want[0] = key_make(uid, TCS_PER_FLOW, &u);
	want[1] = key_make(uid, TCS_PER_FLOW, &t);
	CHECK_KEYS(want, 2);
	env_down();
	return 0;
}

/* ---- 4. port lists and ranges --------------------------------------------------- */

static int test_port_ranges(void)
{
	static const struct {
		__u16 port;
		int hit;
	} dp[] = { { 5199, 0 }, { 5200, 1 }, { 5201, 1 }, { 5205, 1 }, { 5208, 1 },
		   { 5210, 1 }, { 5211, 0 }, { 442, 0 },  { 443, 1 },  { 444, 0 },
		   { 1, 0 },	{ 65535, 0 } };
	__u64 hits = 0, misses = 0;
	__u32 uid;
	size_t i;
	int v6;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: [\"5200-5210\", 443] }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < sizeof(dp) / sizeof(dp[0]); i++) {
			struct fr f = { .v6 = v6, .dport = dp[i].port,
					.proto = i % 2 ? IPPROTO_TCP : IPPROTO_UDP };
			__u64 before = rst_get(uid).pass;

			CHECK_INT(tx(E.eg, &f), PASS);
			if (rst_get(uid).pass - before != (__u64)dp[i].hit)
				T_FAILED("v%d dport %u: matched %llu, want %d", v6 ? 6 : 4,
					 dp[i].port, (unsigned long long)(rst_get(uid).pass - before),
					 dp[i].hit);
			hits += dp[i].hit;
			misses += !dp[i].hit;
		}
	CHECK_U64(rst_get(uid).pass, hits);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), misses);
	env_down();
	return 0;
}

static int test_sport_range_edges(void)
{
	static const struct {
		__u16 port;
		int hit;
	} sp[] = { { 1023, 0 }, { 1024, 1 }, { 2047, 1 }, { 2048, 1 },
		   { 65534, 1 }, { 65535, 1 }, { 7, 1 }, { 8, 0 }, { 6, 0 } };
	__u32 uid;
	size_t i;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { proto: [udp, tcp], sport: [\"1024-65535\", 7] }, " FAST
	      ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++) {
		struct fr f = { .v6 = (int)i % 2, .sport = sp[i].port };
		__u64 before = rst_get(uid).pass;

		CHECK_INT(tx(E.eg, &f), PASS);
		if (rst_get(uid).pass - before != (__u64)sp[i].hit)
			T_FAILED("sport %u: matched %llu, want %d", sp[i].port,
				 (unsigned long long)(rst_get(uid).pass - before), sp[i].hit);
	}
	env_down();
	return 0;
}

/* ---- 5. VLAN tags in the frame -------------------------------------------------- */

static int test_vlan(void)
{
	struct fr one = { .vlans = 1 };
	struct fr one6 = { .v6 = 1, .vlans = 1 };
	struct fr qinq = { .vlans = 2, .tpid = { ETH_P_8021AD, ETH_P_8021Q } };
	struct fr qinq6 = { .v6 = 1, .vlans = 2, .tpid = { ETH_P_8021AD, ETH_P_8021Q } };
	struct fr dq = { .vlans = 2 };
	struct fr three = { .vlans = 3, .tpid = { ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q } };
	struct fr other = { .vlans = 1, .dport = 5202 };
	struct fr ad = { .vlans = 1, .tpid = { ETH_P_8021AD } };
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	CHECK_INT(tx(E.eg, &one), PASS);
	CHECK_INT(tx(E.eg, &one6), PASS);
	CHECK_INT(tx(E.eg, &qinq), PASS);
	CHECK_INT(tx(E.eg, &qinq6), PASS);
	CHECK_INT(tx(E.eg, &dq), PASS);
	CHECK_INT(tx(E.eg, &ad), PASS);
	CHECK_U64(rst_get(uid).pass, 6);
	CHECK_INT(tx(E.eg, &other), PASS);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	/* the tags are not part of the flow: one key per family */
	{
		struct tcs_key want[2] = { key_make(uid, TCS_PER_FLOW, &one),
					   key_make(uid, TCS_PER_FLOW, &one6) };

		CHECK_KEYS(want, 2);
	}

	/* a third in-frame tag is past what the parser walks: not IP, passed */
	CHECK_INT(tx(E.eg, &three), PASS);
	CHECK_U64(stat_get(TCS_STAT_NOT_IP), 1);
	CHECK_U64(rst_get(uid).pass, 6);

	/* a tag cut off before its inner ethertype: not IP, passed */
	build(frame, &one);
	CHECK_INT(run(E.eg, frame, 16, NULL), PASS);
	CHECK_U64(stat_get(TCS_STAT_NOT_IP), 2);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);
	env_down();
	return 0;
}

/* ---- 6. fragments --------------------------------------------------------------- */

static int frag_case(int v6)
{
	const char *in24 = v6 ? "2001:db8:0:5::2" : "198.18.5.2";
	const char *out24 = v6 ? "2001:db8:0:6::2" : "198.18.6.2";
	struct fr first = { .v6 = v6, .frag = FR_FIRST, .frag_id = 0x1234, .dst = in24,
			    .sport = 4000, .dport = 5201, .len = 600 };
	struct fr later = first, orphan = first, orphan_out = first, other_src = first;
	struct tcs_key want;
	__u32 up, ua;

	SETUP(v6 ? "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		   "      - { name: p, match: { dport: 5201 }, " FAST ", per: flow }\n"
		   "      - { name: a, match: { dst: \"2001:db8:0:5::/64\" }, " FAST ", per: flow }\n"
		 : "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		   "      - { name: p, match: { dport: 5201 }, " FAST ", per: flow }\n"
		   "      - { name: a, match: { dst: \"198.18.5.0/24\" }, " FAST ", per: flow }\n");
	up = uid_of("lo/egress/p/flow");
	ua = uid_of("lo/egress/a/flow");

	later.frag = FR_LATER;
	later.frag_off = 74;
	orphan.frag = FR_LATER;
	orphan.frag_id = 0x4321;	/* its first was never seen */
	orphan_out = orphan;
	orphan_out.dst = out24;
	other_src = later;
	other_src.src = v6 ? "2001:db8::99" : "198.18.0.99";	/* same id, other datagram */

	CHECK_INT(tx(E.eg, &first), PASS);
	CHECK_U64(rst_get(up).pass, 1);
	CHECK_INT(map_count(E.frags, sizeof(struct tcs_frag_key)), 1);
	want = key_make(up, TCS_PER_FLOW, &first);
	CHECK_KEYS(&want, 1);

	/* the rest of the datagram: same rule, same flow key, ports learnt */
	CHECK_INT(tx(E.eg, &later), PASS);
	later.frag_off = 148;
	CHECK_INT(tx(E.eg, &later), PASS);
	CHECK_U64(rst_get(up).pass, 3);
	CHECK_KEYS(&want, 1);
	CHECK_U64(key_state(&want).packets, 3);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 0);

	/*
	 * first never seen: it may belong to the port rule, so it is dropped,
	 * charged to no rule, and leaves no flow cache entry or key behind
	 */
	{
		int flows = map_count(E.flows, sizeof(struct tcs_flow_key));

		CHECK_INT(tx(E.eg, &orphan), DROP);
		CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 1);
		CHECK_U64(rst_get(up).pass + rst_get(up).drop, 3);
		CHECK_U64(rst_get(ua).pass + rst_get(ua).drop, 0);
		CHECK_KEYS(&want, 1);
		CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), flows);
	}
	/* its first, late: then its rest is the port rule's again */
	{
		struct fr late_first = orphan;

		late_first.frag = FR_FIRST;
		late_first.frag_off = 0;
		CHECK_INT(tx(E.eg, &late_first), PASS);
		CHECK_INT(tx(E.eg, &orphan), PASS);
		CHECK_U64(rst_get(up).pass, 5);
		CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 1);
	}
	/* outside the address rule too: still dropped, the port rule could be its */
	CHECK_INT(tx(E.eg, &orphan_out), DROP);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 2);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 0);

	/* the id alone does not join a datagram: other source, no first */
	CHECK_INT(tx(E.eg, &other_src), DROP);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 3);
	CHECK_U64(rst_get(up).pass, 5);
	CHECK_U64(rst_get(ua).pass, 0);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);

	/* not a fragment (IPv4: DF set, no MF, offset 0): nothing learnt */
	{
		struct fr whole = { .v6 = v6, .df = 1, .frag_id = 0x5555, .sport = 4001 };

		CHECK_INT(tx(E.eg, &whole), PASS);
		CHECK_U64(rst_get(up).pass, 6);
		CHECK_INT(map_count(E.frags, sizeof(struct tcs_frag_key)), 2);
	}
	env_down();
	return 0;
}

static int test_fragments_v4(void)
{
	return frag_case(0);
}

static int test_fragments_v6(void)
{
	return frag_case(1);
}

/* A fragment with extension headers before the fragment header still learns its ports. */
static int test_fragments_v6_after_ext(void)
{
	struct fr first = { .v6 = 1, .ext = 2, .frag = FR_FIRST, .frag_id = 7, .dport = 5201 };
	struct fr later = first;
	__u32 up;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: p, match: { dport: 5201 }, " FAST ", per: flow }\n");
	up = uid_of("lo/egress/p/flow");
	later.frag = FR_LATER;
	CHECK_INT(tx(E.eg, &first), PASS);
	CHECK_INT(tx(E.eg, &later), PASS);
	CHECK_U64(rst_get(up).pass, 2);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 0);
	env_down();
	return 0;
}

/*
 * Where no rule constrains what an orphan lacks, it cannot change its rule:
 * it is charged like any packet, except under per: flow, whose key needs the
 * ports (dropped). Orphans never touch the flow cache.
 */
static int orphan_case(int v6)
{
	struct fr o = { .v6 = v6, .frag = FR_LATER, .frag_id = 77, .len = 600,
			.src = v6 ? "2001:db8::1" : "198.18.0.1" };
	struct fr to_flow = o, to_none = o;
	struct tcs_key want;
	__u32 us, uf;

	SETUP(v6 ? "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		   "      - { name: s, match: { dst: \"2001:db8::2\" }, " FAST ", per: src }\n"
		   "      - { name: f, match: { dst: \"2001:db8::3\" }, " FAST ", per: flow }\n"
		 : "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		   "      - { name: s, match: { dst: \"198.18.0.2\" }, " FAST ", per: src }\n"
		   "      - { name: f, match: { dst: \"198.18.0.3\" }, " FAST ", per: flow }\n");
	us = uid_of("lo/egress/s/src");
	uf = uid_of("lo/egress/f/flow");
	to_flow.dst = v6 ? "2001:db8::3" : "198.18.0.3";
	to_none.dst = v6 ? "2001:db8::4" : "198.18.0.4";

	CHECK_INT(tx(E.eg, &o), PASS);
	CHECK_U64(rst_get(us).pass, 1);
	CHECK_U64(rst_get(us).bpass, 600);
	want = key_make(us, TCS_PER_SRC, &o);
	CHECK_KEYS(&want, 1);
	CHECK_INT(tx(E.eg, &to_flow), DROP);
	CHECK_U64(rst_get(uf).pass + rst_get(uf).drop, 0);
	CHECK_INT(tx(E.eg, &to_none), PASS);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 1);
	CHECK_KEYS(&want, 1);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 0);
	env_down();
	return 0;
}

static int test_fragments_orphan_v4(void)
{
	return orphan_case(0);
}

static int test_fragments_orphan_v6(void)
{
	return orphan_case(1);
}

/*
 * An IPv6 later fragment whose Fragment header is followed by AH or
 * Destination Options carries payload there, not that header: it is not
 * malformed, and it takes its protocol and ports from its first fragment, so
 * it cannot escape proto: udp.
 */
static int after_frag_case(__u8 eh)
{
	struct fr first = { .v6 = 1, .frag = FR_FIRST, .frag_id = 99, .after_frag = eh };
	struct fr later = first, orphan = first;
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: u, match: { proto: udp }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/u/rule");
	later.frag = FR_LATER;
	orphan.frag = FR_LATER;
	orphan.frag_id = 100;

	CHECK_INT(tx(E.eg, &first), PASS);
	CHECK_INT(tx(E.eg, &later), PASS);
	later.frag_off = 300;
	CHECK_INT(tx(E.eg, &later), PASS);
	CHECK_U64(rst_get(uid).pass, 3);
	/* no first: its protocol is unknown and a rule constrains it */
	CHECK_INT(tx(E.eg, &orphan), DROP);
	CHECK_U64(stat_get(TCS_STAT_FRAG_NO_FIRST), 1);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 0);
	CHECK_U64(rst_get(uid).pass + rst_get(uid).drop, 3);
	env_down();

	/* with only address rules it is charged to its rule as any packet */
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: a, match: { src: \"2001:db8::/32\" }, " FAST ", per: src }\n");
	CHECK_INT(tx(E.eg, &orphan), PASS);
	CHECK_U64(rst_get(uid_of("lo/egress/a/src")).pass, 1);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);
	env_down();
	return 0;
}

static int test_fragments_v6_dstopts_after_frag(void)
{
	return after_frag_case(IPPROTO_DSTOPTS);
}

static int test_fragments_v6_ah_after_frag(void)
{
	return after_frag_case(IPPROTO_AH);
}

/*
 * Devices without a link-layer header (tun, WireGuard, PPP, ipip, sit, gre):
 * the daemon binds them with TCS_IF_L3 and the packet starts at the IP
 * header; skb->protocol says which IP. BPF_PROG_TEST_RUN sets skb->protocol
 * with eth_type_trans(), i.e. from bytes 12-13 of what it is given: sources
 * 8.0.0.1 and 2001:db8:86dd::1 put ETH_P_IP and ETH_P_IPV6 there, as a tun
 * device would set them.
 */
static int test_l3_device(void)
{
	static const struct {
		const char *what;
		struct fr f;
		__u32 if_flags;
		int counted;		/* by the rule */
		int stat;		/* else this counter */
	} lc[] = {
		{ "v4 on L3", { .src = "8.0.0.1" }, TCS_IF_L3, 1, -1 },
		{ "v6 on L3", { .v6 = 1, .src = "2001:db8:86dd::1" }, TCS_IF_L3, 1, -1 },
		{ "v4 tcp on L3", { .proto = IPPROTO_TCP, .src = "8.0.0.1" }, TCS_IF_L3, 1, -1 },
		/* skb->protocol neither IPv4 nor IPv6 (here 0xc612): not IP */
		{ "other protocol on L3", { .src = "198.18.0.1" }, TCS_IF_L3, 0, TCS_STAT_NOT_IP },
		/* skb->protocol IPv4, the header inside another version: malformed */
		{ "v6 header as IPv4", { .v6 = 1, .src = "2001:db8:800::1" }, TCS_IF_L3, 0,
		  TCS_STAT_MALFORMED },
		/* the same bytes read as Ethernet: the source address is no ethertype */
		{ "v4 as Ethernet", { .src = "198.18.0.1" }, 0, 0, TCS_STAT_NOT_IP },
	};
	size_t i;

	if (skip_why[0])
		SKIP("%s", skip_why);
	for (i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
		const char *yaml = "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
				   "      - { name: r, match: { dport: 5201 }, " FAST ", per: flow }\n"
				   "    ingress:\n"
				   "      - { name: i, match: { dport: 5201 }, " FAST ", per: flow }\n";
		size_t len;
		int prog, v, dir;

		if (env_load(true) || apply_dev(yaml, LO, lc[i].if_flags)) {
			T_FAILED("%s: cannot set up", lc[i].what);
			env_down();
			continue;
		}
		for (dir = 0; dir < TCS_DIR_NR; dir++) {
			const char *ident = dir == TCS_DIR_EGRESS ? "lo/egress/r/flow"
								   : "lo/ingress/i/flow";
			__u64 s0 = lc[i].stat >= 0 ? stat_get((__u32)lc[i].stat) : 0;
			struct rst a = rst_get(uid_of(ident)), b;

			prog = dir == TCS_DIR_EGRESS ? E.eg : E.in;
			len = build(frame, &lc[i].f);
			/* what a tun device carries: no Ethernet header */
			v = run(prog, frame + 14, len - 14, NULL);
			b = rst_get(uid_of(ident));
			if (v != (lc[i].stat == TCS_STAT_MALFORMED ? DROP : PASS))
				T_FAILED("%s %s: verdict %d", lc[i].what, ident, v);
			if (b.pass - a.pass != (__u64)lc[i].counted)
				T_FAILED("%s %s: rule passed %llu, want %d", lc[i].what, ident,
					 (unsigned long long)(b.pass - a.pass), lc[i].counted);
			if (lc[i].stat >= 0 && stat_get((__u32)lc[i].stat) != s0 + 1)
				T_FAILED("%s %s: counter %d did not move", lc[i].what, ident,
					 lc[i].stat);
		}
		if (lc[i].counted) {
			struct tcs_key want = key_make(uid_of("lo/egress/r/flow"), TCS_PER_FLOW,
						       &lc[i].f), got[MAX_DUMP];
			struct tcs_key_state st[MAX_DUMP];
			int n = keys_dump(got, st), j, found = 0;

			for (j = 0; j < n; j++)
				found |= !memcmp(&got[j], &want, sizeof(want));
			if (!found)
				T_FAILED("%s: no per-flow key with the packet's addresses and ports",
					 lc[i].what);
		}
		env_down();
	}
	return 0;
}

/* ---- 7. truncated and malformed frames ------------------------------------------ */

struct bad_case {
	const char *what;
	int verdict;
	int stat;		/* the counter it must raise */
	int may_refuse;		/* test_run itself may reject the frame */
};

/* Run a prepared frame, check verdict and that exactly one counter moved. */
static void bad_check(const struct bad_case *bc, size_t len, __u32 uid)
{
	__u64 before[TCS_STAT_NR], after;
	__u32 i;
	int v;

	for (i = 0; i < TCS_STAT_NR; i++)
		before[i] = stat_get(i);
	v = run_raw(__LINE__, E.eg, frame, len, NULL, NULL);
	if (v == -EINVAL && bc->may_refuse) {
		printf("    %s: refused by BPF_PROG_TEST_RUN itself (EINVAL)\n", bc->what);
		return;
	}
	if (v < -1)
		T_FAILED("%s (%zu bytes): test_run: %s", bc->what, len, strerror(-v));
	else if (v != bc->verdict)
		T_FAILED("%s (%zu bytes): verdict %d, want %d", bc->what, len, v, bc->verdict);
	for (i = 0; i < TCS_STAT_NR; i++) {
		after = stat_get(i);
		if (after - before[i] != (i == (__u32)bc->stat ? 1u : 0u))
			T_FAILED("%s: counter %u moved by %llu", bc->what, i,
				 (unsigned long long)(after - before[i]));
	}
	if (rst_get(uid).pass + rst_get(uid).drop)
		T_FAILED("%s: reached the rule", bc->what);
}

static int test_malformed(void)
{
	const struct fr v4 = { 0 }, v6 = { .v6 = 1 }, t4 = { .proto = IPPROTO_TCP };
	const struct fr v4t = { .vlans = 1 }, v6t = { .v6 = 1, .vlans = 1 };
	struct bad_case bc = { .verdict = DROP, .stat = TCS_STAT_MALFORMED };
	__u32 uid;
	size_t len;

	/* a rule for every IP packet: nothing malformed may reach it */
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { src: [\"198.18.0.0/15\", \"2001:db8::/32\"] }, " FAST
	      ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");

	/*
	 * An IP ethertype with less than a minimal IP header: this kernel's
	 * test_run refuses those untagged (EINVAL before the program runs), so
	 * they are sent behind a VLAN tag, where it does not look.
	 */
	build(frame, &v4t);
	bc.what = "tag, ethertype IPv4, no IP header";
	bad_check(&bc, 18, uid);
	bc.what = "tag, IPv4 header cut at 19 bytes";
	bad_check(&bc, 18 + 19, uid);
	build(frame, &v6t);
	bc.what = "tag, ethertype IPv6, no IP header";
	bad_check(&bc, 18, uid);
	bc.what = "tag, IPv6 header cut at 39 bytes";
	bad_check(&bc, 18 + 39, uid);
	bc.may_refuse = 1;
	build(frame, &v4);
	bc.what = "ethernet header only, ethertype IPv4";
	bad_check(&bc, 14, uid);
	bc.what = "IPv4 header cut at 19 bytes";
	bad_check(&bc, 14 + 19, uid);
	build(frame, &v6);
	bc.what = "ethernet header only, ethertype IPv6";
	bad_check(&bc, 14, uid);
	bc.what = "IPv6 header cut at 39 bytes";
	bad_check(&bc, 14 + 39, uid);
	bc.may_refuse = 0;

	len = build(frame, &v4);
	frame[14] = 0x44;	/* IHL 4 */
	bc.what = "IPv4 IHL 4";
	bad_check(&bc, len, uid);
	frame[14] = 0x40;	/* IHL 0 */
	bc.what = "IPv4 IHL 0";
	bad_check(&bc, len, uid);
	frame[14] = 0x65;	/* version 6 in an IPv4 ethertype */
	bc.what = "IPv4 ethertype, version 6";
	bad_check(&bc, len, uid);

	len = build(frame, &v6);
	frame[14] = 0x45;	/* version 4 in an IPv6 ethertype */
	bc.what = "IPv6 ethertype, version 4";
	bad_check(&bc, len, uid);

	/* L4 header cut short in an unfragmented packet */
	build(frame, &v4);
	bc.what = "UDP, 3 bytes of header";
	bad_check(&bc, 14 + 20 + 3, uid);
	build(frame, &t4);
	bc.what = "TCP, 3 bytes of header";
	bad_check(&bc, 14 + 20 + 3, uid);
	bc.what = "TCP, 12 bytes of header (no data offset)";
	bad_check(&bc, 14 + 20 + 12, uid);
	build(frame, &v6);
	bc.what = "IPv6 UDP, 2 bytes of header";
	bad_check(&bc, 14 + 40 + 2, uid);
	{
		struct fr ff = { .frag = FR_FIRST, .frag_id = 3 };

		build(frame, &ff);
		bc.what = "first fragment, 3 bytes of UDP header";
		bad_check(&bc, 14 + 20 + 3, uid);
	}
	{
		struct fr ihl = { .ihl = 15 };

		build(frame, &ihl);
		bc.what = "IHL 15, options cut short";
		bad_check(&bc, 14 + 40, uid);
		bc.what = "IHL 15, UDP header missing";
		bad_check(&bc, 14 + 60, uid);
	}
	CHECK_U64(rst_get(uid).pass, 0);

	/* non-IP: passed and counted */
	{
		static const __u8 arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					      0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1 };
		struct bad_case nip = { "ARP", PASS, TCS_STAT_NOT_IP, 0 };

		memcpy(frame, arp, sizeof(arp));
		bad_check(&nip, sizeof(arp), uid);
		frame[12] = 0x88;	/* LLDP */
		frame[13] = 0xcc;
		nip.what = "LLDP";
		bad_check(&nip, sizeof(arp), uid);
		frame[12] = 0x08;	/* only the ethertype: not IP */
		frame[13] = 0x06;
		nip.what = "ARP, ethernet header only";
		bad_check(&nip, 14, uid);
	}
	env_down();
	return 0;
}

/* Headers that end exactly where they must are fine: no false MALFORMED. */
static int test_minimal_headers(void)
{
	const struct fr u4 = { 0 }, u6 = { .v6 = 1 }, t4 = { .proto = IPPROTO_TCP };
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	build(frame, &u4);
	CHECK_INT(run(E.eg, frame, 14 + 20 + 8, NULL), PASS);
	build(frame, &u6);
	CHECK_INT(run(E.eg, frame, 14 + 40 + 8, NULL), PASS);
	build(frame, &t4);
	CHECK_INT(run(E.eg, frame, 14 + 20 + 20, NULL), PASS);
	CHECK_U64(rst_get(uid).pass, 3);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);
	env_down();
	return 0;
}

/*
 * Documented (parse.bpf.h, docs/design.md): a port protocol's header cut short
 * in an unfragmented packet or first fragment is MALFORMED, not just one too
 * short for the ports. One byte short of the fixed header drops; exactly the
 * fixed header passes and matches.
 */
static int test_l4_header_lengths(void)
{
	static const struct {
		const char *what;
		struct fr f;
		size_t l4;	/* bytes of L4 header in the frame */
		int verdict;
	} lc[] = {
		{ "UDP 4", { 0 }, 4, DROP },
		{ "UDP 7", { 0 }, 7, DROP },
		{ "UDP 8", { 0 }, 8, PASS },
		{ "UDP v6 7", { .v6 = 1 }, 7, DROP },
		{ "UDP v6 8", { .v6 = 1 }, 8, PASS },
		{ "UDP-Lite 7", { .proto = IPPROTO_UDPLITE }, 7, DROP },
		{ "UDP-Lite 8", { .proto = IPPROTO_UDPLITE }, 8, PASS },
		{ "TCP 13", { .proto = IPPROTO_TCP }, 13, DROP },
		{ "TCP 19", { .proto = IPPROTO_TCP }, 19, DROP },
		{ "TCP 20", { .proto = IPPROTO_TCP }, 20, PASS },
		{ "TCP v6 19", { .v6 = 1, .proto = IPPROTO_TCP }, 19, DROP },
		{ "SCTP 11", { .proto = IPPROTO_SCTP }, 11, DROP },
		{ "SCTP 12", { .proto = IPPROTO_SCTP }, 12, PASS },
		{ "first fragment UDP 7", { .frag = FR_FIRST, .frag_id = 9 }, 7, DROP },
		{ "first fragment v6 UDP 7", { .v6 = 1, .frag = FR_FIRST, .frag_id = 9 }, 7, DROP },
		/* no ports to read: no header is required */
		{ "ICMP 0", { .proto = IPPROTO_ICMP, .dport = 1 }, 0, PASS },
		{ "later fragment 0", { .proto = IPPROTO_ICMP, .frag = FR_LATER, .frag_id = 10 }, 0,
		  PASS },
	};
	__u32 uid;
	size_t i;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	for (i = 0; i < sizeof(lc) / sizeof(lc[0]); i++) {
		const struct fr *f = &lc[i].f;
		size_t l3 = 14 + (f->v6 ? 40 : 20) + (f->v6 && f->frag ? 8 : 0);
		__u64 before = rst_get(uid).pass, m0 = stat_get(TCS_STAT_MALFORMED), dm;
		int v;

		build(frame, f);
		v = run(E.eg, frame, l3 + lc[i].l4, NULL);
		dm = stat_get(TCS_STAT_MALFORMED) - m0;
		if (v != lc[i].verdict || dm != (lc[i].verdict == DROP))
			T_FAILED("%s bytes of L4 header: verdict %d, want %d; MALFORMED +%llu",
				 lc[i].what, v, lc[i].verdict, (unsigned long long)dm);
		/* what passes with its ports read matches the port rule */
		if (v == PASS && f->proto != IPPROTO_ICMP && !f->frag &&
		    rst_get(uid).pass != before + 1)
			T_FAILED("%s: the port rule did not match", lc[i].what);
	}
	env_down();
	return 0;
}

static int test_ipv6_ext_chain(void)
{
	__u32 uid;
	int n;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	/* up to TCS_MAX_EXTHDRS (8) extension headers are walked to the ports */
	for (n = 0; n <= 8; n++) {
		struct fr f = { .v6 = 1, .ext = n };
		__u64 before = rst_get(uid).pass;
		int v = tx(E.eg, &f);

		if (v != PASS || rst_get(uid).pass != before + 1)
			T_FAILED("%d extension headers: verdict %d, matched %llu, MALFORMED %llu", n,
				 v, (unsigned long long)(rst_get(uid).pass - before),
				 (unsigned long long)stat_get(TCS_STAT_MALFORMED));
	}
	/* more is a chain too long: dropped */
	{
		struct fr f = { .v6 = 1, .ext = 9 };
		__u64 m = stat_get(TCS_STAT_MALFORMED);

		CHECK_INT(tx(E.eg, &f), DROP);
		CHECK_U64(stat_get(TCS_STAT_MALFORMED), m + 1);
	}
	/* an extension header cut short */
	{
		struct fr f = { .v6 = 1, .ext = 1 };
		__u64 m = stat_get(TCS_STAT_MALFORMED);

		build(frame, &f);
		CHECK_INT(run(E.eg, frame, 14 + 40 + 1, NULL), DROP);
		CHECK_U64(stat_get(TCS_STAT_MALFORMED), m + 1);
	}
	/*
	 * found by fuzzing: a header whose first two bytes are there but not
	 * the rest, followed by a protocol without ports (nothing else reads
	 * past it), was passed
	 */
	{
		struct fr f = { .v6 = 1, .ext = 1, .proto = IPPROTO_ICMPV6 };
		__u64 m = stat_get(TCS_STAT_MALFORMED);

		build(frame, &f);
		frame[14 + 40 + 1] = 3;		/* 32 bytes of options, in 18 bytes of frame */
		CHECK_INT(run(E.eg, frame, 14 + 40 + 18, NULL), DROP);
		CHECK_U64(stat_get(TCS_STAT_MALFORMED), m + 1);
	}
	env_down();
	return 0;
}

static int test_ipv4_options(void)
{
	__u32 uid;
	int ihl;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { sport: 4000, dport: 5201 }, " FAST ", per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	for (ihl = 5; ihl <= 15; ihl++) {
		struct fr f = { .ihl = ihl, .proto = ihl % 2 ? IPPROTO_UDP : IPPROTO_TCP };
		struct fr miss = f;
		__u64 before = rst_get(uid).pass;

		miss.dport = 5202;
		CHECK_INT(tx(E.eg, &f), PASS);
		CHECK_INT(tx(E.eg, &miss), PASS);
		if (rst_get(uid).pass != before + 1)
			T_FAILED("IHL %d: the port rule matched %llu of 1", ihl,
				 (unsigned long long)(rst_get(uid).pass - before));
	}
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 11);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 0);
	/* found by fuzzing: an IHL past the end of the packet, no ports to read after it */
	{
		struct fr f = { .ihl = 15, .proto = IPPROTO_ICMP };

		build(frame, &f);
		CHECK_INT(run(E.eg, frame, 14 + 40, NULL), DROP);
		CHECK_U64(stat_get(TCS_STAT_MALFORMED), 1);
	}
	env_down();
	return 0;
}

/* ---- 8. bucket arithmetic ------------------------------------------------------- */

static int test_bucket_burst_and_refill(void)
{
	struct fr f = { .len = 1500 };
	struct tcs_rule r;
	__u64 cost, t0, t1, want;
	int i, passed;
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, rate: 1mbit, burst: 15000, per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	r = rule_of(uid);
	cost = compile_bytes_ns(1500, r.mult, r.shift);
	CHECK_U64(cost, 12000000);	/* 1500 B at 1 Mbit/s */
	CHECK_U64(r.burst_ns, 120000000);
	build(frame, &f);

	t0 = now_ns();
	for (i = 0; i < 10; i++)
		CHECK_INT(run(E.eg, frame, 1500, NULL), PASS);
	CHECK_INT(run(E.eg, frame, 1500, NULL), DROP);
	CHECK_U64(rst_get(uid).pass, 10);
	CHECK_U64(rst_get(uid).bpass, 15000);
	CHECK_U64(rst_get(uid).drop, 1);
	CHECK_U64(rst_get(uid).bdrop, 1500);

	usleep(50000);
	t1 = now_ns();
	for (passed = 0; passed < 20 && run(E.eg, frame, 1500, NULL) == PASS; passed++)
		;
	/* refilled for t1 - t0 at most; the first packet came a little after t0 */
	want = (t1 - t0) / cost;
	if ((__u64)passed + 1 < want || (__u64)passed > want + 1)
		T_FAILED("after %.1f ms: %d passed, want %llu +-1", (t1 - t0) / 1e6, passed,
			 (unsigned long long)want);
	printf("    refill: %.2f ms since the burst, %d passed (cost %.1f ms)\n",
	       (t1 - t0) / 1e6, passed, cost / 1e6);
	CHECK_U64(rst_get(uid).drop, 2);
	env_down();
	return 0;
}

static int test_bucket_oversized_packet(void)
{
	struct fr f = { .len = 3000 }, small = { .len = 100 };
	__u32 uid;

	/* 100kbit: 240 ms of debt after the big one, no refill can blur the drops */
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, rate: 100kbit, burst: 2000, per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	/* a full bucket lets one packet bigger than the burst through ... */
	CHECK_INT(tx(E.eg, &f), PASS);
	/* ... and is then in debt: not even a small one passes */
	CHECK_INT(tx(E.eg, &f), DROP);
	CHECK_INT(tx(E.eg, &small), DROP);
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_U64(rst_get(uid).bpass, 3000);
	CHECK_U64(rst_get(uid).drop, 2);
	env_down();
	return 0;
}

/* The key's tat: exactly cost further per passing packet once in debt. */
static int test_bucket_tat(void)
{
	struct fr f = { .len = 1000 };
	struct tcs_key k;
	struct tcs_rule r;
	__u64 tat0, cost;
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, rate: 100kbit, burst: 100kb, "
	      "per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	r = rule_of(uid);
	cost = compile_bytes_ns(1000, r.mult, r.shift);
	CHECK_U64(cost, 80000000);
	CHECK_INT(tx(E.eg, &f), PASS);
	k = key_make(uid, TCS_PER_RULE, &f);
	tat0 = key_state(&k).tat;
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(key_state(&k).tat, tat0 + 2 * cost);
	CHECK_U64(key_state(&k).bytes, 3000);
	env_down();
	return 0;
}

/* ---- 9. GSO super-packets pay for every segment --------------------------------- */

/*
 * Does BPF_PROG_TEST_RUN put ctx_in.gso_segs into the skb? ctx_out cannot
 * tell (it is the ctx_in buffer with some fields rewritten): ask a program
 * that returns skb->gso_segs. 1 yes, 0 no, -errno when it cannot be asked.
 */
static int gso_probe(void)
{
	const struct bpf_insn insns[] = {
		/* r0 = *(u32 *)(r1 + offsetof(struct __sk_buff, gso_segs)); exit */
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_1,
		  .off = offsetof(struct __sk_buff, gso_segs) },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct __sk_buff ctx = { .gso_segs = 10, .gso_size = 1448 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = 64, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "tcs_gso_probe", "GPL", insns, 2, NULL);
	if (fd < 0)
		return -errno;
	build(frame, &(struct fr){ .proto = IPPROTO_TCP });
	err = bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	return o.retval == 10;
}

static int gso_case(int v6)
{
	struct fr f = { .v6 = v6, .proto = IPPROTO_TCP, .dport = 443 };
	struct __sk_buff ctx = { .gso_segs = 10, .gso_size = 1448 };
	size_t hdr = 14 + (v6 ? 40 : 20) + 20, len = hdr + 1448;
	__u64 want;
	__u32 uid;
	int v;

	f.len = len;
	if (!skip_why[0]) {
		v = gso_probe();
		if (v < 0)
			SKIP("cannot probe gso_segs in BPF_PROG_TEST_RUN: %s", strerror(-v));
		if (!v)
			SKIP("BPF_PROG_TEST_RUN on this kernel does not carry gso_segs into the skb");
	}
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 443 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	build(frame, &f);
	v = run(E.eg, frame, len, &ctx);
	CHECK_INT(v, PASS);
	want = len + 9 * hdr;
	CHECK_U64(rst_get(uid).bpass, want);
	CHECK_U64(rst_get(uid).pass, 1);

	/* gso_segs 1: just the frame */
	ctx = (struct __sk_buff){ .gso_segs = 1, .gso_size = 1448 };
	CHECK_INT(run(E.eg, frame, len, &ctx), PASS);
	CHECK_U64(rst_get(uid).bpass, want + len);
	env_down();
	return 0;
}

static int test_gso_v4(void)
{
	return gso_case(0);
}

static int test_gso_v6(void)
{
	return gso_case(1);
}

/*
 * A packet from an untrusted source (SKB_GSO_DODGY: tap, virtio, packet
 * sockets) arrives with gso_segs 0 and only gso_size set: it pays for the
 * segments its payload needs, not for one.
 */
static int test_gso_dodgy(void)
{
	struct fr f = { .proto = IPPROTO_TCP, .dport = 443 };
	struct __sk_buff ctx = { .gso_segs = 0, .gso_size = 500 };
	size_t hdr = 14 + 20 + 20, len = hdr + 2250;	/* five segments: 4 x 500 + 250 */
	__u32 uid;
	int v;

	if (!skip_why[0]) {
		v = gso_probe();
		if (v <= 0)
			SKIP("BPF_PROG_TEST_RUN here does not carry gso fields into the skb");
	}
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 443 }, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	f.len = len;
	build(frame, &f);
	CHECK_INT(run(E.eg, frame, len, &ctx), PASS);
	CHECK_U64(rst_get(uid).bpass, len + 4 * hdr);
	/* a gso_segs below what the payload needs is not believed either */
	ctx.gso_segs = 2;
	CHECK_INT(run(E.eg, frame, len, &ctx), PASS);
	CHECK_U64(rst_get(uid).bpass, 2 * (len + 4 * hdr));
	env_down();
	return 0;
}

/*
 * A tunnel's GSO packet (built by a VXLAN, Geneve, GRE or IP-in-IP device
 * above this one) repeats outer, tunnel and inner headers in every segment:
 * all of them are charged per segment, not just the outer ones.
 */
static size_t put_inner(__u8 *p, int eth, int v6, int tcp)
{
	size_t o = 0;

	if (eth) {
		put16(p + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
		o = 14;
	}
	if (v6) {
		p[o] = 0x60;
		p[o + 6] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		o += 40;
	} else {
		p[o] = 0x45;
		p[o + 9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		o += 20;
	}
	if (tcp) {
		p[o + 12] = 8 << 4;	/* 32 bytes: timestamps */
		o += 32;
	} else {
		o += 8;
	}
	return o;
}

static int test_gso_tunnels(void)
{
	static const struct {
		const char *what;
		__u8 proto;
		__u16 dport;
		int eth, v6, tcp;
		size_t tun;		/* tunnel header bytes after the outer L4 header */
		__u8 tunhdr[8];
	} tc[] = {
		{ "vxlan, inner IPv4 TCP", IPPROTO_UDP, 4789, 1, 0, 1, 8, { 0x08 } },
		{ "geneve, 8 bytes of options, inner IPv6 UDP", IPPROTO_UDP, 6081, 1, 1, 0, 16,
		  { 0x02, 0, 0x65, 0x58 } },
		{ "gre with key, inner IPv6 TCP", IPPROTO_GRE, 0, 0, 1, 1, 8,
		  { 0x20, 0, 0x86, 0xdd } },
		{ "gre TEB, inner IPv4 TCP", IPPROTO_GRE, 0, 1, 0, 1, 4, { 0, 0, 0x65, 0x58 } },
		{ "ipip, inner TCP", IPPROTO_IPIP, 0, 0, 0, 1, 0, { 0 } },
		{ "ip6 in ip, inner UDP", IPPROTO_IPV6, 0, 0, 1, 0, 0, { 0 } },
	};
	struct __sk_buff ctx = { .gso_segs = 4, .gso_size = 500 };
	__u64 want = 0;
	__u32 uid;
	size_t i;
	int v;

	if (!skip_why[0]) {
		v = gso_probe();
		if (v <= 0)
			SKIP("BPF_PROG_TEST_RUN here does not carry gso fields into the skb");
	}
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, " FAST ", per: rule }\n");
	uid = uid_of("lo/egress/r/rule");
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		struct fr f = { .proto = tc[i].proto, .dport = tc[i].dport };
		size_t outer = 14 + 20 + (tc[i].proto == IPPROTO_UDP ? 8 : 0), hdr, len;

		f.len = 1800;
		build(frame, &f);
		memset(frame + 14 + 20, 0, f.len - 34);
		if (tc[i].proto == IPPROTO_UDP) {
			put16(frame + 34, 4000);
			put16(frame + 36, tc[i].dport);
		}
		memcpy(frame + outer, tc[i].tunhdr, tc[i].tun);
		hdr = outer + tc[i].tun + put_inner(frame + outer + tc[i].tun, tc[i].eth, tc[i].v6,
						    tc[i].tcp);
		len = hdr + 3 * 500 + 100;	/* four segments */
		CHECK_INT(run(E.eg, frame, len, &ctx), PASS);
		want += len + 3 * hdr;
		if (rst_get(uid).bpass != want)
			T_FAILED("%s: charged %llu bytes, want %zu (%zu header bytes a segment)",
				 tc[i].what, (unsigned long long)(rst_get(uid).bpass - (want - len - 3 * hdr)),
				 len + 3 * hdr, hdr);
		want = rst_get(uid).bpass;
	}
	env_down();
	return 0;
}

/* ---- 10. the flow cache --------------------------------------------------------- */

static int test_flow_cache(void)
{
	/* un: past the gate (5202 shares 5201's port bucket), then no rule: classified */
	struct fr a = { 0 }, b = { .sport = 4001 }, un = { .dport = 5202 }, shut = { .dport = 9 };
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	CHECK_INT(tx(E.eg, &a), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 1);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 1);
	CHECK_INT(tx(E.eg, &a), PASS);
	CHECK_INT(tx(E.eg, &a), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 1);
	CHECK_INT(tx(E.eg, &b), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 2);
	CHECK_U64(rst_get(uid).pass, 4);

	/* unmatched flows are cached too */
	CHECK_INT(tx(E.eg, &un), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 3);
	CHECK_INT(tx(E.eg, &un), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 3);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 2);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 3);
	{
		struct tcs_flow_key k, next;
		struct tcs_flow v;
		void *prev = NULL;
		int none = 0;

		while (!bpf_map_get_next_key(E.flows, prev, &next)) {
			k = next;
			prev = &k;
			if (!bpf_map_lookup_elem(E.flows, &k, &v) && v.flags & TCS_FLOW_NO_RULE) {
				none++;
				CHECK_INT(ntohs(k.dport), 5202);
			}
		}
		CHECK_INT(none, 1);
	}
	/* ... but what the gate shuts out is neither classified nor cached */
	CHECK_INT(tx(E.eg, &shut), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 3);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 3);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 3);
	/* no rule matches on DSCP: a remarked packet is the same flow, entry and key */
	a.dscp = 8;
	CHECK_INT(tx(E.eg, &a), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 3);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 3);
	CHECK_U64(stat_get(TCS_STAT_NOT_IP) + stat_get(TCS_STAT_MALFORMED), 0);
	env_down();
	return 0;
}

/*
 * With the flow cache off every packet is classified, and the flow table
 * holds only per: flow keys, which are charged as with the cache on.
 */
static int test_flow_cache_off(void)
{
	struct fr f = { .len = 1000 }, un = { .len = 1000, .dst = "198.19.0.2" };
	struct tcs_key want;
	__u32 uid;

	cache_off = true;
	SETUP(PER_RULE_YAML("flow", "198.18.0.0/16"));	/* 2000 bytes of burst */
	uid = uid_of("lo/egress/r/flow");
	want = key_make(uid, TCS_PER_FLOW, &f);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), DROP);
	CHECK_INT(tx(E.eg, &un), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 4);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK_U64(stat_get(TCS_STAT_KEYS_CREATED), 1);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 1);
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 0);
	CHECK_KEYS(&want, 1);
	CHECK_U64(key_state(&want).packets, 2);
	CHECK_U64(rst_get(uid).drop, 1);
	env_down();
	return 0;
}

/*
 * A per: flow key lives in its flow's entry, not in tcs_keys: the census
 * counts it by rule, and a reload that removes its rule frees it with the
 * entry (keys_freed), which the census does not take for an eviction.
 */
static int test_flow_keys_census(void)
{
	struct state_fds sf = { .keys = -1, .flows = -1, .stats = -1, .meta = -1 };
	struct fr f = { .len = 100 };
	struct census *c = NULL;
	struct tcs_meta meta = { 0 };
	__u32 uid, i, zero = 0;

	SETUP(PER_RULE_YAML("flow", "198.18.0.0/16"));
	uid = uid_of("lo/egress/r/flow");
	sf.keys = E.keys;
	sf.flows = E.flows;
	sf.stats = E.stats;
	sf.meta = bpf_map__fd(E.skel->maps.tcs_meta);
	for (i = 0; i < 5; i++) {
		f.sport = 4000 + i;
		CHECK_INT(tx(E.eg, &f), PASS);
	}
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 0);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 5);
	c = census_new(&sf);
	CHECK_INT(c && !census_run(c), 1);
	if (c) {
		CHECK_U64(census_created(c), 5);
		CHECK_U64(census_live(c), 5);
		CHECK_U64(census_keys(c, uid), 5);
		CHECK_U64(census_evicted(c), 0);
	}
	census_free(c);

	CHECK_INT(apply(PER_RULE_YAML("dst", "198.18.0.0/16")), 0);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 0);
	CHECK_INT(bpf_map_lookup_elem(sf.meta, &zero, &meta), 0);
	CHECK_U64(meta.keys_freed, 5);
	c = census_new(&sf);
	CHECK_INT(c && !census_run(c), 1);
	if (c) {
		CHECK_U64(census_live(c), 0);
		CHECK_U64(census_evicted(c), 0);
	}
	census_free(c);
	env_down();
	return 0;
}

/* The one entry of tcs_flows (the test sends one flow); 0, or -1 if it holds another count. */
static int only_flow(struct tcs_flow *v)
{
	struct tcs_flow_key k;

	if (map_count(E.flows, sizeof(k)) != 1 || bpf_map_get_next_key(E.flows, NULL, &k))
		return -1;
	return bpf_map_lookup_elem(E.flows, &k, v) ? -1 : 0;
}

/*
 * After misses classifications, the flow's one key (rule uid's) was made once
 * and is held by its one entry, classified last at dscp; tcs_keys is empty.
 */
#define CHECK_SOLE_ENTRY(uid, dscp, misses) check_sole_entry(__LINE__, uid, dscp, misses)
static void check_sole_entry(int line, __u32 uid, __u8 dscp, __u64 misses)
{
	__u64 miss = stat_get(TCS_STAT_CACHE_MISS), made = stat_get(TCS_STAT_KEYS_CREATED);
	int keys = map_count(E.keys, sizeof(struct tcs_key));
	struct tcs_flow v = { .uid = TCS_UID_NONE };
	int one = !only_flow(&v);

	if (one && v.uid == uid && v.dscp == dscp && miss == misses && made == 1 && !keys)
		return;
	T_FAILED("line %d: want one entry (got %s) owning uid %u (%u) at dscp %u (%u), "
		 "%llu classifications (%llu), 1 key made (%llu), none in tcs_keys (%d)",
		 line, one ? "one" : "not one", uid, v.uid, dscp, v.dscp,
		 (unsigned long long)misses, (unsigned long long)miss,
		 (unsigned long long)made, keys);
}

/*
 * Where a rule matches on DSCP, a flow's entry holds the DSCP it was
 * classified with, not its key: a known key of a per: flow rule is still
 * one entry, its clock in it, found with one lookup and no classification.
 */
static int test_flow_dscp_known_key(void)
{
	struct fr f = { .len = 100, .dscp = 10 };
	struct tcs_key want;
	struct tcs_flow v;
	__u32 uid;
	int i;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: ef, match: { dscp: 46 }, " FAST ", per: rule }\n"
	      "      - { name: r, match: { dport: 5201, dscp: [10, 12] }, " FAST ", per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	want = key_make(uid, TCS_PER_FLOW, &f);
	for (i = 0; i < 3; i++)
		CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_SOLE_ENTRY(uid, 10, 1);
	CHECK_INT(only_flow(&v), 0);
	CHECK_INT(v.flags, 0);
	CHECK_U64(v.st.packets, 3);
	CHECK_KEYS(&want, 1);
	CHECK_U64(rst_get(uid).pass, 3);
	env_down();
	return 0;
}

/*
 * A flow remarked to a DSCP of another per: flow rule is charged to that
 * rule's key, and back again to its first rule's, whose clock it finds as
 * it left it: keys of different rules never share a clock, and no remark
 * buys a fresh bucket. The entry's clock stays its first rule's (its
 * owner); the other rule's key is in tcs_keys. The same with the flow
 * cache off (the bench's "classified"), where every packet is classified.
 */
static int dscp_remark_other_case(bool off)
{
	struct fr f = { .len = 1000 };
	struct tcs_key want[2];
	struct tcs_flow v;
	__u32 ua, ub;

	cache_off = off;
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: a, match: { dport: 5201, dscp: 46 }, rate: 100kbit, burst: 2000, "
	      "per: flow }\n"
	      "      - { name: b, match: { dport: 5201 }, rate: 100kbit, burst: 3000, per: flow }\n");
	ua = uid_of("lo/egress/a/flow");
	ub = uid_of("lo/egress/b/flow");
	want[0] = key_make(ua, TCS_PER_FLOW, &f);
	want[1] = key_make(ub, TCS_PER_FLOW, &f);
	CHECK_INT(tx(E.eg, &f), PASS);		/* b: 1000 of 3000 */
	f.dscp = 46;
	CHECK_INT(tx(E.eg, &f), PASS);		/* a: its own bucket, 2000 */
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), DROP);
	f.dscp = 0;
	CHECK_INT(tx(E.eg, &f), PASS);		/* b: as a left it, 2000 more */
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), DROP);
	f.dscp = 46;
	CHECK_INT(tx(E.eg, &f), DROP);		/* a: still spent, no fresh burst */
	f.dscp = 0;
	CHECK_INT(tx(E.eg, &f), DROP);
	/* a classification per remark; with the cache off, per packet */
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), off ? 9 : 5);
	CHECK_U64(stat_get(TCS_STAT_KEYS_CREATED), 2);
	CHECK_U64(rst_get(ua).pass, 2);
	CHECK_U64(rst_get(ua).drop, 2);
	CHECK_U64(rst_get(ub).pass, 3);
	CHECK_U64(rst_get(ub).drop, 2);
	CHECK_KEYS(want, 2);
	CHECK_U64(key_state(&want[0]).packets, 2);
	CHECK_U64(key_state(&want[1]).packets, 3);
	CHECK_INT(only_flow(&v), 0);
	CHECK_INT(v.uid, ub);			/* the first packet's rule owns the entry */
	CHECK_U64(v.st.packets, 3);
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 1);
	env_down();
	return 0;
}

static int test_flow_dscp_remark_other_rule(void)
{
	return dscp_remark_other_case(false) ?: dscp_remark_other_case(true);
}

/*
 * A flow remarked to another DSCP of the same rule (one that matches on
 * DSCP, or one that does not, in a ruleset where another does) is
 * classified again, to the same key: it keeps its clock, in its one entry.
 */
static int test_flow_dscp_remark_same_rule(void)
{
	static const char *const rules[] = {
		"      - { name: r, match: { dport: 5201, dscp: [8, 16] }, rate: 100kbit, "
		"burst: 2000, per: flow }\n",
		"      - { name: ef, match: { dscp: 46 }, " FAST ", per: rule }\n"
		"      - { name: r, match: { dport: 5201 }, rate: 100kbit, burst: 2000, "
		"per: flow }\n",
	};
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct fr f = { .len = 1000, .dscp = 8 };
		struct tcs_key want;
		__u32 uid;

		snprintf(yaml, sizeof(yaml), "version: 1\ninterfaces:\n  - name: lo\n    egress:\n%s",
			 rules[i]);
		SETUP(yaml);
		uid = uid_of("lo/egress/r/flow");
		want = key_make(uid, TCS_PER_FLOW, &f);
		CHECK_INT(tx(E.eg, &f), PASS);
		f.dscp = 16;
		CHECK_INT(tx(E.eg, &f), PASS);
		f.dscp = 8;
		CHECK_INT(tx(E.eg, &f), DROP);	/* the burst is spent, whatever the DSCP */
		CHECK_SOLE_ENTRY(uid, 8, 3);
		CHECK_KEYS(&want, 1);
		CHECK_U64(key_state(&want).packets, 2);
		CHECK_U64(rst_get(uid).pass, 2);
		CHECK_U64(rst_get(uid).drop, 1);
		env_down();
	}
	return 0;
}

/* ---- 11. directions and interfaces ---------------------------------------------- */

static int test_ingress(void)
{
	struct fr f1 = { .dport = 5201 }, f2 = { .dport = 5202 };
	__u32 ui, ue;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n"
	      "    ingress:\n      - { name: i, match: { dport: 5201 }, " FAST ", per: flow }\n"
	      "    egress:\n      - { name: e, match: { dport: 5202 }, " FAST ", per: flow }\n");
	ui = uid_of("lo/ingress/i/flow");
	ue = uid_of("lo/egress/e/flow");
	CHECK(ui != ue);
	CHECK_INT(tx(E.in, &f1), PASS);
	CHECK_U64(rst_get(ui).pass, 1);
	CHECK_INT(tx(E.in, &f2), PASS);		/* egress rule: not here */
	CHECK_U64(rst_get(ue).pass, 0);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK_INT(tx(E.eg, &f2), PASS);
	CHECK_U64(rst_get(ue).pass, 1);
	CHECK_INT(tx(E.eg, &f1), PASS);		/* ingress rule: not here */
	CHECK_U64(rst_get(ui).pass, 1);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 2);
	{
		struct tcs_key want[2] = { key_make(ui, TCS_PER_FLOW, &f1),
					   key_make(ue, TCS_PER_FLOW, &f2) };

		CHECK_KEYS(want, 2);
	}
	env_down();
	return 0;
}

/* Ingress only: the egress program passes everything untouched. */
static int test_ingress_only(void)
{
	struct fr f = { 0 };
	const struct __sk_buff ctx = { .mark = 0x1234, .priority = 7 };
	struct __sk_buff out;
	__u32 ui;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n"
	      "    ingress:\n      - { name: i, match: { dport: 5201 }, rate: 10kbit, burst: 1000, "
	      "per: rule }\n");
	ui = uid_of("lo/ingress/i/rule");
	build(frame, &f);
	CHECK_INT(run(E.eg, frame, 60, &ctx), PASS);
	CHECK_INT(run(E.eg, frame, 60, &ctx), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 0);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 0);
	CHECK_INT(run(E.in, frame, 60, &ctx), PASS);
	CHECK_INT(run(E.in, frame, 60, &ctx), PASS);
	CHECK_INT(run_ctx(E.in, frame, 1000, &ctx, &out), DROP);
	CHECK_U64(rst_get(ui).pass, 2);
	CHECK_U64(rst_get(ui).drop, 1);
	/* the classifier reads the skb: it neither marks, re-prioritises nor stamps it */
	CHECK_INT(out.mark, 0x1234);
	CHECK_INT(out.priority, 7);
	CHECK_U64(out.tstamp, 0);
	CHECK_INT(out.ifindex, LO);
	CHECK_INT(out.wire_len, 1000);
	env_down();
	return 0;
}

/*
 * While settings.tc_priority moves, two filters of the hook run the same
 * packet, its qdisc cb carried from the first to the second as the kernel
 * does: the second must not charge it again. A mark from another direction
 * or an old one (another packet's leftover cb) does not exempt a packet.
 */
static int test_charged_once_per_hook(void)
{
	struct fr f = { .len = 1000 };
	struct __sk_buff first, second = { 0 }, out;
	struct tcs_key k;
	__u32 uid;

	SETUP(PER_RULE_YAML("rule", "198.18.0.0/16"));	/* 2000 bytes of burst */
	uid = uid_of("lo/egress/r/rule");
	k = key_make(uid, TCS_PER_RULE, &f);
	build(frame, &f);

	CHECK_INT(run_ctx(E.eg, frame, 1000, NULL, &first), PASS);
	CHECK_INT(first.cb[0], TCS_CB_MARK);
	CHECK_INT(first.cb[1], LO << 1 | TCS_DIR_EGRESS);
	memcpy(second.cb, first.cb, sizeof(second.cb));
	CHECK_INT(run_ctx(E.eg, frame, 1000, &second, &out), PASS);	/* the second filter */
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_U64(key_state(&k).bytes, 1000);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), 1);	/* not even classified again */

	/* the next packet is charged: the rest of the burst, then a drop */
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(key_state(&k).bytes, 2000);

	/* a leftover mark of the other direction, or 20 ms old, exempts nothing */
	second.cb[1] = LO << 1 | TCS_DIR_INGRESS;
	CHECK_INT(run(E.eg, frame, 1000, &second), DROP);
	memcpy(second.cb, first.cb, sizeof(second.cb));
	second.cb[2] -= 2 * TCS_CB_FRESH_NS;
	CHECK_INT(run(E.eg, frame, 1000, &second), DROP);
	CHECK_U64(rst_get(uid).drop, 2);
	env_down();
	return 0;
}

/*
 * A full key table evicts, and the kernel counts that nowhere: the census
 * reckons it from the keys the classifier created, those alive, and those
 * the daemon freed itself when their rule went (which are not evictions).
 */
static int test_keys_evicted(void)
{
	struct state_fds sf = { .keys = -1, .flows = -1, .stats = -1, .meta = -1 };
	struct fr f = { .len = 100 };
	struct census *c = NULL;
	char src[32];
	__u64 live;
	__u32 uid, i;

	SETUP(PER_RULE_YAML("src", "198.18.0.0/16"));
	uid = uid_of("lo/egress/r/src");
	sf.keys = E.keys;
	sf.flows = E.flows;
	sf.stats = E.stats;
	sf.meta = bpf_map__fd(E.skel->maps.tcs_meta);
	for (i = 0; i < 3 * MAX_KEYS; i++) {
		snprintf(src, sizeof(src), "198.18.%u.%u", 1 + i / 250, 1 + i % 250);
		f.src = src;
		CHECK_INT(tx(E.eg, &f), PASS);	/* a new key: a full bucket */
	}
	live = (__u64)map_count(E.keys, sizeof(struct tcs_key));
	CHECK_INT(live <= MAX_KEYS && live >= MAX_KEYS / 2, 1);
	c = census_new(&sf);
	CHECK_INT(c && !census_run(c), 1);
	if (c) {
		CHECK_U64(census_created(c), 3 * MAX_KEYS);
		CHECK_U64(census_live(c), live);
		CHECK_U64(census_keys(c, uid), live);
		CHECK_U64(census_evicted(c), 3 * MAX_KEYS - live);
	}
	census_free(c);

	/* the rule goes: the daemon frees its keys, and they were not evicted */
	CHECK_INT(apply(PER_RULE_YAML("dst", "198.18.0.0/16")), 0);
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 0);
	c = census_new(&sf);
	CHECK_INT(c && !census_run(c), 1);
	if (c) {
		CHECK_U64(census_live(c), 0);
		CHECK_U64(census_evicted(c), 3 * MAX_KEYS - live);
	}
	census_free(c);
	env_down();
	return 0;
}

/* An interface without a binding is not touched: no parse, no counter, no cache. */
static int test_unbound_ifindex(void)
{
	struct fr f = { 0 }, cut = { .vlans = 1 };
	struct __sk_buff ctx = { 0 }, out;
	__u8 cut_frame[18];
	__u32 uid, i;
	__u64 sum = 0;

	if (!veth_idx && !skip_why[0])
		SKIP("no second device in the test netns (veth " VETH " could not be made)");
	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, " FAST ", per: flow }\n");
	uid = uid_of("lo/egress/r/flow");
	build(frame, &cut);
	memcpy(cut_frame, frame, sizeof(cut_frame));	/* tag, IPv4, no IP header */
	build(frame, &f);
	ctx.ifindex = veth_idx;
	CHECK_INT(run_ctx(E.eg, frame, 60, &ctx, &out), PASS);
	CHECK_INT(out.ifindex, veth_idx);	/* the run really was on the veth */
	CHECK_INT(run(E.eg, cut_frame, sizeof(cut_frame), &ctx), PASS);	/* MALFORMED on lo */
	for (i = 0; i < TCS_STAT_NR; i++)
		sum += stat_get(i);
	CHECK_U64(sum, 0);
	CHECK_U64(rst_get(uid).pass + rst_get(uid).drop, 0);
	CHECK_INT(map_count(E.flows, sizeof(struct tcs_flow_key)), 0);
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 0);

	/* and lo itself: ctx ifindex 0 means the loopback device */
	CHECK_INT(run_ctx(E.eg, frame, 60, NULL, &out), PASS);
	CHECK_INT(out.ifindex, LO);
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_INT(run(E.eg, cut_frame, sizeof(cut_frame), NULL), DROP);
	CHECK_U64(stat_get(TCS_STAT_MALFORMED), 1);

	/* bound to the veth instead: lo is now the unbound one */
	CHECK_INT(apply_on("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			   "      - { name: r, match: { dport: 5201 }, " FAST ", per: flow }\n",
			   veth_idx), 0);
	CHECK_INT(run(E.eg, frame, 60, NULL), PASS);
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_INT(run(E.eg, frame, 60, &ctx), PASS);
	CHECK_U64(rst_get(uid).pass, 2);
	{
		struct tcs_key want[2] = { key_make(uid, TCS_PER_FLOW, &f),
					   key_make(uid, TCS_PER_FLOW, &f) };

		want[1].ifindex = veth_idx;	/* limiter state is per interface */
		CHECK_KEYS(want, 2);
	}
	env_down();
	return 0;
}

/*
 * An ifindex past TCS_IFACES_DIRECT is bound through the hash, tcs_ifaces_hi,
 * and shaped like any other; unbound again, it is left alone. A restarted
 * daemon removes the bindings a killed one left, in the array and the hash.
 */
static __u32 bound_ruleset(int dir);

static int test_big_ifindex(void)
{
	struct fr f = { .len = 600 };
	struct __sk_buff ctx = { .ifindex = big_idx };
	struct tcs_iface stale = { .ruleset = 1 };
	struct tcs_iface_key hk = { .ifindex = BIG_IDX + 1, .dir = TCS_DIR_EGRESS };
	__u32 uid, ak = 5 << 1 | TCS_DIR_EGRESS;
	const char *yaml = "version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			   "      - { name: r, match: { dport: 5201 }, " FAST ", per: rule }\n";

	if (big_idx != BIG_IDX && !skip_why[0])
		SKIP("no device with ifindex %d in the test netns", BIG_IDX);
	SETUP(yaml);
	uid = uid_of("lo/egress/r/rule");
	CHECK_INT(run(E.eg, frame, build(frame, &f), &ctx), PASS);
	CHECK_U64(rst_get(uid).pass, 0);	/* bound to lo only */

	CHECK_INT(apply_on(yaml, big_idx), 0);
	CHECK_INT(map_count(bpf_map__fd(E.skel->maps.tcs_ifaces_hi), sizeof(hk)), 1);
	CHECK_INT(bound_ruleset(TCS_DIR_EGRESS), 0);	/* lo: unbound now */
	CHECK_INT(run(E.eg, frame, build(frame, &f), &ctx), PASS);
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_U64(rst_get(uid).bpass, 600);
	CHECK_INT(run(E.eg, frame, build(frame, &f), NULL), PASS);
	CHECK_U64(rst_get(uid).pass, 1);

	/* back on lo: the big one is left alone */
	CHECK_INT(apply(yaml), 0);
	CHECK_INT(map_count(bpf_map__fd(E.skel->maps.tcs_ifaces_hi), sizeof(hk)), 0);
	CHECK_INT(run(E.eg, frame, build(frame, &f), &ctx), PASS);
	CHECK_U64(rst_get(uid).pass, 1);
	CHECK_INT(run(E.eg, frame, build(frame, &f), NULL), PASS);
	CHECK_U64(rst_get(uid).pass, 2);

	/* what a killed instance left bound: gone after the next start's first publish */
	CHECK_INT(bpf_map_update_elem(E.ifaces, &ak, &stale, BPF_ANY), 0);
	CHECK_INT(bpf_map_update_elem(bpf_map__fd(E.skel->maps.tcs_ifaces_hi), &hk, &stale,
				      BPF_ANY), 0);
	maps_close(E.m);
	E.m = NULL;
	CHECK_INT(maps_open(E.skel, &E.m), 0);
	CHECK_INT(apply(yaml), 0);
	CHECK_INT(map_count(bpf_map__fd(E.skel->maps.tcs_ifaces_hi), sizeof(hk)), 0);
	stale.ruleset = 7;
	CHECK_INT(bpf_map_lookup_elem(E.ifaces, &ak, &stale), 0);
	CHECK_INT(stale.ruleset, 0);
	CHECK(bound_ruleset(TCS_DIR_EGRESS) != 0);
	env_down();
	return 0;
}

/* ---- the gate ------------------------------------------------------------------- */

#define GATE_RULES(extra)                                                                  \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                              \
	"      - { name: a, match: { proto: tcp, dport: 5201 }, " FAST ", per: flow }\n"       \
	"      - { name: b, match: { dport: \"1000-1300\" }, " FAST ", per: rule }\n"          \
	"      - { name: c, match: { proto: udp, sport: \"65000-65535\" }, " FAST               \
	", per: rule }\n"                                                                    \
	"      - { name: d, match: { dscp: 46 }, " FAST ", per: rule }\n"                      \
	"      - { name: e, match: { proto: icmp }, " FAST ", per: rule }\n"                   \
	"      - { name: f, match: { dst: \"198.18.9.0/24\", dport: 53 }, " FAST              \
	", per: src }\n" extra

/* Packets counted by each rule of the policy in force, in its uid order. */
static size_t rule_counts(__u64 *out, size_t max)
{
	const struct compiled *c = maps_current(E.m);
	size_t i;

	for (i = 0; c && i < c->n_uids && i < max; i++) {
		struct rst r = rst_get(c->uids[i].uid);

		out[i] = r.pass + r.drop;
	}
	return i;
}

struct outcome {
	int verdict;
	__u64 rules[16];
	__u64 stats[TCS_STAT_NR];
};

static struct outcome outcome_of(const struct fr *f)
{
	struct outcome o = { 0 }, before = { 0 };
	size_t n, i;

	n = rule_counts(before.rules, 16);
	for (i = 0; i < TCS_STAT_NR; i++)
		before.stats[i] = stat_get((__u32)i);
	o.verdict = tx(E.eg, f);
	rule_counts(o.rules, 16);
	for (i = 0; i < n; i++)
		o.rules[i] -= before.rules[i];
	for (i = 0; i < TCS_STAT_NR; i++)
		o.stats[i] = stat_get((__u32)i) - before.stats[i];
	return o;
}

/*
 * The gate never changes what happens to a packet, only what it costs: every
 * packet of a grid (protocols, port and DSCP edges, bucket edges, sources,
 * orphan fragments) goes through with the ruleset's gate and again without
 * it, and both runs must give the same verdict and move the same rule and
 * global counters. Policies mix shapes and port ranges; one adds a src-only
 * rule (no gate then), one has no port rule (orphans are classified).
 */
static int test_gate_exact(void)
{
	static const char *const policies[] = {
		GATE_RULES(""),
		GATE_RULES("      - { name: g, match: { src: \"198.18.7.0/24\" }, " FAST
			   ", per: rule }\n"),
		"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		"      - { name: a, match: { proto: udp, dscp: 10 }, " FAST ", per: rule }\n"
		"      - { name: b, match: { dscp: 46, dst: \"198.18.0.0/16\" }, " FAST
		", per: rule }\n"
		"      - { name: c, match: { proto: icmp }, " FAST ", per: rule }\n",
	};
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
	static const __u16 dports[] = { 9, 53, 255, 256, 999, 1000, 1023, 1024, 1300, 1301, 1536,
					5201, 5202, 65535 };
	static const __u16 sports[] = { 4000, 65000 };
	static const __u8 dscps[] = { 0, 10, 46 };
	static const char *const srcs[] = { NULL, "198.18.7.9" };
	static const char *const dsts[] = { NULL, "198.18.9.1" };
	int shut_want[] = { 1, 0, 1 };
	size_t pi;

	for (pi = 0; pi < sizeof(policies) / sizeof(policies[0]); pi++) {
		struct tcs_gate g, none = { 0 };
		size_t a, b, c, d, e, s, k;
		int gated = 0, bad = 0, frag_id = 1;
		__u32 slot;

		SETUP(policies[pi]);
		slot = bound_ruleset(TCS_DIR_EGRESS) % TCS_GATES;
		CHECK_INT(bpf_map_lookup_elem(bpf_map__fd(E.skel->maps.tcs_gates), &slot, &g), 0);
		CHECK_INT(g.ruleset, bound_ruleset(TCS_DIR_EGRESS));
		CHECK_INT(!!g.fields, shut_want[pi]);
		for (a = 0; a < sizeof(protos); a++)
			for (b = 0; b < sizeof(dports) / sizeof(dports[0]); b++)
				for (c = 0; c < sizeof(sports) / sizeof(sports[0]); c++)
					for (d = 0; d < sizeof(dscps); d++)
						for (e = 0; e < 2; e++)
							for (s = 0; s < 3; s++) {
				struct fr f = { .proto = protos[a], .dport = dports[b],
						.sport = sports[c], .dscp = dscps[d],
						.src = srcs[e], .dst = dsts[e], .v6 = 0 };
				struct outcome x, y;
				int fd = bpf_map__fd(E.skel->maps.tcs_gates);

				if (s == 1)
					f.frag = FR_LATER;	/* an orphan: its first never came */
				if (s == 2)
					f.v6 = 1, f.src = f.dst = NULL;
				f.frag_id = (__u16)frag_id++;
				x = outcome_of(&f);
				bpf_map_update_elem(fd, &slot, &none, BPF_ANY);
				y = outcome_of(&f);
				bpf_map_update_elem(fd, &slot, &g, BPF_ANY);
				/* shut out: unmatched at no classification, which it needed without */
				gated += x.stats[TCS_STAT_UNMATCHED] && !x.stats[TCS_STAT_CACHE_MISS] &&
					 y.stats[TCS_STAT_CACHE_MISS];
				/* what the gate saves: classification, so the keys it creates */
				x.stats[TCS_STAT_CACHE_MISS] = y.stats[TCS_STAT_CACHE_MISS] = 0;
				x.stats[TCS_STAT_KEYS_CREATED] = y.stats[TCS_STAT_KEYS_CREATED] = 0;
				if (x.verdict != y.verdict ||
				    memcmp(x.rules, y.rules, sizeof(x.rules)) ||
				    memcmp(x.stats, y.stats, sizeof(x.stats))) {
					if (bad++ < 5)
						T_FAILED("policy %zu: proto %u dport %u sport %u dscp %u "
							 "%s%s: verdict %d/%d; the gate changed what "
							 "happened",
							 pi, f.proto, f.dport, f.sport, f.dscp,
							 f.v6 ? "v6" : e ? "other addresses" : "v4",
							 s == 1 ? " orphan" : "", x.verdict, y.verdict);
					for (k = 0; k < TCS_STAT_NR && bad <= 5; k++)
						if (x.stats[k] != y.stats[k])
							printf("    stat %zu: %llu with the gate, "
							       "%llu without\n", k,
							       (unsigned long long)x.stats[k],
							       (unsigned long long)y.stats[k]);
				}
			}
		printf("    policy %zu: gate fields %#x, %d packets shut out\n", pi, g.fields,
		       gated);
		CHECK_INT(bad, 0);
		/* and it did shut packets out, where it could */
		CHECK_INT(gated > 0, shut_want[pi]);
		env_down();
	}
	return 0;
}

/* ---- 12. reload ----------------------------------------------------------------- */

#define RELOAD_YAML(rate, burst, extra)                                             \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                          \
	"      - { name: r1, match: { dport: 5201 }, rate: " rate ", burst: " burst     \
	", per: rule }\n" extra

static int test_reload_keeps_state(void)
{
	struct fr f = { .len = 1500 }, g = { .dport = 5300 };
	struct tcs_key k;
	struct tcs_key_state st0, st;
	struct tcs_rule r;
	__u64 cost;
	__u32 uid, u2, s1, s2;
	int i;

	SETUP(RELOAD_YAML("100kbit", "15000",
			  "      - { name: r2, match: { dport: 5300 }, " FAST ", per: rule }\n"));
	uid = uid_of("lo/egress/r1/rule");
	u2 = uid_of("lo/egress/r2/rule");
	s1 = slot_of(uid);
	s2 = slot_of(u2);
	CHECK(s1 != s2 && s1 < TCS_STAT_SLOTS && s2 < TCS_STAT_SLOTS);
	for (i = 0; i < 10; i++)
		CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), DROP);
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_U64(rst_get(u2).pass, 1);
	k = key_make(uid, TCS_PER_RULE, &f);
	st0 = key_state(&k);
	CHECK_U64(st0.packets, 10);

	/* 1. faster, same burst in bytes: the key keeps its debt, no fresh burst */
	CHECK_INT(apply(RELOAD_YAML("1mbit", "15000", "")), 0);
	CHECK_INT(uid_of("lo/egress/r1/rule"), uid);
	CHECK_INT(slot_of(uid), s1);	/* its counters stay where they are */
	st = key_state(&k);
	CHECK_U64(st.tat, st0.tat);
	CHECK_U64(st.packets, 10);
	CHECK_INT(tx(E.eg, &f), DROP);	/* ~1.2 s of debt against a 120 ms burst */
	CHECK_U64(rst_get(uid).pass, 10);	/* counters carry over too */
	CHECK_U64(rst_get(uid).drop, 2);

	/* r2 is gone: its traffic is unmatched, its counters deleted */
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK(!rst_get(u2).exists);

	/* 2. a deep burst: passes, and the tat moves by the new rate's cost */
	CHECK_INT(apply(RELOAD_YAML("1mbit", "300000", "")), 0);
	CHECK_INT(uid_of("lo/egress/r1/rule"), uid);
	r = rule_of(uid);
	cost = compile_bytes_ns(1500, r.mult, r.shift);
	CHECK_U64(cost, 12000000);
	CHECK(st0.tat > now_ns());	/* still in debt, so the tat is not reset to now */
	CHECK_INT(tx(E.eg, &f), PASS);
	st = key_state(&k);
	CHECK_U64(st.tat, st0.tat + cost);
	CHECK_U64(st.packets, 11);
	/* r1's one key only: the removed r2's limiter state was freed by the reload */
	CHECK_INT(map_count(E.keys, sizeof(struct tcs_key)), 1);

	/* 3. r2 back under the same name: a new uid, nothing inherited */
	CHECK_INT(apply(RELOAD_YAML("1mbit", "300000",
				    "      - { name: r2, match: { dport: 5300 }, " FAST
				    ", per: rule }\n")), 0);
	CHECK(uid_of("lo/egress/r2/rule") != u2);
	/* the removed r2's counter slot is free again, and zeroed: it counts from 0 */
	CHECK_INT(slot_of(uid_of("lo/egress/r2/rule")), s2);
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_U64(rst_get(uid_of("lo/egress/r2/rule")).pass, 1);

	/* 4. per changed: another identity, a fresh uid and bucket */
	CHECK_INT(apply("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			"      - { name: r1, match: { dport: 5201 }, rate: 1mbit, burst: 15000, "
			"per: flow }\n"), 0);
	CHECK(uid_of("lo/egress/r1/flow") != uid);
	CHECK_INT(tx(E.eg, &f), PASS);
	env_down();
	return 0;
}

/*
 * A restarted daemon (maps_open on the maps an earlier instance left) gives
 * the rules it finds their uids and counter slots back: counters continue.
 * A new rule gets a slot no adopted rule holds, zeroed even if a killed
 * instance left counts in it.
 */
static int test_restart_keeps_counters(void)
{
	struct fr f = { .len = 1500 }, g = { .dport = 5300 };
	struct tcs_rule_stats *junk;
	__u32 uid, slot, s3;
	int i;

	SETUP(RELOAD_YAML("100mbit", "150000", ""));
	uid = uid_of("lo/egress/r1/rule");
	slot = slot_of(uid);
	for (i = 0; i < 3; i++)
		CHECK_INT(tx(E.eg, &f), PASS);
	/* what a killed instance may have left in the next free slot */
	junk = malloc(E.ncpus * sizeof(*junk));
	CHECK(junk);
	memset(junk, 0xff, E.ncpus * sizeof(*junk));
	s3 = slot == 0 ? 1 : 0;
	CHECK_INT(bpf_map_update_elem(E.rstats, &s3, junk, BPF_ANY), 0);
	free(junk);

	maps_close(E.m);
	E.m = NULL;
	CHECK_INT(maps_open(E.skel, &E.m), 0);
	CHECK(maps_adopted(E.m));
	CHECK_INT(apply(RELOAD_YAML("100mbit", "150000",
				    "      - { name: r3, match: { dport: 5300 }, " FAST
				    ", per: rule }\n")), 0);
	CHECK_INT(uid_of("lo/egress/r1/rule"), uid);
	CHECK_INT(slot_of(uid), slot);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(rst_get(uid).pass, 4);
	CHECK_INT(slot_of(uid_of("lo/egress/r3/rule")), s3);
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_U64(rst_get(uid_of("lo/egress/r3/rule")).pass, 1);
	CHECK_U64(rst_get(uid_of("lo/egress/r3/rule")).drop, 0);
	env_down();
	return 0;
}

/*
 * Past tcs_rule_stats' size a rule counts in tcs_rule_spill: the same
 * counters, in a hash; a removed rule's entry goes. The array is made small
 * here (the daemon's holds thousands of slots), and the daemon must take its
 * boundary from the map.
 */
#define SPILL_AT 64
static int test_rule_slots_spill(void)
{
	size_t cap = (SPILL_AT + 8) * (80 + sizeof(FAST)) + 256, n;
	char *y = malloc(cap), ident[64];
	struct fr first = { .dport = 10000 }, last = { .len = 600 };
	__u32 u0, ul = TCS_UID_NONE;
	int i;

	if (!y)
		return -1;
	stat_slots = SPILL_AT;
	rule_slots = 2 * (SPILL_AT + 8);	/* a half holds them all */
	n = (size_t)snprintf(y, cap, "version: 1\ninterfaces:\n  - name: lo\n    egress:\n");
	for (i = 0; i < SPILL_AT + 8; i++)
		n += (size_t)snprintf(y + n, cap - n,
				      "      - { name: r%d, match: { dport: %d }, " FAST
				      ", per: rule }\n", i, 10000 + i);
	SETUP(y);
	free(y);
	CHECK_INT(E.stat_slots, SPILL_AT);
	u0 = uid_of("lo/egress/r0/rule");
	CHECK(slot_of(u0) < SPILL_AT);
	/* slots go by rule identity, not position: find a rule past the array */
	for (i = 0; i < SPILL_AT + 8 && ul == TCS_UID_NONE; i++) {
		snprintf(ident, sizeof(ident), "lo/egress/r%d/rule", i);
		if (slot_of(uid_of(ident)) >= SPILL_AT) {
			ul = uid_of(ident);
			last.dport = (__u16)(10000 + i);
		}
	}
	CHECK(ul != TCS_UID_NONE && slot_of(ul) < TCS_STAT_SLOTS);
	CHECK_INT(tx(E.eg, &first), PASS);
	CHECK_INT(tx(E.eg, &last), PASS);
	CHECK_INT(tx(E.eg, &last), PASS);
	CHECK_U64(rst_get(u0).pass, 1);
	CHECK_U64(rst_get(ul).pass, 2);
	CHECK_U64(rst_get(ul).bpass, 1200);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 0);
	CHECK_INT(map_count(E.rspill, sizeof(__u32)), 8);
	/* a policy of one rule: the others' counters are gone, the spilled ones' entries too */
	CHECK_INT(apply(RELOAD_YAML("1mbit", "15000", "")), 0);
	CHECK_INT(map_count(E.rspill, sizeof(__u32)), 0);
	env_down();
	return 0;
}

/* Stale flow cache entries cannot outlive a reload: the new ruleset has a new id. */
static int test_reload_flow_cache(void)
{
	struct fr f = { 0 };
	__u64 miss;

	SETUP(RELOAD_YAML("10gbit", "1mb", ""));
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &f), PASS);
	miss = stat_get(TCS_STAT_CACHE_MISS);
	CHECK_U64(miss, 1);
	/* the rule now matches another port: the cached answer must not be used */
	CHECK_INT(apply("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			"      - { name: r1, match: { dport: 5202 }, " FAST ", per: rule }\n"), 0);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(stat_get(TCS_STAT_CACHE_MISS), miss + 1);
	CHECK_U64(stat_get(TCS_STAT_UNMATCHED), 1);
	CHECK_U64(rst_get(uid_of("lo/egress/r1/rule")).pass, 2);
	env_down();
	return 0;
}

/* ---- notes for socket pacing ---------------------------------------------------- */

/* What tcs_socks says of the connection f (as the packet sees it) in dir. */
static int sock_note(const struct fr *f, int dir, struct tcs_sock_note *n)
{
	struct tcs_sock_key k = { .dir = (__u8)dir, .family = f->v6 ? TCS_FAMILY_V6 : TCS_FAMILY_V4 };
	__u8 src[16] = { 0 }, dst[16] = { 0 };
	__u16 sport = htons(f->sport ? f->sport : 4000), dport = htons(f->dport ? f->dport : 5201);

	addr(f->v6, f->src, f->v6 ? "2001:db8::1" : "198.18.0.1", src);
	addr(f->v6, f->dst, f->v6 ? "2001:db8::2" : "198.18.0.2", dst);
	/* the socket's own view: egress packets leave from it, ingress ones come to it */
	memcpy(k.laddr, dir == TCS_DIR_EGRESS ? src : dst, 16);
	memcpy(k.raddr, dir == TCS_DIR_EGRESS ? dst : src, 16);
	k.lport = dir == TCS_DIR_EGRESS ? sport : dport;
	k.rport = dir == TCS_DIR_EGRESS ? dport : sport;
	return bpf_map_lookup_elem(bpf_map__fd(E.skel->maps.tcs_socks), &k, n) ? -errno : 0;
}

static __u32 bound_ruleset(int dir)
{
	__u32 k = LO << 1 | (__u32)dir;	/* tcs_ifaces: LO < TCS_IFACES_DIRECT */
	struct tcs_iface v = { 0 };

	bpf_map_lookup_elem(E.ifaces, &k, &v);
	return v.ruleset;
}

/*
 * A classified TCP connection is noted for its local socket, as the socket
 * sees it, with the limiter key and the ruleset; UDP, unmatched TCP and
 * later packets of a known flow write nothing; a reload that leaves the
 * connection unmatched removes the note at its next packet.
 */
static int test_sock_notes(void)
{
	struct fr out = { .proto = IPPROTO_TCP, .sport = 4000, .dport = 5201 };
	struct fr in = { .proto = IPPROTO_TCP, .v6 = 1, .src = "2001:db8::2", .dst = "2001:db8::1",
			 .sport = 5201, .dport = 4000 };
	struct fr udp = { .sport = 4001, .dport = 5201 };
	struct fr other = { .proto = IPPROTO_TCP, .sport = 4002, .dport = 5301 };
	struct tcs_sock_note n;
	struct tcs_key want;
	__u32 ue, ui;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n"
	      "    egress:\n      - { name: e, match: { proto: tcp, dport: 5201 }, " FAST ", per: flow }\n"
	      "    ingress:\n      - { name: i, match: { proto: tcp, sport: 5201 }, " FAST ", per: rule }\n");
	ue = uid_of("lo/egress/e/flow");
	ui = uid_of("lo/ingress/i/rule");
	CHECK_INT(tx(E.eg, &out), PASS);
	CHECK_INT(sock_note(&out, TCS_DIR_EGRESS, &n), 0);
	want = key_make(ue, TCS_PER_FLOW, &out);
	CHECK(!memcmp(&n.key, &want, sizeof(want)));
	CHECK_U64(n.ruleset, bound_ruleset(TCS_DIR_EGRESS));
	CHECK_INT(sock_note(&out, TCS_DIR_INGRESS, &n), -ENOENT);

	CHECK_INT(tx(E.in, &in), PASS);
	CHECK_INT(sock_note(&in, TCS_DIR_INGRESS, &n), 0);
	want = key_make(ui, TCS_PER_RULE, &in);
	CHECK(!memcmp(&n.key, &want, sizeof(want)));
	CHECK_U64(n.ruleset, bound_ruleset(TCS_DIR_INGRESS));

	CHECK_INT(tx(E.eg, &udp), PASS);
	CHECK_INT(sock_note(&udp, TCS_DIR_EGRESS, &n), -ENOENT);
	CHECK_INT(tx(E.eg, &other), PASS);
	CHECK_INT(sock_note(&other, TCS_DIR_EGRESS, &n), -ENOENT);
	CHECK_INT(map_count(bpf_map__fd(E.skel->maps.tcs_socks), sizeof(struct tcs_sock_key)), 2);

	/* a known flow (a flow cache hit) pays nothing: its note is not written again */
	CHECK_INT(tx(E.in, &in), PASS);
	CHECK_INT(map_count(bpf_map__fd(E.skel->maps.tcs_socks), sizeof(struct tcs_sock_key)), 2);

	/* the rule goes: the flow's next packet is classified afresh, its note removed */
	CHECK_INT(apply("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			"      - { name: e, match: { proto: tcp, dport: 5301 }, " FAST ", per: flow }\n"),
		  0);
	CHECK_INT(tx(E.eg, &out), PASS);
	CHECK_INT(sock_note(&out, TCS_DIR_EGRESS, &n), -ENOENT);
	env_down();
	return 0;
}

/* ---- 13. rule bodies: tcs_rules regions ------------------------------------------ */

#define HALF	(RULE_SLOTS / 2)

static struct tcs_ruleset hdr_of(__u32 id)
{
	struct tcs_ruleset h = { 0 };

	bpf_map_lookup_elem(bpf_map__fd(E.skel->maps.tcs_rulesets), &id, &h);
	return h;
}

static struct tcs_rule body_at(__u32 slot)
{
	struct tcs_rule r = { 0 };

	bpf_map_lookup_elem(bpf_map__fd(E.skel->maps.tcs_rules), &slot, &r);
	return r;
}

/* The flow cache's answer for a flow of ruleset id (the only one cached under it). */
static __u32 cached_slot(__u32 id)
{
	struct tcs_flow_key k, next;
	struct tcs_flow v;
	void *prev = NULL;
	__u32 got = ~0u - 1;

	while (!bpf_map_get_next_key(E.flows, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(E.flows, &k, &v) && v.ruleset == id)
			got = v.flags & TCS_FLOW_NO_RULE ? TCS_IDX_NONE : v.slot;
	}
	return got;
}

static int n_rulesets(void)
{
	return map_count(bpf_map__fd(E.skel->maps.tcs_rulesets), sizeof(__u32));
}

static int n_match(void)
{
	return map_count(bpf_map__fd(E.skel->maps.tcs_match), sizeof(struct tcs_match_key));
}

#define THREE_YAML(rate2)                                                              \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                          \
	"      - { name: r1, match: { dport: 5201 }, " FAST ", per: rule }\n"            \
	"      - { name: r2, match: { dport: 5202 }, rate: " rate2 ", burst: 1mb, per: rule }\n" \
	"      - { name: r3, match: { dport: 5203 }, " FAST ", per: rule }\n"

/*
 * A reload that changes one rule's rate writes a new header and region of
 * rule bodies, and no tcs_match entry: the new ruleset shares the match and
 * class tables. The flow cache answers with the rule's slot, and a flow is
 * classified again under the new ruleset and charged at the new rate.
 */
static int test_reload_rate_only(void)
{
	struct fr f = { .dport = 5202 };
	struct tcs_ruleset h0, h1;
	__u32 id0, id1, uid;
	int nm;

	SETUP(THREE_YAML("10gbit"));
	uid = uid_of("lo/egress/r2/rule");
	id0 = bound_ruleset(TCS_DIR_EGRESS);
	h0 = hdr_of(id0);
	CHECK_INT(h0.nrules, 3);
	CHECK_INT(h0.match_table, id0);
	CHECK_INT(h0.class_table, id0);
	nm = n_match();
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(cached_slot(id0), h0.rule_base + 1);
	CHECK_U64(body_at(h0.rule_base + 1).uid, uid);

	CHECK_INT(apply(THREE_YAML("1mbit")), 0);
	id1 = bound_ruleset(TCS_DIR_EGRESS);
	h1 = hdr_of(id1);
	CHECK(id1 != id0);
	CHECK_INT(h1.match_table, id0);
	CHECK_INT(h1.class_table, id0);
	CHECK(h1.rule_base + 3 <= h0.rule_base || h0.rule_base + 3 <= h1.rule_base);
	CHECK_INT(n_match(), nm);
	CHECK_INT(n_rulesets(), 1);
	CHECK_U64(body_at(h1.rule_base + 1).uid, uid);
	CHECK_U64(body_at(h1.rule_base + 1).mult, rule_of(uid).mult);
	CHECK(body_at(h1.rule_base + 1).mult != body_at(h1.rule_base).mult);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(cached_slot(id1), h1.rule_base + 1);
	CHECK_U64(rst_get(uid).pass, 2);
	env_down();
	return 0;
}

/*
 * BIG_N egress rules on lo (r<i> matches dport 10000 + i; r0 at rate0) and
 * one ingress rule: more than half of a half of tcs_rules (RULE_SLOTS here),
 * so a changed egress ruleset cannot sit beside the one in force.
 */
#define BIG_N	(HALF / 2 + 1)
static char *big_yaml(const char *rate0)
{
	char *y = malloc(200 + BIG_N * 100), *at;
	unsigned int i;

	if (!y)
		abort();
	at = y + sprintf(y, "version: 1\ninterfaces:\n  - name: lo\n    ingress:\n"
			    "      - { name: in, match: { sport: 5201 }, " FAST " }\n"
			    "    egress:\n");
	for (i = 0; i < BIG_N; i++)
		at += sprintf(at,
			      "      - { name: r%u, match: { dport: %u }, rate: %s, burst: 1mb, "
			      "per: rule }\n",
			      i, 10000 + i, i ? "10gbit" : rate0);
	return y;
}

static int apply_big(const char *rate0)
{
	char *y = big_yaml(rate0);
	int err = apply(y);

	free(y);
	return err;
}

/* Both bound rulesets' regions lie in half h, apart. */
static int regions_in(int h)
{
	struct tcs_ruleset e = hdr_of(bound_ruleset(TCS_DIR_EGRESS));
	struct tcs_ruleset i = hdr_of(bound_ruleset(TCS_DIR_INGRESS));
	__u32 lo = h * HALF, hi = lo + HALF;

	return e.nrules == BIG_N && i.nrules == 1 && e.rule_base >= lo &&
	       e.rule_base + e.nrules <= hi && i.rule_base >= lo && i.rule_base + 1 <= hi &&
	       (i.rule_base + 1 <= e.rule_base || e.rule_base + e.nrules <= i.rule_base);
}

/*
 * A changed ruleset whose region does not fit beside the ones in force in
 * their half moves every ruleset to the other half: the unchanged one under
 * a new id, sharing its tables; then back. Traffic is charged to the same
 * rule throughout, at the rate of the policy in force.
 */
static int test_rule_regions_move(void)
{
	struct fr f = { .dport = 10000 }, g = { .dport = 10000 + BIG_N - 1 };
	__u32 in0, uid, uid_last;
	struct tcs_ruleset hi0;
	char last[64];
	int nm;

	SETUP("version: 1\ninterfaces: []\n");
	CHECK_INT(apply_big("10gbit"), 0);
	uid = uid_of("lo/egress/r0/rule");
	snprintf(last, sizeof(last), "lo/egress/r%u/rule", BIG_N - 1);
	uid_last = uid_of(last);
	CHECK(regions_in(0));
	in0 = bound_ruleset(TCS_DIR_INGRESS);
	hi0 = hdr_of(in0);
	nm = n_match();
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &g), PASS);

	CHECK_INT(apply_big("1mbit"), 0);
	CHECK(regions_in(1));
	CHECK(bound_ruleset(TCS_DIR_INGRESS) != in0);
	CHECK_INT(hdr_of(bound_ruleset(TCS_DIR_INGRESS)).match_table, hi0.match_table);
	CHECK_INT(hdr_of(bound_ruleset(TCS_DIR_INGRESS)).class_table, hi0.class_table);
	CHECK_INT(n_match(), nm);
	CHECK_INT(n_rulesets(), 2);
	CHECK_U64(body_at(hdr_of(bound_ruleset(TCS_DIR_EGRESS)).rule_base).mult,
		  rule_of(uid).mult);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_INT(cached_slot(bound_ruleset(TCS_DIR_EGRESS)) != ~0u - 1, 1);

	CHECK_INT(apply_big("2mbit"), 0);
	CHECK(regions_in(0));
	CHECK_INT(n_match(), nm);
	CHECK_INT(n_rulesets(), 2);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_INT(tx(E.eg, &g), PASS);
	CHECK_U64(rst_get(uid).pass, 3);
	CHECK_U64(rst_get(uid_last).pass, 3);
	env_down();
	return 0;
}

/*
 * A restarted instance places nothing over the regions of an earlier one's
 * rulesets (bound until its first flip), and sweeps them after. With no
 * room in either half the publish fails, saying so, and the rulesets in
 * force stay bound and enforcing.
 */
static int test_rule_regions_restart(void)
{
	struct fr f = { .dport = 10000 };
	struct tcs_ruleset fake = { .nrules = BIG_N };
	__u32 eg, in, fid, uid;

	SETUP("version: 1\ninterfaces: []\n");
	CHECK_INT(apply_big("10gbit"), 0);
	CHECK(regions_in(0));
	uid = uid_of("lo/egress/r0/rule");
	CHECK_INT(tx(E.eg, &f), PASS);

	maps_close(E.m);
	CHECK_INT(maps_open(E.skel, &E.m), 0);
	CHECK_INT(apply_big("1mbit"), 0);
	CHECK(regions_in(1));
	CHECK_INT(n_rulesets(), 2);
	CHECK_INT(uid_of("lo/egress/r0/rule"), uid);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(rst_get(uid).pass, 2);

	/* an earlier instance's leftover filling half 0, and this one in half 1 */
	eg = bound_ruleset(TCS_DIR_EGRESS);
	in = bound_ruleset(TCS_DIR_INGRESS);
	fid = (eg > in ? eg : in) + 1;
	CHECK_INT(bpf_map_update_elem(bpf_map__fd(E.skel->maps.tcs_rulesets), &fid, &fake,
				      BPF_NOEXIST), 0);
	maps_close(E.m);
	CHECK_INT(maps_open(E.skel, &E.m), 0);
	CHECK_INT(apply_big("2mbit"), -ENOSPC);
	CHECK_INT(bound_ruleset(TCS_DIR_EGRESS), eg);
	CHECK_INT(bound_ruleset(TCS_DIR_INGRESS), in);
	CHECK(regions_in(1));
	CHECK_INT(n_rulesets(), 3);
	CHECK_INT(tx(E.eg, &f), PASS);
	CHECK_U64(rst_get(uid).pass, 3);
	env_down();
	return 0;
}

/* ---- main ----------------------------------------------------------------------- */

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* ---- 13. pacing: departure times, burst credit, horizon, ECN -------------------- */

/* One run that may change the frame (CE marks): verdict, tstamp, frame back. */
static int run_pace(const void *in_frame, size_t len, __u64 tstamp_in, __u64 *tstamp,
		    __u8 *back)
{
	static __u8 out[FRAME_MAX + 256];
	struct __sk_buff ci = { .tstamp = tstamp_in }, co = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in_frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ci,
		    .ctx_size_in = sizeof(ci), .ctx_out = &co, .ctx_size_out = sizeof(co));

	if (bpf_prog_test_run_opts(E.eg, &o))
		return -errno;
	*tstamp = co.tstamp;
	if (back)
		memcpy(back, out, len);
	return (int)o.retval;
}

static __u16 ip_csum(const __u8 *ip, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i < len; i += 2)
		sum += (__u32)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#define PACE_POLICY(rate, burst, extra)                                                   \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                          \
	"      - { name: r, match: { dport: 5201 }, rate: " rate ", burst: " burst ", "     \
	"per: rule, action: pace" extra " }\n"

/*
 * A full bucket lets exactly floor(burst / len) packets leave at once (no
 * tstamp); after that each departure is exactly one packet's cost later.
 */
static int test_pace_departures(void)
{
	struct fr f = { .len = 1500 };
	__u64 ts[8], cost;
	struct tcs_rule r;
	int i, v;
	__u32 uid;

	SETUP(PACE_POLICY("1mbit", "3000", ""));
	uid = uid_of("lo/egress/r/rule");
	r = rule_of(uid);
	CHECK_INT(r.action, TCS_ACT_PACE);
	cost = compile_bytes_ns(1500, r.mult, r.shift);
	CHECK_U64(cost, 12000000);
	build(frame, &f);
	for (i = 0; i < 8; i++) {
		v = run_pace(frame, 1500, 0, &ts[i], NULL);
		CHECK_INT(v, PASS);
	}
	/* burst 3000 = two packets of credit: the first two leave now */
	CHECK_U64(ts[0], 0);
	CHECK_U64(ts[1], 0);
	CHECK(ts[2] > 0);
	for (i = 3; i < 8; i++)
		CHECK_U64(ts[i] - ts[i - 1], cost);
	/* the third leaves one cost after the bucket would have allowed it: about now + cost */
	if (ts[2] && (ts[2] < now_ns() || ts[2] > now_ns() + 2 * cost))
		T_FAILED("third departure %.3f ms from now, want about %.1f", (ts[2] - now_ns()) / 1e6,
			 cost / 1e6);
	env_down();
	return 0;
}

/* A departure further ahead than max_delay is dropped and costs nothing. */
static int test_pace_horizon_drop(void)
{
	struct fr f = { .len = 1500 };
	struct tcs_rule r;
	struct tcs_key k;
	__u64 ts, cost, tat, t0, extra;
	int i, v, paced = 0, drops;
	__u32 uid;

	/*
	 * 1mbit: 12 ms a packet, long next to a test run even on an emulated
	 * CPU; max_delay 600 ms: about 50 packets ahead at most
	 */
	SETUP(PACE_POLICY("1mbit", "1500", ", max_delay: 600ms"));
	uid = uid_of("lo/egress/r/rule");
	r = rule_of(uid);
	CHECK_U64(r.max_delay_ns, 600000000);
	cost = compile_bytes_ns(1500, r.mult, r.shift);
	build(frame, &f);
	t0 = now_ns();
	for (i = 0; i < 200; i++) {
		v = run_pace(frame, 1500, 0, &ts, NULL);
		if (v == DROP)
			break;
		paced += ts > 0;
	}
	/* 600 ms / 12 ms = 50 ahead, plus what the clock gave back meanwhile */
	extra = (now_ns() - t0) / cost;
	CHECK_INT(v, DROP);
	if (paced < 50 || (__u64)paced > 51 + extra)
		T_FAILED("%d packets paced before the first drop, want 50 to %llu", paced,
			 (unsigned long long)(51 + extra));
	/*
	 * From here on each packet is dropped while its departure lies past the
	 * horizon, costing nothing, or (time having moved on, as it does on a
	 * slow CPU) paced at exactly one cost more: never anything else.
	 */
	k = key_make(uid, TCS_PER_RULE, &f);
	drops = 1;
	for (i = 0; i < 6; i++) {
		tat = key_state(&k).tat;
		v = run_pace(frame, 1500, 0, &ts, NULL);
		if (v == DROP) {
			CHECK_U64(key_state(&k).tat, tat);
			drops++;
		} else {
			CHECK_INT(v, PASS);
			CHECK_U64(key_state(&k).tat, tat + cost);
		}
	}
	if (drops < 3)
		T_FAILED("only %d of 7 packets past the horizon were dropped", drops);
	CHECK_U64(rst_get(uid).drop, drops);
	printf("    %d paced (12 ms apart), then dropped past max_delay 600 ms\n", paced);
	env_down();
	return 0;
}

/* A later departure the sender chose itself (TCP's own pacing) stands. */
static int test_pace_keeps_later_tstamp(void)
{
	struct fr f = { .len = 1500 };
	__u64 ts, later;
	int i;

	SETUP(PACE_POLICY("1mbit", "1500", ""));
	build(frame, &f);
	for (i = 0; i < 2; i++)
		run_pace(frame, 1500, 0, &ts, NULL);
	CHECK(ts > 0);
	later = ts + 1000000000ull;
	CHECK_INT(run_pace(frame, 1500, later, &ts, NULL), PASS);
	CHECK_U64(ts, later);
	env_down();
	return 0;
}

/*
 * Past ecn_threshold an ECN-capable packet is CE-marked (IPv4: checksum
 * still right; IPv6: traffic class), a non-ECT one only paced.
 */
static int test_pace_ecn(void)
{
	__u8 back[FRAME_MAX];
	struct fr f4 = { .len = 1500, .ecn = 2 }, f6 = { .v6 = 1, .len = 1500, .ecn = 1 };
	struct fr plain = { .len = 1500 };
	size_t l3 = 14;
	__u64 ts;
	int i, v, marked = 0;
	__u32 uid;

	SETUP(PACE_POLICY("1mbit", "1500", ", max_delay: 600ms, ecn: true, ecn_threshold: 30ms"));
	uid = uid_of("lo/egress/r/rule");
	/* 12 ms a packet: the 4th is 36 ms out, past the 30 ms threshold */
	build(frame, &f4);
	for (i = 0; i < 4; i++) {
		v = run_pace(frame, 1500, 0, &ts, back);
		CHECK_INT(v, PASS);
		marked += (back[l3 + 1] & 3) == 3;
	}
	CHECK_INT(marked, 1);
	CHECK_INT(back[l3 + 1] & 3, 3);
	CHECK_INT(back[l3 + 1] >> 2, frame[l3 + 1] >> 2);	/* DSCP untouched */
	/* the header checksum the kernel would verify */
	{
		__u8 hdr[20];

		memcpy(hdr, frame + l3, 20);
		hdr[10] = hdr[11] = 0;
		put16(hdr + 10, ip_csum(hdr, 20));
		memcpy(frame + l3, hdr, 20);
		v = run_pace(frame, 1500, 0, &ts, back);
		CHECK_INT(v, PASS);
		CHECK_INT(ip_csum(back + l3, 20), 0);
		CHECK_INT(back[l3 + 1] & 3, 3);
	}
	/* IPv6: ECT(1) becomes CE in the traffic class */
	build(frame, &f6);
	v = run_pace(frame, 1500, 0, &ts, back);
	CHECK_INT(v, PASS);
	CHECK_INT((back[l3 + 1] >> 4) & 3, 3);
	/* not ECN-capable: paced, never marked */
	build(frame, &plain);
	v = run_pace(frame, 1500, 0, &ts, back);
	CHECK_INT(v, PASS);
	CHECK(ts > 0);
	CHECK_INT(back[l3 + 1] & 3, 0);
	{
		struct tcs_rule_stats st[E.ncpus > 0 ? E.ncpus : 1];
		__u64 m = 0;

		__u32 slot = slot_of(uid);

		if (!bpf_map_lookup_elem(E.rstats, &slot, st))
			for (i = 0; i < E.ncpus; i++)
				m += st[i].packets[TCS_V_MARK];
		CHECK_U64(m, 3);
	}
	env_down();
	return 0;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void setup(void)
{
	int err;

	/* a second device to run on */
	if (t_private_netns(skip_why, sizeof(skip_why)))
		return;
	if (!sh("ip link add " VETH " type veth peer name " VETH_PEER " 2>/dev/null"))
		veth_idx = if_nametoindex(VETH);
	if (!sh("ip link add " VETH_BIG " index 70000 type veth peer name " VETH_BIG_PEER
		" 2>/dev/null"))
		big_idx = if_nametoindex(VETH_BIG);
	err = env_load(true);
	if (err) {
		load_err = err;
		snprintf(skip_why, sizeof(skip_why), "the classifier did not load (see test_load)");
		return;
	}
	env_down();
}

/* As root, a classifier that does not load is a failure, not a reason to skip. */
/* ---- totals and key prefixes ---------------------------------------------------- */

/*
 * Two sources of one rule, per src, each key 1mbit with a 3000-byte burst
 * (two 1500-byte packets), together under total 1.5mbit (the same 24 ms
 * burst: three packets).
 */
#define TOTAL_POLICY(action)                                                            \
	"version: 1\ninterfaces:\n  - name: lo\n    egress:\n"                          \
	"      - { name: r, match: { dport: 5201 }, rate: 1mbit, burst: 3000, "          \
	"total: 1500kbit, per: src" action " }\n"

static struct tcs_total_state total_state(__u32 uid)
{
	struct tcs_total_key k = { .uid = uid, .ifindex = LO };
	struct tcs_total_state st = { 0 };

	bpf_map_lookup_elem(E.totals, &k, &st);
	return st;
}

/*
 * The share is unknown until the rule's first period is counted: the total's
 * clock alone decides then. Start right after a period begins, so a test's
 * few packets all fall in it.
 */
static void fresh_period(void)
{
	while (now_ns() % TCS_SHARE_PERIOD_NS > TCS_SHARE_PERIOD_NS / 20)
		usleep(1000);
}

/*
 * Within its key's limit, over the total: dropped, and neither is charged.
 * A tenth of TOTAL_POLICY's rates, the same burst in packets: between b's
 * two packets the total must not earn one back (80 ms here), which under
 * the vm's emulator, with the state reads between them, 8 ms was not.
 */
#define TOTAL_POLICE_RULE                                                                \
	"match: { dport: 5201 }, rate: 100kbit, burst: 3000, total: 150kbit, per: src }\n"
static int total_police_case(int ingress)
{
	struct fr a = { .len = 1500 }, b = { .len = 1500, .src = "198.18.0.9" };
	int prog;
	struct tcs_total_state ts;
	struct tcs_key kb;
	struct tcs_rule r;
	__u64 tat_b, tat_t;
	__u32 uid;

	if (ingress)
		SETUP("version: 1\ninterfaces:\n  - name: lo\n    ingress:\n"
		      "      - { name: r, " TOTAL_POLICE_RULE);
	else
		SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
		      "      - { name: r, " TOTAL_POLICE_RULE);
	prog = ingress ? E.in : E.eg;
	uid = uid_of(ingress ? "lo/ingress/r/src" : "lo/egress/r/src");
	r = rule_of(uid);
	CHECK(r.flags & TCS_RF_TOTAL);
	fresh_period();
	CHECK_INT(tx(prog, &a), PASS);
	CHECK_INT(tx(prog, &a), PASS);
	CHECK_INT(tx(prog, &a), DROP);	/* a's key: its burst is spent */
	CHECK_INT(tx(prog, &b), PASS);	/* the total's third packet */
	kb = key_make(uid, TCS_PER_SRC, &b);
	tat_b = key_state(&kb).tat;
	tat_t = total_state(uid).clock.tat;
	CHECK_INT(tx(prog, &b), DROP);	/* b's key has room, the total has none */
	CHECK_U64(key_state(&kb).tat, tat_b);
	CHECK_U64(key_state(&kb).packets, 1);
	CHECK_U64(key_state(&kb).dropped, 1);
	ts = total_state(uid);
	/* the total as read from the rule's info: 1500 B at 150 kbit/s, 80 ms (to the ns) */
	CHECK_U64((compile_bytes_ns(1500, ts.total_mult, ts.total_shift) + 500) / 1000, 80000);
	CHECK_U64(ts.clock.tat, tat_t);
	CHECK_U64(ts.clock.dropped, 1);	/* the total's refusals, not the keys' */
	CHECK_U64(rst_get(uid).pass, 3);
	CHECK_U64(rst_get(uid).drop, 2);
	env_down();
	return 0;
}

static int test_total_police(void)
{
	return total_police_case(0);
}

static int test_total_police_ingress(void)
{
	return total_police_case(1);
}

/*
 * The fair share: keys counted in one period set the next period's share.
 * Three new keys (busy: a newcomer wants a full share) under 1.5 Mbit/s:
 * 500 kbit/s each from the next period on, below their 1 Mbit/s rate.
 */
static int test_total_share(void)
{
	struct fr f[3] = { { .len = 100 }, { .len = 100, .src = "198.18.0.9" },
			   { .len = 100, .src = "198.18.0.10" } };
	struct tcs_total_state ts;
	__u64 bps, kw, e;
	__u32 uid;
	int i;

	SETUP(TOTAL_POLICY(""));
	uid = uid_of("lo/egress/r/src");
	fresh_period();
	e = now_ns() / TCS_SHARE_PERIOD_NS;
	for (i = 0; i < 3; i++)
		CHECK_INT(tx(E.eg, &f[i]), PASS);
	ts = total_state(uid);
	CHECK_U64(total_key_bps(&ts, now_ns(), 1000000), 1000000);	/* not counted yet */
	while (now_ns() / TCS_SHARE_PERIOD_NS == e)	/* the next period, not one later */
		usleep(1000);
	e++;
	CHECK_INT(tx(E.eg, &f[0]), PASS);	/* computes this period's share */
	ts = total_state(uid);
	kw = ts.keys[(e - 1) & 1];
	CHECK_U64(kw & TCS_KEYS_MASK, 3);				/* active */
	CHECK_U64(kw >> TCS_TOTAL_KEYS_BITS & TCS_KEYS_MASK, 3);	/* busy */
	bps = total_key_bps(&ts, now_ns(), 1000000);
	if (bps < 499000 || bps > 501000)
		T_FAILED("share %llu bit/s, want 500000", (unsigned long long)bps);
	env_down();
	return 0;
}

/* A removed rule's totals go with it: tcs_totals is not preallocated, nothing else frees it. */
static int test_total_removed(void)
{
	struct fr a = { .len = 100 };

	SETUP(TOTAL_POLICY(""));
	CHECK_INT(tx(E.eg, &a), PASS);
	CHECK_INT(map_count(E.totals, sizeof(struct tcs_total_key)), 1);
	CHECK_INT(apply("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
			"      - { name: other, match: { dport: 5201 }, " FAST " }\n"), 0);
	CHECK_INT(map_count(E.totals, sizeof(struct tcs_total_key)), 0);
	env_down();
	return 0;
}

/* Pacing: a packet leaves at the later of its key's and its total's times. */
static int test_total_pace(void)
{
	struct fr a = { .len = 1500 }, b = { .len = 1500, .src = "198.18.0.9" };
	__u64 ts[4], t0;
	int i;

	SETUP(TOTAL_POLICY(", action: pace, max_delay: 1s"));
	fresh_period();
	build(frame, &a);
	for (i = 0; i < 3; i++)
		CHECK_INT(run_pace(frame, 1500, 0, &ts[i], NULL), PASS);
	CHECK_U64(ts[0], 0);
	CHECK_U64(ts[1], 0);
	/* a's third: its key (1mbit) holds it 12 ms; the total has it in its burst */
	t0 = now_ns();
	if (ts[2] < t0 || ts[2] > t0 + 12000000)
		T_FAILED("a's third departs %.3f ms from now, want within its key's 12 ms",
			 ((double)ts[2] - (double)t0) / 1e6);
	/* b's first: its key is full, the total is spent: held by the total (8 ms a packet) */
	build(frame, &b);
	CHECK_INT(run_pace(frame, 1500, 0, &ts[3], NULL), PASS);
	t0 = now_ns();
	if (ts[3] < t0 || ts[3] > t0 + 8000000)
		T_FAILED("b's first departs %.3f ms from now, want within the total's 8 ms",
			 ((double)ts[3] - (double)t0) / 1e6);
	env_down();
	return 0;
}

/*
 * key_prefix: per src keys cover /24 (IPv4) and /56 (IPv6) here; the
 * default IPv6 /64 is test_per_src_v6's. One source's burst spent, another
 * address in its prefix finds the same key; one outside has its own.
 */
static int prefix_case(int v6)
{
	struct fr f1 = { .v6 = v6, .len = 1000 }, in = f1, out = f1;
	struct tcs_key want[2];
	__u32 uid;

	SETUP("version: 1\ninterfaces:\n  - name: lo\n    egress:\n"
	      "      - { name: r, match: { dport: 5201 }, rate: 100kbit, burst: 2000, "
	      "per: src, key_prefix: { ipv4: 24, ipv6: 56 } }\n");
	uid = uid_of("lo/egress/r/src");
	in.src = v6 ? "2001:db8:0:ff:1::1" : "198.18.0.200";
	out.src = v6 ? "2001:db8:0:100::1" : "198.18.1.1";
	CHECK_INT(tx_n(&f1, 3), 2);
	CHECK_INT(tx_n(&in, 1), 0);	/* same prefix: the same, spent key */
	CHECK_INT(tx_n(&out, 1), 1);	/* its own */
	memset(want, 0, sizeof(want));
	want[0].uid = want[1].uid = uid;
	want[0].ifindex = want[1].ifindex = LO;
	want[0].family = want[1].family = v6 ? TCS_FAMILY_V6 : TCS_FAMILY_V4;
	addr(v6, v6 ? "2001:db8::" : "198.18.0.0", NULL, want[0].src);
	addr(v6, v6 ? "2001:db8:0:100::" : "198.18.1.0", NULL, want[1].src);
	CHECK_KEYS(want, 2);
	env_down();
	return 0;
}

static int test_key_prefix_v4(void)
{
	return prefix_case(0);
}

static int test_key_prefix_v6(void)
{
	return prefix_case(1);
}

static int test_load(void)
{
	if (geteuid() != 0)
		SKIP("needs root (euid %u)", geteuid());
	if (load_err)
		T_FAILED("cannot load the classifier on this kernel: %s (libbpf's log above)",
			 strerror(-load_err));
	return 0;
}

int main(void)
{
	libbpf_set_print(quiet_libbpf);
	setup();

	TEST(test_load);
	TEST(test_pace_departures);
	TEST(test_pace_horizon_drop);
	TEST(test_pace_keeps_later_tstamp);
	TEST(test_pace_ecn);
	TEST(test_match_fields);
	TEST(test_match_all_fields);
	TEST(test_first_match_port_then_prefix);
	TEST(test_first_match_prefix_then_port);
	TEST(test_first_match_port_then_prefix_v6);
	TEST(test_first_match_prefix_then_port_v6);
	TEST(test_nested_prefixes);
	TEST(test_nested_prefixes_v6);
	TEST(test_nested_prefixes_wide_first);
	TEST(test_first_match_across_shapes);
	TEST(test_per_flow);
	TEST(test_per_flow_v6);
	TEST(test_per_src);
	TEST(test_per_src_v6);
	TEST(test_per_dst);
	TEST(test_per_dst_v6);
	TEST(test_total_police);
	TEST(test_total_police_ingress);
	TEST(test_total_share);
	TEST(test_total_removed);
	TEST(test_total_pace);
	TEST(test_key_prefix_v4);
	TEST(test_key_prefix_v6);
	TEST(test_per_rule);
	TEST(test_per_rule_mixed_families);
	TEST(test_per_flow_proto);
	TEST(test_port_ranges);
	TEST(test_sport_range_edges);
	TEST(test_vlan);
	TEST(test_l3_device);
	TEST(test_fragments_v4);
	TEST(test_fragments_v6);
	TEST(test_fragments_v6_after_ext);
	TEST(test_fragments_orphan_v4);
	TEST(test_fragments_orphan_v6);
	TEST(test_fragments_v6_dstopts_after_frag);
	TEST(test_fragments_v6_ah_after_frag);
	TEST(test_malformed);
	TEST(test_minimal_headers);
	TEST(test_l4_header_lengths);
	TEST(test_ipv6_ext_chain);
	TEST(test_ipv4_options);
	TEST(test_bucket_burst_and_refill);
	TEST(test_bucket_oversized_packet);
	TEST(test_bucket_tat);
	TEST(test_gso_v4);
	TEST(test_gso_v6);
	TEST(test_gso_dodgy);
	TEST(test_gso_tunnels);
	TEST(test_flow_cache);
	TEST(test_flow_dscp_known_key);
	TEST(test_flow_dscp_remark_other_rule);
	TEST(test_flow_dscp_remark_same_rule);
	TEST(test_flow_cache_off);
	TEST(test_flow_keys_census);
	TEST(test_ingress);
	TEST(test_ingress_only);
	TEST(test_charged_once_per_hook);
	TEST(test_keys_evicted);
	TEST(test_unbound_ifindex);
	TEST(test_big_ifindex);
	TEST(test_gate_exact);
	TEST(test_reload_keeps_state);
	TEST(test_restart_keeps_counters);
	TEST(test_rule_slots_spill);
	TEST(test_reload_flow_cache);
	TEST(test_sock_notes);
	TEST(test_reload_rate_only);
	TEST(test_rule_regions_move);
	TEST(test_rule_regions_restart);

	/* the netns, and the veth in it, go away with us */
	return tests_done("bpf-classifier");
}
