/* SPDX-License-Identifier: GPL-2.0 */
/* The event loop: runs until SIGTERM/SIGINT; returns 0 or -errno. */
#ifndef TCS_LOOP_H
#define TCS_LOOP_H

struct daemon;

int loop_run(struct daemon *d);

#endif
