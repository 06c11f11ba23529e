/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop: runs until SIGTERM/SIGINT; returns 0 or -errno.
 * watch_path: reload when that file changes (tcshaped --watch), or NULL.
 */
#ifndef TCS_LOOP_H
#define TCS_LOOP_H

struct daemon;

int loop_run(struct daemon *d, const char *watch_path);

#endif
