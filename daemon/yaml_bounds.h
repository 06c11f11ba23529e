/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bounds on a YAML text checked on libyaml's event stream, before any
 * document is built: how deep collections nest, how many nodes are written
 * and how many the aliases expand to. libyaml is quadratic in the nesting
 * depth of flow collections and builds a node for everything it reads, so a
 * hostile file must be refused here, early and in bounded time.
 */
#ifndef TCS_YAML_BOUNDS_H
#define TCS_YAML_BOUNDS_H

#include <stddef.h>

struct yaml_bounds {
	unsigned int max_depth;		/* collections inside collections */
	size_t max_written;		/* nodes as written, aliases counting one */
	size_t max_expanded;		/* nodes with each alias use counting its node */
};

/* Where and why a text went past a bound; line and col are 1-based. */
struct yaml_bounds_err {
	unsigned int line;
	unsigned int col;
	char msg[256];
};

/*
 * 0: within bounds, or a syntax error, which is left for the document
 * loader to report; -E2BIG with *e filled: past a bound; -ENOMEM.
 */
int yaml_bounds_check(const char *buf, size_t len, const struct yaml_bounds *b,
		      struct yaml_bounds_err *e);

#endif
