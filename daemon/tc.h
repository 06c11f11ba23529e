/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tc over rtnetlink (libmnl): the clsact qdisc and our cls_bpf filters.
 * Builders are pure (bytes into a buffer) so unit tests check them without
 * root; the tc_* calls send them and turn NLMSG_ERROR into -errno, logging
 * the kernel's extended ack text.
 */
#ifndef TCS_TC_H
#define TCS_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tc;

/* Our filter's identity on a hook: protocol all, this pref and handle. */
struct tc_filter {
	uint32_t ifindex;
	int dir;		/* TCS_DIR_* */
	uint32_t prio;
	uint32_t handle;
};

/* What a dump reports for one filter on a hook. */
struct tc_filter_info {
	uint32_t prio;
	uint32_t handle;
	uint16_t protocol;	/* host order */
	char kind[16];
	char name[256];		/* cls_bpf TCA_BPF_NAME, "" otherwise */
	uint32_t prog_id;	/* cls_bpf TCA_BPF_ID, 0 otherwise */
	bool direct_action;
};

int tc_open(struct tc **out);
void tc_close(struct tc *tc);

/* Create clsact if absent; *created says whether we made it. */
int tc_clsact_ensure(struct tc *tc, uint32_t ifindex, bool *created);
int tc_clsact_delete(struct tc *tc, uint32_t ifindex);
/* 1 if the interface has a clsact qdisc, 0 if not, -errno on error. */
int tc_clsact_exists(struct tc *tc, uint32_t ifindex);

/* Create or atomically replace our filter with prog_fd (direct-action). */
int tc_filter_attach(struct tc *tc, const struct tc_filter *f, int prog_fd, const char *name);
/* Delete our filter; -ENOENT if it is not there. */
int tc_filter_detach(struct tc *tc, const struct tc_filter *f);
/* Call cb for every filter on the hook (ifindex, dir). */
typedef int (*tc_filter_cb)(const struct tc_filter_info *fi, void *ctx);
int tc_filter_list(struct tc *tc, uint32_t ifindex, int dir, tc_filter_cb cb, void *ctx);

/* The root qdisc of an interface, as found: enough to put it back. */
struct tc_root {
	char kind[16];
	uint32_t handle;	/* 0: the kernel's default, not configured by anyone */
	bool paces;		/* fq, or mq with fq on every queue: EDT works */
	size_t opts_len;
	unsigned char opts[512];	/* raw TCA_OPTIONS */
};

/* fq for per-key pacing: room for the queues max_delay allows */
struct tc_fq {
	uint32_t limit;		/* packets, whole qdisc */
	uint32_t flow_limit;	/* packets per flow */
	uint32_t horizon_us;	/* later departures are dropped */
};

/*
 * fq's horizon (TCA_FQ_HORIZON, a u32 of microseconds) for the longest
 * max_delay it must hold: twice that, never below fq's own 10 s default, and
 * saturated, not truncated, at what 32 bits hold (about 71 minutes).
 */
uint32_t tc_fq_horizon_us(uint64_t max_delay_ns);

int tc_root_get(struct tc *tc, uint32_t ifindex, struct tc_root *root);
/* fq at the root (mq + fq per queue when txqs > 1); replaces what is there. */
int tc_root_set_fq(struct tc *tc, uint32_t ifindex, unsigned int txqs, const struct tc_fq *fq);
int tc_root_restore(struct tc *tc, uint32_t ifindex, const struct tc_root *old);

/* A second socket, subscribed to RTNLGRP_TC: someone else's tc changes. */
int tc_monitor_open(struct tc **out);
int tc_fd(const struct tc *tc);
typedef void (*tc_event_cb)(uint16_t type, uint32_t ifindex, void *ctx);
int tc_monitor_read(struct tc *tc, tc_event_cb cb, void *ctx);

/* Pure message builders; return the message length or 0 if buf is too small. */
size_t tc_build_clsact(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
		       uint32_t ifindex);
size_t tc_build_filter(void *buf, size_t len, uint16_t type, uint16_t flags, uint32_t seq,
		       const struct tc_filter *f, int prog_fd, const char *name);

#endif
