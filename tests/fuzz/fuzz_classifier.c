// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the loaded classifier under BPF_PROG_TEST_RUN (root) with
 * mutated frames, judged against a model of the documented verdicts
 * (docs/design.md "Odd packets", docs/policy.md): the verdict, which global
 * counter moved, and that only the rule the model picks is charged, with the
 * bytes the model computes. The model is written from the documents, not
 * from the classifier's code.
 *
 * One input is a few frames that share fragment state (a datagram's first
 * and later fragments, in any order), each a record:
 *	ctl (bit 0: L3 device, bit 1: ingress) | gso_segs | gso_size (2) |
 *	len (2, big-endian) | len bytes of frame
 * Every input starts from empty tcs_frags, tcs_flows and tcs_keys.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include "compile.h"
#include "maps.h"
#include "policy.h"
#include "tcshape.skel.h"
#include "tcshape_abi.h"

#define LO		1
#define MAX_FRAMES	8
#define MAX_FRAME	2048

/* ---- the policy, as a table the model reads and YAML the daemon reads --------- */

struct mrule {
	const char *name;
	int dir;		/* TCS_DIR_* */
	int proto;		/* -1: any */
	int sport_lo, sport_hi;	/* -1: any */
	int dport_lo, dport_hi;
	int dscp;		/* -1: any */
	const char *src, *dst;	/* prefix or NULL */
	const char *per;
	__u32 uid;
	__u32 slot;		/* its counters in tcs_rule_stats */
};

static struct mrule rules[] = {
	{ "e0", TCS_DIR_EGRESS, 6, -1, -1, 443, 443, -1, NULL, NULL, "flow", 0, 0 },
	{ "e1", TCS_DIR_EGRESS, -1, 1000, 2000, -1, -1, -1, "198.18.0.0/24", NULL, "src", 0, 0 },
	{ "e2", TCS_DIR_EGRESS, 17, -1, -1, -1, -1, -1, NULL, "2001:db8::/64", "dst", 0, 0 },
	{ "e3", TCS_DIR_EGRESS, -1, -1, -1, -1, -1, 46, NULL, NULL, "rule", 0, 0 },
	{ "e4", TCS_DIR_EGRESS, -1, -1, -1, 53, 53, -1, NULL, NULL, "flow", 0, 0 },
	{ "e5", TCS_DIR_EGRESS, 1, -1, -1, -1, -1, -1, NULL, NULL, "rule", 0, 0 },
	/* ingress: no port rule, so orphans whose protocol is known are classified */
	{ "i0", TCS_DIR_INGRESS, -1, -1, -1, -1, -1, -1, "198.18.0.0/16", NULL, "src", 0, 0 },
	{ "i1", TCS_DIR_INGRESS, 17, -1, -1, -1, -1, -1, NULL, NULL, "flow", 0, 0 },
	{ "i2", TCS_DIR_INGRESS, -1, -1, -1, -1, -1, -1, NULL, "2001:db8::/32", "dst", 0, 0 },
	{ "i3", TCS_DIR_INGRESS, -1, -1, -1, -1, -1, 10, NULL, NULL, "rule", 0, 0 },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static void yaml_rules(char *buf, size_t n, int dir)
{
	size_t i, o = strlen(buf);

	for (i = 0; i < NRULES; i++) {
		const struct mrule *r = &rules[i];
		char m[256] = "";
		size_t k = 0;

		if (r->dir != dir)
			continue;
		if (r->proto >= 0)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "proto: %d, ", r->proto);
		if (r->sport_lo >= 0)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "sport: \"%d-%d\", ", r->sport_lo,
					      r->sport_hi);
		if (r->dport_lo >= 0)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "dport: \"%d-%d\", ", r->dport_lo,
					      r->dport_hi);
		if (r->dscp >= 0)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "dscp: %d, ", r->dscp);
		if (r->src)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "src: \"%s\", ", r->src);
		if (r->dst)
			k += (size_t)snprintf(m + k, sizeof(m) - k, "dst: \"%s\", ", r->dst);
		if (k >= 2)
			m[k - 2] = '\0';
		o += (size_t)snprintf(buf + o, n - o,
				      "      - { name: %s, match: { %s }, rate: 100gbit, "
				      "burst: 100mb, per: %s, action: drop }\n",
				      r->name, m, r->per);
	}
}

/* ---- the model ------------------------------------------------------------------ */

enum { V_PASS, V_DROP };
enum { S_NONE = -1 };

struct mpkt {
	int family;		/* 4, 6 */
	int proto;
	int dscp;
	int frag;		/* 0 none, 1 first, 2 later */
	int no_ports, no_proto;
	unsigned sport, dport;
	uint32_t id;
	uint8_t src[16], dst[16];
	uint32_t hdr_len;
};

struct mfrag {
	int family, kproto;
	uint32_t id;
	uint8_t src[16], dst[16];
	int proto;
	unsigned sport, dport;
};

static struct mfrag mfrags[MAX_FRAMES];
static int n_mfrags;

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static int ports_proto(int p)
{
	return p == 6 || p == 17 || p == 132 || p == 136;
}

static int is_ext(int nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44;
}

/*
 * docs/design.md "Odd packets": returns the stat the frame raises for a
 * parse verdict (TCS_STAT_NOT_IP, _MALFORMED) or -1 and fills *p.
 */
static int model_parse(const uint8_t *d, size_t len, int l3, struct mpkt *p)
{
	size_t off = 14;
	unsigned et;
	int i;

	memset(p, 0, sizeof(*p));
	if (l3) {
		/* skb->protocol, as BPF_PROG_TEST_RUN's eth_type_trans() sets it */
		et = rd16(d + 12);
		off = 0;
	} else {
		et = rd16(d + 12);
		for (i = 0; i < 2 && (et == 0x8100 || et == 0x88a8); i++) {
			if (off + 4 > len)
				return TCS_STAT_NOT_IP;
			et = rd16(d + off + 2);
			off += 4;
		}
	}
	if (et == 0x0800) {
		size_t ihl;
		unsigned fo;

		if (off + 20 > len)
			return TCS_STAT_MALFORMED;
		ihl = (size_t)(d[off] & 0xf) * 4;
		if (d[off] >> 4 != 4 || ihl < 20)
			return TCS_STAT_MALFORMED;
		if (off + ihl > len)	/* options cut short: the header is */
			return TCS_STAT_MALFORMED;
		p->family = 4;
		p->proto = d[off + 9];
		p->dscp = d[off + 1] >> 2;
		memcpy(p->src, d + off + 12, 4);
		memcpy(p->dst, d + off + 16, 4);
		fo = rd16(d + off + 6);
		p->frag = fo & 0x1fff ? 2 : fo & 0x2000 ? 1 : 0;
		p->id = rd16(d + off + 4);
		off += ihl;
	} else if (et == 0x86dd) {
		int nh;

		if (off + 40 > len || d[off] >> 4 != 6)
			return TCS_STAT_MALFORMED;
		p->family = 6;
		p->dscp = ((d[off] & 0xf) << 2) | (d[off + 1] >> 6);
		memcpy(p->src, d + off + 8, 16);
		memcpy(p->dst, d + off + 24, 16);
		nh = d[off + 6];
		off += 40;
		for (i = 0; is_ext(nh); i++) {
			size_t hl;

			if (i == 8)
				return TCS_STAT_MALFORMED;	/* more than 8 */
			if (nh == 44) {
				unsigned fo;

				if (off + 8 > len)
					return TCS_STAT_MALFORMED;
				fo = rd16(d + off + 2);
				memcpy(&p->id, d + off + 4, 4);
				p->id = ntohl(p->id);
				if (fo & 0xfff8) {
					/* later fragment: payload from here on */
					p->frag = 2;
					p->proto = d[off];
					p->hdr_len = (uint32_t)(off + 8);
					if (is_ext(p->proto))
						p->no_proto = p->no_ports = 1;
					else
						p->no_ports = ports_proto(p->proto);
					return -1;
				}
				if (fo & 1)
					p->frag = 1;
				hl = 8;
			} else {
				if (off + 2 > len)
					return TCS_STAT_MALFORMED;
				hl = nh == 51 ? ((size_t)d[off + 1] + 2) * 4 : ((size_t)d[off + 1] + 1) * 8;
				if (off + hl > len)	/* an extension header cut short */
					return TCS_STAT_MALFORMED;
			}
			nh = d[off];
			off += hl;
		}
		p->proto = nh;
	} else {
		return TCS_STAT_NOT_IP;
	}
	p->hdr_len = (uint32_t)off;
	if (p->frag == 2) {
		p->no_ports = ports_proto(p->proto);
		return -1;
	}
	if (!ports_proto(p->proto))
		return -1;
	{
		size_t min = p->proto == 6 ? 20 : p->proto == 132 ? 12 : 8;

		if (off + min > len)
			return TCS_STAT_MALFORMED;
	}
	p->sport = rd16(d + off);
	p->dport = rd16(d + off + 2);
	if (p->proto == 6)
		p->hdr_len = (uint32_t)(off + (d[off + 12] >> 4) * 4);
	else if (p->proto == 17 || p->proto == 136)
		p->hdr_len = (uint32_t)(off + 8);
	return -1;
}

static int match_addr(const char *pfx, const struct mpkt *p, const uint8_t *addr)
{
	char a[64];
	uint8_t net[16];
	const char *slash = strchr(pfx, '/');
	int bits, fam, i;

	snprintf(a, sizeof(a), "%.*s", (int)(slash - pfx), pfx);
	fam = strchr(a, ':') ? 6 : 4;
	if (fam != p->family)
		return 0;
	inet_pton(fam == 6 ? AF_INET6 : AF_INET, a, net);
	bits = atoi(slash + 1);
	for (i = 0; i < bits; i++)
		if ((net[i / 8] ^ addr[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/* docs/policy.md: first match wins; ports imply the port protocols */
static int model_classify(const struct mpkt *p, int dir)
{
	size_t i;

	for (i = 0; i < NRULES; i++) {
		const struct mrule *r = &rules[i];
		int has_ports = r->sport_lo >= 0 || r->dport_lo >= 0;

		if (r->dir != dir)
			continue;
		if (r->proto >= 0 && p->proto != r->proto)
			continue;
		if (has_ports && r->proto < 0 && !ports_proto(p->proto))
			continue;
		if (r->sport_lo >= 0 && (p->sport < (unsigned)r->sport_lo ||
					 p->sport > (unsigned)r->sport_hi))
			continue;
		if (r->dport_lo >= 0 && (p->dport < (unsigned)r->dport_lo ||
					 p->dport > (unsigned)r->dport_hi))
			continue;
		if (r->dscp >= 0 && p->dscp != r->dscp)
			continue;
		if (r->src && !match_addr(r->src, p, p->src))
			continue;
		if (r->dst && !match_addr(r->dst, p, p->dst))
			continue;
		return (int)i;
	}
	return -1;
}

static struct mfrag *mfrag_find(const struct mpkt *p)
{
	int i, kproto = p->family == 4 ? p->proto : 0;

	for (i = 0; i < n_mfrags; i++)
		if (mfrags[i].family == p->family && mfrags[i].kproto == kproto &&
		    mfrags[i].id == p->id && !memcmp(mfrags[i].src, p->src, 16) &&
		    !memcmp(mfrags[i].dst, p->dst, 16))
			return &mfrags[i];
	return NULL;
}

/* Does the direction's ruleset constrain a field? */
static int ruleset_has(int dir, int ports, int proto)
{
	size_t i;

	for (i = 0; i < NRULES; i++) {
		const struct mrule *r = &rules[i];

		if (r->dir != dir)
			continue;
		if (ports && (r->sport_lo >= 0 || r->dport_lo >= 0))
			return 1;
		if (proto && (r->proto >= 0 || r->sport_lo >= 0 || r->dport_lo >= 0))
			return 1;
	}
	return 0;
}

/*
 * docs/design.md "What is charged": a tunnel's GSO packet repeats its outer,
 * tunnel and inner headers in every segment; 0 when not a tunnel packet or
 * its inner headers cannot be read.
 */
static uint32_t model_tunnel(const uint8_t *d, size_t len, const struct mpkt *p)
{
	size_t off = p->hdr_len;
	unsigned et, proto;
	int eth = 0;

	if (p->frag)
		return 0;
	if (p->proto == 17 && p->dport == 4789) {
		off += 8;
		eth = 1;
	} else if (p->proto == 17 && p->dport == 6081) {
		if (off + 4 > len)
			return 0;
		et = rd16(d + off + 2);
		off += 8 + (d[off] & 0x3f) * 4;
		eth = et == 0x6558;
	} else if (p->proto == 47) {
		if (off + 4 > len)
			return 0;
		et = rd16(d + off + 2);
		off += 4 + (d[off] & 0x80 ? 4 : 0) + (d[off] & 0x20 ? 4 : 0) +
		       (d[off] & 0x10 ? 4 : 0);
		eth = et == 0x6558;
	} else if (p->proto == 4) {
		et = 0x0800;
	} else if (p->proto == 41) {
		et = 0x86dd;
	} else {
		return 0;
	}
	if (eth) {
		if (off + 14 > len)
			return 0;
		et = rd16(d + off + 12);
		off += 14;
	}
	if (et == 0x0800) {
		if (off + 10 > len)
			return 0;
		proto = d[off + 9];
		off += (d[off] & 0xf) * 4;
	} else if (et == 0x86dd) {
		if (off + 7 > len)
			return 0;
		proto = d[off + 6];
		off += 40;
	} else {
		return 0;
	}
	if (proto == 6) {
		if (off + 13 > len)
			return 0;
		off += (d[off + 12] >> 4) * 4;
	} else if (proto == 17) {
		off += 8;
	}
	return (uint32_t)off;
}

struct expect {
	int verdict;
	int stat;		/* global counter that moves, or S_NONE */
	int rule;		/* index into rules[] charged, or -1 */
	uint64_t bytes;
};

static struct expect model(const uint8_t *d, size_t len, int l3, int dir,
			   unsigned gso_segs, unsigned gso_size)
{
	struct expect e = { V_PASS, S_NONE, -1, 0 };
	struct mpkt p;
	struct mfrag *f;
	int orphan = 0;
	uint64_t segs = gso_segs, wire = len;

	e.stat = model_parse(d, len, l3, &p);
	if (e.stat == TCS_STAT_MALFORMED)
		e.verdict = V_DROP;
	if (e.stat != S_NONE)
		return e;
	if (p.frag == 1 && (p.family == 6 || ports_proto(p.proto))) {
		f = mfrag_find(&p);
		if (!f && n_mfrags < MAX_FRAMES)
			f = &mfrags[n_mfrags++];
		if (f) {
			f->family = p.family;
			f->kproto = p.family == 4 ? p.proto : 0;
			f->id = p.id;
			memcpy(f->src, p.src, 16);
			memcpy(f->dst, p.dst, 16);
			f->proto = p.proto;
			f->sport = p.sport;
			f->dport = p.dport;
		}
	} else if (p.frag == 2 && (p.no_ports || p.no_proto)) {
		f = mfrag_find(&p);
		if (f) {
			p.proto = f->proto;
			p.sport = f->sport;
			p.dport = f->dport;
		} else {
			orphan = 1;
			if (ruleset_has(dir, 1, p.no_proto)) {
				e.verdict = V_DROP;
				e.stat = TCS_STAT_FRAG_NO_FIRST;
				return e;
			}
		}
	}
	e.rule = model_classify(&p, dir);
	if (e.rule < 0) {
		e.stat = TCS_STAT_UNMATCHED;
		return e;
	}
	if (orphan && !strcmp(rules[e.rule].per, "flow")) {
		e.verdict = V_DROP;
		e.stat = TCS_STAT_FRAG_NO_FIRST;
		e.rule = -1;
		return e;
	}
	if (gso_size) {
		uint32_t th = model_tunnel(d, len, &p);

		if (th)
			p.hdr_len = th;
	}
	if (gso_size && len > p.hdr_len) {
		uint64_t need = (len - p.hdr_len + gso_size - 1) / gso_size;

		segs = need > segs ? need : segs;
	}
	if (segs > 1)
		wire += (segs - 1) * p.hdr_len;
	e.bytes = wire;
	return e;
}

/* ---- the classifier -------------------------------------------------------------- */

static struct tcshape_bpf *skel;
static struct maps *mp;
static int prog[TCS_DIR_NR], fd_stats, fd_rstats, fd_ifaces, fd_frags, fd_flows, fd_keys;
static int ncpus;
static struct tcs_iface bound[TCS_DIR_NR];	/* as the daemon bound lo */

static int __attribute__((format(printf, 2, 0)))
quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "fuzz_classifier: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void pol_err(void *ctx, const char *msg)
{
	fprintf(stderr, "policy: %s\n", msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char yaml[8192];
	struct policy *p = NULL;
	struct compiled *c = NULL;
	struct binding b[TCS_DIR_NR];
	struct bpf_map *map;
	size_t nb = 0, i;
	int dir, err;

	if (geteuid())
		die("needs root (BPF_PROG_TEST_RUN)", EPERM);
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)", errno);
	libbpf_set_print(quiet);
	skel = tcshape_bpf__open();
	if (!skel)
		die("open the classifier", errno);
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_map__set_max_entries(skel->maps.tcs_flows, 64);
	bpf_map__set_max_entries(skel->maps.tcs_keys, 64);
	bpf_map__set_max_entries(skel->maps.tcs_frags, 64);
	err = tcshape_bpf__load(skel);
	if (err)
		die("load the classifier", err);
	err = maps_open(skel, &mp);
	if (err)
		die("maps_open", err);

	snprintf(yaml, sizeof(yaml), "version: 1\ninterfaces:\n  - name: lo\n    egress:\n");
	yaml_rules(yaml, sizeof(yaml), TCS_DIR_EGRESS);
	strcat(yaml, "    ingress:\n");
	yaml_rules(yaml, sizeof(yaml), TCS_DIR_INGRESS);
	err = policy_parse("fuzz.yaml", yaml, strlen(yaml), &p, pol_err, NULL);
	if (!err)
		err = compile_policy(p, maps_current(mp), &c, pol_err, NULL);
	policy_free(p);
	if (err)
		die("the policy", err);
	for (dir = 0; dir < TCS_DIR_NR; dir++) {
		const struct cmp_ruleset *rs = compile_ruleset(c, 0, dir);

		if (rs)
			b[nb++] = (struct binding){ .ifindex = LO, .dir = dir,
						    .rs = (size_t)(rs - c->rs) };
	}
	err = maps_apply(mp, c, b, nb);
	if (err)
		die("maps_apply", err);
	for (i = 0; i < NRULES; i++) {
		char ident[64];
		size_t u;

		snprintf(ident, sizeof(ident), "lo/%s/%s/%s",
			 rules[i].dir == TCS_DIR_EGRESS ? "egress" : "ingress", rules[i].name,
			 rules[i].per);
		rules[i].uid = TCS_UID_NONE;
		for (u = 0; u < c->n_uids; u++)
			if (!strcmp(c->uids[u].ident, ident)) {
				rules[i].uid = c->uids[u].uid;
				rules[i].slot = c->uids[u].info.slot;
			}
		if (rules[i].uid == TCS_UID_NONE)
			die(ident, ENOENT);
	}
	prog[TCS_DIR_EGRESS] = bpf_program__fd(skel->progs.tcs_egress);
	prog[TCS_DIR_INGRESS] = bpf_program__fd(skel->progs.tcs_ingress);
	fd_stats = bpf_map__fd(skel->maps.tcs_stats);
	fd_rstats = bpf_map__fd(skel->maps.tcs_rule_stats);
	fd_ifaces = bpf_map__fd(skel->maps.tcs_ifaces);
	fd_frags = bpf_map__fd(skel->maps.tcs_frags);
	fd_flows = bpf_map__fd(skel->maps.tcs_flows);
	fd_keys = bpf_map__fd(skel->maps.tcs_keys);
	ncpus = libbpf_num_possible_cpus();
	for (dir = 0; dir < TCS_DIR_NR; dir++) {
		__u32 k = LO << 1 | (__u32)dir;	/* tcs_ifaces: LO < TCS_IFACES_DIRECT */
		struct tcs_iface v;

		if (bpf_map_lookup_elem(fd_ifaces, &k, &v))
			die("binding", errno);
		bound[dir] = v;
	}
	return 0;
}

static void map_clear(int fd, size_t key_size)
{
	__u8 k[64];

	while (!bpf_map_get_next_key(fd, NULL, k))
		if (bpf_map_delete_elem(fd, k))
			break;
	(void)key_size;
}

static __u64 stat_sum(__u32 idx)
{
	__u64 v[ncpus], s = 0;
	int i;

	if (bpf_map_lookup_elem(fd_stats, &idx, v))
		return 0;
	for (i = 0; i < ncpus; i++)
		s += v[i];
	return s;
}

struct rsum {
	__u64 packets, bytes;
};

static struct rsum rule_sum(__u32 slot)
{
	struct tcs_rule_stats v[ncpus];
	struct rsum s = { 0 };
	int i, j;

	if (bpf_map_lookup_elem(fd_rstats, &slot, v))
		return s;
	for (i = 0; i < ncpus; i++)
		for (j = 0; j < TCS_V_NR; j++) {
			s.packets += v[i].packets[j];
			s.bytes += v[i].bytes[j];
		}
	return s;
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_classifier: wrong verdict: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* One frame through the classifier, checked against the model. */
static void one(const uint8_t *frame, size_t len, int l3, int dir, unsigned segs, unsigned size,
		int n)
{
	__u32 ik = LO << 1 | (__u32)dir;
	/* the daemon's binding (its TCS_IF_DSCP too), on an L3 device if the frame says so */
	struct tcs_iface iv = { .ruleset = bound[dir].ruleset,
				.flags = (bound[dir].flags & ~TCS_IF_L3) | (l3 ? TCS_IF_L3 : 0) };
	struct __sk_buff ctx = { .gso_segs = segs, .gso_size = size };
	static __u8 out[MAX_FRAME + 64];
	__u64 st0[TCS_STAT_NR], st;
	struct rsum r0[NRULES], r;
	struct expect e;
	size_t i;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	if (bpf_map_update_elem(fd_ifaces, &ik, &iv, BPF_ANY))
		die("rebind", errno);
	for (i = 0; i < TCS_STAT_NR; i++)
		st0[i] = stat_sum((__u32)i);
	for (i = 0; i < NRULES; i++)
		r0[i] = rule_sum(rules[i].slot);
	if (bpf_prog_test_run_opts(prog[dir], &o)) {
		if (errno == EINVAL)
			return;		/* the kernel refused the frame itself */
		die("BPF_PROG_TEST_RUN", errno);
	}
	e = model(frame, len, l3, dir, segs, size);

	if ((int)o.retval != (e.verdict == V_DROP ? TC_ACT_SHOT : TC_ACT_UNSPEC))
		fail("frame %d (%zu bytes, %s, %s): verdict %d, the documents say %s", n, len,
		     l3 ? "L3" : "Ethernet", dir ? "egress" : "ingress", (int)o.retval,
		     e.verdict == V_DROP ? "drop" : "pass");
	for (i = 0; i < TCS_STAT_NR; i++) {
		if (i == TCS_STAT_CACHE_MISS)
			continue;
		st = stat_sum((__u32)i) - st0[i];
		/* not a packet counter: at most the one key of the rule charged */
		if (i == TCS_STAT_KEYS_CREATED) {
			if (st > (e.rule >= 0))
				fail("frame %d: %llu limiter keys created for rule %d", n,
				     (unsigned long long)st, e.rule);
			continue;
		}
		if (st != ((int)i == e.stat))
			fail("frame %d (%zu bytes, %s, %s): counter %zu moved by %llu, the model "
			     "expects counter %d",
			     n, len, l3 ? "L3" : "Ethernet", dir ? "egress" : "ingress", i,
			     (unsigned long long)st, e.stat);
	}
	for (i = 0; i < NRULES; i++) {
		r = rule_sum(rules[i].slot);
		if ((int)i == e.rule) {
			if (r.packets != r0[i].packets + 1 || r.bytes != r0[i].bytes + e.bytes)
				fail("frame %d: rule %s charged %llu packets, %llu bytes; want 1, "
				     "%llu",
				     n, rules[i].name, (unsigned long long)(r.packets - r0[i].packets),
				     (unsigned long long)(r.bytes - r0[i].bytes),
				     (unsigned long long)e.bytes);
		} else if (r.packets != r0[i].packets) {
			fail("frame %d: rule %s charged for a frame it does not match (the model "
			     "picks %s)",
			     n, rules[i].name, e.rule >= 0 ? rules[e.rule].name : "none");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static __u8 frame[MAX_FRAME];
	int n = 0;

	map_clear(fd_frags, sizeof(struct tcs_frag_key));
	map_clear(fd_flows, sizeof(struct tcs_flow_key));
	map_clear(fd_keys, sizeof(struct tcs_key));
	n_mfrags = 0;
	while (size >= 6 && n < MAX_FRAMES) {
		unsigned ctl = data[0], segs = data[1], gso = rd16(data + 2), len = rd16(data + 4);

		data += 6;
		size -= 6;
		if (len > size)
			len = (unsigned)size;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		if (len < 14)
			break;
		memcpy(frame, data, len);
		one(frame, len, ctl & 1, ctl & 2 ? TCS_DIR_INGRESS : TCS_DIR_EGRESS, segs, gso, n);
		data += len;
		size -= len;
		n++;
	}
	return 0;
}
