// SPDX-License-Identifier: GPL-2.0
/*
 * Socket pacing for the daemon: load bpf/sockpace.bpf.c with the classifier's
 * tcs_socks, tcs_rule_info and tcs_totals, link its sock_ops program at the cgroup v2
 * root (a link: it coexists with everyone else's programs and goes away with
 * us, never detaching anything of theirs), and run its TCP iterator.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tcshape.skel.h"
#include "sockpace.skel.h"
#include "tcshape_abi.h"
#include "host.h"
#include "log.h"
#include "map_walk.h"
#include "sockpace.h"

struct sockpace {
	struct sockpace_bpf *skel;
	struct bpf_link *ops;
	struct bpf_link *iter;		/* TCP sockets of our network namespace */
	char cgroup[64];
};

/* Our own pinned maps (not the classifier's, which we only borrow). */
static void unpin_own(struct sockpace_bpf *skel, const char *pin_dir)
{
	struct bpf_map *maps[] = { skel->maps.tcs_shares, skel->maps.tcs_tcp_stats,
				   skel->maps.tcs_sk };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(maps[i]));
		unlink(path);
	}
}

static int load(struct tcshape_bpf *tc, const char *pin_dir, __u32 keys, struct sockpace_bpf **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_dir);
	struct sockpace_bpf *skel;
	int err;

	skel = sockpace_bpf__open_opts(&oo);
	if (!skel)
		return -errno;
	bpf_map__set_max_entries(skel->maps.tcs_shares, keys);
	err = bpf_map__reuse_fd(skel->maps.tcs_socks, bpf_map__fd(tc->maps.tcs_socks));
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.tcs_ifaces, bpf_map__fd(tc->maps.tcs_ifaces));
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.tcs_ifaces_hi,
					bpf_map__fd(tc->maps.tcs_ifaces_hi));
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.tcs_rule_info, bpf_map__fd(tc->maps.tcs_rule_info));
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.tcs_totals, bpf_map__fd(tc->maps.tcs_totals));
	if (!err)
		err = sockpace_bpf__load(skel);
	if (err) {
		sockpace_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

int sockpace_open(struct tcshape_bpf *tc, const char *pin_dir, __u32 keys, struct sockpace **out)
{
	const char *root = host_cgroup2_root();
	struct sockpace *sp;
	int err, cg;

	if (!root) {
		log_warn("socket pacing: off, no cgroup v2 hierarchy is mounted (at /sys/fs/cgroup "
			 "or /sys/fs/cgroup/unified); local TCP is limited by tc alone");
		return -ENOENT;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	snprintf(sp->cgroup, sizeof(sp->cgroup), "%s", root);
	err = load(tc, pin_dir, keys, &sp->skel);
	if (err == -EINVAL) {
		/* our pins from another version or max_keys: their counters start over */
		struct sockpace_bpf *s = sockpace_bpf__open();

		if (s) {
			unpin_own(s, pin_dir);
			sockpace_bpf__destroy(s);
		}
		err = load(tc, pin_dir, keys, &sp->skel);
	}
	if (err) {
		log_warn("socket pacing: off, the kernel refused its programs (%s; it needs "
			 "Linux 5.14 or later with BTF); local TCP is limited by tc alone",
			 strerror(-err));
		goto fail;
	}
	cg = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		err = -errno;
		log_warn("socket pacing: off, open %s: %s", root, strerror(-err));
		goto fail;
	}
	sp->ops = bpf_program__attach_cgroup(sp->skel->progs.tcs_sockops, cg);
	err = sp->ops ? 0 : -errno;
	close(cg);
	if (err) {
		log_warn("socket pacing: off, attach sock_ops at %s: %s (a program attached "
			 "there without BPF_F_ALLOW_MULTI excludes others)",
			 root, strerror(-err));
		goto fail;
	}
	sp->iter = bpf_program__attach_iter(sp->skel->progs.tcs_sockiter, NULL);
	if (!sp->iter) {
		err = -errno;
		log_warn("socket pacing: off, create the TCP iterator: %s", strerror(-err));
		goto fail;
	}
	log_info("socket pacing: local TCP connections are told their share of their limit "
		 "(sock_ops at %s)",
		 root);
	*out = sp;
	return 0;
fail:
	sockpace_close(sp, false, NULL);
	return err;
}

/* Run an iterator over everything it visits (it writes nothing). */
static int iterate(struct bpf_link *link)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

int sockpace_pass(struct sockpace *sp)
{
	int err;

	sp->skel->bss->receivers = 0;
	sp->skel->bss->released = 0;
	err = iterate(sp->iter);
	return err ? err : (int)sp->skel->bss->receivers;
}

/* Sockets that carry a cap of ours, in any namespace: the paced gauges of every rule. */
static long holding(struct sockpace *sp)
{
	int fd = bpf_map__fd(sp->skel->maps.tcs_tcp_stats), ncpus = libbpf_num_possible_cpus(), c;
	struct tcs_tcp_stats *per;
	bool started = false;
	__u32 key;
	long n = 0;

	if (ncpus <= 0 || !(per = calloc(ncpus, sizeof(*per))))
		return 0;
	while (map_next(fd, &key, &started)) {
		__u64 up = 0, down = 0;

		if (bpf_map_lookup_elem(fd, &key, per))
			continue;
		for (c = 0; c < ncpus; c++) {
			up += per[c].paced_started;
			down += per[c].paced_ended;
		}
		n += up > down ? (long)(up - down) : 0;
	}
	free(per);
	return n;
}

/*
 * A clean stop: the iterator lets every socket of our namespace go at once;
 * senders in other namespaces (containers) let go at their next ACK, which
 * the sock_ops program sees while releasing is set. Wait up to 1 s for
 * them; an idle one keeps its cap until it closes, and is said.
 */
static void release_all(struct sockpace *sp)
{
	long left = 0;
	int n, i;

	sp->skel->bss->releasing = true;
	n = sockpace_pass(sp);
	if (n < 0) {
		log_warn("socket pacing: let sockets go: %s", strerror(-n));
		return;
	}
	log_info("socket pacing: let %u local TCP connections go", sp->skel->bss->released);
	for (i = 0; i < 20 && (left = holding(sp)); i++)
		usleep(50000);
	if (left)
		log_warn("socket pacing: %ld idle TCP connections in other network namespaces "
			 "keep the cap we set until they close",
			 left);
}

int sockpace_stats_fd(const struct sockpace *sp)
{
	return sp ? bpf_map__fd(sp->skel->maps.tcs_tcp_stats) : -1;
}

void sockpace_close(struct sockpace *sp, bool release, const char *pin_dir)
{
	if (!sp)
		return;
	if (release && sp->skel && sp->iter)
		release_all(sp);
	bpf_link__destroy(sp->iter);
	bpf_link__destroy(sp->ops);
	if (release && pin_dir && sp->skel)
		unpin_own(sp->skel, pin_dir);
	sockpace_bpf__destroy(sp->skel);
	free(sp);
}
