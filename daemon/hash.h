/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FNV-1a, 64 bit: the one hash of the user-space tables (compile.c's index,
 * strmap.c's names). Not for anything an attacker picks the keys of faster
 * than the policy author does.
 */
#ifndef TCS_HASH_H
#define TCS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT 0xcbf29ce484222325ull

/* n bytes at p into h (FNV1A_INIT to start) */
static inline uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

static inline uint64_t fnv1a_str(const char *s)
{
	uint64_t h = FNV1A_INIT;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

#endif
