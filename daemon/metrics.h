/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition of tcshaped's counters, for `tcshapectl
 * metrics` and the daemon's settings.metrics_textfile (node_exporter's
 * textfile collector). Names and labels: docs/operations.md.
 */
#ifndef TCS_METRICS_H
#define TCS_METRICS_H

#include <stdio.h>

#include "state.h"

struct census;
/* Key counts from census c (the daemon's, census.h), or from a whole walk now if c is NULL. */
int metrics_write(FILE *out, const struct state_fds *f, const struct census *c);
/* Write to path atomically (a temporary file renamed over it). */
int metrics_write_file(const char *path, const struct state_fds *f, const struct census *c);

#endif
