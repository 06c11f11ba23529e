/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The limiter keys in tcs_keys, counted by rule: a walk a batch at a time,
 * so that the daemon's event loop never waits for more than one step of a
 * table of a million keys (tcshapectl walks to the end at once), and the
 * keys the LRU evicted, which the kernel does not count (see census.c).
 */
#ifndef TCS_CENSUS_H
#define TCS_CENSUS_H

#include <linux/types.h>
#include <stdbool.h>

#include "state.h"

struct census;

/* Keys per step in the daemon: one batch of the kernel's, a few ms */
#define CENSUS_STEP	4096

/* Reads f's keys, stats and meta fds; they must outlive the census. */
struct census *census_new(const struct state_fds *f);
void census_free(struct census *c);
/*
 * Walk on for at most budget keys. Returns 1 when that ended a pass (the
 * counts below are now this pass's), 0 when there is more to walk, -errno.
 */
int census_step(struct census *c, unsigned int budget);
/* A whole pass now (tcshapectl). */
int census_run(struct census *c);

/* Of the last complete pass; 0 before the first. */
bool census_done(const struct census *c);
__u64 census_keys(const struct census *c, __u32 uid);
__u64 census_live(const struct census *c);
__u64 census_created(const struct census *c);
__u64 census_evicted(const struct census *c);

#endif
