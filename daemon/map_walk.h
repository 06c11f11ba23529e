/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Each key of a BPF map, in the kernel's order, one idiom for every module:
 *
 *	bool started = false;
 *	while (map_next(fd, &key, &started))
 *		... key holds the current key ...
 *
 * The kernel copies the previous key in before it writes the next one out,
 * so one buffer serves as both. Deleting the current key restarts a hash
 * map's walk (its next key is then the first): collect keys, then delete.
 */
#ifndef TCS_MAP_WALK_H
#define TCS_MAP_WALK_H

#include <stdbool.h>
#include <bpf/bpf.h>

static inline bool map_next(int fd, void *key, bool *started)
{
	if (bpf_map_get_next_key(fd, *started ? key : NULL, key))
		return false;
	*started = true;
	return true;
}

#endif
