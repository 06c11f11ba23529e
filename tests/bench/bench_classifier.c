// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, classifier part: ns/packet of the real classifier under
 * BPF_PROG_TEST_RUN against a do-nothing tc program measured in the same run,
 * for a 1-rule and a 10,000-rule / 100,000-prefix policy, with and without the
 * flow cache; and how long parse, compile and publish of the big policy take.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
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

#define REPEAT 200000
#define ROUNDS 5

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An IPv6/UDP frame to dst:dport. */
static size_t frame(unsigned char *buf, const unsigned char *dst, unsigned short dport)
{
	struct ethhdr *eth = (void *)buf;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	size_t len = sizeof(*eth) + sizeof(*ip6) + sizeof(*udp) + 64;

	memset(buf, 0, len);
	eth->h_proto = htons(ETH_P_IPV6);
	ip6->version = 6;
	ip6->nexthdr = IPPROTO_UDP;
	ip6->payload_len = htons(sizeof(*udp) + 64);
	ip6->saddr.s6_addr[0] = 0x20;
	ip6->saddr.s6_addr[1] = 0x01;
	ip6->saddr.s6_addr[2] = 0x0d;
	ip6->saddr.s6_addr[3] = 0xb8;
	ip6->saddr.s6_addr[15] = 1;
	memcpy(&ip6->daddr, dst, 16);
	udp->source = htons(40000);
	udp->dest = htons(dport);
	return len;
}

/* Median over ROUNDS of the kernel-measured ns per run. */
static double run_ns(int prog_fd, const void *pkt, size_t len)
{
	double v[ROUNDS], t;
	int i, j;

	for (i = 0; i < ROUNDS; i++) {
		struct __sk_buff ctx = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = REPEAT);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "test run: %s\n", strerror(errno));
			exit(1);
		}
		v[i] = o.duration;
	}
	for (i = 0; i < ROUNDS; i++)
		for (j = i + 1; j < ROUNDS; j++)
			if (v[j] < v[i])
				t = v[i], v[i] = v[j], v[j] = t;
	return v[ROUNDS / 2];
}

/*
 * nrules rules, nprefixes IPv6 dst prefixes spread over them (distinct /64s
 * in 2001:db8::/32), each with its own dport; every 50th rule is src-only and
 * every 100th proto+dscp, so there are several shapes. The packet the bench
 * sends matches the LAST rule: a linear scan's worst case.
 */
static char *gen_policy(int nrules, int nprefixes, unsigned char *dst, unsigned short *dport)
{
	size_t cap = (size_t)nprefixes * 40 + (size_t)nrules * 200 + 4096, n = 0;
	char *y = malloc(cap);
	int r, k, pfx = 0, ndst = 0, per;

	for (r = 0; r < nrules; r++)
		ndst += !((r % 100 == 99 || r % 50 == 49) && r != nrules - 1);
	per = (nprefixes + ndst - 1) / ndst;

	n += sprintf(y + n, "version: 1\nsettings: { max_keys: 65536 }\ninterfaces:\n"
			    "  - name: lo\n    egress:\n");
	for (r = 0; r < nrules; r++) {
		unsigned short port = 1024 + (unsigned short)(r % 60000);

		n += sprintf(y + n, "      - name: r%d\n        rate: %dmbit\n", r, 1 + r % 900);
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
			n += sprintf(y + n, "%s\"2001:db8:%x:%x::/64\"", k ? ", " : "",
				     pfx >> 16, pfx & 0xffff);
		n += sprintf(y + n, "]\n");
		if (r == nrules - 1) {
			memset(dst, 0, 16);
			dst[0] = 0x20, dst[1] = 0x01, dst[2] = 0x0d, dst[3] = 0xb8;
			dst[4] = (pfx - 1) >> 24, dst[5] = (pfx - 1) >> 16;
			dst[6] = (pfx - 1) >> 8, dst[7] = (pfx - 1) & 0xff;
			dst[15] = 7;
			*dport = port;
		}
	}
	y[n] = 0;
	return y;
}

struct loaded {
	struct tcshape_bpf *skel;
	struct maps *maps;
	double t_parse, t_compile, t_apply;
	size_t n_match, n_cls;
};

static int load(struct loaded *L, bool cache, const char *yaml)
{
	struct binding b = { .ifindex = 1, .dir = TCS_DIR_EGRESS, .rs = 0 };
	struct compiled *c = NULL;
	struct policy *p = NULL;
	struct bpf_map *map;
	double t0;
	int err;

	memset(L, 0, sizeof(*L));
	L->skel = tcshape_bpf__open();
	if (!L->skel)
		return -errno;
	bpf_object__for_each_map(map, L->skel->obj)
		bpf_map__set_pin_path(map, NULL);
	L->skel->rodata->flow_cache = cache;
	bpf_map__set_max_entries(L->skel->maps.tcs_flows, 65536);
	bpf_map__set_max_entries(L->skel->maps.tcs_keys, 65536);
	if ((err = tcshape_bpf__load(L->skel)) || (err = maps_open(L->skel, &L->maps)))
		return err;

	t0 = now_s();
	if ((err = policy_parse("bench.yaml", yaml, strlen(yaml), &p, NULL, NULL)))
		return err;
	L->t_parse = now_s() - t0;
	t0 = now_s();
	if ((err = compile_policy(p, maps_current(L->maps), &c, NULL, NULL)))
		return err;
	L->t_compile = now_s() - t0;
	L->n_match = c->rs[0].n_match;
	L->n_cls = c->rs[0].n_cls;
	t0 = now_s();
	if ((err = maps_apply(L->maps, c, &b, 1)))
		return err;
	L->t_apply = now_s() - t0;
	policy_free(p);
	return 0;
}

static void unload(struct loaded *L)
{
	maps_close(L->maps);
	tcshape_bpf__destroy(L->skel);
}

struct point {
	double hit, miss;
};

/* ns/packet with the flow cache and without, for one policy. */
static int measure(const char *yaml, const void *pkt, size_t len, struct point *pt,
		   struct loaded *info)
{
	struct loaded L;

	if (load(&L, true, yaml))
		return -1;
	pt->hit = run_ns(bpf_program__fd(L.skel->progs.tcs_egress), pkt, len);
	*info = L;
	unload(&L);
	if (load(&L, false, yaml))
		return -1;
	pt->miss = run_ns(bpf_program__fd(L.skel->progs.tcs_egress), pkt, len);
	unload(&L);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct bpf_insn nop[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = TC_ACT_UNSPEC }, /* r0 = -1 */
		{ .code = 0x95 },				      /* exit */
	};
	int nrules = argc > 1 ? atoi(argv[1]) : 10000, nprefixes = argc > 2 ? atoi(argv[2]) : 100000;
	unsigned char pkt[256], dst[16] = { 0 };
	unsigned short dport = 0;
	struct point small, big;
	struct loaded Ls, Lb, L;
	struct rusage ru;
	double base, unbound;
	char *ys, *yb;
	size_t len;
	int nop_fd;

	if (geteuid()) {
		printf("bench-classifier: needs root\n");
		return 0;
	}
	nop_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nop", "GPL", nop, 2, NULL);
	if (nop_fd < 0) {
		perror("load nop");
		return 1;
	}
	/* the same generator at 1/100 the size: same shapes, same fields */
	ys = gen_policy(nrules / 100, nprefixes / 100, dst, &dport);
	len = frame(pkt, dst, dport);
	base = run_ns(nop_fd, pkt, len);
	if (measure(ys, pkt, len, &small, &Ls))
		goto fail;
	if (load(&L, true, ys))
		goto fail;
	unbound = run_ns(bpf_program__fd(L.skel->progs.tcs_ingress), pkt, len);
	unload(&L);

	yb = gen_policy(nrules, nprefixes, dst, &dport);
	len = frame(pkt, dst, dport);
	if (measure(yb, pkt, len, &big, &Lb))
		goto fail;

	getrusage(RUSAGE_SELF, &ru);
	printf("policies: the packet matches the LAST rule (a linear scan's worst case)\n");
	printf("  small: %d rules, %d prefixes -> %zu class prefixes, %zu shape-table entries\n",
	       nrules / 100, nprefixes / 100, Ls.n_cls, Ls.n_match);
	printf("  big:   %d rules, %d prefixes -> %zu class prefixes, %zu shape-table entries\n",
	       nrules, nprefixes, Lb.n_cls, Lb.n_match);
	printf("\nns/packet under BPF_PROG_TEST_RUN (median of %d x %d runs); baseline, a tc "
	       "program that only returns: %.0f ns\n",
	       ROUNDS, REPEAT, base);
	printf("  %-46s %8s %10s\n", "case", "ns/pkt", "over base");
	printf("  %-46s %8.0f %10.0f\n", "hook with no binding (interface not configured)",
	       unbound, unbound - base);
	printf("  %-46s %8.0f %10.0f\n", "small policy, flow cache hit", small.hit,
	       small.hit - base);
	printf("  %-46s %8.0f %10.0f\n", "big policy, flow cache hit", big.hit, big.hit - base);
	printf("  %-46s %8.0f %10.0f\n", "small policy, classified (flow cache off)", small.miss,
	       small.miss - base);
	printf("  %-46s %8.0f %10.0f\n", "big policy, classified (flow cache off)", big.miss,
	       big.miss - base);
	printf("  ratio big/small (1.00: cost independent of policy size): cache hit %.2f, "
	       "classified %.2f\n",
	       (big.hit - base) / (small.hit - base), (big.miss - base) / (small.miss - base));
	printf("\nreload of the big policy: parse %.3f s, compile %.3f s, publish %.3f s, "
	       "total %.3f s\n",
	       Lb.t_parse, Lb.t_compile, Lb.t_apply, Lb.t_parse + Lb.t_compile + Lb.t_apply);
	printf("peak RSS of this process: %ld MiB\n", ru.ru_maxrss / 1024);
	free(ys);
	free(yb);
	return 0;
fail:
	fprintf(stderr, "bench: load failed\n");
	return 1;
}
