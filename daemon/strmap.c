// SPDX-License-Identifier: GPL-2.0
/*
 * The string -> number map (strmap.h): linear probing over FNV-1a.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "strmap.h"

/* The slot holding key, or the empty slot where it would go. */
static struct strmap_slot *slot(const struct strmap *m, const char *key)
{
	size_t i = (size_t)fnv1a_str(key) & (m->cap - 1);

	while (m->v[i].key && strcmp(m->v[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

struct strmap_slot *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *sl;

	if (!m->cap)
		return NULL;
	sl = slot(m, key);
	return sl->key ? sl : NULL;
}

struct strmap_slot *strmap_put(struct strmap *m, const char *key, bool *added)
{
	struct strmap_slot *sl;
	size_t i;

	*added = false;
	if (m->cap) {
		sl = slot(m, key);
		if (sl->key)
			return sl;
	}
	if (2 * (m->n + 1) > m->cap) {
		struct strmap bigger = { .cap = m->cap ? 2 * m->cap : 16, .n = m->n };

		bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
		if (!bigger.v)
			return NULL;
		for (i = 0; i < m->cap; i++)
			if (m->v[i].key)
				*slot(&bigger, m->v[i].key) = m->v[i];
		free(m->v);
		*m = bigger;
	}
	sl = slot(m, key);
	*sl = (struct strmap_slot){ key, 0 };
	m->n++;
	*added = true;
	return sl;
}

void strmap_free(struct strmap *m)
{
	free(m->v);
	*m = (struct strmap){ 0 };
}
