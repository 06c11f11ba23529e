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
 * Make c and bindings the state in force. On success m owns c and has freed
 * the compiled policy it replaced (c may be the one already in force, to
 * change bindings only). On failure nothing changed and c is still the
 * caller's.
 */
int maps_apply(struct maps *m, struct compiled *c, const struct binding *b, size_t nb);

/* Change only the bindings of the policy in force. */
int maps_rebind(struct maps *m, const struct binding *b, size_t nb);

/* The compiled policy in force (empty before the first apply). */
const struct compiled *maps_current(const struct maps *m);
/* Did maps_open find state an earlier instance left pinned? */
bool maps_adopted(const struct maps *m);

#endif
