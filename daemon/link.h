/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface tracking with libnl-route-3's link cache: which interfaces exist
 * now, by index and name.
 */
#ifndef TCS_LINK_H
#define TCS_LINK_H

#include <net/if.h>
#include <stddef.h>

struct link_info {
	int ifindex;
	char name[IF_NAMESIZE];
};

/* Snapshot of the current interfaces; free with free(). */
int link_list(struct link_info **out, size_t *n);

#endif
