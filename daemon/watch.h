/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcshaped --watch: notice that the policy file changed without a SIGHUP,
 * also when kubelet swaps the ..data symlink of a ConfigMap volume.
 */
#ifndef TCS_WATCH_H
#define TCS_WATCH_H

#include <stdbool.h>

struct watch;

/* Watch the directory that holds path. NULL with errno set on failure. */
struct watch *watch_open(const char *path);
void watch_close(struct watch *w);
int watch_fd(const struct watch *w);
/* Read the pending inotify events: true if anything in the directory moved. */
bool watch_events(struct watch *w);
/* True if the file's bytes differ from the last time this said true (or from
 * watch_open): a touch, or a swap to identical content, does not reload. */
bool watch_changed(struct watch *w);

#endif
