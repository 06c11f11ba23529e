/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Socket pacing for the daemon: bpf/sockpace.bpf.c loaded beside the
 * classifier (sharing its maps), its sock_ops program linked at the cgroup
 * v2 root, and its TCP iterator run on demand. See docs/design.md.
 */
#ifndef TCS_SOCKPACE_H
#define TCS_SOCKPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct tcshape_bpf;
struct sockpace;

/*
 * Load and attach, with room for keys limiter keys that have local sockets;
 * on failure a message says why, and the daemon goes on without.
 */
int sockpace_open(struct tcshape_bpf *tc, const char *pin_dir, __u32 keys, struct sockpace **out);
/*
 * One pass of the TCP iterator over the daemon's network namespace: every
 * socket's caps follow the policy in force and the sockets sharing its key.
 * Returns the number of receivers whose window we clamp, or -errno.
 */
int sockpace_pass(struct sockpace *sp);
/* The per-rule TCP health counters (tcs_tcp_stats), or -1 without socket pacing. */
int sockpace_stats_fd(const struct sockpace *sp);
/*
 * Detach. release: first let every socket go (their own caps back), and
 * unpin our maps from pin_dir: nothing of ours stays.
 */
void sockpace_close(struct sockpace *sp, bool release, const char *pin_dir);

#endif
