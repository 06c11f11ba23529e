// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, in-kernel part: ns/packet of the real classifier under
 * BPF_PROG_TEST_RUN against a do-nothing tc program measured in the same
 * rounds (interleaved, medians); how long parse, compile and publish of the
 * 10,000-rule / 100,000-prefix policy take, first and for a one-rule change;
 * kernel bytes per limiter key from the maps' own accounting (fdinfo memlock).
 * Prints tables; with --json FILE also writes the figures for build/bench.json.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcshape.skel.h"
#include "compile.h"
#include "maps.h"
#include "policy.h"

#define MAX_ROUNDS 15
#define FRAME_LEN  1514 /* a full-size Ethernet frame: 1500 bytes of IP */

static int repeat = 100000, rounds = 7;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const unsigned char dst4[4] = {198, 18, 0, 7};

/* A 1514-byte TCP frame, IPv4 to dst4 or IPv6 to dst6, to dport. */
static size_t frame(unsigned char *buf, int v6, const unsigned char *dst6, unsigned short dport)
{
	struct ethhdr *eth = (void *)buf;
	struct tcphdr *tcp;

	memset(buf, 0, FRAME_LEN);
	if (v6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = IPPROTO_TCP;
		ip6->payload_len = htons(FRAME_LEN - sizeof(*eth) - sizeof(*ip6));
		ip6->hop_limit = 64;
		inet_pton(AF_INET6, "2001:db8::1", &ip6->saddr);
		memcpy(&ip6->daddr, dst6, 16);
		tcp = (void *)(ip6 + 1);
	} else {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->tot_len = htons(FRAME_LEN - sizeof(*eth));
		ip->frag_off = htons(0x4000); /* DF, as TCP sends */
		/* a source no rule of the generated policies names (their src rules are
		 * 198.18.x/24) */
		inet_pton(AF_INET, "198.19.255.1", &ip->saddr);
		memcpy(&ip->daddr, dst4, 4);
		tcp = (void *)(ip + 1);
	}
	tcp->source = htons(40000);
	tcp->dest = htons(dport);
	tcp->doff = 5;
	tcp->ack = 1;
	return FRAME_LEN;
}

/*
 * nrules rules, nprefixes IPv6 dst prefixes spread over them (distinct /64s
 * in 2001:db8::/32), each with its own dport; every 50th rule is src-only and
 * every 100th proto+dscp, so there are several shapes. The packets the bench
 * sends match the LAST rule (per: flow; it also lists an IPv4 prefix): a
 * linear scan's worst case. change_rule >= 0 gives that rule another rate.
 */
static char *gen_policy(int nrules, int nprefixes, int change_rule, unsigned char *dst6,
			unsigned short *dport)
{
	size_t cap = (size_t)nprefixes * 40 + (size_t)nrules * 200 + 4096, n = 0;
	char *y = malloc(cap);
	int r, k, pfx = 0, ndst = 0, per;

	if (!y)
		return NULL;
	for (r = 0; r < nrules; r++)
		ndst += !((r % 100 == 99 || r % 50 == 49) && r != nrules - 1);
	per = (nprefixes + ndst - 1) / ndst;

	n += sprintf(y + n, "version: 1\nsettings: { max_keys: 65536 }\ninterfaces:\n"
			    "  - name: lo\n    egress:\n");
	for (r = 0; r < nrules; r++) {
		unsigned short port = 1024 + (unsigned short)(r % 60000);

		n += sprintf(y + n, "      - name: r%d\n        rate: %dmbit\n        per: flow\n",
			     r, 1 + r % 900 + (r == change_rule) * 1000);
		if (r % 100 == 99 && r != nrules - 1) {
			n += sprintf(y + n, "        match: { proto: tcp, dscp: %d }\n", r % 64);
			continue;
		}
		if (r % 50 == 49 && r != nrules - 1) {
			n += sprintf(y + n, "        match: { src: \"198.%d.%d.0/24\" }\n",
				     18 + (r >> 16 & 1), r >> 8 & 255);
			continue;
		}
		n += sprintf(y + n, "        match:\n          dport: %u\n          dst: [", port);
		for (k = 0; k < per && (k == 0 || pfx < nprefixes); k++, pfx++)
			n += sprintf(y + n, "%s\"2001:db8:%x:%x::/64\"", k ? ", " : "", pfx >> 16,
				     pfx & 0xffff);
		if (r == nrules - 1) {
			n += sprintf(y + n, ", \"198.18.0.0/24\"");
			memset(dst6, 0, 16);
			dst6[0] = 0x20, dst6[1] = 0x01, dst6[2] = 0x0d, dst6[3] = 0xb8;
			dst6[4] = (pfx - 1) >> 24, dst6[5] = (pfx - 1) >> 16;
			dst6[6] = (pfx - 1) >> 8, dst6[7] = (pfx - 1) & 0xff;
			dst6[15] = 7;
			*dport = port;
		}
		n += sprintf(y + n, "]\n");
	}
	y[n] = 0;
	return y;
}

/* y with a total on its first rule (twice its rate): the total's charge beside the key's. */
static char *with_total(const char *y)
{
	const char *at = strstr(y, "        per: flow\n");
	char *t = malloc(strlen(y) + 32);
	size_t head;

	if (!at || !t) {
		free(t);
		return NULL;
	}
	head = (size_t)(at - y);
	memcpy(t, y, head);
	strcpy(t + head, "        total: 2mbit\n");
	strcat(t, at);
	return t;
}

/*
 * --write-policy FILE IFNAME CHANGED: the big policy for the daemon's reload
 * bench (scripts/bench.sh), on IFNAME, with rule CHANGED's rate changed (-1:
 * none), so that the daemon reads what publish() is timed on here.
 */
static int write_policy(const char *file, const char *ifname, int changed, int nrules,
			int nprefixes)
{
	unsigned char d6[16];
	unsigned short port;
	char *y = gen_policy(nrules, nprefixes, changed, d6, &port);
	const char *at = y ? strstr(y, "name: lo\n") : NULL;
	FILE *f;
	int err;

	if (!at)
		return 1;
	f = fopen(file, "w");
	if (!f) {
		perror(file);
		return 1;
	}
	fprintf(f, "%.*sname: %s\n%s", (int)(at - y), y, ifname, at + strlen("name: lo\n"));
	err = fclose(f);
	free(y);
	return err ? 1 : 0;
}

struct loaded {
	struct tcshape_bpf *skel;
	struct maps *maps;
	double t_parse, t_compile, t_apply, t_collect;
	size_t n_match, n_cls;
};

static const struct binding lo_egress = {.ifindex = 1, .dir = TCS_DIR_EGRESS, .rs = 0};

/*
 * Parse, compile and publish yaml into L's maps (in force: the flip), then
 * delete what it replaced (maps_collect()), timing each step.
 */
static int publish(struct loaded *L, const char *yaml)
{
	struct compiled *c = NULL;
	struct policy *p = NULL;
	double t0;
	int err;

	t0 = now_s();
	if ((err = policy_parse("bench.yaml", yaml, strlen(yaml), &p, NULL, NULL)))
		return err;
	L->t_parse = now_s() - t0;
	t0 = now_s();
	err = compile_policy(p, maps_current(L->maps), &c, NULL, NULL);
	policy_free(p);
	if (err)
		return err;
	L->t_compile = now_s() - t0;
	L->n_match = c->rs[0].n_match;
	L->n_cls = c->rs[0].n_cls;
	t0 = now_s();
	if ((err = maps_publish(L->maps, c, &lo_egress, 1))) {
		compile_free(c);
		return err;
	}
	L->t_apply = now_s() - t0;
	t0 = now_s();
	maps_collect(L->maps);
	L->t_collect = now_s() - t0;
	return 0;
}

static int load(struct loaded *L, bool cache, unsigned int max_keys, const char *yaml)
{
	struct bpf_map *map;
	int err;

	memset(L, 0, sizeof(*L));
	L->skel = tcshape_bpf__open();
	if (!L->skel)
		return -errno;
	bpf_object__for_each_map(map, L->skel->obj) bpf_map__set_pin_path(map, NULL);
	L->skel->rodata->flow_cache = cache;
	bpf_map__set_max_entries(L->skel->maps.tcs_flows, max_keys);
	bpf_map__set_max_entries(L->skel->maps.tcs_keys, TCS_KEYS_ENTRIES(max_keys));
	bpf_map__set_max_entries(L->skel->maps.tcs_socks, TCS_SOCKS_ENTRIES(max_keys));
	bpf_map__set_max_entries(L->skel->maps.tcs_rule_stats,
				 TCS_STAT_SLOTS_ARRAY(libbpf_num_possible_cpus()));
	if ((err = tcshape_bpf__load(L->skel)) || (err = maps_open(L->skel, &L->maps)))
		return err;
	return yaml ? publish(L, yaml) : 0;
}

static void unload(struct loaded *L)
{
	maps_close(L->maps);
	tcshape_bpf__destroy(L->skel);
}

/* ---- ns per packet ----------------------------------------------------------- */

struct pcase {
	const char *name;
	int fd;
	const unsigned char *pkt;
	double ns[MAX_ROUNDS], ratio[MAX_ROUNDS];
};

/*
 * BPF_PROG_TEST_RUN hands the same skb to every one of its runs, and the
 * classifier marks the skb it charged (charged_here(): once per hook), so
 * from the second run on a matched packet would only find its mark. Each
 * case runs behind a wrapper that clears the mark, as a fresh skb has none,
 * and tail-calls the program measured; the empty program runs behind the
 * same wrapper, so the ratio compares like with like.
 */
static int wrap(int target_fd)
{
	struct bpf_insn w[] = {
	    {.code = 0xb7, .dst_reg = 2, .imm = 0}, /* r2 = 0 */
	    {.code = 0x63, .dst_reg = 1, .src_reg = 2,
	     .off = offsetof(struct __sk_buff, cb[0])}, /* skb->cb[0] = r2 */
	    {.code = 0x18, .dst_reg = 2, .src_reg = BPF_PSEUDO_MAP_FD}, /* r2 = prog array */
	    {0},
	    {.code = 0xb7, .dst_reg = 3, .imm = 0},	       /* r3 = 0 */
	    {.code = 0x85, .imm = BPF_FUNC_tail_call},       /* tail call */
	    {.code = 0xb7, .dst_reg = 0, .imm = TC_ACT_UNSPEC}, /* r0 = -1: not reached */
	    {.code = 0x95},				       /* exit */
	};
	int map, fd;
	__u32 k = 0;

	map = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "bench_tail", 4, 4, 1, NULL);
	if (map < 0 || bpf_map_update_elem(map, &k, &target_fd, BPF_ANY)) {
		perror("bench: prog array");
		exit(1);
	}
	w[2].imm = map;
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "bench_wrap", "GPL", w,
			   sizeof(w) / sizeof(w[0]), NULL);
	if (fd < 0) {
		perror("bench: load wrapper");
		exit(1);
	}
	/* map stays open: a prog array is emptied when its last fd closes */
	return fd;
}

static double run_once(int fd, const void *pkt)
{
	struct __sk_buff ctx = {0};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = FRAME_LEN, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "test run: %s\n", strerror(errno));
		exit(1);
	}
	return o.duration;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median, min, max of v[0..n) */
static void stats(const double *v, int n, double *med, double *lo, double *hi)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), dbl_cmp);
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	*lo = s[0];
	*hi = s[n - 1];
}

/*
 * Every round runs every case once, the empty program first: a ratio is
 * taken against the empty program of its own round, so load that comes and
 * goes on a shared machine hits numerator and denominator alike.
 */
static void measure(struct pcase *pc, int n)
{
	int r, i;

	for (i = 0; i < n; i++) { /* warm: fill flow cache and limiter keys */
		pc[i].fd = wrap(pc[i].fd);
		run_once(pc[i].fd, pc[i].pkt);
	}
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++)
			pc[i].ns[r] = run_once(pc[i].fd, pc[i].pkt);
		for (i = 0; i < n; i++)
			pc[i].ratio[r] = pc[i].ns[r] / pc[0].ns[r];
	}
}

static FILE *js;

static void json_num(const char *key, double v, int last)
{
	if (js)
		fprintf(js, "    \"%s\": %.6g%s\n", key, v, last ? "" : ",");
}

/* ---- memory ------------------------------------------------------------------ */

static long long memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Connection ID's 5-tuple (TCP from 0.0.0.ID to port 80) into a limiter or flow key. */
#define FILL_TUPLE(k, id)                      \
	do {                                   \
		(k).family = 4;                \
		(k).proto = IPPROTO_TCP;       \
		(k).sport = (__u16)(id);       \
		(k).dport = 80;                \
		memcpy((k).src, &(id), 4);     \
	} while (0)

/*
 * Fill tcs_flows with n distinct per-flow keys from user space (a per: flow
 * key lives in its flow's entry), then read each map's own accounting: the
 * flow entry an active flow holds, and its share of tcs_keys (the shared
 * keys' table) and tcs_socks, both sized by max_keys. Returns bytes per key,
 * or -1.
 */
static double bytes_per_key(unsigned int n, double *keys_b, double *flows_b, double *socks_b)
{
	const unsigned int batch = 4096;
	struct tcs_flow_key *fk = calloc(batch, sizeof(*fk));
	struct tcs_flow *fv = calloc(batch, sizeof(*fv));
	struct loaded L;
	unsigned int i, j;
	double ret = -1;
	long long mk, mf, ms;

	if (!fk || !fv || load(&L, true, n, NULL))
		goto out;
	for (i = 0; i < n; i += batch) {
		__u32 cnt = n - i < batch ? n - i : batch;

		for (j = 0; j < cnt; j++) {
			__u32 id = i + j;

			fk[j].ifindex = 1;
			FILL_TUPLE(fk[j], id);
			fv[j] = (struct tcs_flow){ .ruleset = 1, .uid = 1 };	/* tcs_rules slot 0 */
		}
		if (bpf_map_update_batch(bpf_map__fd(L.skel->maps.tcs_flows), fk, fv, &cnt, NULL)) {
			fprintf(stderr, "fill %u keys: %s\n", n, strerror(errno));
			unload(&L);
			goto out;
		}
	}
	mk = memlock(bpf_map__fd(L.skel->maps.tcs_keys));
	mf = memlock(bpf_map__fd(L.skel->maps.tcs_flows));
	ms = memlock(bpf_map__fd(L.skel->maps.tcs_socks));
	unload(&L);
	if (mk < 0 || mf < 0 || ms < 0)
		goto out;
	*keys_b = (double)mk / n;
	*flows_b = (double)mf / n;
	*socks_b = (double)ms / n;
	ret = *keys_b + *flows_b + *socks_b;
out:
	free(fk);
	free(fv);
	return ret;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct bpf_insn nop[] = {
	    {.code = 0xb7, .dst_reg = 0, .imm = TC_ACT_UNSPEC}, /* r0 = -1 */
	    {.code = 0x95},					/* exit */
	};
	static unsigned char p4[FRAME_LEN], p6[FRAME_LEN], p4s[FRAME_LEN], p6s[FRAME_LEN],
	    pun[FRAME_LEN];
	int nrules = 10000, nprefixes = 100000, nop_fd, i, quick = 0;
	unsigned int mem_n[2] = {10000, 1000000};
	unsigned char d6s[16], d6b[16];
	unsigned short ps, pb;
	struct loaded S, Sm, B, Bm, St;
	const char *json = NULL;
	struct rusage ru;
	double t_one_parse, t_one_compile, t_one_apply, t_one_collect;
	char *ys, *yb, *yb2, *yst;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--write-policy") && i + 3 < argc)
			return write_policy(argv[i + 1], argv[i + 2], atoi(argv[i + 3]), nrules,
					    nprefixes);
	}
	if (quick)
		rounds = 5, repeat = 50000;
	if (geteuid()) {
		printf("bench-classifier: needs root\n");
		return 0;
	}
	nop_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nop", "GPL", nop, 2, NULL);
	if (nop_fd < 0) {
		perror("load nop");
		return 1;
	}
	ys = gen_policy(1, 1, -1, d6s, &ps);
	yb = gen_policy(nrules, nprefixes, -1, d6b, &pb);
	yb2 = gen_policy(nrules, nprefixes, nrules / 2, d6b, &pb);
	yst = ys ? with_total(ys) : NULL;
	if (!ys || !yb || !yb2 || !yst)
		return 1;
	frame(p4s, 0, d6s, ps);
	frame(p6s, 1, d6s, ps);
	frame(p4, 0, d6b, pb);
	frame(p6, 1, d6b, pb);
	frame(pun, 0, d6b, 9); /* port 9: no rule's */

	if (load(&S, true, 65536, ys) || load(&Sm, false, 65536, ys) || load(&B, true, 65536, yb) ||
	    load(&Bm, false, 65536, yb) || load(&St, true, 65536, yst)) {
		fprintf(stderr, "bench: load failed\n");
		return 1;
	}

	{
		struct pcase pc[] = {
		    {.name = "empty tc program (the baseline)", .fd = nop_fd, .pkt = p4},
		    {.name = "hook with no binding",
		     .fd = bpf_program__fd(S.skel->progs.tcs_ingress),
		     .pkt = p4s},
		    {.name = "unmatched, bound hook, 1 rule",
		     .fd = bpf_program__fd(S.skel->progs.tcs_egress),
		     .pkt = pun},
		    {.name = "unmatched, bound hook, 10k rules",
		     .fd = bpf_program__fd(B.skel->progs.tcs_egress),
		     .pkt = pun},
		    {.name = "known key IPv4, 1 rule",
		     .fd = bpf_program__fd(S.skel->progs.tcs_egress),
		     .pkt = p4s},
		    {.name = "known key IPv4, 10k rules",
		     .fd = bpf_program__fd(B.skel->progs.tcs_egress),
		     .pkt = p4},
		    {.name = "known key IPv6, 1 rule",
		     .fd = bpf_program__fd(S.skel->progs.tcs_egress),
		     .pkt = p6s},
		    {.name = "known key IPv6, 10k rules",
		     .fd = bpf_program__fd(B.skel->progs.tcs_egress),
		     .pkt = p6},
		    {.name = "classified IPv4, 1 rule",
		     .fd = bpf_program__fd(Sm.skel->progs.tcs_egress),
		     .pkt = p4s},
		    {.name = "classified IPv4, 10k rules",
		     .fd = bpf_program__fd(Bm.skel->progs.tcs_egress),
		     .pkt = p4},
		    {.name = "classified IPv6, 1 rule",
		     .fd = bpf_program__fd(Sm.skel->progs.tcs_egress),
		     .pkt = p6s},
		    {.name = "classified IPv6, 10k rules",
		     .fd = bpf_program__fd(Bm.skel->progs.tcs_egress),
		     .pkt = p6},
		    {.name = "known key IPv4, 1 rule with a total",
		     .fd = bpf_program__fd(St.skel->progs.tcs_egress),
		     .pkt = p4s},
		};
		int n = sizeof(pc) / sizeof(pc[0]);
		double med[16], lo, hi, rmed[16], rlo, rhi;

		measure(pc, n);
		printf("policies: 1 rule / 1 prefix, and %d rules / %d prefixes -> %zu class "
		       "prefixes, %zu shape-table entries; the packets (1514-byte TCP) match the "
		       "LAST rule (per: flow)\n",
		       nrules, nprefixes, B.n_cls, B.n_match);
		printf("ns/packet under BPF_PROG_TEST_RUN, %d rounds x %d runs, interleaved; "
		       "ratio to the empty program of the same round\n",
		       rounds, repeat);
		printf("  %-36s %8s %14s %7s %14s\n", "case", "ns", "(min-max)", "ratio",
		       "(min-max)");
		for (i = 0; i < n; i++) {
			stats(pc[i].ns, rounds, &med[i], &lo, &hi);
			stats(pc[i].ratio, rounds, &rmed[i], &rlo, &rhi);
			printf("  %-36s %8.0f %6.0f-%-7.0f %7.2f %6.2f-%-7.2f\n", pc[i].name,
			       med[i], lo, hi, rmed[i], rlo, rhi);
		}
		printf("  flatness, 10k rules / 1 rule (target 1.20 or less): unmatched %.2f, "
		       "known IPv4 %.2f, IPv6 %.2f, classified IPv4 %.2f, IPv6 %.2f\n",
		       rmed[3] / rmed[2], rmed[5] / rmed[4], rmed[7] / rmed[6], rmed[9] / rmed[8],
		       rmed[11] / rmed[10]);
		printf("  a rule's total (its clock and the fair share) costs %.0f ns more per "
		       "packet: %.2f vs %.2f of the empty program\n",
		       med[12] - med[4], rmed[12], rmed[4]);
		printf("  (\"classified\": the flow cache off, every packet classified and charged "
		       "to its key: a new flow's work but for the two inserts)\n");
		if (json) {
			js = fopen(json, "w");
			if (!js) {
				perror(json);
				return 1;
			}
			fprintf(js, "{\n  \"classifier\": {\n");
			json_num("empty_ns", med[0], 0);
			json_num("unbound_ns", med[1], 0);
			json_num("unmatched_ns", med[3], 0);
			json_num("unmatched_ratio", rmed[3], 0);
			json_num("known_key_ns", med[5] > med[7] ? med[5] : med[7], 0);
			json_num("known_key_v4_ratio", rmed[5], 0);
			json_num("known_key_v6_ratio", rmed[7], 0);
			json_num("new_key_ns", med[9] > med[11] ? med[9] : med[11], 0);
			json_num("new_key_v4_ratio", rmed[9], 0);
			json_num("new_key_v6_ratio", rmed[11], 0);
			json_num("known_key_total_ns", med[12], 0);
			json_num("known_key_total_ratio", rmed[12], 0);
			json_num("flatness_known_key", rmed[5] / rmed[4], 0);
			json_num("flatness_new_key", rmed[9] / rmed[8], 1);
			fprintf(js, "  },\n");
		}
	}
	unload(&Sm);
	unload(&Bm);
	unload(&S);

	/* a reload that changes one rule's rate, onto the big policy in force */
	{
		struct loaded F = B;

		if (publish(&B, yb2)) {
			fprintf(stderr, "bench: one-rule reload failed\n");
			return 1;
		}
		t_one_parse = B.t_parse, t_one_compile = B.t_compile, t_one_apply = B.t_apply;
		t_one_collect = B.t_collect;
		B.t_parse = F.t_parse, B.t_compile = F.t_compile, B.t_apply = F.t_apply;
		B.t_collect = F.t_collect;
	}
	unload(&B);
	getrusage(RUSAGE_SELF, &ru);
	printf("\nreload of the %d-rule policy (%zu bytes of YAML), in seconds\n", nrules,
	       strlen(yb));
	printf("  %-28s %8s %8s %8s %8s %8s\n", "case", "parse", "compile", "publish", "in force",
	       "cleanup");
	printf("  %-28s %8.3f %8.3f %8.3f %8.3f %8.3f\n", "first publish", B.t_parse, B.t_compile,
	       B.t_apply, B.t_parse + B.t_compile + B.t_apply, B.t_collect);
	printf("  %-28s %8.3f %8.3f %8.3f %8.3f %8.3f\n", "one rule's rate changed", t_one_parse,
	       t_one_compile, t_one_apply, t_one_parse + t_one_compile + t_one_apply,
	       t_one_collect);
	printf("  (in force: parse + compile + publish, up to the flip; cleanup: waiting out "
	       "in-flight packets and deleting what was replaced, after it)\n");
	printf("  peak RSS of this process (all four policies loaded at once): %ld MiB\n",
	       ru.ru_maxrss / 1024);
	if (js) {
		fprintf(js, "  \"reload\": {\n");
		json_num("full_s", B.t_parse + B.t_compile + B.t_apply, 0);
		json_num("full_publish_s", B.t_apply, 0);
		json_num("one_rule_s", t_one_parse + t_one_compile + t_one_apply, 0);
		json_num("one_rule_publish_s", t_one_apply, 0);
		json_num("one_rule_parse_s", t_one_parse, 0);
		json_num("one_rule_compile_s", t_one_compile, 0);
		json_num("one_rule_cleanup_s", t_one_collect, 0);
		json_num("bench_peak_rss_mib", ru.ru_maxrss / 1024.0, 1);
		fprintf(js, "  },\n");
	}

	printf("\nkernel memory per active key (fdinfo memlock / keys; per-flow keys, "
	       "tables full)\n");
	printf("  %-10s %10s %10s %10s %10s\n", "keys", "tcs_keys", "tcs_flows", "tcs_socks",
	       "total");
	if (js)
		fprintf(js, "  \"memory\": {\n");
	for (i = 0; i < 2; i++) {
		double k, f, s, t = bytes_per_key(mem_n[i], &k, &f, &s);

		if (t < 0)
			return 1;
		printf("  %-10u %10.0f %10.0f %10.0f %10.0f\n", mem_n[i], k, f, s, t);
		if (js && i == 0)
			json_num("kernel_bytes_per_key_10k", t, 0);
		if (js && i == 1)
			json_num("kernel_bytes_per_key", t, 1);
	}
	if (js) {
		fprintf(js, "  }\n}\n");
		fclose(js);
	}
	free(ys);
	free(yb);
	free(yb2);
	return 0;
}
