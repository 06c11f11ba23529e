/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading what the classifier counts and the daemon records, from the pinned
 * maps: shared by tcshapectl (which opens the pins) and the daemon's metrics
 * textfile (which has the maps open already). Read-only.
 */
#ifndef TCS_STATE_H
#define TCS_STATE_H

#include <linux/types.h>
#include <stddef.h>

#include "tcshape_abi.h"

/* dir: the pin dir, to ask its lock whether a daemon runs there; -1 in the daemon itself */
struct state_fds {
	int ifaces, ifaces_hi, keys, flows, rule_info, rule_stats, rule_spill, stats, meta, daemon,
	    dir;
	int tcp_stats;		/* -1: socket pacing never ran here */
	int totals;		/* -1: pinned by a tcshaped without totals */
};

/*
 * Opens the pins read-only. -ENOENT: nothing pinned in dir (tcshaped not
 * running there); -EPERM/-EACCES: no privilege.
 */
int state_open_pins(const char *dir, struct state_fds *f);
void state_close(struct state_fds *f);

/*
 * A rule's total (bpf/total.bpf.h), summed over the interfaces it is on
 * (what passes it is what the rule sent): what the total alone refused, and
 * from the last counted share period the active and busy keys and the
 * share each busy key is held to (the lowest over the interfaces; 0: the
 * rule's rate).
 */
struct state_total {
	__u64 dropped;
	__u64 active_keys;
	__u64 busy_keys;
	__u64 share_bps;
};

struct state_rule {
	__u32 uid;
	struct tcs_rule_info info;
	__u64 packets[TCS_V_NR];
	__u64 bytes[TCS_V_NR];
	__u64 keys;		/* limiter keys in use */
	struct tcs_tcp_stats tcp;	/* its local TCP connections (socket pacing) */
	struct state_total total;	/* info.total_bps != 0: its total, over its interfaces */
};

/* Local TCP connections a rule covers now, and how many of them we cap. */
__u64 state_tcp_conns(const struct state_rule *r);
__u64 state_tcp_paced(const struct state_rule *r);
/*
 * The q-quantile (0..1) of the smoothed RTT samples a rule's connections
 * gave between two snapshots (before may be NULL: since the start), in
 * microseconds, interpolated inside its log2 bucket; -1 without samples.
 */
double state_rtt_quantile(const struct state_rule *now, const struct state_rule *before, double q,
			  __u64 *samples);

/* Packets and bytes a rule let through: at once, paced, or CE-marked. */
__u64 state_sent_packets(const struct state_rule *r);
__u64 state_sent_bytes(const struct state_rule *r);

/* Rules ordered by uid, for state_rule_by_uid(); the rule of uid in them, or NULL. */
void state_rules_sort_by_uid(struct state_rule *r, size_t n);
const struct state_rule *state_rule_by_uid(const struct state_rule *r, size_t n, __u32 uid);

struct census;
/*
 * Every rule, ordered by interface entry, direction and position; keys from
 * census c (census.h), or from a whole walk of tcs_keys now when c is NULL.
 */
int state_rules(const struct state_fds *f, const struct census *c, struct state_rule **out,
		size_t *n);

struct state_key {
	struct tcs_key key;
	struct tcs_key_state st;
};

/*
 * Call fn for every limiter key, a batch at a time: those of tcs_keys (fd
 * keys; fk NULL), then the per: flow keys in tcs_flows (fd flows; fk the
 * entry's key, k the key's name). fn may delete the entry it is given. Stops
 * at fn's first non-zero return.
 */
typedef int (*state_key_fn)(const struct tcs_key *k, const struct tcs_key_state *st,
			    const struct tcs_flow_key *fk, void *ctx);
int state_keys_walk(int keys, int flows, state_key_fn fn, void *ctx);

/* The name of the per: flow key a tcs_flows entry holds (uid not TCS_UID_NONE). */
void state_flow_key(const struct tcs_flow_key *fk, const struct tcs_flow *f, struct tcs_key *k);

/*
 * The walk itself, one batch per call, resumable: up to *count entries of
 * map fd into k and v (*count says how many came). A zeroed state_walk
 * starts a walk. Returns 1 when the walk is over (this batch may still
 * hold entries), 0, -errno.
 */
struct state_walk {
	__u64 next;		/* the kernel's batch token */
	int started;
};
int state_batch(int fd, struct state_walk *w, void *k, void *v, __u32 *count);

/* Every limiter key with its state (a snapshot; the LRU may change meanwhile). */
int state_keys(const struct state_fds *f, struct state_key **out, size_t *n);

int state_globals(const struct state_fds *f, __u64 out[TCS_STAT_NR]);
/* The daemon's record; running is 0 unless a daemon holds the pin dir's lock. */
int state_daemon(const struct state_fds *f, struct tcs_daemon *d);

/* (ifindex, dir) bindings in force */
int state_bindings(const struct state_fds *f, struct tcs_iface_key **out, size_t *n);

extern const char *const state_stat_names[TCS_STAT_NR];
const char *state_per_name(int per);
const char *state_dir_name(int dir);

#endif
