// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, key table part: what reading the per-rule key counts costs
 * with a full table (KEYS limiter keys, default a million, over RULES rules):
 * one whole walk, as tcshapectl does (and the daemon's metrics did before
 * the census), and the daemon's census steps, each of which is all its event
 * loop ever waits for. Usage: bench_keys [KEYS [RULES]].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcshape.skel.h"
#include "census.h"
#include "state.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	__u32 nkeys = argc > 1 ? (__u32)strtoul(argv[1], NULL, 0) : 1000000;
	__u32 nrules = argc > 2 ? (__u32)strtoul(argv[2], NULL, 0) : 1000;
	__u32 batch = 8192, i, j, n;
	struct tcs_key *k = calloc(batch, sizeof(*k));
	struct tcs_key_state *v = calloc(batch, sizeof(*v));
	struct state_rule *r = NULL;
	struct tcshape_bpf *skel;
	struct state_fds f;
	struct bpf_map *map;
	size_t nr = 0;
	double t0, t;
	__u64 total = 0;

	skel = tcshape_bpf__open();
	if (!skel || !k || !v)
		return 1;
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	/* headroom: a full LRU evicts before its last entries are used */
	bpf_map__set_max_entries(skel->maps.tcs_keys, nkeys + nkeys / 8);
	if (tcshape_bpf__load(skel)) {
		fprintf(stderr, "bench-keys: load: %s\n", strerror(errno));
		return 1;
	}
	f = (struct state_fds){
		.ifaces = bpf_map__fd(skel->maps.tcs_ifaces),
		.ifaces_hi = bpf_map__fd(skel->maps.tcs_ifaces_hi),
		.keys = bpf_map__fd(skel->maps.tcs_keys),
		.rule_info = bpf_map__fd(skel->maps.tcs_rule_info),
		.rule_stats = bpf_map__fd(skel->maps.tcs_rule_stats),
		.rule_spill = bpf_map__fd(skel->maps.tcs_rule_spill),
		.stats = bpf_map__fd(skel->maps.tcs_stats),
		.meta = bpf_map__fd(skel->maps.tcs_meta),
		.daemon = bpf_map__fd(skel->maps.tcs_daemon),
		.tcp_stats = -1,
		.dir = -1,
	};
	for (i = 0; i < nrules; i++) {
		struct tcs_rule_info ri = { .rate_bps = 1000000, .idx = i };

		snprintf((char *)ri.iface, sizeof(ri.iface), "eth0");
		snprintf((char *)ri.name, sizeof(ri.name), "r%u", i);
		bpf_map_update_elem(f.rule_info, &i, &ri, BPF_ANY);
	}
	for (i = 0; i < nkeys; i += n) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);

		n = nkeys - i < batch ? nkeys - i : batch;
		for (j = 0; j < n; j++) {
			memset(&k[j], 0, sizeof(k[j]));
			k[j].uid = (i + j) % nrules;
			k[j].ifindex = 1;
			k[j].family = TCS_FAMILY_V4;
			memcpy(k[j].src, &(__u32){ i + j }, 4);
		}
		if (bpf_map_update_batch(f.keys, k, v, &n, &o)) {
			fprintf(stderr, "bench-keys: fill: %s\n", strerror(errno));
			return 1;
		}
	}

	/* the whole walk: tcshapectl, and what the daemon's metrics did before the census */
	t0 = now_s();
	if (state_rules(&f, NULL, &r, &nr))
		return 1;
	t = now_s() - t0;
	for (i = 0; i < nr; i++)
		total += r[i].keys;
	printf("bench-keys: %u keys, %u rules: a whole walk %.0f ms, %llu keys counted\n", nkeys,
	       nrules, t * 1e3, (unsigned long long)total);

	/* the daemon's census: steps of CENSUS_STEP keys, each all its loop waits for */
	{
		struct census *c = census_new(&f);
		double worst = 0, sum = 0;
		int steps = 0, ret = 0;

		while (c && !ret) {
			t0 = now_s();
			ret = census_step(c, CENSUS_STEP);
			t = now_s() - t0;
			sum += t;
			worst = t > worst ? t : worst;
			steps++;
		}
		if (ret < 0 || !c)
			return 1;
		printf("bench-keys: census: %d steps of %d keys, longest %.1f ms, %.0f ms in all, "
		       "%llu keys\n", steps, CENSUS_STEP, worst * 1e3, sum * 1e3,
		       (unsigned long long)census_live(c));
		census_free(c);
	}
	free(r);
	tcshape_bpf__destroy(skel);
	free(k);
	free(v);
	return total == nkeys ? 0 : 1;
}
