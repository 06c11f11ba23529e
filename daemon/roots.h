/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Root qdiscs: fq at the root of every interface whose egress rules pace,
 * sized for what they may queue; the root that was there is remembered and
 * put back when the interface no longer needs fq, on stop, or when a reload
 * that changed it fails later (the journal).
 */
#ifndef TCS_ROOTS_H
#define TCS_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "tc.h"

struct binding;
struct compiled;
struct link_watch;

/* A root qdisc we replaced with fq, and what to put back. */
struct root {
	uint32_t ifindex;
	struct tc_root old;
	struct tc_fq fq;
};

struct roots {
	struct tc *tc;
	int fq; /* enum host_fq: can this kernel pace; the kernel may say no later */
	struct root *v;
	size_t n;
};

/* What roots_sync() changed, so that a reload failing later can put it back. */
struct root_undo {
	enum { UNDO_ADDED, UNDO_CHANGED, UNDO_RESTORED } what;
	struct root r; /* as it was before */
	unsigned int txqs;
};

struct roots_journal {
	struct root_undo *v;
	size_t n;
};

/*
 * Every interface with pace rules on egress (on this host) gets fq at its root (unless a
 * pacing root is there already); the root it had is remembered and put back
 * when it no longer needs fq. A root we may not replace makes it report
 * (errfn) and return -EINVAL before anything is changed, and the caller
 * refuses. What it changes goes into j (if given), for roots_undo().
 * -ENOENT, with rt->fq FQ_MISSING: the kernel has no fq after all.
 */
int roots_sync(struct roots *rt, struct link_watch *lw, const struct policy *p,
	       const struct pol_host *host, const struct compiled *c, const struct binding *b,
	       size_t nb, struct roots_journal *j, pol_err_fn errfn, void *ctx);
/* Put the root qdiscs back as they were before this attempt, newest change first. */
void roots_undo(struct roots *rt, struct roots_journal *j);
/* Put back every root we replaced. */
void roots_restore_all(struct roots *rt);

#endif
