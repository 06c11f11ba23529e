/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A string -> number map for checks in O(1) (names seen so far, YAML
 * anchors): open addressing, at most half full. Keys are borrowed: they
 * must not move or change while in the map. No deletion.
 */
#ifndef TCS_STRMAP_H
#define TCS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	const char *key; /* NULL: empty */
	uint64_t val;
};

struct strmap {
	struct strmap_slot *v;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* The slot of key, or NULL. */
struct strmap_slot *strmap_get(const struct strmap *m, const char *key);
/* The slot of key, added (val 0, *added true) when absent; NULL: out of memory. */
struct strmap_slot *strmap_put(struct strmap *m, const char *key, bool *added);
/* Frees the table, not the keys. */
void strmap_free(struct strmap *m);

#endif
