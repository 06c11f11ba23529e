/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pin dir and the classifier in it: a directory on bpffs, locked by one
 * daemon at a time, where the maps are pinned so that limiter state and the
 * datapath outlive a restart; the classifier is loaded reusing the pins
 * that fit, and all of it is removed on a stop that takes the datapath away.
 */
#ifndef TCS_PINS_H
#define TCS_PINS_H

#include <stdbool.h>

struct policy;
struct tcshape_bpf;

/* The pin dir must be on a bpffs; create it (one level) if missing. */
int pins_prepare(const char *dir);
/*
 * One daemon per pin dir: a second one would adopt the first one's filters,
 * sweep its rulesets and, on stop, remove them. Returns the locked fd, held
 * until exit; -EBUSY (logged, with the other daemon's pid) or -errno.
 */
int pins_lock(const char *dir);
/*
 * Open and load the classifier, reusing the maps an earlier instance pinned
 * in dir (that is what keeps limiter state across restarts), sized for p's
 * max_keys. *skel is set once it is open, even when the load fails.
 * *earlier: pins that fit were there, an earlier instance's datapath.
 */
int pins_load(const char *dir, const struct policy *p, struct tcshape_bpf **skel, bool *earlier);
/* Unpin every map, clear the clsact marks and remove the pin dir. */
void pins_remove(struct tcshape_bpf *skel, const char *dir);

#endif
