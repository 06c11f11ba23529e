/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Growable arrays, one idiom for every module (chrony's array.c is the
 * model): an array of n items whose capacity is n rounded up to a power of
 * two, so no capacity field is needed.
 */
#ifndef TCS_ARRAY_H
#define TCS_ARRAY_H

#include <errno.h>
#include <stdlib.h>

/*
 * Room for item n (the n+1-th) of an array of n items: v itself, or v moved
 * to twice the room when n is a power of two. NULL (errno ENOMEM, v still
 * valid) when that fails.
 */
static inline void *array_grow(void *v, size_t n, size_t size)
{
	if (n && (n & (n - 1)))
		return v;
	return reallocarray(v, n ? 2 * n : 1, size);
}

/* Appends *item to (*v, *n); 0 or -ENOMEM. */
#define ARRAY_PUSH(v, n, item)                                                \
	({                                                                    \
		__typeof__(*(v)) _nv = array_grow(*(v), *(n), sizeof(**(v))); \
		int _err = -ENOMEM;                                           \
		if (_nv) {                                                    \
			*(v) = _nv;                                           \
			_nv[(*(n))++] = (item);                               \
			_err = 0;                                             \
		}                                                             \
		_err;                                                         \
	})

/* Frees the array and leaves it empty. */
#define ARRAY_CLEAR(v, n)   \
	do {                \
		free(v);    \
		(v) = NULL; \
		(n) = 0;    \
	} while (0)

#endif
