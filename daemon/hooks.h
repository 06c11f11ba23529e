/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tc hooks our classifier is on: one cls_bpf filter per interface and
 * direction the policy binds, with the clsact under it when we made it.
 * Attach, detach, verify after someone else's tc change, adopt what an
 * earlier instance left, and sync the set with the bindings.
 */
#ifndef TCS_HOOKS_H
#define TCS_HOOKS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcshape_abi.h"

#define TCS_FILTER_NAME	  "tcshaped"
#define TCS_FILTER_HANDLE 1

struct binding;
struct link_watch;
struct tc;

/* A tc hook our filter is on. */
struct hook {
	uint32_t ifindex;
	int dir;
	uint32_t prio;
	bool created_clsact;
	bool stale; /* found from an earlier instance: its program is old */
	bool check; /* a tc event touched its interface: verify the filter */
	char ifname[IF_NAMESIZE];
};

struct hooks {
	struct tc *tc;
	const char *pin_dir;	 /* where the clsact marks are kept */
	int prog_fd[TCS_DIR_NR]; /* the classifier, per direction */
	char filter_name[256];	 /* whose filters are ours: see hooks_name() */
	struct hook *v;
	size_t n;
};

/*
 * Whose filters are ours follows from the pin dir: "tcshaped" for the
 * default one (the name every earlier tcshaped used), "tcshaped:DIR" for any
 * other, so instances with different pin dirs leave each other's filters
 * alone. -ENAMETOOLONG (logged) when DIR does not fit.
 */
int hooks_name(struct hooks *hs, const char *pin_dir);
/* Filters of ours an earlier instance left: remembered, to replace or remove. */
void hooks_adopt(struct hooks *hs, struct link_watch *links);
/*
 * Attach where the bindings need us (replacing stale programs), verify hooks
 * a tc event touched (or all, with check_all), detach where no longer needed.
 */
int hooks_sync(struct hooks *hs, const struct binding *b, size_t nb, uint32_t prio, bool check_all);
/* A tc event (type 0: events were lost): true if a hook of ours needs a check. */
bool hooks_touch(struct hooks *hs, uint16_t type, uint32_t ifindex);
/* Detach every filter, and the clsact qdiscs we created and nobody else uses. */
void hooks_remove_all(struct hooks *hs);

#endif
