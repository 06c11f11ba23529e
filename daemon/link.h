/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface tracking with libnl-route-3's link cache: which interfaces exist
 * now, by index and name, and a watch that says when that changes.
 */
#ifndef TCS_LINK_H
#define TCS_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct link_info {
	int ifindex;
	unsigned int txqs;	/* TX queues: mq + fq per queue when > 1 */
	unsigned int arptype;	/* ARPHRD_*: the link-layer header its packets carry */
	char name[IF_NAMESIZE];
};

/*
 * Does a device of this ARPHRD_* type carry no link-layer header, so that its
 * packets start at the IP header (tun, WireGuard, PPP, ipip, sit, gre)?
 */
bool link_is_l3(unsigned int arptype);

/* Snapshot of the current interfaces, once; free with free(). */
int link_list(struct link_info **out, size_t *n);

/*
 * A live view: libnl's cache manager keeps the link cache current from
 * RTNLGRP_LINK; changed(ctx) is called after any link appears, goes, is
 * renamed or changes state. Poll link_watch_fd() and call
 * link_watch_process() when it is readable.
 */
struct link_watch;
typedef void (*link_changed_fn)(void *ctx);

int link_watch_open(struct link_watch **out, link_changed_fn changed, void *ctx);
void link_watch_close(struct link_watch *w);
int link_watch_fd(const struct link_watch *w);
int link_watch_process(struct link_watch *w);
int link_watch_snapshot(struct link_watch *w, struct link_info **out, size_t *n);

#endif
