/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One tcshaped per pin dir: the daemon holds an exclusive flock(2) on the
 * pin dir itself (bpffs has no regular files, but any inode takes a flock)
 * for as long as it runs; tcshapectl asks the lock, not a pid that may have
 * been reused, whether a daemon is running there.
 */
#ifndef TCS_PINLOCK_H
#define TCS_PINLOCK_H

#include <stdbool.h>

/* The pin dir's fd, locked; -EWOULDBLOCK if another process holds it, -errno. */
int pinlock_acquire(const char *dir);
/* Does some process hold dirfd's pin dir lock? */
bool pinlock_held(int dirfd);

#endif
