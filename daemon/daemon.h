/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's state and its three verbs: start (load, apply, attach),
 * reload (re-read the policy; all or nothing) and stop (detach what we added).
 * loop.c drives them from signals; main.c from argv.
 */
#ifndef TCS_DAEMON_H
#define TCS_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "paths.h"

struct daemon_opts {
	const char *policy_path;
	const char *pin_dir;
};

struct daemon;

int daemon_start(const struct daemon_opts *o, struct daemon **out);
/* Re-read the policy; on any error the policy in force stays, and 0 is not returned. */
int daemon_reload(struct daemon *d);
/*
 * Delete from the maps what the last reload replaced: after "reload:
 * applied" and READY=1, so that a reload is in force (and said so) without
 * waiting for it.
 */
void daemon_collect(struct daemon *d);
/* Detach our filters, remove clsact we created and left empty, unpin. */
void daemon_stop(struct daemon *d);

/* Netlink event sources for the loop, and their readers: true if the kernel may now differ. */
int daemon_link_fd(const struct daemon *d);
int daemon_tc_fd(const struct daemon *d);
bool daemon_link_events(struct daemon *d);
bool daemon_tc_events(struct daemon *d);
/* Bring bindings and hooks in line with the policy; full: verify every filter. */
int daemon_reconcile(struct daemon *d, bool full);
uint64_t daemon_resync_usec(const struct daemon *d);
/* settings.metrics_textfile: interval (0: none) and the writer */
uint64_t daemon_metrics_usec(const struct daemon *d);
void daemon_write_metrics(struct daemon *d);
/* settings.metrics_listen (NULL: none), and the text served there */
const char *daemon_metrics_listen(const struct daemon *d);
int daemon_metrics(struct daemon *d, FILE *out);
/* One step of counting the limiter keys for the metrics; usec until the next (0: none). */
uint64_t daemon_census_step(struct daemon *d);
/* This one stop keeps (or removes) the datapath whatever settings.on_stop says. */
void daemon_override_on_stop(struct daemon *d, bool keep);

/* Socket pacing: how often the loop runs a pass over local sockets (0: never), and the pass. */
uint64_t daemon_sockets_usec(const struct daemon *d);
void daemon_sockets_pass(struct daemon *d);

/* One line for sd_notify STATUS=. */
const char *daemon_status(const struct daemon *d);

#endif
