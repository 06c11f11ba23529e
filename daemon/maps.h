/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compiled tables -> the classifier's maps. A ruleset, once published, is
 * never modified: a new policy publishes new rulesets beside the old ones,
 * flips each (interface, direction) to its new ruleset with one map write,
 * waits until no packet can still be reading the old ones, then frees them.
 */
#ifndef TCS_MAPS_H
#define TCS_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"

struct tcshape_bpf;
struct maps;

/* Which ruleset (index into compiled->rs) an (interface, direction) uses. */
struct binding {
	uint32_t ifindex;
	int dir;
	size_t rs;
	uint32_t if_flags;	/* TCS_IF_*: how the classifier parses this device */
};

int maps_open(struct tcshape_bpf *skel, struct maps **out);
void maps_close(struct maps *m);

/*
 * Make c and bindings the state in force. On success m owns c (c may be the
 * one already in force, to change bindings only); the rulesets it replaced
 * stay in the maps, unreachable, until maps_collect() (the next publish or
 * maps_close() collects them too). On failure nothing changed and c is
 * still the caller's.
 */
int maps_publish(struct maps *m, struct compiled *c, const struct binding *b, size_t nb);
/*
 * Wait out the packets that may still read what the last publish replaced
 * (one synchronize_rcu()), then delete it and the state of rules that are
 * gone. A reload is in force before this: the daemon says so first.
 */
void maps_collect(struct maps *m);
/* maps_publish() and maps_collect(). */
int maps_apply(struct maps *m, struct compiled *c, const struct binding *b, size_t nb);

/* Change only the bindings of the policy in force. */
int maps_rebind(struct maps *m, const struct binding *b, size_t nb);

/* The compiled policy in force (empty before the first apply). */
const struct compiled *maps_current(const struct maps *m);
/* Did maps_open find state an earlier instance left pinned? */
bool maps_adopted(const struct maps *m);

#endif
